/**
 * The joint model on pretrained features (notebook 06): USE-lite's embedding of the overview and MobileNetV2's
 * features of the poster, extracted once and cached, fused by a gated multimodal unit.
 */
import { filmOverviews } from "../data/dataset";
import { TFIDF_DEFAULTS, TfidfVectorizer } from "../data/tfidf";
import type { EncoderInfo } from "../encoders/provenance";
import { TFIDF_JSON } from "../models/model-folder";
import { PosterBranchShape, TextBranchShape, buildPretrainedJointModel } from "../models/pretrained";
import {
  FeatureInfo,
  PretrainedFeatures,
  checkEncoderInfo,
  encodersNeeded,
  featureFilmInputs,
  featureRowInputs,
  pretrainedFeatures,
  pretrainedTrainingData,
} from "./features";
import type { KindSpec, PreparedRun } from "./kind";
import { PRETRAINED_PRESETS, PretrainedSettings, trainingSeed } from "./presets";
import { configuredLoss, preparedRun, runInfo, startRun } from "./runs";

export interface PretrainedInfo extends FeatureInfo {
  kind: "pretrained";
  encoders: { overview: EncoderInfo; poster: EncoderInfo };
}

/** A prepared joint model on pretrained features, with the films' features (its heads are prepared from it). */
export interface PretrainedRun extends PreparedRun<PretrainedSettings, PretrainedInfo> {
  features: PretrainedFeatures;
}

const BOTH = { poster: true, overview: true };

/** The branch shapes of a pretrained run's models (the joint model and its heads share them). */
export function pretrainedShape(
  settings: PretrainedSettings,
  features: PretrainedFeatures,
  tfidf?: TfidfVectorizer,
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

/** The same split as every other run; the films' USE-lite and MobileNetV2 features come from the feature cache. */
export async function preparePretrainedRun(
  settings: PretrainedSettings,
  context: Parameters<KindSpec["prepare"]>[1],
): Promise<PretrainedRun> {
  const start = await startRun(settings, context, "pretrained");
  const { loaded, log } = start;
  const features = await pretrainedFeatures(loaded.dataset.films, {
    cacheDir: context.paths.cacheDir,
    posterSize: settings.posterSize,
    log,
  });
  let tfidf: TfidfVectorizer | undefined;
  if (settings.tfidf) {
    tfidf = TfidfVectorizer.fit(filmOverviews(loaded.dataset, loaded.split.train), TFIDF_DEFAULTS);
    log(`text branch: USE-lite beside the TF-IDF of unigrams and bigrams (${tfidf.features} terms, fitted on the training overviews)`);
  }
  const data = pretrainedTrainingData(loaded, features, tfidf, log);
  const model = buildPretrainedJointModel({
    ...pretrainedShape(settings, features, tfidf),
    fusion: settings.fusion,
    units: settings.units,
    dropout: settings.dropout,
    genres: loaded.dataset.genres.length,
    seed: trainingSeed(settings),
  });
  const info: PretrainedInfo = {
    ...runInfo("pretrained", settings, start, context),
    encoders: { overview: features.overview.encoder, poster: features.poster.encoder },
    tfidf: settings.tfidf,
  };
  const loss = configuredLoss(settings, loaded, log);
  return preparedRun(start, "pretrained", { model, data, settings, info, loss, features, ...(tfidf ? { tfidf } : {}) });
}

export const PRETRAINED_KIND = {
  id: "pretrained",
  title: "pretrained joint (notebook 06)",
  describe: (info: PretrainedInfo) => `pretrained joint (${String(info.settings["fusion"] ?? "gmu").toUpperCase()})`,
  reads: BOTH,
  role: "pretrained",
  trainedBy: { notebook: "06-pretrained", command: "pretrained" },
  presets: PRETRAINED_PRESETS,
  // the settings that moved the validation loss most while the presets were chosen (docs/results.md), around them
  tuneSpace: {
    learningRate: { logRange: [3e-4, 3e-3] },
    dropout: { range: [0.2, 0.6] },
    "text.units": { choice: [128, 256, 512] },
    "text.dropout": { range: [0.2, 0.6] },
    "poster.units": { choice: [32, 64, 128] },
    fusion: { choice: ["gmu", "concat"] },
    "loss.cap": { choice: [3, 10, 30] },
  },
  // the strongest reader of overviews (the pretrained sentence encoder): the word evidence's first choice
  evidence: { words: 1, posters: 3 },
  prepare: preparePretrainedRun,
  requiredFiles: (info) => (info.tfidf ? [{ file: TFIDF_JSON, what: "TF-IDF vocabulary" }] : []),
  checkInfo: (info, file) => checkEncoderInfo(info, file, BOTH),
  encoders: (info) => encodersNeeded(info, BOTH),
  rowInputs: (trained, dataset, rows, options) => featureRowInputs(trained, dataset, rows, options, BOTH),
  filmInputs: (trained, films, encoders) => featureFilmInputs(trained, films, encoders, BOTH),
} satisfies KindSpec<PretrainedInfo, PretrainedSettings>;
