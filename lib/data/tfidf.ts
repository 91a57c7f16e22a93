/**
 * The overview as a bag of words: TF-IDF of word unigrams and bigrams (scikit-learn's TfidfVectorizer
 * semantics, Keras's tokens), stored as a sparse matrix and turned into dense rows batch by batch. It feeds
 * the linear text baseline, the joint model's 'tfidf' overview branch and the pretrained text head.
 */
import * as tf from "@tensorflow/tfjs";
import { loadJson, saveJson } from "../runtime/files";
import { tokenize } from "./text";

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

/** Unigrams then (optionally) bigrams of a text, with repeats (tokens from ./text.ts tokenize). */
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
 * Tokens are Keras's (./text.ts tokenize), not scikit-learn's token_pattern; unigrams + bigrams.
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
