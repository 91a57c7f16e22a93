import * as assert from "node:assert/strict";
import {
  DEFAULT_THRESHOLD_GRID,
  addCounts,
  meanBinaryCrossEntropy,
  compareFilmHits,
  countsAtThreshold,
  emptyCounts,
  evaluate,
  filmHits,
  hammingLoss,
  perGenreMetrics,
  precision,
  predictedVsTrueCounts,
  recall,
  samplesF1,
  topK,
  topKHitRate,
  topKPrecision,
  tuneThresholds,
} from "../lib/eval/metrics";
import { KERAS_EPSILON } from "../lib/models/losses";

// Expected counts below are worked out by hand from Keras's rules (positive iff p > threshold,
// micro over all outputs, counts accumulated over the epoch, 0 for an empty denominator).

describe("metrics: confusion counts", () => {
  it("counts tp/fp/fn/tn over flat arrays (all outputs of all samples)", () => {
    // 2 samples x 3 outputs
    const yTrue = [1, 0, 1, /**/ 0, 1, 0];
    const yPred = [0.9, 0.8, 0.4, /**/ 0.1, 0.51, 0.7];
    // (1,.9) tp  (0,.8) fp  (1,.4) fn  (0,.1) tn  (1,.51) tp  (0,.7) fp
    assert.deepEqual(countsAtThreshold(yTrue, yPred), { tp: 2, fp: 2, fn: 1, tn: 1 });
  });

  it("a probability of exactly 0.5 is not a positive prediction (Keras: y_pred > threshold)", () => {
    assert.deepEqual(countsAtThreshold([1, 0], [0.5, 0.5]), { tp: 0, fp: 0, fn: 1, tn: 1 });
    assert.deepEqual(countsAtThreshold([1, 0], [0.5000001, 0.5000001]), { tp: 1, fp: 1, fn: 0, tn: 0 });
  });

  it("takes typed arrays and another threshold, compared in float32 as Keras does", () => {
    const yTrue = new Float32Array([1, 0, 1, 0]);
    // float32 0.3 is 0.30000001192..., above the float64 0.3 but not above Keras's float32 threshold
    const yPred = new Float32Array([0.35, 0.3, 0.2, 0.9]);
    assert.deepEqual(countsAtThreshold(yTrue, yPred, 0.3), { tp: 1, fp: 1, fn: 1, tn: 1 });
    assert.deepEqual(countsAtThreshold([1, 0], [0.3, 0.3], 0.3), { tp: 0, fp: 0, fn: 1, tn: 1 });
  });

  it("rejects arrays of different lengths", () => {
    assert.throws(() => countsAtThreshold([1, 0], [0.2]), /2 labels but 1 predictions/);
  });

  it("emptyCounts and addCounts", () => {
    assert.deepEqual(emptyCounts(), { tp: 0, fp: 0, fn: 0, tn: 0 });
    const a = { tp: 1, fp: 2, fn: 3, tn: 4 };
    const b = { tp: 10, fp: 20, fn: 30, tn: 40 };
    assert.deepEqual(addCounts(a, b), { tp: 11, fp: 22, fn: 33, tn: 44 });
    assert.deepEqual(a, { tp: 1, fp: 2, fn: 3, tn: 4 });
  });
});

