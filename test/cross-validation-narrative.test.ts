/**
 * Notebook 09's sentences (workbook/cross-validation.ts crossValidationNarrative) on hand-made folds of 200 films: the
 * ensemble is said to be ahead of or behind one model alone only where the paired difference's interval lies on one
 * side of 0, and within noise where it covers 0.
 */
import * as assert from "node:assert/strict";
import { crossValidatedScores } from "../lib/eval/cross-validation";
import type { FoldRun } from "../lib/train/cross-validate";
import { crossValidationNarrative } from "../lib/workbook/cross-validation";

const FILMS = 200;
const GENRES = ["Drama", "Comedy"];
/** Drama: every even film; Comedy: every third film. */
const yTrue = Float32Array.from({ length: FILMS * 2 }, (_, c) => {
  const film = Math.floor(c / 2);
  return c % 2 === 0 ? Number(film % 2 === 0) : Number(film % 3 === 0);
});
/** Out of fold: positives at 0.9, negatives at 0.1, so every genre's threshold is 0.5 (the tie closest to 0.5). */
const outOfFold = { yTrue, yProb: yTrue.map((y) => (y ? 0.9 : 0.1)) };

/** A fold's probabilities: `positive(film)` for a positive cell, `negative` for the others. */
function fold(positive: (film: number) => number, negative: number): Float32Array {
  return yTrue.map((y, c) => (y ? positive(Math.floor(c / 2)) : negative));
}

function narrative(foldA: Float32Array, foldB: Float32Array): string {
  const scores = crossValidatedScores(
    GENRES,
    outOfFold,
    { yTrue, folds: [foldA, foldB], foldThresholds: [GENRES.map(() => 0.5), GENRES.map(() => 0.5)] },
    { resamples: 500, seed: 5 },
  );
  const run: FoldRun = {
    dir: "fold",
    trainFilms: 160,
    heldOutFilms: 40,
    bestEpoch: 3,
    bestValLoss: 0.2,
    thresholds: [0.5, 0.5],
    seconds: 1,
  };
  return crossValidationNarrative({ kind: "pretrained", genres: GENRES, runs: [run, { ...run, dir: "fold-2" }], ...scores });
}

/** The verdict against the model chosen beforehand (the other paragraphs count the verdicts against every fold). */
const firstParagraph = (text: string) => text.split("\n\n")[0] as string;

describe("notebook 09's narrative: the ensemble against one model alone, by the paired interval", () => {
  it("one film apart is within noise, not ahead", () => {
    // fold A (the model alone) misses film 0's positives; fold B finds them at 0.95: their mean, 0.525, is above 0.5
    const text = narrative(
      fold((f) => (f === 0 ? 0.1 : 0.9), 0.1),
      fold(() => 0.95, 0.05),
    );
    assert.match(
      text,
      /^Against one model alone \(fold 1's, trained on 160 films, .*\), the ensemble of the 2 fold models is \*\*within noise\*\* of it: /,
    );
    assert.match(text, /micro F1 \+0\.\d{4} \[\+0\.0000, \+0\.\d{4}\], within noise/);
    assert.doesNotMatch(text, /ahead|behind/);
  });

  it("the model alone wrong on 30% of the films, the ensemble right on all: ahead", () => {
    const text = narrative(
      fold((f) => (f % 10 < 3 ? 0.1 : 0.9), 0.1),
      fold(() => 0.95, 0.05),
    );
    assert.match(text, /^Against one model alone .*, the ensemble of the 2 fold models is \*\*ahead\*\*: /);
    assert.doesNotMatch(firstParagraph(text), /within noise/);
    // the validation films would pick the same thresholds here: every one from 0.10 to 0.50 separates the mean's
    // positives (0.525 or more) from its negatives (0.075), and 0.5 is the closest to 0.5
    assert.match(text, /differ from those the validation films would pick for themselves on 0 of 2 genres/);
    // fold A alone: Drama and Comedy each miss the positives of films 0-2 mod 10; fold B alone is right on all
    assert.match(text, /Alone, the 2 fold models score micro F1 0\.\d{4} to 1\.0000 on the same films/);
    // against fold B alone (right on every film, as the ensemble is) the difference is 0 on every resample: within noise
    assert.match(
      text,
      /Against each of them alone \(paired, as above\), the ensemble is on micro F1 ahead of 1, within noise of 1; on macro F1 ahead of 1, within noise of 1\./,
    );
  });

  it("the ensemble wrong where the model alone is right, on 30% of the films: behind", () => {
    const text = narrative(
      fold(() => 0.9, 0.1),
      fold((f) => (f % 10 < 3 ? 0 : 0.9), 0.1),
    );
    assert.match(text, /^Against one model alone .*, the ensemble of the 2 fold models is \*\*behind\*\*: /);
    assert.doesNotMatch(firstParagraph(text), /within noise|ahead/);
    // fold B alone misses the same films as the ensemble: within noise of it; fold A alone is right on all: behind it
    assert.match(text, /the ensemble is on micro F1 within noise of 1, behind 1; on macro F1 within noise of 1, behind 1\./);
  });
});
