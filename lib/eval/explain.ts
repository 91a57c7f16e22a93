/**
 * Why this genre? Attributions of a model's probability for one genre to parts of a film's inputs:
 *
 *   - occlusion: a grey patch slides over the poster (at its original 150x300 resolution); each position
 *     records how much the genre's probability drops when that patch is hidden. Model-agnostic: it only
 *     needs the model's probabilities for altered posters, so it works through a pretrained encoder too;
 *   - Grad-CAM (Selvaraju et al., 2017) for the coursework CNN: the gradient of the genre's logit with
 *     respect to the last conv block's activations, averaged per channel, weighs those activations; the
 *     positive part is the map. One forward and one backward pass: the fast view where it applies;
 *   - leave-one-word-out: each word of the overview is removed in turn; the change of the genre's
 *     probability says how much that word raised (positive) or lowered (negative) it.
 *
 * Each model kind is reached through an Explainable: functions that give the model's probabilities for
 * variants of one film's poster (its overview fixed) and of its overview (its poster fixed).
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset, Film } from "../data/dataset";
import { DecodedPoster, decodePoster, resizeBilinear } from "../data/posters";
import { STOP_WORDS } from "../data/stop-words";
import { tokenize } from "../data/text";
import { progressPrinter } from "../runtime/progress";
import { GatedMultimodalUnit } from "../models/gmu";
import type { Encoders, RawFilm } from "../kinds/kind";
import { KindId, Trained, kindSpec, modelName } from "../kinds/registry";
import { WorkbookError } from "../runtime/errors";
import { gateActivations } from "./gate";
import { loadEncoders } from "./inference";
import { topK } from "./metrics";

/** A model's probabilities for altered versions of one film; row-major [variants, genres]. */
export interface Explainable {
  genres: string[];
  /** Variants of the film's poster (decoded, any size), the overview as given. Absent for overview-only models. */
  posters?: (variants: readonly DecodedPoster[]) => Promise<Float32Array>;
  /** Variants of the film's overview, the poster as given. Absent for poster-only models. */
  overviews?: (variants: readonly string[]) => Promise<Float32Array>;
  /** Joint models with a GMU: the share of the fused representation taken from the poster (mean gate z). */
  gateShare?: () => Promise<number>;
}

function rows(out: tf.Tensor): Promise<Float32Array> {
  return out.data().then((d) => d as Float32Array);
}

async function predictRows(model: tf.LayersModel, inputs: tf.Tensor | tf.Tensor[], batch = 64): Promise<Float32Array> {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const n = list[0]?.shape[0] as number;
  const genres = model.outputs[0]?.shape[1] as number;
  const out = new Float32Array(n * genres);
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    const y = tf.tidy(() => {
      const slice = list.map((t) => t.slice([start], [end - start]));
      return model.predict(slice.length === 1 ? (slice[0] as tf.Tensor) : slice) as tf.Tensor;
    });
    out.set(await rows(y), start * genres);
    y.dispose();
  }
  tf.dispose(list);
  return out;
}

/** Whether the model fuses its inputs with a gated multimodal unit (whose gate says how much the poster counts). */
function hasGate(model: tf.LayersModel): boolean {
  return model.layers.some((l) => l instanceof GatedMultimodalUnit);
}

/**
 * The Explainable of a trained model of any kind for one film (its decoded poster and its overview): the
 * variants of one side go through the kind's film inputs (lib/kinds/) with the other side as it is. A model on
 * pretrained features needs its encoders (loaded by the caller once, for many films: eval/inference loadEncoders).
 */
export async function explainable(trained: Trained, film: RawFilm, encoders: Encoders = {}): Promise<Explainable> {
  const spec = kindSpec(trained);
  const genres = trained.info.genres;
  const model = trained.model;
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new WorkbookError(`${trained.dir} (${spec.id}) needs the film's ${what} to explain it`);
    return value;
  };
  const poster = spec.reads.poster ? need(film.poster, "poster") : undefined;
  const overview = spec.reads.overview ? need(film.overview, "overview") : undefined;
  const predict = async (films: RawFilm[]) => predictRows(model, await spec.filmInputs(trained, films, encoders));
  const with_ = (p: DecodedPoster | undefined, o: string | undefined): RawFilm => ({
    ...(p !== undefined ? { poster: p } : {}),
    ...(o !== undefined ? { overview: o } : {}),
  });
  return {
    genres,
    ...(spec.reads.poster ? { posters: (variants: readonly DecodedPoster[]) => predict(variants.map((p) => with_(p, overview))) } : {}),
    ...(spec.reads.overview ? { overviews: (variants: readonly string[]) => predict(variants.map((o) => with_(poster, o))) } : {}),
    ...(hasGate(model)
      ? { gateShare: async () => meanGate(model, [await spec.filmInputs(trained, [with_(poster, overview)], encoders)].flat()) }
      : {}),
  };
}

