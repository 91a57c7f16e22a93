import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFixtureDataset } from "../lib/data/fixture";
import { loadSplitDataset, trainingFolds } from "../lib/data/split";
import { averageProbabilities, crossValidatedScores } from "../lib/eval/cross-validation";
import { predictFilms } from "../lib/eval/inference";
import { kindConfig, loadModel } from "../lib/kinds/registry";
import { crossValidate } from "../lib/train/cross-validate";
import { silentProgress } from "../lib/train/progress";
import { useBackend } from "./helpers";

describe("cross-validation", function () {
  this.timeout(300000);
  useBackend("cpu");

  it("trainingFolds deals the training films into k seeded folds: disjoint, together the training films, no validation film", () => {
    const split = { train: Array.from({ length: 23 }, (_, i) => i * 2), validation: [1, 3, 5], seed: 4 };
    const folds = trainingFolds(split, 4, 9);
    assert.equal(folds.length, 4);
    const heldOut = folds.flatMap((f) => f.validation);
    assert.deepEqual(
      [...heldOut].sort((a, b) => a - b),
      split.train,
      "every training film held out exactly once",
    );
    for (const f of folds) {
      assert.ok([5, 6].includes(f.validation.length), `fold of ${f.validation.length}`);
      assert.deepEqual(
        [...f.train, ...f.validation].sort((a, b) => a - b),
        split.train,
        "a fold trains on all the others",
      );
      assert.ok(!f.validation.some((r) => split.validation.includes(r)) && !f.train.some((r) => split.validation.includes(r)));
    }
    assert.deepEqual(trainingFolds(split, 4, 9), folds, "same seed, same folds");
    assert.notDeepEqual(trainingFolds(split, 4, 10), folds);
    assert.throws(() => trainingFolds(split, 1, 9), /folds >= 2, got 1/);
    assert.throws(() => trainingFolds(split, 24, 9), /24 folds of 23 training films/);
  });

  it("thresholds come from the out-of-fold probabilities; the validation films are scored with the folds' models averaged", () => {
    // One genre. Out of fold: positives at 0.3, negatives at 0.1: every grid threshold in [0.10, 0.30) separates
    // them, and the one closest to 0.5 is 0.25. Validation: two folds' models give the positives 0.46 and 0.10
    // (mean 0.28) and the negatives 0.10 and 0.10: at 0.25 every film is right (F1 1); at 0.5 no positive is found.
    const oofTrue = Float32Array.from([1, 0, 1, 0, 1, 0]);
    const oofProb = oofTrue.map((y) => (y ? 0.3 : 0.1));
    const yTrue = Float32Array.from([1, 0, 1, 0]);
    const folds = [yTrue.map((y) => (y ? 0.46 : 0.1)), yTrue.map(() => 0.1)];
    const scores = crossValidatedScores(["Drama"], { yTrue: oofTrue, yProb: oofProb }, { yTrue, folds }, { resamples: 100 });
    assert.ok(Math.abs((scores.thresholds[0] as number) - 0.25) < 1e-9, `threshold ${scores.thresholds[0]}`);
    scores.validation.probabilities.forEach((p, i) => assert.ok(Math.abs(p - (yTrue[i] ? 0.28 : 0.1)) < 1e-6, `film ${i}: ${p}`));
    assert.equal(scores.validation.tuned.microF1, 1);
    assert.equal(scores.validation.atHalf.microF1, 0);
    assert.equal(scores.validation.films, 4);
    // the interval is over the validation films at the same thresholds: its estimate is the tuned figure
    assert.equal(scores.validation.intervalsTuned.microF1.estimate, 1);
    assert.equal(scores.validation.intervalsAtHalf.microF1.estimate, 0);
    assert.throws(() => averageProbabilities([new Float32Array(2), new Float32Array(3)]), /3 probabilities against 2/);
  });

  it("crossValidate on a fixture: k models, each held-out fold predicted by the model that did not train on it, the validation films by their mean", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cross-validate-"));
    const data = path.join(dir, "data");
    await writeFixtureDataset(data, { films: 60 });
    const config = {
      ...kindConfig("linear", { preset: "smoke" }),
      dataDir: data,
      cacheDir: path.join(dir, "cache"),
      outDir: path.join(dir, "out"),
      epochs: 3,
    };
    const lines: string[] = [];
    const cv = await crossValidate(config, { folds: 3, log: (l) => lines.push(l), progress: silentProgress, resamples: 200 });
    const loaded = loadSplitDataset(data, config, () => undefined);
    assert.equal(cv.folds.length, 3);
    assert.deepEqual(
      cv.folds.map((f) => f.heldOutFilms).reduce((a, b) => a + b),
      loaded.split.train.length,
    );
    const heldOut: string[] = [];
    const g = loaded.dataset.genres.length;
    const validationSum = new Float64Array(cv.validationIds.length * g);
    for (const [i, fold] of cv.folds.entries()) {
      assert.equal(fold.dir, path.join(config.outDir, "cross-validation", "smoke", "linear", `fold-${i + 1}`));
      assert.ok(fold.bestEpoch >= 1 && fold.bestEpoch <= 3, `fold ${i + 1} kept epoch ${fold.bestEpoch}`);
      const trained = await loadModel(fold.dir);
      const predict = async (ids: readonly string[]) => {
        const rows = ids.map((id) => loaded.dataset.films.findIndex((f) => f.id === id));
        return (await predictFilms(trained, loaded.dataset, rows, { cacheDir: config.cacheDir, log: () => undefined })).probabilities;
      };
      // the fold model chose its epoch on its own held-out films: training films of the run, never validation films
      const own = trained.info.dataset?.validationIds ?? [];
      assert.equal(own.length, fold.heldOutFilms);
      assert.ok(own.every((id) => cv.trainingIds.includes(id) && !cv.validationIds.includes(id)));
      heldOut.push(...own);
      // its held-out films' out-of-fold probabilities are its own predictions of them
      const mine = await predict(own);
      own.forEach((id, k) => {
        const at = cv.trainingIds.indexOf(id);
        for (let j = 0; j < g; j++)
          assert.ok(Math.abs((cv.outOfFoldProbabilities[at * g + j] as number) - (mine[k * g + j] as number)) < 1e-6, `${id}, genre ${j}`);
      });
      (await predict(cv.validationIds)).forEach((p, k) => (validationSum[k] += p / cv.folds.length));
      trained.model.dispose();
    }
    cv.validation.probabilities.forEach((p, k) => assert.ok(Math.abs(p - (validationSum[k] as number)) < 1e-6, `validation cell ${k}`));
    assert.deepEqual([...heldOut].sort(), [...cv.trainingIds].sort(), "every training film held out once");
    assert.equal(cv.validation.films, loaded.split.validation.length);
    assert.equal(cv.thresholds.length, loaded.dataset.genres.length);
    for (const m of ["microF1", "macroF1", "bce"] as const) {
      const iv = cv.validation.intervalsTuned[m];
      assert.ok(iv.low <= iv.estimate && iv.estimate <= iv.high, `${m}: ${JSON.stringify(iv)}`);
    }
    assert.match(lines.join("\n"), /cross-validation: fold 3 of 3 \(32 training films, 16 held out\)/);
    assert.match(
      lines.at(-1) ?? "",
      /cross-validation of linear, 3 folds .*: 12 validation films, .* on 48 training films: microF1 [\d.]+ \[[\d.]+, [\d.]+\]/,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
