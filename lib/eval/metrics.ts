/**
 * Keras-semantics classification metrics for multi-label outputs.
 *
 * Keras's `Precision()` / `Recall()` (as the coursework compiled them):
 *   - a prediction counts as positive when its probability is strictly greater than the threshold
 *     (Keras compares `y_pred > thresholds`, default 0.5): exactly 0.5 is negative;
 *   - true/false positives/negatives are counted over every output of every sample (micro average);
 *   - the counts are ACCUMULATED over the whole epoch and the ratio is taken at the end, which is not the
 *     mean of per-batch ratios;
 *   - an empty denominator gives 0 (`tf.math.divide_no_nan`).
 * Accumulate with `addCounts(total, countsAtThreshold(labels, probabilities))` per batch, then call
 * `precision(total)` / `recall(total)`.
 */
import { KERAS_EPSILON } from "../models/losses";

export interface ConfusionCounts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export function emptyCounts(): ConfusionCounts {
  return { tp: 0, fp: 0, fn: 0, tn: 0 };
}

/** Element-wise sum (a new object; the arguments are left as they are). */
export function addCounts(a: ConfusionCounts, b: ConfusionCounts): ConfusionCounts {
  return { tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn, tn: a.tn + b.tn };
}

/**
 * Confusion counts over flat arrays of labels (0/1; any non-zero value is a positive label, as Keras
 * casts labels to bool) and probabilities: all outputs of all samples together (micro).
 * Positive prediction iff probability > threshold, compared in float32 as Keras does (so a float32 0.3
 * is not above a threshold of 0.3). NaN probabilities are negative predictions.
 */
export function countsAtThreshold(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, threshold = 0.5): ConfusionCounts {
  if (yTrue.length !== yPred.length) {
    throw new Error(`countsAtThreshold: ${yTrue.length} labels but ${yPred.length} predictions`);
  }
  const t = Math.fround(threshold);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const positive = (yTrue[i] as number) !== 0;
    const predicted = Math.fround(yPred[i] as number) > t;
    if (predicted) {
      if (positive) tp++;
      else fp++;
    } else if (positive) fn++;
    else tn++;
  }
  return { tp, fp, fn, tn };
}

/** tp / (tp + fp), 0 when nothing was predicted positive. */
export function precision(c: ConfusionCounts): number {
  const d = c.tp + c.fp;
  return d === 0 ? 0 : c.tp / d;
}

