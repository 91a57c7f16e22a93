/**
 * A trained model's folder: what training writes and what later notebooks and commands load.
 *
 *   model.json + weights-<n>.bin   the best epoch's weights (./checkpoint.ts, written atomically)
 *   info.json                      kind, genres, preset, settings, dataset and split, backend, best epoch
 *   history.json                   every epoch's metrics and learning rate (train/history.ts)
 *   thresholds.json                per-genre thresholds tuned on the run's validation split
 *   vocabulary.json                the LSTM's (and the BiLSTM joint model's) TextVectorizer
 *   tfidf.json                     the TF-IDF joint model's TfidfVectorizer
 */
import * as fs from "node:fs";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { OverviewEncoder } from "../data/batches";
import type { EncoderInfo } from "../encoders/provenance";
import { TextVectorizer } from "../data/text";
import { TfidfVectorizer } from "../data/tfidf";
import { loadJson, saveJson } from "../runtime/files";
import type { TrainingHistory } from "../train/history";
import { MODEL_JSON, loadCheckpoint } from "./checkpoint";
// The classes a saved model may name (the joint model's gated unit, the LSTM's orthogonal initialiser) are
// registered with tf.serialization when their modules load: loading a folder needs them.
import "./gmu";
import "./initializers";

/**
 * cnn, lstm: the coursework's models; fusion: the joint model of notebook 05 (coursework CNN + BiLSTM or
 * TF-IDF); pretrained: the joint model on pretrained features (notebook 06).
 */
export type ModelKind = "cnn" | "lstm" | "fusion" | "pretrained";

/** <dir>/info.json: everything needed to use a trained model again, besides its weights. */
export interface ModelInfo {
  kind: ModelKind;
  /** Output order of the model: the dataset's genre columns. */
  genres: string[];
  preset: string;
  /** The notebook's or command's settings for this run (epochs, learning rate, ...). */
  settings: Record<string, unknown>;
  dataset: { dir: string; films: number; trainFilms: number; validationFilms: number; seed: number };
  backend: string;
  /** CNN and fusion: posters are imageSize x imageSize. */
  imageSize?: number;
  /** LSTM: fixed sequence length, or undefined for batches padded to their longest overview. */
  sequenceLength?: number;
  /** fusion: how the model reads the overview (undefined: 'lstm', token ids with vocabulary.json; 'tfidf': tfidf.json). */
  overviewBranch?: "lstm" | "tfidf";
  /** pretrained: the encoders whose features the model reads, with their packages' versions. */
  encoders?: { overview: EncoderInfo; poster: EncoderInfo };
  /** pretrained: the text branch also reads the overview's TF-IDF (tfidf.json). */
  tfidf?: boolean;
  /** Set when the output layer was corrected after a weighted loss (train/losses.ts weightedBceCorrection). */
  outputCorrection?: string;
  started: string;
  finished?: string;
  bestEpoch?: number;
  bestValLoss?: number;
  interrupted?: boolean;
}

export const INFO_JSON = "info.json";
export const VOCABULARY_JSON = "vocabulary.json";
export const HISTORY_JSON = "history.json";
export const THRESHOLDS_JSON = "thresholds.json";
export const TFIDF_JSON = "tfidf.json";

/** <dir>/thresholds.json: per-genre thresholds maximising each genre's F1 on the training run's validation split. */
export interface SavedThresholds {
  genres: string[];
  thresholds: number[];
  tunedOn: string;
  films: number;
  perGenre: Record<string, unknown>;
}

/** Where the notebooks and `npm run train` keep a preset's model of a kind. */
export function modelDir(outDir: string, preset: string, kind: ModelKind): string {
  return path.join(outDir, "models", preset, kind);
}

