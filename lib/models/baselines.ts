/**
 * The baseline models every comparison of the workbook includes:
 *
 *  1. the genre-frequency prior: every film gets each genre's training frequency. It has no skill at all
 *     (every film gets the same ranking), yet its BCE (val ≈ 0.2342 on the coursework data) is what the
 *     CNN and the LSTM of the coursework barely beat;
 *  2. a linear text model: TF-IDF of word unigrams and bigrams of the overview (data/tfidf.ts) -> logistic
 *     regression, one Dense(25, sigmoid) layer. With per-genre thresholds tuned on validation this is the
 *     bar a deep text model has to clear;
 *  3. the same TF-IDF through one hidden layer: exactly the joint model's 'tfidf' overview trunk with its
 *     own output, trained without the poster. Next to the joint model it measures what the poster adds.
 *
 * They are trained by train/text-baselines.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { tfidfOverviewTrunk } from "./branches";
import { seededKernels } from "./initializers";

/** Each genre's frequency among the training rows (labels row-major [films, genres]). */
export function frequencyPrior(labels: Uint8Array | ArrayLike<number>, genres: number, trainRows: readonly number[]): Float32Array {
  if (!Number.isInteger(genres) || genres <= 0) throw new Error(`frequencyPrior: genres must be a positive integer, got ${genres}`);
  if (labels.length % genres !== 0) throw new Error(`frequencyPrior: ${labels.length} labels is not a multiple of ${genres} genres`);
  if (trainRows.length === 0) throw new Error("frequencyPrior: no training rows");
  const films = labels.length / genres;
  const counts = new Float64Array(genres);
  for (const r of trainRows) {
    if (!Number.isInteger(r) || r < 0 || r >= films) throw new Error(`frequencyPrior: row ${r} is outside the ${films} films`);
    for (let g = 0; g < genres; g++) counts[g]! += (labels[r * genres + g] as number) !== 0 ? 1 : 0;
  }
  return Float32Array.from(counts, (c) => c / trainRows.length);
}

/** The prior as predictions: the same row for each of `films` films, row-major [films, genres]. */
export function priorPredictions(prior: ArrayLike<number>, films: number): Float32Array {
  if (!Number.isInteger(films) || films < 0) throw new Error(`priorPredictions: films must be a non-negative integer, got ${films}`);
  const g = prior.length;
  const out = new Float32Array(films * g);
  for (let f = 0; f < films; f++) for (let j = 0; j < g; j++) out[f * g + j] = prior[j] as number;
  return out;
}

// ---------------------------------------------------------------------------------------------------
// 2. TF-IDF

export interface LogisticRegressionOptions {
  /** L2 penalty on the kernel (tf.regularizers.l2; Keras adds it to loss and val_loss). 0 = none. */
  l2?: number;
}

/**
 * Multi-label logistic regression: ONE Dense(genres, sigmoid) layer on the TF-IDF features (25
 * independent one-vs-rest logistic regressions). Zero-initialised (the problem is convex: no need to
 * break symmetry, and the result is deterministic).
 */
export function buildLogisticRegression(features: number, genres: number, options: LogisticRegressionOptions = {}): tf.LayersModel {
  const l2 = options.l2 ?? 0;
  if (!(l2 >= 0)) throw new Error(`buildLogisticRegression: l2 must be >= 0, got ${l2}`);
  const model = tf.sequential({ name: "tfidf_logistic_regression" });
  model.add(
    tf.layers.dense({
      name: "logistic",
      units: genres,
      inputShape: [features],
      activation: "sigmoid",
      kernelInitializer: "zeros",
      biasInitializer: "zeros",
      ...(l2 > 0 ? { kernelRegularizer: tf.regularizers.l2({ l2 }) } : {}),
    }),
  );
  return model;
}

/** TF-IDF -> the TF-IDF trunk (hidden units) -> Dense(genres, sigmoid) "Output" (glorot-uniform, seeded). */
export function buildTfidfMlp(
  features: number,
  genres: number,
  options: LogisticRegressionOptions & { hidden: number; seed?: number },
): tf.LayersModel {
  if (!Number.isInteger(options.hidden) || options.hidden < 1)
    throw new Error(`buildTfidfMlp: hidden must be a positive integer, got ${options.hidden}`);
  const kernel = seededKernels(options.seed);
  return tf.sequential({
    name: "tfidf_mlp",
    layers: [
      ...tfidfOverviewTrunk(options.hidden, { kernel, l2: options.l2 ?? 0, inputFeatures: features }),
      tf.layers.dense({ name: "Output", units: genres, activation: "sigmoid", kernelInitializer: kernel() }),
    ],
  });
}
