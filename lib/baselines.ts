/**
 * The baselines every comparison of the workbook includes:
 *
 *  1. the genre-frequency prior: every film gets each genre's training frequency. It has no skill at all
 *     (every film gets the same ranking), yet its BCE (val ≈ 0.2342 on the coursework data) is what the
 *     CNN and the LSTM of the coursework barely beat;
 *  2. a linear text model: TF-IDF of word unigrams and bigrams of the overview (fitted on the training
 *     overviews only) -> logistic regression, one Dense(25, sigmoid) layer trained by the workbook's own
 *     trainer with the class-weighted BCE of lib/losses.ts. With per-genre thresholds tuned on validation
 *     this is the bar a deep text model has to clear;
 *  3. the same TF-IDF through one hidden layer (`hidden` > 0): exactly the joint model's 'tfidf' overview
 *     branch with its own output, trained without the poster. Next to the joint model it measures what the
 *     poster adds.
 */
import * as tf from "@tensorflow/tfjs";
import { Dataset, Split, labelTensor } from "./dataset";
import { LossConfig, correctOutputLayer, lossFromConfig } from "./losses";
import { loadJson, saveJson } from "./checkpoint";
import { tokenize } from "./text";
import { TrainOptions, TrainingData, TrainingHistory, silentProgress, trainModel } from "./training";

// ---------------------------------------------------------------------------------------------------
// 1. Genre-frequency prior

/** Each genre's frequency among the training rows (labels row-major [films, genres]). */
export function frequencyPrior(labels: Uint8Array | ArrayLike<number>, genres: number, trainRows: readonly number[]): Float32Array {
  if (!Number.isInteger(genres) || genres <= 0) throw new Error(`frequencyPrior: genres must be a positive integer, got ${genres}`);
  if (labels.length % genres !== 0) throw new Error(`frequencyPrior: ${labels.length} labels is not a multiple of ${genres} genres`);
  if (trainRows.length === 0) throw new Error("frequencyPrior: no training rows");
  const films = labels.length / genres;
  const counts = new Float64Array(genres);
  for (const r of trainRows) {
    if (!Number.isInteger(r) || r < 0 || r >= films) throw new Error(`frequencyPrior: row ${r} is outside the ${films} films`);
    for (let g = 0; g < genres; g++) counts[g]! += (labels[r * genres + g] as number) !== 0 ? 1 : 0;
  }
  return Float32Array.from(counts, (c) => c / trainRows.length);
}

/** The prior as predictions: the same row for each of `films` films, row-major [films, genres]. */
export function priorPredictions(prior: ArrayLike<number>, films: number): Float32Array {
  if (!Number.isInteger(films) || films < 0) throw new Error(`priorPredictions: films must be a non-negative integer, got ${films}`);
  const g = prior.length;
  const out = new Float32Array(films * g);
  for (let f = 0; f < films; f++) for (let j = 0; j < g; j++) out[f * g + j] = prior[j] as number;
  return out;
}

// ---------------------------------------------------------------------------------------------------
// 2. TF-IDF

/** A sparse row-major matrix (CSR): row i holds columns indices[rowOffsets[i] .. rowOffsets[i + 1]). */
export class CsrMatrix {
  constructor(
    /** column of each stored value, ascending within a row */
    readonly indices: Int32Array,
    readonly values: Float32Array,
    /** length rows + 1 */
    readonly rowOffsets: Int32Array,
    readonly columns: number,
  ) {
    if (indices.length !== values.length) throw new Error(`CsrMatrix: ${indices.length} indices but ${values.length} values`);
    if (rowOffsets.length === 0 || rowOffsets[rowOffsets.length - 1] !== values.length) throw new Error("CsrMatrix: rowOffsets must end at the number of values");
  }

  get rows(): number {
    return this.rowOffsets.length - 1;
  }

