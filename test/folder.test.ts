import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { fileSaveHandler } from "../lib/models/checkpoint";
import { RunRecord, listRuns, loadTrainedModel, runsDir } from "../lib/models/model-folder";
import {
  RUN_MARKER,
  checkOutputFolder,
  finishRunFolder,
  pruneRuns,
  publishRun,
  startRunFolder,
  unpublishRun,
} from "../lib/models/run-folders";
import { differingSettings, runsFigure, runsTable } from "../lib/workbook/runs";
import { loadModel } from "../lib/kinds/registry";
import { useBackend } from "./helpers";

const GENRES = ["Action", "Comedy", "Drama"];

/** A tiny trained-model folder: Dense(3, sigmoid) saved as a checkpoint, with its info.json. */
async function writeModelFolder(dir: string, units = 3): Promise<void> {
  const model = tf.sequential({ layers: [tf.layers.dense({ units, inputShape: [4], activation: "sigmoid" })] });
  await model.save(fileSaveHandler(dir));
  model.dispose();
  fs.writeFileSync(path.join(dir, "info.json"), JSON.stringify(MODEL_INFO));
}

/** An info.json that describes a model: what proves that a folder is a model folder. */
const MODEL_INFO = {
  kind: "cnn",
  genres: GENRES,
  preset: "smoke",
  settings: {},
  dataset: { dir: "x", films: 2, trainFilms: 1, validationFilms: 1, seed: 1 },
  backend: "cpu",
  started: "now",
};