async function meanGate(model: tf.LayersModel, inputs: tf.Tensor[]): Promise<number> {
  try {
    const z = gateActivations(model, inputs);
    const share = (await z.mean().data())[0] as number;
    z.dispose();
    return share;
  } finally {
    tf.dispose(inputs);
  }
}

// ---------------------------------------------------------------------------------------------------
// Posters: occlusion

/** A map over a poster at its original resolution: values[y * width + x]. */
export interface PosterMap {
  width: number;
  height: number;
  values: Float32Array;
}

export interface OcclusionOptions {
  /** Side of the square grey patch, in poster pixels (default 30: a fifth of the width). */
  patch?: number;
  /** Step between patch positions, in poster pixels (default half the patch). */
  stride?: number;
  /** Grey level of the patch in [0, 1] (default 0.5). */
  fill?: number;
  /** Posters per model call (default 32). */
  batchSize?: number;
}

/** The top-left corners of the patches along one side: every stride, and one flush with the far edge. */
function positions(length: number, patch: number, stride: number): number[] {
  const out: number[] = [];
  for (let p = 0; p + patch <= length; p += stride) out.push(p);
  if (out.length === 0 || (out[out.length - 1] as number) + patch < length) out.push(Math.max(0, length - patch));
  return out;
}

/**
 * Occlusion maps of every genre at once: for each pixel, the mean drop of the genre's probability over the
 * patches that cover it (positive: hiding that part lowers the genre, so it was evidence for it). Returns
 * one PosterMap per genre and the unoccluded probabilities.
 */
export async function occlusionMaps(
  explain: Explainable,
  poster: DecodedPoster,
  options: OcclusionOptions = {},
): Promise<{ maps: PosterMap[]; probabilities: Float32Array }> {
  if (!explain.posters) throw new Error("this model does not read posters: there is nothing to occlude");
  const patch = options.patch ?? 30;
  const stride = options.stride ?? Math.max(1, Math.floor(patch / 2));
  const fill = options.fill ?? 0.5;
  const batchSize = options.batchSize ?? 32;
  if (!(patch >= 1 && stride >= 1)) throw new Error(`occlusion: patch and stride must be at least 1 pixel, got ${patch} and ${stride}`);
  const { width, height } = poster;
  const xs = positions(width, Math.min(patch, width), stride);
  const ys = positions(height, Math.min(patch, height), stride);
  const spots = ys.flatMap((y) => xs.map((x) => ({ x, y })));
  const base = await explain.posters([poster]);
  const g = base.length;
  const sums = Array.from({ length: g }, () => new Float32Array(width * height));
  const counts = new Float32Array(width * height);
  for (let start = 0; start < spots.length; start += batchSize) {
    const batch = spots.slice(start, start + batchSize);
    const variants = batch.map(({ x, y }) => {
      const data = poster.data.slice();
      for (let r = y; r < Math.min(height, y + patch); r++)
        data.fill(fill, (r * width + x) * 3, (r * width + Math.min(width, x + patch)) * 3);
      return { width, height, data };
    });
    const probs = await explain.posters(variants);
    batch.forEach(({ x, y }, k) => {
      // every pixel under this patch gets the patch's drop, and one more count
      for (let r = y; r < Math.min(height, y + patch); r++) {
        for (let c = x; c < Math.min(width, x + patch); c++) {
          const pixel = r * width + c;
          counts[pixel] = (counts[pixel] as number) + 1;
          for (let j = 0; j < g; j++) (sums[j] as Float32Array)[pixel] += (base[j] as number) - (probs[k * g + j] as number);
        }
      }
    });
  }
  const maps = sums.map((sum) => ({
    width,
    height,
    values: sum.map((v, i) => ((counts[i] as number) > 0 ? v / (counts[i] as number) : 0)),
  }));
  return { maps, probabilities: base };
}

