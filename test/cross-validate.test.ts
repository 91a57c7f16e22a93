import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFixtureDataset } from "../lib/data/fixture";
import { loadSplitDataset, trainingFolds } from "../lib/data/split";
import { averageProbabilities, crossValidatedScores } from "../lib/eval/cross-validation";
import { compareModels } from "../lib/eval/comparison";
import { predictFilms } from "../lib/eval/inference";
import { leaderboardContenders, scoreContenders } from "../lib/eval/leaderboard";
import { kindConfig, loadModel } from "../lib/kinds/registry";
import { CrossValidation, crossValidate, estimateCrossValidation } from "../lib/train/cross-validate";
import { PROJECT_DIR } from "../lib/runtime/config";
import { writeTinyFolder } from "./model-folders";
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
    const foldThresholds = [[0.5], [0.5]];
    const scores = crossValidatedScores(
      ["Drama"],
      { yTrue: oofTrue, yProb: oofProb },
      { yTrue, folds, foldThresholds },
      { resamples: 100 },
    );
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

  it("out-of-fold thresholds differ from those the validation films would choose, and only the former score them; each fold alone at its own", () => {
    // One genre, 20 validation films (10 positive). Out of fold as above: 0.25. Validation: fold A gives the
    // positives 0.82, fold B 0.10; both give the negatives 0.02: the mean is 0.46 and 0.02. Tuned on the validation
    // films themselves, every grid threshold from 0.05 to 0.45 separates them, and the closest to 0.5 is 0.45:
    // not the out-of-fold 0.25, which is what the validation films are scored at. Alone, fold A at its own 0.5
    // finds every positive (F1 1), fold B at its own 0.5 none (F1 0).
    const oofTrue = Float32Array.from([1, 0, 1, 0, 1, 0]);
    const oofProb = oofTrue.map((y) => (y ? 0.3 : 0.1));
    const yTrue = Float32Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const foldA = yTrue.map((y) => (y ? 0.82 : 0.02));
    const foldB = yTrue.map((y) => (y ? 0.1 : 0.02));
    const validation = { yTrue, folds: [foldA, foldB], foldThresholds: [[0.5], [0.5]] };
    const scores = crossValidatedScores(["Drama"], { yTrue: oofTrue, yProb: oofProb }, validation, { resamples: 200, seed: 3 });
    assert.ok(Math.abs((scores.thresholds[0] as number) - 0.25) < 1e-9, `out-of-fold threshold ${scores.thresholds[0]}`);
    assert.ok(
      Math.abs((scores.validation.validationTunedThresholds[0] as number) - 0.45) < 1e-9,
      `${scores.validation.validationTunedThresholds}`,
    );
    assert.deepEqual(
      scores.validation.tuned.thresholds,
      scores.thresholds,
      "the validation films are scored at the out-of-fold thresholds",
    );
    assert.equal(scores.validation.tuned.microF1, 1);
    assert.deepEqual(
      scores.folds.map((f) => f.tuned.microF1),
      [1, 0],
    );
    assert.deepEqual(
      scores.folds.map((f) => f.intervalsTuned.microF1.estimate),
      [1, 0],
    );
    // the ensemble against fold A alone: the same on every film, so 0 on every resample (within noise); against
    // fold B alone: 1 on every resample that draws a positive film
    assert.equal(scores.againstSingle.single, 0);
    const a = scores.againstSingle.difference.microF1;
    assert.deepEqual([a.estimate, a.low, a.high, a.withinNoise], [0, 0, 0, true]);
    const againstB = crossValidatedScores(["Drama"], { yTrue: oofTrue, yProb: oofProb }, validation, {
      resamples: 200,
      seed: 3,
      single: 1,
    });
    const b = againstB.againstSingle.difference.microF1;
    assert.deepEqual([b.estimate, b.low, b.high, b.withinNoise], [1, 1, 1, false]);
    assert.deepEqual(
      scores.againstEach.map((d) => [d.microF1.estimate, d.microF1.low, d.microF1.high, d.microF1.withinNoise]),
      [
        [0, 0, 0, true],
        [1, 1, 1, false],
      ],
      "against each fold's model alone, in fold order",
    );
    assert.throws(
      () => crossValidatedScores(["Drama"], { yTrue: oofTrue, yProb: oofProb }, { ...validation, foldThresholds: [[0.5]] }),
      /1 folds' thresholds for 2 folds/,
    );
  });

  describe("crossValidate on a 60-film fixture, kept as an ensemble model folder", () => {
    let dir: string;
    let data: string;
    let config: ReturnType<typeof kindConfig<"linear">>;
    let cv: CrossValidation;
    const lines: string[] = [];
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "cross-validate-"));
      data = path.join(dir, "data");
      await writeFixtureDataset(data, { films: 60 });
      config = {
        ...kindConfig("linear", { preset: "smoke" }),
        dataDir: data,
        cacheDir: path.join(dir, "cache"),
        outDir: path.join(dir, "out"),
        epochs: 3,
      };
      cv = await crossValidate(config, { folds: 3, log: (l) => lines.push(l), progress: silentProgress, resamples: 200 });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("k models, each held-out fold predicted by the model that did not train on it, the validation films by their mean", async () => {
      const loaded = loadSplitDataset(data, config, () => undefined);
      assert.equal(cv.runs.length, 3);
      assert.deepEqual(
        cv.runs.map((f) => f.heldOutFilms).reduce((a, b) => a + b),
        loaded.split.train.length,
      );
      const heldOut: string[] = [];
      const g = loaded.dataset.genres.length;
      const validationSum = new Float64Array(cv.validationIds.length * g);
      for (const [i, fold] of cv.runs.entries()) {
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
            assert.ok(
              Math.abs((cv.outOfFoldProbabilities[at * g + j] as number) - (mine[k * g + j] as number)) < 1e-6,
              `${id}, genre ${j}`,
            );
        });
        (await predict(cv.validationIds)).forEach((p, k) => (validationSum[k] += p / cv.runs.length));
        assert.deepEqual(trained.thresholds?.thresholds, fold.thresholds, "its thresholds are its own, tuned on its held-out films");
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
      assert.equal(cv.folds.length, 3, "each fold's model alone scored on the validation films");
      assert.match(lines.join("\n"), /cross-validation: fold 3 of 3 \(32 training films, 16 held out\)/);
      assert.match(
        lines.at(-1) ?? "",
        /cross-validation of linear, 3 folds .*: 12 validation films, .* on 48 training films: microF1 [\d.]+ \[[\d.]+, [\d.]+\].* fold 1's model alone, at its own thresholds .*: microF1 [\d.]+ \[.*; the ensemble minus that model alone: microF1 [-+][\d.]+ \[/,
      );

      // the ensemble folder, loaded like any model: its predictions are the mean worked out above
      const ensemble = await loadModel(cv.dir);
      const rows = cv.validationIds.map((id) => loaded.dataset.films.findIndex((f) => f.id === id));
      const predicted = await predictFilms(ensemble, loaded.dataset, rows, { cacheDir: config.cacheDir, log: () => undefined });
      assert.deepEqual(predicted.ids, cv.validationIds);
      predicted.probabilities.forEach((p, k) => assert.ok(Math.abs(p - (validationSum[k] as number)) < 1e-6, `ensemble, cell ${k}`));
      assert.deepEqual(ensemble.thresholds?.thresholds, cv.thresholds);

      // and on a leaderboard beside one of its folds, as any model is
      const fold1 = await loadModel(cv.runs[0]?.dir as string);
      const comparison = await compareModels(
        [
          { trained: ensemble, id: "ensemble" },
          { trained: fold1, id: "fold-1" },
        ],
        loaded.dataset,
        rows,
        { cacheDir: config.cacheDir, log: () => undefined },
      );
      const board = scoreContenders(
        comparison.yTrue,
        comparison.genres,
        leaderboardContenders(comparison, loaded.dataset, loaded.split, 1),
        1,
      );
      const row = board.rows.find((r) => r.name === "TF-IDF + logistic regression, 3-fold ensemble");
      assert.ok(row, board.rows.map((r) => r.name).join(", "));
      row.probabilities.forEach((p, k) => assert.ok(Math.abs(p - (validationSum[k] as number)) < 1e-6, `leaderboard row, cell ${k}`));
      assert.ok(
        board.rows.some((r) => r.name === "TF-IDF + logistic regression"),
        "the fold model's own row",
      );
      fold1.model.dispose();
      ensemble.model.dispose();
    });

    it("the ensemble folder is written as a run: a link to its own run folder, its folds plain folders, its folds and split in info.json", () => {
      const target = cv.dir;
      assert.equal(target, path.join(config.outDir, "cross-validation", "smoke", "linear"));
      assert.match(fs.readlinkSync(target), /^linear\.runs\/\d{8}-\d{6}-\d+$/);
      assert.ok(!fs.existsSync(`${target}.lock`), "the lock is released");
      const info = JSON.parse(fs.readFileSync(path.join(target, "info.json"), "utf8"));
      assert.equal(info.kind, "linear");
      assert.equal(info.ensemble.folds, 3);
      assert.equal(info.ensemble.seed, cv.seed);
      assert.deepEqual(info.dataset.trainIds, cv.trainingIds);
      for (let i = 1; i <= 3; i++) {
        const fold = path.join(target, `fold-${i}`);
        assert.ok(fs.lstatSync(fold).isDirectory(), `fold-${i} is a folder, not a link`);
        assert.ok(!fs.existsSync(`${fold}.runs`) && !fs.existsSync(`${fold}.lock`));
        const own = JSON.parse(fs.readFileSync(path.join(fold, "info.json"), "utf8"));
        assert.deepEqual(info.ensemble.members[i - 1].heldOutIds, own.dataset.validationIds);
        assert.equal(info.ensemble.members[i - 1].bestEpoch, own.bestEpoch);
      }
      const thresholds = JSON.parse(fs.readFileSync(path.join(target, "thresholds.json"), "utf8"));
      assert.deepEqual(thresholds.thresholds, cv.thresholds);
      assert.equal(thresholds.tunedOn, "out-of-fold probabilities of the training films (3 folds)");
      assert.equal(thresholds.films, 48);
    });

    const COMMANDS = path.join(PROJECT_DIR, "dist", "lib", "commands");
    const command = (name: string, args: string[]) => {
      const env = {
        ...process.env,
        IMDB_DATA_DIR: data,
        WORKBOOK_CACHE_DIR: path.join(dir, "cache"),
        WORKBOOK_OUT_DIR: path.join(dir, "out"),
      };
      const r = spawnSync(process.execPath, [path.join(COMMANDS, `${name}.js`), ...args], { encoding: "utf8", env, timeout: 180000 });
      return { status: r.status, stdout: r.stdout, output: r.stdout + r.stderr };
    };

    it("npm run predict, evaluate and explain take the ensemble folder like any model folder", () => {
      const predicted = command("predict", ["--model", cv.dir, "--data", data, "--json"]);
      assert.equal(predicted.status, 0, predicted.output);
      assert.equal(predicted.stdout.trim().split("\n").length, 60, "one line per film");
      const evaluated = command("evaluate", ["--model", cv.dir, "--data", data]);
      assert.equal(evaluated.status, 0, evaluated.output);
      assert.match(evaluated.output, /\(linear, preset smoke, an ensemble of 3 folds, epochs kept \d, \d, \d\)/);
      assert.match(
        evaluated.output,
        /at the per-genre thresholds tuned on the training run's out-of-fold probabilities of the training films \(3 folds\) \(48 films\)/,
      );
      const out = path.join(dir, "explained.html");
      const explained = command("explain", ["--model", cv.dir, "--overview", "a detective hunts a killer in the city", "--out", out]);
      assert.equal(explained.status, 0, explained.output);
      assert.ok(fs.readFileSync(out, "utf8").includes("Why these genres?"));
    });

    it("npm run train -- KIND --folds K writes an ensemble; a wrong K is refused; the CNN needs --accept-cost and is told the cost first", () => {
      const out = path.join(dir, "by-command");
      const trained = command("train", ["linear", "--preset", "smoke", "--epochs", "2", "--folds", "2", "--out", out]);
      assert.equal(trained.status, 0, trained.output);
      assert.match(trained.output, /cross-validation of linear, 2 folds/);
      assert.equal(JSON.parse(fs.readFileSync(path.join(out, "info.json"), "utf8")).ensemble.folds, 2);
      // a K that is not a whole number >= 2 is a usage mistake (status 2); more folds than training films, a refusal (1)
      for (const [k, status, message] of [
        ["1", 2, "--folds needs an integer >= 2, got '1'"],
        ["2.5", 2, "--folds needs an integer >= 2, got '2.5'"],
        ["five", 2, "--folds needs an integer >= 2, got 'five'"],
        ["49", 1, "49 folds of 48 training films: at most one fold per film"],
      ] as const) {
        const r = command("train", ["linear", "--preset", "smoke", "--folds", k, "--out", path.join(dir, `refused-${k}`)]);
        assert.equal(r.status, status, r.output);
        assert.match(r.output, new RegExp(`train: ${message.replace(/[.+()]/g, "\\$&")}`));
      }
      const cnn = command("train", ["cnn", "--preset", "smoke", "--folds", "3"]);
      assert.equal(cnn.status, 1, cnn.output);
      assert.match(
        cnn.output,
        /train: cross-validating cnn trains 3 models, no timed model of cnn at preset smoke \(.*\) to estimate from: fold 1 is timed, .* 'npm run train -- KIND --folds K --accept-cost'/,
      );
    });
  });

  it("the cost of k folds is estimated from the preset's own model's seconds per epoch, scaled to the films a fold reads", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "cross-validate-cost-"));
    const config = { ...kindConfig("cnn", { preset: "smoke" }), outDir: out };
    assert.match(await estimateCrossValidation(config, 5, 40), /^no timed model of cnn at preset smoke/);
    // its history: two epochs of 1 s each, on 10 films (8 training, 2 validation)
    await writeTinyFolder(path.join(out, "models", "smoke", "cnn"), "cnn");
    // 5 folds x the preset's epochs x 1 s x 40 / 10 films
    const seconds = 5 * config.epochs * 1 * (40 / 10);
    const said = seconds < 90 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`;
    assert.match(
      await estimateCrossValidation(config, 5, 40),
      new RegExp(`^about ${said} at most: 5 folds x ${config.epochs} epochs x 1\\.0 s per epoch of 10 films`),
    );
    fs.rmSync(out, { recursive: true, force: true });
  });
});
