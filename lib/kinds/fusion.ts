/**
 * The joint poster + overview model of notebook 05: the coursework CNN's poster branch and an overview branch
 * (the BiLSTM's, or a Dense layer on the TF-IDF), fused by a gated multimodal unit (or concatenation).
 */
import { createHash } from "node:crypto";
import type * as tf from "@tensorflow/tfjs";
import { augmentTrainingData } from "../data/augment";
import { OverviewEncoder, TrainingData, decodedPosterTensor, fusionTrainingData, overviewInputs } from "../data/batches";
import type { Film } from "../data/dataset";
import { loadFilmPosters } from "../data/posters";
import { LoadedSplit, sameSplit } from "../data/split";
import { TextVectorizer } from "../data/text";
import { TFIDF_DEFAULTS, TfidfVectorizer } from "../data/tfidf";
import {
  ModelInfoBase,
  TFIDF_JSON,
  TrainedModel,
  VOCABULARY_JSON,
  loadTrainedModel,
  modelDir,
  overviewEncoder,
  sharedSplit,
} from "../models/model-folder";
import { OverviewBranch, buildFusionModel, formatInitialiseReport, initialiseFromTrained } from "../models/fusion";
import { WorkbookError } from "../runtime/errors";
import { withSeededMathRandomSync } from "../runtime/random";
import { CNN_KIND, DEFAULT_IMAGE_SIZE, posterRowInputs } from "./cnn";
import { KindSpec, RunContext, filmOverview, filmPoster } from "./kind";
import { LSTM_KIND } from "./lstm";
import { FUSION_PRESETS, FusionSettings, trainingSeed } from "./presets";
import { configuredLoss, preparedRun, runInfo, startRun, trainingOverviews } from "./runs";

export interface FusionInfo extends ModelInfoBase {
  kind: "fusion";
  /** Posters are imageSize x imageSize. */
  imageSize: number;
  /** A fixed sequence length of the BiLSTM branch, or undefined for batches padded to their longest overview. */
  sequenceLength?: number;
  /** How the model reads the overview: 'lstm' (undefined), token ids with vocabulary.json; 'tfidf', tfidf.json. */
  overviewBranch?: OverviewBranch;
  /** The trained branches it started from (start 'trained'); absent when it started from scratch. */
  branches?: BranchRecord[];
}

/** What a joint model records about a trained branch it started from (info.json `branches`). */
export interface BranchRecord {
  dir: string;
  kind: "cnn" | "lstm";
  /** When that branch's run started (its info.json), which tells its runs apart. */
  started: string;
  /**
   * Its training films: how many, and a SHA-256 of their sorted Ids (equal to this model's own when the splits
   * match); absent when its folder does not record them (an older version trained it; a warning said so).
   */
  trainFilms?: number;
  trainIdsSha256?: string;
}

/** SHA-256 of sorted film Ids, one a line: a short stand-in for a split's side that can be compared. */
export function idsFingerprint(ids: readonly string[]): string {
  return createHash("sha256")
    .update([...ids].sort().join("\n"))
    .digest("hex");
}

/**
 * The trained single model a joint model starts from (the folder given, or the preset's): refused when it is
 * not of that kind, or when any of its training films is one of the joint model's validation films (its
 * validation figures would be inflated). The Ids are compared, not only the split settings: the same seed on a
 * CSV in another order or with other rows gives another split.
 */
