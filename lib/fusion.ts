/**
 * The coursework's "future work": one model that reads the poster AND the overview.
 *
 * Two branches, each the coursework's single-modality model up to its penultimate layer:
 *   - poster branch: the CNN (Conv0..Conv6, FC1, FC2) up to FC2's 1024 outputs after their dropout 0.5;
 *   - overview branch, one of:
 *     'lstm': the BiLSTM (embedding, bidirectional, bidirectional_1, dense) up to dense's 128 relu outputs,
 *       before the single model's dropout 0.8; input: token ids;
 *     'tfidf': a bag-of-words encoder, Dense(256, relu) + dropout 0.5 on the overview's TF-IDF row
 *       (lib/baselines.ts TfidfVectorizer, unigrams + bigrams). Trained on 4,553 overviews, the BiLSTM loses
 *       to a bag of words (see lib/baselines.ts and notebook 05), so the joint model can read the words this way;
 * (or a 'small' variant of each, with fewer filters and units, for tests and quick runs), fused by
 *   - 'gmu': a gated multimodal unit (Arevalo et al. 2017, "Gated Multimodal Units for Information
 *     Fusion"), see GatedMultimodalUnit; or
 *   - 'concat': concatenation + Dense(units, relu), the usual baseline;
 * then dropout and Dense(genres, sigmoid) named "Output".
 *
 * The branch layers carry the single models' names, so initialiseFromTrained() can start the fusion model
 * from a trained CNN and a trained LSTM (same image size; same vocabulary, i.e. the same vectorizer) by
 * copying weights layer by layer (the 'tfidf' branch always starts from random weights). The model has two
 * inputs, [poster (n x size x size x 3, float in [0,1]), overview (ids: n x length, int32, 0 = padding,
 * masked; or TF-IDF rows: n x features, float)], and one output, so lib/training.ts's trainModel trains it
 * with Batch.inputs = [posters, overviews].
 */
import * as tf from "@tensorflow/tfjs";
import { TFIDF_JSON, TrainedModel, VOCABULARY_JSON, courseworkLstmLayer } from "./models";
import type { Dataset, Split } from "./dataset";
import { PosterSet, posterTrainingData } from "./posters";
import { TextVectorizer, overviewTensor } from "./text";
import { LINEAR_BASELINE_DEFAULTS, TfidfVectorizer, tfidfEncoderLayers } from "./baselines";
import type { MakeBatch, TrainingData } from "./training";
import type { Figure } from "./plots";

type SymbolicTensor = tf.SymbolicTensor;
type Shape = Array<number | null>;
type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

// ---------------------------------------------------------------------------------------------------
// The gated multimodal unit

export interface GatedMultimodalUnitArgs extends LayerArgs {
  /** Size of the fused representation h (and of the gate z). */
  units: number;
  /** Seed of the glorot-uniform kernels (W_v, W_t, W_z get seed, seed+1, seed+2). */
  seed?: number;
}

/** What the unit computes for a batch, besides h: the two modality representations and the gate. */
export interface GmuParts {
  /** h_v' = tanh(W_v h_v + b_v), batch x units. */
  visual: tf.Tensor2D;
  /** h_t' = tanh(W_t h_t + b_t), batch x units. */
  text: tf.Tensor2D;
  /** z = sigmoid(W_z [h_v; h_t] + b_z), batch x units: the weight of the poster in each output dimension. */
  gate: tf.Tensor2D;
  /** h = z * h_v' + (1 - z) * h_t'. */
  fused: tf.Tensor2D;
}

/**
 * Gated multimodal unit (Arevalo et al. 2017), inputs [h_v (batch x d_v), h_t (batch x d_t)]:
 *
 *   h_v' = tanh(h_v W_v + b_v)           W_v: d_v x units
 *   h_t' = tanh(h_t W_t + b_t)           W_t: d_t x units
 *   z    = sigmoid([h_v; h_t] W_z + b_z) W_z: (d_v + d_t) x units, one gate per output dimension
 *   h    = z * h_v' + (1 - z) * h_t'
 *
 * Kernels glorot-uniform, biases zeros (Keras's defaults). Output batch x units. z = 1 means "this
 * dimension comes from the poster", z = 0 "from the overview". The weights are, in order,
 * [W_v, b_v, W_t, b_t, W_z, b_z] (getWeights/setWeights order). Registered with tf.serialization, so a saved
 * fusion model loads back with loadCheckpoint / tf.loadLayersModel once this module has been imported.
 */
