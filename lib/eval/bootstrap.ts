/**
 * How sure a figure is: 95% bootstrap intervals over films for the headline metrics, and the paired bootstrap for
 * the difference between two models scored on the same films.
 *
 * Why over films: the validation films are a sample, and macro F1 over about a thousand of them moves by about 0.02
 * from the sample alone; a ranking by a difference smaller than that is noise. Each resample draws as many films as
 * there are, with replacement (seeded: the same seed gives the same interval), recomputes the metric, and the
 * interval is the 2.5th and 97.5th percentiles of the resampled values (the percentile bootstrap). The paired
 * bootstrap draws the same films for both models, so what they share (hard films, easy films) cancels out.
 *
 * Every metric is computed from per-film parts summed over the drawn films (for each genre: true positives, false
 * positives, false negatives, kept sparse since most cells are true negatives; a film's cross-entropy; its top-k hit),
 * so a resample costs about films x (true or predicted genres per film) additions.
 */
import { seededRandom } from "../runtime/random";
import { filmHits } from "./metrics";

export type HeadlineMetric = "microF1" | "macroF1" | "bce" | "top1HitRate" | "top3HitRate";
export const HEADLINE_METRICS: readonly HeadlineMetric[] = ["microF1", "macroF1", "bce", "top1HitRate", "top3HitRate"];

export interface Interval {
  /** the metric on the films as they are */
  estimate: number;
  /** the 2.5th percentile of the resampled values (with the default level 0.95) */
  low: number;
  high: number;
}

export interface BootstrapOptions {
  /** default 2000 */
  resamples?: number;
  /** default 0 */
  seed?: number;
  /** default 0.95 */
  level?: number;
}

export type Intervals = Record<HeadlineMetric, Interval>;

/** The per-film parts of every headline metric for one model at its thresholds. */
interface FilmParts {
  films: number;
  genres: number;
  /**
   * The film's decided cells that count towards F1, sparse (most cells are true negatives): film f's are
   * cells[start[f]] to cells[start[f + 1] - 1], each genre * 3 + 0 (true positive), 1 (false positive) or 2 (false
   * negative).
   */
  start: Uint32Array;
  cells: Uint32Array;
  /** the film's mean binary cross-entropy over genres (probabilities clipped as meanBinaryCrossEntropy clips) */
  bce: Float64Array;
  top1: Uint8Array;
  top3: Uint8Array;
}

const CLIP = 1e-7;

function filmParts(yTrue: ArrayLike<number>, yProb: ArrayLike<number>, genres: number, thresholds: number | ArrayLike<number>): FilmParts {
  if (yTrue.length !== yProb.length || genres <= 0 || yTrue.length % genres !== 0)
    throw new Error(`bootstrap: ${yTrue.length} labels and ${yProb.length} probabilities do not make films of ${genres} genres`);
  const films = yTrue.length / genres;
  if (films === 0) throw new Error("bootstrap: no films");
  const threshold = (j: number) => (typeof thresholds === "number" ? thresholds : (thresholds[j] as number));
  const start = new Uint32Array(films + 1);
  const cells: number[] = [];
  const bce = new Float64Array(films);
  for (let f = 0; f < films; f++) {
    let loss = 0;
    for (let j = 0; j < genres; j++) {
      const i = f * genres + j;
      const truth = (yTrue[i] as number) !== 0;
      const p = yProb[i] as number;
      const predicted = p >= threshold(j);
      if (truth || predicted) cells.push(j * 3 + (truth && predicted ? 0 : predicted ? 1 : 2));
      const q = Math.min(1 - CLIP, Math.max(CLIP, p));
      loss -= truth ? Math.log(q) : Math.log(1 - q);
    }
    bce[f] = loss / genres;
    start[f + 1] = cells.length;
  }
  return {
    films,
    genres,
    start,
    cells: Uint32Array.from(cells),
    bce,
    top1: Uint8Array.from(filmHits(yTrue, yProb, genres, 1), Number),
    top3: Uint8Array.from(filmHits(yTrue, yProb, genres, 3), Number),
  };
}