async function trainedBranch(
  kind: "cnn" | "lstm",
  settings: FusionSettings,
  context: RunContext,
  loaded: LoadedSplit,
  log: (line: string) => void,
): Promise<TrainedModel> {
  const spec = kind === "cnn" ? CNN_KIND : LSTM_KIND;
  const given = context.branchDirs?.[kind];
  const notebook = spec.trainedBy.notebook;
  const dir = given ?? modelDir(context.paths.outDir, context.preset, kind);
  const how = given
    ? `the ${kind.toUpperCase()} in ${given}`
    : `the ${kind.toUpperCase()} trained at preset ${context.preset} (${notebook === undefined ? "" : `notebook ${notebook.slice(0, 2)} or `}'npm run train -- ${kind} --preset ${context.preset}', or give its folder with --${kind})`;
  let trained: TrainedModel;
  try {
    trained = await loadTrainedModel(dir);
  } catch (e) {
    throw new WorkbookError(`start 'trained' needs ${how}, or set start: 'scratch'. ${(e as Error).message}`);
  }
  if (trained.info.kind !== kind) {
    throw new WorkbookError(`start 'trained' needs ${how}, but ${dir} holds a ${trained.info.kind} model, not a ${kind} model`);
  }
  if (!sameSplit(sharedSplit([trained]), settings)) {
    throw new WorkbookError(
      `the trained ${kind.toUpperCase()} in ${dir} used a different split (seed, validation fraction or film subset) than these settings: its validation films would leak into training`,
    );
  }
  const branchTraining = trained.info.dataset.trainIds;
  if (branchTraining === undefined) {
    log(
      `warning: the trained ${kind.toUpperCase()} in ${dir} does not record its training films (info.json dataset.trainIds; an older version trained it), so only its split settings could be checked; train it again to have its films checked`,
    );
    return trained;
  }
  const training = new Set(branchTraining);
  const validationIds = loaded.split.validation.map((r) => (loaded.dataset.films[r] as Film).id);
  const leaked = validationIds.filter((id) => training.has(id));
  if (leaked.length > 0) {
    throw new WorkbookError(
      `${leaked.length} of this joint model's ${validationIds.length} validation films were training films of the ${kind.toUpperCase()} in ${dir} ` +
        `(${leaked.slice(0, 5).join(", ")}${leaked.length > 5 ? ", ..." : ""}): its validation figures would be inflated. ` +
        `The ${kind.toUpperCase()} was trained on another split of the films (another dataset folder, or its rows in another order); train it on this dataset with the same preset, or set start: 'scratch'`,
    );
  }
  return trained;
}

/** The trained single models a joint model starts from: the CNN, and the LSTM unless the overview branch is 'tfidf' (that one starts from scratch). */
async function trainedBranches(
  overviewBranch: OverviewBranch,
  settings: FusionSettings,
  context: RunContext,
  loaded: LoadedSplit,
  log: (line: string) => void,
): Promise<{ cnn: TrainedModel; lstm?: TrainedModel }> {
  const cnn = await trainedBranch("cnn", settings, context, loaded, log);
  return overviewBranch === "lstm" ? { cnn, lstm: await trainedBranch("lstm", settings, context, loaded, log) } : { cnn };
}

/** How the joint model reads the overview: a TF-IDF fitted on the training overviews, or a vocabulary (the trained LSTM's, else adapted). */
function jointOverviewEncoder(
  overviewBranch: OverviewBranch,
  settings: FusionSettings,
  branches: { lstm?: TrainedModel } | undefined,
  loaded: LoadedSplit,
  log: (line: string) => void,
): { vectorizer?: TextVectorizer; tfidf?: TfidfVectorizer } {
  if (overviewBranch === "tfidf") {
    const tfidf = TfidfVectorizer.fit(trainingOverviews(loaded), TFIDF_DEFAULTS);
    log(
      `overview branch: TF-IDF of unigrams and bigrams, ${tfidf.features} terms (in >= ${tfidf.minDf} training overviews) -> Dense(relu), from scratch`,
    );
    return { tfidf };
  }
  return { vectorizer: branches?.lstm?.vectorizer ?? TextVectorizer.adapt(trainingOverviews(loaded), { maxTokens: settings.maxTokens }) };
}

/** The joint model's batches: the films with a usable poster (the others said in a line), augmented when the settings ask. */
async function jointTrainingData(
  settings: FusionSettings,
  context: RunContext,
  loaded: LoadedSplit,
  encoder: OverviewEncoder,
  log: (line: string) => void,
): Promise<TrainingData> {
  const posters = await loadFilmPosters(loaded.dataset.films, { size: settings.imageSize, cacheDir: context.paths.cacheDir, log });
  const fusionData = fusionTrainingData(loaded.dataset, posters, encoder, loaded.split, settings.sequenceLength);
  if (fusionData.excluded.length > 0)
    log(`${fusionData.excluded.length} film(s) without a usable poster left out: ${fusionData.excluded.slice(0, 10).join(", ")}`);
  return settings.augment ? augmentTrainingData(fusionData, { seed: trainingSeed(settings), posterInput: 0 }) : fusionData;
}

function branchRecord(kind: "cnn" | "lstm", trained: TrainedModel): BranchRecord {
  const trainIds = trained.info.dataset.trainIds;
  const record: BranchRecord = { dir: trained.dir, kind, started: trained.info.started };
  return trainIds ? { ...record, trainFilms: trainIds.length, trainIdsSha256: idsFingerprint(trainIds) } : record;
}

