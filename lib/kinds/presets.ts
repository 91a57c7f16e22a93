/**
 * The settings of every model kind and every notebook at each preset (coursework / quick / smoke), shared by
 * the notebooks and `npm run train`, and what a preset changes compared with the coursework's settings, in words.
 */
import type { PresetName } from "../runtime/config";
import { TFIDF_L2, type BranchSize, type FeatureTrunkSettings } from "../models/branches";
import type { FusionKind, OverviewBranch } from "../models/fusion";
import { DEFAULT_POS_WEIGHT_CAP, type LossConfig } from "../models/losses";
import type { SplitSettings } from "../data/split";
import { TFIDF_DEFAULTS } from "../data/tfidf";
import { WorkbookError } from "../runtime/errors";

/** Settings every run has. */
export interface RunSettings extends SplitSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Stop after this many epochs without a val_loss improvement (undefined: never). */
  earlyStoppingPatience?: number;
  /** The loss (undefined: the coursework's plain binary cross-entropy). */
  loss?: LossConfig;
  /** 'coursework' (undefined): the template's schedule; 'constant': the learning rate throughout (the text baselines). */
  learningRateSchedule?: "coursework" | "constant";
  /**
   * Seed of the initial weights, the shuffling, dropout and augmentation, when it should differ from the split's
   * `seed` (several training runs on one split: `npm run parity`). Undefined: `seed`.
   */
  trainingSeed?: number;
  /** Batch overviews of similar length together (the kinds that pad overviews per batch; see LstmSettings). */
  bucketByLength?: boolean;
  /** The loss that chooses the kept epoch: the training loss (undefined), or the corrected probabilities' plain BCE. */
  selectOn?: "loss" | "corrected-bce";
}

/** The seed of a run's weights, shuffling, dropout and augmentation (RunSettings.trainingSeed, else the split's seed). */
export function trainingSeed(settings: RunSettings): number {
  return settings.trainingSeed ?? settings.seed;
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
  /**
   * Batch overviews of similar length together (seeded; every film once per epoch): fewer padded steps,
   * the same result per film. The coursework shuffled without regard to length.
   */
  bucketByLength?: boolean;
}

const COURSEWORK_RUN = { batchSize: 64, learningRate: 1e-4, seed: 42, validationFraction: 0.2 };

/**
 * coursework: the template (40 epochs, lr 1e-4, all films). quick: 6 epochs at lr 1e-3, inside the
 * workbook's 15-minute budget on 2 cores and below the genre-frequency prior's validation loss (at 1e-4 or
 * 5e-4 a few epochs leave the CNN above it; docs/results.md, "How the defaults were chosen"). smoke: one epoch on
 * 200 films.
 */
export const CNN_PRESETS: Record<PresetName, CnnSettings> = {
  coursework: { ...COURSEWORK_RUN, epochs: 40, imageSize: 64 },
  quick: { ...COURSEWORK_RUN, epochs: 6, learningRate: 1e-3, imageSize: 64 },
  smoke: { ...COURSEWORK_RUN, epochs: 1, imageSize: 64, films: 200 },
};

/**
 * coursework: 20 epochs at lr 1e-4. quick: 4 epochs at lr 1e-3 (students' best LSTMs used 1e-3; with the
 * fused, length-bucketed BiLSTM an epoch takes under a minute on 2 cores).
 */
export const LSTM_PRESETS: Record<PresetName, LstmSettings> = {
  coursework: { ...COURSEWORK_RUN, epochs: 20, maxTokens: 10000, bucketByLength: true },
  quick: { ...COURSEWORK_RUN, epochs: 4, learningRate: 1e-3, maxTokens: 10000, bucketByLength: true },
  smoke: { ...COURSEWORK_RUN, epochs: 1, maxTokens: 10000, films: 200, bucketByLength: true },
};

/** Settings a preset may leave unset (meaning: all films, no early stopping, variable-length batches, ...). */
const OPTIONAL_SETTINGS = [
  "films",
  "earlyStoppingPatience",
  "sequenceLength",
  "loss",
  "augment",
  "overviewBranch",
  "freezeBranches",
  "bucketByLength",
  "learningRateSchedule",
  "trainingSeed",
];