// ---------------------------------------------------------------------------------------------------
// Posters: Grad-CAM on the coursework CNN

/**
 * The activations A of `layer` (a conv layer of the CNN) for one poster input [1, size, size, 3], and the
 * gradient of the genre's logit (the Output layer's pre-sigmoid value) with respect to them.
 */
export function logitGradient(
  model: tf.LayersModel,
  layerName: string,
  input: tf.Tensor4D,
  genre: number,
): { activations: tf.Tensor4D; gradient: tf.Tensor4D } {
  const index = model.layers.findIndex((l) => l.name === layerName);
  if (index < 0) throw new Error(`${model.name} has no layer ${layerName}`);
  const output = model.layers[model.layers.length - 1] as tf.layers.Layer;
  const [kernel, bias] = output.getWeights();
  if (!kernel || !bias) throw new Error(`${model.name}: the output layer has no kernel and bias`);
  const trunk = tf.model({ inputs: model.inputs, outputs: model.layers[index]?.output as tf.SymbolicTensor });
  // The layers after `layer` up to (not including) the output, applied in inference mode.
  const head = model.layers.slice(index + 1, model.layers.length - 1);
  const logit = (a: tf.Tensor): tf.Scalar => {
    let x = a;
    for (const layer of head) x = layer.apply(x, { training: false }) as tf.Tensor;
    const z = tf.add(tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D), bias);
    return z.slice([0, genre], [1, 1]).reshape([]) as tf.Scalar;
  };
  const activations = trunk.predict(input) as tf.Tensor4D;
  const gradient = tf.grad(logit)(activations) as tf.Tensor4D;
  return { activations, gradient };
}

/**
 * Grad-CAM of one genre for one poster (the CNN's input, [size, size, 3] floats): channel weights = the
 * spatial mean of d logit / d A, map = relu(sum_k w_k A_k), upsampled to the original poster's size.
 */
export async function gradCam(
  model: tf.LayersModel,
  input: Float32Array,
  size: number,
  genre: number,
  target: { width: number; height: number },
  layerName = "Conv6",
): Promise<PosterMap> {
  const x = tf.tensor4d(input, [1, size, size, 3]);
  const { activations, gradient } = logitGradient(model, layerName, x, genre);
  const cam = tf.tidy(() => {
    const weights = gradient.mean([1, 2], true);
    return tf.relu(tf.sum(tf.mul(activations, weights), -1)).squeeze([0]) as tf.Tensor2D;
  });
  const [h, w] = cam.shape;
  const values = await rows(cam);
  tf.dispose([x, activations, gradient, cam]);
  return { width: target.width, height: target.height, values: resizeBilinear(values, h, w, 1, target.height, target.width) };
}

// ---------------------------------------------------------------------------------------------------
// Overviews: leave one word out

export interface WordEffect {
  word: string;
  /** p(genre | overview) - p(genre | overview without this word): > 0 the word raised the genre. */
  effect: number;
}

/** The overview's words as written (split on whitespace), which is what a reader sees and what is removed. */
export function overviewWords(overview: string): string[] {
  return overview.split(/\s+/).filter((w) => w.length > 0);
}

/**
 * Leave-one-word-out effects of every word on every genre: effects[j][i] for genre j and word i, and the
 * probabilities of the whole overview.
 */
export async function wordEffects(
  explain: Explainable,
  overview: string,
): Promise<{ words: string[]; effects: Float32Array[]; probabilities: Float32Array }> {
  if (!explain.overviews) throw new Error("this model does not read overviews: there are no words to remove");
  const words = overviewWords(overview);
  const variants = [words.join(" "), ...words.map((_, i) => words.filter((__, k) => k !== i).join(" ") || " ")];
  const probs = await explain.overviews(variants);
  const g = explain.genres.length;
  const base = probs.subarray(0, g);
  const effects = explain.genres.map((_, j) =>
    Float32Array.from(words, (_, i) => (base[j] as number) - (probs[(i + 1) * g + j] as number)),
  );
  return { words, effects, probabilities: Float32Array.from(base) };
}