/** tp / (tp + fn), 0 when there are no positive labels. */
export function recall(c: ConfusionCounts): number {
  const d = c.tp + c.fn;
  return d === 0 ? 0 : c.tp / d;
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation metrics for multi-label predictions (plain functions on plain data; no tfjs).
//
// Data layout: `yTrue` (labels) and `yProb` (probabilities) are row-major flat arrays of shape
// [films, genres]: cell (film f, genre g) is at index f * genres.length + g. Any array-like of numbers
// works (Float32Array, Uint8Array, number[]). `genres` gives the column names (unique, non-empty list).
//
// Conventions (the same everywhere below):
//   - a label is positive when it is non-zero (as Keras casts labels to bool, and as countsAtThreshold);
//   - a genre is predicted for a film when probability > threshold, compared in float32
//     (Math.fround(p) > Math.fround(threshold)), exactly like countsAtThreshold / Keras: a probability
//     equal to the threshold is NOT a positive prediction; NaN probabilities are never positive;
//   - thresholds: one number for every genre, or one per genre (in genre order);
//   - a ratio whose denominator is empty is `null` (undefined), never a silent 0, except where noted
//     (F1 with positives but no predictions is 0, samples F1 of an empty film is 0, the Keras-style
//     figures follow Keras's divide_no_nan and give 0).
// ---------------------------------------------------------------------------------------------------------

/** One number for every genre, or one per genre (in genre order). */
export type Thresholds = number | ArrayLike<number>;

/** Metrics of one genre (one column) at its threshold. */
export interface GenreMetrics {
  /** the threshold used for this genre */
  threshold: number;
  /** tp / (tp + fp); null when the genre is never predicted (noPredictions) */
  precision: number | null;
  /** tp / (tp + fn); null when the genre has no positive film (noPositives) */
  recall: number | null;
  /**
   * 2tp / (2tp + fp + fn); null when the genre has no positive film (noPositives: it has nothing to
   * find, so it has no F1 and is left out of the macro average). With positives but no predictions it is
   * 0 (precision is null, recall 0): sklearn's zero_division=0 convention, and the formula gives 0 anyway.
   */
  f1: number | null;
  /** number of films whose label for this genre is positive */
  support: number;
  /** number of films for which this genre is predicted (tp + fp) */
  predicted: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  /** support === 0: no film of the data has this genre */
  noPositives: boolean;
  /** predicted === 0: the genre is never predicted */
  noPredictions: boolean;
}

/** Everything `evaluate` reports; plain data, JSON-serialisable (no NaN/Infinity unless the inputs hold NaN). */
export interface Evaluation {
  films: number;
  genres: number;
  /** per-genre thresholds used, in genre order */
  thresholds: number[];
  /** mean binary cross-entropy over all cells, probabilities clipped to [1e-7, 1 - 1e-7] (see `meanBinaryCrossEntropy`) */
  bce: number;
  /** fraction of film x genre cells whose prediction differs from the label */
  hammingLoss: number;
  /** micro counts: over all films x genres */
  micro: ConfusionCounts;
  /** micro tp / (tp + fp); null when nothing at all is predicted */
  microPrecision: number | null;
  /** micro tp / (tp + fn); null when there is no positive label at all */
  microRecall: number | null;
  /** micro 2tp / (2tp + fp + fn); null only when there are neither positives nor predictions */
  microF1: number | null;
  /** Keras `Precision()` at these thresholds (via countsAtThreshold): microPrecision, but 0 when nothing is predicted */
  kerasPrecision: number;
  /** Keras `Recall()` at these thresholds (via countsAtThreshold): microRecall, but 0 when there are no positives */
  kerasRecall: number;
  /** mean precision over genres with support > 0, a null precision counted as 0 (sklearn zero_division=0) */
  macroPrecision: number | null;
  /** mean recall over genres with support > 0 */
  macroRecall: number | null;
  /** mean F1 over genres with support > 0 (genres without positives are excluded); null if there are none */
  macroF1: number | null;
  /** F1 averaged with the supports as weights (genres without positives weigh 0); null if no positives at all */
  weightedF1: number | null;
  /** F1 per film, then the mean over films (sklearn 'samples'); see `samplesF1` for the empty-film convention */
  samplesF1: number;
  /** fraction of films with a true genre as the most probable genre */
  top1HitRate: number;
  /** fraction of films with at least one true genre among the 3 most probable genres */
  top3HitRate: number;
  /** mean over films of (true genres among the 3 most probable) / 3 */
  top3Precision: number;
  perGenre: Record<string, GenreMetrics>;
  /** genres with no positive film in the data (reported, excluded from macro averages) */
  genresWithoutPositives: string[];
  /** genres never predicted at their threshold */
  genresNeverPredicted: string[];
}

/** The default candidate thresholds of `tuneThresholds`: 0.05, 0.10, ..., 0.95 (exact decimals k / 20). */
export const DEFAULT_THRESHOLD_GRID: readonly number[] = Object.freeze(Array.from({ length: 19 }, (_, i) => (i + 1) / 20));

/** Checks shapes and returns [films, genres]. `genres` may be the names or their count. */
function shapeOf(fn: string, yTrue: ArrayLike<number>, yProb: ArrayLike<number>, genres: readonly string[] | number): [number, number] {
  const g = typeof genres === "number" ? genres : genres.length;
  if (!Number.isInteger(g) || g <= 0) throw new Error(`${fn}: need at least one genre (got ${String(genres)})`);
  if (typeof genres !== "number" && new Set(genres).size !== g) {
    throw new Error(`${fn}: genre names must be unique`);
  }
  if (yTrue.length !== yProb.length) {
    throw new Error(`${fn}: ${yTrue.length} labels but ${yProb.length} probabilities`);
  }
  if (yTrue.length % g !== 0) {
    throw new Error(`${fn}: ${yTrue.length} values is not a whole number of rows of ${g} genres`);
  }
  return [yTrue.length / g, g];
}

/** One threshold per genre (as given; comparisons round them to float32). */
function thresholdList(fn: string, thresholds: Thresholds, g: number): number[] {
  const list = typeof thresholds === "number" ? new Array<number>(g).fill(thresholds) : Array.from(thresholds);
  if (list.length !== g) throw new Error(`${fn}: ${list.length} thresholds for ${g} genres`);
  for (const t of list) {
    if (typeof t !== "number" || Number.isNaN(t)) throw new Error(`${fn}: threshold ${String(t)} is not a number`);
  }
  return list;
}

/** Predicted-positive matrix (1/0), same layout as the inputs. */
function predictionMatrix(yProb: ArrayLike<number>, thresholds: number[], films: number, g: number): Uint8Array {
  const t32 = thresholds.map((t) => Math.fround(t));
  const out = new Uint8Array(films * g);
  for (let f = 0; f < films; f++) {
    for (let j = 0; j < g; j++) {
      const i = f * g + j;
      if (Math.fround(yProb[i] as number) > (t32[j] as number)) out[i] = 1;
    }
  }
  return out;
}

function genreMetrics(threshold: number, c: ConfusionCounts): GenreMetrics {
  const support = c.tp + c.fn;
  const predicted = c.tp + c.fp;
  return {
    threshold,
    precision: predicted === 0 ? null : c.tp / predicted,
    recall: support === 0 ? null : c.tp / support,
    // support > 0 guarantees a non-empty denominator; 0 when nothing is predicted (zero_division=0)
    f1: support === 0 ? null : (2 * c.tp) / (2 * c.tp + c.fp + c.fn),
    support,
    predicted,
    tp: c.tp,
    fp: c.fp,
    fn: c.fn,
    tn: c.tn,
    noPositives: support === 0,
    noPredictions: predicted === 0,
  };
}

/** Confusion counts per genre column at that genre's threshold. */
function countsPerGenre(yTrue: ArrayLike<number>, predictedMatrix: Uint8Array, films: number, g: number): ConfusionCounts[] {
  const counts = Array.from({ length: g }, () => emptyCounts());
  for (let f = 0; f < films; f++) {
    for (let j = 0; j < g; j++) {
      const i = f * g + j;
      const positive = (yTrue[i] as number) !== 0;
      const c = counts[j] as ConfusionCounts;
      if (predictedMatrix[i]) {
        if (positive) c.tp++;
        else c.fp++;
      } else if (positive) c.fn++;
      else c.tn++;
    }
  }
  return counts;
}

/**
 * Precision, recall, F1, support and counts of every genre, keyed by genre name (in genre order).
 * See GenreMetrics for the null conventions.
 */
export function perGenreMetrics(
  yTrue: ArrayLike<number>,
  yProb: ArrayLike<number>,
  genres: readonly string[],
  thresholds: Thresholds = 0.5,
): Record<string, GenreMetrics> {
  const [films, g] = shapeOf("perGenreMetrics", yTrue, yProb, genres);
  const th = thresholdList("perGenreMetrics", thresholds, g);
  const counts = countsPerGenre(yTrue, predictionMatrix(yProb, th, films, g), films, g);
  const out: Record<string, GenreMetrics> = {};
  genres.forEach((name, j) => {
    out[name] = genreMetrics(th[j] as number, counts[j] as ConfusionCounts);
  });
  return out;
}

/**
 * Mean binary cross-entropy over all cells, in float64: probabilities clipped to [1e-7, 1 - 1e-7]
 * (Keras/TF.js `epsilon()`), loss -ln(p) for a positive label and -ln(1 - p) for a negative one.
 * This is TF.js's `losses.binaryCrossentropyLoss` (clip, then the logit form) up to float32 rounding. (Python
 * Keras on probabilities also adds 1e-7 inside each log, and on a sigmoid layer's output it uses the
 * logits without clipping: the difference matters only for probabilities within ~1e-6 of 0 or 1.)
 * Labels are binarised (non-zero = 1). NaN probabilities give NaN.
 */
export function meanBinaryCrossEntropy(yTrue: ArrayLike<number>, yProb: ArrayLike<number>): number {
  if (yTrue.length !== yProb.length) {
    throw new Error(`meanBinaryCrossEntropy: ${yTrue.length} labels but ${yProb.length} probabilities`);
  }
  if (yTrue.length === 0) throw new Error("meanBinaryCrossEntropy: no values");
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const p = Math.min(Math.max(yProb[i] as number, KERAS_EPSILON), 1 - KERAS_EPSILON);
    sum -= (yTrue[i] as number) !== 0 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / yTrue.length;
}

/** Fraction of film x genre cells whose prediction (prob > threshold, float32) differs from the label. */
export function hammingLoss(
  yTrue: ArrayLike<number>,
  yProb: ArrayLike<number>,
  genres: readonly string[] | number,
  thresholds: Thresholds = 0.5,
): number {
  const [films, g] = shapeOf("hammingLoss", yTrue, yProb, genres);
  if (films === 0) throw new Error("hammingLoss: no films");
  const pred = predictionMatrix(yProb, thresholdList("hammingLoss", thresholds, g), films, g);
  let wrong = 0;
  for (let i = 0; i < pred.length; i++) if ((pred[i] === 1) !== ((yTrue[i] as number) !== 0)) wrong++;
  return wrong / pred.length;
}

/**
 * sklearn's average='samples' F1 (as MM-IMDb reports it): per film F1 = 2|T∩P| / (|T| + |P|) over its
 * true genres T and predicted genres P, then the mean over all films.
 * Conventions: a film with true genres but no predicted genre scores 0 (the formula gives 0); a film with
 * NO true and NO predicted genre also scores 0 (sklearn's default zero_division, 'warn' = 0), so every
 * film counts in the mean. (In this dataset every film has 1-3 genres, so the second case never arises.)
 */
export function samplesF1(
  yTrue: ArrayLike<number>,
  yProb: ArrayLike<number>,
  genres: readonly string[] | number,
  thresholds: Thresholds = 0.5,
): number {
  const [films, g] = shapeOf("samplesF1", yTrue, yProb, genres);
  if (films === 0) throw new Error("samplesF1: no films");
  return samplesF1From(yTrue, predictionMatrix(yProb, thresholdList("samplesF1", thresholds, g), films, g), films, g);
}

function samplesF1From(yTrue: ArrayLike<number>, pred: Uint8Array, films: number, g: number): number {
  let sum = 0;
  for (let f = 0; f < films; f++) {
    let t = 0;
    let p = 0;
    let both = 0;
    for (let j = 0; j < g; j++) {
      const i = f * g + j;
      const isTrue = (yTrue[i] as number) !== 0;
      if (isTrue) t++;
      if (pred[i]) {
        p++;
        if (isTrue) both++;
      }
    }
    sum += t + p === 0 ? 0 : (2 * both) / (t + p);
  }
  return sum / films;
}

/**
 * Indices of the k most probable genres of row `offset` (descending probability; ties broken by genre
 * order, the earlier genre first; NaN ranks below every number). k is clamped to [0, g].
 */
function topIndices(yProb: ArrayLike<number>, offset: number, g: number, k: number): number[] {
  const idx = Array.from({ length: g }, (_, j) => j);
  const value = (j: number): number => {
    const v = yProb[offset + j] as number;
    return Number.isNaN(v) ? -Infinity : v;
  };
  idx.sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va !== vb) return vb - va;
    // equal values (incl. NaN vs -Infinity): NaN after numbers, then genre order
    const na = Number.isNaN(yProb[offset + a] as number) ? 1 : 0;
    const nb = Number.isNaN(yProb[offset + b] as number) ? 1 : 0;
    return na !== nb ? na - nb : a - b;
  });
  return idx.slice(0, Math.max(0, Math.min(k, g)));
}

