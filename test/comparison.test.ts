import * as assert from "node:assert/strict";
import type { Film } from "../lib/data/dataset";
import { Comparison, ModelResult, comparisonDifference, decisiveFilms, hitAgreement } from "../lib/eval/comparison";
import { evaluate } from "../lib/eval/metrics";
import { comparisonNarrative, showComparisonDifference } from "../lib/workbook/comparison";

describe("comparison: decisiveFilms", () => {
  // Three genres; a film is "right" for a model when a true genre is among its top k.
  const film = (id: string): Film => ({ id, line: 2, overview: "x", genres: [], posterFile: "" });
  const model = (id: string, probabilities: number[]): ModelResult =>
    ({ id, name: `model ${id}`, probabilities: Float32Array.from(probabilities) }) as ModelResult;
  const comparison: Comparison = {
    genres: ["A", "B", "C"],
    films: [film("f1"), film("f2"), film("f3"), film("f4")],
    // true genres: f1 A, f2 B, f3 C, f4 A
    yTrue: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0]),
    models: [
      // top-1: f1 A (right), f2 A (wrong), f3 C (right), f4 B (wrong)
      model("new", [0.9, 0.1, 0.1, 0.9, 0.2, 0.1, 0.1, 0.1, 0.9, 0.1, 0.9, 0.1]),
      // top-1: f1 B (wrong), f2 B (right), f3 A (wrong), f4 C (wrong)
      model("old1", [0.1, 0.9, 0.1, 0.1, 0.9, 0.2, 0.9, 0.1, 0.1, 0.1, 0.2, 0.9]),
      // top-1: f1 C (wrong), f2 C (wrong), f3 C (right), f4 C (wrong)
      model("old2", [0.1, 0.2, 0.9, 0.1, 0.2, 0.9, 0.1, 0.2, 0.9, 0.1, 0.2, 0.9]),
    ],
  };

  it("names the films only the subject gets right, and those it gets wrong where another model is right", () => {
    const d = decisiveFilms(comparison, "new", ["old1", "old2"], 1);
    assert.deepEqual(d.onlySubject, ["f1"]); // f3: old2 is right too
    assert.deepEqual(d.onlyOthers, ["f2"]); // f4: nobody is right
  });

  it("leaves out other models the comparison does not have; refuses when none is there, or the subject is not", () => {
    const d = decisiveFilms(comparison, "new", ["old1", "nope"], 1);
    assert.deepEqual(d.others, ["old1"]);
    assert.deepEqual(d.onlySubject, ["f1", "f3"]); // old1 is right on f2 only
    assert.throws(() => decisiveFilms(comparison, "new", ["nope"], 1), /none of nope is in the comparison \(new, old1, old2\)/);
    assert.throws(() => decisiveFilms(comparison, "nope", ["old1"], 1), /no model 'nope' in the comparison \(new, old1, old2\)/);
  });
});

