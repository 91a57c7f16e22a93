/**
 * What the trainer reads: for each kind of model, the split's row indices and a function that builds one
 * batch of inputs and labels from dataset rows. Inputs are encoded once (posters preprocessed and cached,
 * overviews vectorised); a batch only copies them into tensors.
 */
import * as tf from "@tensorflow/tfjs";
import { Dataset, Film, labelTensor } from "./dataset";
import type { Split } from "./split";
import { DecodedPoster, PosterSet, posterBatch, posterIndex, resizeBilinear } from "./posters";
import { OOV_ID, TextVectorizer, overviewTensor } from "./text";
import { TfidfVectorizer } from "./tfidf";
import { shuffled, type Random } from "../runtime/random";

export interface Batch {
  inputs: tf.Tensor | tf.Tensor[];
  labels: tf.Tensor2D;
}

/**
 * Builds one batch from sample indices (the caller decides padding, e.g. pad text to the longest in the
 * batch). It is called inside tf.tidy, so intermediate tensors it creates are freed; the tensors it
 * returns are disposed by the trainer after the step (do not return tensors you keep elsewhere).
 */
export type MakeBatch = (indices: readonly number[]) => Batch;

export interface TrainingData {
  train: readonly number[];
  validation: readonly number[];
  makeBatch: MakeBatch;
  /**
   * The time steps a row's input takes when batches are padded to their longest (an overview's token
   * count, at least 1); given only for such inputs, so that training batches can be bucketed by length
   * (lengthBucketedBatches).
   */
  lengthOf?: (row: number) => number;
}

/**
 * Training batches of films of similar length, for models that pad each batch to its longest overview
 * (the BiLSTM): fewer padded time steps, same results per film (the padding is masked). Seeded, and still
 * a permutation of `rows` each call: the rows are shuffled, cut into pools of `poolBatches` batches, each
 * pool sorted by length (stably, so equal lengths keep their shuffled order) and cut into batches, and
 * the batches of all pools shuffled. Every row is in exactly one batch.
 */
export function lengthBucketedBatches(
  rows: readonly number[],
  batchSize: number,
  lengthOf: (row: number) => number,
  random: Random,
  poolBatches = 16,
): number[][] {
  const pools = chunks(shuffled(rows, random), batchSize * poolBatches);
  return shuffled(
    pools.flatMap((pool) => chunks(pool.sort((a, b) => lengthOf(a) - lengthOf(b)), batchSize)),
    random,
  );
}

/** 0..lengths.length-1 sorted by length (stable: equal lengths keep their order). */
export function orderByLength(lengths: readonly number[]): number[] {
  return lengths.map((_, i) => i).sort((a, b) => (lengths[a] as number) - (lengths[b] as number));
}