  /** The given rows (default all), dense and row-major [rows.length, columns]: a batch for the model. */
  toDense(rows?: readonly number[]): Float32Array {
    const which = rows ?? Array.from({ length: this.rows }, (_, i) => i);
    const out = new Float32Array(which.length * this.columns);
    which.forEach((r, i) => {
      if (!Number.isInteger(r) || r < 0 || r >= this.rows) throw new Error(`CsrMatrix.toDense: row ${r} is outside the ${this.rows} rows`);
      const base = i * this.columns;
      for (let k = this.rowOffsets[r] as number; k < (this.rowOffsets[r + 1] as number); k++) out[base + (this.indices[k] as number)] = this.values[k] as number;
    });
    return out;
  }

  /** toDense as a [rows.length, columns] float32 tensor. */
  toTensor(rows?: readonly number[]): tf.Tensor2D {
    const which = rows ?? Array.from({ length: this.rows }, (_, i) => i);
    return tf.tensor2d(this.toDense(which), [which.length, this.columns]);
  }
}

export interface TfidfOptions {
  /** Keep terms in at least this many training documents (default 2). */
  minDf?: number;
  /** Keep at most this many terms, the most frequent by document frequency (ties: term ascending). Default 20000. */
  maxFeatures?: number;
  /** Include bigrams (adjacent token pairs joined by a space), default true. */
  bigrams?: boolean;
}

export const TFIDF_DEFAULTS = { minDf: 2, maxFeatures: 20000, bigrams: true } as const;

/** Unigrams then (optionally) bigrams of a text, with repeats (tokens from lib/text.ts tokenize). */
export function terms(text: string, bigrams = true): string[] {
  const tokens = tokenize(text);
  const out = tokens.slice();
  if (bigrams) for (let i = 0; i + 1 < tokens.length; i++) out.push(`${tokens[i]} ${tokens[i + 1]}`);
  return out;
}

function termCounts(text: string, bigrams: boolean): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of terms(text, bigrams)) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export const TFIDF_FORMAT = "workbook-tfidf";

/** A fitted TfidfVectorizer as JSON (the joint model's tfidf.json): the idf is recomputed from the counts. */
export interface TfidfJSON {
  format: typeof TFIDF_FORMAT;
  version: 1;
  documents: number;
  minDf: number;
  maxFeatures: number;
  bigrams: boolean;
  vocabulary: string[];
  documentFrequency: number[];
}

/**
 * TF-IDF with scikit-learn's TfidfVectorizer defaults (smooth_idf=True, sublinear_tf=False, norm='l2'):
 *   tf = raw count of the term in the document; idf = ln((1 + n) / (1 + df)) + 1 with n training
 *   documents and df the term's document frequency among them; row = tf * idf, L2-normalised (a
 *   document with no known term stays all zero).
 * Tokens are Keras's (lib/text.ts tokenize), not scikit-learn's token_pattern; unigrams + bigrams.
 * Vocabulary: terms with df >= minDf; if more than maxFeatures, the maxFeatures with the highest df
 * (ties: term ascending) — scikit-learn ranks by total count instead, which differs only at the margin.
 * Columns are the kept terms in ascending order (as scikit-learn's get_feature_names_out).
 * Fit on the TRAINING overviews only: validation words must not shape the vocabulary or the idf.
 */
export class TfidfVectorizer {
  /** Column j's term. */
  readonly vocabulary: readonly string[];
  /** Column j's idf. */
  readonly idf: Float64Array;
  /** Column j's document frequency in the training documents. */
  readonly documentFrequency: Int32Array;
  readonly documents: number;
  readonly minDf: number;
  readonly maxFeatures: number;
  readonly bigrams: boolean;
  private readonly column: ReadonlyMap<string, number>;

  private constructor(vocabulary: string[], documentFrequency: number[], documents: number, options: Required<TfidfOptions>) {
    this.vocabulary = Object.freeze(vocabulary);
    this.documentFrequency = Int32Array.from(documentFrequency);
    this.documents = documents;
    this.minDf = options.minDf;
    this.maxFeatures = options.maxFeatures;
    this.bigrams = options.bigrams;
    this.idf = Float64Array.from(documentFrequency, (df) => Math.log((1 + documents) / (1 + df)) + 1);
    this.column = new Map(vocabulary.map((t, j) => [t, j]));
  }

