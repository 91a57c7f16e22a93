/**
 * Models on pretrained features (encoders/): a text head on the overview's USE-lite embedding (optionally
 * beside its TF-IDF), a poster head on MobileNetV2's features, and the joint model that fuses the two
 * trunks with a GMU (or concatenation) through models/fusion.ts's fusionHead.
 *
 * The heads and the joint model share their trunks' definitions and layer names, so "the joint model with
 * the text branch alone" is exactly the text head, and a joint model can start from trained heads.
 */
import * as tf from "@tensorflow/tfjs";
import { FeatureTrunkSettings, TFIDF_L2, applyLayers, featureTrunk, tfidfOverviewTrunk } from "./branches";
import { FusionKind, fusionHead } from "./fusion";
import { seededKernels } from "./initializers";

/** Names of the inputs, in the order the models take them. */
export const POSTER_FEATURES_INPUT = "poster_features";
export const OVERVIEW_FEATURES_INPUT = "overview_features";
export const OVERVIEW_TFIDF_INPUT = "overview_tfidf";

export interface TextBranchShape {
  /** USE-lite's 512. */
  overviewFeatures: number;
  /** TF-IDF columns when the text branch also reads the TF-IDF row (undefined: USE only). */
  tfidfFeatures?: number;
  text: FeatureTrunkSettings;
  /** Units of the TF-IDF trunk beside USE. */
  tfidfUnits: number;
}

export interface PosterBranchShape {
  /** MobileNetV2's 1,285. */
  posterFeatures: number;
  poster: FeatureTrunkSettings;
}

type Kernel = () => ReturnType<typeof tf.initializers.glorotUniform>;

/** The text branch: USE trunk, concatenated with the TF-IDF trunk when there is one. Returns inputs and representation. */
function textBranch(shape: TextBranchShape, kernel: Kernel): { inputs: tf.SymbolicTensor[]; output: tf.SymbolicTensor } {
  const use = tf.input({ shape: [shape.overviewFeatures], name: OVERVIEW_FEATURES_INPUT });
  const t = applyLayers(use, featureTrunk("overview", shape.text, { kernel }));
  if (shape.tfidfFeatures === undefined) return { inputs: [use], output: t };
  const tfidf = tf.input({ shape: [shape.tfidfFeatures], name: OVERVIEW_TFIDF_INPUT });
  const w = applyLayers(tfidf, tfidfOverviewTrunk(shape.tfidfUnits, { kernel, l2: TFIDF_L2 }));
  return { inputs: [use, tfidf], output: tf.layers.concatenate({ name: "overview_concat" }).apply([t, w]) as tf.SymbolicTensor };
}

function posterBranch(shape: PosterBranchShape, kernel: Kernel): { input: tf.SymbolicTensor; output: tf.SymbolicTensor } {
  const input = tf.input({ shape: [shape.posterFeatures], name: POSTER_FEATURES_INPUT });
  return { input, output: applyLayers(input, featureTrunk("poster", shape.poster, { kernel })) };
}

function outputLayer(genres: number, kernel: Kernel): tf.layers.Layer {
  return tf.layers.dense({ name: "Output", units: genres, activation: "sigmoid", kernelInitializer: kernel() });
}

/** A branch alone with its own output (a head): the branch's inputs, then Dense(genres, sigmoid). */
function head(
  inputs: tf.SymbolicTensor | tf.SymbolicTensor[],
  branchOutput: tf.SymbolicTensor,
  genres: number,
  kernel: Kernel,
  name: string,
): tf.LayersModel {
  return tf.model({ inputs, outputs: outputLayer(genres, kernel).apply(branchOutput) as tf.SymbolicTensor, name });
}

/** The text head: the text branch, then Dense(genres, sigmoid). Inputs [USE] or [USE, TF-IDF]. */
export function buildTextHead(shape: TextBranchShape, options: { genres: number; seed?: number }): tf.LayersModel {
  const kernel = seededKernels(options.seed);
  const branch = textBranch(shape, kernel);
  return head(branch.inputs, branch.output, options.genres, kernel, "text_head");
}

/** The poster head: the poster branch, then Dense(genres, sigmoid). Input [MobileNetV2 features]. */
export function buildPosterHead(shape: PosterBranchShape, options: { genres: number; seed?: number }): tf.LayersModel {
  const kernel = seededKernels(options.seed);
  const branch = posterBranch(shape, kernel);
  return head(branch.input, branch.output, options.genres, kernel, "poster_head");
}

export interface PretrainedJointShape extends TextBranchShape, PosterBranchShape {
  fusion: FusionKind;
  /** Size of the fused representation. */
  units: number;
  /** Dropout between the fused representation and the output. */
  dropout: number;
  genres: number;
  seed?: number;
}

/** The joint model on pretrained features: inputs [poster features, USE(, TF-IDF)], a GMU or concat, "Output". */
export function buildPretrainedJointModel(shape: PretrainedJointShape): tf.LayersModel {
  const kernel = seededKernels(shape.seed);
  const poster = posterBranch(shape, kernel);
  const text = textBranch(shape, kernel);
  const output = fusionHead(poster.output, text.output, {
    fusion: shape.fusion,
    units: shape.units,
    dropout: shape.dropout,
    genres: shape.genres,
    kernel,
    ...(shape.seed === undefined ? {} : { seed: shape.seed + 1000 }),
  });
  return tf.model({ inputs: [poster.input, ...text.inputs], outputs: output, name: `pretrained_${shape.fusion}` });
}
