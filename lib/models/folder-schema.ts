/**
 * What the JSON files of a model folder may hold. A model folder is downloaded and shared, so it is untrusted input, as
 * a CSV is: loading it checks each file field by field (types, and sizes and counts within bounds), then the files
 * against each other and against the model (one genre per output, one threshold per genre, a vocabulary as long as the
 * embedding, a TF-IDF as wide as the model's input, the posters' side that of the model's poster input). Every refusal
 * names the file, the field, what it holds and what was expected:
 *
 *   .../info.json: imageSize is -64; expected an integer from 1 to 1024
 *
 * model.json's own checks (its weights paths, the weight entries) are in ./checkpoint.ts.
 */
import type * as tf from "@tensorflow/tfjs";
import { WorkbookError } from "../runtime/errors";
import type { TrainingHistory } from "./history";

/** The largest poster side a model folder may declare (the coursework's is 64; a poster is about 180x270). */
export const MAX_IMAGE_SIZE = 1024;
/** The most output genres a model may have (the coursework has 25). */
export const MAX_GENRES = 1000;
/** The most films a dataset description may count. */
export const MAX_FILMS = 10_000_000;
/** The most epochs a history may record. */
export const MAX_EPOCHS = 100_000;
/** The longest fixed sequence length of an overview model (no model reads more than 200 words). */
export const MAX_SEQUENCE_LENGTH = 10_000;

/**
 * <dir>/info.json: everything needed to use a trained model again, besides its weights. These are the fields
 * every kind of model has; each kind adds its own (lib/kinds/, where `ModelInfo` is the union of all kinds).
 */
export interface ModelInfoBase {
  /** The model kind's id (lib/kinds/registry.ts): cnn, lstm, fusion, pretrained, ... */
  kind: string;
  /** Output order of the model: the dataset's genre columns. */
  genres: string[];
  preset: string;
  /** The notebook's or command's settings for this run (epochs, learning rate, ...). */
  settings: Record<string, unknown>;
  dataset: {
    dir: string;
    films: number;
    trainFilms: number;
    validationFilms: number;
    seed: number;
    /** The split itself: the Ids of the training and validation films. */
    trainIds?: string[];
    validationIds?: string[];
  };
  backend: string;
  /** Set when the output layer was corrected after a weighted loss (models/losses.ts weightedBceCorrection). */
  outputCorrection?: string;
  started: string;
  finished?: string;
  bestEpoch?: number;
  bestValLoss?: number;
  interrupted?: boolean;
}

/** <dir>/thresholds.json: per-genre thresholds maximising each genre's F1 on the training run's validation split. */
export interface SavedThresholds {
  genres: string[];
  thresholds: number[];
  tunedOn: string;
  films: number;
  perGenre: Record<string, unknown>;
}

/** A value as a refusal shows it: numbers as JavaScript writes them (-1, Infinity), a list by its length, text quoted. */
function shown(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (typeof value === "number") return String(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 56)}..."` : text;
}

/** The refusal of a field: `<file>: <field> is <what it holds>; expected <what was expected>`. */
export function fieldRefusal(file: string, field: string, value: unknown, expected: string): WorkbookError {
  return new WorkbookError(`${file}: ${field} is ${shown(value)}; expected ${expected}`);
}

type Json = Record<string, unknown>;

/** One file's checks: each refusal names the file, the field, what it holds and what was expected. */
class JsonFile {
  constructor(readonly file: string) {}

  refuse(field: string, value: unknown, expected: string): never {
    return this.refuseShown(field, shown(value), expected);
  }

  refuseShown(field: string, what: string, expected: string): never {
    throw new WorkbookError(`${this.file}: ${field} is ${what}; expected ${expected}`);
  }

  root(json: unknown): Json {
    if (typeof json !== "object" || json === null || Array.isArray(json))
      throw new WorkbookError(`${this.file}: the file holds ${shown(json)}; expected a JSON object`);
    return json as Json;
  }

  object(value: unknown, field: string): Json {
    if (typeof value !== "object" || value === null || Array.isArray(value)) this.refuse(field, value, "an object");
    return value as Json;
  }

