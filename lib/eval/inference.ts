/**
 * Using trained models on films: one batched prediction (inference mode: dropout off, no gradients) used by
 * the notebooks, the commands and the trainer's threshold tuning, for models of any kind (lib/kinds/).
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset, Film } from "../data/dataset";
import { decodePoster } from "../data/posters";
import { MAX_OVERVIEW_WORDS, limitOverview, tokenize } from "../data/text";
import { unknownWordsOnly } from "../data/batches";
import { EncoderFiles, diskEncoderFiles } from "../encoders/encoder-files";
import { loadImageEncoder } from "../encoders/mobilenet";
import { loadSentenceEncoder } from "../encoders/use-lite";
import { TrainedModel, overviewEncoder } from "../models/model-folder";
import type { Encoders, RawFilm } from "../kinds/kind";
import { Trained, kindSpec } from "../kinds/registry";
import { WorkbookError } from "../runtime/errors";
import { callModelAsGraph } from "../runtime/graph-function";

/** Probabilities of every genre for a list of films, row-major [ids.length, genres.length]. */
export interface Predictions {
  ids: string[];
  genres: string[];
  probabilities: Float32Array;
  /** Films that could not be predicted (a poster that cannot be read), with the reason. */
  skipped: { id: string; file: string; reason: string }[];
}

/** Logs one line naming the films whose overview has no word the model knows. */
function warnUnknownWords(trained: TrainedModel, films: readonly Film[], log: (line: string) => void): void {
  if (!trained.vectorizer && !trained.tfidf) return;
  const encoder = overviewEncoder(trained);
  const unknown = films.filter((f) => unknownWordsOnly(encoder, f.overview)).map((f) => f.id);
  if (unknown.length > 0) {
    log(
      `warning: ${unknown.length} overview(s) have no word the model knows (${unknown.slice(0, 10).join(", ")}${unknown.length > 10 ? ", ..." : ""}): ` +
        "their text adds nothing, the prediction comes from the model's biases (and the poster, for a joint model)",
    );
  }
}

/** Inputs of samples [start, end), built on demand (inside tf.tidy: intermediate tensors are freed). */
export type MakeInputs = (start: number, end: number) => tf.Tensor | tf.Tensor[];

/**
 * Runs `compute` over `count` samples in batches and returns its outputs, row-major [count, width]. Each
 * batch's tensors are freed before the next. `width` is the number of outputs per sample.
 */
export async function batchedOutputs(
  count: number,
  width: number,
  makeInputs: MakeInputs,
  compute: (inputs: tf.Tensor | tf.Tensor[]) => tf.Tensor,
  batchSize = 64,
): Promise<Float32Array> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const result = new Float32Array(count * width);
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    const y = tf.tidy(() => compute(makeInputs(start, end)));
    try {
      result.set(await y.data(), start * width);
    } finally {
      y.dispose();
    }
  }
  return result;
}

/**
 * The model's outputs (inference mode) over `count` samples in batches, row-major [count, outputs]. Each batch goes
 * through the model in one call: model.predict's own default (32) would split a batch of 64 in two and concatenate
 * (in one call, 640 CNN posters took 17-30% less time on native TensorFlow: docs/PERFORMANCE.md).
 */
export function predictBatches(model: tf.LayersModel, count: number, makeInputs: MakeInputs, batchSize = 64): Promise<Float32Array> {
  const outputs = (model.outputs[0]?.shape[1] as number | undefined) ?? 0;
  return batchedOutputs(count, outputs, makeInputs, (inputs) => predictInOneCall(model, inputs) as tf.Tensor, batchSize);
}

/**
 * model.predict over all the rows of `inputs` at once (inference mode), whatever their number. On native TensorFlow
 * as one TensorFlow function per model and input shape where the model's ops allow it (runtime/graph-function.ts:
 * the CNN's prediction step took 39-42 ms against 46-50 op by op); the model's weights are its arguments, so a
 * model trained further between calls is seen.
 */