function checkK(fn: string, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`${fn}: k must be a positive integer (got ${k})`);
}

/**
 * The k most probable genres of one film's probability row, highest first; ties are broken by genre
 * order (the earlier genre first), NaN ranks last; k larger than the number of genres returns them all.
 */
export function topK(row: ArrayLike<number>, genres: readonly string[], k: number): { genre: string; probability: number }[] {
  checkK("topK", k);
  if (row.length !== genres.length) throw new Error(`topK: ${row.length} probabilities for ${genres.length} genres`);
  return topIndices(row, 0, genres.length, k).map((j) => ({ genre: genres[j] as string, probability: row[j] as number }));
}

/**
 * Per film: is at least one of its true genres among its k most probable genres (ties by genre order)?
 * A film without any true genre is never a hit. Compare two models with `compareFilmHits`.
 */
export function filmHits(yTrue: ArrayLike<number>, yProb: ArrayLike<number>, genres: readonly string[] | number, k = 3): boolean[] {
  checkK("filmHits", k);
  const [films, g] = shapeOf("filmHits", yTrue, yProb, genres);
  const hits: boolean[] = [];
  for (let f = 0; f < films; f++) {
    hits.push(topIndices(yProb, f * g, g, k).some((j) => (yTrue[f * g + j] as number) !== 0));
  }
  return hits;
}

