import * as assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { SaveStep, checkpointExists, fileLoadHandler, fileSaveHandler, loadCheckpoint, readModelJson } from "../lib/models/checkpoint";
import { loadJson, saveJson } from "../lib/runtime/files";
import { useBackend } from "./helpers";

function tinyModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 3, inputShape: [2], activation: "relu" }));
  model.add(tf.layers.dense({ units: 2, activation: "sigmoid" }));
  return model;
}

/** Sets every weight to base, base+1, base+2, ... (distinct, exactly representable values). */
function setCountingWeights(model: tf.LayersModel, base: number): number[][] {
  let next = base;
  const values = model.getWeights().map((w) => Array.from({ length: w.size }, () => next++ / 8));
  const tensors = model.getWeights().map((w, i) => tf.tensor(values[i] as number[], w.shape));
  model.setWeights(tensors);
  tf.dispose(tensors);
  return values;
}

function weightValues(model: tf.LayersModel): number[][] {
  return model.getWeights().map((w) => Array.from(w.dataSync()));
}

async function loadedValues(dir: string): Promise<number[][]> {
  const model = await tf.loadLayersModel(fileLoadHandler(dir));
  const values = weightValues(model);
  model.dispose();
  return values;
}

class Crash extends Error {}

function crashAt(at: SaveStep): (step: SaveStep) => void {
  return (step) => {
    if (step === at) throw new Crash(`simulated crash after ${step}`);
  };
}

describe("checkpoint: model.json + weights on disk", () => {
  let dir: string;

  useBackend("cpu");

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "checkpoint-test-"));
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("round-trips every weight exactly and writes TF.js's model.json format", async () => {
    const model = tinyModel();
    const expected = setCountingWeights(model, 1);
    model.setUserDefinedMetadata({ own: 1 });
    const result = await model.save(fileSaveHandler(path.join(dir, "ckpt"), { userDefinedMetadata: { run: "test", own: 2 } }));
    assert.equal(result.modelArtifactsInfo.modelTopologyType, "JSON");
    assert.ok(await checkpointExists(path.join(dir, "ckpt")));

    const json = await readModelJson(path.join(dir, "ckpt"));
    assert.equal(json.format, "layers-model");
    assert.equal(json.convertedBy, null);
    assert.match(String(json.generatedBy), /TensorFlow\.js/);
    assert.deepEqual(json.userDefinedMetadata, { own: 2, run: "test" });
    assert.equal(json.weightsManifest.length, 1);
    const manifest = json.weightsManifest[0] as tf.io.WeightsManifestConfig[number];
    assert.deepEqual(
      manifest.weights.map((w) => w.name),
      model.weights.map((w) => w.originalName),
    );
    // Paths are relative to the folder (what tfjs-node's file:// loader expects); one .bin file.
    assert.equal(manifest.paths.length, 1);
    const stat = await fs.stat(path.join(dir, "ckpt", manifest.paths[0] as string));
    assert.equal(stat.size, (2 * 3 + 3 + 3 * 2 + 2) * 4);
    assert.deepEqual((await fs.readdir(path.join(dir, "ckpt"))).sort(), [manifest.paths[0], "model.json"].sort());

    const loaded = await loadCheckpoint(path.join(dir, "ckpt", "model.json"));
    assert.deepEqual(weightValues(loaded), expected);
    assert.deepEqual(loaded.getUserDefinedMetadata(), { own: 2, run: "test" });
    const x = tf.tensor2d([[0.5, -1]]);
    assert.deepEqual(Array.from((loaded.predict(x) as tf.Tensor).dataSync()), Array.from((model.predict(x) as tf.Tensor).dataSync()));
    loaded.dispose();
    model.dispose();
  });

  it("a second save replaces the checkpoint and deletes the previous weights file", async () => {
    const model = tinyModel();
    setCountingWeights(model, 1);
    await model.save(fileSaveHandler(dir));
    const first = ((await readModelJson(dir)).weightsManifest[0] as tf.io.WeightsManifestConfig[number]).paths[0];
    const expected = setCountingWeights(model, 100);
    await model.save(fileSaveHandler(dir));
    const second = ((await readModelJson(dir)).weightsManifest[0] as tf.io.WeightsManifestConfig[number]).paths[0];
    assert.notEqual(first, second);
    assert.deepEqual((await fs.readdir(dir)).sort(), [second, "model.json"].sort());
    assert.deepEqual(await loadedValues(dir), expected);
    model.dispose();
  });

  for (const step of ["weights-written", "json-tmp-written"] as const) {
    it(`a save that crashes after ${step} leaves the previous checkpoint loadable, exactly`, async () => {
      const model = tinyModel();
      const previous = setCountingWeights(model, 1);
      await model.save(fileSaveHandler(dir));
      const newer = setCountingWeights(model, 1000);

      await assert.rejects(model.save(fileSaveHandler(dir, { afterStep: crashAt(step) })), Crash);
      // The crashed save left debris (a new weights file, maybe model.json.tmp) but model.json is intact.
      const files = await fs.readdir(dir);
      assert.equal(files.filter((f) => f.endsWith(".bin")).length, 2);
      assert.equal(files.includes("model.json.tmp"), step === "json-tmp-written");
      assert.deepEqual(await loadedValues(dir), previous);

      // The next successful save works and removes the orphans.
      await model.save(fileSaveHandler(dir));
      assert.deepEqual(await loadedValues(dir), newer);
      const after = await fs.readdir(dir);
      assert.equal(after.filter((f) => f.endsWith(".bin")).length, 1);
      assert.ok(!after.includes("model.json.tmp"));
      model.dispose();
    });
  }

  it("a crash after the rename (before cleaning up) already has the new checkpoint", async () => {
    const model = tinyModel();
    setCountingWeights(model, 1);
    await model.save(fileSaveHandler(dir));
    const newer = setCountingWeights(model, 500);
    await assert.rejects(model.save(fileSaveHandler(dir, { afterStep: crashAt("renamed") })), Crash);
    assert.deepEqual(await loadedValues(dir), newer);
    model.dispose();
  });
});

