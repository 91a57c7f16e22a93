import { strict as assert } from "assert";
import { HEADLINE_METRICS, bootstrapIntervals, pairedBootstrap } from "../lib/eval/bootstrap";
import { evaluate } from "../lib/eval/metrics";
import { seededRandom } from "../lib/runtime/random";

/** n films x g genres of labels and noisy probabilities (seeded). */
function fixture(n: number, g: number, seed: number, noise = 0.35): { yTrue: Float32Array; yProb: Float32Array } {
  const r = seededRandom(seed);
  const yTrue = new Float32Array(n * g);
  const yProb = new Float32Array(n * g);
  for (let i = 0; i < n * g; i++) {
    yTrue[i] = r() < 0.2 ? 1 : 0;
    yProb[i] = Math.min(0.99, Math.max(0.01, (yTrue[i] as number) * 0.6 + 0.2 + (r() - 0.5) * 2 * noise));
  }
  return { yTrue, yProb };
}

describe("bootstrap intervals over films", () => {
  it("two films: the interval runs from the better film's figure to the worse one's (hand-computed)", () => {
    // Film 0: genre 0 true, predicted 0.9; film 1: genre 0 true, predicted 0.2. Two genres, the second false.
    const yTrue = [1, 0, 1, 0];
    const yProb = [0.9, 0.1, 0.2, 0.1];
    const intervals = bootstrapIntervals(yTrue, yProb, 2, 0.5, { resamples: 4000, seed: 1 });
    const bce0 = -(Math.log(0.9) + Math.log(0.9)) / 2;
    const bce1 = -(Math.log(0.2) + Math.log(0.9)) / 2;
    // Resamples of two films: {0,0} (1/4), {0,1} (1/2), {1,1} (1/4): the 2.5% and 97.5% percentiles are the extremes.
    assert.ok(Math.abs(intervals.bce.low - bce0) < 1e-12, `${intervals.bce.low} vs ${bce0}`);
    assert.ok(Math.abs(intervals.bce.high - bce1) < 1e-12, `${intervals.bce.high} vs ${bce1}`);
    assert.ok(Math.abs(intervals.bce.estimate - (bce0 + bce1) / 2) < 1e-12);
    // both films rank genre 0 first (0.9 and 0.2 against 0.1): both are top-1 hits, in every resample
    assert.deepEqual([intervals.top1HitRate.low, intervals.top1HitRate.estimate, intervals.top1HitRate.high], [1, 1, 1]);
    // micro F1: film 0 tp, film 1 fn -> 2/3; resamples {0,0}: 1, {1,1}: 0
    assert.ok(Math.abs(intervals.microF1.estimate - 2 / 3) < 1e-12);
    assert.deepEqual([intervals.microF1.low, intervals.microF1.high], [0, 1]);
  });

  it("a hit rate of 300 in 1,000 films: the interval is the binomial one, 0.300 +- 1.96 x 0.0145", () => {
    const g = 2;
    const yTrue = new Float32Array(1000 * g);
    const yProb = new Float32Array(1000 * g);
    for (let f = 0; f < 1000; f++) {
      yTrue[f * g] = 1;
      yProb[f * g] = f < 300 ? 0.9 : 0.1; // genre 0 ranks first for 300 films
      yProb[f * g + 1] = 0.5;
    }
    const { top1HitRate } = bootstrapIntervals(yTrue, yProb, g, 0.5, { resamples: 4000, seed: 7 });
    const se = Math.sqrt((0.3 * 0.7) / 1000);
    assert.equal(top1HitRate.estimate, 0.3);
    assert.ok(Math.abs(top1HitRate.low - (0.3 - 1.96 * se)) < 0.003, `low ${top1HitRate.low}`);
    assert.ok(Math.abs(top1HitRate.high - (0.3 + 1.96 * se)) < 0.003, `high ${top1HitRate.high}`);
  });

  it("estimates are evaluate()'s figures; the same seed gives the same intervals, another seed close ones", () => {
    const { yTrue, yProb } = fixture(400, 6, 3);
    const e = evaluate(yTrue, yProb, ["a", "b", "c", "d", "e", "f"], 0.5);
    const a = bootstrapIntervals(yTrue, yProb, 6, 0.5, { seed: 5 });
    assert.ok(Math.abs(a.microF1.estimate - (e.microF1 as number)) < 1e-9);
    assert.ok(Math.abs(a.macroF1.estimate - (e.macroF1 as number)) < 1e-9);
    assert.ok(Math.abs(a.bce.estimate - e.bce) < 1e-9);
    assert.ok(Math.abs(a.top3HitRate.estimate - e.top3HitRate) < 1e-9);
    assert.deepEqual(bootstrapIntervals(yTrue, yProb, 6, 0.5, { seed: 5 }), a);
    const b = bootstrapIntervals(yTrue, yProb, 6, 0.5, { seed: 6 });
    assert.notDeepEqual(b, a);
    for (const m of HEADLINE_METRICS) {
      assert.ok(a[m].low < a[m].estimate && a[m].estimate < a[m].high, `${m}: ${JSON.stringify(a[m])}`);
      assert.ok(Math.abs(b[m].low - a[m].low) < 0.01 && Math.abs(b[m].high - a[m].high) < 0.01, m);
    }
  });
});

describe("paired bootstrap", () => {
  it("two identical models: every difference is 0 and within noise", () => {
    const { yTrue, yProb } = fixture(300, 5, 11);
    const d = pairedBootstrap(yTrue, { probabilities: yProb, thresholds: 0.5 }, { probabilities: yProb, thresholds: 0.5 }, 5, { seed: 1 });
    for (const m of HEADLINE_METRICS) {
      assert.deepEqual([d[m].low, d[m].estimate, d[m].high], [0, 0, 0], m);
      assert.equal(d[m].withinNoise, true, m);
    }
  });

  it("a model that is better by construction: the difference's interval excludes 0", () => {
    const { yTrue, yProb } = fixture(300, 5, 11, 0.45);
    const better = yProb.map((p, i) => ((yTrue[i] as number) === 1 ? Math.max(p, 0.8) : Math.min(p, 0.2)));
    const d = pairedBootstrap(yTrue, { probabilities: yProb, thresholds: 0.5 }, { probabilities: better, thresholds: 0.5 }, 5, { seed: 2 });
    assert.ok(d.microF1.high < 0 && !d.microF1.withinNoise, JSON.stringify(d.microF1));
    assert.ok(d.macroF1.high < 0 && !d.macroF1.withinNoise, JSON.stringify(d.macroF1));
    assert.ok(d.bce.low > 0 && !d.bce.withinNoise, JSON.stringify(d.bce)); // A's loss is higher
  });

  it("two models of the same quality on different noise: the difference is within noise", () => {
    const { yTrue, yProb } = fixture(300, 5, 11);
    const r = seededRandom(99);
    // the same kind of noise drawn again: neither model is better
    const other = yTrue.map((t) => Math.min(0.99, Math.max(0.01, t * 0.6 + 0.2 + (r() - 0.5) * 0.7)));
    const d = pairedBootstrap(yTrue, { probabilities: yProb, thresholds: 0.5 }, { probabilities: other, thresholds: 0.5 }, 5, { seed: 3 });
    assert.equal(d.macroF1.withinNoise, true, JSON.stringify(d.macroF1));
    assert.ok(d.macroF1.high - d.macroF1.low > 0.01, "the interval has a width");
  });
});
