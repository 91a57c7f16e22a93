import * as assert from "node:assert/strict";
import type { Evaluation } from "../lib/eval/metrics";
import { ContenderRole, ScoredContender, crossFittedDecisions, twoFolds, weightedLateFusion } from "../lib/eval/leaderboard";
import { leaderboardNarrative, pretrainedNarrative } from "../lib/workbook/leaderboard";

const LINEAR_BASELINE_NAME = "TF-IDF + logistic regression";
const TEXT_BRANCH_NAME = "TF-IDF MLP (the joint model's text branch, no poster)";

// Expected values are built by hand from the folds, never from the functions' own output.

/** A scored leaderboard row with only what the narratives read: tuned macro/micro F1 and the BCE at 0.5. */
const row = (name: string, role: ContenderRole, macro: number, micro: number, bce: number): ScoredContender => ({
  name,
  role,
  probabilities: new Float32Array(0),
  atHalf: { bce } as Evaluation,
  tuned: { macroF1: macro, microF1: micro } as Evaluation,
});

describe("leaderboard: cross-fitted scoring and late fusion", () => {
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

  it("weightedLateFusion picks the weight with the lower BCE on the other half", () => {
    // Model a knows the labels (0.9 / 0.1), model b says 0.5 for everything: on either half the BCE falls as the
    // weight of a grows, so w = 1 on both halves and the fused probabilities are a's.
    const n = 12;
    const genres = 2;
    const yTrue = Float32Array.from({ length: n * genres }, (_, k) => ((k * 7) % 3 === 0 ? 1 : 0));
    const a = yTrue.map((y) => (y ? 0.9 : 0.1));
    const b = new Float32Array(n * genres).fill(0.5);
    const fused = weightedLateFusion(yTrue, a, b, genres, 3);
    assert.deepEqual(fused.weights, [1, 1]);
    fused.probabilities.forEach((p, k) => assert.ok(Math.abs(p - (a[k] as number)) < 1e-6, `cell ${k}`));
  });

  it("leaderboardNarrative gives a verdict per comparison and what the poster adds over the text branch alone", () => {
    const scored = [
      row(LINEAR_BASELINE_NAME, "linear", 0.38, 0.5, 0.42),
      row(TEXT_BRANCH_NAME, "text-branch", 0.37, 0.52, 0.2),
      row("CNN", "poster", 0.24, 0.33, 0.227),
      row("late", "late", 0.4, 0.4, 0.221),
      row("joint", "joint", 0.39, 0.55, 0.19),
    ];
    const text = leaderboardNarrative(scored);
    assert.match(text, /The joint model beats the linear text baseline .*macro F1 0\.3900 vs 0\.3800, micro F1 0\.5500 vs 0\.5000/);
    // 0.39 - 0.37 = +0.02 macro, 0.55 - 0.52 = +0.03 micro, 0.19 - 0.20 = -0.01 BCE
    assert.match(
      text,
      /What the poster adds: .*macro F1 0\.3700, micro F1 0\.5200, val BCE 0\.2000; the joint model \+0\.0200 macro, \+0\.0300 micro, -0\.0100 BCE/,
    );
    assert.match(text, /The joint model beats the better single model \(CNN\)/);
    assert.match(text, /The joint model is mixed against the better late fusion \(late\)/);
    assert.match(text, /the TF-IDF \+ logistic regression baseline is better than: CNN\./);
  });

  it("pretrainedNarrative says whether the pretrained joint model beats every earlier model, what the poster adds, and how it fares against the heads' late fusion", () => {
    const scored = [
      row(LINEAR_BASELINE_NAME, "linear", 0.38, 0.5, 0.42),
      row("CNN", "poster", 0.22, 0.28, 0.244),
      row("joint 05", "joint", 0.384, 0.554, 0.193),
      row("text head", "text-head", 0.5, 0.61, 0.167),
      row("poster head", "poster-head", 0.24, 0.42, 0.219),
      row("late heads", "late-heads", 0.51, 0.62, 0.166),
      row("pretrained", "pretrained", 0.52, 0.63, 0.163),
    ];
    const text = pretrainedNarrative(scored);
    assert.match(text, /beats every earlier model on both micro and macro F1 \(tuned\): micro 0\.6300, macro 0\.5200/);
    // best earlier on macro: joint 05 (0.384): 0.52 - 0.384 = +0.136, 0.63 - 0.554 = +0.076
    assert.match(text, /best earlier model on macro F1 is joint 05: \+0\.1360 macro, \+0\.0760 micro/);
    // 0.63 - 0.61 = +0.02 micro, 0.52 - 0.50 = +0.02 macro, 0.163 - 0.167 = -0.004 BCE
    assert.match(text, /with the poster the model gets \+0\.0200 micro, \+0\.0200 macro, -0\.0040 BCE: the poster adds to the text/);
    assert.match(text, /late fusion of the two heads .* the joint model wins: \+0\.0100 micro, \+0\.0100 macro/);
    assert.match(text, /MobileNetV2's features score micro 0\.4200, macro 0\.2400 against the coursework CNN's 0\.2800 \/ 0\.2200/);

    const worse = pretrainedNarrative(scored.map((s) => (s.role === "pretrained" ? row("pretrained", "pretrained", 0.37, 0.6, 0.17) : s)));
    assert.match(worse, /does \*\*not\*\* beat on both F1s/);
    assert.match(worse, /the poster \*\*does not add\*\* to the text/);
    assert.match(worse, /\*\*does not win\*\*/);
  });
});
