/**
 * The coursework's two models, layer for layer (REFERENCE.md): the poster CNN (functional API,
 * 3,464,601 parameters) and the overview BiLSTM (sequential, 4,303,129 parameters with a 10,000-word
 * vocabulary). Layer names follow the template so that summaries read the same.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { MODEL_JSON, loadCheckpoint, loadJson } from "./checkpoint";
import { Random, seededRandom } from "./random";
import { TextVectorizer } from "./text";
import { TfidfVectorizer } from "./baselines";
import type { TrainingHistory } from "./training";

export interface CnnOptions {
  /** Posters are size x size x 3 (coursework: 64). */
  imageSize?: number;
  genres?: number;
  /** Seed of the weight initialisers, for reproducible runs. */
  seed?: number;
}

/** Glorot-uniform kernels, zero biases: Keras's defaults, seeded per layer when a seed is given. */
function initialiser(seed: number | undefined, layer: number): ReturnType<typeof tf.initializers.glorotUniform> {
  return tf.initializers.glorotUniform(seed === undefined ? {} : { seed: seed + layer });
}

export function buildCnn(options: CnnOptions = {}): tf.LayersModel {
  const size = options.imageSize ?? 64;
  const genres = options.genres ?? 25;
  let layerIndex = 0;
  const init = () => initialiser(options.seed, layerIndex++);
  const conv = (name: string, filters: number, strides = 1) =>
    tf.layers.conv2d({ name, filters, kernelSize: 3, strides, padding: "same", activation: "relu", kernelInitializer: init() });
  // Unnamed layers get Keras's default names (dropout, dropout_1, ...), as in the template's summary.
  const kerasName = (base: string, counter: { n: number }) => (counter.n++ === 0 ? base : `${base}_${counter.n - 1}`);
  const dropouts = { n: 0 };
  const pools = { n: 0 };
  const dropout = (rate: number) => tf.layers.dropout({ rate, name: kerasName("dropout", dropouts) });
  const pool = () => tf.layers.maxPooling2d({ poolSize: 2, name: kerasName("max_pooling2d", pools) });

  const input = tf.input({ shape: [size, size, 3], name: "Input" });
  let x = conv("Conv0", 16, 2).apply(input) as tf.SymbolicTensor;
  x = dropout(0.2).apply(x) as tf.SymbolicTensor;
  x = conv("Conv1", 32).apply(x) as tf.SymbolicTensor;
  x = conv("Conv2", 32).apply(x) as tf.SymbolicTensor;
  x = dropout(0.2).apply(x) as tf.SymbolicTensor;
  x = pool().apply(x) as tf.SymbolicTensor;
  x = conv("Conv3", 64).apply(x) as tf.SymbolicTensor;
  x = conv("Conv4", 64).apply(x) as tf.SymbolicTensor;
  x = dropout(0.2).apply(x) as tf.SymbolicTensor;
  x = pool().apply(x) as tf.SymbolicTensor;
  x = conv("Conv5", 128).apply(x) as tf.SymbolicTensor;
  x = conv("Conv6", 128).apply(x) as tf.SymbolicTensor;
  x = dropout(0.2).apply(x) as tf.SymbolicTensor;
  x = pool().apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten({ name: "flatten" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ name: "FC1", units: 1024, activation: "relu", kernelInitializer: init() }).apply(x) as tf.SymbolicTensor;
  x = dropout(0.5).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ name: "FC2", units: 1024, activation: "relu", kernelInitializer: init() }).apply(x) as tf.SymbolicTensor;
  x = dropout(0.5).apply(x) as tf.SymbolicTensor;
  const output = tf.layers
    .dense({ name: "Output", units: genres, activation: "sigmoid", kernelInitializer: init() })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: "poster_cnn" });
}

export interface LstmOptions {
  /** Vocabulary size including '' and '[UNK]' (coursework: 10,000). */
  vocabularySize?: number;
  embeddingSize?: number;
  genres?: number;
  /**
   * Fixed sequence length, or undefined for batches padded to their longest overview (the coursework's
   * default). Masking (mask_zero) makes the two give the same result for the same text.
   */
  sequenceLength?: number;
  seed?: number;
}

