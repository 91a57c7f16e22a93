/**
 * Using trained models on films: one batched prediction (inference mode: dropout off, no gradients) used by
 * the notebooks, the commands and the trainer's threshold tuning, and the inputs each kind of model reads.
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset, Film } from "../data/dataset";
import { decodePoster, loadFilmPosters, posterBatch, posterIndex, preparePoster } from "../data/posters";
import { overviewTensor, tokenize } from "../data/text";
import { encodeOverviews, featureInputs, overviewInputs, unknownWordsOnly } from "../data/batches";
import { overviewFeatures, posterFeatures } from "../encoders/features";
import { imageFeatures, loadImageEncoder } from "../encoders/mobilenet";
import { EncoderInfo, describeEncoder, installedPackage } from "../encoders/provenance";
import { embedTexts, loadSentenceEncoder } from "../encoders/use-lite";
import { TrainedModel, overviewEncoder } from "../models/folder";

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

/** The model's outputs (inference mode) over `count` samples in batches, row-major [count, outputs]. */
export function predictBatches(model: tf.LayersModel, count: number, makeInputs: MakeInputs, batchSize = 64): Promise<Float32Array> {
  const outputs = (model.outputs[0]?.shape[1] as number | undefined) ?? 0;
  return batchedOutputs(count, outputs, makeInputs, (inputs) => model.predict(inputs) as tf.Tensor, batchSize);
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

/** 0..lengths.length-1 sorted by length (stable: equal lengths keep their order). */
export function orderByLength(lengths: readonly number[]): number[] {
  return lengths.map((_, i) => i).sort((a, b) => (lengths[a] as number) - (lengths[b] as number));
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
 * The model's probabilities for the given films of a dataset. CNN: their posters (preprocessed through
 * the cache; films whose poster cannot be read are reported and left out). LSTM: their overviews. The joint
 * model: both.
 */
export async function predictFilms(
  trained: TrainedModel,
  dataset: Dataset,
  rows: readonly number[],
  options: { cacheDir: string; log?: (line: string) => void },
): Promise<Predictions> {
  checkGenres(trained, dataset);
  const films = rows.map((r) => dataset.films[r] as Film);
  const log = options.log ?? console.log;
  warnUnknownWords(trained, films, log);
  const genres = trained.info.genres;
  const { kind, sequenceLength } = trained.info;
  if (kind === "pretrained") {
    const encoders = pretrainedEncoders(trained);
    // Features of every film of the dataset: the cache a training run (or an earlier evaluation) wrote for it.
    const overview = await overviewFeatures(dataset.films, { cacheDir: options.cacheDir, log });
    const poster = await posterFeatures(dataset.films, { cacheDir: options.cacheDir, size: encoders.poster.inputSize ?? 224, log });
    const features = featureInputs(dataset, [poster, overview], trained.tfidf);
    const kept = rows.filter((r) => features.has(r));
    const probabilities = await predictBatches(trained.model, kept.length, (s, e) => features.inputs(kept.slice(s, e)));
    const wanted = new Set(films.map((f) => f.id));
    return {
      ids: kept.map((r) => (dataset.films[r] as Film).id),
      genres,
      probabilities,
      skipped: poster.skipped.filter((p) => wanted.has(p.id)),
    };
  }
  if (kind === "lstm") {
    const overviews = encodeOverviews(
      overviewEncoder(trained),
      films.map((f) => f.overview),
      sequenceLength,
    );
    // Overviews in length order: each batch pads to its longest, so similar lengths together pad little.
    const lengthOf = overviews.lengthOf;
    const order = lengthOf ? orderByLength(films.map((_, i) => lengthOf(i))) : range(0, films.length);
    const probabilities = await predictInOrder(trained.model, order, overviews.inputs);
    return { ids: films.map((f) => f.id), genres, probabilities, skipped: [] };
  }
  const size = trained.info.imageSize ?? 64;
  const posters = await loadFilmPosters(films, { size, cacheDir: options.cacheDir, log });
  const index = posterIndex(posters);
  const kept = films.filter((f) => index.has(f.id));
  const posterTensor = (s: number, e: number) =>
    tf.tensor4d(
      posterBatch(
        posters,
        kept.slice(s, e).map((f) => index.get(f.id) as number),
      ),
      [e - s, size, size, 3],
    );
  let makeInputs: MakeInputs = posterTensor;
  if (kind === "fusion") {
    const overviews = overviewInputs(
      overviewEncoder(trained),
      kept.map((f) => f.overview),
      sequenceLength,
    );
    makeInputs = (s, e) => [posterTensor(s, e), overviews(range(s, e))];
  }
  const probabilities = await predictBatches(trained.model, kept.length, makeInputs);
  return { ids: kept.map((f) => f.id), genres, probabilities, skipped: posters.skipped };
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

/**
 * The encoders a pretrained model folder was trained with; an error when the installed packages are other
 * versions (their features would not be the ones the model learned from).
 */
function pretrainedEncoders(trained: TrainedModel): { overview: EncoderInfo; poster: EncoderInfo } {
  const encoders = trained.info.encoders;
  if (!encoders) throw new Error(`${trained.dir}: info.json does not say which encoders the model reads (no "encoders")`);
  for (const info of [encoders.overview, encoders.poster]) {
    const installed = installedPackage(info.package).version;
    if (installed !== info.version) {
      throw new Error(
        `${trained.dir} was trained on ${describeEncoder(info)} features, but ${info.package} ${installed} is installed: ` +
          "install the version the model was trained with, or retrain it",
      );
    }
  }
  return encoders;
}

/** The pretrained joint model's probabilities for one film: its poster and overview go through the encoders. */
async function predictPretrained(trained: TrainedModel, file: string, overview: string): Promise<Float32Array> {
  const encoders = pretrainedEncoders(trained);
  const [image, sentence] = await Promise.all([loadImageEncoder(encoders.poster.inputSize ?? 224), loadSentenceEncoder()]);
  const posterRow = await imageFeatures(image, [await decodePoster(file)]);
  const overviewRow = await embedTexts(sentence, [overview]);
  image.model.dispose();
  sentence.model.dispose();
  const tfidf = trained.tfidf ? [trained.tfidf.transform([overview]).toTensor()] : [];
  return predictBatches(trained.model, 1, () => [
    tf.tensor2d(posterRow, [1, posterRow.length]),
    tf.tensor2d(overviewRow, [1, overviewRow.length]),
    ...tfidf,
  ]);
}

/** A joint model's probabilities for one film given by its poster file and its overview. */
export async function predictPosterAndOverview(
  trained: TrainedModel,
  file: string,
  overview: string,
  log: (line: string) => void = console.warn,
): Promise<Float32Array> {
  if (trained.info.kind === "pretrained") return predictPretrained(trained, file, overview);
  if (trained.info.kind !== "fusion")
    throw new Error(`${trained.dir} holds a ${trained.info.kind.toUpperCase()}, not a joint poster + overview model`);
  const overviews = overviewInputs(overviewEncoder(trained), [overview], trained.info.sequenceLength);
  if (tokenize(overview).length === 0) throw new Error(`the overview ${JSON.stringify(overview)} has no words to read`);
  warnUnknownWords(trained, [{ id: "the overview", overview } as Film], log);
  const size = trained.info.imageSize ?? 64;
  const pixels = await preparePoster(file, size);
  return predictBatches(trained.model, 1, () => [tf.tensor4d(pixels, [1, size, size, 3]), overviews([0])]);
}

/** The CNN's probabilities for one poster file (decoded and resized like the training posters). */
export async function predictPoster(trained: TrainedModel, file: string): Promise<Float32Array> {
  if (trained.info.kind === "fusion" || trained.info.kind === "pretrained")
    throw new Error(`${trained.dir} holds a joint model: a film needs both a poster and an overview (give --poster and --overview)`);
  if (trained.info.kind !== "cnn")
    throw new Error(`${trained.dir} holds an ${trained.info.kind.toUpperCase()} (overviews); a poster needs a CNN model folder`);
  const size = trained.info.imageSize ?? 64;
  const pixels = await preparePoster(file, size);
  return predictBatches(trained.model, 1, () => tf.tensor4d(pixels, [1, size, size, 3]));
}

/** The LSTM's probabilities for one overview. An overview without a single word is an error, not a guess. */
export async function predictOverview(
  trained: TrainedModel,
  overview: string,
  log: (line: string) => void = console.warn,
): Promise<Float32Array> {
  if (trained.info.kind === "fusion" || trained.info.kind === "pretrained")
    throw new Error(`${trained.dir} holds a joint model: a film needs both a poster and an overview (give --poster and --overview)`);
  if (trained.info.kind !== "lstm" || !trained.vectorizer) {
    throw new Error(`${trained.dir} holds a ${trained.info.kind.toUpperCase()} (posters); an overview needs an LSTM model folder`);
  }
  if (tokenize(overview).length === 0) throw new Error(`the overview ${JSON.stringify(overview)} has no words to read`);
  warnUnknownWords(trained, [{ id: "the overview", overview } as Film], log);
  const ids = trained.vectorizer.encode(overview);
  return predictBatches(trained.model, 1, () => overviewTensor([ids], trained.info.sequenceLength));
}

/** Row i of a row-major predictions matrix. */
export function predictionRow(predictions: Predictions, i: number): Float32Array {
  const g = predictions.genres.length;
  return predictions.probabilities.subarray(i * g, (i + 1) * g);
}
