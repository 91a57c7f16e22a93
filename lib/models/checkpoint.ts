/**
 * TF.js LayersModel checkpoints on disk without @tensorflow/tfjs-node, crash-safe.
 *
 * Layout (the same conventions as tfjs-node's `file://` handler, so the folder also loads there with
 * `tf.loadLayersModel('file://<dir>/model.json')`):
 *   <dir>/model.json        { modelTopology, format: 'layers-model', generatedBy, convertedBy: null,
 *                             weightsManifest: [{ paths: ['weights-<n>.bin'], weights: [...specs] }],
 *                             userDefinedMetadata?, trainingConfig?, ... }
 *   <dir>/weights-<n>.bin   all weights, concatenated in manifest order (little-endian, as TF.js writes)
 *
 * A save never touches the files the current model.json refers to:
 *   1. the weights go to a NEW file weights-<n>.bin (n = 1 + the largest n in the folder), fsynced;
 *   2. model.json.tmp, referring to it, is written and fsynced;
 *   3. model.json.tmp is renamed over model.json (atomic on POSIX), and the folder is fsynced;
 *   4. weight files that model.json no longer refers to are deleted.
 * A process killed before step 3 leaves the previous model.json and its weights as they were (plus an
 * orphan file or two that the next successful save removes); killed after it, the new checkpoint.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { isInside, linkNote, loadJson, makeFolder, syncDir, writeDurable } from "../runtime/files";
import { WorkbookError } from "../runtime/errors";
import { MODEL_JSON, ReadWeights, checkModelJson, modelArtifacts } from "./model-json";

// the file name is in ./model-json.ts, which the web page bundles
export { MODEL_JSON } from "./model-json";
const WEIGHT_FILE = /^weights(?:-(\d+))?\.bin$/;

/** The steps of a save, in order; `afterStep` is called after each (tests throw there to simulate a crash). */
export type SaveStep = "weights-written" | "json-tmp-written" | "renamed" | "cleaned";

export interface FileSaveOptions {
  /** Merged over the model's own userDefinedMetadata (these keys win). */
  userDefinedMetadata?: Record<string, unknown>;
  /** Fault-injection hook for tests: throwing here aborts the save at that point, as a crash would. */
  afterStep?: (step: SaveStep) => void | Promise<void>;
}

function toArrayBuffer(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data == null) return new ArrayBuffer(0);
  return tf.io.CompositeArrayBuffer.join(data);
}

/** Writes the weights to a new, uniquely numbered file; returns its name. */
async function writeNewWeightsFile(dir: string, data: Uint8Array): Promise<string> {
  const existing = await fsp.readdir(dir);
  let next = 1;
  for (const name of existing) {
    const m = WEIGHT_FILE.exec(name);
    if (m?.[1] !== undefined) next = Math.max(next, Number(m[1]) + 1);
  }
  for (;;) {
    const name = `weights-${next}.bin`;
    try {
      await writeDurable(path.join(dir, name), data, true);
      return name;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      next++;
    }
  }
}

function referencedPaths(modelJson: tf.io.ModelJSON): Set<string> {
  const paths = new Set<string>();
  for (const group of modelJson.weightsManifest ?? []) for (const p of group.paths) paths.add(p);
  return paths;
}

