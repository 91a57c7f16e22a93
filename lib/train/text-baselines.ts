/**
 * Training the text baselines of notebook 05 (models/baselines.ts): the TF-IDF + logistic regression, and
 * the joint model's TF-IDF trunk trained alone. Both fit the TF-IDF on the training overviews only and are
 * trained by the workbook's own trainer, so their figures are comparable with every other model's.
 */
import * as tf from "@tensorflow/tfjs";
import { tfidfTrainingData } from "../data/batches";
import type { Dataset, Split } from "../data/dataset";
import { TFIDF_DEFAULTS, TfidfVectorizer } from "../data/tfidf";
import { predictBatches } from "../eval/inference";
import { buildLogisticRegression, buildTfidfMlp } from "../models/baselines";
import { TFIDF_L2 } from "../models/branches";
import { silentProgress } from "./progress";
import type { TrainingHistory } from "../models/history";
import { LossConfig, correctOutputLayer, lossFromConfig } from "../models/losses";
import { TrainOptions, trainModel } from "./trainer";
import { ensureBackend } from "../runtime/backend";

export interface LinearBaselineConfig {
  /** 0: logistic regression; > 0: a hidden Dense(hidden, relu) layer + dropout 0.5 first (buildTfidfMlp). */
  hidden: number;
  /** TF-IDF vocabulary */
  minDf: number;
  maxFeatures: number;
  bigrams: boolean;
  /** training */
  loss: LossConfig;
  learningRate: number;
  epochs: number;
  batchSize: number;
  l2: number;
  /** seed of the trainer's shuffling */
  seed: number;
}

/**
 * The logistic regression, trained in well under a minute at a constant learning rate (how each value was
 * chosen: README, "How the defaults were chosen"). It is scored on its weighted-loss probabilities as
 * trained, its best showing on tuned macro F1: the threshold grid stops at 0.05, below which the corrected
 * probabilities of rare genres fall.
 */
export const LINEAR_BASELINE_DEFAULTS: Readonly<LinearBaselineConfig> = Object.freeze({
  hidden: 0,
  ...TFIDF_DEFAULTS,
  loss: Object.freeze({ kind: "weighted-bce", cap: 10, correctProbabilities: false }) as LossConfig,
  learningRate: 3e-3,
  epochs: 20,
  batchSize: 64,
  l2: TFIDF_L2,
  seed: 42,
});

/**
 * The joint model's overview trunk alone (notebook 05's "what does the poster add" row): TF-IDF ->
 * Dense(256, relu) -> dropout 0.5 -> Dense(genres, sigmoid), weighted BCE with its probabilities corrected
 * like the joint model's, so that the only difference to the joint model is the poster.
 */
export const TEXT_BRANCH_BASELINE_DEFAULTS: Readonly<LinearBaselineConfig> = Object.freeze({
  ...LINEAR_BASELINE_DEFAULTS,
  hidden: 256,
  loss: Object.freeze({ kind: "weighted-bce", cap: 10 }) as LossConfig,
  learningRate: 1e-3,
  // its best epoch was the 4th at both presets: 5 keeps it and saves notebook 05 half a minute
  epochs: 5,
});

export interface LinearBaseline {
  vectorizer: TfidfVectorizer;
  model: tf.LayersModel;
  history: TrainingHistory;
  config: LinearBaselineConfig;
  /** lossFromConfig's one-line description of the training loss */
  lossDescription: string;
  /** genres left out of the loss */
  excluded: number[];
  seconds: number;
}

/**
 * Fits the TF-IDF on the training overviews and trains the logistic regression (or, with `hidden`, the
 * one-hidden-layer network) with train/trainer.ts (constant learning rate, best val_loss epoch kept; a
 * weighted loss's probability correction applied unless the config turns it off). `trainOptions`
 * passes anything else to the trainer (progress, checkpointDir, shouldStop, ...); the default progress is
 * silent.
 */
export async function trainLinearBaseline(
  dataset: Dataset,
  split: Split,
  config: Partial<LinearBaselineConfig> = {},
  trainOptions: Partial<TrainOptions> = {},
): Promise<LinearBaseline> {
  await ensureBackend();
  const c: LinearBaselineConfig = { ...LINEAR_BASELINE_DEFAULTS, ...config };
  const started = performance.now();
  const vectorizer = TfidfVectorizer.fit(
    split.train.map((r) => (dataset.films[r] as { overview: string }).overview),
    { minDf: c.minDf, maxFeatures: c.maxFeatures, bigrams: c.bigrams },
  );
  const { loss, description, excluded, correction } = lossFromConfig(c.loss, dataset.labels, dataset.genres, split.train);
  const model =
    c.hidden > 0
      ? buildTfidfMlp(vectorizer.features, dataset.genres.length, { hidden: c.hidden, l2: c.l2, seed: c.seed })
      : buildLogisticRegression(vectorizer.features, dataset.genres.length, { l2: c.l2 });
  const history = await trainModel(model, tfidfTrainingData(dataset, vectorizer, split), {
    epochs: c.epochs,
    batchSize: c.batchSize,
    learningRate: c.learningRate,
    schedule: (_epoch, lr0) => lr0,
    seed: c.seed,
    loss,
    progress: silentProgress(),
    ...trainOptions,
  });
  if (correction && history.bestEpoch > 0) correctOutputLayer(model, correction);
  const lossDescription = correction ? `${description}; ${correction.description}` : description;
  return { vectorizer, model, history, config: c, lossDescription, excluded, seconds: (performance.now() - started) / 1000 };
}

/** Probabilities of a baseline for the given overviews, row-major [texts.length, genres] (batched). */
export async function predictTfidf(
  model: tf.LayersModel,
  vectorizer: TfidfVectorizer,
  texts: readonly string[],
  batchSize = 256,
): Promise<Float32Array> {
  const matrix = vectorizer.transform(texts);
  return predictBatches(
    model,
    texts.length,
    (start, end) => matrix.toTensor(Array.from({ length: end - start }, (_, i) => start + i)),
    batchSize,
  );
}