// ---------------------------------------------------------------------------------------------------
// Across films

/** A word's leave-one-word-out effect on one genre, averaged over the films whose overview has it. */
export interface GenreWord {
  word: string;
  /** Films among those explained whose overview has the word. */
  films: number;
  /** Mean effect on the genre's probability (a film with the word several times counts its mean effect once). */
  effect: number;
  /** effect minus the word's mean effect on the other genres: how much more it raises this genre than the rest. */
  specificity: number;
}

/**
 * For each genre, the words that raise it more than they raise the other genres: for every word (as the vectorizer
 * sees it) in at least `minFilms` of the films, its mean effect on the genre minus its mean effect on the other
 * genres. Words that raise the genre (a positive mean effect) with a positive specificity, highest first;
 * `isStopWord` words are ranked in a list of their own. A word the model uses for every genre alike (a function
 * word, a long overview's filler) scores near zero, and one that appears in a single film cannot lead the list.
 * A word that lowers every genre, this one least, does not raise it, so it is not listed: without that rule a genre
 * whose probability no word moves (one the model never learned: no positive training film) would list the words
 * that lower the others.
 */
export function genreWords(
  perFilm: readonly { words: readonly string[]; effects: readonly Float32Array[] }[],
  genres: readonly string[],
  options: { normalise: (word: string) => string; minFilms: number; isStopWord?: (word: string) => boolean },
): { words: Map<string, GenreWord[]>; stopWords: Map<string, GenreWord[]> } {
  const g = genres.length;
  const sums = new Map<string, { films: number; effects: Float64Array }>();
  for (const film of perFilm) {
    // Per word of this film: the summed effects and occurrences, to take the film's mean effect of the word.
    const inFilm = new Map<string, { count: number; effects: Float64Array }>();
    film.words.forEach((raw, i) => {
      const word = options.normalise(raw);
      if (!word) return;
      const entry = inFilm.get(word) ?? { count: 0, effects: new Float64Array(g) };
      entry.count++;
      for (let j = 0; j < g; j++) entry.effects[j] = (entry.effects[j] as number) + ((film.effects[j] as Float32Array)[i] as number);
      inFilm.set(word, entry);
    });
    for (const [word, { count, effects }] of inFilm) {
      const total = sums.get(word) ?? { films: 0, effects: new Float64Array(g) };
      total.films++;
      for (let j = 0; j < g; j++) total.effects[j] = (total.effects[j] as number) + (effects[j] as number) / count;
      sums.set(word, total);
    }
  }
  const words = new Map<string, GenreWord[]>();
  const stopWords = new Map<string, GenreWord[]>();
  genres.forEach((genre, j) => {
    const ranked: GenreWord[] = [];
    for (const [word, { films, effects }] of sums) {
      if (films < options.minFilms) continue;
      const mean = Array.from(effects, (e) => e / films);
      const others = g > 1 ? (mean.reduce((a, e) => a + e, 0) - (mean[j] as number)) / (g - 1) : 0;
      const specificity = (mean[j] as number) - others;
      if (specificity > 0 && (mean[j] as number) > 0) ranked.push({ word, films, effect: mean[j] as number, specificity });
    }
    ranked.sort((a, b) => b.specificity - a.specificity || (a.word < b.word ? -1 : 1));
    const stop = options.isStopWord ?? (() => false);
    words.set(
      genre,
      ranked.filter((w) => !stop(w.word)),
    );
    stopWords.set(
      genre,
      ranked.filter((w) => stop(w.word)),
    );
  });
  return { words, stopWords };
}

/** The mean of maps of the same size (e.g. one genre's occlusion maps over its films). */
export function meanMap(maps: readonly PosterMap[]): PosterMap | undefined {
  const first = maps[0];
  if (!first) return undefined;
  const values = new Float32Array(first.values.length);
  for (const m of maps) {
    if (m.width !== first.width || m.height !== first.height) throw new Error("meanMap: maps of different sizes");
    m.values.forEach((v, i) => (values[i] = (values[i] as number) + v / maps.length));
  }
  return { width: first.width, height: first.height, values };
}

/**
 * Whether a map's evidence sits in the darker parts of its poster: the mean luminance of the pixels in the
 * map's top `share` (its strongest evidence for the genre) minus the poster's mean luminance. Negative: the
 * evidence is darker than the poster as a whole.
 */