  /** Fits the vocabulary and idf on `texts` (the training overviews). */
  static fit(texts: readonly string[], options: TfidfOptions = {}): TfidfVectorizer {
    const opts: Required<TfidfOptions> = {
      minDf: options.minDf ?? TFIDF_DEFAULTS.minDf,
      maxFeatures: options.maxFeatures ?? TFIDF_DEFAULTS.maxFeatures,
      bigrams: options.bigrams ?? TFIDF_DEFAULTS.bigrams,
    };
    if (!Number.isInteger(opts.minDf) || opts.minDf < 1) throw new Error(`TfidfVectorizer: minDf must be an integer >= 1, got ${opts.minDf}`);
    if (!Number.isInteger(opts.maxFeatures) || opts.maxFeatures < 1) throw new Error(`TfidfVectorizer: maxFeatures must be an integer >= 1, got ${opts.maxFeatures}`);
    if (texts.length === 0) throw new Error("TfidfVectorizer: no documents to fit");
    const df = new Map<string, number>();
    for (const text of texts) for (const t of termCounts(text, opts.bigrams).keys()) df.set(t, (df.get(t) ?? 0) + 1);
    const kept = [...df.entries()]
      .filter(([, d]) => d >= opts.minDf)
      .sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]))
      .slice(0, opts.maxFeatures)
      .sort((a, b) => compareStrings(a[0], b[0]));
    return new TfidfVectorizer(
      kept.map(([t]) => t),
      kept.map(([, d]) => d),
      texts.length,
      opts,
    );
  }

  get features(): number {
    return this.vocabulary.length;
  }

  /** The column of a term, or undefined when it is not in the vocabulary. */
  columnOf(term: string): number | undefined {
    return this.column.get(term);
  }

  toJSON(): TfidfJSON {
    return {
      format: TFIDF_FORMAT,
      version: 1,
      documents: this.documents,
      minDf: this.minDf,
      maxFeatures: this.maxFeatures,
      bigrams: this.bigrams,
      vocabulary: [...this.vocabulary],
      documentFrequency: Array.from(this.documentFrequency),
    };
  }

  /** The fitted vectorizer back from toJSON()'s object; `source` (e.g. a file path) is named in every error. */
  static fromJSON(json: unknown, source = "TF-IDF JSON"): TfidfVectorizer {
    const fail = (problem: string): never => {
      throw new Error(`Invalid TF-IDF vectorizer (${source}): ${problem}`);
    };
    if (typeof json !== "object" || json === null || Array.isArray(json)) return fail("expected a JSON object");
    const r = json as Partial<Record<keyof TfidfJSON, unknown>>;
    if (r.format !== TFIDF_FORMAT || r.version !== 1) fail(`format must be "${TFIDF_FORMAT}" version 1, got ${JSON.stringify(r.format)} version ${JSON.stringify(r.version)}`);
    const positiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;
    if (!positiveInt(r.documents)) return fail(`documents must be a positive integer, got ${JSON.stringify(r.documents)}`);
    if (!positiveInt(r.minDf) || !positiveInt(r.maxFeatures)) fail("minDf and maxFeatures must be positive integers");
    if (typeof r.bigrams !== "boolean") fail("bigrams must be true or false");
    if (!Array.isArray(r.vocabulary) || !r.vocabulary.every((t) => typeof t === "string")) return fail("vocabulary must be an array of strings");
    if (!Array.isArray(r.documentFrequency) || r.documentFrequency.length !== r.vocabulary.length) {
      return fail(`documentFrequency must be an array as long as the vocabulary (${r.vocabulary.length})`);
    }
    const documents = r.documents;
    r.documentFrequency.forEach((df, j) => {
      if (!positiveInt(df) || df > documents) fail(`documentFrequency[${j}] must be an integer in 1..${documents}, got ${JSON.stringify(df)}`);
    });
    const vocabulary = r.vocabulary as string[];
    for (let j = 1; j < vocabulary.length; j++) {
      if (compareStrings(vocabulary[j - 1] as string, vocabulary[j] as string) >= 0) fail(`vocabulary must be sorted and unique (at ${j}: ${JSON.stringify(vocabulary[j])})`);
    }
    return new TfidfVectorizer(vocabulary, r.documentFrequency as number[], documents, {
      minDf: r.minDf as number,
      maxFeatures: r.maxFeatures as number,
      bigrams: r.bigrams as boolean,
    });
  }

  /** Written atomically (a reader never sees half a file). */
  async save(file: string): Promise<void> {
    await saveJson(file, this.toJSON());
  }

  static async load(file: string): Promise<TfidfVectorizer> {
    return TfidfVectorizer.fromJSON(await loadJson(file), file);
  }

  /** TF-IDF rows of `texts` as a CSR matrix [texts.length, features]; unseen terms are ignored. */
  transform(texts: readonly string[]): CsrMatrix {
    const indices: number[] = [];
    const values: number[] = [];
    const rowOffsets = new Int32Array(texts.length + 1);
    texts.forEach((text, i) => {
      const row: [number, number][] = [];
      for (const [t, count] of termCounts(text, this.bigrams)) {
        const j = this.column.get(t);
        if (j !== undefined) row.push([j, count * (this.idf[j] as number)]);
      }
      row.sort((a, b) => a[0] - b[0]);
      const norm = Math.sqrt(row.reduce((s, [, v]) => s + v * v, 0));
      for (const [j, v] of row) {
        indices.push(j);
        values.push(norm > 0 ? v / norm : 0);
      }
      rowOffsets[i + 1] = indices.length;
    });
    return new CsrMatrix(Int32Array.from(indices), Float32Array.from(values), rowOffsets, this.features);
  }
}