/** Fraction of films with at least one true genre among their k most probable genres (see filmHits). */
export function topKHitRate(yTrue: ArrayLike<number>, yProb: ArrayLike<number>, genres: readonly string[] | number, k: number): number {
  const hits = filmHits(yTrue, yProb, genres, k);
  if (hits.length === 0) throw new Error("topKHitRate: no films");
  return hits.filter(Boolean).length / hits.length;
}

/**
 * Precision at k: mean over films of (true genres among the k most probable) / k (k clamped to the
 * number of genres). Ties by genre order, as filmHits.
 */
export function topKPrecision(yTrue: ArrayLike<number>, yProb: ArrayLike<number>, genres: readonly string[] | number, k: number): number {
  checkK("topKPrecision", k);
  const [films, g] = shapeOf("topKPrecision", yTrue, yProb, genres);
  if (films === 0) throw new Error("topKPrecision: no films");
  const kk = Math.min(k, g);
  let sum = 0;
  for (let f = 0; f < films; f++) {
    const found = topIndices(yProb, f * g, g, kk).filter((j) => (yTrue[f * g + j] as number) !== 0).length;
    sum += found / kk;
  }
  return sum / films;
}

/** Film indices split by which of two models hits them (outputs of filmHits on the same films). */
export function compareFilmHits(
  a: readonly boolean[],
  b: readonly boolean[],
): { both: number[]; onlyA: number[]; onlyB: number[]; neither: number[] } {
  if (a.length !== b.length) throw new Error(`compareFilmHits: ${a.length} films vs ${b.length}`);
  const out = { both: [] as number[], onlyA: [] as number[], onlyB: [] as number[], neither: [] as number[] };
  a.forEach((hitA, i) => {
    const hitB = b[i] as boolean;
    (hitA ? (hitB ? out.both : out.onlyA) : hitB ? out.onlyB : out.neither).push(i);
  });
  return out;
}