  integer(value: unknown, field: string, min: number, max: number, why = ""): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
      this.refuse(field, value, `an integer from ${min} to ${max}${why}`);
    return value as number;
  }

  text(value: unknown, field: string, expected: string): string {
    if (typeof value !== "string" || value === "") this.refuse(field, value, expected);
    return value as string;
  }

  list(value: unknown, field: string, max: number, expected: string): unknown[] {
    if (!Array.isArray(value) || value.length > max) this.refuse(field, value, expected);
    return value as unknown[];
  }

  /** A list of `n` distinct non-empty strings, each a `noun` (a film Id, a genre name). */
  names(value: unknown, field: string, noun: string, expected: string, n?: number): string[] {
    const list = this.list(value, field, n ?? MAX_GENRES, expected);
    if (n !== undefined && list.length !== n) this.refuse(field, value, expected);
    const first = new Map<string, number>();
    list.forEach((name, i) => {
      this.text(name, `${field}[${i}]`, `a ${noun}`);
      const earlier = first.get(name as string);
      if (earlier !== undefined) this.refuse(`${field}[${i}]`, name, `a ${noun} not already listed (${field}[${earlier}])`);
      first.set(name as string, i);
    });
    return list as string[];
  }
}

/** info.json: the fields every kind has, the split's counts, and the kinds' sizes (imageSize, sequenceLength) when present. */
export function checkInfoJson(json: unknown, file: string): ModelInfoBase {
  const f = new JsonFile(file);
  const info = f.root(json);
  f.text(info["kind"], "kind", "the name of the model's kind");
  const genres = f.list(info["genres"], "genres", MAX_GENRES, `a list of 1 to ${MAX_GENRES} genre names (the model's outputs, in order)`);
  if (genres.length === 0) f.refuse("genres", genres, `a list of 1 to ${MAX_GENRES} genre names (the model's outputs, in order)`);
  f.names(genres, "genres", "genre name", "genre names");
  f.object(info["settings"], "settings");
  const dataset = f.object(info["dataset"], "dataset");
  const films = f.integer(dataset["films"], "dataset.films", 0, MAX_FILMS);
  const train = f.integer(dataset["trainFilms"], "dataset.trainFilms", 0, films, " (at most dataset.films)");
  const validation = f.integer(
    dataset["validationFilms"],
    "dataset.validationFilms",
    0,
    films - train,
    " (dataset.films less dataset.trainFilms)",
  );
  if (dataset["trainIds"] !== undefined)
    f.names(dataset["trainIds"], "dataset.trainIds", "film Id", `${train} film Ids (dataset.trainFilms)`, train);
  if (dataset["validationIds"] !== undefined)
    f.names(dataset["validationIds"], "dataset.validationIds", "film Id", `${validation} film Ids (dataset.validationFilms)`, validation);
  if (info["imageSize"] !== undefined) f.integer(info["imageSize"], "imageSize", 1, MAX_IMAGE_SIZE);
  if (info["sequenceLength"] !== undefined) f.integer(info["sequenceLength"], "sequenceLength", 1, MAX_SEQUENCE_LENGTH);
  if (info["bestEpoch"] !== undefined) f.integer(info["bestEpoch"], "bestEpoch", 0, MAX_EPOCHS);
  return info as unknown as ModelInfoBase;
}

/** thresholds.json: one number from 0 to 1 per genre of info.json, for the same genres in the same order. */
export function checkThresholdsJson(json: unknown, file: string, genres: readonly string[], infoFile: string): SavedThresholds {
  const f = new JsonFile(file);
  const saved = f.root(json);
  const expected = `${genres.length} numbers from 0 to 1, one per genre of ${infoFile}`;
  const thresholds = f.list(saved["thresholds"], "thresholds", genres.length, expected);
  if (thresholds.length !== genres.length) f.refuse("thresholds", thresholds, expected);
  thresholds.forEach((t, i) => {
    if (typeof t !== "number" || !(t >= 0 && t <= 1)) f.refuse(`thresholds[${i}]`, t, "a number from 0 to 1");
  });
  const own = saved["genres"];
  if (own !== undefined && (!Array.isArray(own) || own.join("\u0000") !== genres.join("\u0000")))
    f.refuse("genres", own, `the genres of ${infoFile}, in its order (files of two runs?)`);
  return saved as unknown as SavedThresholds;
}