describe("metrics: precision and recall", () => {
  it("precision = tp/(tp+fp), recall = tp/(tp+fn)", () => {
    const c = { tp: 3, fp: 1, fn: 6, tn: 100 };
    assert.equal(precision(c), 0.75);
    assert.equal(recall(c), 3 / 9);
  });

  it("returns 0 for empty denominators (divide_no_nan)", () => {
    assert.equal(precision(emptyCounts()), 0);
    assert.equal(recall(emptyCounts()), 0);
    // nothing predicted positive, but positives exist: precision 0, recall 0
    const c = countsAtThreshold([1, 1, 0], [0.1, 0.2, 0.3]);
    assert.equal(precision(c), 0);
    assert.equal(recall(c), 0);
    // no positive labels, one false positive: precision 0, recall 0
    const d = countsAtThreshold([0, 0], [0.9, 0.1]);
    assert.deepEqual(d, { tp: 0, fp: 1, fn: 0, tn: 1 });
    assert.equal(precision(d), 0);
    assert.equal(recall(d), 0);
  });

  it("accumulates counts over the epoch instead of averaging per-batch ratios", () => {
    // batch 1: labels [1,0,0,0], all predicted positive -> tp 1, fp 3   (precision 1/4, recall 1/1)
    const b1 = countsAtThreshold([1, 0, 0, 0], [0.9, 0.9, 0.9, 0.9]);
    // batch 2: labels [1,1], predictions [.9,.2] -> tp 1, fn 1          (precision 1/1, recall 1/2)
    const b2 = countsAtThreshold([1, 1], [0.9, 0.2]);
    const epoch = addCounts(addCounts(emptyCounts(), b1), b2);
    assert.deepEqual(epoch, { tp: 2, fp: 3, fn: 1, tn: 0 });
    // Keras: 2/(2+3) = 0.4 and 2/(2+1) = 0.667; the per-batch means would be 0.625 and 0.75.
    assert.equal(precision(epoch), 0.4);
    assert.equal(recall(epoch), 2 / 3);
    assert.notEqual(precision(epoch), (precision(b1) + precision(b2)) / 2);
    assert.notEqual(recall(epoch), (recall(b1) + recall(b2)) / 2);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Evaluation metrics. Every expected number below is worked out by hand in the comments (from the
// definitions: positive prediction iff p > threshold; F1 = 2tp / (2tp + fp + fn); sklearn's 'micro',
// 'macro', 'weighted', 'samples' averages), not taken from the code's output.
// ---------------------------------------------------------------------------------------------------------

function close(actual: number | null | undefined, expected: number, tol = 1e-12, what = ""): void {
  assert.ok(typeof actual === "number", `${what}: expected a number near ${expected}, got ${String(actual)}`);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} is not within ${tol} of ${expected}`);
}

/** Row-major [films, genres] from one array per genre (column). */
function fromColumns(cols: number[][]): number[] {
  const films = (cols[0] as number[]).length;
  const out: number[] = [];
  for (let f = 0; f < films; f++) for (const c of cols) out.push(c[f] as number);
  return out;
}

// Case A: 4 films x 4 genres, threshold 0.5.
//            labels (D C W N)   probabilities (Drama, Comedy, Western, News)   predicted (p > 0.5)
//   film 0:  1 1 0 0            .9   .6   .1   .2                               D C
//   film 1:  1 0 0 0            .5   .7   .3   .1                               C        (Drama exactly 0.5: not positive)
//   film 2:  0 1 1 0            .8   .55  .45  .05                              D C
//   film 3:  1 0 0 0            0    .3   .2   .1                               (none)   (Drama 0: clipped in BCE)
const GENRES_A = ["Drama", "Comedy", "Western", "News"];
const TRUE_A = [1, 1, 0, 0, /**/ 1, 0, 0, 0, /**/ 0, 1, 1, 0, /**/ 1, 0, 0, 0];
const PROB_A = [0.9, 0.6, 0.1, 0.2, /**/ 0.5, 0.7, 0.3, 0.1, /**/ 0.8, 0.55, 0.45, 0.05, /**/ 0, 0.3, 0.2, 0.1];

describe("metrics: evaluate (hand-computed case A, 4 films x 4 genres)", () => {
  const ev = evaluate(TRUE_A, PROB_A, GENRES_A);

  it("per-genre precision, recall, F1, support, predicted and counts", () => {
    // Drama: true films 0,1,3 (support 3); predicted 0,2 -> tp 1 (f0), fp 1 (f2), fn 2 (f1, f3), tn 0
    //   P = 1/2, R = 1/3, F1 = 2/(2+1+2) = 0.4
    assert.deepEqual(ev.perGenre.Drama, {
      threshold: 0.5,
      precision: 0.5,
      recall: 1 / 3,
      f1: 0.4,
      support: 3,
      predicted: 2,
      tp: 1,
      fp: 1,
      fn: 2,
      tn: 0,
      noPositives: false,
      noPredictions: false,
    });
    // Comedy: true 0,2 (support 2); predicted 0,1,2 -> tp 2, fp 1 (f1), fn 0, tn 1 (f3)
    //   P = 2/3, R = 1, F1 = 4/(4+1) = 0.8
    assert.deepEqual(ev.perGenre.Comedy, {
      threshold: 0.5,
      precision: 2 / 3,
      recall: 1,
      f1: 0.8,
      support: 2,
      predicted: 3,
      tp: 2,
      fp: 1,
      fn: 0,
      tn: 1,
      noPositives: false,
      noPredictions: false,
    });
    // Western: true 2 (support 1); never predicted (.1 .3 .45 .2) -> tp 0, fp 0, fn 1, tn 3
    //   precision undefined -> null; recall 0; F1 0 (zero_division=0)
    assert.deepEqual(ev.perGenre.Western, {
      threshold: 0.5,
      precision: null,
      recall: 0,
      f1: 0,
      support: 1,
      predicted: 0,
      tp: 0,
      fp: 0,
      fn: 1,
      tn: 3,
      noPositives: false,
      noPredictions: true,
    });
    // News: no positive film, never predicted -> everything undefined, flagged
    assert.deepEqual(ev.perGenre.News, {
      threshold: 0.5,
      precision: null,
      recall: null,
      f1: null,
      support: 0,
      predicted: 0,
      tp: 0,
      fp: 0,
      fn: 0,
      tn: 4,
      noPositives: true,
      noPredictions: true,
    });
    assert.deepEqual(Object.keys(ev.perGenre), GENRES_A);
    assert.deepEqual(ev.genresWithoutPositives, ["News"]);
    assert.deepEqual(ev.genresNeverPredicted, ["Western", "News"]);
  });

  it("micro, macro, weighted and samples averages", () => {
    // micro: tp 1+2+0+0 = 3, fp 1+1 = 2, fn 2+0+1 = 3, tn 0+1+3+4 = 8 (16 cells)
    assert.deepEqual(ev.micro, { tp: 3, fp: 2, fn: 3, tn: 8 });
    close(ev.microPrecision, 3 / 5, 1e-15, "microPrecision"); // 0.6
    close(ev.microRecall, 3 / 6, 1e-15, "microRecall"); // 0.5
    close(ev.microF1, 6 / 11, 1e-15, "microF1"); // 2*3/(6+2+3) = 0.5454...
    // macro over Drama, Comedy, Western (News has no positives: excluded)
    close(ev.macroF1, (0.4 + 0.8 + 0) / 3, 1e-15, "macroF1"); // 0.4
    close(ev.macroPrecision, (0.5 + 2 / 3 + 0) / 3, 1e-15, "macroPrecision"); // 7/18, Western's null as 0
    close(ev.macroRecall, (1 / 3 + 1 + 0) / 3, 1e-15, "macroRecall"); // 4/9
    // weighted by support 3, 2, 1 (News 0): (3*0.4 + 2*0.8 + 1*0) / 6 = 2.8/6 = 7/15
    close(ev.weightedF1, 7 / 15, 1e-15, "weightedF1");
    // samples: f0 T{D,C} P{D,C} -> 1; f1 T{D} P{C} -> 0; f2 T{C,W} P{D,C} -> 2*1/(2+2) = 0.5;
    // f3 T{D} P{} (no predicted genre) -> 0; mean = 1.5/4 = 0.375
    assert.equal(ev.samplesF1, 0.375);
    assert.equal(samplesF1(TRUE_A, PROB_A, GENRES_A), 0.375);
  });

  it("hamming loss, Keras-style precision/recall, BCE with a clipped probability", () => {
    // wrong cells = fp + fn = 2 + 3 = 5 of 16
    assert.equal(ev.hammingLoss, 5 / 16);
    assert.equal(hammingLoss(TRUE_A, PROB_A, GENRES_A), 0.3125);
    // Keras Precision/Recall: the same micro counts -> 3/5 and 3/6
    close(ev.kerasPrecision, 0.6, 1e-15, "kerasPrecision");
    close(ev.kerasRecall, 0.5, 1e-15, "kerasRecall");
    // BCE: -ln of the probability given to the right answer, per cell:
    //   f0: .9 .6 (1-.1) (1-.2) | f1: .5 (1-.7) (1-.3) (1-.1) | f2: (1-.8) .55 .45 (1-.05)
    //   f3: Drama true with p 0 -> clipped to 1e-7: -ln 1e-7 = 16.1180957; then (1-.3) (1-.2) (1-.1)
    //   sum = 4*0.1053605 (ln .9) + 0.5108256 (.6) + 2*0.2231436 (.8) + 0.6931472 (.5) + 1.2039728 (.3)
    //       + 2*0.3566749 (.7) + 1.6094379 (.2) + 0.5978370 (.55) + 0.7985077 (.45) + 0.0512933 (.95)
    //       + 16.1180957 = 23.1641962; / 16 = 1.4477623
    close(ev.bce, 1.4477623, 1e-7, "bce");
    const terms = [0.9, 0.6, 0.9, 0.8, 0.5, 0.3, 0.7, 0.9, 0.2, 0.55, 0.45, 0.95, 1e-7, 0.7, 0.8, 0.9];
    close(ev.bce, -terms.reduce((s, p) => s + Math.log(p), 0) / 16, 1e-9, "bce formula");
  });

  it("top-1 / top-3 hit rates and top-3 precision", () => {
    // f0 order D .9, C .6, N .2 | f1 C .7, D .5, W .3 | f2 D .8, C .55, W .45 | f3 C .3, W .2, N .1 (D 0 last)
    // top-1: f0 D (hit), f1 C (miss), f2 D (miss), f3 C (miss) -> 1/4
    // top-3: f0 hit, f1 hit (D), f2 hit (C, W), f3 miss -> 3/4
    // top-3 precision: (2/3 + 1/3 + 2/3 + 0) / 4 = 5/12
    assert.equal(ev.top1HitRate, 0.25);
    assert.equal(ev.top3HitRate, 0.75);
    close(ev.top3Precision, 5 / 12, 1e-15, "top3Precision");
    assert.deepEqual(filmHits(TRUE_A, PROB_A, GENRES_A, 1), [true, false, false, false]);
    assert.deepEqual(filmHits(TRUE_A, PROB_A, GENRES_A), [true, true, true, false]);
  });

  it("predicted vs true counts per genre (bias chart data)", () => {
    assert.deepEqual(predictedVsTrueCounts(TRUE_A, PROB_A, GENRES_A), [
      { genre: "Drama", predicted: 2, actual: 3, predictedRate: 0.5, actualRate: 0.75 },
      { genre: "Comedy", predicted: 3, actual: 2, predictedRate: 0.75, actualRate: 0.5 },
      { genre: "Western", predicted: 0, actual: 1, predictedRate: 0, actualRate: 0.25 },
      { genre: "News", predicted: 0, actual: 0, predictedRate: 0, actualRate: 0 },
    ]);
  });

  it("shape of the result: films, thresholds, JSON round trip", () => {
    assert.equal(ev.films, 4);
    assert.equal(ev.genres, 4);
    assert.deepEqual(ev.thresholds, [0.5, 0.5, 0.5, 0.5]);
    assert.deepEqual(JSON.parse(JSON.stringify(ev)), ev);
  });

  it("takes Uint8Array labels and Float32Array probabilities (same counts, BCE within float32 rounding)", () => {
    const ev32 = evaluate(new Uint8Array(TRUE_A), new Float32Array(PROB_A), GENRES_A);
    for (const g of GENRES_A) {
      const { tp, fp, fn, tn, f1 } = ev.perGenre[g]!;
      const m = ev32.perGenre[g]!;
      assert.deepEqual({ tp: m.tp, fp: m.fp, fn: m.fn, tn: m.tn, f1: m.f1 }, { tp, fp, fn, tn, f1 });
    }
    assert.equal(ev32.samplesF1, 0.375);
    close(ev32.bce, 1.4477623, 1e-6, "bce float32");
  });

  it("per-genre thresholds", () => {
    // thresholds Drama .5, Comedy .6, Western .4, News .5
    // Comedy > .6: f0 .6 (exactly: no), f1 .7 yes, f2 .55 no -> tp 0, fp 1, fn 2, tn 1: P 0, R 0, F1 0
    // Western > .4: f2 .45 (true) -> tp 1, tn 3: P 1, R 1, F1 1
    // Drama and News as before. micro tp 1+0+1 = 2, fp 1+1 = 2, fn 2+2 = 4, tn 0+1+3+4 = 8
    const e = evaluate(TRUE_A, PROB_A, GENRES_A, [0.5, 0.6, 0.4, 0.5]);
    assert.deepEqual(e.thresholds, [0.5, 0.6, 0.4, 0.5]);
    assert.equal(e.perGenre.Comedy!.precision, 0);
    assert.equal(e.perGenre.Comedy!.f1, 0);
    assert.equal(e.perGenre.Western!.f1, 1);
    assert.deepEqual(e.micro, { tp: 2, fp: 2, fn: 4, tn: 8 });
    assert.equal(e.microPrecision, 0.5);
    assert.equal(e.microRecall, 1 / 3);
    assert.equal(e.microF1, 0.4); // 4 / (4 + 2 + 4)
    close(e.kerasPrecision, 0.5, 1e-15, "kerasPrecision");
    close(e.kerasRecall, 1 / 3, 1e-15, "kerasRecall");
    close(e.macroF1, (0.4 + 0 + 1) / 3, 1e-15, "macroF1");
    close(e.weightedF1, (3 * 0.4 + 2 * 0 + 1 * 1) / 6, 1e-15, "weightedF1"); // 11/30
    // samples: f0 T{D,C} P{D} -> 2/3; f1 T{D} P{C} -> 0; f2 T{C,W} P{D,W} -> 2/4; f3 -> 0; mean 7/24
    close(e.samplesF1, 7 / 24, 1e-15, "samplesF1");
    assert.equal(e.hammingLoss, 6 / 16);
    assert.deepEqual(perGenreMetrics(TRUE_A, PROB_A, GENRES_A, [0.5, 0.6, 0.4, 0.5]), e.perGenre);
  });
});

describe("metrics: edge cases", () => {
  it("a genre with no positives but a false positive: precision 0, recall/F1 null, excluded from macro", () => {
    // 2 films x 2 genres. A: labels 1,1 probs .9,.4 -> tp 1, fn 1: P 1, R 1/2, F1 2/3
    //                     B: labels 0,0 probs .8,.1 -> fp 1, tn 1: P 0, R null, F1 null
    const e = evaluate([1, 0, 1, 0], [0.9, 0.8, 0.4, 0.1], ["A", "B"]);
    assert.equal(e.perGenre.B!.precision, 0);
    assert.equal(e.perGenre.B!.recall, null);
    assert.equal(e.perGenre.B!.f1, null);
    assert.equal(e.perGenre.B!.noPositives, true);
    assert.deepEqual(e.genresWithoutPositives, ["B"]);
    close(e.macroF1, 2 / 3, 1e-15, "macroF1"); // A only (sklearn's all-label macro would be (2/3 + 0)/2)
    close(e.weightedF1, 2 / 3, 1e-15, "weightedF1"); // (2 * 2/3 + 0) / 2
    // B's false positive still counts in micro: tp 1, fp 1, fn 1 -> P 1/2, R 1/2, F1 2/4
    assert.deepEqual(e.micro, { tp: 1, fp: 1, fn: 1, tn: 1 });
    assert.equal(e.microPrecision, 0.5);
    assert.equal(e.microF1, 0.5);
  });

  it("nothing predicted at all: micro precision null, Keras precision 0, samples F1 0", () => {
    const e = evaluate([1, 0, 0, 1], [0.2, 0.1, 0.3, 0.5], ["A", "B"]);
    assert.equal(e.microPrecision, null);
    assert.equal(e.kerasPrecision, 0);
    assert.equal(e.microRecall, 0);
    assert.equal(e.microF1, 0); // 0 / (0 + 0 + 2)
    assert.equal(e.macroF1, 0);
    assert.equal(e.samplesF1, 0); // both films have a true genre and no prediction
  });

  it("no positive label anywhere: macro, weighted and micro recall are null", () => {
    const e = evaluate([0, 0, 0, 0], [0.9, 0.1, 0.2, 0.3], ["A", "B"]);
    assert.equal(e.macroF1, null);
    assert.equal(e.weightedF1, null);
    assert.equal(e.microRecall, null);
    assert.equal(e.microF1, 0); // 0 / (0 + 1 + 0): one false positive
    assert.equal(e.kerasRecall, 0);
    assert.deepEqual(e.genresWithoutPositives, ["A", "B"]);
  });

  it("samples F1: a film with neither true nor predicted genres scores 0 (sklearn default)", () => {
    // f0: T{} P{} -> 0 by convention; f1: T{A} P{A} -> 1; mean 1/2
    assert.equal(samplesF1([0, 0, 1, 0], [0.1, 0.2, 0.9, 0.1], 2), 0.5);
  });

  it("BCE clips probabilities 0 and 1 to [1e-7, 1 - 1e-7]", () => {
    // (y=1, p=1) -> -ln(1 - 1e-7) = 1.00000005e-7; (y=0, p=0) -> the same;
    // (y=1, p=0) -> -ln(1e-7) = 16.11809565; (y=0, p=.5) -> ln 2 = 0.69314718
    // mean = (2.0000001e-7 + 16.11809565 + 0.69314718) / 4 = 16.81124303 / 4 = 4.20281076
    const b = meanBinaryCrossEntropy([1, 0, 1, 0], [1, 0, 0, 0.5]);
    close(b, 4.20281076, 1e-8, "bce");
    close(b, (-2 * Math.log(1 - KERAS_EPSILON) - Math.log(KERAS_EPSILON) + Math.LN2) / 4, 1e-12, "bce formula");
    assert.throws(() => meanBinaryCrossEntropy([1], [0.5, 0.5]), /1 labels but 2 probabilities/);
  });

  it("rejects inconsistent shapes, thresholds and genre lists", () => {
    assert.throws(() => evaluate([1, 0], [0.5], ["A", "B"]), /2 labels but 1 probabilities/);
    assert.throws(() => evaluate([1, 0, 1], [0.5, 0.5, 0.5], ["A", "B"]), /not a whole number of rows/);
    assert.throws(() => evaluate([1, 0], [0.5, 0.5], ["A", "A"]), /unique/);
    assert.throws(() => evaluate([1, 0], [0.5, 0.5], []), /at least one genre/);
    assert.throws(() => evaluate([1, 0], [0.5, 0.5], ["A", "B"], [0.5]), /1 thresholds for 2 genres/);
    assert.throws(() => evaluate([1, 0], [0.5, 0.5], ["A", "B"], NaN), /not a number/);
    assert.throws(() => evaluate([], [], ["A", "B"]), /no films/);
    assert.throws(() => topK([0.1, 0.2], ["A", "B"], 0), /positive integer/);
    assert.throws(() => topK([0.1], ["A", "B"], 1), /1 probabilities for 2 genres/);
  });
});

describe("metrics: cross-check with scikit-learn's documented examples (computed by hand)", () => {
  it("f1/precision/recall docs example y_true=[0,1,2,0,1,2], y_pred=[0,2,1,0,0,1] as one-hot multi-label", () => {
    // sklearn docs: f1 macro 0.26..., micro 0.33..., weighted 0.26...; precision macro 0.22...; recall macro 0.33...
    // By hand: class 0 true {0,3} pred {0,3,4}: tp 2, fp 1, fn 0 -> P 2/3, R 1, F1 4/5
    //          class 1 true {1,4} pred {2,5}: tp 0 -> P 0, R 0, F1 0; class 2 true {2,5} pred {1}: all 0
    // macro F1 = 0.8/3 = 4/15; micro tp 2, fp 4, fn 4 -> 4/12 = 1/3; weighted (supports all 2) = 4/15
    // macro precision (2/3)/3 = 2/9; macro recall 1/3; samples = fraction of films exactly right = 2/6
    const yt = [0, 1, 2, 0, 1, 2];
    const yp = [0, 2, 1, 0, 0, 1];
    const oneHot = (c: number): number[] => [0, 1, 2].map((k) => (k === c ? 1 : 0));
    const yTrue = yt.flatMap(oneHot);
    const yProb = yp.flatMap((c) => oneHot(c).map((v) => (v ? 0.9 : 0.1)));
    const e = evaluate(yTrue, yProb, ["c0", "c1", "c2"]);
    close(e.macroF1, 4 / 15, 1e-15, "macroF1");
    close(e.microF1, 1 / 3, 1e-15, "microF1");
    close(e.weightedF1, 4 / 15, 1e-15, "weightedF1");
    close(e.macroPrecision, 2 / 9, 1e-15, "macroPrecision");
    close(e.macroRecall, 1 / 3, 1e-15, "macroRecall");
    close(e.samplesF1, 1 / 3, 1e-15, "samplesF1");
    assert.ok(Math.abs((e.macroF1 as number) - 0.26666667) < 1e-8);
  });

  it("f1_score docs multi-label example: per label [0.667, 1, 0.667]", () => {
    // y_true = [[0,0,0],[1,1,1],[0,1,1]], y_pred = [[0,0,0],[1,1,1],[1,1,0]]
    // label 0: true {1}, pred {1,2}: tp 1, fp 1 -> F1 2/3; label 1: true {1,2}, pred {1,2} -> 1;
    // label 2: true {1,2}, pred {1}: tp 1, fn 1 -> 2/3.  macro 7/9; micro tp 4, fp 1, fn 1 -> 8/10;
    // weighted (supports 1, 2, 2): (2/3 + 2 + 4/3)/5 = 4/5;
    // samples: film 0 empty/empty -> 0 (zero_division default), film 1 -> 1, film 2 T{1,2} P{0,1} -> 2/4: 1.5/3 = 0.5
    const yTrue = [0, 0, 0, 1, 1, 1, 0, 1, 1];
    const yProb = [0, 0, 0, 1, 1, 1, 1, 1, 0];
    const e = evaluate(yTrue, yProb, ["0", "1", "2"]);
    close(e.perGenre["0"]!.f1, 2 / 3, 1e-15, "f1[0]");
    assert.equal(e.perGenre["1"]!.f1, 1);
    close(e.perGenre["2"]!.f1, 2 / 3, 1e-15, "f1[2]");
    close(e.macroF1, 7 / 9, 1e-15, "macroF1");
    close(e.microF1, 0.8, 1e-15, "microF1");
    close(e.weightedF1, 0.8, 1e-15, "weightedF1");
    assert.equal(e.samplesF1, 0.5);
  });

  it("hamming_loss docs example: [[0,1],[1,1]] vs zeros -> 0.75", () => {
    assert.equal(hammingLoss([0, 1, 1, 1], [0, 0, 0, 0], 2), 0.75);
  });
});

describe("metrics: top-k", () => {
  it("topK sorts by probability, ties by genre order, NaN last", () => {
    const g = ["A", "B", "C", "D"];
    assert.deepEqual(topK([0.2, 0.5, 0.5, 0.1], g, 2), [
      { genre: "B", probability: 0.5 },
      { genre: "C", probability: 0.5 },
    ]);
    assert.deepEqual(
      topK([0.2, 0.5, 0.5, 0.1], g, 10).map((x) => x.genre),
      ["B", "C", "A", "D"],
    );
    assert.deepEqual(
      topK([NaN, 0.1, 0.1], ["A", "B", "C"], 3).map((x) => x.genre),
      ["B", "C", "A"],
    );
  });

  it("hit rates with ties (broken by genre order)", () => {
    // f0: probs A .2, B .5, C .5, D .1, true {C}: top-1 B (tie, B first) miss; top-3 {B, C, A} hit
    // f1: all .6, true {D}: top-1 A miss; top-3 {A, B, C} miss (D is 4th by genre order)
    // f2: A .1, B .2, C .3, D .9, true {A, D}: top-1 D hit; top-3 hit
    // top-1 = 1/3, top-3 = 2/3; top-3 precision: (1/3 + 0 + 1/3) / 3 = 2/9 (f2: {D, C, B} holds only D)
    const yTrue = [0, 0, 1, 0, /**/ 0, 0, 0, 1, /**/ 1, 0, 0, 1];
    const yProb = [0.2, 0.5, 0.5, 0.1, /**/ 0.6, 0.6, 0.6, 0.6, /**/ 0.1, 0.2, 0.3, 0.9];
    assert.deepEqual(filmHits(yTrue, yProb, 4, 1), [false, false, true]);
    assert.deepEqual(filmHits(yTrue, yProb, 4, 3), [true, false, true]);
    assert.deepEqual(filmHits(yTrue, yProb, 4, 4), [true, true, true]);
    assert.equal(topKHitRate(yTrue, yProb, 4, 1), 1 / 3);
    assert.equal(topKHitRate(yTrue, yProb, ["A", "B", "C", "D"], 3), 2 / 3);
    close(topKPrecision(yTrue, yProb, 4, 3), 2 / 9, 1e-15, "top3Precision");
  });

  it("compareFilmHits splits films by which model hits them", () => {
    assert.deepEqual(compareFilmHits([true, true, false, false], [true, false, true, false]), {
      both: [0],
      onlyA: [1],
      onlyB: [2],
      neither: [3],
    });
    assert.throws(() => compareFilmHits([true], []), /1 films vs 0/);
  });
});

describe("metrics: tuneThresholds", () => {
  // 6 films x 5 genres, labels of every genre: films 0 and 1 positive (N: none)
  //   A probs .32 .34 .30 .26 .10 .10: t = .30 separates exactly (.30 itself is not > .30) -> F1 1;
  //       t = .25 adds .30, .26 -> 4/6; t = .35 predicts nothing -> 0. Best: 0.3 (unique)
  //   B probs .72 .90 .70 .65 .20 .10: t = .70 -> F1 1; t = .65 adds .70 -> 4/5; t = .75 -> 2/3. Best: 0.7
  //   C probs .80 .90 .10 .20 .30 .10: F1 1 for every t in [.30, .80) -> tie, closest to 0.5: 0.5
  //   D probs .48 .90 .52 .53 .10 .10: t in [.10, .45] -> {.48 .9 .52 .53}: 4/6 = 2/3;
  //       t = .50 -> {.9 .52 .53}: tp 1 fp 2 fn 1 -> 2/5; t in [.55, .85] -> {.9}: 2/3; t = .05 -> 4/8.
  //       Best 2/3, closest to 0.5: 0.45 and 0.55 equally -> the higher, 0.55. At 0.5: 0.4
  //   N no positives -> 0.5, flagged
  const cols = {
    A: [0.32, 0.34, 0.3, 0.26, 0.1, 0.1],
    B: [0.72, 0.9, 0.7, 0.65, 0.2, 0.1],
    C: [0.8, 0.9, 0.1, 0.2, 0.3, 0.1],
    D: [0.48, 0.9, 0.52, 0.53, 0.1, 0.1],
    N: [0.6, 0.7, 0.1, 0.2, 0.3, 0.4],
  };
  const genres = Object.keys(cols);
  const yProb = fromColumns(Object.values(cols));
  const lab = [1, 1, 0, 0, 0, 0];
  const yTrue = fromColumns([lab, lab, lab, lab, [0, 0, 0, 0, 0, 0]]);

  it("finds 0.3 and 0.7, breaks ties toward 0.5, keeps 0.5 for a genre without positives", () => {
    const t = tuneThresholds(yTrue, yProb, genres);
    assert.deepEqual(t.thresholds, [0.3, 0.7, 0.5, 0.55, 0.5]);
    assert.deepEqual(t.genresWithoutPositives, ["N"]);
    assert.deepEqual(t.perGenre.N, { threshold: 0.5, f1: null, f1At05: null, noPositives: true });
    assert.deepEqual(t.perGenre.A, { threshold: 0.3, f1: 1, f1At05: 0, noPositives: false });
    // B at 0.5 predicts .72 .9 .7 .65: tp 2 fp 2 -> 2/3
    assert.deepEqual(t.perGenre.B, { threshold: 0.7, f1: 1, f1At05: 2 / 3, noPositives: false });
    assert.deepEqual(t.perGenre.C, { threshold: 0.5, f1: 1, f1At05: 1, noPositives: false });
    assert.deepEqual(t.perGenre.D, { threshold: 0.55, f1: 2 / 3, f1At05: 0.4, noPositives: false });
    // the tuned thresholds give those F1s in evaluate (prob > threshold, float32, both places)
    const e = evaluate(yTrue, new Float32Array(yProb), genres, t.thresholds);
    assert.deepEqual(
      genres.map((g) => e.perGenre[g]!.f1),
      [1, 1, 1, 2 / 3, null],
    );
  });

  it("default grid is 0.05 .. 0.95 in steps of 0.05", () => {
    assert.equal(DEFAULT_THRESHOLD_GRID.length, 19);
    assert.equal(DEFAULT_THRESHOLD_GRID[0], 0.05);
    assert.equal(DEFAULT_THRESHOLD_GRID[2], 0.15);
    assert.equal(DEFAULT_THRESHOLD_GRID[18], 0.95);
  });

  it("custom candidates and distinct probabilities as candidates", () => {
    // A with candidates .2 (predicts .32 .34 .30 .26: 4/6) and .9 (nothing: 0): 0.2
    assert.deepEqual(tuneThresholds(fromColumns([lab]), cols.A, ["A"], { candidates: [0.2, 0.9] }).thresholds, [0.2]);
    // E: labels 1 1 0 0, probs .62 .64 .61 .10. Grid: t in [.10, .60] predicts .62 .64 .61 -> 4/5 (tie ->
    // 0.5); t >= .65 nothing. With the probabilities as candidates, t = .61 predicts only .62 .64 -> 1.
    const eTrue = [1, 1, 0, 0];
    const eProb = [0.62, 0.64, 0.61, 0.1];
    assert.deepEqual(tuneThresholds(eTrue, eProb, ["E"]).perGenre.E, { threshold: 0.5, f1: 0.8, f1At05: 0.8, noPositives: false });
    const withProbs = tuneThresholds(eTrue, eProb, ["E"], { includeProbabilities: true });
    assert.deepEqual(withProbs.thresholds, [Math.fround(0.61)]);
    assert.equal(withProbs.perGenre.E!.f1, 1);
  });

  it("a genre whose probabilities stay below every candidate keeps 0.5 (F1 0 everywhere)", () => {
    // labels 1 0, probs .01 .02: nothing is predicted at any t >= .05 -> F1 0 for all -> closest to 0.5
    assert.deepEqual(tuneThresholds([1, 0], [0.01, 0.02], ["A"]).perGenre.A, { threshold: 0.5, f1: 0, f1At05: 0, noPositives: false });
  });
});