// ---------------------------------------------------------------------------------------------------
// 3. Logistic regression on TF-IDF

export interface LogisticRegressionOptions {
  /** L2 penalty on the kernel (tf.regularizers.l2; Keras adds it to loss and val_loss). 0 = none. */
  l2?: number;
}

/**
 * Multi-label logistic regression: ONE Dense(genres, sigmoid) layer on the TF-IDF features (25
 * independent one-vs-rest logistic regressions). Zero-initialised (the problem is convex: no need to
 * break symmetry, and the result is deterministic).
 */
export function buildLogisticRegression(features: number, genres: number, options: LogisticRegressionOptions = {}): tf.LayersModel {
  const l2 = options.l2 ?? 0;
  if (!(l2 >= 0)) throw new Error(`buildLogisticRegression: l2 must be >= 0, got ${l2}`);
  const model = tf.sequential({ name: "tfidf_logistic_regression" });
  model.add(
    tf.layers.dense({
      name: "logistic",
      units: genres,
      inputShape: [features],
      activation: "sigmoid",
      kernelInitializer: "zeros",
      biasInitializer: "zeros",
      ...(l2 > 0 ? { kernelRegularizer: tf.regularizers.l2({ l2 }) } : {}),
    }),
  );
  return model;
}

/**
 * The trainer's data for the linear baseline: every overview is vectorised once (sparse), and a batch
 * is the dense TF-IDF rows of its films with their labels.
 */
export function tfidfTrainingData(dataset: Dataset, vectorizer: TfidfVectorizer, split: Split): TrainingData {
  const matrix = vectorizer.transform(dataset.films.map((f) => f.overview));
  return {
    train: split.train,
    validation: split.validation,
    makeBatch: (rows) => ({ inputs: matrix.toTensor(rows), labels: labelTensor(dataset, rows) }),
  };
}

export interface LinearBaselineConfig {
  /** 0: logistic regression; > 0: a hidden Dense(hidden, relu) layer + dropout 0.5 first (buildTfidfMlp). */
  hidden: number;
  /** TF-IDF vocabulary */
  minDf: number;
  maxFeatures: number;
  bigrams: boolean;
  /** training */
  loss: LossConfig;
  learningRate: number;
  epochs: number;
  batchSize: number;
  l2: number;
  /** seed of the trainer's shuffling */
  seed: number;
}