/**
 * How often each genre is predicted (prob > threshold) vs how often it is true, in genre order, with the
 * same figures as fractions of the films: the data of a prediction-bias chart.
 */
export function predictedVsTrueCounts(
  yTrue: ArrayLike<number>,
  yProb: ArrayLike<number>,
  genres: readonly string[],
  thresholds: Thresholds = 0.5,
): { genre: string; predicted: number; actual: number; predictedRate: number | null; actualRate: number | null }[] {
  const [films, g] = shapeOf("predictedVsTrueCounts", yTrue, yProb, genres);
  const th = thresholdList("predictedVsTrueCounts", thresholds, g);
  const counts = countsPerGenre(yTrue, predictionMatrix(yProb, th, films, g), films, g);
  return genres.map((genre, j) => {
    const c = counts[j] as ConfusionCounts;
    const predicted = c.tp + c.fp;
    const actual = c.tp + c.fn;
    return {
      genre,
      predicted,
      actual,
      predictedRate: films === 0 ? null : predicted / films,
      actualRate: films === 0 ? null : actual / films,
    };
  });
}

/**
 * All the evaluation figures at the given thresholds (one number, or one per genre; default 0.5 as in
 * the coursework). See Evaluation for each field and the conventions at the top of this section.
 * Macro figures average over genres with support > 0 only: this equals sklearn's
 * f1_score(average='macro', labels=<genres with positives>), whereas sklearn's plain 'macro' over all
 * labels would count each positive-less genre as 0.
 */
