/**
 * The coursework's "future work": one model that reads the poster AND the overview.
 *
 * Two trunks of ./branches.ts: the poster trunk (the CNN up to FC2), and for the overview, one of
 *   'lstm': the BiLSTM up to its Dense(128, relu); input: token ids;
 *   'tfidf': a bag-of-words encoder, Dense(256, relu) + dropout 0.5 on the overview's TF-IDF row
 *     (data/tfidf.ts, unigrams + bigrams). Trained on 4,553 overviews, the BiLSTM loses to a bag of words
 *     (notebook 05), so the joint model can read the words this way;
 * (or a 'small' variant of each, with fewer filters and units, for tests and quick runs), fused by
 *   - 'gmu': a gated multimodal unit (./gmu.ts); or
 *   - 'concat': concatenation + Dense(units, relu), the usual baseline;
 * then dropout and Dense(genres, sigmoid) named "Output" (fusionHead, shared with the pretrained joint model).
 *
 * The trunk layers carry the single models' names, so initialiseFromTrained() can start the joint model
 * from a trained CNN and a trained LSTM (same image size; same vocabulary, i.e. the same vectorizer) by
 * copying weights layer by layer (the 'tfidf' trunk always starts from random weights). The model has two
 * inputs, [poster (n x size x size x 3, float in [0,1]), overview (ids: n x length, int32, 0 = padding,
 * masked; or TF-IDF rows: n x features, float)], and one output, so train/trainer.ts's trainModel trains it
 * with Batch.inputs = [posters, overviews].
 */
import * as tf from "@tensorflow/tfjs";
import {
  BRANCH_SIZES,
  BranchSize,
  OVERVIEW_BRANCH_LAYERS,
  POSTER_BRANCH_LAYERS,
  applyLayers,
  lstmOverviewTrunk,
  posterTrunk,
  tfidfOverviewTrunk,
} from "./branches";
import { GatedMultimodalUnit } from "./gmu";
import { Initializer, seededKernels } from "./initializers";

export type FusionKind = "gmu" | "concat";
/** How the joint model reads the overview: the coursework's BiLSTM on token ids, or a Dense layer on TF-IDF. */
export type OverviewBranch = "lstm" | "tfidf";

export interface FusionOptions {
  fusion: FusionKind;
  /** Size of the fused representation (GMU units, or the concat option's Dense units). Default 128. */
  units?: number;
  /** Posters are imageSize x imageSize x 3. Default 64 (the coursework's). */
  imageSize?: number;
  /** Default 'lstm'. */
  overviewBranch?: OverviewBranch;
  /** 'lstm' branch: vocabulary size including '' and '[UNK]' (the trained LSTM's, when starting from its weights). */
  vocabularySize?: number;
  /** 'tfidf' branch: the TF-IDF vectorizer's number of features. */
  tfidfFeatures?: number;
  /** Default 25. */
  genres?: number;
  /** Dropout between the fused representation and the Output layer. Default 0.5. */
  dropout?: number;
  /** 'coursework' (default): the single models' sizes; 'small': fewer filters and units, for speed. */
  branches?: BranchSize;
  /**
   * Seed of the glorot-uniform kernels and the embedding. As in buildLstm, the LSTM kernels stay
   * unseeded (a seed would start both directions of a Bidirectional from the same weights).
   */
  seed?: number;
}

/** Name of the GMU layer, or of the concat option's Dense layer. */
export const GMU_LAYER = "gmu";
export const CONCAT_DENSE_LAYER = "fusion_dense";

export interface FusionHeadOptions {
  fusion: FusionKind;
  units: number;
  /** Dropout between the fused representation and the output. */
  dropout: number;
  genres: number;
  /** Initialisers of the concat option's Dense layer and of "Output", in that order. */
  kernel: () => Initializer;
  /** Seed of the GMU's kernels. */
  seed?: number;
}

/**
 * Fuses a poster representation and an overview representation: GMU(units) or concatenation +
 * Dense(units, relu), then dropout and Dense(genres, sigmoid) "Output". Returns the output.
 */
