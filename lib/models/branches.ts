/**
 * The model branches, each defined once (keras.io's create_vision_encoder / create_text_encoder pattern):
 *
 *   - the poster trunk: the coursework CNN up to FC2's 1024 outputs after their dropout 0.5;
 *   - the overview trunks: the coursework BiLSTM (embedding, bidirectional, bidirectional_1, dense) up to
 *     dense's 128 relu outputs, or a bag-of-words encoder on the overview's TF-IDF row.
 *
 * The coursework CNN and BiLSTM (./coursework.ts) add their dropout and output layer to a trunk; the joint
 * model (./fusion.ts) fuses two trunks. A trunk is a list of layers applied in order, so it serves a
 * Sequential model as well as the functional API. Layers that carry weights have the same names in every
 * model, which is what lets the joint model start from a trained CNN or LSTM (initialiseFromTrained).
 */
import * as tf from "@tensorflow/tfjs";
import { FastOrthogonal, Initializer, embeddingInitializer } from "./initializers";

export type BranchSize = "coursework" | "small";

export interface BranchSizes {
  /** Filters of Conv0 .. Conv6. */
  filters: [number, number, number, number, number, number, number];
  /** Units of FC1 and FC2. */
  fc: number;
  embedding: number;
  lstm1: number;
  lstm2: number;
  /** The BiLSTM trunk's last Dense layer. */
  dense: number;
  /** The TF-IDF trunk's Dense layer. */
  tfidf: number;
}

/** 'coursework': the coursework models' sizes; 'small': fewer filters and units, for tests and quick runs. */
export const BRANCH_SIZES: Record<BranchSize, BranchSizes> = {
  coursework: { filters: [16, 32, 32, 64, 64, 128, 128], fc: 1024, embedding: 256, lstm1: 256, lstm2: 128, dense: 128, tfidf: 256 },
  small: { filters: [8, 8, 8, 16, 16, 32, 32], fc: 64, embedding: 32, lstm1: 32, lstm2: 16, dense: 32, tfidf: 32 },
};

/** The poster trunk's layers that carry weights (what initialiseFromTrained copies from a CNN). */
export const POSTER_BRANCH_LAYERS = ["Conv0", "Conv1", "Conv2", "Conv3", "Conv4", "Conv5", "Conv6", "FC1", "FC2"] as const;
/** The BiLSTM trunk's layers that carry weights (what initialiseFromTrained copies from an LSTM). */
export const OVERVIEW_BRANCH_LAYERS = ["embedding", "bidirectional", "bidirectional_1", "dense"] as const;
/** Name of the TF-IDF trunk's Dense layer. */
export const TFIDF_BRANCH_LAYER = "tfidf_dense";

/**
 * L2 penalty on the kernel of every layer that reads TF-IDF rows (the linear baseline's and the TF-IDF
 * trunk's). Chosen on the linear baseline, where it gained 0.01-0.02 tuned macro F1 over none (docs/results.md,
 * "How the defaults were chosen").
 */
export const TFIDF_L2 = 1e-5;

/** Applies layers in order to a symbolic tensor. */
export function applyLayers(x: tf.SymbolicTensor, layers: readonly tf.layers.Layer[]): tf.SymbolicTensor {
  return layers.reduce((t, layer) => layer.apply(t) as tf.SymbolicTensor, x);
}

/** Keras's names for unnamed layers of one kind: base, base_1, base_2, ... */
function kerasNames(base: string): () => string {
  let n = 0;
  return () => (n++ === 0 ? base : `${base}_${n - 1}`);
}

/**
 * The coursework CNN up to FC2 and its dropout: Conv0 (stride 2) .. Conv6 in three pooled blocks, each
 * block ending in dropout 0.2, then FC1 and FC2, each followed by dropout 0.5. Input: posters
 * [size, size, 3] in [0, 1]. Weightless layers are named as Keras names unnamed layers (dropout,
 * dropout_1, ..., max_pooling2d, ..., flatten), after `prefix`: the coursework CNN uses no prefix, the
 * joint model "poster_" so that the names stay unique beside the overview trunk.
 * `kernel` gives the initialiser of each weighted layer in order (seededKernels).
 */
export function posterTrunk(sizes: BranchSizes, options: { kernel: () => Initializer; prefix?: string }): tf.layers.Layer[] {
  const prefix = options.prefix ?? "";
  const dropoutName = kerasNames(`${prefix}dropout`);
  const poolName = kerasNames(`${prefix}max_pooling2d`);
  const conv = (i: number, strides = 1) =>
    tf.layers.conv2d({
      name: `Conv${i}`,
      filters: sizes.filters[i] as number,
      kernelSize: 3,
      strides,
      padding: "same",
      activation: "relu",
      kernelInitializer: options.kernel(),
    });
  const dropout = (rate: number) => tf.layers.dropout({ rate, name: dropoutName() });
  const pool = () => tf.layers.maxPooling2d({ poolSize: 2, name: poolName() });
  const dense = (name: string) => tf.layers.dense({ name, units: sizes.fc, activation: "relu", kernelInitializer: options.kernel() });
  return [
    conv(0, 2),
    dropout(0.2),
    conv(1),
    conv(2),
    dropout(0.2),
    pool(),
    conv(3),
    conv(4),
    dropout(0.2),
    pool(),
    conv(5),
    conv(6),
    dropout(0.2),
    pool(),
    tf.layers.flatten({ name: `${prefix}flatten` }),
    dense("FC1"),
    dropout(0.5),
    dense("FC2"),
    dropout(0.5),
  ];
}