export function evaluate(
  yTrue: ArrayLike<number>,
  yProb: ArrayLike<number>,
  genres: readonly string[],
  thresholds: Thresholds = 0.5,
): Evaluation {
  const [films, g] = shapeOf("evaluate", yTrue, yProb, genres);
  if (films === 0) throw new Error("evaluate: no films");
  const th = thresholdList("evaluate", thresholds, g);
  const pred = predictionMatrix(yProb, th, films, g);
  const counts = countsPerGenre(yTrue, pred, films, g);

  const perGenre: Record<string, GenreMetrics> = {};
  const genresWithoutPositives: string[] = [];
  const genresNeverPredicted: string[] = [];
  let micro = emptyCounts();
  let withPositives = 0;
  let sumP = 0;
  let sumR = 0;
  let sumF1 = 0;
  let weightedSum = 0;
  genres.forEach((name, j) => {
    const c = counts[j] as ConfusionCounts;
    const m = genreMetrics(th[j] as number, c);
    perGenre[name] = m;
    micro = addCounts(micro, c);
    if (m.noPositives) genresWithoutPositives.push(name);
    if (m.noPredictions) genresNeverPredicted.push(name);
    if (!m.noPositives) {
      withPositives++;
      sumP += m.precision ?? 0; // zero_division=0 for the macro mean
      sumR += m.recall as number;
      sumF1 += m.f1 as number;
      weightedSum += m.support * (m.f1 as number);
    }
  });

  const keras = kerasStyleCounts(yTrue, yProb, th, films, g);
  const microPredicted = micro.tp + micro.fp;
  const microSupport = micro.tp + micro.fn;
  const microF1Denominator = 2 * micro.tp + micro.fp + micro.fn;
  let wrong = 0;
  for (let i = 0; i < pred.length; i++) if ((pred[i] === 1) !== ((yTrue[i] as number) !== 0)) wrong++;

  return {
    films,
    genres: g,
    thresholds: th,
    bce: meanBinaryCrossEntropy(yTrue, yProb),
    hammingLoss: wrong / pred.length,
    micro,
    microPrecision: microPredicted === 0 ? null : micro.tp / microPredicted,
    microRecall: microSupport === 0 ? null : micro.tp / microSupport,
    microF1: microF1Denominator === 0 ? null : (2 * micro.tp) / microF1Denominator,
    kerasPrecision: precision(keras),
    kerasRecall: recall(keras),
    macroPrecision: withPositives === 0 ? null : sumP / withPositives,
    macroRecall: withPositives === 0 ? null : sumR / withPositives,
    macroF1: withPositives === 0 ? null : sumF1 / withPositives,
    weightedF1: microSupport === 0 ? null : weightedSum / microSupport,
    samplesF1: samplesF1From(yTrue, pred, films, g),
    top1HitRate: topKHitRate(yTrue, yProb, g, 1),
    top3HitRate: topKHitRate(yTrue, yProb, g, 3),
    top3Precision: topKPrecision(yTrue, yProb, g, 3),
    perGenre,
    genresWithoutPositives,
    genresNeverPredicted,
  };
}

/**
 * Keras-style micro counts through the trainer's own counting, genre by genre (each column at its threshold),
 * accumulated as Keras accumulates batches: what kerasPrecision and kerasRecall are computed from.
 */
function kerasStyleCounts(
  yTrue: ArrayLike<number>,
  yProb: ArrayLike<number>,
  th: readonly number[],
  films: number,
  g: number,
): ConfusionCounts {
  let keras = emptyCounts();
  for (let j = 0; j < g; j++) {
    const labels = new Array<number>(films);
    const probs = new Array<number>(films);
    for (let f = 0; f < films; f++) {
      labels[f] = yTrue[f * g + j] as number;
      probs[f] = yProb[f * g + j] as number;
    }
    keras = addCounts(keras, countsAtThreshold(labels, probs, th[j] as number));
  }
  return keras;
}

/** Options of tuneThresholds. */
export interface TuneThresholdsOptions {
  /** candidate thresholds (default DEFAULT_THRESHOLD_GRID: 0.05, 0.10, ..., 0.95) */
  candidates?: ArrayLike<number>;
  /**
   * also try each distinct (float32) probability of the genre's column as a threshold (default false).
   * Since prediction is prob > threshold, threshold = p predicts exactly the films above p.
   */
  includeProbabilities?: boolean;
}

/** Result of tuneThresholds. */
export interface ThresholdTuning {
  /** per-genre thresholds in genre order, ready for `evaluate(..., thresholds)` */
  thresholds: number[];
  perGenre: Record<string, { threshold: number; f1: number | null; f1At05: number | null; noPositives: boolean }>;
  /** genres with no positive film: kept at 0.5, f1 null */
  genresWithoutPositives: string[];
}

