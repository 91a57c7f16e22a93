/**
 * The training runs shared by notebooks 02/03/05 and `npm run train`: the data preparation (dataset, seeded
 * split, inputs), the model, the loss, and the model folder they write.
 */
import * as tf from "@tensorflow/tfjs";
import { augmentTrainingData } from "../data/augment";
import {
  MakeBatch,
  OverviewEncoder,
  TrainingData,
  featureInputs,
  featureTrainingData,
  fusionTrainingData,
  overviewTrainingData,
  posterTrainingData,
} from "../data/batches";
import {
  Dataset,
  Split,
  describeProblems,
  filmOverviews,
  labelMatrix,
  labelTensor,
  loadDataset,
  splitTrainValidation,
  subsetDataset,
} from "../data/dataset";
import { loadFilmPosters } from "../data/posters";
import { TextVectorizer } from "../data/text";
import { TFIDF_DEFAULTS, TfidfVectorizer } from "../data/tfidf";
import { orderByLength, predictBatches, predictInOrder } from "../eval/inference";
import { tuneThresholds } from "../eval/metrics";
import { readModelJson, fileSaveHandler } from "../models/checkpoint";
import { buildCnn, buildLstm } from "../models/coursework";
import {
  ModelInfo,
  ModelKind,
  TrainedModel,
  finishRunFolder,
  loadTrainedModel,
  modelDir,
  publishRun,
  saveInfo,
  saveThresholds,
  startRunFolder,
  writeRunFiles,
} from "../models/folder";
import { buildFusionModel, formatInitialiseReport, initialiseFromTrained } from "../models/fusion";
import { PosterBranchShape, TextBranchShape, buildPosterHead, buildPretrainedJointModel, buildTextHead } from "../models/pretrained";
import { FilmFeatures, overviewFeatures, posterFeatures } from "../encoders/features";
import { BackendInfo, describeBackend, ensureBackend } from "../runtime/backend";
import type { PresetName, WorkbookPaths } from "../runtime/config";
import { sample, seededRandom, withSeededMathRandomSync } from "../runtime/random";
import { ProgressReporter, silentProgress } from "./progress";
import type { TrainingHistory } from "../models/history";
import { ConfiguredLoss, LossFunction, correctOutputLayer, correctedBinaryCrossentropy, lossFromConfig } from "../models/losses";
import { CnnSettings, FusionSettings, LstmSettings, PretrainedSettings, RunSettings } from "./presets";
import { stopOnSigint, trainModel } from "./trainer";
import { WorkbookError } from "../runtime/errors";

/** What decides the films of a run and its split (every run settings object has them). */
export type SplitSettings = Pick<RunSettings, "seed" | "validationFraction" | "films">;

export interface LoadedSplit {
  dataset: Dataset;
  split: Split;
}

/** Loads the dataset (reporting its problems), takes the settings' film subset, and splits it 80/20. */
export function loadSplitDataset(dataDir: string, settings: SplitSettings, log: (line: string) => void = console.log): LoadedSplit {
  const full = loadDataset(dataDir);
  log(describeProblems(full, 10));
  return splitDataset(full, settings, log);
}

/** The settings' seeded film subset of a loaded dataset (when `films` is set), split 80/20 with the settings' seed. */
export function splitDataset(full: Dataset, settings: SplitSettings, log: (line: string) => void = console.log): LoadedSplit {
  let dataset = full;
  if (settings.films !== undefined && settings.films < full.films.length) {
    const rows = sample(
      full.films.map((_, i) => i),
      settings.films,
      seededRandom(settings.seed),
    ).sort((a, b) => a - b);
    dataset = subsetDataset(full, rows);
    log(`using a seeded random subset of ${dataset.films.length} of the ${full.films.length} films`);
  }
  const split = splitTrainValidation(dataset.films.length, settings.seed, settings.validationFraction);
  log(`split (seed ${split.seed}): ${split.train.length} training films, ${split.validation.length} validation films`);
  return { dataset, split };
}

