import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { BENCH_USAGE, parseBenchArgs, type BenchResult } from "../lib/commands/bench";
import { median, medianRatioLines, type PeerResult } from "../lib/bench/peers";

const BENCH_JS = path.join(__dirname, "..", "lib", "commands", "bench.js");
const PROJECT = path.join(__dirname, "..", "..");

describe("npm run bench", function () {
  this.timeout(120000);

  it("parses its options", () => {
    const d = parseBenchArgs([], {});
    assert.deepEqual(d.models, ["cnn", "lstm"]);
    assert.equal(d.batchSize, 64);
    assert.ok(d.steps >= 1 && d.warmup >= 1 && d.predictSteps >= d.steps);
    assert.equal(d.threads, undefined);
    const o = parseBenchArgs(["--model", "lstm", "--steps", "3", "--warmup", "0", "--threads", "2", "--small", "--data", "/x"], {
      IMDB_DATA_DIR: "/y",
    });
    assert.deepEqual(o.models, ["lstm"]);
    assert.equal(o.steps, 3);
    assert.equal(o.warmup, 0);
    assert.equal(o.threads, 2);
    assert.equal(o.small, true);
    assert.equal(o.batchSize, 4);
    assert.equal(o.dataDir, "/x");
    assert.equal(parseBenchArgs([], { IMDB_DATA_DIR: "/y" }).dataDir, "/y");
    assert.equal(parseBenchArgs(["--threads", "auto"], {}).threads, "auto");
    assert.deepEqual(parseBenchArgs(["--backends", "wasm,tensorflow"], {}).backends, ["wasm", "tensorflow"]);
    assert.equal(parseBenchArgs([], {}).backends, undefined);
    assert.throws(
      () => parseBenchArgs(["--backends", "wasm,tfjs"], {}),
      /--backends takes a list of tensorflow-gpu, tensorflow, wasm, cpu; got 'wasm,tfjs'/,
    );
    assert.deepEqual(parseBenchArgs(["--model", "both"], {}).models, ["cnn", "lstm"]);
    assert.throws(() => parseBenchArgs(["--model", "rnn"], {}), /--model must be cnn, lstm or both/);
    assert.throws(() => parseBenchArgs(["--steps", "0"], {}), /--steps needs an integer >= 1/);
    assert.throws(() => parseBenchArgs(["--frobnicate"], {}), /unknown option --frobnicate/);
    assert.ok(BENCH_USAGE.includes("--threads"));
    assert.equal(parseBenchArgs([], {}).batching, "bucketed");
    assert.equal(parseBenchArgs(["--batching", "padded"], {}).batching, "padded");
    assert.throws(() => parseBenchArgs(["--batching", "sorted"], {}), /--batching must be bucketed or padded/);
    assert.equal(parseBenchArgs([], {}).rounds, 1);
    assert.equal(parseBenchArgs(["--rounds", "3"], {}).rounds, 3);
    assert.throws(() => parseBenchArgs(["--rounds", "0"], {}), /--rounds needs an integer >= 1/);
    assert.throws(() => parseBenchArgs(["--epoch", "--rounds", "2"], {}), /does not take --rounds/);
  });

  it("--rounds: each ratio per round and its median, per backend, model and peer", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    const wb = (backend: string, train: number, predict: number) =>
      ({ model: "cnn", backend, trainSamplesPerSec: train, predictSamplesPerSec: predict }) as BenchResult;
    const keras = (train: number, predict: number) =>
      ({ model: "cnn", framework: "keras", trainSamplesPerSec: train, predictSamplesPerSec: predict }) as PeerResult;
    const lines = medianRatioLines([
      { workbook: [wb("tensorflow", 100, 400), wb("wasm", 25, 100)], peers: [keras(100, 500)] },
      { workbook: [wb("tensorflow", 90, 450), wb("wasm", 20, 100)], peers: [keras(100, 500)] },
      { workbook: [wb("tensorflow", 150, 240), wb("wasm", 30, 100)], peers: [keras(125, 400)] },
    ]);
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /over 3 rounds/);
    // 100/100, 90/100, 150/125; 400/500, 450/500, 240/400
    assert.equal(lines[1], "cnn    tensorflow / keras: train 1.00, 0.90, 1.20 (median 1.00x); predict 0.80, 0.90, 0.60 (median 0.80x)");
    assert.equal(lines[2], "cnn    wasm / keras: train 0.25, 0.20, 0.24 (median 0.24x); predict 0.20, 0.20, 0.25 (median 0.20x)");
  });

  it("--rounds 2 measures each model twice, in turn, each line saying its round", () => {
    const run = spawnSync(
      process.execPath,
      [BENCH_JS, "--small", "--model", "cnn", "--steps", "1", "--warmup", "1", "--predict-steps", "1", "--threads", "1", "--rounds", "2"],
      {
        cwd: PROJECT,
        encoding: "utf8",
        env: { ...process.env, WORKBOOK_BACKEND: "wasm", IMDB_DATA_DIR: path.join(PROJECT, "no-such-dataset") },
      },
    );
    assert.equal(run.status, 0, run.stderr);
    const results = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as BenchResult);
    assert.deepEqual(
      results.map((r) => [r.model, r.round]),
      [
        ["cnn", 0],
        ["cnn", 1],
      ],
    );
    assert.match(run.stderr, /round 1 of 2[\s\S]*round 2 of 2/);
  });

  it("prints one JSON line per model (tiny models, 2 wasm threads, synthetic texts)", () => {
    const run = spawnSync(
      process.execPath,
      [BENCH_JS, "--small", "--steps", "1", "--warmup", "1", "--predict-steps", "2", "--threads", "2", "--profile"],
      {
        cwd: PROJECT,
        encoding: "utf8",
        env: { ...process.env, WORKBOOK_BACKEND: "wasm", IMDB_DATA_DIR: path.join(PROJECT, "no-such-dataset") },
      },
    );
    assert.equal(run.status, 0, run.stderr);
    const out = run.stdout;
    const lines = out.trim().split("\n");
    assert.equal(lines.length, 2, out);
    const results = lines.map((l) => JSON.parse(l) as BenchResult);
    assert.deepEqual(
      results.map((r) => r.model),
      ["cnn", "lstm"],
    );
    for (const r of results) {
      assert.equal(r.backend, "wasm");
      assert.equal(r.threads, 2);
      assert.equal(typeof r.simd, "boolean");
      assert.equal(r.batchSize, 4);
      assert.equal(r.small, true);
      for (const k of ["trainSamplesPerSec", "predictSamplesPerSec", "peakRssMB"] as const) {
        assert.ok(Number.isFinite(r[k]) && r[k] > 0, `${r.model} ${k} = ${r[k]}`);
      }
      for (const k of ["trainSeconds", "predictSeconds", "loadAverage", "trainGflopsPerSec", "predictGflopsPerSec"] as const) {
        assert.ok(Number.isFinite(r[k]) && r[k] >= 0, `${r.model} ${k} = ${r[k]}`);
      }
      assert.equal(r.trainSteps, 1);
      // batches per second = samples per second / batch size (both rounded)
      assert.ok(Math.abs(r.stepsPerSecond * r.batchSize - r.trainSamplesPerSec) <= 0.1 + 0.01 * r.batchSize, `${r.model} stepsPerSecond`);
      assert.ok(Math.abs(r.predictStepsPerSecond * r.batchSize - r.predictSamplesPerSec) <= 0.1 + 0.01 * r.batchSize);
      assert.equal(r.predictSteps, 2);
      assert.ok(Number.isInteger(r.liveTensors) && r.liveTensors > 0);
      assert.equal(r.liveTensors, r.liveTensorsAfterWarmup, `${r.model}: no tensor leak between warm-up and the end`);
      assert.ok(r.cores >= 1 && r.cpu.length > 0);
    }
    const lstm = results[1]!;
    assert.equal(lstm.texts, "synthetic");
    assert.equal(lstm.batching, "padded");
    // --profile: one line per model on stderr, kernels by time, for training and prediction
    const profiles = run.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map(
        (l) => JSON.parse(l) as { model: string; profile: Record<"train" | "predict", { kernels: { kernel: string; calls: number }[] }> },
      );
    assert.deepEqual(
      profiles.map((p) => p.model),
      ["cnn", "lstm"],
    );
    for (const p of profiles) for (const phase of ["train", "predict"] as const) assert.ok(p.profile[phase].kernels.length > 0);
    const kernelsOf = (model: string, phase: "train" | "predict") =>
      profiles.find((p) => p.model === model)!.profile[phase].kernels.map((k) => k.kernel);
    assert.ok(kernelsOf("cnn", "train").includes("Conv2DBackpropFilter"));
    assert.ok(kernelsOf("lstm", "train").includes("LstmSequence") && kernelsOf("lstm", "train").includes("LstmSequenceGrad"));
    assert.ok(kernelsOf("lstm", "predict").includes("LstmSequence"));
    assert.ok(lstm.meanSequenceLength! >= 1 && lstm.meanSequenceLength! <= 8);
    assert.ok(lstm.meanTokens! >= 1 && lstm.meanTokens! <= lstm.meanSequenceLength!);
  });
});
