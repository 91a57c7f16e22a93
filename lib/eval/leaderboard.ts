/**
 * Scoring many models' predictions on the same films (notebooks 05 and 06): baselines, the single models, late
 * fusions and the joint models, side by side, with honest tuned-threshold figures. workbook/leaderboard.ts shows it.
 *
 * Thresholds (and the late-fusion weight) are tuned on the validation split, which is also where the
 * models are compared. Tuning and scoring on the same films would flatter every model, so both are
 * cross-fitted: the validation films are split in two seeded halves, each half is scored with what was
 * tuned on the other half, and the two halves' decisions are pooled (eval/cross-fit.ts).
 *
 * How sure each figure is (eval/bootstrap.ts): every row's tuned micro and macro F1 comes with its 95% bootstrap
 * interval over films, and the ranking pairs each row with the best one on the same films (the paired bootstrap):
 * where the interval of the difference covers 0 the row is "within noise" of the best, not ranked apart. The
 * cross-fitted thresholds are held fixed in the resamples, so the intervals leave out the thresholds' own variance.
 * Seeded by the leaderboard's seed: the same seed gives the same intervals.
 */
import type { Dataset } from "../data/dataset";
import type { Split } from "../data/split";
import type { ModelRole } from "../kinds/kind";
import { Trained, kindSpec } from "../kinds/registry";
import { frequencyPrior, priorPredictions } from "../models/baselines";
import { BootstrapOptions, Difference, Interval, bootstrapIntervals, pairedBootstrap } from "./bootstrap";
import { Comparison, ModelResult, compareModels } from "./comparison";
import { CrossFittedScore, crossFittedScore, rowsOf, twoFolds } from "./cross-fit";
import { meanBinaryCrossEntropy } from "./metrics";

/**
 * What a row of the leaderboard is, which the narrative reads (never the display names):
 *   prior        the genre-frequency prior;
 *   linear       the TF-IDF + logistic regression baseline;
 *   text-branch  the joint model's text branch trained alone (what the joint model is without the poster);
 *   poster, overview  single-modality models;
 *   late         a late fusion of single models;
 *   joint        a joint poster + overview model;
 *   text-head, poster-head  heads on pretrained features (notebook 06): the pretrained joint model's branches alone;
 *   late-heads   the late fusion of the two heads;
 *   pretrained   the joint model on pretrained features.
 */
export type ContenderRole = ModelRole | "prior" | "late" | "late-heads";

const ROLE_GROUP: Record<ContenderRole, string> = {
  prior: "baseline",
  linear: "baseline",
  "text-branch": "baseline",
  poster: "single model",
  overview: "single model",
  late: "late fusion",
  joint: "joint model",
  "text-head": "pretrained head",
  "poster-head": "pretrained head",
  "late-heads": "late fusion",
  pretrained: "joint model",
};

export interface Contender {
  name: string;
  role: ContenderRole;
  /** Row-major [films, genres], aligned with the leaderboard's films. */
  probabilities: Float32Array;
}

/** The leaderboard's "kind" column for a role. */
export function roleGroup(role: ContenderRole): string {
  return ROLE_GROUP[role];
}

/** The leaderboard's ranked figures: F1 at the cross-fitted tuned thresholds. */
export type RankedMetric = "microF1" | "macroF1";
export const RANKED_METRICS: readonly RankedMetric[] = ["microF1", "macroF1"];

/** Where a row stands on one ranked figure. */
export interface Standing {
  /** the row's figure with its 95% bootstrap interval over films */
  interval: Interval;
  /** this row minus the best row, paired over the same films (absent for the best row itself) */
  vsBest?: Difference;
  /** "within noise": the interval of the difference to the best row covers 0; "behind": it lies below 0 */
  rank: "best" | "within noise" | "behind";
}

/**
 * A contender scored (eval/cross-fit.ts crossFittedScore): `tuned` scores its `decisions` at per-genre thresholds
 * tuned on the other half of the films; its probability-based figures (BCE, top-k) are taken from `atHalf`.
 */
export interface ScoredContender extends Contender, CrossFittedScore {
  standing: Record<RankedMetric, Standing>;
}

/** Scored contenders on the same films, with what their intervals and paired differences need. */
export interface Leaderboard {
  genres: readonly string[];
  yTrue: Float32Array;
  /** the seed of the cross-fitting halves and of the bootstrap */
  seed: number;
  /** bootstrap resamples (default 2000) */
  resamples?: number;
  rows: ScoredContender[];
}

/**
 * Scores every contender at 0.5 and at cross-fitted tuned thresholds, each tuned F1 with its 95% interval and its
 * standing against the best row (seeded by `seed`).
 */