export class GatedMultimodalUnit extends tf.layers.Layer {
  static className = "GatedMultimodalUnit";
  readonly units: number;
  readonly seed: number | undefined;
  private kernelV!: tf.LayerVariable;
  private biasV!: tf.LayerVariable;
  private kernelT!: tf.LayerVariable;
  private biasT!: tf.LayerVariable;
  private kernelZ!: tf.LayerVariable;
  private biasZ!: tf.LayerVariable;

  constructor(args: GatedMultimodalUnitArgs) {
    super(args);
    if (!Number.isInteger(args.units) || args.units < 1) throw new Error(`GatedMultimodalUnit: units must be a positive integer, got ${args.units}`);
    this.units = args.units;
    this.seed = args.seed;
    // Masks end at the branches (the LSTM branch's last recurrent layer returns no sequence).
    this.supportsMasking = true;
  }

  private static twoShapes(inputShape: Shape | Shape[]): [Shape, Shape] {
    const shapes = inputShape as Shape[];
    if (!Array.isArray(shapes[0]) || shapes.length !== 2) {
      throw new Error(`GatedMultimodalUnit expects two inputs [h_v, h_t], got shape ${JSON.stringify(inputShape)}`);
    }
    const [v, t] = shapes as [Shape, Shape];
    if (v.length !== 2 || t.length !== 2) throw new Error(`GatedMultimodalUnit expects rank-2 inputs (batch x features), got ${JSON.stringify(inputShape)}`);
    return [v, t];
  }

  override build(inputShape: Shape | Shape[]): void {
    const [v, t] = GatedMultimodalUnit.twoShapes(inputShape);
    const dv = v[1];
    const dt = t[1];
    if (dv == null || dt == null) throw new Error(`GatedMultimodalUnit: the feature sizes must be known, got ${JSON.stringify(inputShape)}`);
    const glorot = (k: number) => tf.initializers.glorotUniform(this.seed === undefined ? {} : { seed: this.seed + k });
    const zeros = tf.initializers.zeros();
    this.kernelV = this.addWeight("W_v", [dv, this.units], "float32", glorot(0));
    this.biasV = this.addWeight("b_v", [this.units], "float32", zeros);
    this.kernelT = this.addWeight("W_t", [dt, this.units], "float32", glorot(1));
    this.biasT = this.addWeight("b_t", [this.units], "float32", zeros);
    this.kernelZ = this.addWeight("W_z", [dv + dt, this.units], "float32", glorot(2));
    this.biasZ = this.addWeight("b_z", [this.units], "float32", zeros);
    this.built = true;
  }

  /** h_v', h_t', z and h for concrete inputs (the layer must be built). Call inside tf.tidy. */
  parts(hv: tf.Tensor, ht: tf.Tensor): GmuParts {
    const visual = tf.tanh(tf.add(tf.matMul(hv as tf.Tensor2D, this.kernelV.read() as tf.Tensor2D), this.biasV.read())) as tf.Tensor2D;
    const text = tf.tanh(tf.add(tf.matMul(ht as tf.Tensor2D, this.kernelT.read() as tf.Tensor2D), this.biasT.read())) as tf.Tensor2D;
    const both = tf.concat([hv, ht], 1) as tf.Tensor2D;
    const gate = tf.sigmoid(tf.add(tf.matMul(both, this.kernelZ.read() as tf.Tensor2D), this.biasZ.read())) as tf.Tensor2D;
    // z * v + (1 - z) * t = t + z * (v - t)
    const fused = tf.add(text, tf.mul(gate, tf.sub(visual, text))) as tf.Tensor2D;
    return { visual, text, gate, fused };
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      if (!Array.isArray(inputs) || inputs.length !== 2) throw new Error("GatedMultimodalUnit expects two inputs [h_v, h_t]");
      const [hv, ht] = inputs as [tf.Tensor, tf.Tensor];
      return this.parts(hv, ht).fused;
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [v] = GatedMultimodalUnit.twoShapes(inputShape);
    return [v[0] ?? null, this.units];
  }

