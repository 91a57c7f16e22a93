/**
 * Cross-fitted scoring: a model's F1 at per-genre thresholds tuned on the same films it is scored on would be
 * flattered, so the films are split in two seeded halves, each half is decided with the thresholds tuned on the other
 * half (eval/metrics.ts tuneThresholds), and the two halves' decisions are pooled and scored. This is the one scoring
 * of tuned F1 that the leaderboards (eval/leaderboard.ts), the tuner's trials (tune/tune.ts) and notebook 08's check
 * of the winner against the default (workbook/tune.ts) use, so that their figures mean the same thing.
 */
import { seededRandom, shuffled } from "../runtime/random";
import { Evaluation, evaluate, tuneThresholds } from "./metrics";

/** Two seeded halves of n films: fold[i] is 0 or 1. */
export function twoFolds(n: number, seed: number): Uint8Array {
  const fold = new Uint8Array(n);
  shuffled(
    Array.from({ length: n }, (_, i) => i),
    seededRandom(seed),
  ).forEach((film, k) => {
    fold[film] = k % 2;
  });
  return fold;
}

/** The given rows of a row-major matrix of `width` columns, as a new matrix. */
export function rowsOf(data: ArrayLike<number>, rows: readonly number[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => {
    for (let g = 0; g < width; g++) out[i * width + g] = data[r * width + g] as number;
  });
  return out;
}

/** Cross-fitted decisions and the thresholds behind them. */
export interface CrossFittedDecisions {
  /** 0/1 decisions for every film and genre, row-major [films, genres]. */
  decisions: Float32Array;
  /** thresholds[f]: the per-genre thresholds the films of half f were decided with (tuned on the other half). */
  thresholds: [number[], number[]];
}

function decideCrossFitted(
  yTrue: ArrayLike<number>,
  yProb: ArrayLike<number>,
  genres: readonly string[],
  fold: Uint8Array,
): CrossFittedDecisions {
  const g = genres.length;
  const n = fold.length;
  const decisions = new Float32Array(n * g);
  const used: number[][] = [];
  for (const f of [0, 1]) {
    const tuneRows = Array.from({ length: n }, (_, i) => i).filter((i) => fold[i] !== f);
    const applyRows = Array.from({ length: n }, (_, i) => i).filter((i) => fold[i] === f);
    const { thresholds } = tuneThresholds(rowsOf(yTrue, tuneRows, g), rowsOf(yProb, tuneRows, g), genres);
    used.push(thresholds);
    for (const i of applyRows) {
      for (let j = 0; j < g; j++)
        decisions[i * g + j] = Math.fround(yProb[i * g + j] as number) > Math.fround(thresholds[j] as number) ? 1 : 0;
    }
  }
  return { decisions, thresholds: used as [number[], number[]] };
}

/** 0/1 decisions for every film, each half decided by thresholds tuned on the other half. */
export function crossFittedDecisions(
  yTrue: ArrayLike<number>,
  yProb: ArrayLike<number>,
  genres: readonly string[],
  fold: Uint8Array,
): Float32Array {
  return decideCrossFitted(yTrue, yProb, genres, fold).decisions;
}

/** A model's probabilities scored at 0.5 and at cross-fitted tuned thresholds. */
export interface CrossFittedScore extends CrossFittedDecisions {
  /** Every figure at threshold 0.5. */
  atHalf: Evaluation;
  /**
   * The cross-fitted decisions scored: its F1, precision and recall figures are exact; its probability-based figures
   * (BCE, top-k) are meaningless, since it scores 0/1 decisions: take those from atHalf.
   */
  tuned: Evaluation;
}

/**
 * Scores a model's probabilities (row-major [films, genres], aligned with `yTrue`) at 0.5 and at per-genre
 * thresholds cross-fitted on two halves of the films seeded by `seed` (twoFolds).
 */
export function crossFittedScore(yTrue: Float32Array, yProb: Float32Array, genres: readonly string[], seed: number): CrossFittedScore {
  const fold = twoFolds(yTrue.length / genres.length, seed);
  const atHalf = evaluate(yTrue, yProb, genres, 0.5);
  const crossFitted = decideCrossFitted(yTrue, yProb, genres, fold);
  // Decisions given as 0/1 "probabilities" at threshold 0.5: the F1 figures are exact.
  const tuned = evaluate(yTrue, crossFitted.decisions, genres, 0.5);
  return { atHalf, tuned, ...crossFitted };
}