/**
 * Defaults of the linear baseline, chosen by a quick experiment on the coursework data (5,692 films,
 * splitTrainValidation(n, 42, 0.2), wasm backend, 2 cores): about 1.3-2.7 s per epoch, so 20 epochs
 * train in well under a minute. Measured there (validation, 1,139 films), best val_loss epoch 12 of 20:
 * micro-F1 0.539 / macro-F1 0.298 at 0.5; 0.558 / 0.403 at per-genre thresholds tuned on the same
 * validation films (optimistic: tuned on 570 films and scored on the other 569 and vice versa it is
 * 0.494 / 0.363).
 *  - learningRate 3e-3, constant: at 1e-2 the best val_loss comes at epoch 4 and F1 is no better; at
 *    3e-3 val_loss bottoms out at epochs 12-14 and F1 is flat from there;
 *  - l2 1e-5 on the kernel: +0.01-0.02 tuned macro-F1 over none (1e-4 underfits: 0.506 micro at 0.5);
 *  - minDf 2, maxFeatures 20000 (18,127 terms pass minDf on this split, so the cap does not bite;
 *    10,000 or unigrams only were ~0.01 lower);
 *  - weighted BCE capped at 10 (cap 5 and cap 20 were no better on macro-F1; see lib/losses.ts).
 */
export const LINEAR_BASELINE_DEFAULTS: Readonly<LinearBaselineConfig> = Object.freeze({
  hidden: 0,
  minDf: 2,
  maxFeatures: 20000,
  bigrams: true,
  // Scored on its probabilities as trained: its best showing on tuned macro F1 (corrected: BCE 0.2125 but
  // tuned micro/macro F1 0.505/0.339 vs 0.496/0.381, the 0.05-0.95 threshold grid cutting off rare genres).
  loss: Object.freeze({ kind: "weighted-bce", cap: 10, correctProbabilities: false }) as LossConfig,
  learningRate: 3e-3,
  epochs: 20,
  batchSize: 64,
  l2: 1e-5,
  seed: 42,
});

/**
 * The joint model's overview branch alone (notebook 05's "what does the poster add" row): TF-IDF ->
 * Dense(256, relu, L2 1e-5) -> dropout 0.5 -> Dense(genres, sigmoid), weighted BCE with its probabilities
 * corrected like the joint model's. At lr 3e-4 on the coursework split (12 epochs) it scored val BCE 0.2042,
 * cross-fitted tuned micro/macro F1 0.544/0.382.
 */
export const TEXT_BRANCH_BASELINE_DEFAULTS: Readonly<LinearBaselineConfig> = Object.freeze({
  ...LINEAR_BASELINE_DEFAULTS,
  hidden: 256,
  loss: Object.freeze({ kind: "weighted-bce", cap: 10 }) as LossConfig,
  learningRate: 1e-3,
  epochs: 8,
});

/** Name of the TF-IDF encoder's Dense layer (tfidfEncoderLayers). */
export const TFIDF_BRANCH_LAYER = "tfidf_dense";

/**
 * The TF-IDF encoder: Dense(units, relu, L2 on the kernel) then dropout 0.5. One definition for the joint
 * model's 'tfidf' overview branch and for buildTfidfMlp, which trains that branch alone.
 */
export function tfidfEncoderLayers(
  units: number,
  options: { l2: number; kernelInitializer: ReturnType<typeof tf.initializers.glorotUniform>; /** first layer of a Sequential */ inputFeatures?: number },
): tf.layers.Layer[] {
  const { l2, kernelInitializer, inputFeatures } = options;
  return [
    tf.layers.dense({
      name: TFIDF_BRANCH_LAYER,
      units,
      activation: "relu",
      kernelInitializer,
      ...(inputFeatures !== undefined ? { inputShape: [inputFeatures] } : {}),
      ...(l2 > 0 ? { kernelRegularizer: tf.regularizers.l2({ l2 }) } : {}),
    }),
    tf.layers.dropout({ name: "tfidf_dropout", rate: 0.5 }),
  ];
}