export const FUSION_KIND: KindSpec<FusionInfo, FusionSettings> = {
  id: "fusion",
  title: "joint (notebook 05)",
  describe: (info) => `joint (${String(info.settings["fusion"] ?? "gmu").toUpperCase()})`,
  reads: { poster: true, overview: true },
  role: "joint",
  trainedBy: { notebook: "05-fusion", command: "fusion" },
  presets: FUSION_PRESETS,
  // the settings that moved the validation loss most while the presets were chosen (docs/results.md), around them
  tuneSpace: {
    learningRate: { logRange: [1e-4, 3e-3] },
    fusion: { choice: ["gmu", "concat"] },
    units: { choice: [64, 128, 256] },
  },
  // the joint GMU model reads overviews better than the LSTM, and posters after the CNN
  evidence: { words: 3, posters: 2 },
  // a poster CNN and a BiLSTM (or TF-IDF trunk) per fold
  costlyToCrossValidate: true,

  /**
   * The same split as the single models; with start 'trained' the branches (and the vocabulary) come from the
   * CNN and LSTM trained at the same preset (or the folders given), which must exist.
   */
  async prepare(settings, context) {
    const start = await startRun(settings, context, "fusion");
    const { loaded, log } = start;
    const overviewBranch = settings.overviewBranch ?? "lstm";
    const branches = settings.start === "trained" ? await trainedBranches(overviewBranch, settings, context, loaded, log) : undefined;
    const { vectorizer, tfidf } = jointOverviewEncoder(overviewBranch, settings, branches, loaded, log);
    const data = await jointTrainingData(settings, context, loaded, (tfidf ?? vectorizer) as OverviewEncoder, log);
    const model = withSeededMathRandomSync(trainingSeed(settings), () =>
      buildFusionModel({
        fusion: settings.fusion,
        units: settings.units,
        imageSize: settings.imageSize,
        overviewBranch,
        ...(vectorizer ? { vocabularySize: vectorizer.vocabularySize() } : {}),
        ...(tfidf ? { tfidfFeatures: tfidf.features } : {}),
        genres: loaded.dataset.genres.length,
        branches: settings.branches,
        seed: trainingSeed(settings),
      }),
    );
    if (branches) {
      const report = initialiseFromTrained(model, branches.cnn, branches.lstm, { freezeBranches: settings.freezeBranches ?? false });
      log(formatInitialiseReport(report));
    }
    const info: FusionInfo = { ...runInfo("fusion", settings, start, context), imageSize: settings.imageSize, overviewBranch };
    if (branches) {
      info.branches = [branchRecord("cnn", branches.cnn), ...(branches.lstm ? [branchRecord("lstm", branches.lstm)] : [])];
    }
    if (settings.sequenceLength !== undefined) info.sequenceLength = settings.sequenceLength;
    const loss = configuredLoss(settings, loaded, log);
    // the file the overview's encoder is written to: vocabulary.json or tfidf.json
    const overviewFile = { ...(vectorizer ? { vectorizer } : {}), ...(tfidf ? { tfidf } : {}) };
    return preparedRun(start, "fusion", { model, data, settings, info, loss, ...overviewFile });
  },

  requiredFiles: (info) =>
    info.overviewBranch === "tfidf" ? [{ file: TFIDF_JSON, what: "TF-IDF vocabulary" }] : [{ file: VOCABULARY_JSON, what: "vocabulary" }],

  checkInfo(info) {
    info.imageSize ??= DEFAULT_IMAGE_SIZE;
  },

  async rowInputs(trained, dataset, rows, options) {
    const posters = await posterRowInputs(dataset, rows, trained.info.imageSize, options);
    const overviews = overviewInputs(
      overviewEncoder(trained),
      posters.rows.map((r) => (dataset.films[r] as Film).overview),
      trained.info.sequenceLength,
    );
    return { ...posters, inputs: (indices): tf.Tensor[] => [posters.inputs(indices), overviews(indices)] };
  },

  async filmInputs(trained, films) {
    const texts = films.map(filmOverview);
    return [
      decodedPosterTensor(films.map(filmPoster), trained.info.imageSize),
      overviewInputs(overviewEncoder(trained), texts, trained.info.sequenceLength)(texts.map((_, i) => i)),
    ];
  },
};
