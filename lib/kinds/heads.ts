/**
 * The heads of notebook 06: the pretrained joint model's text branch, or its poster branch, alone with an output
 * layer, trained on the same films with the same loss, correction and epoch selection. Beside the joint model
 * they say what each side brings, and what fusing them adds.
 */
import type * as tf from "@tensorflow/tfjs";
import type { MakeBatch, TrainingData } from "../data/batches";
import { featureInputs } from "../data/batches";
import { labelTensor } from "../data/dataset";
import type { EncoderInfo } from "../encoders/provenance";
import { TFIDF_JSON } from "../models/model-folder";
import { buildPosterHead, buildTextHead } from "../models/pretrained";
import { FeatureInfo, FeatureSides, checkEncoderInfo, encodersNeeded, featureFilmInputs, featureRowInputs, featureSets } from "./features";
import type { KindSpec, PreparedRun, RunContext } from "./kind";
import { PRETRAINED_PRESETS, PretrainedSettings, trainingSeed } from "./presets";
import { PretrainedRun, preparePretrainedRun, pretrainedShape } from "./pretrained";

export type Head = "text" | "poster";

export interface HeadInfo extends FeatureInfo {
  kind: "text-head" | "poster-head";
  encoders: { overview?: EncoderInfo; poster?: EncoderInfo };
}

const SIDES: Record<Head, FeatureSides> = { text: { poster: false, overview: true }, poster: { poster: true, overview: false } };

/**
 * A head's run from a prepared joint run: the same films (those with both features), split, loss and settings;
 * the head's model reads one side's features. Its folder is out/models/<preset>/<text|poster>-head.
 */
export function prepareHeadRun(
  run: PretrainedRun,
  head: Head,
  context: Pick<RunContext, "dir"> = {},
): PreparedRun<PretrainedSettings, HeadInfo> {
  const shape = pretrainedShape(run.settings, run.features, run.tfidf);
  const genres = run.dataset.genres.length;
  const model: tf.LayersModel =
    head === "text"
      ? buildTextHead(shape, { genres, seed: trainingSeed(run.settings) })
      : buildPosterHead(shape, { genres, seed: trainingSeed(run.settings) });
  const tfidf = head === "text" ? run.tfidf : undefined;
  const inputs = featureInputs(run.dataset, featureSets(run.features, SIDES[head]), tfidf);
  const makeBatch: MakeBatch = (rows) => {
    const x = inputs.inputs(rows);
    return { inputs: x.length === 1 ? (x[0] as tf.Tensor) : x, labels: labelTensor(run.dataset, rows) };
  };
  const data: TrainingData = { train: run.data.train, validation: run.data.validation, makeBatch };
  const kind = head === "text" ? "text-head" : "poster-head";
  const info: HeadInfo = {
    ...run.info,
    kind,
    encoders: head === "text" ? { overview: run.info.encoders.overview } : { poster: run.info.encoders.poster },
    ...(head === "text" ? { tfidf: run.info.tfidf ?? false } : { tfidf: false }),
    started: new Date().toISOString(),
  };
  return {
    kind,
    dir: headDir(run.dir, kind, context.dir),
    model,
    data,
    dataset: run.dataset,
    split: run.split,
    settings: run.settings,
    info,
    loss: run.loss,
    ...(tfidf ? { tfidf } : {}),
  };
}

/** The head's folder beside the joint model's (out/models/<preset>/<kind>), unless one is given. */
function headDir(jointDir: string, kind: string, given?: string): string {
  return given ?? jointDir.replace(/[^\\/]+[\\/]?$/, kind);
}

function headKind(head: Head): KindSpec<HeadInfo, PretrainedSettings> {
  const sides = SIDES[head];
  const id = head === "text" ? "text-head" : "poster-head";
  return {
    id,
    title: head === "text" ? "text head (USE-lite)" : "poster head (MobileNetV2)",
    describe: (info) =>
      head === "text"
        ? `text head (USE-lite${info.tfidf ? " + TF-IDF" : ""})`
        : `poster head (MobileNetV2 at ${info.encoders.poster?.inputSize ?? 224})`,
    reads: sides,
    role: head === "text" ? "text-head" : "poster-head",
    trainedBy: { notebook: "06-pretrained", command: id },
    presets: PRETRAINED_PRESETS,
    // Trained alone (npm run train): prepared like the joint model, for the same films, then the head's model.
    prepare: async (settings, context) =>
      prepareHeadRun(await preparePretrainedRun(settings, { ...context, dir: undefined }), head, context),
    requiredFiles: (info) => (info.tfidf ? [{ file: TFIDF_JSON, what: "TF-IDF vocabulary" }] : []),
    checkInfo: (info, file) => checkEncoderInfo(info, file, sides),
    encoders: (info) => encodersNeeded(info, sides),
    rowInputs: (trained, dataset, rows, options) => featureRowInputs(trained, dataset, rows, options, sides),
    filmInputs: (trained, films, encoders) => featureFilmInputs(trained, films, encoders, sides),
  };
}

export const TEXT_HEAD_KIND = headKind("text");
export const POSTER_HEAD_KIND = headKind("poster");
