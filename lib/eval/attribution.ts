/**
 * Why this genre? Attributions of a model's probability for one genre to parts of one film's inputs:
 *
 *   - occlusion: a grey patch slides over the poster (at its original 150x300 resolution); each position
 *     records how much the genre's probability drops when that patch is hidden. Model-agnostic: it only
 *     needs the model's probabilities for altered posters, so it works through a pretrained encoder too;
 *   - Grad-CAM (Selvaraju et al., 2017) for the coursework CNN: the gradient of the genre's logit with
 *     respect to the last conv block's activations, averaged per channel, weighs those activations; the
 *     positive part is the map. One forward and one backward pass: the fast view where it applies;
 *   - leave-one-word-out: each word of the overview is removed in turn; the change of the genre's
 *     probability says how much that word raised (positive) or lowered (negative) it;
 *   - the gate share of a joint model with a gated multimodal unit: how much of the fused representation comes
 *     from the poster.
 *
 * Each model kind is reached through an Explainable: functions that give the model's probabilities for
 * variants of one film's poster (its overview fixed) and of its overview (its poster fixed). Explaining films
 * with these (one film with several models, the evidence across films) is ./explain.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { DecodedPoster, resizeBilinear } from "../data/posters";
import { GatedMultimodalUnit } from "../models/gmu";
import type { Encoders, RawFilm } from "../kinds/kind";
import { Trained, kindSpec } from "../kinds/registry";
import { WorkbookError } from "../runtime/errors";
import { gateActivations } from "./gate";
import { predictBatches } from "./inference";

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

/** The model's probabilities for inputs already built (all variants of one film), in batches of 64; frees the inputs. */
async function predictRows(model: tf.LayersModel, inputs: tf.Tensor | tf.Tensor[]): Promise<Float32Array> {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  try {
    return await predictBatches(model, list[0]?.shape[0] as number, (start, end) => {
      const slice = list.map((t) => t.slice([start], [end - start]));
      return slice.length === 1 ? (slice[0] as tf.Tensor) : slice;
    });
  } finally {
    tf.dispose(list);
  }
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
// Which models Grad-CAM applies to

/** The conv layer Grad-CAM reads in the coursework CNN. */
export const GRAD_CAM_LAYER = "Conv6";

/** Whether Grad-CAM applies: a model of one poster input with the coursework CNN's last conv layer. */
export function gradCamApplies(model: tf.LayersModel): boolean {
  return model.inputs.length === 1 && model.inputs[0]?.shape.length === 4 && model.layers.some((l) => l.name === GRAD_CAM_LAYER);
}
