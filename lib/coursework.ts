/**
 * The coursework's two training runs, shared by notebooks 02/03 and `npm run train`: the presets, the
 * data preparation (dataset, seeded split, inputs), the model, and the model folder they write.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { BackendInfo, describeBackend } from "./backend";
import { saveJson } from "./checkpoint";
import { PresetName, WorkbookPaths } from "./config";
import { Dataset, Split, describeProblems, loadDataset, splitTrainValidation, subsetDataset } from "./dataset";
import { INFO_JSON, ModelInfo, ModelKind, SavedThresholds, TFIDF_JSON, THRESHOLDS_JSON, TrainedModel, VOCABULARY_JSON, buildCnn, buildLstm, loadTrainedModel, modelDir } from "./models";
import { fileSaveHandler, readModelJson } from "./checkpoint";
import { tuneThresholds } from "./metrics";
import { ConfiguredLoss, LossConfig, correctOutputLayer, lossFromConfig } from "./losses";
import { TFIDF_DEFAULTS, TfidfVectorizer } from "./baselines";
import { augmentTrainingData } from "./augment";
import { BranchSize, FusionKind, OverviewBranch, OverviewEncoder, buildFusionModel, formatInitialiseReport, fusionTrainingData, initialiseFromTrained } from "./fusion";
import { sharedRunSettings } from "./analysis";
import { loadFilmPosters, posterTrainingData } from "./posters";
import { sample, seededRandom } from "./random";
import { TextVectorizer, overviewTrainingData } from "./text";
import { ProgressReporter, TrainingData, TrainingHistory, stopOnSigint, trainModel } from "./training";

/** Settings both models share. */
export interface RunSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Seed of the split, the film subset, the shuffling and the initial weights. */
  seed: number;
  validationFraction: number;
  /** Train on a seeded random subset of this many films (undefined: all). Declared on screen. */
  films?: number;
  /** Stop after this many epochs without a val_loss improvement (undefined: never). */
  earlyStoppingPatience?: number;
  /** The loss (undefined: the coursework's plain binary cross-entropy). */
  loss?: LossConfig;
}

export interface CnnSettings extends RunSettings {
  imageSize: number;
  /** Random flips and brightness/contrast jitter of the training posters (seeded; never at validation). */
  augment?: boolean;
}

export interface LstmSettings extends RunSettings {
  /** Vocabulary size including '' and '[UNK]'. */
  maxTokens: number;
  /** Fixed sequence length, or undefined to pad each batch to its longest overview. */
  sequenceLength?: number;
}

const COURSEWORK_RUN = { batchSize: 64, learningRate: 1e-4, seed: 42, validationFraction: 0.2 };

/**
 * coursework: the template (40 epochs, lr 1e-4, all films). quick: 4 epochs at lr 5e-4 (at 1e-4 the CNN is
 * still worse than the genre-frequency prior after 4 epochs), so that notebooks 02 and 03 together stay
 * well inside the workbook's 15-minute budget on 2 cores. smoke: one epoch on 200 films.
 */
export const CNN_PRESETS: Record<PresetName, CnnSettings> = {
  coursework: { ...COURSEWORK_RUN, epochs: 40, imageSize: 64 },
  quick: { ...COURSEWORK_RUN, epochs: 4, learningRate: 5e-4, imageSize: 64 },
  smoke: { ...COURSEWORK_RUN, epochs: 1, imageSize: 64, films: 200 },
};

/** coursework: 20 epochs at lr 1e-4. quick: 3 epochs at lr 1e-3 (students' best LSTMs used 1e-3). */
export const LSTM_PRESETS: Record<PresetName, LstmSettings> = {
  coursework: { ...COURSEWORK_RUN, epochs: 20, maxTokens: 10000 },
  quick: { ...COURSEWORK_RUN, epochs: 3, learningRate: 1e-3, maxTokens: 10000 },
  smoke: { ...COURSEWORK_RUN, epochs: 1, maxTokens: 10000, films: 200 },
};

/** Settings a preset may leave unset (meaning: all films, no early stopping, variable-length batches, ...). */
const OPTIONAL_SETTINGS = ["films", "earlyStoppingPatience", "sequenceLength", "loss", "augment", "overviewBranch", "freezeBranches"];

