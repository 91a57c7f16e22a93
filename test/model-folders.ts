/**
 * Tiny but complete model folders for the tests of what a folder may hold (folder-schema.test.ts, hostile-input.test.ts):
 * each kind's files as a training run writes them, with a model that has the inputs that matter (a poster input, an
 * embedding, a TF-IDF input) and three outputs, so that a folder loads in well under a second.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { fileSaveHandler } from "../lib/models/checkpoint";
import { loadModel } from "../lib/kinds/registry";
import { TextVectorizer } from "../lib/data/text";
import { TfidfVectorizer } from "../lib/data/tfidf";

export const TINY_GENRES = ["Action", "Comedy", "Drama"];
/** The poster side of the tiny CNN folder (its input is [null, 8, 8, 3]). */
export const TINY_IMAGE_SIZE = 8;
/** Words of the tiny LSTM folder's vocabulary, '' and '[UNK]' included: its embedding has as many rows. */
export const TINY_VOCABULARY = 835;

export type TinyKind = "cnn" | "lstm" | "linear";

/** The words of the LSTM folder's vocabulary: 833 distinct learned words after the two special tokens. */
export function tinyWords(): string[] {
  return Array.from({ length: TINY_VOCABULARY - 2 }, (_, i) => `word${i}`);
}

function tinyModel(kind: TinyKind, tfidfFeatures: number): tf.LayersModel {
  const output = () => tf.layers.dense({ name: "Output", units: TINY_GENRES.length, activation: "sigmoid" });
  if (kind === "cnn") {
    const input = tf.input({ shape: [TINY_IMAGE_SIZE, TINY_IMAGE_SIZE, 3], name: "Input" });
    const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: output().apply(flat) as tf.SymbolicTensor });
  }
  if (kind === "lstm") {
    return tf.sequential({
      layers: [
        tf.layers.embedding({ name: "embedding", inputDim: TINY_VOCABULARY, outputDim: 2, inputLength: 4 }),
        tf.layers.globalAveragePooling1d({}),
        output(),
      ],
    });
  }
  return tf.sequential({
    layers: [tf.layers.dense({ name: "Output", units: TINY_GENRES.length, activation: "sigmoid", inputShape: [tfidfFeatures] })],
  });
}

/** Writes a folder of `kind` into `dir`: model.json and weights, info.json, history.json, thresholds.json and its encoder's file. */
export async function writeTinyFolder(dir: string, kind: TinyKind): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const tfidf =
    kind === "linear" ? TfidfVectorizer.fit(["a ghost in the house", "a clown in the circus", "a war in the desert"]) : undefined;
  const model = tinyModel(kind, tfidf?.features ?? 0);
  await model.save(fileSaveHandler(dir));
  model.dispose();
  const info = {
    kind,
    genres: TINY_GENRES,
    preset: "smoke",
    settings: { seed: 1, validationFraction: 0.2 },
    dataset: { dir: "data", films: 10, trainFilms: 8, validationFilms: 2, seed: 1, trainIds: ids(1, 8), validationIds: ids(9, 2) },
    backend: "cpu",
    started: "2026-01-01T00:00:00.000Z",
    bestEpoch: 2,
    bestValLoss: 0.5,
    ...(kind === "cnn" ? { imageSize: TINY_IMAGE_SIZE } : {}),
  };
  fs.writeFileSync(path.join(dir, "info.json"), JSON.stringify(info));
  const epoch = (n: number, valLoss: number) => ({
    epoch: n,
    loss: 0.6,
    precision: 0.5,
    recall: 0.5,
    val_loss: valLoss,
    val_precision: 0.5,
    val_recall: 0.5,
    lr: 0.001,
    seconds: 1,
  });
  const history = { epochs: [epoch(1, 0.7), epoch(2, 0.5)], bestEpoch: 2, bestValLoss: 0.5, stoppedEarly: false, interrupted: false };
  fs.writeFileSync(path.join(dir, "history.json"), JSON.stringify(history));
  const thresholds = { genres: TINY_GENRES, thresholds: [0.3, 0.5, 0.7], tunedOn: "validation", films: 2, perGenre: {} };
  fs.writeFileSync(path.join(dir, "thresholds.json"), JSON.stringify(thresholds));
  if (kind === "lstm") {
    const vectorizer = TextVectorizer.fromJSON({
      format: "keras-text-vectorization",
      version: 1,
      maxTokens: 10000,
      sequenceLength: null,
      standardize: "lower_and_strip_punctuation",
      split: "whitespace",
      vocabulary: ["", "[UNK]", ...tinyWords()],
    });
    await vectorizer.save(path.join(dir, "vocabulary.json"));
  }
  if (tfidf) await tfidf.save(path.join(dir, "tfidf.json"));
}

function ids(first: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `tt${String(first + i).padStart(7, "0")}`);
}

/** Reads a JSON file of a folder, changes it with `change` and writes it back. */
export function editJson(file: string, change: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  change(json);
  fs.writeFileSync(file, JSON.stringify(json));
}

/** loadModel refuses the folder with a WorkbookError of exactly `message`. */
export async function refused(dir: string, message: string): Promise<void> {
  await assert.rejects(loadModel(dir), (e: Error) => {
    assert.equal(e.name, "WorkbookError", e.stack);
    assert.equal(e.message, message);
    return true;
  });
}