describe("checkpoint: a model folder is untrusted input, its weights paths stay inside it", () => {
  let root: string;
  let dir: string;
  let weights: string;
  let original: string;

  useBackend("cpu");

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "checkpoint-paths-"));
    dir = path.join(root, "model");
    const model = tinyModel();
    setCountingWeights(model, 1);
    await model.save(fileSaveHandler(dir));
    model.dispose();
    original = await fs.readFile(path.join(dir, "model.json"), "utf8");
    weights = (JSON.parse(original) as tf.io.ModelJSON).weightsManifest[0]!.paths[0]!;
    // a genuine weights file outside the folder: loading it silently would be the bug
    await fs.mkdir(path.join(root, "outside"));
    await fs.copyFile(path.join(dir, weights), path.join(root, "outside", "w.bin"));
  });

  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  async function withPath(p: unknown): Promise<void> {
    const json = JSON.parse(original) as { weightsManifest: { paths: unknown[] }[] };
    json.weightsManifest[0]!.paths = [p];
    await fs.writeFile(path.join(dir, "model.json"), JSON.stringify(json));
  }

  for (const bad of ["../outside/w.bin", "../../../../etc/passwd", "/etc/passwd", "sub/w.bin", "sub\\w.bin", "..", "", 7]) {
    it(`refuses the weights path ${JSON.stringify(bad)}, naming model.json, the field and the path`, async () => {
      await withPath(bad);
      const file = path.join(dir, "model.json");
      await assert.rejects(loadCheckpoint(dir), (e: Error) => {
        assert.equal(e.name, "WorkbookError");
        assert.equal(
          e.message,
          `${file}: weightsManifest[0].paths[0] is ${JSON.stringify(bad)}: expected the plain name of a file inside the model folder (no /, \\, .. or absolute path)`,
        );
        return true;
      });
    });
  }

  it("refuses a weights file that is a link to a file outside the folder, and reads one that links inside it", async () => {
    await fs.rm(path.join(dir, weights));
    await fs.symlink(path.join(root, "outside", "w.bin"), path.join(dir, weights));
    await assert.rejects(
      loadCheckpoint(dir),
      new RegExp(
        `^WorkbookError: ${path.join(dir, "model.json")}: weightsManifest\\[0\\]\\.paths\\[0\\] "${weights}" is a link to ${path.join(await fs.realpath(root), "outside", "w.bin")}, outside the model folder`,
      ),
    );
    await fs.rm(path.join(dir, weights));
    await fs.copyFile(path.join(root, "outside", "w.bin"), path.join(dir, "real.bin"));
    await fs.symlink("real.bin", path.join(dir, weights));
    (await loadCheckpoint(dir)).dispose();
  });

  it("reads a folder that is itself a link (a model folder points at its run)", async () => {
    await fs.symlink("model", path.join(root, "current"));
    (await loadCheckpoint(path.join(root, "current"))).dispose();
  });
});

describe("checkpoint: saveJson / loadJson", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "checkpoint-json-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("writes atomically via a temporary file and reads it back", async () => {
    const file = path.join(dir, "sub", "history.json");
    await saveJson(file, { epochs: [{ epoch: 1, loss: 0.25 }], best: null });
    assert.deepEqual(await loadJson(file), { epochs: [{ epoch: 1, loss: 0.25 }], best: null });
    await saveJson(file, { epochs: [] });
    assert.deepEqual(await loadJson(file), { epochs: [] });
    assert.deepEqual(await fs.readdir(path.join(dir, "sub")), ["history.json"]);
  });

  it("a stale temporary file from a crashed write does not matter", async () => {
    const file = path.join(dir, "h.json");
    await saveJson(file, { a: 1 });
    await fs.writeFile(`${file}.tmp`, "{ truncated");
    assert.deepEqual(await loadJson(file), { a: 1 });
    await saveJson(file, { a: 2 });
    assert.deepEqual(await loadJson(file), { a: 2 });
  });
});