interface RunBase {
  /** The model folder (what later notebooks and commands load); each training run gets its own folder beside it. */
  dir: string;
  /** After trainRun: this run's own folder (`<dir>.runs/<run id>`), when it kept a checkpoint. */
  runDir?: string;
  model: tf.LayersModel;
  data: TrainingData;
  dataset: Dataset;
  split: Split;
  info: ModelInfo;
  /** The loss used, with a one-line description for the notebook. */
  loss: ConfiguredLoss;
}

/** The poster CNN's run, prepared and ready to train. */
export interface CnnRun extends RunBase {
  kind: "cnn";
  settings: CnnSettings;
}

/** The overview LSTM's run: its vocabulary is adapted on the training overviews. */
export interface LstmRun extends RunBase {
  kind: "lstm";
  settings: LstmSettings;
  vectorizer: TextVectorizer;
}

/** The joint model's run: the overview is read through the vocabulary ('lstm' branch) or the TF-IDF ('tfidf'). */
export interface FusionRun extends RunBase {
  kind: "fusion";
  settings: FusionSettings;
  vectorizer?: TextVectorizer;
  /** The 'tfidf' overview branch: its TF-IDF, fitted on the training overviews. */
  tfidf?: TfidfVectorizer;
}

/** The joint model on pretrained features: the films' USE-lite and MobileNetV2 features, extracted and cached. */
export interface PretrainedRun extends RunBase {
  kind: "pretrained";
  settings: PretrainedSettings;
  features: { overview: FilmFeatures; poster: FilmFeatures };
  /** When settings.tfidf: the TF-IDF beside USE, fitted on the training overviews. */
  tfidf?: TfidfVectorizer;
}

export type TrainingRun = CnnRun | LstmRun | FusionRun | PretrainedRun;

export interface RunContext {
  paths: WorkbookPaths;
  preset: PresetName;
  /** The active backend, recorded in info.json (default: ensureBackend()'s, which also activates one). */
  backend?: BackendInfo;
  /** Model folder (default out/models/<preset>/<kind>). */
  dir?: string;
  /** The joint model's trained branches (default: the CNN and LSTM folders of the same preset). */
  branchDirs?: { cnn?: string; lstm?: string };
  log?: (line: string) => void;
}

function runInfo(kind: ModelKind, settings: RunSettings, loaded: LoadedSplit, context: RunContext, backend: BackendInfo): ModelInfo {
  return {
    kind,
    genres: loaded.dataset.genres,
    preset: context.preset,
    settings: { ...settings },
    dataset: {
      dir: context.paths.dataDir,
      films: loaded.dataset.films.length,
      trainFilms: loaded.split.train.length,
      validationFilms: loaded.split.validation.length,
      seed: loaded.split.seed,
      trainIds: loaded.split.train.map((r) => (loaded.dataset.films[r] as { id: string }).id),
      validationIds: loaded.split.validation.map((r) => (loaded.dataset.films[r] as { id: string }).id),
    },
    backend: describeBackend(backend),
    started: new Date().toISOString(),
  };
}

/** The poster CNN's run: dataset, split, preprocessed posters (cached), the model. */
export async function prepareCnnRun(settings: CnnSettings, context: RunContext): Promise<CnnRun> {
  const backend = context.backend ?? (await ensureBackend());
  const log = context.log ?? console.log;
  const loaded = loadSplitDataset(context.paths.dataDir, settings, log);
  const posters = await loadFilmPosters(loaded.dataset.films, { size: settings.imageSize, cacheDir: context.paths.cacheDir, log });
  const posterData = posterTrainingData(loaded.dataset, posters, loaded.split);
  if (posterData.excluded.length > 0)
    log(`${posterData.excluded.length} film(s) without a usable poster left out: ${posterData.excluded.slice(0, 10).join(", ")}`);
  const data = settings.augment ? augmentTrainingData(posterData, { seed: settings.seed }) : posterData;
  if (settings.augment)
    log("training posters augmented: random horizontal flip, brightness and contrast jitter (seeded; validation untouched)");
  const model = buildCnn({ imageSize: settings.imageSize, genres: loaded.dataset.genres.length, seed: settings.seed });
  const info: ModelInfo = { ...runInfo("cnn", settings, loaded, context, backend), imageSize: settings.imageSize };
  const loss = configuredLoss(settings, loaded, log);
  return {
    kind: "cnn",
    dir: context.dir ?? modelDir(context.paths.outDir, context.preset, "cnn"),
    model,
    data,
    settings,
    info,
    loss,
    ...loaded,
  };
}