/** What the settings change compared with the coursework's, in words (empty when nothing). */
export function presetDifferences<T extends RunSettings>(settings: T, coursework: T): string[] {
  const keys = [...Object.keys(coursework), ...OPTIONAL_SETTINGS.filter((k) => !(k in coursework))] as (keyof T)[];
  const show = (key: keyof T, value: unknown) =>
    value === undefined ? (key === "films" ? "all" : "none") : typeof value === "object" ? JSON.stringify(value) : String(value);
  return keys
    .filter((key) => JSON.stringify(settings[key]) !== JSON.stringify(coursework[key]))
    .map((key) => `${String(key)} ${show(key, settings[key])} (coursework: ${show(key, coursework[key])})`);
}

export interface FusionSettings extends RunSettings {
  imageSize: number;
  maxTokens: number;
  sequenceLength?: number;
  /** 'gmu': gated multimodal unit (Arevalo et al. 2017); 'concat': concatenation + Dense, for comparison. */
  fusion: FusionKind;
  /** Size of the fused representation. */
  units: number;
  /** 'coursework': the single models' branch sizes; 'small': fewer filters and units. */
  branches: BranchSize;
  /**
   * How the joint model reads the overview: 'lstm', the coursework's BiLSTM (started from the trained LSTM
   * with start 'trained'); 'tfidf', a Dense layer on the overview's TF-IDF (fitted on the training
   * overviews; always trained from scratch). Default 'lstm'.
   */
  overviewBranch?: OverviewBranch;
  /** 'trained': start the branches from the CNN and LSTM trained at the same preset; 'scratch': from random weights. */
  start: "trained" | "scratch";
  /** With start 'trained': keep the copied branch weights fixed and train only the fusion and output layers. */
  freezeBranches?: boolean;
  augment?: boolean;
}

/**
 * The joint model reads the poster with the trained CNN, frozen (fine-tuning it at the same settings took
 * twice as long, 55 vs 27 s per epoch, for micro/macro F1 0.564/0.387 and BCE 0.1933 vs frozen 0.555/0.391,
 * 0.1924), and the overview with the 'tfidf' branch, trained from scratch; class-weighted loss with its
 * probability correction (lib/losses.ts); augmented posters.
 * Chosen by experiments on the coursework data (seed-42 split, validation films, cross-fitted tuned
 * thresholds; the CNN's FC2 features frozen, GMU 256 units):
 *   - overview branch: BiLSTM (the coursework LSTM's dense features) micro/macro F1 0.464/0.267, val BCE
 *     0.2118; TF-IDF -> Dense(256) 0.546/0.360, 0.1902; both concatenated 0.538/0.334, 0.1963 (plain BCE);
 *   - loss: weighted BCE, corrected, 0.566/0.393, BCE 0.1879 (lr 1e-3, best epoch 3) vs plain BCE above;
 *   - lr 3e-4: 0.570/0.400, BCE 0.1897, best epoch 7 (constant lr for epochs 1-10).
 * quick: the same on the quick CNN, lr 1e-3 (best epoch ~3). smoke: one epoch on 200 films.
 */
export const FUSION_PRESETS: Record<PresetName, FusionSettings> = {
  coursework: {
    ...COURSEWORK_RUN, epochs: 12, learningRate: 3e-4, earlyStoppingPatience: 3, imageSize: 64, maxTokens: 10000, fusion: "gmu", units: 256, branches: "coursework",
    overviewBranch: "tfidf", start: "trained", freezeBranches: true, augment: true, loss: { kind: "weighted-bce" },
  },
  quick: {
    ...COURSEWORK_RUN, epochs: 4, learningRate: 1e-3, imageSize: 64, maxTokens: 10000, fusion: "gmu", units: 256, branches: "coursework",
    overviewBranch: "tfidf", start: "trained", freezeBranches: true, augment: true, loss: { kind: "weighted-bce" },
  },
  smoke: {
    ...COURSEWORK_RUN, epochs: 1, learningRate: 1e-3, films: 200, imageSize: 64, maxTokens: 10000, fusion: "gmu", units: 64, branches: "coursework",
    overviewBranch: "tfidf", start: "trained", freezeBranches: true, augment: true, loss: { kind: "weighted-bce" },
  },
};