describe("model folders: damaged files are errors that name the file", function () {
  useBackend("cpu");
  let dir: string;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "folder-test-"));
    await writeModelFolder(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("loads an intact folder", async () => {
    const trained = await loadTrainedModel(dir);
    assert.deepEqual(trained.info.genres, GENRES);
  });

  it("folders written before the registry of kinds load: a CNN's info.json without imageSize reads 64 (the coursework's)", async () => {
    const trained = await loadModel(dir);
    assert.equal(trained.info.kind, "cnn");
    assert.equal((trained.info as { imageSize?: number }).imageSize, 64);
  });

  it("a kind's own files and fields are checked: a joint model without its vocabulary, a pretrained model without its encoders", async () => {
    const file = path.join(dir, "info.json");
    const info = JSON.parse(fs.readFileSync(file, "utf8"));
    fs.writeFileSync(file, JSON.stringify({ ...info, kind: "fusion" }));
    await assert.rejects(loadModel(dir), /vocabulary\.json not found: .* is not a trained model folder \(vocabulary missing\)/);
    fs.writeFileSync(file, JSON.stringify({ ...info, kind: "fusion", overviewBranch: "tfidf" }));
    await assert.rejects(loadModel(dir), /tfidf\.json not found: .* \(TF-IDF vocabulary missing\)/);
    fs.writeFileSync(file, JSON.stringify({ ...info, kind: "pretrained" }));
    await assert.rejects(loadModel(dir), /info\.json: a model on pretrained features needs "encoders"/);
  });

  it("a truncated weights file: its name, its size and the size model.json describes", async () => {
    const weights = fs.readdirSync(dir).find((f) => f.endsWith(".bin")) as string;
    fs.truncateSync(path.join(dir, weights), 20);
    // Dense(3) on 4 inputs: 12 + 3 float32 values = 60 bytes
    await assert.rejects(
      loadTrainedModel(dir),
      new RegExp(`${weights}: 20 bytes of weights, but .*model\\.json describes 60 \\(truncated or from another model\\)`),
    );
  });

  it("a missing weights file", async () => {
    const weights = fs.readdirSync(dir).find((f) => f.endsWith(".bin")) as string;
    fs.rmSync(path.join(dir, weights));
    await assert.rejects(
      loadTrainedModel(dir),
      new RegExp(`${weights}: cannot read the weights that .*model\\.json refers to \\(file not found\\)`),
    );
  });

  it("a truncated model.json", async () => {
    const file = path.join(dir, "model.json");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").slice(0, 50));
    await assert.rejects(loadTrainedModel(dir), /model\.json: the model description is not valid JSON/);
  });

  it("a truncated, an empty and an incomplete info.json", async () => {
    const file = path.join(dir, "info.json");
    const info = JSON.parse(fs.readFileSync(file, "utf8"));
    fs.writeFileSync(file, JSON.stringify(info).slice(0, 30));
    await assert.rejects(loadTrainedModel(dir), /info\.json: the model description is not valid JSON/);
    fs.writeFileSync(file, "");
    await assert.rejects(loadTrainedModel(dir), /info\.json: the model description is not valid JSON .*the file is empty/);
    fs.writeFileSync(file, JSON.stringify({ ...info, genres: undefined }));
    await assert.rejects(
      loadTrainedModel(dir),
      /info\.json: genres is missing; expected a list of 1 to 1000 genre names \(the model's outputs, in order\)/,
    );
    fs.writeFileSync(file, JSON.stringify({ ...info, kind: "rnn" }));
    await assert.rejects(
      loadModel(dir),
      /info\.json: "kind" must be one of cnn, lstm, fusion, pretrained, text-head, poster-head, linear, text-branch, got "rnn"/,
    );
    fs.writeFileSync(file, JSON.stringify({ ...info, kind: undefined }));
    await assert.rejects(loadTrainedModel(dir), /info\.json: kind is missing; expected the name of the model's kind/);
  });

  it("files of two runs: a model with other outputs than info.json's genres, thresholds for other genres", async () => {
    const file = path.join(dir, "info.json");
    const info = JSON.parse(fs.readFileSync(file, "utf8"));
    fs.writeFileSync(file, JSON.stringify({ ...info, genres: [...GENRES, "Western"] }));
    await assert.rejects(
      loadTrainedModel(dir),
      /info\.json: genres is a list of 4; expected 3 genres, one per output of the model in .*model\.json \(files of two runs\?\)/,
    );
    fs.writeFileSync(file, JSON.stringify(info));
    fs.writeFileSync(path.join(dir, "thresholds.json"), JSON.stringify({ genres: GENRES, thresholds: [0.5, 0.5] }));
    await assert.rejects(
      loadTrainedModel(dir),
      /thresholds\.json: thresholds is a list of 2; expected 3 numbers from 0 to 1, one per genre of .*info\.json/,
    );
  });
});

describe("run folders: a model folder changes at once, and one run at a time", function () {
  this.timeout(20000);
  useBackend("cpu");
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "runs-test-"));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("the target is untouched until publishRun, then names the run's folder; a real folder found there is kept", async () => {
    const target = path.join(root, "cnn");
    fs.mkdirSync(target);
    const oldInfo = JSON.stringify({ ...MODEL_INFO, started: "old" });
    fs.writeFileSync(path.join(target, "info.json"), oldInfo);
    const run = await startRunFolder(target, () => undefined);
    assert.equal(path.dirname(run.dir), runsDir(target));
    fs.writeFileSync(path.join(run.dir, "info.json"), '{"new": true}');
    assert.equal(fs.readFileSync(path.join(target, "info.json"), "utf8"), oldInfo);
    const lines: string[] = [];
    await publishRun(run, (l) => lines.push(l));
    assert.equal(fs.readFileSync(path.join(target, "info.json"), "utf8"), '{"new": true}');
    const kept = fs.readdirSync(runsDir(target)).filter((d) => d.startsWith("earlier-"));
    assert.equal(kept.length, 1);
    assert.deepEqual(lines, [
      `moving the model in ${target} (a folder from before runs had their own) to ${path.join(runsDir(target), kept[0] as string)}, where it is kept`,
    ]);
    assert.equal(fs.readFileSync(path.join(runsDir(target), kept[0] as string, "info.json"), "utf8"), oldInfo);
    assert.ok(fs.existsSync(path.join(runsDir(target), kept[0] as string, RUN_MARKER)), "marked as the workbook's: prune may delete it");
    await finishRunFolder(run, true);
    assert.ok(!fs.existsSync(run.lockFile));
  });

  /** The refusal of a model folder that a run may not replace: names the folder, why, and what it must be. */
  function notAModelFolder(target: string, why: string): (e: Error) => boolean {
    return (e) => {
      assert.equal(e.name, "WorkbookError");
      assert.equal(
        e.message,
        `${target} cannot be a model folder: ${why}. A training run replaces its model folder by a link to the run, so it must be ` +
          "an empty folder, a model folder (with its info.json) or the link a training run made; nothing was changed. Train into another folder (--out).",
      );
      return true;
    };
  }

  /** Every file under `dir` with its content: what must be the same before and after a refusal. */
  function snapshot(dir: string): Record<string, string> {
    const files: Record<string, string> = {};
    for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
      const file = path.join(dir, name);
      if (fs.lstatSync(file).isFile()) files[name] = fs.readFileSync(file, "utf8");
    }
    return files;
  }

  it("a folder that holds no model (a dataset, notes) is refused before anything is written, and never moved", async () => {
    const target = path.join(root, "data");
    fs.mkdirSync(path.join(target, "Images"), { recursive: true });
    fs.writeFileSync(path.join(target, "notes.txt"), "my notes");
    fs.writeFileSync(path.join(target, "Images", "tt0000001.jpg"), "poster");
    fs.writeFileSync(path.join(target, "info.json"), '{"about": "my dataset"}'); // an info.json that is not a model's
    const before = snapshot(target);
    const why = "it holds 3 entries but no info.json describing a model (its kind, genres, settings and dataset)";
    await assert.rejects(checkOutputFolder(target), notAModelFolder(target, why));
    assert.ok(!fs.existsSync(runsDir(target)), "no runs folder was made beside it");
    // a library caller that skips the check: publishRun refuses too, and the folder stays where it is, whole
    const run = await startRunFolder(target, () => undefined);
    await assert.rejects(
      publishRun(run, () => undefined),
      notAModelFolder(target, why),
    );
    await finishRunFolder(run, false);
    assert.ok(fs.lstatSync(target).isDirectory());
    assert.deepEqual(snapshot(target), before);
    assert.deepEqual(fs.readdirSync(runsDir(target)), []);
  });

  it("a link that no run made, and a file, are refused as model folders; the link and what it points at stay", async () => {
    const elsewhere = path.join(root, "elsewhere");
    fs.mkdirSync(elsewhere);
    fs.writeFileSync(path.join(elsewhere, "keep.txt"), "mine");
    const link = path.join(root, "linked");
    fs.symlinkSync(elsewhere, link);
    await assert.rejects(
      checkOutputFolder(link),
      notAModelFolder(link, `it is a link to ${elsewhere}, not a link into ${runsDir(link)} that a training run made`),
    );
    assert.equal(fs.readlinkSync(link), elsewhere);
    assert.equal(fs.readFileSync(path.join(elsewhere, "keep.txt"), "utf8"), "mine");
    const file = path.join(root, "file");
    fs.writeFileSync(file, "x");
    await assert.rejects(checkOutputFolder(file), notAModelFolder(file, "it is a file, not a folder"));
    assert.equal(fs.readFileSync(file, "utf8"), "x");
  });

  it("an empty folder becomes the run's link, and an empty folder again when the run fails", async () => {
    const target = path.join(root, "empty");
    fs.mkdirSync(target);
    await checkOutputFolder(target);
    const run = await startRunFolder(target, () => undefined);
    await publishRun(run, () => undefined);
    assert.equal(fs.readlinkSync(target), path.join("empty.runs", run.id));
    await unpublishRun(run);
    assert.ok(fs.lstatSync(target).isDirectory() && fs.readdirSync(target).length === 0);
    await finishRunFolder(run, false);
  });

  it("prune deletes only run folders the workbook made: others in the runs folder are left and reported", async () => {
    const target = path.join(root, "pruned");
    const made = await startRunFolder(target, () => undefined);
    assert.ok(fs.existsSync(path.join(made.dir, RUN_MARKER)), "a run folder carries the marker from its start");
    await finishRunFolder(made, true); // kept, though it holds nothing: a run that never wrote a checkpoint
    // what the bug of issue 30 made: a dataset copy moved in under a run's name; and a folder someone put there
    const moved = path.join(runsDir(target), "earlier-20200101T000000");
    fs.mkdirSync(path.join(moved, "Images"), { recursive: true });
    fs.writeFileSync(path.join(moved, "notes.txt"), "my notes");
    const foreign = path.join(runsDir(target), "20200102-000000-1");
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, "info.json"), JSON.stringify(MODEL_INFO));
    fs.writeFileSync(path.join(foreign, "model.json"), "{}");
    fs.writeFileSync(path.join(foreign, "notes.txt"), "not a file a run writes");
    const killedBeforeMarking = path.join(runsDir(target), "20200103-000000-2");
    fs.mkdirSync(killedBeforeMarking); // empty: nothing to lose
    const deleted = await pruneRuns(target, 0);
    assert.deepEqual(deleted, { runs: [], empty: [killedBeforeMarking, made.dir], links: [], unrecognised: [moved, foreign] });
    assert.ok(!fs.existsSync(killedBeforeMarking));
    assert.equal(fs.readFileSync(path.join(moved, "notes.txt"), "utf8"), "my notes");
    assert.equal(fs.readFileSync(path.join(foreign, "notes.txt"), "utf8"), "not a file a run writes");
  });

  it("checkOutputFolder, before a run prepares anything: a live lock, and too little free space, are refused with what to do", async () => {
    const target = path.join(root, "pre");
    await checkOutputFolder(target);
    assert.ok(fs.existsSync(runsDir(target)) && fs.readdirSync(runsDir(target)).length === 0, "the probe file is removed");
    await assert.rejects(
      checkOutputFolder(target, Number.MAX_SAFE_INTEGER),
      /only [\d.]+ MB are free on the disk of .*pre\.runs; a training run needs about \d+ MB there .*free some space, or train into a folder on another disk/,
    );
    const run = await startRunFolder(target, () => undefined);
    await assert.rejects(checkOutputFolder(target), new RegExp(`${target} is being trained by another run \\(process ${process.pid} on `));
    await finishRunFolder(run, false);
    await checkOutputFolder(target);
  });

  it("a model folder killed while it was being moved into its runs folder: loading names the kept model and how to restore it", async () => {
    const target = path.join(root, "moved");
    const earlier = path.join(runsDir(target), "earlier-20261201T1200");
    fs.mkdirSync(earlier, { recursive: true });
    await writeModelFolder(earlier);
    // the process died between moving the old folder away and making the link: there is no `moved` at all
    await assert.rejects(
      loadTrainedModel(target),
      new RegExp(
        `${target} not found, but ${runsDir(target)} holds 1 trained run\\(s\\).*The newest one is ${earlier}: load that folder, or make it the model folder again with: ln -s moved\\.runs/earlier-20261201T1200 ${target}`,
      ),
    );
    fs.symlinkSync("moved.runs/earlier-20261201T1200", target);
    assert.deepEqual((await loadTrainedModel(target)).info.genres, GENRES, "the command it gives works");
    await assert.rejects(loadTrainedModel(path.join(root, "never")), /never not found: it is not a trained model folder/);
  });

  it("a second run into the same folder is refused while the first holds the lock; a run without a checkpoint leaves nothing", async () => {
    const target = path.join(root, "lstm");
    const first = await startRunFolder(target, () => undefined);
    await assert.rejects(
      startRunFolder(target, () => undefined),
      new RegExp(`${target} is being trained by another run \\(process ${process.pid} on `),
    );
    await finishRunFolder(first, false);
    assert.ok(!fs.existsSync(first.dir));
    assert.ok(!fs.existsSync(target));
    const second = await startRunFolder(target, () => undefined);
    await finishRunFolder(second, false);
  });

  it("a lock left by a process that no longer runs is reported and taken over", async () => {
    const target = path.join(root, "fusion");
    fs.writeFileSync(
      `${target}.lock`,
      JSON.stringify({ pid: 2 ** 22 + 17, host: os.hostname(), started: "2026-01-01T00:00:00Z", run: "x" }),
    );
    const lines: string[] = [];
    const run = await startRunFolder(target, (l) => lines.push(l));
    assert.equal(lines.length, 1);
    assert.match(lines[0] as string, /stale lock .*fusion\.lock from process 4194321 on .* no longer runs .*taking it over/);
    await finishRunFolder(run, false);
  });

  it("keeps every run: listRuns finds them oldest first and marks the current one; pruneRuns keeps it and the newest others", async () => {
    const target = path.join(root, "cnn");
    const ids: string[] = [];
    for (const lr of [1e-3, 1e-4, 3e-4]) {
      const run = await startRunFolder(target, () => undefined);
      fs.writeFileSync(
        path.join(run.dir, "info.json"),
        JSON.stringify({ kind: "cnn", genres: GENRES, settings: { learningRate: lr, epochs: 4 } }),
      );
      fs.writeFileSync(path.join(run.dir, "history.json"), JSON.stringify({ epochs: [], bestEpoch: 0, bestValLoss: null }));
      fs.writeFileSync(path.join(run.dir, "model.json"), "{}"); // a checkpoint (its content does not matter here)
      if (lr !== 3e-4) await publishRun(run); // the third run is kept but never made current
      await finishRunFolder(run, true);
      ids.push(run.id);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // run ids have a one-second resolution
    }
    const runs = await listRuns(target);
    assert.deepEqual(
      runs.map((r) => r.id),
      ids,
    );
    assert.deepEqual(
      runs.map((r) => r.current),
      [false, true, false],
    );
    const deleted = await pruneRuns(target, 1);
    assert.deepEqual(deleted, { runs: [path.join(runsDir(target), ids[0] as string)], empty: [], links: [], unrecognised: [] });
    assert.deepEqual(
      (await listRuns(target)).map((r) => r.id),
      [ids[1], ids[2]],
    );
    assert.ok(fs.existsSync(path.join(target, "info.json")), "the current run is never pruned");
  });

  it("pruneRuns never keeps a run without a checkpoint in place of a model: it deletes such runs and the links killed runs left", async () => {
    const target = path.join(root, "lstm");
    const ids: string[] = [];
    for (const step of ["complete", "complete", "killed before its first checkpoint"]) {
      const run = await startRunFolder(target, () => undefined);
      fs.writeFileSync(path.join(run.dir, "info.json"), JSON.stringify({ kind: "lstm", genres: GENRES, settings: {} }));
      if (step === "complete") {
        fs.writeFileSync(path.join(run.dir, "model.json"), "{}");
        await publishRun(run);
      }
      // the killed run's process died here: its lock is stale and its folder holds only info.json
      if (step === "complete") await finishRunFolder(run, true);
      else fs.rmSync(run.lockFile);
      ids.push(run.id);
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    fs.symlinkSync("lstm.runs/x", path.join(root, "lstm.link-4194321"));
    // an old-style folder moved into the runs is older than every run id (it sorts by its time, not its name)
    const earlier = path.join(runsDir(target), "earlier-20200101T000000");
    fs.mkdirSync(earlier);
    fs.writeFileSync(path.join(earlier, "model.json"), "{}");
    fs.writeFileSync(path.join(earlier, "info.json"), JSON.stringify(MODEL_INFO)); // an older version's: no marker
    assert.equal((await listRuns(target))[0]!.id, "earlier-20200101T000000");
    const deleted = await pruneRuns(target, 1);
    assert.deepEqual(deleted, {
      runs: [earlier],
      empty: [path.join(runsDir(target), ids[2] as string)],
      links: [path.join(root, "lstm.link-4194321")],
      unrecognised: [],
    });
    assert.deepEqual(
      (await listRuns(target)).map((r) => r.id),
      [ids[0], ids[1]],
      "the earlier complete model is kept",
    );
    assert.ok(!fs.existsSync(path.join(root, "lstm.link-4194321")));
  });

  it("unpublishRun puts the model folder back on what it held before a failed run, or removes it when it held nothing", async () => {
    const target = path.join(root, "fusion-back");
    const first = await startRunFolder(target, () => undefined);
    fs.writeFileSync(path.join(first.dir, "model.json"), "{}");
    await publishRun(first);
    await finishRunFolder(first, true);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const failed = await startRunFolder(target, () => undefined);
    await publishRun(failed);
    assert.equal(fs.realpathSync(target), fs.realpathSync(failed.dir));
    await unpublishRun(failed);
    assert.equal(fs.realpathSync(target), fs.realpathSync(first.dir), "back on the first run");
    await finishRunFolder(failed, true);
    assert.ok(fs.existsSync(failed.dir), "the failed run's files are kept");

    const fresh = path.join(root, "fresh");
    const only = await startRunFolder(fresh, () => undefined);
    await publishRun(only);
    await unpublishRun(only);
    assert.ok(!fs.existsSync(fresh) && fs.lstatSync(fresh, { throwIfNoEntry: false }) === undefined, "no model folder, as before");
    await finishRunFolder(only, true);
  });
});