/** The overview LSTM's run: dataset, split, vocabulary adapted on the training overviews, the model. */
export async function prepareLstmRun(settings: LstmSettings, context: RunContext): Promise<LstmRun> {
  const backend = context.backend ?? (await ensureBackend());
  const log = context.log ?? console.log;
  const loaded = loadSplitDataset(context.paths.dataDir, settings, log);
  const trainingTexts = loaded.split.train.map((r) => loaded.dataset.films[r]!.overview);
  const config =
    settings.sequenceLength === undefined
      ? { maxTokens: settings.maxTokens }
      : { maxTokens: settings.maxTokens, sequenceLength: settings.sequenceLength };
  const vectorizer = TextVectorizer.adapt(trainingTexts, config);
  log(`vocabulary: ${vectorizer.vocabularySize()} entries (max ${settings.maxTokens}), adapted on the training overviews`);
  const data = overviewTrainingData(loaded.dataset, vectorizer, loaded.split, settings.sequenceLength);
  // The LSTM kernels are unseeded (see models/branches.ts): a seeded Math.random makes them reproducible.
  const model = withSeededMathRandomSync(settings.seed, () =>
    buildLstm({
      vocabularySize: vectorizer.vocabularySize(),
      genres: loaded.dataset.genres.length,
      sequenceLength: settings.sequenceLength,
    }),
  );
  const info: ModelInfo = { ...runInfo("lstm", settings, loaded, context, backend) };
  if (settings.sequenceLength !== undefined) info.sequenceLength = settings.sequenceLength;
  const loss = configuredLoss(settings, loaded, log);
  return {
    kind: "lstm",
    dir: context.dir ?? modelDir(context.paths.outDir, context.preset, "lstm"),
    model,
    data,
    settings,
    info,
    vectorizer,
    loss,
    ...loaded,
  };
}

function configuredLoss(settings: RunSettings, loaded: LoadedSplit, log: (line: string) => void): ConfiguredLoss {
  const loss = lossFromConfig(settings.loss ?? { kind: "bce" }, loaded.dataset.labels, loaded.dataset.genres, loaded.split.train);
  log(`loss: ${loss.description}`);
  return loss;
}

/**
 * The joint poster + overview run: the same split as the single models; with start 'trained' the branches
 * (and the vocabulary) come from the CNN and LSTM trained at the same preset, which must exist.
 */
