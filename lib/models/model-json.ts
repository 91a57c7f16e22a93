/**
 * A TF.js layers model from its model.json and weight files, wherever they are read from: the checks of model.json
 * (its weights paths and entries, before any weight file is opened) and the model built from the bytes. The files
 * are read through a `readWeights` function: from the disk in Node (./checkpoint.ts), over HTTP in the web page
 * (lib/app/), so both run the same checks and give the same model.
 */
import * as tf from "@tensorflow/tfjs";
import { WorkbookError } from "../runtime/errors";
import { fieldRefusal } from "./folder-schema";

export const MODEL_JSON = "model.json";

/** The checks of a model.json's value; `file` is how messages name it. Returns it typed. */
export function checkModelJson(modelJson: unknown, file: string): tf.io.ModelJSON {
  if (typeof modelJson !== "object" || modelJson === null)
    throw new WorkbookError(`${file}: not a model description (expected a JSON object)`);
  const json = modelJson as tf.io.ModelJSON;
  if (json.modelTopology == null) throw new WorkbookError(`${file}: no modelTopology (not a TF.js layers model)`);
  if (!Array.isArray(json.weightsManifest)) throw new WorkbookError(`${file}: no weightsManifest (the list of weight files)`);
  checkWeightPaths(json.weightsManifest as unknown[], file);
  checkWeightEntries(json.weightsManifest as unknown[], file);
  return json;
}

/**
 * Every weights path is checked before any weight file is opened: a model folder is downloaded and shared, so it is
 * untrusted input, and a path such as ../../etc/passwd must not make the workbook read (or report on) files elsewhere.
 */
function checkWeightPaths(manifest: readonly unknown[], file: string): void {
  manifest.forEach((group, g) => {
    const paths = (group as { paths?: unknown } | null)?.paths;
    if (!Array.isArray(paths))
      throw new WorkbookError(`${file}: weightsManifest[${g}].paths must be a list of weight file names, got ${JSON.stringify(paths)}`);
    paths.forEach((p: unknown, i) => {
      if (!isPlainFileName(p)) {
        throw new WorkbookError(
          `${file}: weightsManifest[${g}].paths[${i}] is ${JSON.stringify(p)}: expected the plain name of a file inside the model folder (no /, \\, .. or absolute path)`,
        );
      }
    });
  });
}

/** The most dimensions, and the largest size of one dimension, a weight may have. */
const MAX_RANK = 8;
const MAX_DIMENSION = 2 ** 30;

/** Each weight's shape (a list of sizes) and dtype (one TF.js stores), before any byte count is worked out from them. */
function checkWeightEntries(manifest: readonly unknown[], file: string): void {
  manifest.forEach((group, g) => {
    const weights = (group as { weights?: unknown }).weights;
    const where = `weightsManifest[${g}].weights`;
    if (!Array.isArray(weights)) throw fieldRefusal(file, where, weights, "a list of the weights in the file");
    weights.forEach((entry: unknown, i) => {
      const { shape, dtype } = (entry ?? {}) as { shape?: unknown; dtype?: unknown };
      if (!Array.isArray(shape) || shape.length > MAX_RANK)
        throw fieldRefusal(file, `${where}[${i}].shape`, shape, `a list of at most ${MAX_RANK} sizes`);
      shape.forEach((size: unknown, d) => {
        if (typeof size !== "number" || !Number.isInteger(size) || size < 0 || size > MAX_DIMENSION)
          throw fieldRefusal(file, `${where}[${i}].shape[${d}]`, size, `an integer from 0 to ${MAX_DIMENSION}`);
      });
      if (typeof dtype !== "string" || !Object.hasOwn(BYTES_PER_VALUE, dtype))
        throw fieldRefusal(file, `${where}[${i}].dtype`, dtype, `one of ${Object.keys(BYTES_PER_VALUE).join(", ")}`);
    });
  });
}

/** A name that can only mean a file in the folder itself, on POSIX and on Windows (no separator, drive or ".."). */
export function isPlainFileName(p: unknown): p is string {
  return typeof p === "string" && p !== "" && p !== "." && p !== ".." && !/[\\/\0]/.test(p) && !/^[A-Za-z]:/.test(p);
}

const BYTES_PER_VALUE: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** The bytes a manifest entry's values take in the weight file (quantised entries use their stored dtype). */
function entryBytes(entry: tf.io.WeightsManifestEntry): number {
  const values = entry.shape.reduce((a, b) => a * b, 1);
  const dtype = entry.quantization?.dtype ?? entry.dtype;
  const bytes = BYTES_PER_VALUE[dtype];
  if (bytes === undefined) throw new WorkbookError(`weight ${entry.name}: unsupported dtype ${dtype}`);
  return values * bytes;
}

/**
 * Reads a weights file named by model.json: `name` (a plain file name, checked), `field` (where model.json names it,
 * for messages). Errors name the file.
 */
export type ReadWeights = (name: string, field: string) => Promise<Uint8Array>;

/**
 * The model artifacts of a checked model.json (`file`: how messages name it) with its weights read through
 * `readWeights`; `where(name)` is how messages name a weights file. A group whose files hold more or fewer bytes than
 * its entries describe is refused, naming the files: a truncated or foreign file would otherwise fail deep inside TF.js.
 */
export async function modelArtifacts(
  modelJson: tf.io.ModelJSON,
  file: string,
  readWeights: ReadWeights,
  where: (name: string) => string,
): Promise<tf.io.ModelArtifacts> {
  return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const specs: tf.io.WeightsManifestEntry[] = [];
    const buffers: Uint8Array[] = [];
    for (const [g, group] of manifest.entries()) {
      specs.push(...group.weights);
      const groupBuffers: Uint8Array[] = [];
      for (const [i, p] of group.paths.entries()) groupBuffers.push(await readWeights(p, `weightsManifest[${g}].paths[${i}]`));
      const have = groupBuffers.reduce((n, b) => n + b.byteLength, 0);
      const need = group.weights.reduce((n, w) => n + entryBytes(w), 0);
      if (have !== need) {
        throw new WorkbookError(
          `${group.paths.map(where).join(", ")}: ${have} bytes of weights, but ${file} describes ${need} (truncated or from another model)`,
        );
      }
      buffers.push(...groupBuffers);
    }
    const all = new Uint8Array(buffers.reduce((n, b) => n + b.byteLength, 0));
    let offset = 0;
    for (const b of buffers) {
      all.set(b, offset);
      offset += b.byteLength;
    }
    return [specs, all.buffer];
  });
}

/** The LayersModel of a checked model.json with its weights (modelArtifacts). */
export async function layersModelFrom(
  modelJson: tf.io.ModelJSON,
  file: string,
  readWeights: ReadWeights,
  where: (name: string) => string,
): Promise<tf.LayersModel> {
  const artifacts = await modelArtifacts(modelJson, file, readWeights, where);
  return tf.loadLayersModel({ load: async () => artifacts });
}