  /** No mask leaves the unit (its inputs are per-film vectors). */
  override computeMask(_inputs: tf.Tensor | tf.Tensor[], _mask?: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[] {
    return null as unknown as tf.Tensor;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { units: this.units };
    if (this.seed !== undefined) config["seed"] = this.seed;
    return { ...super.getConfig(), ...config };
  }
}
tf.serialization.registerClass(GatedMultimodalUnit);

export function gatedMultimodalUnit(args: GatedMultimodalUnitArgs): GatedMultimodalUnit {
  return new GatedMultimodalUnit(args);
}

// ---------------------------------------------------------------------------------------------------
// The fusion model

export type FusionKind = "gmu" | "concat";
export type BranchSize = "coursework" | "small";
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

interface BranchSizes {
  filters: [number, number, number, number, number, number, number];
  fc: number;
  embedding: number;
  lstm1: number;
  lstm2: number;
  dense: number;
  /** 'tfidf' overview branch: units of its Dense layer. */
  tfidf: number;
}

/** Layer sizes of the two branch variants ('coursework' = REFERENCE.md's tables). */
export const BRANCH_SIZES: Record<BranchSize, BranchSizes> = {
  coursework: { filters: [16, 32, 32, 64, 64, 128, 128], fc: 1024, embedding: 256, lstm1: 256, lstm2: 128, dense: 128, tfidf: 256 },
  small: { filters: [8, 8, 8, 16, 16, 32, 32], fc: 64, embedding: 32, lstm1: 32, lstm2: 16, dense: 32, tfidf: 32 },
};

/** The branch layers that carry weights, named as in buildCnn / buildLstm (what initialiseFromTrained copies). */
export const POSTER_BRANCH_LAYERS = ["Conv0", "Conv1", "Conv2", "Conv3", "Conv4", "Conv5", "Conv6", "FC1", "FC2"] as const;
export const OVERVIEW_BRANCH_LAYERS = ["embedding", "bidirectional", "bidirectional_1", "dense"] as const;
/** Name of the GMU layer, or of the concat option's Dense layer. */
export const GMU_LAYER = "gmu";
export const CONCAT_DENSE_LAYER = "fusion_dense";

/**
 * Builds the joint poster + overview model: inputs [poster [size,size,3] float, overview ([null] int32 ids,
 * or [features] float TF-IDF)], output [batch, genres] sigmoid ("Output"). Not compiled: train it with
 * lib/training.ts's trainModel.
 */
export function buildFusionModel(options: FusionOptions): tf.LayersModel {
  const size = options.imageSize ?? 64;
  const genres = options.genres ?? 25;
  const units = options.units ?? 128;
  const rate = options.dropout ?? 0.5;
  const sizes = BRANCH_SIZES[options.branches ?? "coursework"];
  const overviewBranch = options.overviewBranch ?? "lstm";
  if (overviewBranch === "lstm" && !(Number.isInteger(options.vocabularySize) && (options.vocabularySize as number) >= 2)) {
    throw new Error(`buildFusionModel: the 'lstm' overview branch needs vocabularySize, an integer >= 2, got ${options.vocabularySize}`);
  }
  if (overviewBranch === "tfidf" && !(Number.isInteger(options.tfidfFeatures) && (options.tfidfFeatures as number) >= 1)) {
    throw new Error(`buildFusionModel: the 'tfidf' overview branch needs tfidfFeatures, a positive integer, got ${options.tfidfFeatures}`);
  }
  if (overviewBranch !== "lstm" && overviewBranch !== "tfidf") throw new Error(`buildFusionModel: overviewBranch must be 'lstm' or 'tfidf', got ${String(overviewBranch)}`);
  let layerIndex = 0;
  const init = () => tf.initializers.glorotUniform(options.seed === undefined ? {} : { seed: options.seed + layerIndex++ });
  const apply = (layer: tf.layers.Layer, x: SymbolicTensor | SymbolicTensor[]) => layer.apply(x) as SymbolicTensor;

  // Poster branch: the CNN up to FC2 and its dropout. Weightless layers get "poster_" names (unique in
  // the joint model; nothing is copied into them).
  const poster = tf.input({ shape: [size, size, 3], name: "poster" });
  let dropouts = 0;
  let pools = 0;
  const dropout = (r: number) => tf.layers.dropout({ rate: r, name: `poster_dropout${dropouts++ === 0 ? "" : `_${dropouts - 1}`}` });
  const pool = () => tf.layers.maxPooling2d({ poolSize: 2, name: `poster_max_pooling2d${pools++ === 0 ? "" : `_${pools - 1}`}` });
  const conv = (i: number, strides = 1) =>
    tf.layers.conv2d({ name: `Conv${i}`, filters: sizes.filters[i] as number, kernelSize: 3, strides, padding: "same", activation: "relu", kernelInitializer: init() });
  let v = apply(conv(0, 2), poster);
  v = apply(dropout(0.2), v);
  v = apply(conv(1), v);
  v = apply(conv(2), v);
  v = apply(dropout(0.2), v);
  v = apply(pool(), v);
  v = apply(conv(3), v);
  v = apply(conv(4), v);
  v = apply(dropout(0.2), v);
  v = apply(pool(), v);
  v = apply(conv(5), v);
  v = apply(conv(6), v);
  v = apply(dropout(0.2), v);
  v = apply(pool(), v);
  v = apply(tf.layers.flatten({ name: "poster_flatten" }), v);
  v = apply(tf.layers.dense({ name: "FC1", units: sizes.fc, activation: "relu", kernelInitializer: init() }), v);
  v = apply(dropout(0.5), v);
  v = apply(tf.layers.dense({ name: "FC2", units: sizes.fc, activation: "relu", kernelInitializer: init() }), v);
  v = apply(dropout(0.5), v);

  let overview: SymbolicTensor;
  let t: SymbolicTensor;
  if (overviewBranch === "lstm") {
    // The BiLSTM up to dense (128 relu), before the single model's dropout 0.8.
    overview = tf.input({ shape: [null] as unknown as number[], dtype: "int32", name: "overview" });
    const lstm = courseworkLstmLayer;
    t = apply(
      tf.layers.embedding({
        name: "embedding",
        inputDim: options.vocabularySize as number,
        outputDim: sizes.embedding,
        maskZero: true,
        embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, ...(options.seed === undefined ? {} : { seed: options.seed }) }),
      }),
      overview,
    );
    t = apply(tf.layers.bidirectional({ name: "bidirectional", layer: lstm(sizes.lstm1, true), mergeMode: "concat" }), t);
    t = apply(tf.layers.bidirectional({ name: "bidirectional_1", layer: lstm(sizes.lstm2, false), mergeMode: "concat" }), t);
    t = apply(tf.layers.dense({ name: "dense", units: sizes.dense, activation: "relu", kernelInitializer: init() }), t);
  } else {
    // Bag of words: TF-IDF row -> Dense(relu) -> dropout, the same L2 on the kernel as the linear baseline's.
    overview = tf.input({ shape: [options.tfidfFeatures as number], name: "overview_tfidf" });
    t = overview;
    for (const layer of tfidfEncoderLayers(sizes.tfidf, { l2: LINEAR_BASELINE_DEFAULTS.l2, kernelInitializer: init() })) t = apply(layer, t);
  }

  // Fusion.
  let h: SymbolicTensor;
  if (options.fusion === "gmu") {
    h = apply(new GatedMultimodalUnit({ name: GMU_LAYER, units, ...(options.seed === undefined ? {} : { seed: options.seed + 1000 }) }), [v, t]);
  } else if (options.fusion === "concat") {
    h = apply(tf.layers.concatenate({ name: "fusion_concat", axis: -1 }), [v, t]);
    h = apply(tf.layers.dense({ name: CONCAT_DENSE_LAYER, units, activation: "relu", kernelInitializer: init() }), h);
  } else {
    throw new Error(`buildFusionModel: fusion must be 'gmu' or 'concat', got ${String(options.fusion)}`);
  }
  h = apply(tf.layers.dropout({ name: "fusion_dropout", rate }), h);
  const output = apply(tf.layers.dense({ name: "Output", units: genres, activation: "sigmoid", kernelInitializer: init() }), h);
  return tf.model({ inputs: [poster, overview], outputs: output, name: options.fusion === "gmu" ? "poster_overview_gmu" : "poster_overview_concat" });
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
export function initialiseFromTrained(fusion: tf.LayersModel, cnn: ModelSource, lstm: ModelSource, options: { freezeBranches?: boolean } = {}): InitialiseReport {
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

// ---------------------------------------------------------------------------------------------------
// Reading the gate: how much each film and each genre leans on the poster vs the overview

/** The model's GatedMultimodalUnit (the one named "gmu", else the only one). */
export function gmuLayer(model: tf.LayersModel): GatedMultimodalUnit {
  const gmus = model.layers.filter((l): l is GatedMultimodalUnit => l instanceof GatedMultimodalUnit);
  const layer = gmus.find((l) => l.name === GMU_LAYER) ?? (gmus.length === 1 ? gmus[0] : undefined);
  if (layer === undefined) throw new Error(`${model.name}: ${gmus.length === 0 ? "no GatedMultimodalUnit layer (a 'concat' fusion model has no gate)" : "several GMU layers"}`);
  return layer;
}

const gateInputModels = new WeakMap<tf.LayersModel, tf.LayersModel>();

/** A model sharing `model`'s layers whose outputs are the GMU's two inputs [h_v, h_t]. */
function gateInputModel(model: tf.LayersModel): tf.LayersModel {
  let sub = gateInputModels.get(model);
  if (sub === undefined) {
    const gmu = gmuLayer(model);
    sub = tf.model({ inputs: model.inputs, outputs: gmu.input as SymbolicTensor[], name: `${model.name}_gate_inputs` });
    gateInputModels.set(model, sub);
  }
  return sub;
}

/**
 * The gate z (batch x units) for inputs [posters, overview ids], inference mode (dropout off): z[i][k] is
 * the weight of the poster in dimension k of film i's fused representation (1 - z that of the overview).
 * Works on built and on loaded models. The caller disposes the result.
 */
export function gateActivations(model: tf.LayersModel, inputs: tf.Tensor[]): tf.Tensor2D {
  const sub = gateInputModel(model);
  const gmu = gmuLayer(model);
  return tf.tidy(() => {
    const [hv, ht] = sub.predict(inputs) as tf.Tensor[];
    return gmu.parts(hv as tf.Tensor, ht as tf.Tensor).gate;
  });
}

export interface GateMatrix {
  /** films x units, row-major. */
  values: Float32Array;
  films: number;
  units: number;
}

/**
 * gateActivations over many rows, batch by batch, with a fusion MakeBatch (its inputs must be
 * [posters, overviews]; labels are ignored). Rows in the given order.
 */
export async function gateActivationsForRows(model: tf.LayersModel, rows: readonly number[], makeBatch: MakeBatch, batchSize = 64): Promise<GateMatrix> {
  const units = gmuLayer(model).units;
  const values = new Float32Array(rows.length * units);
  for (let start = 0; start < rows.length; start += batchSize) {
    const indices = rows.slice(start, start + batchSize);
    const z = tf.tidy(() => {
      const batch = makeBatch(indices);
      const inputs = Array.isArray(batch.inputs) ? batch.inputs : [batch.inputs];
      return gateActivations(model, inputs);
    });
    values.set(await z.data(), start * units);
    z.dispose();
  }
  return { values, films: rows.length, units };
}

export interface GenreLean {
  genre: string;
  /** Films (of those given) having the genre. */
  films: number;
  /** Mean over those films of the film's poster share (mean z over units); NaN when films = 0. */
  posterShare: number;
  /**
   * Mean over those films of z averaged with the weights |Output kernel[k, genre]|: the poster share of
   * the dimensions this genre's output actually reads. NaN when films = 0 or no kernel was given.
   */
  outputWeightedPosterShare: number;
}

export interface GateSummary {
  films: number;
  units: number;
  /** Per film: mean of z over the units, in [0, 1] (1 = the fused vector comes from the poster only). */
  filmPosterShare: Float32Array;
  /** Per unit: mean of z over the films. */
  unitPosterShare: Float32Array;
  /** Mean of filmPosterShare. */
  overall: number;
  /** Per genre, in output order. */
  genres: GenreLean[];
}

/**
 * Summarises a gate matrix (gateActivationsForRows) per film and per genre.
 *
 *   film poster share  s_f = mean_k z[f][k]
 *   genre lean         L_g = mean of s_f over the films f whose TRUE labels include g
 *   output-weighted    W_g = mean over the same films of sum_k |w_kg| z[f][k] / sum_k |w_kg|, w = the Output
 *                            layer's kernel (units x genres): the output of genre g reads dimension k with
 *                            weight w_kg, so dimensions that matter to g count more.
 *
 * 0.5 means "even"; above, the genre's films lean on the poster, below, on the overview. The gate is an
 * input-dependent mixing weight, not an attribution: tanh(h_v') and tanh(h_t') also differ in size.
 *
 * labels: films x genres (0/1), row-major, rows in the gate's order. outputKernel: optional, units x
 * genres, row-major (outputKernelOf(model)).
 */
export function summariseGate(gate: GateMatrix, labels: ArrayLike<number>, genreNames: readonly string[], outputKernel?: ArrayLike<number>): GateSummary {
  const { films, units, values } = gate;
  const g = genreNames.length;
  if (labels.length !== films * g) throw new Error(`summariseGate: ${labels.length} labels for ${films} films x ${g} genres`);
  if (outputKernel !== undefined && outputKernel.length !== units * g) throw new Error(`summariseGate: output kernel has ${outputKernel.length} values, expected ${units} x ${g}`);
  const filmPosterShare = new Float32Array(films);
  const unitPosterShare = new Float32Array(units);
  let overall = 0;
  for (let f = 0; f < films; f++) {
    let s = 0;
    for (let k = 0; k < units; k++) {
      const z = values[f * units + k] as number;
      s += z;
      unitPosterShare[k] = (unitPosterShare[k] as number) + z / films;
    }
    filmPosterShare[f] = s / units;
    overall += s / units / films;
  }
  const genres: GenreLean[] = genreNames.map((genre, j) => {
    let weights: Float64Array | undefined;
    if (outputKernel !== undefined) {
      weights = new Float64Array(units);
      let total = 0;
      for (let k = 0; k < units; k++) total += Math.abs(outputKernel[k * g + j] as number);
      for (let k = 0; k < units; k++) weights[k] = total > 0 ? Math.abs(outputKernel[k * g + j] as number) / total : 1 / units;
    }
    let n = 0;
    let share = 0;
    let weighted = 0;
    for (let f = 0; f < films; f++) {
      if (!labels[f * g + j]) continue;
      n++;
      share += filmPosterShare[f] as number;
      if (weights !== undefined) {
        let w = 0;
        for (let k = 0; k < units; k++) w += (weights[k] as number) * (values[f * units + k] as number);
        weighted += w;
      }
    }
    return {
      genre,
      films: n,
      posterShare: n > 0 ? share / n : NaN,
      outputWeightedPosterShare: n > 0 && weights !== undefined ? weighted / n : NaN,
    };
  });
  return { films, units, filmPosterShare, unitPosterShare, overall: films > 0 ? overall : NaN, genres };
}

/** The "Output" layer's kernel (units x genres, row-major), for summariseGate's output-weighted lean. */
export function outputKernelOf(model: tf.LayersModel): Float32Array {
  const kernel = model.getLayer("Output").getWeights()[0];
  if (kernel === undefined) throw new Error(`${model.name}: the Output layer has no kernel`);
  return kernel.dataSync() as Float32Array;
}

// ---------------------------------------------------------------------------------------------------
// Training batches: a poster and an overview per film

/** What turns overviews into the joint model's overview input: token ids ('lstm' branch) or TF-IDF rows ('tfidf'). */
export type OverviewEncoder = TextVectorizer | TfidfVectorizer;

/**
 * The overview input of the joint model for `texts`, encoded once: a function giving the tensor of the
 * texts at `indices` (ids padded to the longest of them, or to sequenceLength; or dense TF-IDF rows).
 */
export function overviewInputs(encoder: OverviewEncoder, texts: readonly string[], sequenceLength?: number): (indices: readonly number[]) => tf.Tensor {
  if (encoder instanceof TfidfVectorizer) {
    const matrix = encoder.transform(texts);
    return (indices) => matrix.toTensor(indices);
  }
  const encoded = texts.map((text) => encoder.encode(text));
  return (indices) => overviewTensor(indices.map((i) => encoded[i] as Int32Array), sequenceLength);
}

/** A trained joint model's overview encoder (its vocabulary.json or tfidf.json), with a clear error when missing. */
export function overviewEncoder(trained: TrainedModel): OverviewEncoder {
  const encoder = trained.tfidf ?? trained.vectorizer;
  if (!encoder) throw new Error(`${trained.dir}: a joint model folder needs its ${trained.info.overviewBranch === "tfidf" ? TFIDF_JSON : VOCABULARY_JSON}`);
  return encoder;
}

/**
 * The joint model's training data: films of the split that have a preprocessed poster (the others are
 * listed in `excluded`), batches of [posters, overviews] (see overviewInputs).
 */
export function fusionTrainingData(
  dataset: Dataset,
  posters: PosterSet,
  encoder: OverviewEncoder,
  split: Split,
  sequenceLength?: number,
): TrainingData & { excluded: string[] } {
  const images = posterTrainingData(dataset, posters, split);
  const overviews = overviewInputs(encoder, dataset.films.map((f) => f.overview), sequenceLength);
  return {
    train: images.train,
    validation: images.validation,
    excluded: images.excluded,
    makeBatch: (rows) => {
      const image = images.makeBatch(rows);
      return { inputs: [image.inputs as tf.Tensor, overviews(rows)], labels: image.labels };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Showing the gate (notebook 05)

/** Per genre: how much its films' fused representation comes from the poster (mean gate z). */
export function genreLeanFigure(summary: GateSummary): Figure {
  const shown = summary.genres.filter((g) => g.films > 0 && Number.isFinite(g.posterShare));
  const order = shown.slice().sort((a, b) => b.posterShare - a.posterShare);
  return {
    data: [
      { type: "bar", name: "mean gate z (all units)", x: order.map((g) => g.genre), y: order.map((g) => g.posterShare) },
      ...(order.some((g) => g.outputWeightedPosterShare !== undefined && Number.isFinite(g.outputWeightedPosterShare))
        ? [{ type: "scatter", mode: "markers", name: "weighted by the genre's output weights", x: order.map((g) => g.genre), y: order.map((g) => g.outputWeightedPosterShare), marker: { size: 9, symbol: "diamond" } }]
        : []),
    ],
    layout: {
      title: { text: "How much each genre's films lean on the poster (z) vs the overview (1 - z)" },
      xaxis: { tickangle: -45 },
      yaxis: { title: { text: "poster share z" } },
      shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 0.5, y1: 0.5, line: { dash: "dot", color: "#888" } }],
    },
  };
}

/** Histogram of the films' poster share (mean gate z over the units). */
export function filmLeanFigure(summary: GateSummary): Figure {
  return {
    data: [{ type: "histogram", x: Array.from(summary.filmPosterShare), nbinsx: 40 }],
    layout: {
      title: { text: `Poster share per film (mean z; overall ${summary.overall.toFixed(3)})` },
      xaxis: { title: { text: "poster share z (1 = poster only, 0 = overview only)" } },
      yaxis: { title: { text: "films" } },
    },
  };
}

/** The ids of the k films leaning most on the poster and the k leaning most on the overview. */
export function leaningFilms(summary: GateSummary, ids: readonly string[], k: number): { poster: string[]; overview: string[] } {
  const order = Array.from(summary.filmPosterShare, (share, i) => ({ share, id: ids[i] as string })).sort((a, b) => b.share - a.share);
  return { poster: order.slice(0, k).map((f) => f.id), overview: order.slice(-k).reverse().map((f) => f.id) };
}