describe("compareRuns: the runs of a model side by side", () => {
  const record = (id: string, settings: Record<string, unknown>, losses: number[], current = false): RunRecord => ({
    id,
    dir: `/x/${id}`,
    current,
    info: { settings, finished: "2026-11-29" } as unknown as RunRecord["info"],
    history: {
      epochs: losses.map((l, i) => ({
        epoch: i + 1,
        loss: l + 0.01,
        precision: 0,
        recall: 0,
        val_loss: l,
        val_precision: 0,
        val_recall: 0,
        lr: 0,
        seconds: 30,
      })),
      bestEpoch: losses.indexOf(Math.min(...losses)) + 1,
      bestValLoss: Math.min(...losses),
      stoppedEarly: false,
      interrupted: false,
    },
  });

  it("shows only the settings that differ, and each run's epochs, best epoch, best val_loss and minutes", () => {
    const runs = [
      record("a", { learningRate: 1e-3, epochs: 2, seed: 42 }, [0.3, 0.25]),
      record("b", { learningRate: 1e-4, epochs: 3, seed: 42 }, [0.31, 0.28, 0.27], true),
    ];
    assert.deepEqual(differingSettings(runs), ["epochs", "learningRate"]);
    const table = runsTable(runs);
    assert.deepEqual(table.columns, ["run", "epochs", "learningRate", "epochs run", "best epoch", "best val_loss", "minutes", "ended"]);
    assert.deepEqual(table.rows[0], ["a", "2", "0.001", 2, 2, 0.25, "1.0", "finished"]);
    assert.deepEqual(table.rows[1], ["b (current)", "3", "0.0001", 3, 3, 0.27, "1.5", "finished"]);
  });

  it("the runs figure draws both losses of every run and ticks whole epochs", () => {
    const short = runsFigure([record("a", {}, [0.3, 0.25]), record("b", {}, [0.31, 0.28, 0.27, 0.26], true)], "t");
    assert.equal(short.data.length, 4);
    assert.deepEqual(
      (short.data[3] as { y: number[] }).y.map((v) => +v.toFixed(6)),
      [0.32, 0.29, 0.28, 0.27],
    ); // training loss, dotted
    assert.equal((short.layout as { xaxis: { dtick: number } }).xaxis.dtick, 1);
    const long = runsFigure(
      [
        record(
          "c",
          {},
          Array.from({ length: 30 }, (_, i) => 0.3 - i / 1000),
        ),
      ],
      "t",
    );
    assert.equal((long.layout as { xaxis: { dtick: number } }).xaxis.dtick, 5);
  });
});