export function predictInOneCall(model: tf.LayersModel, inputs: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[] {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const rows = list[0]?.shape[0] ?? 1;
  const outputs = callModelAsGraph(model, "predict", list, () => {
    const y = model.predict(inputs, { batchSize: Math.max(1, rows) });
    return Array.isArray(y) ? y : [y];
  });
  return Array.isArray(model.outputs) && model.outputs.length > 1 ? outputs : outputs[0]!;
}

/**
 * predictBatches over the samples in the order `order` (a permutation of 0..n-1; e.g. overviews by length,
 * so that each batch pads little), with the results put back in sample order. `inputsOf` builds the inputs
 * of a list of samples.
 */
export async function predictInOrder(
  model: tf.LayersModel,
  order: readonly number[],
  inputsOf: (samples: number[]) => tf.Tensor | tf.Tensor[],
  batchSize = 64,
): Promise<Float32Array> {
  const permuted = await predictBatches(model, order.length, (start, end) => inputsOf(order.slice(start, end)), batchSize);
  const width = order.length > 0 ? permuted.length / order.length : 0;
  const out = new Float32Array(permuted.length);
  order.forEach((sample, k) => out.set(permuted.subarray(k * width, (k + 1) * width), sample * width));
  return out;
}

/** Throws when the dataset's genre columns are not the model's outputs (a wrong answer otherwise). */
export function checkGenres(trained: TrainedModel, dataset: Dataset): void {
  const model = trained.info.genres;
  if (model.join("\u0000") !== dataset.genres.join("\u0000")) {
    const missing = model.filter((g) => !dataset.genres.includes(g));
    const extra = dataset.genres.filter((g) => !model.includes(g));
    throw new Error(
      `${dataset.csvFile} has different genre columns than the model in ${trained.dir}` +
        (missing.length ? `; missing: ${missing.join(", ")}` : "") +
        (extra.length ? `; not in the model: ${extra.join(", ")}` : "") +
        (!missing.length && !extra.length ? "; same genres in a different order" : "") +
        `. The model predicts: ${model.join(", ")}.`,
    );
  }
}

/**
 * The model's probabilities for the given films of a dataset, whatever its kind reads (lib/kinds/): posters
 * through the poster cache (films whose poster cannot be read are reported and left out), overviews, or
 * pretrained features through the feature cache.
 */
export async function predictFilms(
  trained: Trained,
  dataset: Dataset,
  rows: readonly number[],
  options: { cacheDir: string; log?: (line: string) => void },
): Promise<Predictions> {
  checkGenres(trained, dataset);
  const films = rows.map((r) => dataset.films[r] as Film);
  const log = options.log ?? console.log;
  const spec = kindSpec(trained);
  if (spec.reads.overview) warnUnknownWords(trained, films, log);
  const inputs = await spec.rowInputs(trained, dataset, rows, { cacheDir: options.cacheDir, log });
  const order = inputs.order ?? inputs.rows.map((_, i) => i);
  const probabilities = await predictInOrder(trained.model, order, (samples) => inputs.inputs(samples));
  return {
    ids: inputs.rows.map((r) => (dataset.films[r] as Film).id),
    genres: trained.info.genres,
    probabilities,
    skipped: inputs.skipped,
  };
}

/** A film given by its poster file and/or its overview, as the predict and explain commands take it. */
export interface FilmFiles {
  posterFile?: string;
  overview?: string;
}

/** The part of a given overview that models read (see MAX_OVERVIEW_WORDS), said when it is cut. */
export function overviewToRead(overview: string, log: (line: string) => void = console.warn): string {
  const limited = limitOverview(overview);
  if (limited.cut) {
    log(`the overview has ${limited.words} words; only its first ${MAX_OVERVIEW_WORDS} are read (MAX_OVERVIEW_WORDS), the rest is ignored`);
  }
  return limited.text;
}

/** How a refusal names each input a film must give: the commands' options by default; the web page names its own fields. */
export interface InputNames {
  poster: string;
  overview: string;
}

const COMMAND_INPUTS: InputNames = { poster: "its poster (--poster)", overview: "its overview (--overview)" };

/** Throws, saying what the model reads, when a film lacks an input the model's kind needs. */
export function checkFilmGiven(trained: Trained, given: { poster: boolean; overview: boolean }, names: InputNames = COMMAND_INPUTS): void {
  const spec = kindSpec(trained);
  const missing = [
    ...(spec.reads.poster && !given.poster ? [names.poster] : []),
    ...(spec.reads.overview && !given.overview ? [names.overview] : []),
  ];
  if (missing.length > 0) {
    const reads =
      spec.reads.poster && spec.reads.overview ? "both a poster and an overview" : spec.reads.poster ? "a poster" : "an overview";
    throw new WorkbookError(
      `${trained.dir} holds a model of kind ${spec.id} (${spec.title}), which reads ${reads}: give ${missing.join(" and ")}`,
    );
  }
}

/**
 * The overview as the model reads it (cut to MAX_OVERVIEW_WORDS, said through `log`), undefined for a model that
 * reads none: an overview without a single word is an error, not a guess, and one with no word the model knows is
 * said through `log` (the prediction then comes from the model's biases, and the poster).
 */
export function overviewForModel(trained: Trained, given: string | undefined, log: (line: string) => void): string | undefined {
  if (!kindSpec(trained).reads.overview || given === undefined) return undefined;
  const overview = overviewToRead(given, log);
  if (tokenize(overview).length === 0) throw new WorkbookError(`the overview ${JSON.stringify(overview)} has no words to read`);
  warnUnknownWords(trained, [{ id: "the overview", overview } as Film], log);
  return overview;
}

/**
 * The model's probabilities for one film given by its poster file and/or overview: what the model's kind reads
 * must be given (an error says what is missing), and an overview without a single word is an error, not a guess.
 * Pretrained encoders are loaded for it and freed after.
 */
export async function predictFilm(trained: Trained, film: FilmFiles, log: (line: string) => void = console.warn): Promise<Float32Array> {
  const spec = kindSpec(trained);
  checkFilmGiven(trained, { poster: film.posterFile !== undefined, overview: film.overview !== undefined });
  const overview = overviewForModel(trained, film.overview, log);
  const poster = spec.reads.poster && film.posterFile !== undefined ? await decodePoster(film.posterFile) : undefined;
  return predictChecked(trained, { ...(poster ? { poster } : {}), ...(overview !== undefined ? { overview } : {}) });
}

/**
 * predictFilm for a film given as data (a decoded poster, an overview): what the web page calls, with the same checks
 * and messages (`names`: how they name the inputs). `encoders`: the pretrained encoders, when the caller has them
 * loaded (the page loads them from the served packages); otherwise loaded here and freed after.
 */
export async function predictRawFilm(
  trained: Trained,
  film: RawFilm,
  options: { log?: (line: string) => void; names?: InputNames; encoders?: Encoders } = {},
): Promise<Float32Array> {
  const log = options.log ?? console.warn;
  checkFilmGiven(trained, { poster: film.poster !== undefined, overview: film.overview !== undefined }, options.names);
  const overview = overviewForModel(trained, film.overview, log);
  const poster = kindSpec(trained).reads.poster ? film.poster : undefined;
  return predictChecked(trained, { ...(poster ? { poster } : {}), ...(overview !== undefined ? { overview } : {}) }, options.encoders);
}

/**
 * One film's probabilities, the film already checked (checkFilmGiven, overviewForModel): what the web page calls after
 * those checks, whose messages it shows. The encoders are loaded (and freed after) unless given.
 */
export async function predictGivenFilm(trained: Trained, raw: RawFilm, given?: Encoders): Promise<Float32Array> {
  return predictChecked(trained, raw, given);
}

async function predictChecked(trained: Trained, raw: RawFilm, given?: Encoders): Promise<Float32Array> {
  const encoders = given ?? (await loadEncoders([trained]));
  try {
    const inputs = await kindSpec(trained).filmInputs(trained, [raw], encoders);
    return await predictBatches(trained.model, 1, () => inputs);
  } finally {
    if (given === undefined) freeEncoders(encoders);
  }
}

/**
 * The pretrained encoders a list of models needs for films given as raw data, loaded once (none for most kinds), from
 * `files` (the installed packages by default; the web page's: the same files over HTTP).
 */
export async function loadEncoders(models: readonly Trained[], files: EncoderFiles = diskEncoderFiles): Promise<Encoders> {
  let image: number | undefined;
  let sentence = false;
  for (const trained of models) {
    const need = kindSpec(trained).encoders?.(trained.info);
    image ??= need?.image;
    sentence ||= need?.sentence === true;
  }
  return {
    ...(image !== undefined ? { image: await loadImageEncoder(image, files) } : {}),
    ...(sentence ? { sentence: await loadSentenceEncoder(files) } : {}),
  };
}

/** Frees the encoders' weights. */
export function freeEncoders(encoders: Encoders): void {
  encoders.image?.model.dispose();
  encoders.sentence?.model.dispose();
}

/** Row i of a row-major predictions matrix. */
export function predictionRow(predictions: Predictions, i: number): Float32Array {
  const g = predictions.genres.length;
  return predictions.probabilities.subarray(i * g, (i + 1) * g);
}