export interface LoadedSplit {
  dataset: Dataset;
  split: Split;
}

/** Loads the dataset (reporting its problems), takes the settings' film subset, and splits it 80/20. */
export function loadSplitDataset(dataDir: string, settings: RunSettings, log: (line: string) => void = console.log): LoadedSplit {
  const full = loadDataset(dataDir);
  log(describeProblems(full, 10));
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

/** Everything a training run needs, prepared and ready to train. */
export interface TrainingRun {
  kind: ModelKind;
  dir: string;
  model: tf.LayersModel;
  data: TrainingData;
  dataset: Dataset;
  split: Split;
  settings: CnnSettings | LstmSettings | FusionSettings;
  info: ModelInfo;
  vectorizer?: TextVectorizer;
  /** The joint model with the 'tfidf' overview branch: its TF-IDF, fitted on the training overviews. */
  tfidf?: TfidfVectorizer;
  /** The loss used, with a one-line description for the notebook. */
  loss: ConfiguredLoss;
}

export interface RunContext {
  paths: WorkbookPaths;
  preset: PresetName;
  backend: BackendInfo;
  /** Model folder (default out/models/<preset>/<kind>). */
  dir?: string;
  log?: (line: string) => void;
}

function runInfo(kind: ModelKind, settings: RunSettings, loaded: LoadedSplit, context: RunContext): ModelInfo {
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
    },
    backend: describeBackend(context.backend),
    started: new Date().toISOString(),
  };
}

/** The poster CNN's run: dataset, split, preprocessed posters (cached), the model. */
export async function prepareCnnRun(settings: CnnSettings, context: RunContext): Promise<TrainingRun> {
  const log = context.log ?? console.log;
  const loaded = loadSplitDataset(context.paths.dataDir, settings, log);
  const posters = await loadFilmPosters(loaded.dataset.films, { size: settings.imageSize, cacheDir: context.paths.cacheDir, log });
  const posterData = posterTrainingData(loaded.dataset, posters, loaded.split);
  if (posterData.excluded.length > 0) log(`${posterData.excluded.length} film(s) without a usable poster left out: ${posterData.excluded.slice(0, 10).join(", ")}`);
  const data = settings.augment ? augmentTrainingData(posterData, { seed: settings.seed }) : posterData;
  if (settings.augment) log("training posters augmented: random horizontal flip, brightness and contrast jitter (seeded; validation untouched)");
  const model = buildCnn({ imageSize: settings.imageSize, genres: loaded.dataset.genres.length, seed: settings.seed });
  const info = { ...runInfo("cnn", settings, loaded, context), imageSize: settings.imageSize };
  const loss = configuredLoss(settings, loaded, log);
  return { kind: "cnn", dir: context.dir ?? modelDir(context.paths.outDir, context.preset, "cnn"), model, data, settings, info, loss, ...loaded };
}