export async function prepareFusionRun(settings: FusionSettings, context: RunContext): Promise<FusionRun> {
  const backend = context.backend ?? (await ensureBackend());
  const log = context.log ?? console.log;
  const loaded = loadSplitDataset(context.paths.dataDir, settings, log);
  const overviewBranch = settings.overviewBranch ?? "lstm";
  let branches: { cnn: TrainedModel; lstm?: TrainedModel } | undefined;
  if (settings.start === "trained") {
    const load = async (kind: "cnn" | "lstm") => {
      const given = context.branchDirs?.[kind];
      const dir = given ?? modelDir(context.paths.outDir, context.preset, kind);
      try {
        return await loadTrainedModel(dir);
      } catch (e) {
        const how = given
          ? `the ${kind.toUpperCase()} in ${given}`
          : `the ${kind.toUpperCase()} trained at preset ${context.preset} (notebook ${kind === "cnn" ? "02" : "03"} or 'npm run train -- ${kind} --preset ${context.preset}', or give its folder with --${kind})`;
        throw new WorkbookError(`start 'trained' needs ${how}, or set start: 'scratch'. ${(e as Error).message}`);
      }
    };
    // the 'tfidf' overview branch starts from scratch: only the CNN is needed
    branches = overviewBranch === "lstm" ? { cnn: await load("cnn"), lstm: await load("lstm") } : { cnn: await load("cnn") };
    const trainedOn = sharedRunSettings(branches.lstm ? [branches.cnn, branches.lstm] : [branches.cnn]);
    if (
      trainedOn.seed !== settings.seed ||
      trainedOn.validationFraction !== settings.validationFraction ||
      (trainedOn.films ?? null) !== (settings.films ?? null)
    ) {
      throw new WorkbookError(
        `the trained ${branches.lstm ? "CNN and LSTM" : "CNN"} used a different split (seed, validation fraction or film subset) than these settings: their validation films would leak into training`,
      );
    }
  }
  const trainingTexts = loaded.split.train.map((r) => loaded.dataset.films[r]!.overview);
  let vectorizer: TextVectorizer | undefined;
  let tfidf: TfidfVectorizer | undefined;
  if (overviewBranch === "tfidf") {
    tfidf = TfidfVectorizer.fit(trainingTexts, TFIDF_DEFAULTS);
    log(
      `overview branch: TF-IDF of unigrams and bigrams, ${tfidf.features} terms (in >= ${tfidf.minDf} training overviews) -> Dense(relu), from scratch`,
    );
  } else {
    vectorizer = branches?.lstm?.vectorizer ?? TextVectorizer.adapt(trainingTexts, { maxTokens: settings.maxTokens });
  }
  const encoder = (tfidf ?? vectorizer) as OverviewEncoder;
  const posters = await loadFilmPosters(loaded.dataset.films, { size: settings.imageSize, cacheDir: context.paths.cacheDir, log });
  const fusionData = fusionTrainingData(loaded.dataset, posters, encoder, loaded.split, settings.sequenceLength);
  if (fusionData.excluded.length > 0)
    log(`${fusionData.excluded.length} film(s) without a usable poster left out: ${fusionData.excluded.slice(0, 10).join(", ")}`);
  const data = settings.augment ? augmentTrainingData(fusionData, { seed: settings.seed, posterInput: 0 }) : fusionData;
  const model = withSeededMathRandomSync(settings.seed, () =>
    buildFusionModel({
      fusion: settings.fusion,
      units: settings.units,
      imageSize: settings.imageSize,
      overviewBranch,
      ...(vectorizer ? { vocabularySize: vectorizer.vocabularySize() } : {}),
      ...(tfidf ? { tfidfFeatures: tfidf.features } : {}),
      genres: loaded.dataset.genres.length,
      branches: settings.branches,
      seed: settings.seed,
    }),
  );
  if (branches) {
    const report = initialiseFromTrained(model, branches.cnn, branches.lstm, { freezeBranches: settings.freezeBranches ?? false });
    log(formatInitialiseReport(report));
  }
  const info: ModelInfo = { ...runInfo("fusion", settings, loaded, context, backend), imageSize: settings.imageSize, overviewBranch };
  if (settings.sequenceLength !== undefined) info.sequenceLength = settings.sequenceLength;
  const loss = configuredLoss(settings, loaded, log);
  const dir = context.dir ?? modelDir(context.paths.outDir, context.preset, "fusion");
  return {
    kind: "fusion",
    dir,
    model,
    data,
    settings,
    info,
    ...(vectorizer ? { vectorizer } : {}),
    ...(tfidf ? { tfidf } : {}),
    loss,
    ...loaded,
  };
}

/**
 * The joint model on pretrained features: the same split as every other run; the films' USE-lite and
 * MobileNetV2 features come from the feature cache (extracted now, once, when missing).
 */