/** TF-IDF -> tfidfEncoderLayers(hidden) -> Dense(genres, sigmoid) "Output" (glorot-uniform, seeded). */
export function buildTfidfMlp(features: number, genres: number, options: LogisticRegressionOptions & { hidden: number; seed?: number }): tf.LayersModel {
  if (!Number.isInteger(options.hidden) || options.hidden < 1) throw new Error(`buildTfidfMlp: hidden must be a positive integer, got ${options.hidden}`);
  const init = (k: number) => tf.initializers.glorotUniform(options.seed === undefined ? {} : { seed: options.seed + k });
  return tf.sequential({
    name: "tfidf_mlp",
    layers: [
      ...tfidfEncoderLayers(options.hidden, { l2: options.l2 ?? 0, kernelInitializer: init(0), inputFeatures: features }),
      tf.layers.dense({ name: "Output", units: genres, activation: "sigmoid", kernelInitializer: init(1) }),
    ],
  });
}

export interface LinearBaseline {
  vectorizer: TfidfVectorizer;
  model: tf.LayersModel;
  history: TrainingHistory;
  config: LinearBaselineConfig;
  /** lossFromConfig's one-line description of the training loss */
  lossDescription: string;
  /** genres left out of the loss */
  excluded: number[];
  seconds: number;
}

/**
 * Fits the TF-IDF on the training overviews and trains the logistic regression (or, with `hidden`, the
 * one-hidden-layer network) with lib/training.ts (constant learning rate, best val_loss epoch kept; a
 * weighted loss's probability correction applied unless the config turns it off). `trainOptions` passes anything else to the trainer
 * (progress, checkpointDir, shouldStop, ...); the default progress is silent.
 */
export async function trainLinearBaseline(
  dataset: Dataset,
  split: Split,
  config: Partial<LinearBaselineConfig> = {},
  trainOptions: Partial<TrainOptions> = {},
): Promise<LinearBaseline> {
  const c: LinearBaselineConfig = { ...LINEAR_BASELINE_DEFAULTS, ...config };
  const started = performance.now();
  const vectorizer = TfidfVectorizer.fit(
    split.train.map((r) => (dataset.films[r] as { overview: string }).overview),
    { minDf: c.minDf, maxFeatures: c.maxFeatures, bigrams: c.bigrams },
  );
  const { loss, description, excluded, correction } = lossFromConfig(c.loss, dataset.labels, dataset.genres, split.train);
  const model =
    c.hidden > 0
      ? buildTfidfMlp(vectorizer.features, dataset.genres.length, { hidden: c.hidden, l2: c.l2, seed: c.seed })
      : buildLogisticRegression(vectorizer.features, dataset.genres.length, { l2: c.l2 });
  const history = await trainModel(model, tfidfTrainingData(dataset, vectorizer, split), {
    epochs: c.epochs,
    batchSize: c.batchSize,
    learningRate: c.learningRate,
    schedule: (_epoch, lr0) => lr0,
    seed: c.seed,
    loss,
    progress: silentProgress(),
    ...trainOptions,
  });
  if (correction && history.bestEpoch > 0) correctOutputLayer(model, correction);
  const lossDescription = correction ? `${description}; ${correction.description}` : description;
  return { vectorizer, model, history, config: c, lossDescription, excluded, seconds: (performance.now() - started) / 1000 };
}

/** Probabilities of the model for the given films, row-major [rows.length, genres] (batched). */
export async function predictTfidf(model: tf.LayersModel, vectorizer: TfidfVectorizer, texts: readonly string[], batchSize = 256): Promise<Float32Array> {
  const matrix = vectorizer.transform(texts);
  const genres = (model.outputs[0]?.shape[1] as number | undefined) ?? 0;
  const out = new Float32Array(texts.length * genres);
  for (let start = 0; start < texts.length; start += batchSize) {
    const rows = Array.from({ length: Math.min(batchSize, texts.length - start) }, (_, i) => start + i);
    const probs = tf.tidy(() => model.predict(matrix.toTensor(rows)) as tf.Tensor);
    try {
      out.set(await probs.data(), start * genres);
    } finally {
      probs.dispose();
    }
  }
  return out;
}