/** The overview LSTM's run: dataset, split, vocabulary adapted on the training overviews, the model. */
export async function prepareLstmRun(settings: LstmSettings, context: RunContext): Promise<TrainingRun> {
  const log = context.log ?? console.log;
  const loaded = loadSplitDataset(context.paths.dataDir, settings, log);
  const trainingTexts = loaded.split.train.map((r) => loaded.dataset.films[r]!.overview);
  const config = settings.sequenceLength === undefined ? { maxTokens: settings.maxTokens } : { maxTokens: settings.maxTokens, sequenceLength: settings.sequenceLength };
  const vectorizer = TextVectorizer.adapt(trainingTexts, config);
  log(`vocabulary: ${vectorizer.vocabularySize()} entries (max ${settings.maxTokens}), adapted on the training overviews`);
  const data = overviewTrainingData(loaded.dataset, vectorizer, loaded.split, settings.sequenceLength);
  const model = buildLstm({ vocabularySize: vectorizer.vocabularySize(), genres: loaded.dataset.genres.length, sequenceLength: settings.sequenceLength });
  const info: ModelInfo = { ...runInfo("lstm", settings, loaded, context) };
  if (settings.sequenceLength !== undefined) info.sequenceLength = settings.sequenceLength;
  const loss = configuredLoss(settings, loaded, log);
  return { kind: "lstm", dir: context.dir ?? modelDir(context.paths.outDir, context.preset, "lstm"), model, data, settings, info, vectorizer, loss, ...loaded };
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
export async function prepareFusionRun(settings: FusionSettings, context: RunContext): Promise<TrainingRun> {
  const log = context.log ?? console.log;
  const loaded = loadSplitDataset(context.paths.dataDir, settings, log);
  const overviewBranch = settings.overviewBranch ?? "lstm";
  let branches: { cnn: TrainedModel; lstm?: TrainedModel } | undefined;
  if (settings.start === "trained") {
    const load = async (kind: "cnn" | "lstm") => {
      const dir = modelDir(context.paths.outDir, context.preset, kind);
      try {
        return await loadTrainedModel(dir);
      } catch (e) {
        throw new Error(`start 'trained' needs the ${kind.toUpperCase()} trained at preset ${context.preset} (notebook ${kind === "cnn" ? "02" : "03"} or 'npm run train -- ${kind} --preset ${context.preset}'), or set start: 'scratch'. ${(e as Error).message}`);
      }
    };
    // the 'tfidf' overview branch starts from scratch: only the CNN is needed
    branches = overviewBranch === "lstm" ? { cnn: await load("cnn"), lstm: await load("lstm") } : { cnn: await load("cnn") };
    const trainedOn = sharedRunSettings(branches.lstm ? [branches.cnn, branches.lstm] : [branches.cnn]);
    if (trainedOn.seed !== settings.seed || trainedOn.validationFraction !== settings.validationFraction || (trainedOn.films ?? null) !== (settings.films ?? null)) {
      throw new Error(`the trained ${branches.lstm ? "CNN and LSTM" : "CNN"} used a different split (seed, validation fraction or film subset) than these settings: their validation films would leak into training`);
    }
  }
  const trainingTexts = loaded.split.train.map((r) => loaded.dataset.films[r]!.overview);
  let vectorizer: TextVectorizer | undefined;
  let tfidf: TfidfVectorizer | undefined;
  if (overviewBranch === "tfidf") {
    tfidf = TfidfVectorizer.fit(trainingTexts, TFIDF_DEFAULTS);
    log(`overview branch: TF-IDF of unigrams and bigrams, ${tfidf.features} terms (in >= ${tfidf.minDf} training overviews) -> Dense(relu), from scratch`);
  } else {
    vectorizer = branches?.lstm?.vectorizer ?? TextVectorizer.adapt(trainingTexts, { maxTokens: settings.maxTokens });
  }
  const encoder = (tfidf ?? vectorizer) as OverviewEncoder;
  const posters = await loadFilmPosters(loaded.dataset.films, { size: settings.imageSize, cacheDir: context.paths.cacheDir, log });
  const fusionData = fusionTrainingData(loaded.dataset, posters, encoder, loaded.split, settings.sequenceLength);
  if (fusionData.excluded.length > 0) log(`${fusionData.excluded.length} film(s) without a usable poster left out: ${fusionData.excluded.slice(0, 10).join(", ")}`);
  const data = settings.augment ? augmentTrainingData(fusionData, { seed: settings.seed, posterInput: 0 }) : fusionData;
  const model = buildFusionModel({
    fusion: settings.fusion,
    units: settings.units,
    imageSize: settings.imageSize,
    overviewBranch,
    ...(vectorizer ? { vocabularySize: vectorizer.vocabularySize() } : {}),
    ...(tfidf ? { tfidfFeatures: tfidf.features } : {}),
    genres: loaded.dataset.genres.length,
    branches: settings.branches,
    seed: settings.seed,
  });
  if (branches) {
    const report = initialiseFromTrained(model, branches.cnn, branches.lstm, { freezeBranches: settings.freezeBranches ?? false });
    log(formatInitialiseReport(report));
  }
  const info: ModelInfo = { ...runInfo("fusion", settings, loaded, context), imageSize: settings.imageSize, overviewBranch };
  if (settings.sequenceLength !== undefined) info.sequenceLength = settings.sequenceLength;
  const loss = configuredLoss(settings, loaded, log);
  const dir = context.dir ?? modelDir(context.paths.outDir, context.preset, "fusion");
  return { kind: "fusion", dir, model, data, settings, info, ...(vectorizer ? { vectorizer } : {}), ...(tfidf ? { tfidf } : {}), loss, ...loaded };
}

/**
 * Trains the run's model into its folder: info.json (and the vocabulary) first, so that an interrupted run
 * still leaves a usable folder with its best checkpoint; model.json + weights at each new best val_loss;
 * history.json after every epoch; info.json again at the end with the best epoch, and thresholds.json: per-genre
 * decision thresholds tuned on the validation split (for evaluation elsewhere, never re-tuned on test data).
 */
export async function trainRun(run: TrainingRun, options: { progress?: ProgressReporter; shouldStop?: () => boolean } = {}): Promise<TrainingHistory> {
  fs.mkdirSync(run.dir, { recursive: true });
  // a folder reused by another kind of run must not keep the other encoder's file
  for (const stale of [VOCABULARY_JSON, TFIDF_JSON]) fs.rmSync(path.join(run.dir, stale), { force: true });
  if (run.vectorizer) await run.vectorizer.save(path.join(run.dir, VOCABULARY_JSON));
  if (run.tfidf) await run.tfidf.save(path.join(run.dir, TFIDF_JSON));
  await saveJson(path.join(run.dir, INFO_JSON), run.info);
  // Without a caller's own stop signal, an interrupt (Ctrl-C, or the notebook's interrupt button, which sends
  // SIGINT to the kernel) stops after the current batch and keeps the best checkpoint.
  const interrupt = options.shouldStop ? undefined : stopOnSigint();
  let history: TrainingHistory;
  try {
    history = await trainModel(run.model, run.data, {
      epochs: run.settings.epochs,
      batchSize: run.settings.batchSize,
      learningRate: run.settings.learningRate,
      seed: run.settings.seed,
      loss: run.loss.loss,
      checkpointDir: run.dir,
      ...(run.settings.earlyStoppingPatience === undefined ? {} : { earlyStoppingPatience: run.settings.earlyStoppingPatience }),
      ...(options.progress ? { progress: options.progress } : {}),
      shouldStop: options.shouldStop ?? interrupt?.shouldStop ?? (() => false),
      metadata: { kind: run.kind, preset: run.info.preset, genres: run.info.genres },
    });
  } finally {
    interrupt?.release();
  }
  run.info = { ...run.info, finished: new Date().toISOString(), bestEpoch: history.bestEpoch, bestValLoss: history.bestValLoss, interrupted: history.interrupted };
  if (run.loss.correction && history.bestEpoch > 0) {
    // The (restored, best) weights get their probabilities corrected for the weighted loss, and are saved
    // again under the same checkpoint metadata; info.json says so.
    correctOutputLayer(run.model, run.loss.correction);
    const { userDefinedMetadata } = await readModelJson(run.dir);
    await run.model.save(fileSaveHandler(run.dir, userDefinedMetadata ? { userDefinedMetadata } : {}));
    run.info.outputCorrection = run.loss.correction.description;
  }
  await saveJson(path.join(run.dir, INFO_JSON), run.info);
  if (history.epochs.length > 0) {
    const { yTrue, yProb } = await validationPredictions(run);
    const tuning = tuneThresholds(yTrue, yProb, run.dataset.genres);
    const saved: SavedThresholds = { genres: run.dataset.genres, thresholds: tuning.thresholds, tunedOn: "validation split", films: run.data.validation.length, perGenre: tuning.perGenre };
    await saveJson(path.join(run.dir, THRESHOLDS_JSON), saved);
  }
  return history;
}

/** The (restored, best) model's probabilities and the labels of the run's validation films, row-major. */
export async function validationPredictions(run: TrainingRun, batchSize = 64): Promise<{ yTrue: Float32Array; yProb: Float32Array }> {
  const rows = run.data.validation;
  const genres = run.dataset.genres.length;
  const yTrue = new Float32Array(rows.length * genres);
  const yProb = new Float32Array(rows.length * genres);
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = run.data.makeBatch(rows.slice(start, start + batchSize));
    const prediction = run.model.predict(batch.inputs) as tf.Tensor;
    yTrue.set(await batch.labels.data(), start * genres);
    yProb.set(await prediction.data(), start * genres);
    tf.dispose([batch.inputs, batch.labels, prediction]);
  }
  return { yTrue, yProb };
}