export function scoreContenders(
  yTrue: Float32Array,
  genres: readonly string[],
  contenders: readonly Contender[],
  seed: number,
  options: { resamples?: number } = {},
): Leaderboard {
  const scored = contenders.map((c) => ({ ...c, ...crossFittedScore(yTrue, c.probabilities, genres, seed) }));
  const board = { genres, yTrue, seed, ...options, rows: [] as ScoredContender[] };
  const bootstrap = bootstrapOptions(board);
  const intervals = scored.map((s) => bootstrapIntervals(yTrue, s.decisions, genres.length, 0.5, bootstrap));
  const best = Object.fromEntries(
    RANKED_METRICS.map((m) => [m, intervals.reduce((b, iv, i) => (iv[m].estimate > (intervals[b] as typeof iv)[m].estimate ? i : b), 0)]),
  ) as Record<RankedMetric, number>;
  board.rows = scored.map((s, i) => {
    const standing = (m: RankedMetric): Standing => {
      const interval = (intervals[i] as (typeof intervals)[number])[m];
      if (i === best[m]) return { interval, rank: "best" };
      const vsBest = pairedDecisions(board, s, scored[best[m]] as typeof s)[m];
      return { interval, vsBest, rank: vsBest.withinNoise ? "within noise" : "behind" };
    };
    return { ...s, standing: { microF1: standing("microF1"), macroF1: standing("macroF1") } };
  });
  return board;
}

function bootstrapOptions(board: Pick<Leaderboard, "seed" | "resamples">): BootstrapOptions {
  return { seed: board.seed, ...(board.resamples === undefined ? {} : { resamples: board.resamples }) };
}

function pairedDecisions(
  board: Pick<Leaderboard, "genres" | "yTrue" | "seed" | "resamples">,
  a: { decisions: Float32Array },
  b: { decisions: Float32Array },
) {
  return pairedBootstrap(
    board.yTrue,
    { probabilities: a.decisions, thresholds: 0.5 },
    { probabilities: b.decisions, thresholds: 0.5 },
    board.genres.length,
    bootstrapOptions(board),
  );
}

/**
 * Row a minus row b of a leaderboard on the same films, paired: tuned micro and macro F1 (their cross-fitted
 * decisions) and the BCE of the probabilities, each with its 95% interval and whether it covers 0 (within noise).
 */
export function leaderboardDifference(
  board: Leaderboard,
  a: ScoredContender,
  b: ScoredContender,
): Record<RankedMetric | "bce", Difference> {
  const f1 = pairedDecisions(board, a, b);
  const bce = pairedBootstrap(
    board.yTrue,
    { probabilities: a.probabilities, thresholds: 0.5 },
    { probabilities: b.probabilities, thresholds: 0.5 },
    board.genres.length,
    bootstrapOptions(board),
  ).bce;
  return { microF1: f1.microF1, macroF1: f1.macroF1, bce };
}

/** Models scored on the same films as the leaderboard scores them, and for two models the second minus the first. */
export interface HeadToHead {
  board: Leaderboard;
  /**
   * For two models: the second minus the first on the same films, paired (leaderboardDifference): tuned micro and
   * macro F1 and the BCE, each with its 95% interval, within noise where it covers 0.
   */
  difference?: Record<RankedMetric | "bce", Difference>;
}

/**
 * Models' probabilities for the same films (row-major [films, genres], aligned with `yTrue`) scored as the leaderboard
 * scores them (scoreContenders: F1 at thresholds cross-fitted on two halves seeded by `seed`, the BCE), and for two
 * models their paired difference.
 */
export function scoreHeadToHead(yTrue: Float32Array, genres: readonly string[], models: readonly Contender[], seed: number): HeadToHead {
  const board = scoreContenders(yTrue, genres, models, seed);
  const [first, second] = board.rows;
  if (board.rows.length !== 2 || !first || !second) return { board };
  return { board, difference: leaderboardDifference(board, second, first) };
}

/**
 * Trained models on the films `rows` of a dataset: each predicts them (eval/comparison.ts compareModels: the films all
 * of them could predict, the models on one split), then scoreHeadToHead. Notebook 08's check of the search's winner
 * against the preset's model.
 */
export async function headToHead(
  models: readonly { name: string; trained: Trained }[],
  dataset: Dataset,
  rows: readonly number[],
  options: { cacheDir: string; seed: number; log?: (line: string) => void },
): Promise<HeadToHead> {
  // ids by position: the two models are usually of one kind, whose id compareModels would otherwise give both
  const compared = models.map(({ name, trained }, k) => ({ id: `model-${k + 1}`, name, trained }));
  const comparison = await compareModels(compared, dataset, rows, { cacheDir: options.cacheDir, log: options.log ?? (() => undefined) });
  const contenders = comparison.models.map((m) => ({ name: m.name, role: kindSpec(m.trained).role, probabilities: m.probabilities }));
  return scoreHeadToHead(comparison.yTrue, comparison.genres, contenders, options.seed);
}

