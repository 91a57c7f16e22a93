/**
 * What a model kind is: everything the workbook needs to know about one kind of model, declared once in its
 * module (./cnn.ts, ./lstm.ts, ...) and listed in ./registry.ts. Training batches (prepare), batched
 * prediction (rowInputs), single-film prediction and explanations (filmInputs), the model folder's files and
 * info fields, and the messages that say how to train a missing model all come from here.
 */
import type * as tf from "@tensorflow/tfjs";
import type { TrainingData } from "../data/batches";
import type { Dataset } from "../data/dataset";
import type { Split } from "../data/split";
import type { DecodedPoster } from "../data/posters";
import type { LoadedSplit } from "../data/split";
import type { TextVectorizer } from "../data/text";
import type { TfidfVectorizer } from "../data/tfidf";
import type { ImageEncoder } from "../encoders/mobilenet";
import type { SentenceEncoder } from "../encoders/use-lite";
import type { ModelInfoBase, TrainedModel } from "../models/model-folder";
import type { ConfiguredLoss } from "../models/losses";
import type { BackendInfo } from "../runtime/backend";
import type { PresetName, WorkbookPaths } from "../runtime/config";
import { WorkbookError } from "../runtime/errors";
import type { RunSettings } from "./presets";

/** Where and how a run is prepared. */
export interface RunContext {
  paths: WorkbookPaths;
  preset: PresetName;
  /** The active backend, recorded in info.json (default: ensureBackend()'s, which also activates one). */
  backend?: BackendInfo;
  /** Model folder (default out/models/<preset>/<kind>). */
  dir?: string;
  /** The joint model's trained branches (default: the CNN and LSTM folders of the same preset). */
  branchDirs?: { cnn?: string; lstm?: string };
  /** The dataset and split, already loaded (they must follow the settings' split); loaded from paths.dataDir otherwise. */
  loaded?: LoadedSplit;
  log?: (line: string) => void;
}

/** A run prepared by a kind and ready to train (train/lifecycle.ts trainRun). */
export interface PreparedRun<S extends RunSettings = RunSettings, I extends ModelInfoBase = ModelInfoBase> {
  kind: I["kind"];
  /** The model folder (what later notebooks and commands load); each training run gets its own folder beside it. */
  dir: string;
  /** After trainRun: this run's own folder (`<dir>.runs/<run id>`), when it kept a checkpoint. */
  runDir?: string;
  model: tf.LayersModel;
  data: TrainingData;
  dataset: Dataset;
  split: Split;
  settings: S;
  info: I;
  /** The loss used, with a one-line description for the notebook. */
  loss: ConfiguredLoss;
  /** Written to the run's folder: vocabulary.json. */
  vectorizer?: TextVectorizer;
  /** Written to the run's folder: tfidf.json. */
  tfidf?: TfidfVectorizer;
}

/** One film as a user gives it: a decoded poster and an overview (either may be absent when the kind does not read it). */
export interface RawFilm {
  poster?: DecodedPoster;
  overview?: string;
}

/** The pretrained encoders, loaded once for many films. */
export interface Encoders {
  image?: ImageEncoder;
  sentence?: SentenceEncoder;
}

/** The inputs of a model for dataset rows, for batched prediction. */
export interface RowInputs {
  /** The rows that can be predicted (a poster that cannot be read leaves its film out), in order. */
  rows: number[];
  /** The model's inputs for `rows[i]` for each i of `indices`. */
  inputs: (indices: readonly number[]) => tf.Tensor | tf.Tensor[];
  /** An order of 0..rows.length-1 whose batches pad less (overviews by length); undefined: as they are. */
  order?: number[];
  /** Films that could not be predicted, with the reason. */
  skipped: { id: string; file: string; reason: string }[];
}

/**
 * The part a model of a kind plays beside other models (a leaderboard's rows, what its narratives compare):
 * a single-modality model, a joint one, a text baseline, a head or joint model on pretrained features.
 */
