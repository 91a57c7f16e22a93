import * as assert from "node:assert/strict";
import { crossFittedDecisions, crossFittedScore, twoFolds } from "../lib/eval/cross-fit";

// Expected values are worked out by hand from the halves, never from the functions' own output.

describe("cross-fitted scoring (eval/cross-fit.ts): the leaderboards', the tuner's and the tune check's", () => {
  it("twoFolds splits n films into two seeded halves (sizes differ by at most one)", () => {
    for (const n of [10, 11]) {
      const fold = twoFolds(n, 42);
      const ones = fold.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(n - 2 * ones) <= 1, `${ones} of ${n}`);
      assert.ok(fold.every((f) => f === 0 || f === 1));
      assert.deepEqual(Array.from(twoFolds(n, 42)), Array.from(fold), "same seed, same halves");
    }
    assert.notDeepEqual(Array.from(twoFolds(40, 1)), Array.from(twoFolds(40, 2)));
  });

  it("crossFittedDecisions decides each half with the threshold tuned on the OTHER half", () => {
    // One genre, 8 films. Half 0: positives at 0.30, negatives at 0.10 -> every grid threshold in [0.10, 0.30)
    // separates them (F1 1); the tie goes to the one closest to 0.5: 0.25. Half 1: positives at 0.90, negatives at
    // 0.28 -> thresholds in [0.28, 0.90) separate them; closest to 0.5: 0.50.
    // Half 1 is then decided at 0.25 (tuned on half 0): its negatives at 0.28 become positive predictions;
    // half 0 is decided at 0.50 (tuned on half 1): its positives at 0.30 become negative predictions.
    const n = 8;
    const fold = twoFolds(n, 7);
    const yTrue = Float32Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const yProb = Float32Array.from({ length: n }, (_, i) => (fold[i] === 0 ? (yTrue[i] ? 0.3 : 0.1) : yTrue[i] ? 0.9 : 0.28));
    const decisions = crossFittedDecisions(yTrue, yProb, ["Drama"], fold);
    for (let i = 0; i < n; i++) {
      const expected = fold[i] === 0 ? 0 : 1; // half 0: nothing passes 0.5; half 1: everything passes 0.25
      assert.equal(decisions[i], expected, `film ${i} (half ${fold[i]}, label ${yTrue[i]}, p ${yProb[i]})`);
    }
  });

  it("crossFittedScore: thresholds tuned on each half, F1 of the pooled decisions, figures at 0.5, on a case worked by hand", () => {
    // Two genres, 4 films, two per half (twoFolds deals the shuffled films out in turn). In each half, film "hi" and
    // film "lo" (by the order of their index) get these probabilities and labels:
    //            half 0: hi       lo          half 1: hi       lo
    //   A        0.55 (1)   0.10 (0)          0.70 (1)   0.62 (0)
    //   B        0.90 (1)   0.20 (0)          0.80 (1)   0.45 (1)
    // Thresholds are from the grid 0.05, ..., 0.95, the best F1 and, among ties, the closest to 0.5:
    //   tuned on half 0, A: F1 1 for t in [0.10, 0.55) -> 0.50;   B: F1 1 for t in [0.20, 0.90) -> 0.50
    //   tuned on half 1, A: F1 1 for t in [0.62, 0.70) -> 0.65;   B: F1 1 for t < 0.45 -> 0.40
    // Half 0 is decided at (0.65, 0.40): A 0.55 -> 0 (missed), 0.10 -> 0; B 0.90 -> 1, 0.20 -> 0.
    // Half 1 is decided at (0.50, 0.50): A 0.70 -> 1, 0.62 -> 1 (false positive); B 0.80 -> 1, 0.45 -> 0 (missed).
    // A: tp 1, fp 1, fn 1 -> F1 2/4 = 0.5; B: tp 2, fp 0, fn 1 -> F1 4/5 = 0.8.
    // micro: tp 3, fp 1, fn 2 -> 6/9; macro: (0.5 + 0.8) / 2 = 0.65.
    // At 0.5: A: 0.55, 0.70 right, 0.62 false positive -> tp 2, fp 1 -> 4/5; B: 0.90, 0.80 right, 0.45 missed -> 4/5.
    const seed = 11;
    const fold = twoFolds(4, seed);
    const table: Record<string, [number, number][]> = {
      "0hi": [
        [0.55, 1],
        [0.9, 1],
      ],
      "0lo": [
        [0.1, 0],
        [0.2, 0],
      ],
      "1hi": [
        [0.7, 1],
        [0.8, 1],
      ],
      "1lo": [
        [0.62, 0],
        [0.45, 1],
      ],
    };
    const yTrue = new Float32Array(8);
    const yProb = new Float32Array(8);
    const expectedDecisions: Record<string, number[]> = { "0hi": [0, 1], "0lo": [0, 0], "1hi": [1, 1], "1lo": [1, 0] };
    const decisionsWanted = new Float32Array(8);
    for (const half of [0, 1]) {
      const films = [0, 1, 2, 3].filter((i) => fold[i] === half);
      assert.equal(films.length, 2);
      films.forEach((film, k) => {
        const key = `${half}${k === 0 ? "hi" : "lo"}`;
        (table[key] as [number, number][]).forEach(([p, y], j) => {
          yProb[film * 2 + j] = p;
          yTrue[film * 2 + j] = y;
          decisionsWanted[film * 2 + j] = (expectedDecisions[key] as number[])[j] as number;
        });
      });
    }
    const score = crossFittedScore(yTrue, yProb, ["A", "B"], seed);
    const near = (a: number | null | undefined, b: number, what: string) =>
      assert.ok(a !== null && a !== undefined && Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
    score.thresholds[0].forEach((t, j) => near(t, [0.65, 0.4][j] as number, `half 0's threshold ${j}`));
    score.thresholds[1].forEach((t, j) => near(t, [0.5, 0.5][j] as number, `half 1's threshold ${j}`));
    assert.deepEqual(Array.from(score.decisions), Array.from(decisionsWanted));
    near(score.tuned.perGenre["A"]?.f1, 0.5, "A's tuned F1");
    near(score.tuned.perGenre["B"]?.f1, 0.8, "B's tuned F1");
    near(score.tuned.microF1, 6 / 9, "tuned micro F1");
    near(score.tuned.macroF1, 0.65, "tuned macro F1");
    near(score.atHalf.microF1, 0.8, "micro F1 at 0.5");
    near(score.atHalf.perGenre["A"]?.f1, 0.8, "A's F1 at 0.5");
  });
});