export function fusionHead(visual: tf.SymbolicTensor, text: tf.SymbolicTensor, options: FusionHeadOptions): tf.SymbolicTensor {
  let h: tf.SymbolicTensor;
  if (options.fusion === "gmu") {
    const gmu = new GatedMultimodalUnit({
      name: GMU_LAYER,
      units: options.units,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    });
    h = gmu.apply([visual, text]) as tf.SymbolicTensor;
  } else if (options.fusion === "concat") {
    h = tf.layers.concatenate({ name: "fusion_concat", axis: -1 }).apply([visual, text]) as tf.SymbolicTensor;
    h = tf.layers
      .dense({ name: CONCAT_DENSE_LAYER, units: options.units, activation: "relu", kernelInitializer: options.kernel() })
      .apply(h) as tf.SymbolicTensor;
  } else {
    throw new Error(`fusion must be 'gmu' or 'concat', got ${String(options.fusion)}`);
  }
  h = tf.layers.dropout({ name: "fusion_dropout", rate: options.dropout }).apply(h) as tf.SymbolicTensor;
  return tf.layers
    .dense({ name: "Output", units: options.genres, activation: "sigmoid", kernelInitializer: options.kernel() })
    .apply(h) as tf.SymbolicTensor;
}

/**
 * Builds the joint poster + overview model: inputs [poster [size,size,3] float, overview ([null] int32 ids,
 * or [features] float TF-IDF)], output [batch, genres] sigmoid ("Output"). Not compiled: train it with
 * train/trainer.ts's trainModel.
 */
export function buildFusionModel(options: FusionOptions): tf.LayersModel {
  const size = options.imageSize ?? 64;
  const sizes = BRANCH_SIZES[options.branches ?? "coursework"];
  const overviewBranch = options.overviewBranch ?? "lstm";
  if (overviewBranch === "lstm" && !(Number.isInteger(options.vocabularySize) && (options.vocabularySize as number) >= 2)) {
    throw new Error(`buildFusionModel: the 'lstm' overview branch needs vocabularySize, an integer >= 2, got ${options.vocabularySize}`);
  }
  if (overviewBranch === "tfidf" && !(Number.isInteger(options.tfidfFeatures) && (options.tfidfFeatures as number) >= 1)) {
    throw new Error(`buildFusionModel: the 'tfidf' overview branch needs tfidfFeatures, a positive integer, got ${options.tfidfFeatures}`);
  }
  if (overviewBranch !== "lstm" && overviewBranch !== "tfidf")
    throw new Error(`buildFusionModel: overviewBranch must be 'lstm' or 'tfidf', got ${String(overviewBranch)}`);
  if (options.fusion !== "gmu" && options.fusion !== "concat")
    throw new Error(`buildFusionModel: fusion must be 'gmu' or 'concat', got ${String(options.fusion)}`);
  const kernel = seededKernels(options.seed);

  const poster = tf.input({ shape: [size, size, 3], name: "poster" });
  const visual = applyLayers(poster, posterTrunk(sizes, { kernel, prefix: "poster_" }));
  const overview =
    overviewBranch === "lstm"
      ? tf.input({ shape: [null] as unknown as number[], dtype: "int32", name: "overview" })
      : tf.input({ shape: [options.tfidfFeatures as number], name: "overview_tfidf" });
  const trunk =
    overviewBranch === "lstm"
      ? lstmOverviewTrunk(sizes, {
          vocabularySize: options.vocabularySize as number,
          kernel,
          ...(options.seed === undefined ? {} : { seed: options.seed }),
        })
      : tfidfOverviewTrunk(sizes.tfidf, { kernel });
  const text = applyLayers(overview, trunk);
  const output = fusionHead(visual, text, {
    fusion: options.fusion,
    units: options.units ?? 128,
    dropout: options.dropout ?? 0.5,
    genres: options.genres ?? 25,
    kernel,
    ...(options.seed === undefined ? {} : { seed: options.seed + 1000 }),
  });
  return tf.model({
    inputs: [poster, overview],
    outputs: output,
    name: options.fusion === "gmu" ? "poster_overview_gmu" : "poster_overview_concat",
  });
}

