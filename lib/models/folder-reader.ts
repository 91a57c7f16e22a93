/**
 * Reading a model folder through a FolderSource: the same files, checks and messages whether the folder is on the
 * disk (Node: ./model-folder.ts diskFolder) or served over HTTP to the web page (lib/app/). Everything here is pure: a
 * source reads the files, this module checks what they hold (./folder-schema.ts, ./model-json.ts) and builds the
 * model, its vectorizers and its thresholds from them.
 */
import type * as tf from "@tensorflow/tfjs";
import type { OverviewEncoder } from "../data/batches";
import { TextVectorizer } from "../data/text";
import { TfidfVectorizer } from "../data/tfidf";
import { WorkbookError } from "../runtime/errors";
import type { TrainingHistory } from "./history";
import { ModelInfoBase, SavedThresholds, checkAgainstModel, checkHistoryJson, checkInfoJson, checkThresholdsJson } from "./folder-schema";
import { MODEL_JSON, checkModelJson, layersModelFrom } from "./model-json";
// The classes a saved model may name (the joint model's gated unit, the LSTM's orthogonal initialiser) are
// registered with tf.serialization when their modules load: loading a folder needs them.
import "./gmu";
import "./initializers";

export const INFO_JSON = "info.json";
export const VOCABULARY_JSON = "vocabulary.json";
export const HISTORY_JSON = "history.json";
export const THRESHOLDS_JSON = "thresholds.json";
export const TFIDF_JSON = "tfidf.json";

export interface TrainedModel<I extends ModelInfoBase = ModelInfoBase> {
  /** The folder, as messages name it: a path on disk, or the URL the page read it from. */
  dir: string;
  info: I;
  model: tf.LayersModel;
  history?: TrainingHistory;
  /** Token ids: the folder's vocabulary.json (the LSTM, the joint model's BiLSTM branch). */
  vectorizer?: TextVectorizer;
  /** The folder's tfidf.json (the joint model's TF-IDF branch, the TF-IDF baselines). */
  tfidf?: TfidfVectorizer;
  /** Per-genre thresholds tuned on the validation split at the end of training, when saved. */
  thresholds?: SavedThresholds;
  /** An ensemble's fold models (./ensemble-folder.ts); `model` is then their mean. */
  folds?: TrainedModel<I>[];
}

/**
 * Where a model folder's files are read from. Every error names the file (`where`) and says why it cannot be read.
 * The disk's source is ./model-folder.ts diskFolder; the page's reads them over HTTP (lib/app/http-folder.ts).
 */
export interface FolderSource {
  /** The folder, as messages name it. */
  readonly dir: string;
  /** One of its files, as messages name it. */
  where(name: string): string;
  /** Throws, naming the file, when the folder lacks it (`what`: what the file holds). */
  need(name: string, what: string): Promise<void>;
  /** Whether the file is there; a file that is there but cannot be read counts (reading it then says why). */
  has(name: string): Promise<boolean>;
  /** The file's JSON value (`what`: what it holds, for messages); an unreadable file or bad JSON is an error naming it. */
  json(name: string, what: string): Promise<unknown>;
  /** A weights file that model.json names (`field`: where it names it), whole; an error names the file and why. */
  weights(name: string, field: string): Promise<Uint8Array>;
  /** A folder inside it (an ensemble's fold-<i>: a fixed name, never one read from a file), read the same way. */
  folder(name: string): FolderSource;
}

/** The refusal of a folder that lacks a file: `file` is how it is named, `why` what is wrong ("not found", a link's note). */
export function missingFileMessage(file: string, dir: string, what: string, why: string): string {
  return `${file} ${why}: ${dir} is not a trained model folder (${what} missing). Train one with notebook 02/03 or 'npm run train'.`;
}

/**
 * A model folder read through `source`, with a clear error for what is missing or damaged: info.json and the
 * weights, and the history, thresholds, vocabulary and TF-IDF when present, each checked field by field and against
 * each other and the model (./folder-schema.ts). What a kind needs besides is checked by the kinds' registry.
 */
export async function readModelFolder(source: FolderSource): Promise<TrainedModel> {
  await source.need(INFO_JSON, "model description");
  await source.need(MODEL_JSON, "weights");
  const infoFile = source.where(INFO_JSON);
  const info = checkInfoJson(await source.json(INFO_JSON, "model description"), infoFile);
  const modelFile = source.where(MODEL_JSON);
  const modelJson = checkModelJson(await source.json(MODEL_JSON, "model description"), modelFile);
  const model = await layersModelFrom(
    modelJson,
    modelFile,
    (name, field) => source.weights(name, field),
    (name) => source.where(name),
  );
  const trained: TrainedModel = { dir: source.dir, info, model };
  if (await source.has(HISTORY_JSON))
    trained.history = checkHistoryJson(await source.json(HISTORY_JSON, "training history"), source.where(HISTORY_JSON));
  const hasThresholds = await source.has(THRESHOLDS_JSON);
  const hasTfidf = await source.has(TFIDF_JSON);
  if (hasTfidf) trained.tfidf = TfidfVectorizer.fromJSON(await source.json(TFIDF_JSON, "JSON file"), source.where(TFIDF_JSON));
  const hasVocabulary = await source.has(VOCABULARY_JSON);
  if (hasVocabulary)
    trained.vectorizer = TextVectorizer.fromJSON(
      await source.json(VOCABULARY_JSON, "text vectorizer vocabulary"),
      source.where(VOCABULARY_JSON),
    );
  checkAgainstModel({
    model,
    modelFile,
    infoFile,
    genres: info.genres,
    ...(trained.vectorizer ? { vocabulary: { file: source.where(VOCABULARY_JSON), size: trained.vectorizer.vocabularySize() } } : {}),
    ...(trained.tfidf ? { tfidf: { file: source.where(TFIDF_JSON), features: trained.tfidf.features } } : {}),
  });
  if (hasThresholds) {
    const file = source.where(THRESHOLDS_JSON);
    trained.thresholds = checkThresholdsJson(await source.json(THRESHOLDS_JSON, "thresholds"), file, info.genres, infoFile);
  }
  return trained;
}

/** A trained model's overview encoder (its tfidf.json or vocabulary.json), with a clear error when it has none. */
export function overviewEncoder(trained: TrainedModel): OverviewEncoder {
  const encoder = trained.tfidf ?? trained.vectorizer;
  if (!encoder) throw new WorkbookError(`${trained.dir}: the model folder needs its ${VOCABULARY_JSON} or ${TFIDF_JSON}`);
  return encoder;
}
