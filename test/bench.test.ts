import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as path from "path";
import { BENCH_USAGE, parseBenchArgs, type BenchResult } from "../lib/commands/bench";

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
    assert.deepEqual(parseBenchArgs(["--model", "both"], {}).models, ["cnn", "lstm"]);
    assert.throws(() => parseBenchArgs(["--model", "rnn"], {}), /--model must be cnn, lstm or both/);
    assert.throws(() => parseBenchArgs(["--steps", "0"], {}), /--steps needs an integer >= 1/);
    assert.throws(() => parseBenchArgs(["--frobnicate"], {}), /unknown option --frobnicate/);
    assert.ok(BENCH_USAGE.includes("--threads"));
  });

  it("prints one JSON line per model (tiny models, 2 wasm threads, synthetic texts)", () => {
    const out = execFileSync(
      process.execPath,
      [BENCH_JS, "--small", "--steps", "1", "--warmup", "1", "--predict-steps", "2", "--threads", "2", "--profile"],
      {
        cwd: PROJECT,
        encoding: "utf8",
        env: { ...process.env, WORKBOOK_BACKEND: "wasm", IMDB_DATA_DIR: path.join(PROJECT, "no-such-dataset") },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
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
      for (const k of ["trainSeconds", "predictSeconds", "loadAverage"] as const) {
        assert.ok(Number.isFinite(r[k]) && r[k] >= 0, `${r.model} ${k} = ${r[k]}`);
      }
      assert.equal(r.trainSteps, 1);
      assert.equal(r.predictSteps, 2);
      assert.ok(Number.isInteger(r.liveTensors) && r.liveTensors > 0);
      assert.equal(r.liveTensors, r.liveTensorsAfterWarmup, `${r.model}: no tensor leak between warm-up and the end`);
      assert.ok(r.cores >= 1 && r.cpu.length > 0);
    }
    const lstm = results[1]!;
    assert.equal(lstm.texts, "synthetic");
    assert.ok(lstm.meanSequenceLength! >= 1 && lstm.meanSequenceLength! <= 8);
    assert.ok(lstm.meanTokens! >= 1 && lstm.meanTokens! <= lstm.meanSequenceLength!);
  });
});
