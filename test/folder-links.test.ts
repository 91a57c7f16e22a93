/**
 * Links in and around model folders (issue 30): a message about a link says what it points at, and a link that
 * cannot be followed (its target gone, or a loop) is an error that says so, never a file silently taken as absent.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadTrainedModel, runsDir } from "../lib/models/model-folder";
import { RUN_MARKER, finishRunFolder, pruneRuns, startRunFolder } from "../lib/models/run-folders";
import { loadPresetModel } from "../lib/kinds/registry";
import { PROJECT_DIR } from "../lib/runtime/config";
import { useBackend } from "./helpers";
import { writeTinyFolder } from "./model-folders";

const TRAIN = "Train one with notebook 02/03 or 'npm run train'.";
const LOOP = "which cannot be followed (it points to itself or into a loop of links)";

describe("links in model folders: messages say what a link points at", function () {
  this.timeout(30000);
  useBackend("cpu");
  let root: string;
  let valid: string;
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "folder-links-"));
    valid = path.join(root, "valid");
    await writeTinyFolder(valid, "cnn");
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  let copies = 0;
  const copy = () => {
    const dir = path.join(root, `copy-${++copies}`);
    fs.cpSync(valid, dir, { recursive: true });
    return dir;
  };
  const message = async (dir: string) => {
    const error = (await loadTrainedModel(dir).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error | undefined;
    assert.ok(error, `${dir} loaded`);
    assert.equal(error.name, "WorkbookError", error.stack);
    return error.message;
  };

  it("a model folder that is a link to a run that is gone", async () => {
    const target = path.join(root, "cnn");
    fs.symlinkSync("cnn.runs/20260101-000000-1", target);
    assert.equal(
      await message(target),
      `${target} is a link to cnn.runs/20260101-000000-1, which is not there: it is not a trained model folder. ${TRAIN}`,
    );
    // a run that is still there is named, and the command that points the link at it replaces the link
    const kept = path.join(runsDir(target), "20260102-000000-2");
    fs.cpSync(valid, kept, { recursive: true });
    assert.equal(
      await message(target),
      `${target} is a link to cnn.runs/20260101-000000-1, which is not there, but ${runsDir(target)} holds 1 trained run(s) (a training run was probably killed while it switched the folder). ` +
        `The newest complete one is ${kept}: load that folder, or make it the model folder again with: ln -sfn cnn.runs/20260102-000000-2 ${target}`,
    );
  });

  it("a preset's model folder that is a link to a run that is gone is not 'not trained yet': loading it says where it points", async () => {
    const outDir = path.join(root, "out");
    const target = path.join(outDir, "models", "smoke", "cnn");
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.symlinkSync("cnn.runs/20260101-000000-1", target);
    await assert.rejects(loadPresetModel({ outDir, preset: "smoke" }, "cnn"), {
      message: `${target} is a link to cnn.runs/20260101-000000-1, which is not there: it is not a trained model folder. ${TRAIN}`,
    });
  });

  it("info.json, model.json or a weights file that is a link to nothing, or a loop", async () => {
    let dir = copy();
    fs.rmSync(path.join(dir, "info.json"));
    fs.symlinkSync(path.join(root, "gone", "info.json"), path.join(dir, "info.json"));
    assert.equal(
      await message(dir),
      `${dir}/info.json is a link to ${root}/gone/info.json, which is not there: ${dir} is not a trained model folder (model description missing). ${TRAIN}`,
    );
    dir = copy();
    fs.rmSync(path.join(dir, "model.json"));
    fs.symlinkSync("model.json", path.join(dir, "model.json"));
    assert.equal(
      await message(dir),
      `${dir}/model.json is a link to model.json, ${LOOP}: ${dir} is not a trained model folder (weights missing). ${TRAIN}`,
    );
    dir = copy();
    fs.rmSync(path.join(dir, "weights-1.bin"));
    fs.symlinkSync("../gone.bin", path.join(dir, "weights-1.bin"));
    assert.equal(
      await message(dir),
      `${dir}/weights-1.bin: cannot read the weights that ${dir}/model.json refers to (it is a link to ../gone.bin, which is not there)`,
    );
  });

  it("history.json or thresholds.json that is a link that cannot be followed is an error, not a file taken as absent", async () => {
    let dir = copy();
    fs.rmSync(path.join(dir, "thresholds.json"));
    fs.symlinkSync("thresholds.json", path.join(dir, "thresholds.json"));
    assert.equal(await message(dir), `${dir}/thresholds.json: cannot read the thresholds (it is a link to thresholds.json, ${LOOP})`);
    dir = copy();
    fs.rmSync(path.join(dir, "history.json"));
    fs.symlinkSync("/nonexistent/history.json", path.join(dir, "history.json"));
    assert.equal(
      await message(dir),
      `${dir}/history.json: cannot read the training history (it is a link to /nonexistent/history.json, which is not there)`,
    );
  });

  it("prune leaves links in the runs folder alone (never runs, even to a marked folder) and names what they point at", async () => {
    const target = path.join(root, "pruned");
    const made = await startRunFolder(target, () => undefined);
    await finishRunFolder(made, false); // no checkpoint: its folder is removed
    const elsewhere = path.join(root, "elsewhere-run");
    fs.mkdirSync(elsewhere);
    fs.writeFileSync(path.join(elsewhere, RUN_MARKER), "{}");
    fs.writeFileSync(path.join(elsewhere, "notes.txt"), "keep me");
    fs.symlinkSync(elsewhere, path.join(runsDir(target), "20200101-000000-1"));
    fs.symlinkSync("nowhere", path.join(runsDir(target), "20200102-000000-2"));
    const result = await pruneRuns(target, 0);
    assert.deepEqual(result, {
      runs: [],
      empty: [],
      links: [],
      unrecognised: [path.join(runsDir(target), "20200101-000000-1"), path.join(runsDir(target), "20200102-000000-2")],
    });
    assert.equal(fs.readFileSync(path.join(elsewhere, "notes.txt"), "utf8"), "keep me");
    const prune = spawnSync(process.execPath, [path.join(PROJECT_DIR, "dist", "lib", "commands", "prune.js"), "--model", target], {
      encoding: "utf8",
    });
    assert.equal(prune.status, 0, prune.stderr);
    assert.equal(
      prune.stdout.trim().split("\n").at(-1),
      `${target}: nothing to delete; left 2 folder(s) that no training run of this workbook made (no ${RUN_MARKER}), delete them yourself if they are not needed: ` +
        `20200101-000000-1 (a link to ${elsewhere}), 20200102-000000-2 (a link to nowhere, which is not there)`,
    );
  });
});