export async function preparePretrainedRun(settings: PretrainedSettings, context: RunContext): Promise<PretrainedRun> {
  const backend = context.backend ?? (await ensureBackend());
  const log = context.log ?? console.log;
  const loaded = loadSplitDataset(context.paths.dataDir, settings, log);
  const films = loaded.dataset.films;
  const cacheDir = context.paths.cacheDir;
  const features = {
    overview: await overviewFeatures(films, { cacheDir, log }),
    poster: await posterFeatures(films, { cacheDir, size: settings.posterSize, log }),
  };
  let tfidf: TfidfVectorizer | undefined;
  if (settings.tfidf) {
    tfidf = TfidfVectorizer.fit(filmOverviews(loaded.dataset, loaded.split.train), TFIDF_DEFAULTS);
    log(`text branch: USE-lite beside the TF-IDF of unigrams and bigrams (${tfidf.features} terms, fitted on the training overviews)`);
  }
  const data = featureTrainingData(loaded.dataset, loaded.split, [features.poster, features.overview], tfidf);
  if (data.excluded.length > 0)
    log(`${data.excluded.length} film(s) without poster features left out: ${data.excluded.slice(0, 10).join(", ")}`);
  const model = buildPretrainedJointModel({
    ...pretrainedShape(settings, features, tfidf),
    fusion: settings.fusion,
    units: settings.units,
    dropout: settings.dropout,
    genres: loaded.dataset.genres.length,
    seed: settings.seed,
  });
  const info: ModelInfo = {
    ...runInfo("pretrained", settings, loaded, context, backend),
    encoders: { overview: features.overview.encoder, poster: features.poster.encoder },
    tfidf: settings.tfidf,
  };
  const loss = configuredLoss(settings, loaded, log);
  const dir = context.dir ?? modelDir(context.paths.outDir, context.preset, "pretrained");
  return { kind: "pretrained", dir, model, data, settings, info, features, ...(tfidf ? { tfidf } : {}), loss, ...loaded };
}

/** The branch shapes of a pretrained run's models (the joint model and its heads share them). */
function pretrainedShape(
  settings: PretrainedSettings,
  features: { overview: FilmFeatures; poster: FilmFeatures },
  tfidf: TfidfVectorizer | undefined,
): TextBranchShape & PosterBranchShape {
  return {
    overviewFeatures: features.overview.dims,
    ...(tfidf ? { tfidfFeatures: tfidf.features } : {}),
    text: settings.text,
    tfidfUnits: settings.tfidfUnits,
    posterFeatures: features.poster.dims,
    poster: settings.poster,
  };
}

/** trainModel's validationLoss for the run's settings (selection on the corrected probabilities' BCE). */
function selectionLoss(run: TrainingRun): { validationLoss?: LossFunction } {
  const selectOn = run.kind === "pretrained" ? run.settings.selectOn : "loss";
  if (selectOn !== "corrected-bce" || !run.loss.correction) return {};
  return { validationLoss: correctedBinaryCrossentropy(run.loss.correction) };
}

/** One branch of a pretrained run trained alone, on the same films, loss and selection as the joint model. */
export interface HeadResult {
  head: "text" | "poster";
  /** e.g. "text head (USE-lite)", "poster head (MobileNetV2 at 160)". */
  name: string;
  model: tf.LayersModel;
  history: TrainingHistory;
  /** Probabilities on the run's validation films (run.data.validation), row-major, corrected like the joint model's. */
  probabilities: Float32Array;
  /** Ids of those films, in order. */
  ids: string[];
  seconds: number;
}

/**
 * Trains the text head (the joint model's text branch + an output layer) or the poster head on the run's
 * training films, with the run's loss, correction and epoch selection: what the joint model would be with
 * one side only. Not saved to a folder.
 */
export async function trainPretrainedHead(
  run: PretrainedRun,
  head: "text" | "poster",
  options: { progress?: ProgressReporter } = {},
): Promise<HeadResult> {
  const started = performance.now();
  const shape = pretrainedShape(run.settings, run.features, run.tfidf);
  const genres = run.dataset.genres.length;
  const model =
    head === "text"
      ? buildTextHead(shape, { genres, seed: run.settings.seed })
      : buildPosterHead(shape, { genres, seed: run.settings.seed });
  const inputs =
    head === "text" ? featureInputs(run.dataset, [run.features.overview], run.tfidf) : featureInputs(run.dataset, [run.features.poster]);
  const makeBatch: MakeBatch = (rows) => {
    const x = inputs.inputs(rows);
    return { inputs: x.length === 1 ? (x[0] as tf.Tensor) : x, labels: labelTensor(run.dataset, rows) };
  };
  const data: TrainingData = { train: run.data.train, validation: run.data.validation, makeBatch };
  const interrupt = await stopOnSigint();
  let history: TrainingHistory;
  try {
    history = await trainModel(model, data, {
      epochs: run.settings.epochs,
      batchSize: run.settings.batchSize,
      learningRate: run.settings.learningRate,
      seed: run.settings.seed,
      loss: run.loss.loss,
      ...selectionLoss(run),
      ...(run.settings.earlyStoppingPatience === undefined ? {} : { earlyStoppingPatience: run.settings.earlyStoppingPatience }),
      progress: options.progress ?? silentProgress(),
      shouldStop: interrupt.shouldStop,
    });
  } finally {
    interrupt.release();
  }
  if (run.loss.correction && history.bestEpoch > 0) correctOutputLayer(model, run.loss.correction);
  const rows = run.data.validation;
  const probabilities = await predictBatches(model, rows.length, (start, end) => makeBatch(rows.slice(start, end)).inputs);
  const ids = rows.map((r) => (run.dataset.films[r] as { id: string }).id);
  const name =
    head === "text" ? `text head (USE-lite${run.tfidf ? " + TF-IDF" : ""})` : `poster head (MobileNetV2 at ${run.settings.posterSize})`;
  return { head, name, model, history, probabilities, ids, seconds: (performance.now() - started) / 1000 };
}