/**
 * Per-genre thresholds maximising each genre's F1 (2tp / (2tp + fp + fn), prediction = prob > threshold in
 * float32, as everywhere here) on the given data — tune on validation data, not on the test set.
 * Ties (equal F1) go to the candidate closest to 0.5; equally close candidates (0.45 vs 0.55) go to the
 * higher one (fewer positive predictions). A genre without positive films has no F1 to maximise: it keeps
 * 0.5 and is flagged. Cost: one sort per genre plus a binary search per candidate.
 */
export function tuneThresholds(
  yTrue: ArrayLike<number>,
  yProb: ArrayLike<number>,
  genres: readonly string[],
  options: TuneThresholdsOptions = {},
): ThresholdTuning {
  const [films, g] = shapeOf("tuneThresholds", yTrue, yProb, genres);
  const grid = Array.from(options.candidates ?? DEFAULT_THRESHOLD_GRID);
  for (const t of grid) {
    if (typeof t !== "number" || Number.isNaN(t)) throw new Error(`tuneThresholds: candidate ${String(t)} is not a number`);
  }
  if (grid.length === 0 && !options.includeProbabilities) throw new Error("tuneThresholds: no candidate thresholds");

  const thresholds: number[] = [];
  const perGenre: ThresholdTuning["perGenre"] = {};
  const genresWithoutPositives: string[] = [];
  genres.forEach((name, j) => {
    const { support, probabilities, f1At } = genreF1(yTrue, yProb, j, films, g);
    if (support === 0) {
      thresholds.push(0.5);
      genresWithoutPositives.push(name);
      perGenre[name] = { threshold: 0.5, f1: null, f1At05: null, noPositives: true };
      return;
    }
    const candidates = options.includeProbabilities ? grid.concat(probabilities) : grid;
    let best = NaN;
    let bestF1 = -1;
    for (const t of candidates) {
      const f1 = f1At(t);
      if (f1 > bestF1 || (f1 === bestF1 && closerToHalf(t, best))) {
        best = t;
        bestF1 = f1;
      }
    }
    thresholds.push(best);
    perGenre[name] = { threshold: best, f1: bestF1, f1At05: f1At(0.5), noPositives: false };
  });
  return { thresholds, perGenre, genresWithoutPositives };
}

/**
 * One genre's F1 at any threshold, from its column sorted once: the column's positive films (support), its
 * non-NaN float32 probabilities in ascending order, and f1At(t) by a binary search (prediction = prob > t in float32).
 */
function genreF1(
  yTrue: ArrayLike<number>,
  yProb: ArrayLike<number>,
  j: number,
  films: number,
  g: number,
): { support: number; probabilities: number[]; f1At: (t: number) => number } {
  const cells: { p: number; positive: boolean }[] = [];
  let support = 0;
  for (let f = 0; f < films; f++) {
    const positive = (yTrue[f * g + j] as number) !== 0;
    if (positive) support++;
    const p = Math.fround(yProb[f * g + j] as number);
    if (!Number.isNaN(p)) cells.push({ p, positive });
  }
  cells.sort((a, b) => a.p - b.p);
  const n = cells.length;
  // positivesBelow[i] = positive labels among cells[0..i)
  const positivesBelow = new Int32Array(n + 1);
  cells.forEach((c, i) => {
    positivesBelow[i + 1] = (positivesBelow[i] as number) + (c.positive ? 1 : 0);
  });
  const positivesSorted = positivesBelow[n] as number;
  const f1At = (t: number): number => {
    const t32 = Math.fround(t);
    // first index whose probability is > t32
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cells[mid] as { p: number }).p > t32) hi = mid;
      else lo = mid + 1;
    }
    const predicted = n - lo;
    const tp = positivesSorted - (positivesBelow[lo] as number);
    const fp = predicted - tp;
    const fn = support - tp;
    return (2 * tp) / (2 * tp + fp + fn);
  };
  return { support, probabilities: cells.map((c) => c.p), f1At };
}

/** Tie-break of tuneThresholds: is t a better pick than `current` (closer to 0.5; equally close: higher)? */
function closerToHalf(t: number, current: number): boolean {
  const dt = Math.abs(t - 0.5);
  const dc = Math.abs(current - 0.5);
  if (Math.abs(dt - dc) > 1e-12) return dt < dc;
  return t > current;
}
