/**
 * The joint poster + overview model of notebook 05: the coursework CNN's poster branch and an overview branch
 * (the BiLSTM's, or a Dense layer on the TF-IDF), fused by a gated multimodal unit (or concatenation).
 */
import type * as tf from "@tensorflow/tfjs";
import { augmentTrainingData } from "../data/augment";
import { OverviewEncoder, decodedPosterTensor, fusionTrainingData, overviewInputs } from "../data/batches";
import type { Film } from "../data/dataset";
import { loadFilmPosters } from "../data/posters";
import { sameSplit } from "../data/split";
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
} from "../models/folder";
import { OverviewBranch, buildFusionModel, formatInitialiseReport, initialiseFromTrained } from "../models/fusion";
import { WorkbookError } from "../runtime/errors";
import { withSeededMathRandomSync } from "../runtime/random";
import { CNN_KIND, DEFAULT_IMAGE_SIZE, posterRowInputs } from "./cnn";
import { KindSpec, RunContext, filmOverview, filmPoster } from "./kind";
import { LSTM_KIND } from "./lstm";
import { FUSION_PRESETS, FusionSettings, trainingSeed } from "./presets";
import { configuredLoss, runInfo, startRun, trainingOverviews } from "./runs";

export interface FusionInfo extends ModelInfoBase {
  kind: "fusion";
  /** Posters are imageSize x imageSize. */
  imageSize: number;
  /** A fixed sequence length of the BiLSTM branch, or undefined for batches padded to their longest overview. */
  sequenceLength?: number;
  /** How the model reads the overview: 'lstm' (undefined), token ids with vocabulary.json; 'tfidf', tfidf.json. */
  overviewBranch?: OverviewBranch;
}

/**
 * The trained single model a joint model starts from (the folder given, or the preset's): refused when it is
 * not of that kind, or when it was trained on another split than the joint model's (its training films would
 * be among the joint model's validation films).
 */
async function trainedBranch(kind: "cnn" | "lstm", settings: FusionSettings, context: RunContext): Promise<TrainedModel> {
  const spec = kind === "cnn" ? CNN_KIND : LSTM_KIND;
  const given = context.branchDirs?.[kind];
  const dir = given ?? modelDir(context.paths.outDir, context.preset, kind);
  const how = given
    ? `the ${kind.toUpperCase()} in ${given}`
    : `the ${kind.toUpperCase()} trained at preset ${context.preset} (notebook ${spec.trainedBy.notebook.slice(0, 2)} or 'npm run train -- ${kind} --preset ${context.preset}', or give its folder with --${kind})`;
  let trained: TrainedModel;
  try {
    trained = await loadTrainedModel(dir);
  } catch (e) {
    throw new WorkbookError(`start 'trained' needs ${how}, or set start: 'scratch'. ${(e as Error).message}`);
  }
  if (trained.info.kind !== kind) {
    throw new WorkbookError(`start 'trained' needs ${how}, but ${dir} holds a ${trained.info.kind} model`);
  }
  if (!sameSplit(sharedSplit([trained]), settings)) {
    throw new WorkbookError(
      `the trained ${kind.toUpperCase()} in ${dir} used a different split (seed, validation fraction or film subset) than these settings: its validation films would leak into training`,
    );
  }
  return trained;
}

export const FUSION_KIND: KindSpec<FusionInfo, FusionSettings> = {
  id: "fusion",
  title: "joint (notebook 05)",
  describe: (info) => `joint (${String(info.settings["fusion"] ?? "gmu").toUpperCase()})`,
  reads: { poster: true, overview: true },
  role: "joint",
  trainedBy: { notebook: "05-fusion", command: "fusion" },
  presets: FUSION_PRESETS,

  /**
   * The same split as the single models; with start 'trained' the branches (and the vocabulary) come from the
   * CNN and LSTM trained at the same preset (or the folders given), which must exist.
   */
  async prepare(settings, context) {
    const start = await startRun(settings, context);
    const { loaded, log } = start;
    const overviewBranch = settings.overviewBranch ?? "lstm";
    let branches: { cnn: TrainedModel; lstm?: TrainedModel } | undefined;
    if (settings.start === "trained") {
      // the 'tfidf' overview branch starts from scratch: only the CNN is needed
      const cnn = await trainedBranch("cnn", settings, context);
      branches = overviewBranch === "lstm" ? { cnn, lstm: await trainedBranch("lstm", settings, context) } : { cnn };
    }
    let vectorizer: TextVectorizer | undefined;
    let tfidf: TfidfVectorizer | undefined;
    if (overviewBranch === "tfidf") {
      tfidf = TfidfVectorizer.fit(trainingOverviews(loaded), TFIDF_DEFAULTS);
      log(
        `overview branch: TF-IDF of unigrams and bigrams, ${tfidf.features} terms (in >= ${tfidf.minDf} training overviews) -> Dense(relu), from scratch`,
      );
    } else {
      vectorizer = branches?.lstm?.vectorizer ?? TextVectorizer.adapt(trainingOverviews(loaded), { maxTokens: settings.maxTokens });
    }
    const encoder = (tfidf ?? vectorizer) as OverviewEncoder;
    const posters = await loadFilmPosters(loaded.dataset.films, { size: settings.imageSize, cacheDir: context.paths.cacheDir, log });
    const fusionData = fusionTrainingData(loaded.dataset, posters, encoder, loaded.split, settings.sequenceLength);
    if (fusionData.excluded.length > 0)
      log(`${fusionData.excluded.length} film(s) without a usable poster left out: ${fusionData.excluded.slice(0, 10).join(", ")}`);
    const data = settings.augment ? augmentTrainingData(fusionData, { seed: trainingSeed(settings), posterInput: 0 }) : fusionData;
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
      dataset: loaded.dataset,
      split: loaded.split,
    };
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