const trainedRuns = new WeakSet<TrainingRun>();

function runFunction(kind: ModelKind): string {
  return { cnn: "Cnn", lstm: "Lstm", fusion: "Fusion", pretrained: "Pretrained" }[kind];
}

/** The settings of `prepared` whose values differ in `current` ("learningRate 0.001 -> 0.0001"). */
function changedSettings(prepared: object, current: object): string[] {
  const now = current as Record<string, unknown>;
  return Object.entries(prepared)
    .filter(([key, value]) => key in now && JSON.stringify(value) !== JSON.stringify(now[key]))
    .map(([key, value]) => `${key} ${JSON.stringify(value)} -> ${JSON.stringify(now[key])}`);
}

/**
 * Trains the run's model. Everything goes into the run's own folder, `<dir>.runs/<run id>/`: info.json (and
 * the vocabulary or TF-IDF) first, model.json + weights at each new best val_loss, history.json after every
 * epoch, info.json again at the end with the best epoch, and thresholds.json (per-genre thresholds tuned on
 * the validation split, for evaluation elsewhere). The model folder `dir` that later notebooks use is
 * switched to this run's folder, at once, when its first checkpoint is written: until then it holds the
 * previous model, whole, and a run that is interrupted before then leaves nothing behind. A lock refuses a
 * second run into the same model folder while this one trains.
 */