/** Consecutive batches of `size` rows (the last one shorter when size does not divide the count). */
export function chunks(rows: readonly number[], size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/**
 * The CNN's training data: split indices (dataset rows) of films that have a preprocessed poster, and a
 * batch maker giving [n, size, size, 3] posters and [n, genres] labels. Films of the split whose poster
 * was skipped, or was not preprocessed (a preset's subset), are listed in `excluded`, never dropped
 * silently.
 */
export function posterTrainingData(dataset: Dataset, posters: PosterSet, split: Split): TrainingData & { excluded: string[] } {
  const rowOf = posterIndex(posters);
  const excluded: string[] = [];
  const keep = (rows: readonly number[]) =>
    rows.filter((r) => {
      const has = rowOf.has((dataset.films[r] as Film).id);
      if (!has) excluded.push((dataset.films[r] as Film).id);
      return has;
    });
  const train = keep(split.train);
  const validation = keep(split.validation);
  const size = posters.size;
  return {
    train,
    validation,
    excluded,
    makeBatch: (rows) => ({
      inputs: tf.tensor4d(posterBatch(posters, rows.map((r) => rowOf.get((dataset.films[r] as Film).id) as number)), [rows.length, size, size, 3]),
      labels: labelTensor(dataset, rows),
    }),
  };
}

/** What turns overviews into the joint model's overview input: token ids ('lstm' branch) or TF-IDF rows ('tfidf'). */
export type OverviewEncoder = TextVectorizer | TfidfVectorizer;

/**
 * Whether a text has words but none the encoder knows (all out of vocabulary, or no TF-IDF term): the
 * model then sees the same input as for an empty overview, and predicts from its biases alone.
 */
export function unknownWordsOnly(encoder: OverviewEncoder, text: string): boolean {
  if (encoder instanceof TfidfVectorizer) return encoder.transform([text]).values.length === 0;
  const ids = encoder.encode(text);
  return ids.length > 0 && ids.every((id) => id === OOV_ID);
}

/** Overviews encoded once: the input tensor of any of them, and (for ids padded per batch) their lengths. */
export interface EncodedOverviews {
  /** The tensor of the texts at `indices`: ids padded to the longest of them (or to sequenceLength), or dense TF-IDF rows. */
  inputs: (indices: readonly number[]) => tf.Tensor;
  /**
   * The time steps text i takes in a batch padded to its longest: its token count, at least 1. Only for ids
   * without a fixed sequenceLength (what length-bucketing and length-ordered prediction sort by).
   */
  lengthOf?: (i: number) => number;
}

/** Encodes `texts` once for a model's overview input (see EncodedOverviews); batches are at least minLength steps. */
export function encodeOverviews(encoder: OverviewEncoder, texts: readonly string[], sequenceLength?: number, minLength = 1): EncodedOverviews {
  if (encoder instanceof TfidfVectorizer) {
    const matrix = encoder.transform(texts);
    return { inputs: (indices) => matrix.toTensor(indices) };
  }
  const encoded = texts.map((text) => encoder.encode(text));
  return {
    inputs: (indices) =>
      overviewTensor(
        indices.map((i) => encoded[i] as Int32Array),
        sequenceLength,
        minLength,
      ),
    ...(sequenceLength === undefined ? { lengthOf: (i: number) => Math.max(1, (encoded[i] as Int32Array).length) } : {}),
  };
}

/** The overview input of a model for `texts` (encodeOverviews without the lengths). */
export function overviewInputs(encoder: OverviewEncoder, texts: readonly string[], sequenceLength?: number): (indices: readonly number[]) => tf.Tensor {
  return encodeOverviews(encoder, texts, sequenceLength).inputs;
}

/**
 * Training batches of ids are at least two steps long (one more masked padding step where every overview of
 * the batch has one word or none): tfjs-layers' own LSTM cannot compute gradients over a single time step,
 * and length-bucketing gathers the shortest overviews into one batch. The padding is masked: same results.
 */
const MIN_TRAINING_STEPS = 2;

/**
 * The training data of a model that reads only the overview: every overview is encoded once (see
 * overviewInputs). For the LSTM a batch is padded with 0 to its longest overview (the coursework's default,
 * sequence length unset), or cut/padded to `sequenceLength` when given. Because the Embedding masks id 0,
 * the padding changes how many steps are computed, not the result. A batch is at least two steps long
 * (MIN_TRAINING_STEPS; an overview of punctuation only has no words: fully masked).
 */
export function overviewTrainingData(dataset: Dataset, encoder: OverviewEncoder, split: Split, sequenceLength?: number): TrainingData {
  const overviews = encodeOverviews(
    encoder,
    dataset.films.map((f) => f.overview),
    sequenceLength,
    MIN_TRAINING_STEPS,
  );
  return {
    train: split.train,
    validation: split.validation,
    makeBatch: (rows) => ({ inputs: overviews.inputs(rows), labels: labelTensor(dataset, rows) }),
    ...(overviews.lengthOf ? { lengthOf: overviews.lengthOf } : {}),
  };
}

/** The linear baseline's data: dense TF-IDF rows of each batch's films with their labels. */
export function tfidfTrainingData(dataset: Dataset, vectorizer: TfidfVectorizer, split: Split): TrainingData {
  return overviewTrainingData(dataset, vectorizer, split);
}

/**
 * The joint model's training data: films of the split that have a preprocessed poster (the others are
 * listed in `excluded`), batches of [posters, overviews] (see overviewInputs).
 */
export function fusionTrainingData(
  dataset: Dataset,
  posters: PosterSet,
  encoder: OverviewEncoder,
  split: Split,
  sequenceLength?: number,
): TrainingData & { excluded: string[] } {
  const images = posterTrainingData(dataset, posters, split);
  const overviews = encodeOverviews(encoder, dataset.films.map((f) => f.overview), sequenceLength, MIN_TRAINING_STEPS);
  return {
    train: images.train,
    validation: images.validation,
    excluded: images.excluded,
    ...(overviews.lengthOf ? { lengthOf: overviews.lengthOf } : {}),
    makeBatch: (rows) => {
      const image = images.makeBatch(rows);
      return { inputs: [image.inputs as tf.Tensor, overviews.inputs(rows)], labels: image.labels };
    },
  };
}

/** Per-film feature rows (a pretrained encoder's output): row i of `data` belongs to ids[i]. */
export interface FeatureRows {
  ids: readonly string[];
  dims: number;
  data: Float32Array;
}

/**
 * The inputs of a model on feature rows, in the order of `sets` (then the TF-IDF rows, when a vectorizer is
 * given), for any list of dataset rows. `has(row)` says whether every set has the film.
 */
export function featureInputs(
  dataset: Dataset,
  sets: readonly FeatureRows[],
  tfidf?: TfidfVectorizer,
): { has: (row: number) => boolean; inputs: (rows: readonly number[]) => tf.Tensor[] } {
  const index = sets.map((set) => new Map(set.ids.map((id, i) => [id, i])));
  const overviews = tfidf ? overviewInputs(tfidf, dataset.films.map((f) => f.overview)) : undefined;
  const rowIn = (k: number, row: number) => index[k]?.get((dataset.films[row] as Film).id);
  return {
    has: (row) => sets.every((_, k) => rowIn(k, row) !== undefined),
    inputs: (rows) => [
      ...sets.map((set, k) => {
        const out = new Float32Array(rows.length * set.dims);
        rows.forEach((row, i) => {
          const r = rowIn(k, row);
          if (r === undefined) throw new Error(`featureInputs: film ${(dataset.films[row] as Film).id} has no row in feature set ${k}`);
          out.set(set.data.subarray(r * set.dims, (r + 1) * set.dims), i * set.dims);
        });
        return tf.tensor2d(out, [rows.length, set.dims]);
      }),
      ...(overviews ? [overviews(rows)] : []),
    ],
  };
}

/**
 * The training data of a model on feature rows (see featureInputs). Films of the split missing from a set
 * (a poster that could not be read) are listed in `excluded`, never dropped silently.
 */
export function featureTrainingData(
  dataset: Dataset,
  split: Split,
  sets: readonly FeatureRows[],
  tfidf?: TfidfVectorizer,
): TrainingData & { excluded: string[] } {
  const features = featureInputs(dataset, sets, tfidf);
  const excluded: string[] = [];
  const keep = (rows: readonly number[]) =>
    rows.filter((r) => {
      if (!features.has(r)) excluded.push((dataset.films[r] as Film).id);
      return features.has(r);
    });
  const train = keep(split.train);
  const validation = keep(split.validation);
  return {
    train,
    validation,
    excluded,
    makeBatch: (rows) => {
      const inputs = features.inputs(rows);
      return { inputs: inputs.length === 1 ? (inputs[0] as tf.Tensor) : inputs, labels: labelTensor(dataset, rows) };
    },
  };
}

/** Decoded posters (any size) resized to size x size as the coursework pipeline does, as one [n, size, size, 3] tensor. */
export function decodedPosterTensor(posters: readonly DecodedPoster[], size: number): tf.Tensor4D {
  const stride = size * size * 3;
  const data = new Float32Array(posters.length * stride);
  posters.forEach((p, i) => data.set(resizeBilinear(p.data, p.height, p.width, 3, size, size), i * stride));
  return tf.tensor4d(data, [posters.length, size, size, 3]);
}