/** What the settings change compared with the coursework's, in words (empty when nothing). */
export function presetDifferences<T extends object>(settings: T, coursework: T): string[] {
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
 * The joint model reads the poster with the trained CNN, frozen (fine-tuning it took twice as long and did
 * no better), and the overview with the 'tfidf' branch, trained from scratch (the BiLSTM loses to a bag of
 * words on 4,553 overviews); class-weighted loss with its probability correction (train/losses.ts) so that
 * rare genres count; augmented posters. The experiments behind each choice are in docs/results.md ("How the
 * defaults were chosen"). quick: the same on the quick CNN at lr 1e-3; smoke: one epoch on 200 films.
 */
const JOINT_RUN = {
  ...COURSEWORK_RUN,
  imageSize: 64,
  maxTokens: 10000,
  fusion: "gmu",
  units: 256,
  branches: "coursework",
  overviewBranch: "tfidf",
  start: "trained",
  freezeBranches: true,
  augment: true,
  loss: { kind: "weighted-bce" },
} as const satisfies Omit<FusionSettings, "epochs">;

export const FUSION_PRESETS: Record<PresetName, FusionSettings> = {
  coursework: { ...JOINT_RUN, epochs: 12, learningRate: 3e-4, earlyStoppingPatience: 3 },
  quick: { ...JOINT_RUN, epochs: 4, learningRate: 1e-3 },
  smoke: { ...JOINT_RUN, epochs: 1, learningRate: 1e-3, films: 200, units: 64 },
};

export interface PretrainedSettings extends RunSettings {
  /** MobileNetV2 reads posters at posterSize x posterSize (224 as trained; 160, 128, ... are faster). */
  posterSize: number;
  /** The text branch also reads the overview's TF-IDF beside its USE-lite embedding. */
  tfidf: boolean;
  /** The trunk on USE-lite's 512 features. */
  text: FeatureTrunkSettings;
  /** Units of the TF-IDF trunk (when tfidf). */
  tfidfUnits: number;
  /** The trunk on MobileNetV2's 1,285 features. */
  poster: FeatureTrunkSettings;
  fusion: FusionKind;
  /** Size of the fused representation. */
  units: number;
  /** Dropout between the fused representation and the output. */
  dropout: number;
  /**
   * Which validation loss picks the kept epoch: 'loss' (the training loss, as Keras), or 'corrected-bce'
   * (the plain BCE of the probabilities corrected for a weighted loss: what the model will predict).
   */
  selectOn: "loss" | "corrected-bce";
}

/** Notebook 01's settings: the split, film subset, poster size and vocabulary of notebooks 02 and 03. */
export interface DataSettings {
  seed: number;
  validationFraction: number;
  /** The seeded subset of films the models train on (undefined: all), as in loadSplitDataset. */
  films?: number;
  /** Posters are resized to imageSize x imageSize (the CNN's input). */
  imageSize: number;
  /** Vocabulary size including '' and '[UNK]' (the LSTM's). */
  maxTokens: number;
  /** Posters shown in the sample grid. */
  sampleFilms: number;
}

function dataSettings(preset: PresetName, sampleFilms: number): DataSettings {
  const cnn = CNN_PRESETS[preset];
  const lstm = LSTM_PRESETS[preset];
  if (cnn.seed !== lstm.seed || cnn.validationFraction !== lstm.validationFraction || cnn.films !== lstm.films) {
    throw new WorkbookError(`preset ${preset}: the CNN and the LSTM must share the split and the film subset`);
  }
  return {
    seed: cnn.seed,
    validationFraction: cnn.validationFraction,
    ...(cnn.films === undefined ? {} : { films: cnn.films }),
    imageSize: cnn.imageSize,
    maxTokens: lstm.maxTokens,
    sampleFilms,
  };
}

export const DATA_PRESETS: Record<PresetName, DataSettings> = {
  coursework: dataSettings("coursework", 12),
  quick: dataSettings("quick", 12),
  smoke: dataSettings("smoke", 6),
};

/**
 * The joint model on pretrained features reads the overview through USE-lite only: beside it, a TF-IDF trunk
 * overfits within a few epochs and lowers both F1s. The poster side is regularised hard (64 units, dropout 0.5
 * on the features, L2) because 1,285 poster features on 4,553 films overfit otherwise; the weighted loss's
 * epoch is chosen on the plain BCE of its corrected probabilities. quick reads posters at 160x160: as good
 * as 224 for the joint model, and half the extraction time (docs/install.md, "Pretrained encoders (offline)";
 * the other choices: docs/results.md).
 */
const PRETRAINED_RUN = {
  ...COURSEWORK_RUN,
  learningRate: 1e-3,
  posterSize: 224,
  tfidf: false,
  text: { units: 256, inputDropout: 0, dropout: 0.5, l2: 0 },
  tfidfUnits: 256,
  poster: { units: 64, inputDropout: 0.5, dropout: 0.5, l2: 1e-4 },
  fusion: "gmu",
  units: 256,
  dropout: 0.5,
  // the cap is the default, written out so that a search can change it ("loss.cap")
  loss: { kind: "weighted-bce", cap: DEFAULT_POS_WEIGHT_CAP },
  selectOn: "corrected-bce",
  earlyStoppingPatience: 5,
} as const satisfies Omit<PretrainedSettings, "epochs">;

/** The joint model on pretrained features (notebook 06, `npm run train -- pretrained`). */
export const PRETRAINED_PRESETS: Record<PresetName, PretrainedSettings> = {
  coursework: { ...PRETRAINED_RUN, epochs: 60 },
  quick: { ...PRETRAINED_RUN, epochs: 30, posterSize: 160 },
  smoke: { ...PRETRAINED_RUN, epochs: 2, films: 200, posterSize: 96 },
};

/** The TF-IDF baselines: the TF-IDF (fitted on the training overviews) into a logistic regression or one hidden layer. */
export interface TfidfBaselineSettings extends RunSettings {
  /** 0: logistic regression; > 0: a hidden Dense(hidden, relu) layer + dropout 0.5 first (the joint model's TF-IDF trunk). */
  hidden: number;
  /** The TF-IDF's vocabulary: terms in at least minDf training overviews, at most maxFeatures, with bigrams or not. */
  minDf: number;
  maxFeatures: number;
  bigrams: boolean;
  /** L2 penalty on the first kernel. */
  l2: number;
}

/**
 * The logistic regression, trained in well under a minute at a constant learning rate (how each value was
 * chosen: docs/results.md, "How the defaults were chosen"). It is scored on its weighted-loss probabilities as
 * trained, its best showing on tuned macro F1: the threshold grid stops at 0.05, below which the corrected
 * probabilities of rare genres fall. The same at every preset but for smoke's film subset.
 */
const LINEAR_RUN = {
  ...COURSEWORK_RUN,
  hidden: 0,
  ...TFIDF_DEFAULTS,
  loss: { kind: "weighted-bce", cap: 10, correctProbabilities: false },
  learningRate: 3e-3,
  learningRateSchedule: "constant",
  epochs: 20,
  l2: TFIDF_L2,
} as const satisfies TfidfBaselineSettings;

export const LINEAR_PRESETS: Record<PresetName, TfidfBaselineSettings> = {
  coursework: { ...LINEAR_RUN },
  quick: { ...LINEAR_RUN },
  smoke: { ...LINEAR_RUN, films: 200 },
};

/**
 * The joint model's overview trunk alone (notebook 05's "what does the poster add" row): TF-IDF ->
 * Dense(256, relu) -> dropout 0.5 -> Dense(genres, sigmoid), weighted BCE with its probabilities corrected
 * like the joint model's, so that the only difference to the joint model is the poster. Its best epoch was
 * the 4th at both presets: 5 keeps it and saves notebook 05 half a minute.
 */
const TEXT_BRANCH_RUN = {
  ...LINEAR_RUN,
  hidden: 256,
  loss: { kind: "weighted-bce", cap: 10 },
  learningRate: 1e-3,
  epochs: 5,
} as const satisfies TfidfBaselineSettings;

export const TEXT_BRANCH_PRESETS: Record<PresetName, TfidfBaselineSettings> = {
  coursework: { ...TEXT_BRANCH_RUN },
  quick: { ...TEXT_BRANCH_RUN },
  smoke: { ...TEXT_BRANCH_RUN, films: 200 },
};

/** Notebook 04's settings: which validation films it shows as cards. */
export interface CompareSettings {
  /** Random validation films shown as cards (seeded). */
  sampleFilms: number;
  seed: number;
  /** Extra films to show, by Id (any validation film), e.g. ["tt0086425"]. */
  ids: string[];
  /** Genres shown per model on each card. */
  top: number;
  /** Example cards per group in the agreement section. */
  examplesPerGroup: number;
}

export const COMPARE_PRESETS: Record<PresetName, CompareSettings> = {
  coursework: { sampleFilms: 8, seed: 7, ids: [], top: 3, examplesPerGroup: 2 },
  quick: { sampleFilms: 6, seed: 7, ids: [], top: 3, examplesPerGroup: 2 },
  smoke: { sampleFilms: 3, seed: 7, ids: [], top: 3, examplesPerGroup: 1 },
};

/** Notebook 07's settings: which films it explains, and the occlusion patch. */
export interface ExplainSettings {
  /** Validation films shown as cards (a seeded sample). */
  sampleFilms: number;
  seed: number;
  /** More films to explain, by Id (any film of the dataset), e.g. ["tt0087127"]. */
  ids: string[];
  /** Validation films for the mean occlusion map of each genre (a seeded sample). */
  aggregateFilms: number;
  /** Validation films for the words that raise each genre (a seeded sample: leaving words out is cheap). */
  wordFilms: number;
  /** The fewest of those films a word must appear in to be ranked for a genre. */
  minWordFilms: number;
  /** The grey patch slid over the 150x300 posters, and its step, in pixels. */
  patch: number;
  stride: number;
}

/**
 * quick explains 3 films, maps posters over 60 and words over 300 (the workbook's time budget); smoke uses 10 films
 * and a coarse patch.
 */
export const EXPLAIN_PRESETS: Record<PresetName, ExplainSettings> = {
  coursework: { sampleFilms: 6, seed: 11, ids: [], aggregateFilms: 300, wordFilms: 1139, minWordFilms: 8, patch: 30, stride: 15 },
  quick: { sampleFilms: 3, seed: 11, ids: [], aggregateFilms: 60, wordFilms: 300, minWordFilms: 5, patch: 30, stride: 15 },
  smoke: { sampleFilms: 2, seed: 11, ids: [], aggregateFilms: 10, wordFilms: 10, minWordFilms: 2, patch: 50, stride: 50 },
};

/** One search of notebook 08: its trials, their epochs (successive halving from minEpochs to maxEpochs), its budget. */
export interface SearchSettings {
  trials: number;
  minEpochs: number;
  maxEpochs: number;
  /** Each rung keeps the best 1/eta of its trials. */
  eta: number;
  /** The search stops before an evaluation that would take it past this many minutes. */
  minutes: number;
}

/** Notebook 08's settings: the search over the pretrained joint model, and the small one over the coursework CNN. */
export interface TuneSettings {
  pretrained: SearchSettings;
  /** The CNN's search runs on a seeded subset of `films` films (undefined: all), so that it fits a small budget. */
  cnn: SearchSettings & { films?: number };
  /** Seed of the trials' values. */
  seed: number;
}

/**
 * quick: 12 trials of the pretrained model at 3 epochs, the best 4 at 9, the best 2 at 27 (features are cached by
 * notebook 06, so an epoch takes seconds), and 3 CNN trials on 1,000 films; about 10 minutes on 2 cores.
 */
export const TUNE_PRESETS: Record<PresetName, TuneSettings> = {
  coursework: {
    pretrained: { trials: 27, minEpochs: 3, maxEpochs: 27, eta: 3, minutes: 60 },
    cnn: { trials: 9, minEpochs: 2, maxEpochs: 18, eta: 3, minutes: 90 },
    seed: 8,
  },
  quick: {
    pretrained: { trials: 12, minEpochs: 3, maxEpochs: 27, eta: 3, minutes: 8 },
    cnn: { trials: 3, minEpochs: 1, maxEpochs: 3, eta: 3, minutes: 3, films: 1000 },
    seed: 8,
  },
  smoke: {
    pretrained: { trials: 3, minEpochs: 1, maxEpochs: 2, eta: 3, minutes: 5 },
    cnn: { trials: 2, minEpochs: 1, maxEpochs: 2, eta: 2, minutes: 5, films: 200 },
    seed: 8,
  },
};