export async function trainRun(
  run: TrainingRun,
  options: {
    progress?: ProgressReporter;
    shouldStop?: () => boolean;
    log?: (line: string) => void;
    /**
     * The settings as they are now (a notebook's config): training is refused when they differ from those
     * the run was prepared with, since the model, the data and the loss were built from those.
     */
    config?: object;
  } = {},
): Promise<TrainingHistory> {
  const log = options.log ?? console.log;
  if (options.config) {
    const changed = changedSettings(run.settings, options.config);
    if (changed.length > 0) {
      throw new WorkbookError(
        `the configuration changed since the run was prepared (${changed.join("; ")}): run the cell that prepares it ` +
          `(prepare${runFunction(run.kind)}Run) again, so that the model, the data and the loss follow the new settings`,
      );
    }
  }
  if (trainedRuns.has(run)) {
    throw new WorkbookError(
      `this run has been trained already, and its model holds the trained weights: to train again from fresh weights, run the cell that prepares it (prepare${runFunction(run.kind)}Run) first`,
    );
  }
  trainedRuns.add(run);
  // Without a caller's own stop signal, an interrupt (Ctrl-C, or the notebook's interrupt button, which sends
  // SIGINT to the kernel) stops after the current batch and keeps the best checkpoint.
  const interrupt = options.shouldStop ? undefined : await stopOnSigint(log);
  const folder = await startRunFolder(run.dir, log).catch((error: unknown) => {
    interrupt?.release();
    throw error;
  });
  log(`training run ${folder.id}, in ${folder.dir}`);
  let published = false;
  try {
    await writeRunFiles(folder.dir, {
      info: run.info,
      ...((run.kind === "lstm" || run.kind === "fusion") && run.vectorizer ? { vectorizer: run.vectorizer } : {}),
      ...((run.kind === "fusion" || run.kind === "pretrained") && run.tfidf ? { tfidf: run.tfidf } : {}),
    });
    const history = await trainModel(run.model, run.data, {
      epochs: run.settings.epochs,
      batchSize: run.settings.batchSize,
      bucketByLength: "bucketByLength" in run.settings && run.settings.bucketByLength === true,
      learningRate: run.settings.learningRate,
      seed: run.settings.seed,
      loss: run.loss.loss,
      ...selectionLoss(run),
      checkpointDir: folder.dir,
      onCheckpoint: async () => {
        if (published) return;
        await publishRun(folder);
        published = true;
      },
      ...(run.settings.earlyStoppingPatience === undefined ? {} : { earlyStoppingPatience: run.settings.earlyStoppingPatience }),
      ...(options.progress ? { progress: options.progress } : {}),
      shouldStop: options.shouldStop ?? interrupt?.shouldStop ?? (() => false),
      metadata: { kind: run.kind, preset: run.info.preset, genres: run.info.genres, run: folder.id },
    });
    run.info = {
      ...run.info,
      finished: new Date().toISOString(),
      bestEpoch: history.bestEpoch,
      bestValLoss: history.bestValLoss,
      interrupted: history.interrupted,
    };
    if (!published) {
      log(`no epoch completed: nothing was kept, and ${run.dir} is unchanged`);
      return history;
    }
    if (history.interrupted) {
      log(
        `interrupted: ${run.dir} keeps the weights of epoch ${history.bestEpoch} (val_loss ${history.bestValLoss.toFixed(4)}), its history and thresholds`,
      );
    }
    if (run.loss.correction && history.bestEpoch > 0) {
      // The (restored, best) weights get their probabilities corrected for the weighted loss, and are saved
      // again under the same checkpoint metadata; info.json says so.
      correctOutputLayer(run.model, run.loss.correction);
      const { userDefinedMetadata } = await readModelJson(folder.dir);
      await run.model.save(fileSaveHandler(folder.dir, userDefinedMetadata ? { userDefinedMetadata } : {}));
      run.info.outputCorrection = run.loss.correction.description;
    }
    await saveInfo(folder.dir, run.info);
    const { yTrue, yProb } = await validationPredictions(run);
    const tuning = tuneThresholds(yTrue, yProb, run.dataset.genres);
    await saveThresholds(folder.dir, {
      genres: run.dataset.genres,
      thresholds: tuning.thresholds,
      tunedOn: "validation split",
      films: run.data.validation.length,
      perGenre: tuning.perGenre,
    });
    run.runDir = folder.dir;
    return history;
  } finally {
    interrupt?.release();
    await finishRunFolder(folder, published);
  }
}

/** The (restored, best) model's probabilities and the labels of the run's validation films, row-major. */
export async function validationPredictions(run: TrainingRun): Promise<{ yTrue: Float32Array; yProb: Float32Array }> {
  const rows = run.data.validation;
  const lengthOf = run.data.lengthOf;
  // In length order where batches pad to their longest overview (see predictInOrder).
  const order = lengthOf ? orderByLength(rows.map((r) => lengthOf(r))) : rows.map((_, i) => i);
  const yProb = await predictInOrder(run.model, order, (samples) => run.data.makeBatch(samples.map((k) => rows[k] as number)).inputs);
  return { yTrue: Float32Array.from(labelMatrix(run.dataset, rows)), yProb };
}

/** The split the models were trained on; they must agree on it, or a comparison would mix training films in. */
export function sharedRunSettings(models: readonly TrainedModel[]): RunSettings {
  const key = (m: TrainedModel) => {
    const s = m.info.settings as Partial<RunSettings>;
    return JSON.stringify([s.seed, s.validationFraction, s.films ?? null, m.info.dataset.films]);
  };
  const first = models[0];
  if (!first) throw new WorkbookError("no model to compare");
  const different = models.filter((m) => key(m) !== key(first));
  if (different.length > 0) {
    throw new WorkbookError(
      `the models were trained on different splits (seed, validation fraction, film subset): ${models.map((m) => `${m.dir}: ${key(m)}`).join("; ")}. ` +
        "Retrain them with the same preset so that their validation films are the same.",
    );
  }
  return first.info.settings as unknown as RunSettings;
}