/** The headline metrics of the films drawn (`weights[f]`: how many times film f was drawn). */
function metricsOf(parts: FilmParts, weights: ArrayLike<number>): Record<HeadlineMetric, number> {
  const { films, genres } = parts;
  // counts[genre * 3 + 0 | 1 | 2]: the drawn films' true positives, false positives, false negatives of the genre
  const counts = new Float64Array(genres * 3);
  let n = 0;
  let bce = 0;
  let top1 = 0;
  let top3 = 0;
  for (let f = 0; f < films; f++) {
    const w = weights[f] as number;
    if (w === 0) continue;
    n += w;
    bce += w * (parts.bce[f] as number);
    top1 += w * (parts.top1[f] as number);
    top3 += w * (parts.top3[f] as number);
    for (let k = parts.start[f] as number, end = parts.start[f + 1] as number; k < end; k++) counts[parts.cells[k] as number]! += w;
  }
  let microTp = 0;
  let microDenominator = 0;
  let macroSum = 0;
  let withPositives = 0;
  for (let j = 0; j < genres; j++) {
    const t = counts[j * 3] as number;
    const fp = counts[j * 3 + 1] as number;
    const fn = counts[j * 3 + 2] as number;
    microTp += t;
    microDenominator += 2 * t + fp + fn;
    // macro F1 over the genres with a positive film among those drawn (as evaluate() does on the films it gets)
    if (t + fn > 0) {
      withPositives++;
      macroSum += (2 * t) / (2 * t + fp + fn);
    }
  }
  return {
    microF1: microDenominator === 0 ? 0 : (2 * microTp) / microDenominator,
    macroF1: withPositives === 0 ? 0 : macroSum / withPositives,
    bce: bce / n,
    top1HitRate: top1 / n,
    top3HitRate: top3 / n,
  };
}

/** The value below which a fraction q of the sorted values lie (linear interpolation, as numpy's default). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return (sorted[lo] as number) + (at - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

/**
 * Draws `resamples` samples of the films (seeded) and returns, per headline metric, the interval of
 * `statistic(resample)`: one model's metric, or the difference between two models.
 */
function bootstrap(
  films: number,
  statistic: (weights: Uint32Array) => Record<HeadlineMetric, number>,
  estimate: Record<HeadlineMetric, number>,
  options: BootstrapOptions,
): Intervals {
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  if (!(Number.isInteger(resamples) && resamples >= 10)) throw new Error(`bootstrap: resamples must be an integer >= 10, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new Error(`bootstrap: level must be in (0, 1), got ${level}`);
  const random = seededRandom(options.seed ?? 0);
  const values = Object.fromEntries(HEADLINE_METRICS.map((m) => [m, new Float64Array(resamples)])) as Record<HeadlineMetric, Float64Array>;
  const weights = new Uint32Array(films);
  for (let r = 0; r < resamples; r++) {
    weights.fill(0);
    for (let k = 0; k < films; k++) weights[Math.floor(random() * films)]!++;
    const v = statistic(weights);
    for (const m of HEADLINE_METRICS) values[m][r] = v[m];
  }
  const tail = (1 - level) / 2;
  return Object.fromEntries(
    HEADLINE_METRICS.map((m) => {
      const sorted = values[m].sort();
      return [m, { estimate: estimate[m], low: percentile(sorted, tail), high: percentile(sorted, 1 - tail) }];
    }),
  ) as Intervals;
}

/**
 * 95% bootstrap intervals over films of the headline metrics (micro and macro F1 at `thresholds`, mean BCE, top-1
 * and top-3 hit rates). yTrue and yProb are films x genres, row-major.
 */
export function bootstrapIntervals(
  yTrue: ArrayLike<number>,
  yProb: ArrayLike<number>,
  genres: number,
  thresholds: number | ArrayLike<number>,
  options: BootstrapOptions = {},
): Intervals {
  const parts = filmParts(yTrue, yProb, genres, thresholds);
  const all = new Uint32Array(parts.films).fill(1);
  return bootstrap(parts.films, (w) => metricsOf(parts, w), metricsOf(parts, all), options);
}

export interface Difference extends Interval {
  /** the interval covers 0: the two models cannot be told apart on these films */
  withinNoise: boolean;
}

/**
 * The paired bootstrap: model A minus model B on the same films (the same draws for both), per headline metric,
 * with its interval. A positive difference in F1 or hit rate favours A; in BCE it favours B.
 */
export function pairedBootstrap(
  yTrue: ArrayLike<number>,
  a: { probabilities: ArrayLike<number>; thresholds: number | ArrayLike<number> },
  b: { probabilities: ArrayLike<number>; thresholds: number | ArrayLike<number> },
  genres: number,
  options: BootstrapOptions = {},
): Record<HeadlineMetric, Difference> {
  const partsA = filmParts(yTrue, a.probabilities, genres, a.thresholds);
  const partsB = filmParts(yTrue, b.probabilities, genres, b.thresholds);
  const difference = (w: ArrayLike<number>) => {
    const ma = metricsOf(partsA, w);
    const mb = metricsOf(partsB, w);
    return Object.fromEntries(HEADLINE_METRICS.map((m) => [m, ma[m] - mb[m]])) as Record<HeadlineMetric, number>;
  };
  const all = new Uint32Array(partsA.films).fill(1);
  const intervals = bootstrap(partsA.films, difference, difference(all), options);
  return Object.fromEntries(
    HEADLINE_METRICS.map((m) => [m, { ...intervals[m], withinNoise: intervals[m].low <= 0 && intervals[m].high >= 0 }]),
  ) as Record<HeadlineMetric, Difference>;
}