export function evidenceLuminance(poster: DecodedPoster, map: PosterMap, share = 0.2): number {
  const n = poster.width * poster.height;
  const luminance = Float32Array.from({ length: n }, (_, p) => {
    const d = poster.data;
    return 0.299 * (d[p * 3] as number) + 0.587 * (d[p * 3 + 1] as number) + 0.114 * (d[p * 3 + 2] as number);
  });
  const order = Array.from({ length: n }, (_, p) => p).sort((a, b) => (map.values[b] as number) - (map.values[a] as number));
  const k = Math.max(1, Math.round(n * share));
  let top = 0;
  for (let i = 0; i < k; i++) top += luminance[order[i] as number] as number;
  const all = luminance.reduce((a, b) => a + b, 0);
  return top / k - all / n;
}

// ---------------------------------------------------------------------------------------------------
// Explaining films with trained models (notebook 07, npm run explain)

/** A loaded model with the name a notebook shows for it. */
export interface NamedModel {
  name: string;
  trained: Trained;
}

/** A model as the explanations take it: a loaded folder (named by its kind's title), or a named one. */
export type ExplainedModel = Trained | NamedModel;

function named(model: ExplainedModel): NamedModel {
  return "trained" in model ? model : { name: modelName(model), trained: model };
}

/**
 * The first of `models` whose kind is in `preference`, in that order of preference; undefined when none is.
 * What the views across films use when the notebook has several models (and some may not be trained).
 */
export function preferredModel(models: readonly Trained[], preference: readonly KindId[]): Trained | undefined {
  for (const kind of preference) {
    const found = models.find((m) => m.info.kind === kind);
    if (found) return found;
  }
  return undefined;
}

/** The conv layer Grad-CAM reads in the coursework CNN. */
export const GRAD_CAM_LAYER = "Conv6";

/** Whether Grad-CAM applies: a model of one poster input with the coursework CNN's last conv layer. */
export function gradCamApplies(model: tf.LayersModel): boolean {
  return model.inputs.length === 1 && model.inputs[0]?.shape.length === 4 && model.layers.some((l) => l.name === GRAD_CAM_LAYER);
}

export interface ExplainOptions {
  occlusion?: OcclusionOptions;
  /** Genres to explain on every card (default: the film's true genres and each model's top genre, at most maxGenres). */
  genres?: readonly string[];
  maxGenres?: number;
  /** Also Grad-CAM where it applies (default true). */
  gradCam?: boolean;
}

/** What explaining one film with one model computed. */
export interface FilmExplanation {
  model: string;
  probabilities: Float32Array;
  /** The genres to show, each with its Grad-CAM map where that applies. */
  shown: { genre: string; gradCam?: PosterMap }[];
  /** Occlusion maps of every genre (models that read posters), in the model's genre order. */
  maps?: PosterMap[];
  /** The overview's words and each word's effect on every genre (models that read overviews). */
  words?: { words: string[]; effects: Float32Array[] };
  /** Joint models with a gate: the share of the fused representation taken from the poster. */
  gateShare?: number;
}

/** Explains one film with one trained model: occlusion (and Grad-CAM where it applies), word removal, the gate. */
export async function explainFilm(
  explained: ExplainedModel,
  /** The film; `genres`, its true genres, when they are known (they are explained first). */
  film: { genres?: readonly string[]; overview: string; poster?: DecodedPoster },
  options: ExplainOptions = {},
  encoders: Encoders = {},
): Promise<FilmExplanation> {
  const model = named(explained);
  const { trained } = model;
  const explain = await explainable(trained, film, encoders);
  const genres = explain.genres;
  const occluded = explain.posters && film.poster ? await occlusionMaps(explain, film.poster, options.occlusion) : undefined;
  const worded = explain.overviews ? await wordEffects(explain, film.overview) : undefined;
  const probabilities = occluded?.probabilities ?? worded?.probabilities ?? new Float32Array(genres.length);
  const topGenre = topK(probabilities, genres, 1)[0]?.genre;
  const wanted = options.genres ?? [...new Set([...(film.genres ?? []), ...(topGenre ? [topGenre] : [])])];
  const shown: FilmExplanation["shown"] = [];
  for (const genre of wanted.filter((g) => genres.includes(g)).slice(0, options.maxGenres ?? 2)) {
    const entry: FilmExplanation["shown"][number] = { genre };
    if (film.poster && (options.gradCam ?? true) && gradCamApplies(trained.model)) {
      const size = trained.model.inputs[0]?.shape[1] as number;
      const input = resizeBilinear(film.poster.data, film.poster.height, film.poster.width, 3, size, size);
      entry.gradCam = await gradCam(trained.model, input, size, genres.indexOf(genre), film.poster);
    }
    shown.push(entry);
  }
  return {
    model: model.name,
    probabilities,
    shown,
    ...(occluded ? { maps: occluded.maps } : {}),
    ...(worded ? { words: { words: worded.words, effects: worded.effects } } : {}),
    ...(explain.gateShare ? { gateShare: await explain.gateShare() } : {}),
  };
}

