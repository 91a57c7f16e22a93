import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { Dataset, Film } from "../lib/data/dataset";
import type { PreparedRun } from "../lib/kinds/kind";
import type { RunSettings } from "../lib/kinds/presets";
import { startRun } from "../lib/kinds/runs";
import { lossFromConfig } from "../lib/models/losses";
import { silentProgress } from "../lib/train/progress";
import { trainRun } from "../lib/train/lifecycle";
import { WorkbookError } from "../lib/runtime/errors";
import { useBackend } from "./helpers";

// A tiny run built by hand (no dataset folder, no command): two genres, one input feature that tells them apart.

const GENRES = ["A", "B"];

function tinyDataset(n: number): Dataset {
  const films: Film[] = Array.from({ length: n }, (_, i) => ({
    id: `tt${9000000 + i}`,
    line: i + 2,
    overview: "x",
    genres: [],
    posterFile: "",
  }));
  // genre A for even films, B for odd ones
  const labels = Uint8Array.from({ length: n * 2 }, (_, k) => (Math.floor(k / 2) % 2 === k % 2 ? 1 : 0));
  return { csvFile: "tiny.csv", genres: GENRES, films, labels, problems: [], rowsRead: n } as unknown as Dataset;
}

function tinyRun(dir: string, settings: Partial<RunSettings> = {}): PreparedRun {
  const n = 16;
  const dataset = tinyDataset(n);
  const split = { train: Array.from({ length: 12 }, (_, i) => i), validation: [12, 13, 14, 15], seed: 1 };
  const feature = (r: number) => (r % 2 === 0 ? 1 : -1);
  const model = tf.sequential({
    layers: [tf.layers.dense({ units: 2, inputShape: [1], activation: "sigmoid", kernelInitializer: "zeros" })],
  });
  const full: RunSettings = { epochs: 3, batchSize: 4, learningRate: 0.1, seed: 1, validationFraction: 0.25, ...settings };
  return {
    kind: "cnn",
    dir,
    model,
    data: {
      train: split.train,
      validation: split.validation,
      makeBatch: (rows) => ({
        inputs: tf.tensor2d(
          rows.map((r) => [feature(r)]),
          [rows.length, 1],
        ),
        labels: tf.tensor2d(
          rows.map((r) => [r % 2 === 0 ? 1 : 0, r % 2 === 0 ? 0 : 1]),
          [rows.length, 2],
        ),
      }),
    },
    dataset,
    split,
    settings: full,
    info: {
      kind: "cnn",
      genres: GENRES,
      preset: "smoke",
      settings: { ...full },
      dataset: { dir: "-", films: n, trainFilms: 12, validationFilms: 4, seed: 1 },
      backend: "cpu",
      started: "now",
    },
    loss: lossFromConfig({ kind: "bce" }, dataset.labels, GENRES, split.train),
  };
}

describe("train/lifecycle: one lifecycle for every kind", function () {
  this.timeout(60000);
  useBackend("cpu");
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "lifecycle-"));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("refuses a run whose settings changed since it was prepared, naming the change and the cell to run; nothing is written", async () => {
    const run = tinyRun(path.join(root, "model"));
    await assert.rejects(
      trainRun(run, { config: { ...run.settings, epochs: 5 }, progress: silentProgress(), log: () => undefined }),
      (e: unknown) => {
        assert.ok(e instanceof WorkbookError);
        assert.match(
          (e as Error).message,
          /the configuration changed since the run was prepared \(epochs 3 -> 5\): run the cell that prepares it \(prepareRun\) again/,
        );
        return true;
      },
    );
    assert.equal(fs.existsSync(path.join(root, "model")), false);
    assert.equal(fs.existsSync(path.join(root, "model.runs")), false);
  });

  it("trains into its own run folder, switches the model folder to it, saves thresholds tuned on the validation films; refuses to train twice", async () => {
    const run = tinyRun(path.join(root, "model"), { learningRateSchedule: "constant", epochs: 12 });
    const log: string[] = [];
    const history = await trainRun(run, { progress: silentProgress(), log: (l) => log.push(l) });
    assert.equal(history.epochs.length, 12);
    // constant: no coursework decay after epoch 10
    assert.deepEqual(
      history.epochs.map((e) => e.lr),
      new Array(12).fill(0.1),
    );
    assert.ok(run.runDir && run.runDir.startsWith(path.join(root, "model.runs")));
    assert.equal(fs.realpathSync(path.join(root, "model")), fs.realpathSync(run.runDir));
    const thresholds = JSON.parse(fs.readFileSync(path.join(root, "model", "thresholds.json"), "utf8"));
    assert.deepEqual(thresholds.genres, GENRES);
    assert.equal(thresholds.tunedOn, "validation split");
    assert.equal(thresholds.films, 4);
    // The feature separates the genres exactly: on the validation films (two of each) every genre's tuned
    // threshold gives F1 1.
    for (const g of GENRES) assert.equal(thresholds.perGenre[g].f1, 1, `${g}: ${JSON.stringify(thresholds.perGenre[g])}`);
    const info = JSON.parse(fs.readFileSync(path.join(root, "model", "info.json"), "utf8"));
    assert.equal(info.bestEpoch, history.bestEpoch);
    await assert.rejects(
      trainRun(run, { progress: silentProgress(), log: () => undefined }),
      /this run has been trained already, .* run the cell that prepares it \(prepareRun\) first/,
    );
  });

  it("a dataset given to a run must follow the run's split settings", async () => {
    const dataset = tinyDataset(8);
    const loaded = {
      dataset,
      split: { train: [0, 1, 2, 3, 4, 5], validation: [6, 7], seed: 1 },
      settings: { seed: 1, validationFraction: 0.25 },
    };
    const context = { paths: { dataDir: root, cacheDir: root, outDir: root }, preset: "smoke" as const, loaded, log: () => undefined };
    const settings: RunSettings = { epochs: 1, batchSize: 4, learningRate: 0.1, seed: 1, validationFraction: 0.25 };
    assert.equal((await startRun(settings, context, "cnn")).loaded, loaded);
    await assert.rejects(
      startRun({ ...settings, seed: 2 }, context, "cnn"),
      /split with other settings .* than the run's: its validation films would differ/,
    );
    await assert.rejects(startRun({ ...settings, films: 4 }, context, "cnn"), /split with other settings/);
  });
});