export function buildLstm(options: LstmOptions = {}): tf.Sequential {
  const vocabularySize = options.vocabularySize ?? 10000;
  const genres = options.genres ?? 25;
  let layerIndex = 0;
  const init = () => initialiser(options.seed, layerIndex++);
  const model = tf.sequential({ name: "overview_lstm" });
  model.add(
    tf.layers.embedding({
      name: "embedding",
      inputDim: vocabularySize,
      outputDim: options.embeddingSize ?? 256,
      maskZero: true,
      inputShape: [options.sequenceLength ?? null] as unknown as number[],
      embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, ...(options.seed === undefined ? {} : { seed: options.seed }) }),
    }),
  );
  model.add(tf.layers.bidirectional({ name: "bidirectional", layer: courseworkLstmLayer(256, true), mergeMode: "concat" }));
  model.add(tf.layers.bidirectional({ name: "bidirectional_1", layer: courseworkLstmLayer(128, false), mergeMode: "concat" }));
  model.add(tf.layers.dense({ name: "dense", units: 128, activation: "relu", kernelInitializer: init() }));
  model.add(tf.layers.dropout({ name: "dropout", rate: 0.8 }));
  model.add(tf.layers.dense({ name: "dense_1", units: genres, activation: "sigmoid", kernelInitializer: init() }));
  return model;
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
    recurrentInitializer: new FastOrthogonal() as unknown as ReturnType<typeof tf.initializers.orthogonal>,
  }) as tf.RNN;
}

/** model.summary() as text lines (tfjs prints it; notebooks and commands capture it). */
export function summaryLines(model: tf.LayersModel): string[] {
  const lines: string[] = [];
  model.summary(110, undefined, (line: string) => lines.push(line));
  return lines;
}

/** tfjs-layers' Initializer base class, which its public API exposes only through instances. */
const InitializerBase = Object.getPrototypeOf(tf.initializers.zeros().constructor) as new () => object;

/**
 * Keras's orthogonal initializer (QR of a normal matrix, Q made unique by the signs of R's diagonal,
 * transposed when there are fewer rows than columns), computed in plain JS. tfjs's own version runs a QR
 * decomposition through tensor ops and takes minutes for the 256x1024 recurrent kernel on the cpu and
 * wasm backends, at every build and every model load. Registered under its own name so that loading a
 * saved model uses it too.
 */
export class FastOrthogonal extends InitializerBase {
  static className = "WorkbookOrthogonal";
  constructor(readonly config: { gain?: number; seed?: number } = {}) {
    super();
  }

  apply(shape: number[], dtype?: tf.DataType): tf.Tensor {
    if (shape.length < 2) throw new Error(`orthogonal initializer needs a shape of rank >= 2, got [${shape.join(", ")}]`);
    const cols = shape[shape.length - 1] as number;
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const q = orthonormalColumns(Math.max(rows, cols), Math.min(rows, cols), this.config.seed === undefined ? Math.random : seededRandom(this.config.seed));
    const gain = this.config.gain ?? 1;
    const n = Math.max(rows, cols);
    const k = Math.min(rows, cols);
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) {
        const v = gain * (q[i * k + j] as number);
        if (rows >= cols) out[i * cols + j] = v;
        else out[j * cols + i] = v; // transpose: Q is cols x rows here
      }
    }
    return tf.tensor(out, shape, dtype ?? "float32");
  }

  getConfig(): { gain?: number; seed?: number } {
    return { ...this.config };
  }
}
tf.serialization.registerClass(FastOrthogonal as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

/**
 * Q (n x k, row-major, orthonormal columns) of the QR decomposition of an n x k standard-normal matrix,
 * with each column's sign chosen so that R's diagonal is positive (what Keras's q * sign(diag(r)) gives).
 * Modified Gram-Schmidt, twice for accuracy.
 */
function orthonormalColumns(n: number, k: number, random: Random): Float64Array {
  const a = new Float64Array(n * k);
  for (let i = 0; i < n * k; i += 2) {
    // Box-Muller: two standard normals from two uniforms.
    const u = Math.max(random(), 1e-300);
    const r = Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * random();
    a[i] = r * Math.cos(t);
    if (i + 1 < n * k) a[i + 1] = r * Math.sin(t);
  }
  // Work on columns stored contiguously.
  const cols: Float64Array[] = Array.from({ length: k }, (_, j) => {
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) c[i] = a[i * k + j] as number;
    return c;
  });
  for (let j = 0; j < k; j++) {
    const v = cols[j] as Float64Array;
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        const u = cols[p] as Float64Array;
        let dot = 0;
        for (let i = 0; i < n; i++) dot += (u[i] as number) * (v[i] as number);
        for (let i = 0; i < n; i++) v[i] = (v[i] as number) - dot * (u[i] as number);
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += (v[i] as number) * (v[i] as number);
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) v[i] = (v[i] as number) / norm;
  }
  const q = new Float64Array(n * k);
  for (let j = 0; j < k; j++) for (let i = 0; i < n; i++) q[i * k + j] = (cols[j] as Float64Array)[i] as number;
  return q;
}