export interface TrainedModel {
  dir: string;
  info: ModelInfo;
  model: tf.LayersModel;
  history?: TrainingHistory;
  /** LSTM, and fusion with the 'lstm' overview branch. */
  vectorizer?: TextVectorizer;
  /** fusion with the 'tfidf' overview branch. */
  tfidf?: TfidfVectorizer;
  /** Per-genre thresholds tuned on the validation split at the end of training, when saved. */
  thresholds?: SavedThresholds;
}

/** Loads a model folder written by the notebooks or `npm run train`, with a clear error for what is missing. */
export async function loadTrainedModel(dir: string): Promise<TrainedModel> {
  const need = (file: string, what: string) => {
    if (!fs.existsSync(path.join(dir, file))) {
      throw new Error(
        `${path.join(dir, file)} not found: ${dir} is not a trained model folder (${what} missing). Train one with notebook 02/03 or 'npm run train'.`,
      );
    }
  };
  need(INFO_JSON, "model description");
  need(MODEL_JSON, "weights");
  const info = await loadJson<ModelInfo>(path.join(dir, INFO_JSON), "model description");
  const model = await loadCheckpoint(dir);
  const trained: TrainedModel = { dir, info, model };
  if (fs.existsSync(path.join(dir, HISTORY_JSON)))
    trained.history = await loadJson<TrainingHistory>(path.join(dir, HISTORY_JSON), "training history");
  if (fs.existsSync(path.join(dir, THRESHOLDS_JSON)))
    trained.thresholds = await loadJson<SavedThresholds>(path.join(dir, THRESHOLDS_JSON), "thresholds");
  if ((info.kind === "fusion" && info.overviewBranch === "tfidf") || (info.kind === "pretrained" && info.tfidf)) {
    need(TFIDF_JSON, "TF-IDF vocabulary");
    trained.tfidf = await TfidfVectorizer.load(path.join(dir, TFIDF_JSON));
  } else if (info.kind === "lstm" || info.kind === "fusion") {
    need(VOCABULARY_JSON, "vocabulary");
    trained.vectorizer = await TextVectorizer.load(path.join(dir, VOCABULARY_JSON));
  }
  return trained;
}

/** A trained model's overview encoder (its vocabulary.json or tfidf.json), with a clear error when missing. */
export function overviewEncoder(trained: TrainedModel): OverviewEncoder {
  const encoder = trained.tfidf ?? trained.vectorizer;
  if (!encoder)
    throw new Error(`${trained.dir}: the model folder needs its ${trained.info.overviewBranch === "tfidf" ? TFIDF_JSON : VOCABULARY_JSON}`);
  return encoder;
}

// ---------------------------------------------------------------------------------------------------
// Writing a folder

/**
 * Starts a run's folder: info.json and the overview encoder's file (vocabulary.json or tfidf.json), written
 * atomically, and the other encoder's file removed (a folder reused by another kind of run must not keep it).
 */
export async function writeRunFiles(
  dir: string,
  files: { info: ModelInfo; vectorizer?: TextVectorizer; tfidf?: TfidfVectorizer },
): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  for (const stale of [VOCABULARY_JSON, TFIDF_JSON]) await fsp.rm(path.join(dir, stale), { force: true });
  if (files.vectorizer) await files.vectorizer.save(path.join(dir, VOCABULARY_JSON));
  if (files.tfidf) await files.tfidf.save(path.join(dir, TFIDF_JSON));
  await saveInfo(dir, files.info);
}

export async function saveInfo(dir: string, info: ModelInfo): Promise<void> {
  await saveJson(path.join(dir, INFO_JSON), info);
}

export async function saveThresholds(dir: string, thresholds: SavedThresholds): Promise<void> {
  await saveJson(path.join(dir, THRESHOLDS_JSON), thresholds);
}

/** The model of this kind that the notebooks (or `npm run train`) trained at the config's preset, loaded. */
export function loadPresetModel(config: { outDir: string; preset: string }, kind: ModelKind): Promise<TrainedModel> {
  return loadTrainedModel(modelDir(config.outDir, config.preset, kind));
}
