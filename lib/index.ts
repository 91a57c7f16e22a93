/**
 * What the notebooks use, one import for all of them (compiled, from notebooks/):
 *   import * as wb from "../dist/lib";
 * Grouped by the stages of lib/, in their order (docs/ARCHITECTURE.md):
 *   runtime -> data -> encoders -> models -> kinds -> eval -> train -> workbook -> commands
 * The commands import the modules directly.
 */
import { setDefaultProgress } from "./train/progress";
import { notebookProgress } from "./workbook/progress";

// A training run that a notebook starts without a view of its own shows the notebook's (the terminal's outside one).
setDefaultProgress(() => notebookProgress());

// runtime: the preset and paths, the backend, seeded randomness
export { NotebookConfig, PresetName, notebookConfig } from "./runtime/config";
export { BackendInfo, describeBackend, ensureBackend, selectBackend } from "./runtime/backend";
export { sample, seededRandom, shuffled } from "./runtime/random";
export { WorkbookError } from "./runtime/errors";

// data: the table, the split, posters and overviews
export { Dataset, Film, describeProblems, filmOverviews, genreCounts, labelMatrix, loadDataset, toDataFrame } from "./data/dataset";
export { LoadedSplit, Split, SplitSettings, loadSplitDataset, splitDataset } from "./data/split";
export { loadFilmPosters } from "./data/posters";
export { MAX_OVERVIEW_WORDS, TextVectorizer, limitOverview, tokenCounts, tokenize } from "./data/text";

// pretrained encoders
export { EncoderInfo, describeEncoder } from "./encoders/provenance";
export { MOBILENET_CLASSES } from "./encoders/mobilenet";

// models: the folder a trained model lives in
export { TrainedModel, historyOf, modelFolder, sharedSplit } from "./models/model-folder";
export { TrainingHistory } from "./models/history";
export { LossConfig } from "./models/losses";

// kinds: every kind of model, its presets, preparing its run, loading it by id
export {
  CNN_PRESETS,
  COMPARE_PRESETS,
  CnnSettings,
  CompareSettings,
  DATA_PRESETS,
  DataSettings,
  EXPLAIN_PRESETS,
  TUNE_PRESETS,
  TuneSettings,
  ExplainSettings,
  FUSION_PRESETS,
  FusionSettings,
  LINEAR_PRESETS,
  LSTM_PRESETS,
  LstmSettings,
  PRETRAINED_PRESETS,
  PretrainedSettings,
  TEXT_BRANCH_PRESETS,
  TfidfBaselineSettings,
  presetDifferences,
} from "./kinds/presets";
export {
  KIND_IDS,
  KindConfig,
  KindId,
  ModelInfo,
  PresetModels,
  Trained,
  kindConfig,
  kindSpec,
  loadModel,
  loadPresetModel,
  loadPresetModels,
  modelOfKind,
  prepareRun,
} from "./kinds/registry";
export { PreparedRun, RunContext } from "./kinds/kind";
export { PretrainedRun } from "./kinds/pretrained";
export { prepareHeadRun } from "./kinds/heads";

// evaluation: comparing models, the leaderboard, the gate, explanations
export { compareModels, comparedModel, comparisonDifference, decisiveFilms, hitAgreement } from "./eval/comparison";
export { leaderboardContenders, leaderboardDifference, scoreContenders } from "./eval/leaderboard";
export { gateSummary, leaningFilms } from "./eval/gate";
export { explainFilms, genreEvidence, preferredModel, wordEvidence } from "./eval/explain";

// training
export { trainRun } from "./train/lifecycle";
export {
  CrossValidation,
  crossValidate,
  crossValidationFolder,
  describeCrossValidation,
  estimateCrossValidation,
} from "./train/cross-validate";

// hyperparameter search
export { SearchState, Trial, bestTrial, halvingRungs } from "./tune/search";
export { SearchSpace, describeSettings } from "./tune/space";
export { DEFAULT_SPACES } from "./tune/spaces";
export { TuneOptions, applyBest, searchDir, tune } from "./tune/tune";

// display
export { showModel, startNotebook, validationFilm, validationFilms } from "./workbook/notebook";
export { compareRuns } from "./workbook/runs";
export {
  comparisonNarrative,
  perGenreF1Figure,
  predictionBiasFigure,
  showComparisonCards,
  showComparisonDifference,
  showComparisonTable,
  showHitAgreement,
} from "./workbook/comparison";
export { leaderboardF1Figure, leaderboardNarrative, pretrainedNarrative, showLeaderboard } from "./workbook/leaderboard";
export { filmLeanFigure, genreLeanFigure } from "./workbook/gate";
export {
  crossValidationNarrative,
  describeEnsemble,
  foldScoresFigure,
  showEnsembleAgainstEachFold,
  showEnsembleAgainstSingle,
  showFoldScores,
  thresholdsFigure,
} from "./workbook/cross-validation";
export {
  bestChange,
  checkAgainstDefault,
  liveTuning,
  showSpace,
  tuneNarrative,
  settingEffectsFigure,
  showBest,
  showDefaultCheck,
  showTrials,
  showWinnerCheck,
  trialsTable,
  tuneCurvesFigure,
  tuneParallelFigure,
} from "./workbook/tune";
export { loadParityReport, parityCurvesFigure, showParityCurves, showParityReport } from "./workbook/parity";
export { explanationNarrative, showExplanationCards, showGenreHeatMaps, showWordEvidence } from "./workbook/explanations";
export {
  countHistogramFigure,
  genreFrequencyFigure,
  learningRateFigure,
  posterClassFigure,
  showBestEpoch,
  showDataFrame,
  showFigure,
  showOverviewEncoding,
  showPosterFiles,
  showPreprocessedPosters,
  showSplitTable,
  showTable,
  showVocabulary,
  trainingCurveFigure,
} from "./workbook/plots";
export { showMarkdown } from "./workbook/display";
