/**
 * An ensemble model folder made by hand (used by test/ensemble.test.ts and test/app.test.ts): two linear folds with
 * known weights, each with its own TF-IDF (fitted on other overviews, as each fold fits its own on its training films),
 * and the ensemble's probabilities worked out by hand from them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { TfidfVectorizer } from "../lib/data/tfidf";
import { fileSaveHandler } from "../lib/models/checkpoint";
import { TINY_GENRES } from "./model-folders";

export const ids = (first: number, n: number) => Array.from({ length: n }, (_, i) => `tt${String(first + i).padStart(7, "0")}`);
export const TRAIN_IDS = ids(1, 8);
export const VALIDATION_IDS = ids(9, 2);
export const HELD_OUT = [ids(1, 4), ids(5, 4)];

/** Each fold: the overviews its TF-IDF is fitted on, its kernel (a function of term and genre) and its biases. */
export const FOLDS = [
  { texts: ["a ghost in the house", "a clown in the circus"], kernel: (t: number, g: number) => 0.5 * (t + 1) - g, bias: [0.1, -0.2, 0.3] },
  { texts: ["a war in the desert", "a ghost at war"], kernel: (t: number, g: number) => (g + 1) * 0.25 - 0.1 * t, bias: [-0.4, 0.2, 0] },
];

function baseInfo(dataset: Record<string, unknown>) {
  return {
    kind: "linear",
    genres: TINY_GENRES,
    preset: "smoke",
    settings: { seed: 1, validationFraction: 0.2 },
    dataset: { dir: "data", films: 10, seed: 1, ...dataset },
    backend: "cpu",
    started: "2026-01-01T00:00:00.000Z",
  };
}

/** A linear fold: its TF-IDF, a Dense sigmoid layer with the fold's weights, info.json with its split, history and thresholds. */
async function writeFold(dir: string, i: number): Promise<TfidfVectorizer> {
  const fold = FOLDS[i] as (typeof FOLDS)[number];
  fs.mkdirSync(dir, { recursive: true });
  const tfidf = TfidfVectorizer.fit(fold.texts, { minDf: 1, bigrams: false });
  await tfidf.save(path.join(dir, "tfidf.json"));
  const model = tf.sequential({
    layers: [tf.layers.dense({ name: "Output", units: TINY_GENRES.length, activation: "sigmoid", inputShape: [tfidf.features] })],
  });
  const kernel = Array.from({ length: tfidf.features }, (_, t) => TINY_GENRES.map((_, g) => fold.kernel(t, g)));
  model.setWeights([tf.tensor2d(kernel), tf.tensor1d(fold.bias)]);
  await model.save(fileSaveHandler(dir));
  model.dispose();
  const heldOut = HELD_OUT[i] as string[];
  const info = {
    ...baseInfo({
      trainFilms: 4,
      validationFilms: 4,
      trainIds: TRAIN_IDS.filter((id) => !heldOut.includes(id)),
      validationIds: heldOut,
    }),
    bestEpoch: 2,
    bestValLoss: 0.5,
  };
  fs.writeFileSync(path.join(dir, "info.json"), JSON.stringify(info));
  const epoch = (n: number) => ({
    epoch: n,
    loss: 0.6,
    precision: 0.5,
    recall: 0.5,
    val_loss: 0.5,
    val_precision: 0.5,
    val_recall: 0.5,
    lr: 0.001,
    seconds: 1,
  });
  fs.writeFileSync(path.join(dir, "history.json"), JSON.stringify({ epochs: [epoch(1), epoch(2)], bestEpoch: 2, bestValLoss: 0.5 }));
  const thresholds = { genres: TINY_GENRES, thresholds: [0.4, 0.5, 0.6], tunedOn: "validation split", films: 4, perGenre: {} };
  fs.writeFileSync(path.join(dir, "thresholds.json"), JSON.stringify(thresholds));
  return tfidf;
}

/** The ensemble of the two folds: info.json with its "ensemble" field, thresholds.json, fold-1 and fold-2. */
export async function writeEnsemble(dir: string): Promise<TfidfVectorizer[]> {
  const tfidfs = [await writeFold(path.join(dir, "fold-1"), 0), await writeFold(path.join(dir, "fold-2"), 1)];
  const info = {
    ...baseInfo({ trainFilms: 8, validationFilms: 2, trainIds: TRAIN_IDS, validationIds: VALIDATION_IDS }),
    ensemble: {
      folds: 2,
      seed: 7,
      members: HELD_OUT.map((heldOutIds) => ({ trainFilms: 4, heldOutIds, bestEpoch: 2, bestValLoss: 0.5 })),
    },
  };
  fs.writeFileSync(path.join(dir, "info.json"), JSON.stringify(info));
  const thresholds = { genres: TINY_GENRES, thresholds: [0.35, 0.45, 0.55], tunedOn: "out-of-fold probabilities", films: 8, perGenre: {} };
  fs.writeFileSync(path.join(dir, "thresholds.json"), JSON.stringify(thresholds));
  return tfidfs;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The mean over the folds of sigmoid(x.W + b), x the fold's own TF-IDF of the overview, worked out term by term. */
export function handMean(tfidfs: readonly TfidfVectorizer[], overview: string): number[] {
  return TINY_GENRES.map((_, g) => {
    let sum = 0;
    tfidfs.forEach((tfidf, i) => {
      const fold = FOLDS[i] as (typeof FOLDS)[number];
      const x = tfidf.transform([overview]);
      let z = fold.bias[g] as number;
      for (let k = 0; k < x.indices.length; k++) z += (x.values[k] as number) * fold.kernel(x.indices[k] as number, g);
      sum += sigmoid(z);
    });
    return sum / tfidfs.length;
  });
}