// ---------------------------------------------------------------------------
// Trained model folders: what later notebooks and commands load

export type ModelKind = "cnn" | "lstm" | "fusion";

/** <dir>/info.json: everything needed to use a trained model again, besides its weights. */
export interface ModelInfo {
  kind: ModelKind;
  /** Output order of the model: the dataset's genre columns. */
  genres: string[];
  preset: string;
  /** The notebook's or command's settings for this run (epochs, learning rate, ...). */
  settings: Record<string, unknown>;
  dataset: { dir: string; films: number; trainFilms: number; validationFilms: number; seed: number };
  backend: string;
  /** CNN and fusion: posters are imageSize x imageSize. */
  imageSize?: number;
  /** LSTM: fixed sequence length, or undefined for batches padded to their longest overview. */
  sequenceLength?: number;
  /** fusion: how the model reads the overview (undefined: 'lstm', token ids with vocabulary.json; 'tfidf': tfidf.json). */
  overviewBranch?: "lstm" | "tfidf";
  /** Set when the output layer was corrected after a weighted loss (lib/losses.ts weightedBceCorrection). */
  outputCorrection?: string;
  started: string;
  finished?: string;
  bestEpoch?: number;
  bestValLoss?: number;
  interrupted?: boolean;
}

export const INFO_JSON = "info.json";
export const VOCABULARY_JSON = "vocabulary.json";
export const HISTORY_JSON = "history.json";
export const THRESHOLDS_JSON = "thresholds.json";
export const TFIDF_JSON = "tfidf.json";

/** <dir>/thresholds.json: per-genre thresholds maximising each genre's F1 on the training run's validation split. */
export interface SavedThresholds {
  genres: string[];
  thresholds: number[];
  tunedOn: string;
  films: number;
  perGenre: Record<string, unknown>;
}

/** Where the notebooks and `npm run train` keep a preset's model of a kind. */
export function modelDir(outDir: string, preset: string, kind: ModelKind): string {
  return path.join(outDir, "models", preset, kind);
}

export interface TrainedModel {
  dir: string;
  info: ModelInfo;
  model: tf.LayersModel;
  history?: TrainingHistory;
  /** LSTM, and fusion with the 'lstm' overview branch. */
  vectorizer?: TextVectorizer;
  /** fusion with the 'tfidf' overview branch. */
  tfidf?: TfidfVectorizer;
  /** Per-genre thresholds tuned on the validation split at the end of training, when saved. */
  thresholds?: SavedThresholds;
}

/** Loads a model folder written by the notebooks or `npm run train`, with a clear error for what is missing. */
export async function loadTrainedModel(dir: string): Promise<TrainedModel> {
  const need = (file: string, what: string) => {
    if (!fs.existsSync(path.join(dir, file))) {
      throw new Error(`${path.join(dir, file)} not found: ${dir} is not a trained model folder (${what} missing). Train one with notebook 02/03 or 'npm run train'.`);
    }
  };
  need(INFO_JSON, "model description");
  need(MODEL_JSON, "weights");
  const info = await loadJson<ModelInfo>(path.join(dir, INFO_JSON));
  // The fusion model's gated unit is a custom layer: its module registers it with tfjs before the load.
  if (info.kind === "fusion") await import("./fusion");
  const model = await loadCheckpoint(dir);
  const trained: TrainedModel = { dir, info, model };
  if (fs.existsSync(path.join(dir, HISTORY_JSON))) trained.history = await loadJson<TrainingHistory>(path.join(dir, HISTORY_JSON));
  if (fs.existsSync(path.join(dir, THRESHOLDS_JSON))) trained.thresholds = await loadJson<SavedThresholds>(path.join(dir, THRESHOLDS_JSON));
  if (info.kind === "fusion" && info.overviewBranch === "tfidf") {
    need(TFIDF_JSON, "TF-IDF vocabulary");
    trained.tfidf = await TfidfVectorizer.load(path.join(dir, TFIDF_JSON));
  } else if (info.kind === "lstm" || info.kind === "fusion") {
    need(VOCABULARY_JSON, "vocabulary");
    trained.vectorizer = await TextVectorizer.load(path.join(dir, VOCABULARY_JSON));
  }
  return trained;
}
