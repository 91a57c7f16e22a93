/**
 * `npm run app`'s server: the web page (index.html and its bundled script, ./bundle.ts), the list of models, each
 * model folder's files as they are, TensorFlow.js's WebAssembly files from the installed package, and the files the
 * pretrained encoders (USE-lite, MobileNetV2) are read from in their installed packages, on 127.0.0.1.
 * Every path a request names is untrusted: only the names below are served, a model folder's files only by the
 * plain names a model folder holds (its JSON files and the weights files its model.json names), each a file inside
 * the folder; anything else is 404. `exportApp` writes the same files into one folder for a static host.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { HISTORY_JSON, INFO_JSON, TFIDF_JSON, THRESHOLDS_JSON, VOCABULARY_JSON } from "../models/folder-reader";
import { MODEL_JSON, isPlainFileName } from "../models/model-json";
import { modelFolder } from "../models/model-folder";
import { checkFoldFolders, describesEnsemble, foldName } from "../models/ensemble-folder";
import { ENCODER_PACKAGES, EncoderName, diskEncoderFiles } from "../encoders/encoder-files";
import { imageEncoderFiles } from "../encoders/mobilenet";
import { sentenceEncoderFiles } from "../encoders/use-lite";
import { KIND_IDS, kindSpec } from "../kinds/registry";
import { WorkbookError } from "../runtime/errors";
import { isInside } from "../runtime/files";
import { PageBundle, bundlePage } from "./bundle";
import type { EncoderVersions } from "./http-encoders";
import { PAGE_HTML } from "./page-html";

/** A model folder the page offers, by the id its URL uses (models/<id>/). */
export interface ServedModel {
  id: string;
  /** How the page's list names it. */
  label: string;
  dir: string;
}

/** What the page reads first: the models it offers, the first one chosen, and the encoders' installed packages. */
export interface ModelList {
  models: { id: string; label: string }[];
  encoders: EncoderVersions;
}

/** The pretrained encoders' files the page may read: by encoder, each file's name and where it is on the disk. */
export interface ServedEncoders {
  versions: EncoderVersions;
  files: Map<EncoderName, Map<string, string>>;
}

const ENCODER_NAMES = Object.keys(ENCODER_PACKAGES) as EncoderName[];

/**
 * The files the encoders are read from (encoders/use-lite.ts, mobilenet.ts: the models, their weights, the
 * vocabulary), found in the installed packages as the encoders find them, and nothing else of node_modules.
 */
export async function servedEncoders(): Promise<ServedEncoders> {
  const versions = {} as EncoderVersions;
  const files = new Map<EncoderName, Map<string, string>>();
  for (const encoder of ENCODER_NAMES) {
    const disk = diskEncoderFiles(encoder);
    const names = encoder === "use-lite" ? await sentenceEncoderFiles(disk) : await imageEncoderFiles(disk);
    versions[encoder] = { package: disk.package, version: await disk.version() };
    files.set(encoder, new Map(names.filter(isPlainFileName).map((name) => [name, disk.where(name)])));
  }
  return { versions, files };
}

/** Whether any of the models reads films through a pretrained encoder (the export then carries their files). */
function needEncoders(models: readonly ServedModel[]): boolean {
  return models.some((m) => {
    try {
      const info = JSON.parse(fs.readFileSync(path.join(m.dir, INFO_JSON), "utf8")) as { kind: string };
      const need = kindSpec(info.kind).encoders?.(info as never);
      return need !== undefined && (need.image !== undefined || need.sentence === true);
    } catch {
      return false;
    }
  });
}

const JSON_FILES = [INFO_JSON, MODEL_JSON, HISTORY_JSON, THRESHOLDS_JSON, VOCABULARY_JSON, TFIDF_JSON];
/** TensorFlow.js's WebAssembly binaries (plain, SIMD, threaded SIMD): the backend picks the one the browser runs. */
export const WASM_FILES = ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm"];

/** The folder of @tensorflow/tfjs-backend-wasm's .wasm files. */
function wasmDir(): string {
  return path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
}

/**
 * The files of a model folder the page may read: its JSON files that are there and the weights files its model.json
 * names (plain names only), each a file whose real path is inside the folder's. Read when asked, so a folder
 * retrained while the server runs is served as it is now.
 */