/** An IOHandler for `model.save(...)` that writes a crash-safe checkpoint into `dir` (created if needed). */
export function fileSaveHandler(dir: string, options: FileSaveOptions = {}): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error("fileSaveHandler: binary model topologies are not supported (save a LayersModel)");
      }
      const step = async (name: SaveStep): Promise<void> => {
        if (options.afterStep) await options.afterStep(name);
      };
      await makeFolder(dir, "checkpoint folder");
      const weightData = new Uint8Array(toArrayBuffer(artifacts.weightData));
      const weightsFile = await writeNewWeightsFile(dir, weightData);
      await step("weights-written");

      const metadata =
        artifacts.userDefinedMetadata != null || options.userDefinedMetadata != null
          ? ({ ...(artifacts.userDefinedMetadata ?? {}), ...(options.userDefinedMetadata ?? {}) } as Record<string, {}>) // eslint-disable-line @typescript-eslint/no-empty-object-type -- tfjs's type for userDefinedMetadata
          : undefined;
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format ?? "layers-model",
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig != null) modelJson.trainingConfig = artifacts.trainingConfig;
      if (artifacts.signature != null) modelJson.signature = artifacts.signature;
      if (metadata !== undefined) modelJson.userDefinedMetadata = metadata;
      if (artifacts.modelInitializer != null) modelJson.modelInitializer = artifacts.modelInitializer;
      if (artifacts.initializerSignature != null) modelJson.initializerSignature = artifacts.initializerSignature;

      const target = path.join(dir, MODEL_JSON);
      const tmp = `${target}.tmp`;
      await writeDurable(tmp, JSON.stringify(modelJson));
      await step("json-tmp-written");
      await fsp.rename(tmp, target);
      await syncDir(dir);
      await step("renamed");

      // Remove weight files no longer referenced (the previous checkpoint's, orphans of crashed saves).
      const keep = referencedPaths(modelJson);
      for (const name of await fsp.readdir(dir)) {
        if (WEIGHT_FILE.test(name) && !keep.has(name)) await fsp.rm(path.join(dir, name), { force: true });
      }
      await step("cleaned");

      const info = tf.io.getModelArtifactsInfoForJSON({ ...artifacts, userDefinedMetadata: metadata });
      return { modelArtifactsInfo: info };
    },
  };
}

/** `dir` may be the checkpoint folder or its model.json. */
function modelJsonPath(dirOrFile: string): string {
  return dirOrFile.endsWith(".json") ? dirOrFile : path.join(dirOrFile, MODEL_JSON);
}

/** Reads a checkpoint's model.json (topology, manifest, metadata) without its weights, checked (./model-json.ts). */
export async function readModelJson(dirOrFile: string): Promise<tf.io.ModelJSON> {
  const file = modelJsonPath(dirOrFile);
  return checkModelJson(await loadJson<unknown>(file, "model description"), file);
}

/**
 * A weights file may be a link (to share one file between folders), but only to a file inside the model folder:
 * otherwise a plain name would still read a file elsewhere. A missing file is left to the read, which names it.
 */
async function checkInsideFolder(dir: string, name: string, field: string, file: string): Promise<void> {
  const real = await fsp.realpath(path.join(dir, name)).catch(() => undefined);
  if (real === undefined) return;
  if (!isInside(real, await fsp.realpath(dir))) {
    throw new WorkbookError(
      `${file}: ${field} ${JSON.stringify(name)} is a link to ${real}, outside the model folder ${dir}: expected a file inside it`,
    );
  }
}

/**
 * The weights files of the model.json `file` read from its folder on disk: each a plain name (checked with model.json),
 * a file inside the folder (a link out of it is refused), read whole; an error names the file and why it cannot be read.
 */
export function diskWeights(file: string): ReadWeights {
  const dir = path.dirname(file);
  return async (name, field) => {
    await checkInsideFolder(dir, name, field, file);
    const weightFile = path.join(dir, name);
    try {
      return await fsp.readFile(weightFile);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const link = linkNote(weightFile);
      const why = link !== undefined ? `it is ${link}` : code === "ENOENT" ? "file not found" : code;
      throw new WorkbookError(`${weightFile}: cannot read the weights that ${file} refers to (${why})`);
    }
  };
}

/** An IOHandler for `tf.loadLayersModel(...)` reading a folder written by fileSaveHandler or tfjs-node. */
export function fileLoadHandler(dirOrFile: string): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      const file = modelJsonPath(dirOrFile);
      const dir = path.dirname(file);
      return modelArtifacts(await readModelJson(file), file, diskWeights(file), (name) => path.join(dir, name));
    },
  };
}

/** Loads the LayersModel saved in `dir`. */
export function loadCheckpoint(dirOrFile: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileLoadHandler(dirOrFile));
}

/** Whether `dir` holds a checkpoint (a model.json). */
export async function checkpointExists(dirOrFile: string): Promise<boolean> {
  try {
    await fsp.access(modelJsonPath(dirOrFile));
    return true;
  } catch {
    return false;
  }
}
