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
import { overviewInputs } from "../data/batches";
import { DecodedPoster, resizeBilinear } from "../data/posters";
import { ImageEncoder, imageFeatures } from "../encoders/mobilenet";
import { SentenceEncoder, embedTexts } from "../encoders/use-lite";
import { TrainedModel, overviewEncoder } from "../models/folder";
import { gateActivations } from "./gate";

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

/** The pretrained encoders, loaded once for many explanations. */
export interface Encoders {
  image?: ImageEncoder;
  sentence?: SentenceEncoder;
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

/** posters resized to size x size, as a [n, size, size, 3] tensor (the coursework pipeline's resize). */
function posterTensor(variants: readonly DecodedPoster[], size: number): tf.Tensor4D {
  const stride = size * size * 3;
  const data = new Float32Array(variants.length * stride);
  variants.forEach((p, i) => data.set(resizeBilinear(p.data, p.height, p.width, 3, size, size), i * stride));
  return tf.tensor4d(data, [variants.length, size, size, 3]);
}

function repeatRows(row: Float32Array, n: number): tf.Tensor2D {
  const out = new Float32Array(n * row.length);
  for (let i = 0; i < n; i++) out.set(row, i * row.length);
  return tf.tensor2d(out, [n, row.length]);
}

/**
 * The Explainable of a trained model for one film (its decoded poster and its overview). A pretrained
 * model needs its encoders (loaded by the caller once, for many films).
 */
export async function explainable(
  trained: TrainedModel,
  film: { poster?: DecodedPoster; overview?: string },
  encoders: Encoders = {},
): Promise<Explainable> {
  const { kind, imageSize, sequenceLength } = trained.info;
  const genres = trained.info.genres;
  const model = trained.model;
  const size = imageSize ?? 64;
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${trained.dir} (${kind}) needs the film's ${what} to explain it`);
    return value;
  };
  if (kind === "cnn") {
    return { genres, posters: (variants) => predictRows(model, posterTensor(variants, size)) };
  }
  if (kind === "lstm") {
    const encoder = overviewEncoder(trained);
    return {
      genres,
      overviews: (variants) => predictRows(model, overviewInputs(encoder, variants, sequenceLength)(variants.map((_, i) => i))),
    };
  }
  const poster = need(film.poster, "poster");
  const overview = need(film.overview, "overview");
  if (kind === "fusion") {
    const encoder = overviewEncoder(trained);
    const text = (variants: readonly string[]) => overviewInputs(encoder, variants, sequenceLength)(variants.map((_, i) => i));
    const inputsFor = (posters: readonly DecodedPoster[], overviews: readonly string[]): tf.Tensor[] => {
      const n = Math.max(posters.length, overviews.length);
      const p = posterTensor(posters.length === n ? posters : Array.from({ length: n }, () => posters[0] as DecodedPoster), size);
      const t = text(overviews.length === n ? overviews : Array.from({ length: n }, () => overviews[0] as string));
      return [p, t];
    };
    return {
      genres,
      posters: (variants) => predictRows(model, inputsFor(variants, [overview])),
      overviews: (variants) => predictRows(model, inputsFor([poster], variants)),
      gateShare: () => meanGate(model, inputsFor([poster], [overview])),
    };
  }
  // pretrained: the variants go through the encoders, the other side's features stay fixed
  const image = need(encoders.image, "MobileNetV2 encoder (encoders.image)");
  const sentence = need(encoders.sentence, "USE-lite encoder (encoders.sentence)");
  const posterRow = await imageFeatures(image, [poster]);
  const overviewRow = await embedTexts(sentence, [overview]);
  const tfidfRow = trained.tfidf ? trained.tfidf.transform([overview]).toDense() : undefined;
  const tfidfFor = (variants: readonly string[] | number) =>
    trained.tfidf
      ? [
          typeof variants === "number"
            ? repeatRows(tfidfRow as Float32Array, variants)
            : tf.tensor2d(trained.tfidf.transform(variants).toDense(), [variants.length, trained.tfidf.features]),
        ]
      : [];
  return {
    genres,
    posters: async (variants) => {
      const features = await imageFeatures(image, variants);
      return predictRows(model, [
        tf.tensor2d(features, [variants.length, posterRow.length]),
        repeatRows(overviewRow, variants.length),
        ...tfidfFor(variants.length),
      ]);
    },
    overviews: async (variants) => {
      const features = await embedTexts(sentence, variants);
      return predictRows(model, [
        repeatRows(posterRow, variants.length),
        tf.tensor2d(features, [variants.length, overviewRow.length]),
        ...tfidfFor(variants),
      ]);
    },
    gateShare: () => meanGate(model, [repeatRows(posterRow, 1), repeatRows(overviewRow, 1), ...tfidfFor(1)]),
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

/**
 * For each genre, how often each word was the one that raised the genre most in a film (its largest
 * positive leave-one-word-out effect), counted over films; words are compared as the vectorizer sees them
 * (lower case, punctuation stripped). Most frequent first.
 */
export function topRaisingWords(
  perFilm: readonly { words: readonly string[]; effects: readonly Float32Array[] }[],
  genres: readonly string[],
  normalise: (word: string) => string,
): Map<string, { word: string; films: number }[]> {
  const out = new Map<string, { word: string; films: number }[]>();
  genres.forEach((genre, j) => {
    const counts = new Map<string, number>();
    for (const film of perFilm) {
      const effects = film.effects[j] as Float32Array;
      let best = -1;
      for (let i = 0; i < effects.length; i++)
        if ((effects[i] as number) > 0 && (best < 0 || (effects[i] as number) > (effects[best] as number))) best = i;
      if (best < 0) continue;
      const word = normalise(film.words[best] as string);
      if (word) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    out.set(
      genre,
      [...counts.entries()].map(([word, films]) => ({ word, films })).sort((a, b) => b.films - a.films || (a.word < b.word ? -1 : 1)),
    );
  });
  return out;
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