export function modelFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const real = fs.realpathSync(dir);
  const add = (name: string) => {
    if (!isPlainFileName(name)) return;
    const file = path.join(dir, name);
    const target = fs.realpathSync(file);
    if (isInside(target, real) && fs.statSync(target).isFile()) files.set(name, target);
  };
  for (const name of JSON_FILES) {
    try {
      add(name);
    } catch {
      // not there, or a link that cannot be followed: the page's reading of it says so
    }
  }
  try {
    const json = JSON.parse(fs.readFileSync(path.join(dir, MODEL_JSON), "utf8")) as { weightsManifest?: { paths?: unknown }[] };
    for (const group of json.weightsManifest ?? []) for (const p of Array.isArray(group.paths) ? group.paths : []) add(String(p));
  } catch {
    // a model.json that cannot be read names no weights; the page's reading of it says why
  }
  return files;
}

/**
 * The fold folders of an ensemble model folder, by name (fold-1 ... fold-k), checked as loading it from the disk checks
 * them (models/ensemble-folder.ts checkFoldFolders: folders, not links, as many as its info.json counts); none for a
 * single model folder or one whose info.json cannot be read (the page's reading of it says why).
 */
export function foldFolders(dir: string): Map<string, string> {
  const file = path.join(dir, INFO_JSON);
  try {
    const info = JSON.parse(fs.readFileSync(file, "utf8")) as { ensemble?: { folds?: unknown } };
    if (!describesEnsemble(info)) return new Map();
    const folders = checkFoldFolders(dir, Number(info.ensemble?.folds), file);
    return new Map(folders.map((folder, i) => [foldName(i + 1), folder]));
  } catch {
    return new Map();
  }
}

/** Every file of a served model folder, by its path inside the folder: its own, then each fold's (fold-<i>/<name>). */
function servedModelFiles(dir: string): Map<string, string> {
  const files = new Map(modelFiles(dir));
  for (const [fold, folder] of foldFolders(dir)) for (const [name, file] of modelFiles(folder)) files.set(`${fold}/${name}`, file);
  return files;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".bin": "application/octet-stream",
};

function contentType(name: string): string {
  return TYPES[path.extname(name)] ?? "application/octet-stream";
}

/** What a request's path names: the page, its script, the model list, a model's file, a WebAssembly file; or nothing. */
type Target = { kind: "bytes"; body: string | Uint8Array; type: string } | { kind: "file"; file: string; type: string } | undefined;