/**
 * Late fusion: w * poster model + (1 - w) * overview model. The weight minimising validation BCE is chosen
 * per half on the other half (cross-fitted, as the thresholds), from 0, 0.05, ..., 1. Returns the fused
 * probabilities and the weight chosen on each half.
 */
export function weightedLateFusion(
  yTrue: Float32Array,
  a: Float32Array,
  b: Float32Array,
  genres: number,
  seed: number,
): { probabilities: Float32Array; weights: [number, number] } {
  const fold = twoFolds(yTrue.length / genres, seed);
  const n = fold.length;
  const out = new Float32Array(a.length);
  const weights: [number, number] = [0.5, 0.5];
  for (const f of [0, 1]) {
    const tuneRows = Array.from({ length: n }, (_, i) => i).filter((i) => fold[i] !== f);
    const t = rowsOf(yTrue, tuneRows, genres);
    const pa = rowsOf(a, tuneRows, genres);
    const pb = rowsOf(b, tuneRows, genres);
    let best = { w: 0.5, bce: Infinity };
    for (let k = 0; k <= 20; k++) {
      const w = k / 20;
      const bce = meanBinaryCrossEntropy(
        t,
        pa.map((v, i) => w * v + (1 - w) * (pb[i] as number)),
      );
      if (bce < best.bce - 1e-12 || (Math.abs(bce - best.bce) <= 1e-12 && Math.abs(w - 0.5) < Math.abs(best.w - 0.5))) best = { w, bce };
    }
    weights[f] = best.w;
    for (let i = 0; i < n; i++) {
      if (fold[i] !== f) continue;
      for (let j = 0; j < genres; j++)
        out[i * genres + j] = best.w * (a[i * genres + j] as number) + (1 - best.w) * (b[i * genres + j] as number);
    }
  }
  return { probabilities: out, weights };
}

/** The plain average of two models' probabilities (late fusion's baseline). */
export function averageFusion(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => (v + (b[i] as number)) / 2);
}

/** Leaderboard rows in this order of roles. */
const ROLE_ORDER: readonly ContenderRole[] = [
  "prior",
  "linear",
  "text-branch",
  "poster",
  "overview",
  "late",
  "joint",
  "text-head",
  "poster-head",
  "late-heads",
  "pretrained",
];

/**
 * The contenders of a comparison's films: the genre-frequency prior (of the training films), every compared
 * model in the role its kind plays, and the late fusions of the single models (average, and cross-fitted
 * weighted average) and of the two heads (cross-fitted weight) where both sides are there. Rows in role order.
 */
export function leaderboardContenders(comparison: Comparison, dataset: Dataset, split: Split, seed: number): Contender[] {
  const genres = comparison.genres.length;
  const byRole = (role: ContenderRole) => comparison.models.filter((m) => kindSpec(m.trained).role === role);
  const one = (role: ContenderRole): ModelResult | undefined => {
    const found = byRole(role);
    return found.length === 1 ? found[0] : undefined;
  };
  const rows: Contender[] = [
    {
      name: "genre-frequency prior",
      role: "prior",
      probabilities: priorPredictions(frequencyPrior(dataset.labels, genres, split.train), comparison.films.length),
    },
  ];
  for (const role of ROLE_ORDER) {
    for (const m of byRole(role)) rows.push({ name: m.name, role, probabilities: m.probabilities });
    const poster = one("poster");
    const overview = one("overview");
    if (role === "late" && poster && overview) {
      const late = weightedLateFusion(comparison.yTrue, poster.probabilities, overview.probabilities, genres, seed);
      rows.push(
        { name: "late fusion: average", role: "late", probabilities: averageFusion(poster.probabilities, overview.probabilities) },
        { name: `late fusion: weighted (w = ${late.weights.join(" / ")})`, role: "late", probabilities: late.probabilities },
      );
    }
    const text = one("text-head");
    const posterHead = one("poster-head");
    if (role === "late-heads" && text && posterHead) {
      const late = weightedLateFusion(comparison.yTrue, posterHead.probabilities, text.probabilities, genres, seed);
      rows.push({
        name: `late fusion of the heads (w = ${late.weights.join(" / ")})`,
        role: "late-heads",
        probabilities: late.probabilities,
      });
    }
  }
  return rows;
}
