/**
 * What the trainer reads: for each kind of model, the split's row indices and a function that builds one
 * batch of inputs and labels from dataset rows. Inputs are encoded once (posters preprocessed and cached,
 * overviews vectorised); a batch only copies them into tensors.
 */
import * as tf from "@tensorflow/tfjs";
import { Dataset, Film, Split, labelTensor } from "./dataset";
import { PosterSet, posterBatch, posterIndex } from "./posters";
import { TextVectorizer, overviewTensor } from "./text";
import { TfidfVectorizer } from "./tfidf";

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
 * The overview input of the joint model for `texts`, encoded once: a function giving the tensor of the
 * texts at `indices` (ids padded to the longest of them, or to sequenceLength; or dense TF-IDF rows).
 */
export function overviewInputs(encoder: OverviewEncoder, texts: readonly string[], sequenceLength?: number): (indices: readonly number[]) => tf.Tensor {
  if (encoder instanceof TfidfVectorizer) {
    const matrix = encoder.transform(texts);
    return (indices) => matrix.toTensor(indices);
  }
  const encoded = texts.map((text) => encoder.encode(text));
  return (indices) => overviewTensor(indices.map((i) => encoded[i] as Int32Array), sequenceLength);
}

/**
 * The training data of a model that reads only the overview: every overview is encoded once (see
 * overviewInputs). For the LSTM a batch is padded with 0 to its longest overview (the coursework's default,
 * sequence length unset), or cut/padded to `sequenceLength` when given. Because the Embedding masks id 0,
 * the padding changes how many steps are computed, not the result. A batch is at least one step long (an
 * overview of punctuation only has no words: fully masked).
 */
export function overviewTrainingData(dataset: Dataset, encoder: OverviewEncoder, split: Split, sequenceLength?: number): TrainingData {
  const overviews = overviewInputs(
    encoder,
    dataset.films.map((f) => f.overview),
    sequenceLength,
  );
  return {
    train: split.train,
    validation: split.validation,
    makeBatch: (rows) => ({ inputs: overviews(rows), labels: labelTensor(dataset, rows) }),
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
  const overviews = overviewInputs(encoder, dataset.films.map((f) => f.overview), sequenceLength);
  return {
    train: images.train,
    validation: images.validation,
    excluded: images.excluded,
    makeBatch: (rows) => {
      const image = images.makeBatch(rows);
      return { inputs: [image.inputs as tf.Tensor, overviews(rows)], labels: image.labels };
    },
  };
}