describe("comparison: how sure the difference between the two models is", () => {
  // 200 films of 4 genres, each with one true genre (film f: genre f % 4). A model is right on a film when it gives
  // the true genre 0.9 and the others 0.1, wrong when it gives the true genre 0.1 and the next genre 0.9.
  const FILMS = 200;
  const GENRES = ["A", "B", "C", "D"];
  const G = GENRES.length;
  const yTrue = Float32Array.from({ length: FILMS * G }, (_, k) => (k % G === Math.floor(k / G) % G ? 1 : 0));
  const probabilities = (wrong: (film: number) => boolean) => {
    const p = new Float32Array(FILMS * G).fill(0.1);
    for (let f = 0; f < FILMS; f++) p[f * G + (((f % G) + (wrong(f) ? 1 : 0)) % G)] = 0.9;
    return p;
  };
  const result = (name: string, p: Float32Array): ModelResult =>
    ({ id: name, name, probabilities: p, atHalf: evaluate(yTrue, p, GENRES, 0.5) }) as ModelResult;
  const film = (i: number): Film => ({ id: `f${i}`, line: i + 2, overview: "x", genres: [], posterFile: "" });
  const compare = (second: Float32Array): Comparison => ({
    genres: GENRES,
    films: Array.from({ length: FILMS }, (_, i) => film(i)),
    yTrue,
    models: [
      result(
        "Right",
        probabilities(() => false),
      ),
      result("Other", second),
    ],
  });

  it("two models whose predictions differ on one film of 200 are within noise on every figure the narrative weighs", () => {
    const comparison = compare(probabilities((f) => f === 17));
    const d = comparisonDifference(comparison, { seed: 1 });
    for (const m of ["bce", "microF1", "macroF1"] as const) assert.equal(d[m].withinNoise, true, `${m}: ${JSON.stringify(d[m])}`);
    // one film of 200 wrong: micro F1 2 x 199 / (2 x 199 + 2) against 1
    assert.ok(Math.abs(d.microF1.estimate - (1 - 398 / 400)) < 1e-9, String(d.microF1.estimate));
    const text = comparisonNarrative(comparison, hitAgreement(comparison), d);
    assert.match(
      text,
      /the two are \*\*within noise\*\* on binary cross-entropy \(Right 0\.\d+, Other 0\.\d+; -0\.\d+ \[-0\.\d+, \+0\.0000\]: the interval covers 0\)/,
    );
    assert.match(
      text,
      /the two are \*\*within noise\*\* on micro F1 \(Right 1\.0000, Other 0\.9950; \+0\.0050 \[\+0\.0000, \+0\.\d+\]: the interval covers 0\)/,
    );
    assert.match(text, /the two are \*\*within noise\*\* on macro F1/);
    assert.doesNotMatch(text, /has the (lower|higher)/);
  });

  it("a model right on every film against one wrong on 70% of them: the better one is named on each figure", () => {
    const comparison = compare(probabilities((f) => (f * 37) % 100 < 70));
    const d = comparisonDifference(comparison, { seed: 1 });
    assert.ok(d.microF1.low > 0 && d.macroF1.low > 0 && d.bce.high < 0, JSON.stringify(d));
    const text = comparisonNarrative(comparison, hitAgreement(comparison), d);
    assert.match(text, /\*\*Right\*\* has the lower binary cross-entropy/);
    assert.match(text, /\*\*Right\*\* has the higher micro F1 \(Right 1\.0000, Other 0\.3000; \+0\.7000 \[\+0\.6\d+, \+0\.7\d+\]\)/);
    assert.match(text, /\*\*Right\*\* has the higher macro F1/);
    assert.doesNotMatch(text, /within noise/);
    // the narrative's default difference is the seeded one
    assert.equal(
      comparisonNarrative(comparison, hitAgreement(comparison)),
      comparisonNarrative(comparison, hitAgreement(comparison), comparisonDifference(comparison)),
    );
  });

  it("the difference table names the better model, or says within noise", () => {
    const comparison = compare(probabilities((f) => f === 17));
    const lines: string[] = [];
    const log = console.log;
    console.log = (line: string) => lines.push(line);
    try {
      showComparisonDifference(comparison, comparisonDifference(comparison, { seed: 1 }));
      showComparisonDifference(
        compare(probabilities((f) => (f * 37) % 100 < 70)),
        comparisonDifference(compare(probabilities((f) => (f * 37) % 100 < 70))),
      );
    } finally {
      console.log = log;
    }
    const [close, far] = lines.map((l) => l.split("\n"));
    assert.match(close?.find((l) => l.startsWith("micro F1")) ?? "", /1\.0000 +0\.9950 +\+0\.0050 \[\+0\.0000, \+0\.\d+\] +within noise/);
    assert.match(far?.find((l) => l.startsWith("micro F1")) ?? "", /1\.0000 +0\.3000 +\+0\.7000 \[.*\] +Right\s*$/);
    assert.match(far?.find((l) => l.startsWith("binary cross-entropy")) ?? "", /Right\s*$/);
  });
});
