/**
 * What the notebooks use, one import for all of them (compiled, from notebooks/):
 *   import * as wb from "../dist/lib";
 * Grouped by pipeline stage, as lib/ is (docs/ARCHITECTURE.md). The commands import the modules directly.
 */

// runtime: the preset and paths, the backend, seeded randomness
export { NotebookConfig, PresetName, notebookConfig } from "./runtime/config";
export { BackendInfo, describeBackend, ensureBackend, selectBackend } from "./runtime/backend";
export { sample, seededRandom, shuffled } from "./runtime/random";

// data: the table, the split, posters and overviews
export { Dataset, Film, Split, describeProblems, filmOverviews, genreCounts, labelMatrix, loadDataset, toDataFrame } from "./data/dataset";
export { loadFilmPosters } from "./data/posters";
export { TextVectorizer, tokenCounts, tokenize } from "./data/text";

// pretrained encoders
export { EncoderInfo, describeEncoder } from "./encoders/provenance";
export { MOBILENET_CLASSES } from "./encoders/mobilenet";

// models
export { summaryLines } from "./models/coursework";
export { ModelKind, TrainedModel, historyOf, loadPresetModel, loadTrainedModel, modelFolder } from "./models/folder";

// training: presets, runs, the text baselines
export {
  CNN_PRESETS,
  CnnSettings,
  DATA_PRESETS,
  DataSettings,
  FUSION_PRESETS,
  FusionSettings,
  LSTM_PRESETS,
  LstmSettings,
  PRETRAINED_PRESETS,
  PretrainedSettings,
  presetDifferences,
} from "./train/presets";
export {
  CnnRun,
  FusionRun,
  HeadResult,
  LstmRun,
  PretrainedRun,
  TrainingRun,
  loadSplitDataset,
  prepareCnnRun,
  prepareFusionRun,
  prepareLstmRun,
  preparePretrainedRun,
  sharedRunSettings,
  splitDataset,
  trainPretrainedHead,
  trainRun,
} from "./train/runs";
export { LossConfig } from "./models/losses";
export { TrainingHistory } from "./models/history";
export { LINEAR_BASELINE_DEFAULTS, LinearBaselineConfig, TEXT_BRANCH_BASELINE_DEFAULTS, trainLinearBaseline } from "./train/text-baselines";

// evaluation: comparing models, the leaderboard, the gate
export {
  compareModels,
  comparisonNarrative,
  decisiveFilms,
  hitAgreement,
  perGenreF1Figure,
  predictionBiasFigure,
  showComparisonCards,
  showComparisonTable,
  showHitAgreement,
} from "./eval/comparison";
export {
  fusionContenders,
  leaderboardF1Figure,
  leaderboardNarrative,
  pretrainedContenders,
  pretrainedNarrative,
  scoreContenders,
  showLeaderboard,
} from "./eval/leaderboard";
export { filmLeanFigure, gateSummary, genreLeanFigure, leaningFilms } from "./eval/gate";

// display
export { compareRuns } from "./workbook/runs";
export { explanationNarrative, showExplanationCards, showGenreHeatMaps, showWordEvidence } from "./workbook/explanations";
export {
  countHistogramFigure,
  genreFrequencyFigure,
  learningRateFigure,
  posterClassFigure,
  showBestEpoch,
  showDataFrame,
  showFigure,
  showMarkdown,
  showOverviewEncoding,
  showPosterFiles,
  showPreprocessedPosters,
  showSplitTable,
  showTable,
  showVocabulary,
  trainingCurveFigure,
} from "./workbook/plots";