/**
 * The template's LSTM layer (dropout 0.5, recurrent dropout 0.2) with Keras's defaults where tfjs's differ:
 * sigmoid recurrent activation (tfjs: hardSigmoid), unit_forget_bias=True (tfjs: false), orthogonal
 * recurrent kernel. The kernels stay unseeded: Bidirectional builds the backward layer from the forward
 * layer's config, so a seed would start both directions from identical weights.
 */
export function courseworkLstmLayer(units: number, returnSequences: boolean): tf.RNN {
  return tf.layers.lstm({
    units,
    returnSequences,
    activation: "tanh",
    recurrentActivation: "sigmoid",
    dropout: 0.5,
    recurrentDropout: 0.2,
    unitForgetBias: true,
    recurrentInitializer: new FastOrthogonal() as unknown as Initializer,
  }) as tf.RNN;
}

export interface LstmTrunkOptions {
  /** Vocabulary size including '' and '[UNK]'. */
  vocabularySize: number;
  kernel: () => Initializer;
  /** Seed of the embedding's initialiser. */
  seed?: number;
  /**
   * As the first layers of a Sequential model: the embedding declares its input, [sequenceLength] or
   * [null] for batches padded to their longest overview. Leave out when applying to an Input.
   */
  sequential?: { sequenceLength?: number };
}

/**
 * The coursework BiLSTM up to its Dense(128, relu): Embedding (mask_zero: id 0 is padding) ->
 * Bidirectional(LSTM) returning sequences -> Bidirectional(LSTM) -> Dense(relu). Input: token ids.
 */
export function lstmOverviewTrunk(sizes: BranchSizes, options: LstmTrunkOptions): tf.layers.Layer[] {
  return [
    tf.layers.embedding({
      name: "embedding",
      inputDim: options.vocabularySize,
      outputDim: sizes.embedding,
      maskZero: true,
      ...(options.sequential ? { inputShape: [options.sequential.sequenceLength ?? null] as unknown as number[] } : {}),
      embeddingsInitializer: embeddingInitializer(options.seed),
    }),
    tf.layers.bidirectional({ name: "bidirectional", layer: courseworkLstmLayer(sizes.lstm1, true), mergeMode: "concat" }),
    tf.layers.bidirectional({ name: "bidirectional_1", layer: courseworkLstmLayer(sizes.lstm2, false), mergeMode: "concat" }),
    tf.layers.dense({ name: "dense", units: sizes.dense, activation: "relu", kernelInitializer: options.kernel() }),
  ];
}

/**
 * The bag-of-words overview trunk: Dense(units, relu, L2 on the kernel) then dropout 0.5 on the overview's
 * TF-IDF row. The joint model's 'tfidf' branch and the text-branch baseline (buildTfidfMlp).
 */
export function tfidfOverviewTrunk(
  units: number,
  options: { kernel: () => Initializer; l2?: number; /** first layer of a Sequential */ inputFeatures?: number },
): tf.layers.Layer[] {
  const l2 = options.l2 ?? TFIDF_L2;
  return [
    tf.layers.dense({
      name: TFIDF_BRANCH_LAYER,
      units,
      activation: "relu",
      kernelInitializer: options.kernel(),
      ...(options.inputFeatures !== undefined ? { inputShape: [options.inputFeatures] } : {}),
      ...(l2 > 0 ? { kernelRegularizer: tf.regularizers.l2({ l2 }) } : {}),
    }),
    tf.layers.dropout({ name: "tfidf_dropout", rate: 0.5 }),
  ];
}

export interface FeatureTrunkSettings {
  /** Units of the Dense layer. */
  units: number;
  /** Dropout on the features themselves, before the Dense layer (0: none). */
  inputDropout: number;
  /** Dropout after the Dense layer. */
  dropout: number;
  /** L2 penalty on the Dense layer's kernel (0: none). */
  l2: number;
}

/**
 * A trunk on precomputed features (a pretrained encoder's output): dropout on the features, Dense(units,
 * relu, L2), dropout. Its layers are named `<name>_input_dropout`, `<name>_dense`, `<name>_dropout`, so
 * that a joint model can start from a head trained on the same features.
 */
export function featureTrunk(name: string, settings: FeatureTrunkSettings, options: { kernel: () => Initializer }): tf.layers.Layer[] {
  return [
    ...(settings.inputDropout > 0 ? [tf.layers.dropout({ name: `${name}_input_dropout`, rate: settings.inputDropout })] : []),
    tf.layers.dense({
      name: `${name}_dense`,
      units: settings.units,
      activation: "relu",
      kernelInitializer: options.kernel(),
      ...(settings.l2 > 0 ? { kernelRegularizer: tf.regularizers.l2({ l2: settings.l2 }) } : {}),
    }),
    ...(settings.dropout > 0 ? [tf.layers.dropout({ name: `${name}_dropout`, rate: settings.dropout })] : []),
  ];
}