/** For each genre, the words that raise it more than other genres (genreWords), with the model and films behind them. */
export interface WordEvidence {
  model: string;
  films: number;
  /** The fewest films a word must appear in to be ranked. */
  minFilms: number;
  /** Per genre: how many of the films have it. */
  genreFilms: Map<string, number>;
  /** Per genre: words other than stop-words, most specific first. */
  words: Map<string, GenreWord[]>;
  /** Per genre: stop-words (data/stop-words.ts), ranked the same way, reported apart. */
  stopWords: Map<string, GenreWord[]>;
}

/**
 * The models the word evidence prefers, in order: the strongest readers of overviews first (the joint model on the
 * pretrained encoders, the pretrained text head, the joint GMU model), the coursework LSTM last.
 */
export const WORD_EVIDENCE_MODELS: readonly KindId[] = ["pretrained", "text-head", "fusion", "lstm"];

/**
 * Leave-one-word-out over the films `rows` with a model that reads overviews (the first of `models` in
 * WORD_EVIDENCE_MODELS' order; it says which), then per genre the words that raise it more than the other genres
 * (genreWords; words in fewer than `minFilms` films are not ranked). Undefined, said in one line, when no model
 * reads overviews.
 */
export async function wordEvidence(
  models: readonly Trained[],
  dataset: Dataset,
  rows: readonly number[],
  options: { minFilms: number; encoders?: Encoders; log?: (line: string) => void },
): Promise<WordEvidence | undefined> {
  const log = options.log ?? console.log;
  const trained = preferredModel(models, WORD_EVIDENCE_MODELS);
  if (!trained) {
    log(`word evidence left out: none of ${WORD_EVIDENCE_MODELS.join(", ")} is trained at this preset`);
    return undefined;
  }
  const model = named(trained);
  const spec = kindSpec(trained);
  log(`word evidence from ${model.name}`);
  const encoders = options.encoders ?? (await loadEncoders([trained]));
  const perFilm: { words: string[]; effects: Float32Array[] }[] = [];
  const progress = progressPrinter(`word evidence (${model.name})`, 0.25, log);
  for (let k = 0; k < rows.length; k++) {
    const film = dataset.films[rows[k] as number] as Film;
    // The poster stays as it is while words are removed; a model that does not read posters does not need it.
    const poster = spec.reads.poster ? await decodePoster(film.posterFile) : undefined;
    const explain = await explainable(trained, { overview: film.overview, ...(poster ? { poster } : {}) }, encoders);
    const { words, effects } = await wordEffects(explain, film.overview);
    perFilm.push({ words, effects });
    progress(k + 1, rows.length);
  }
  const g = dataset.genres.length;
  const ranked = genreWords(perFilm, dataset.genres, {
    normalise: (w) => tokenize(w).join(" "),
    minFilms: options.minFilms,
    isStopWord: (w) => STOP_WORDS.has(w),
  });
  return {
    model: model.name,
    films: rows.length,
    minFilms: options.minFilms,
    genreFilms: new Map(dataset.genres.map((genre, j) => [genre, rows.filter((r) => dataset.labels[r * g + j]).length])),
    ...ranked,
  };
}

/** Per genre: the mean occlusion map of its films, and how dark their evidence is (see evidenceLuminance). */
export interface GenreEvidence {
  genre: string;
  films: number;
  map: PosterMap;
  /** Mean over the films of (luminance of the strongest 20% of evidence) - (poster's mean luminance). */
  luminance: number;
  /** Share of the films whose evidence is darker than their poster. */
  darkerShare: number;
}