/** The segments of a URL path, decoded; undefined when one cannot be decoded. */
function segments(pathname: string): string[] | undefined {
  try {
    return pathname.split("/").slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

function resolveTarget(pathname: string, models: readonly ServedModel[], bundle: PageBundle, encoders: ServedEncoders): Target {
  const parts = segments(pathname);
  if (!parts) return undefined;
  if (parts.length === 1 && (parts[0] === "" || parts[0] === "index.html"))
    return { kind: "bytes", body: PAGE_HTML, type: TYPES[".html"] as string };
  if (parts.length === 1 && parts[0] === "app.js") return { kind: "bytes", body: bundle.code, type: TYPES[".js"] as string };
  if (parts.length === 1 && parts[0] === "models.json")
    return { kind: "bytes", body: JSON.stringify(modelList(models, encoders.versions)), type: TYPES[".json"] as string };
  if (parts.length === 3 && parts[0] === "encoders") {
    const file = encoders.files.get(parts[1] as EncoderName)?.get(parts[2] as string);
    if (file) return { kind: "file", file, type: contentType(file) };
  }
  if (parts.length === 2 && parts[0] === "tfjs-wasm" && WASM_FILES.includes(parts[1] as string))
    return { kind: "file", file: path.join(wasmDir(), parts[1] as string), type: TYPES[".wasm"] as string };
  if ((parts.length === 3 || parts.length === 4) && parts[0] === "models") {
    const model = models.find((m) => m.id === parts[1]);
    // a fold's file is models/<id>/fold-<i>/<name>; every name is looked up, never joined onto a path
    const file = model ? servedModelFiles(model.dir).get(parts.slice(2).join("/")) : undefined;
    if (file) return { kind: "file", file, type: contentType(file) };
  }
  return undefined;
}

export function modelList(models: readonly ServedModel[], encoders: EncoderVersions): ModelList {
  return { models: models.map((m) => ({ id: m.id, label: m.label })), encoders };
}

export interface RunningApp {
  url: string;
  bundle: PageBundle;
  close(): Promise<void>;
}

/** Serves the page and `models` on 127.0.0.1 (`port` 0: a free one); the URL is the page's. */
export async function startApp(
  models: readonly ServedModel[],
  options: { port?: number; log?: (line: string) => void } = {},
): Promise<RunningApp> {
  const bundle = await bundlePage();
  const encoders = await servedEncoders();
  const server = http.createServer((request, response) => {
    const method = request.method ?? "GET";
    if (method !== "GET" && method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const pathname = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    const target = resolveTarget(pathname, models, bundle, encoders);
    if (!target) {
      response.writeHead(404, { "content-type": "text/plain" }).end(method === "HEAD" ? undefined : "not found");
      return;
    }
    const headers = { "content-type": target.type, "cache-control": "no-store" };
    if (target.kind === "bytes") {
      const body = typeof target.body === "string" ? Buffer.from(target.body) : target.body;
      response.writeHead(200, { ...headers, "content-length": body.byteLength }).end(method === "HEAD" ? undefined : body);
      return;
    }
    fs.stat(target.file, (error, stat) => {
      if (error) {
        response.writeHead(404, { "content-type": "text/plain" }).end(method === "HEAD" ? undefined : "not found");
        return;
      }
      response.writeHead(200, { ...headers, "content-length": stat.size });
      if (method === "HEAD") response.end();
      else fs.createReadStream(target.file).pipe(response);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    bundle,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One file of an export: where it is, relative to the export folder, and its size. */
export interface ExportedFile {
  file: string;
  bytes: number;
}

/**
 * Writes the page and the models' files into `outDir` for a static host (any host that serves files: the page's
 * URLs are relative): index.html, app.js, models.json, models/<id>/<files>, tfjs-wasm/<.wasm files>, and, when a model
 * reads films through a pretrained encoder, encoders/<encoder>/<files>.
 */
export async function exportApp(outDir: string, models: readonly ServedModel[]): Promise<ExportedFile[]> {
  const bundle = await bundlePage();
  const encoders = await servedEncoders();
  const written: ExportedFile[] = [];
  const write = (relative: string, body: string | Uint8Array) => {
    const file = path.join(outDir, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body);
    written.push({ file: relative, bytes: fs.statSync(file).size });
  };
  write("index.html", PAGE_HTML);
  write("app.js", bundle.code);
  write("models.json", JSON.stringify(modelList(models, encoders.versions)));
  for (const name of WASM_FILES) write(path.join("tfjs-wasm", name), fs.readFileSync(path.join(wasmDir(), name)));
  if (needEncoders(models)) {
    for (const [encoder, files] of encoders.files)
      for (const [name, file] of files) write(path.join("encoders", encoder, name), fs.readFileSync(file));
  }
  for (const model of models) {
    for (const [name, file] of servedModelFiles(model.dir)) write(path.join("models", model.id, name), fs.readFileSync(file));
  }
  return written;
}

/**
 * The models the page offers: `model` (a folder given with --model) first, then each kind trained at the preset
 * (out/models/<preset>/<kind>), by kind id; a folder given twice is offered once.
 */
export function servedModels(options: { outDir: string; preset: string; model?: string }): ServedModel[] {
  const models: ServedModel[] = [];
  const seen = new Set<string>();
  const offer = (id: string, label: string, dir: string) => {
    const real = fs.realpathSync(dir);
    if (seen.has(real)) return;
    seen.add(real);
    models.push({ id, label, dir });
  };
  if (options.model !== undefined) {
    if (!fs.existsSync(options.model)) throw new WorkbookError(`${options.model} not found: give --model a trained model folder`);
    offer("model", `${path.basename(path.resolve(options.model))} (${options.model})`, path.resolve(options.model));
  }
  for (const kind of KIND_IDS) {
    const dir = modelFolder(options, kind);
    if (fs.existsSync(path.join(dir, INFO_JSON))) offer(kind, `${kindSpec(kind).title}, preset ${options.preset}`, dir);
  }
  return models;
}
