import * as assert from "node:assert/strict";
import type { Film } from "../lib/data/dataset";
import { Comparison, ModelResult, decisiveFilms } from "../lib/eval/comparison";

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