/** The models the poster evidence prefers, in order: the coursework CNN first. */
export const POSTER_EVIDENCE_MODELS: readonly KindId[] = ["cnn", "fusion", "pretrained"];

/**
 * Where on a poster each genre's evidence lives: occlusion with a poster model (the first of `models` in
 * POSTER_EVIDENCE_MODELS' order; it says which) over the films `rows`, averaged per genre over the films that
 * have it (their true genres). Undefined, said in one line, when no model reads posters.
 */
export async function genreEvidence(
  models: readonly Trained[],
  dataset: Dataset,
  rows: readonly number[],
  options: { occlusion?: OcclusionOptions; encoders?: Encoders; log?: (line: string) => void } = {},
): Promise<{ model: string; genres: GenreEvidence[] } | undefined> {
  const log = options.log ?? console.log;
  const trained = preferredModel(models, POSTER_EVIDENCE_MODELS);
  if (!trained) {
    log(`poster evidence left out: none of ${POSTER_EVIDENCE_MODELS.join(", ")} is trained at this preset`);
    return undefined;
  }
  const model = named(trained);
  log(`poster evidence from ${model.name}`);
  const encoders = options.encoders ?? (await loadEncoders([trained]));
  const g = dataset.genres.length;
  const collected = dataset.genres.map(() => ({ maps: [] as PosterMap[], luminance: [] as number[] }));
  const progress = progressPrinter(`poster evidence (${model.name})`, 0.25, log);
  for (let k = 0; k < rows.length; k++) {
    const row = rows[k] as number;
    const film = dataset.films[row] as Film;
    const poster = await decodePoster(film.posterFile);
    const explain = await explainable(trained, { poster, overview: film.overview }, encoders);
    const { maps } = await occlusionMaps(explain, poster, options.occlusion);
    for (let j = 0; j < g; j++) {
      if (!dataset.labels[row * g + j]) continue;
      const map = maps[j] as PosterMap;
      collected[j]?.maps.push(map);
      collected[j]?.luminance.push(evidenceLuminance(poster, map));
    }
    progress(k + 1, rows.length);
  }
  const genres: GenreEvidence[] = [];
  collected.forEach((c, j) => {
    const map = meanMap(c.maps);
    if (!map) return;
    genres.push({
      genre: dataset.genres[j] as string,
      films: c.maps.length,
      map,
      luminance: c.luminance.reduce((a, b) => a + b, 0) / c.luminance.length,
      darkerShare: c.luminance.filter((v) => v < 0).length / c.luminance.length,
    });
  });
  return { model: model.name, genres };
}

/** One film explained by several models, with its decoded poster. */
export interface ExplainedFilm {
  film: Film;
  poster: DecodedPoster;
  explanations: FilmExplanation[];
  seconds: number;
}

/**
 * Explains the films `ids` of a dataset with every model (encoders loaded once when a model needs them). An Id
 * not in the dataset is an error naming it.
 */
export async function explainFilms(
  models: readonly ExplainedModel[],
  dataset: Dataset,
  ids: readonly string[],
  options: ExplainOptions & { encoders?: Encoders; log?: (line: string) => void } = {},
): Promise<ExplainedFilm[]> {
  const byId = new Map(dataset.films.map((f) => [f.id, f]));
  const unknown = ids.filter((id) => !byId.has(id));
  if (unknown.length > 0) throw new WorkbookError(`not in the dataset: ${unknown.join(", ")}`);
  const encoders = options.encoders ?? (await loadEncoders(models.map((m) => named(m).trained)));
  const log = options.log ?? console.log;
  const out: ExplainedFilm[] = [];
  for (const id of ids) {
    const film = byId.get(id) as Film;
    const started = performance.now();
    const poster = await decodePoster(film.posterFile);
    const explanations: FilmExplanation[] = [];
    for (const model of models) explanations.push(await explainFilm(model, { ...film, poster }, options, encoders));
    const seconds = (performance.now() - started) / 1000;
    log(`${film.id}: explained by ${models.length} model(s) in ${seconds.toFixed(1)} s`);
    out.push({ film, poster, explanations, seconds });
  }
  return out;
}