/** The name of the TF-IDF input of a model that reads more than one input (models/fusion.ts, models/pretrained.ts). */
const TFIDF_INPUT = "overview_tfidf";

const EPOCH_FIELDS = ["loss", "precision", "recall", "val_loss", "val_precision", "val_recall", "lr", "seconds"] as const;

/** history.json: epochs numbered 1, 2, ... with their metrics as numbers (null where a metric was NaN), the best among them. */
export function checkHistoryJson(json: unknown, file: string): TrainingHistory {
  const f = new JsonFile(file);
  const history = f.root(json);
  const epochs = f.list(history["epochs"], "epochs", MAX_EPOCHS, `a list of at most ${MAX_EPOCHS} epoch records`);
  epochs.forEach((e, i) => {
    const record = f.object(e, `epochs[${i}]`);
    if (record["epoch"] !== i + 1) f.refuse(`epochs[${i}].epoch`, record["epoch"], `${i + 1} (epochs are numbered from 1, in order)`);
    for (const field of EPOCH_FIELDS) {
      const value = record[field];
      if (value !== null && typeof value !== "number") f.refuse(`epochs[${i}].${field}`, value, "a number (or null)");
    }
  });
  f.integer(history["bestEpoch"], "bestEpoch", 0, epochs.length, " (the epochs recorded)");
  const best = history["bestValLoss"];
  if (best !== null && typeof best !== "number") f.refuse("bestValLoss", best, "a number (or null before any epoch)");
  return history as unknown as TrainingHistory;
}

/** The model's layers, those of nested models included. */
function layersOf(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.flatMap((layer) => ("layers" in layer ? layersOf(layer as unknown as tf.LayersModel) : [layer]));
}

/** What the folder's files are checked against: the loaded model and its model.json. */
export interface FolderParts {
  model: tf.LayersModel;
  modelFile: string;
  infoFile: string;
  genres: readonly string[];
  vocabulary?: { file: string; size: number };
  tfidf?: { file: string; features: number };
}

/** The files against the model: one genre per output, the vocabulary as long as the embedding, the TF-IDF as wide as its input. */
export function checkAgainstModel(parts: FolderParts): void {
  const { model, modelFile } = parts;
  const outputs = model.outputs[0]?.shape[1];
  if (outputs !== parts.genres.length)
    new JsonFile(parts.infoFile).refuse(
      "genres",
      parts.genres,
      `${outputs} genres, one per output of the model in ${modelFile} (files of two runs?)`,
    );
  const embedding = layersOf(model).find((layer) => layer.getClassName() === "Embedding");
  const rows = (embedding?.getConfig() as { inputDim?: number } | undefined)?.inputDim;
  if (parts.vocabulary && embedding && rows !== parts.vocabulary.size) {
    new JsonFile(parts.vocabulary.file).refuseShown(
      "vocabulary",
      `a list of ${parts.vocabulary.size}`,
      `${rows} words, one per row of the embedding layer "${embedding.name}" in ${modelFile}`,
    );
  }
  if (parts.tfidf) {
    const input = model.inputs.find((i) => i.sourceLayer.name === TFIDF_INPUT) ?? (model.inputs.length === 1 ? model.inputs[0] : undefined);
    const width = input?.shape[input.shape.length - 1];
    if (input && width !== parts.tfidf.features) {
      new JsonFile(parts.tfidf.file).refuseShown(
        "vocabulary",
        `a list of ${parts.tfidf.features}`,
        `${width} terms, one per feature the model in ${modelFile} reads`,
      );
    }
  }
}

/** A poster model's imageSize (info.json) against its poster input: the model's input of rank 4, [null, side, side, 3]. */
export function checkImageSize(model: tf.LayersModel, imageSize: number, infoFile: string, modelFile: string): void {
  const input = model.inputs.find((i) => i.shape.length === 4);
  if (!input) return;
  const [, height, width, channels] = input.shape;
  if (height !== imageSize || width !== imageSize) {
    new JsonFile(infoFile).refuse(
      "imageSize",
      imageSize,
      `${height}, the side of the posters the model in ${modelFile} reads (its input "${input.sourceLayer.name}" is ${height}x${width}x${channels})`,
    );
  }
}