// ---------------------------------------------------------------------------------------------------
// Starting from the trained single-modality models

export interface InitialiseReport {
  /** Fusion layers whose weights were copied ("Conv0", ..., "dense"). */
  copied: string[];
  /** Branch layers not copied, with the reason (no source model, layer missing, shape mismatch). */
  skipped: Array<{ layer: string; reason: string }>;
  /** Layers set to trainable = false (freezeBranches). */
  frozen: string[];
}

type ModelSource = tf.LayersModel | { model: tf.LayersModel } | null | undefined;

function sourceModel(source: ModelSource): tf.LayersModel | undefined {
  if (source == null) return undefined;
  return source instanceof tf.LayersModel ? source : source.model;
}

function findLayer(model: tf.LayersModel, name: string): tf.layers.Layer | undefined {
  return model.layers.find((l) => l.name === name);
}

/**
 * Copies the trained branch weights into a fusion model, layer by layer by name: POSTER_BRANCH_LAYERS
 * from the CNN, OVERVIEW_BRANCH_LAYERS from the LSTM (either may be left out: that branch stays as
 * initialised). A layer is copied only when both models have it with the same number of weights and the
 * same shapes (same image size, same vocabulary, same branch variant); otherwise it is listed in
 * `skipped` with the reason. The GMU / concat layers and "Output" are never copied (the single models'
 * output layers sit on different features). Accepts a LayersModel or loadTrainedModel()'s result.
 *
 * freezeBranches: the copied layers get trainable = false, so trainModel (which takes the model's
 * trainable weights when it starts) only trains the fusion and output layers.
 */
export function initialiseFromTrained(
  fusion: tf.LayersModel,
  cnn: ModelSource,
  lstm: ModelSource,
  options: { freezeBranches?: boolean } = {},
): InitialiseReport {
  const report: InitialiseReport = { copied: [], skipped: [], frozen: [] };
  const groups: Array<[readonly string[], tf.LayersModel | undefined, string]> = [
    [POSTER_BRANCH_LAYERS, sourceModel(cnn), "CNN"],
    [OVERVIEW_BRANCH_LAYERS, sourceModel(lstm), "LSTM"],
  ];
  for (const [names, source, label] of groups) {
    for (const name of names) {
      const target = findLayer(fusion, name);
      if (target === undefined) {
        // e.g. the LSTM's layers in a model with the 'tfidf' overview branch: nothing to report unless weights were offered
        if (source !== undefined) report.skipped.push({ layer: name, reason: "not in the fusion model" });
        continue;
      }
      if (source === undefined) {
        report.skipped.push({ layer: name, reason: `no trained ${label} given` });
        continue;
      }
      const from = findLayer(source, name);
      if (from === undefined) {
        report.skipped.push({ layer: name, reason: `the ${label} has no layer ${name}` });
        continue;
      }
      const want = target.getWeights();
      const have = from.getWeights();
      const shapes = (ws: tf.Tensor[]) => ws.map((w) => `[${w.shape.join(",")}]`).join(" ");
      if (want.length !== have.length || want.some((w, i) => !tf.util.arraysEqual(w.shape, (have[i] as tf.Tensor).shape))) {
        report.skipped.push({ layer: name, reason: `shapes differ: fusion ${shapes(want)} vs ${label} ${shapes(have)}` });
        continue;
      }
      target.setWeights(have);
      report.copied.push(name);
      if (options.freezeBranches) {
        target.trainable = false;
        report.frozen.push(name);
      }
    }
  }
  return report;
}

/** One line per outcome, for the notebook. */
export function formatInitialiseReport(report: InitialiseReport): string {
  const lines = [`copied ${report.copied.length} layers: ${report.copied.join(", ") || "none"}`];
  for (const s of report.skipped) lines.push(`not copied ${s.layer}: ${s.reason}`);
  if (report.frozen.length > 0) lines.push(`frozen: ${report.frozen.join(", ")}`);
  return lines.join("\n");
}