export type ModelRole = "linear" | "text-branch" | "poster" | "overview" | "joint" | "text-head" | "poster-head" | "pretrained";

/** A value a setting takes in a search. */
export type SettingValue = number | string | boolean;

/** The values one setting may take in a search: choices, a range (of integers if asked), or a range on a log scale. */
export type Param =
  { choice: readonly SettingValue[] } | { range: readonly [number, number]; integer?: boolean } | { logRange: readonly [number, number] };

/** A search space over a kind's settings, by setting path ("text.dropout"); tune/space.ts checks and draws from it. */
export type SearchSpace = Record<string, Param>;

/**
 * Which explanations across films may use a kind's model, and how much they prefer it: `words`, leaving each
 * word out (eval/explain.ts wordEvidence); `posters`, occlusion (genreEvidence). The lowest rank among the models
 * trained is used; a kind without one is not.
 */
export interface EvidenceRanks {
  words?: number;
  posters?: number;
}

export interface KindSpec<I extends ModelInfoBase = ModelInfoBase, S extends RunSettings = RunSettings> {
  id: I["kind"];
  /** How notebooks and tables name the kind, e.g. "CNN (poster)". */
  title: string;
  /** How tables name one trained model of the kind when its settings matter, e.g. "joint (GMU)" (default: the title). */
  describe?(info: I): string;
  /** What one film must give for this kind to predict it. */
  reads: { poster: boolean; overview: boolean };
  /** The part its models play beside others. */
  role: ModelRole;
  /**
   * The notebook that trains it (none: only `npm run train` does) and the `npm run train` model, for the message that
   * names a missing model.
   */
  trainedBy: { notebook?: string; command: string };
  /** Its settings at each preset. */
  presets: Record<PresetName, S>;
  /** What `npm run tune` and notebook 08 search when no space is given (none: a space must be given). */
  tuneSpace?: SearchSpace;
  /** Its rank among the models that explanations across films use (none: they do not use it). */
  evidence?: EvidenceRanks;
  /**
   * Whether its k models of a cross-validation cost real time (a poster CNN or a BiLSTM each): cross-validated only
   * when asked with acceptCost, the time it will take said first.
   */
  costlyToCrossValidate?: boolean;
  /** The dataset, split, inputs, model and loss of a run with these settings. */
  prepare(settings: S, context: RunContext): Promise<PreparedRun<S, I>>;
  /** The folder's files this model needs besides info.json and the weights, with what they hold. */
  requiredFiles(info: I): { file: string; what: string }[];
  /** Checks (and completes, for folders written before a field existed) the kind's own info fields; throws naming the key. */
  checkInfo(info: I, file: string): void;
  /** The pretrained encoders its film inputs need (loaded once by the caller for many films). */
  encoders?(info: I): { image?: number; sentence?: boolean };
  /** Its inputs for dataset rows (batched prediction). */
  rowInputs(trained: TrainedModel<I>, dataset: Dataset, rows: readonly number[], options: RowInputOptions): Promise<RowInputs>;
  /** Its inputs for films given as raw data (one film's prediction; the variants of an explanation). */
  filmInputs(trained: TrainedModel<I>, films: readonly RawFilm[], encoders: Encoders): Promise<tf.Tensor | tf.Tensor[]>;
}

export interface RowInputOptions {
  cacheDir: string;
  log: (line: string) => void;
}

/** The film's poster, for a kind that reads posters (an error naming what is missing otherwise). */
export function filmPoster(film: RawFilm): DecodedPoster {
  if (film.poster === undefined) throw new WorkbookError("this model reads the film's poster: give it");
  return film.poster;
}

/** The film's overview, for a kind that reads overviews. */
export function filmOverview(film: RawFilm): string {
  if (film.overview === undefined) throw new WorkbookError("this model reads the film's overview: give it");
  return film.overview;
}
