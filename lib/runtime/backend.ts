/**
 * Picks the fastest TensorFlow.js backend available on this machine:
 *
 *   1. tensorflow-gpu  @tensorflow/tfjs-node-gpu, when it loads and TensorFlow sees a GPU
 *   2. tensorflow      @tensorflow/tfjs-node (native TensorFlow on the CPU)
 *   3. wasm            @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD) plus this workbook's
 *                      training kernels (./wasm-kernels), without which it cannot train
 *   4. cpu             pure JavaScript (very slow for training: last resort)
 *
 * The native packages are not npm dependencies: `npm run native` (native/setup.sh) builds one
 * against the TensorFlow that pip installs, into .native/node_modules, where this module looks
 * for it before the usual module paths (see nativeModulePath). They are loaded with a guarded
 * dynamic `require`; a failed load is recorded as the reason that candidate was skipped. The
 * native packages register their backend under the name 'tensorflow' (GPU or not).
 *
 * `WORKBOOK_BACKEND=tensorflow-gpu|tensorflow|wasm|cpu` forces one candidate (an explicit
 * `options.force` wins over it). A forced candidate that cannot be used is an error, not a
 * silent fallback.
 *
 * wasm threads: `WORKBOOK_WASM_THREADS=N|auto` (or `options.wasmThreads`, which wins) runs XNNPACK
 * with N threads through tfjs's threaded SIMD binary, which tfjs itself never uses in Node (see
 * ./wasm-threads.ts); 1 is the stock single-threaded binary. The default, 'auto', is one thread per
 * core that other processes leave free when the backend starts (measured over 250 ms: 2 on an idle
 * 2-core machine, 1 when another process keeps a core busy).
 * The count is fixed at the wasm backend's first initialisation in the process; BackendInfo.threads
 * reports the count XNNPACK really uses.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as tfWasm from "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels } from "./wasm-kernels";
import { fusedLstmActive, installFusedLstm } from "./fused-lstm";
import { registerNativeKernels } from "./native-kernels";
import { installFastDropout } from "./fast-dropout";
import { installFusedConv } from "./fused-conv";
import {
  WASM_THREADS_ENV_VAR,
  autoWasmThreads,
  measureBusyCores,
  parseWasmThreads,
  prepareWasmThreads,
  unrefWasmWorkers,
  wasmBackendInitialised,
  type WasmThreadsSetting,
} from "./wasm-threads";
import { WorkbookError } from "./errors";
import { PROJECT_DIR } from "./config";
import { isInside } from "./files";

export { WASM_THREADS_ENV_VAR } from "./wasm-threads";

/**
 * wasm thread count when neither WORKBOOK_WASM_THREADS nor options.wasmThreads says otherwise.
 * 'auto' = one per core that other processes leave free (see autoWasmThreads, measureBusyCores).
 */
export const DEFAULT_WASM_THREADS: WasmThreadsSetting = "auto";

export type BackendCandidate = "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu";

/** Candidates, fastest first. */
export const BACKEND_CANDIDATES: readonly BackendCandidate[] = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"];

export const NATIVE_PACKAGES = {
  "tensorflow-gpu": "@tensorflow/tfjs-node-gpu",
  tensorflow: "@tensorflow/tfjs-node",
} as const;

export interface SkippedCandidate {
  candidate: BackendCandidate;
  reason: string;
}

export interface BackendInfo {
  /** tf.getBackend() name: 'tensorflow', 'wasm' or 'cpu'. */
  name: string;
  /** Which candidate was chosen ('tensorflow-gpu' and 'tensorflow' both have name 'tensorflow'). */
  candidate: BackendCandidate;
  /** Threads the backend computes with (wasm: its own XNNPACK thread count). */
  threads: number;
  gpu: boolean;
  /** wasm only: whether the SIMD binary is in use. */
  simd?: boolean;
  /** Bidirectional(LSTM) layers run through the fused LstmSequence kernel (runtime/fused-lstm.ts): wasm and native. */
  fusedLstm?: boolean;
  /** tensorflow only: the version of the TensorFlow library the addon runs on (e.g. 2.21.0 from pip). */
  tensorflowVersion?: string;
  /** Faster candidates that were tried and why they were not used, in order. */
  skipped: SkippedCandidate[];
}

export type ModuleLoader = (moduleName: string) => unknown;

export interface SelectBackendOptions {
  /** Use exactly this candidate (overrides WORKBOOK_BACKEND). */
  force?: BackendCandidate;
  /** Progress lines (each attempt, each skip, the final choice). */
  log?: (line: string) => void;
  /** Loads a native package; defaults to `require`. Injected by tests. */
  loader?: ModuleLoader;
  /** Environment to read WORKBOOK_BACKEND and WORKBOOK_WASM_THREADS from; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /**
   * wasm only: XNNPACK threads (overrides WORKBOOK_WASM_THREADS); 1 = the stock single-threaded
   * binary, 'auto' = one per free core. Only the first wasm initialisation in a process can set it.
   */
  wasmThreads?: WasmThreadsSetting;
}

export const BACKEND_ENV_VAR = "WORKBOOK_BACKEND";

/** Where `npm run native` (native/setup.sh) puts the native package it builds. */
export const NATIVE_MODULES_DIR = path.join(PROJECT_DIR, ".native", "node_modules");

/** The project's stand-in for @tensorflow/tfjs-node inside danfojs-node; npm may hoist it to node_modules/. */
export const SHIMS_DIR = path.join(PROJECT_DIR, "shims");

/** Where a native package is looked for; the defaults are the project's. Injected by tests. */
export interface NativeModuleSearch {
  nativeModulesDir?: string;
  shimsDir?: string;
  resolve?: (moduleName: string) => string;
}

/**
 * The file to load for a native package: first what npm run native built (.native/node_modules), then the usual
 * module paths. danfojs-node's dependency on @tensorflow/tfjs-node is overridden with the stand-in in shims/, which
 * npm hoists to node_modules/@tensorflow/tfjs-node when nothing else claims that name; the stand-in re-exports
 * @tensorflow/tfjs and registers no backend, so it counts as not installed.
 */
export function nativeModulePath(moduleName: string, search: NativeModuleSearch = {}): string {
  const built = path.join(search.nativeModulesDir ?? NATIVE_MODULES_DIR, moduleName);
  if (fs.existsSync(path.join(built, "package.json"))) return built;
  const resolved = (search.resolve ?? require.resolve)(moduleName);
  const real = fs.existsSync(resolved) ? fs.realpathSync(resolved) : resolved;
  if (isInside(real, search.shimsDir ?? SHIMS_DIR)) {
    const err = new Error(`Cannot find module '${moduleName}' (only the stand-in for danfojs-node, ${real}, is there)`);
    throw Object.assign(err, { code: "MODULE_NOT_FOUND" });
  }
  return resolved;
}

// The native packages are optional: loaded at run time, so that a machine without them still works.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const defaultLoader: ModuleLoader = (moduleName) => require(nativeModulePath(moduleName));

/** Thrown when a forced candidate cannot be used, or WORKBOOK_BACKEND is invalid. */
export class BackendSelectionError extends WorkbookError {
  constructor(
    message: string,
    readonly skipped: SkippedCandidate[] = [],
  ) {
    super(message);
    this.name = "BackendSelectionError";
  }
}

function isCandidate(value: string): value is BackendCandidate {
  return (BACKEND_CANDIDATES as readonly string[]).includes(value);
}

/** A short, one-line reason from a load/initialisation error. */
export function reasonFromError(err: unknown, moduleName?: string): string {
  const e = err as { code?: string; message?: string } | null;
  const message = String(e?.message ?? err);
  if (e?.code === "MODULE_NOT_FOUND" && moduleName != null && message.includes(`'${moduleName}'`)) {
    return `${moduleName} is not installed`;
  }
  const first = message.split("\n")[0]!.trim();
  return first.length > 200 ? `${first.slice(0, 197)}...` : first;
}

function cpuCount(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

/** Outcome of trying one candidate: the info on success, or why it was skipped. */
type Attempt = { ok: true; info: Omit<BackendInfo, "skipped"> } | { ok: false; reason: string };

async function activate(name: string): Promise<string | null> {
  if (tf.findBackendFactory(name) == null) return `no '${name}' backend is registered`;
  try {
    if (!(await tf.setBackend(name))) return `the '${name}' backend failed to initialise`;
  } catch (err) {
    return reasonFromError(err);
  }
  await tf.ready();
  return null;
}

/**
 * Loads a native package so that it registers the 'tensorflow' backend with *our*
 * @tensorflow/tfjs (it must resolve the same tfjs-core instance), then activates it.
 */
async function loadNative(moduleName: string, loader: ModuleLoader): Promise<string | null> {
  if (tf.findBackendFactory("tensorflow") == null) {
    try {
      loader(moduleName);
    } catch (err) {
      return reasonFromError(err, moduleName);
    }
    if (tf.findBackendFactory("tensorflow") == null) {
      return `${moduleName} loaded but registered no 'tensorflow' backend with this @tensorflow/tfjs (a second copy of tfjs-core?)`;
    }
  }
  registerNativeKernels();
  installFusedLstm();
  installFastDropout();
  installFusedConv();
  return activate("tensorflow");
}

function usesGpu(): boolean {
  const b = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  return b.isUsingGpuDevice === true;
}

/** The TensorFlow library under the active 'tensorflow' backend (its C API's TF_Version), as a BackendInfo field. */
function nativeVersion(): { tensorflowVersion?: string } {
  const b = tf.backend() as unknown as { binding?: { TF_Version?: unknown } };
  return typeof b.binding?.TF_Version === "string" ? { tensorflowVersion: b.binding.TF_Version } : {};
}

/** The wasm thread setting asked for by options / environment / default (throws when invalid). */
export function requestedWasmThreads(options: Pick<SelectBackendOptions, "wasmThreads" | "env"> = {}): WasmThreadsSetting {
  const env = options.env ?? process.env;
  return parseWasmThreads(options.wasmThreads, "wasmThreads") ?? parseWasmThreads(env[WASM_THREADS_ENV_VAR]) ?? DEFAULT_WASM_THREADS;
}

/**
 * Activates wasm with `threads` XNNPACK threads when this is its first initialisation; if the threaded
 * binary cannot be set up or fails to start, falls back to the stock single-threaded one.
 */
async function activateWasm(setting: WasmThreadsSetting, log: (line: string) => void): Promise<string | null> {
  // (not tf.findBackend: it would initialise the backend before the threads are set up)
  if (wasmBackendInitialised()) return activate("wasm");
  let threads: number;
  if (setting === "auto") {
    const busy = await measureBusyCores();
    threads = autoWasmThreads(undefined, busy);
    log(`wasm threads: auto -> ${threads} (other processes keep ${busy.toFixed(1)} of ${cpuCount()} cores busy)`);
  } else {
    threads = setting;
  }
  let restore: () => void;
  try {
    restore = prepareWasmThreads(threads);
  } catch (err) {
    if (threads === 1) return `cannot set up the wasm backend: ${reasonFromError(err)}`;
    log(`cannot set up ${threads} wasm threads (${reasonFromError(err)}): using 1`);
    return activateWasm(1, log);
  }
  let failure: string | null;
  try {
    failure = await activate("wasm");
    if (failure == null) unrefWasmWorkers();
  } finally {
    restore();
  }
  if (failure != null && threads > 1) {
    log(`the threaded wasm backend (${threads} threads) failed to start (${failure}): using 1 thread`);
    return activateWasm(1, log);
  }
  return failure;
}

async function tryCandidate(
  candidate: BackendCandidate,
  loader: ModuleLoader,
  state: { gpuPackageActive: boolean; wasmThreads: WasmThreadsSetting; log: (line: string) => void },
): Promise<Attempt> {
  switch (candidate) {
    case "tensorflow-gpu": {
      const failure = await loadNative(NATIVE_PACKAGES["tensorflow-gpu"], loader);
      if (failure != null) return { ok: false, reason: failure };
      if (!usesGpu()) {
        // The GPU package still works, on the CPU: the 'tensorflow' candidate can use it.
        state.gpuPackageActive = true;
        return {
          ok: false,
          reason: `${NATIVE_PACKAGES["tensorflow-gpu"]} loaded but TensorFlow sees no GPU (CUDA/cuDNN missing or no device)`,
        };
      }
      return {
        ok: true,
        info: { name: "tensorflow", candidate, threads: cpuCount(), gpu: true, fusedLstm: fusedLstmActive(), ...nativeVersion() },
      };
    }
    case "tensorflow": {
      // If the GPU package already registered 'tensorflow' (and found no GPU), reuse it
      // rather than loading a second native TensorFlow.
      const failure = state.gpuPackageActive ? await activate("tensorflow") : await loadNative(NATIVE_PACKAGES.tensorflow, loader);
      if (failure != null) return { ok: false, reason: failure };
      return {
        ok: true,
        info: { name: "tensorflow", candidate, threads: cpuCount(), gpu: usesGpu(), fusedLstm: fusedLstmActive(), ...nativeVersion() },
      };
    }
    case "wasm": {
      try {
        registerWasmTrainingKernels();
        installFusedLstm();
      } catch (err) {
        return { ok: false, reason: `cannot register the wasm training kernels: ${reasonFromError(err)}` };
      }
      const failure = await activateWasm(state.wasmThreads, state.log);
      if (failure != null) return { ok: false, reason: failure };
      // The wasm backend's own count: XNNPACK's thread pool size (1 with the stock binary).
      let threads = 1;
      try {
        threads = tfWasm.getThreadsCount();
      } catch {
        threads = 1;
      }
      const simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true;
      return { ok: true, info: { name: "wasm", candidate, threads, gpu: false, simd, fusedLstm: fusedLstmActive() } };
    }
    case "cpu": {
      const failure = await activate("cpu");
      if (failure != null) return { ok: false, reason: failure };
      return { ok: true, info: { name: "cpu", candidate, threads: 1, gpu: false } };
    }
  }
}

/** What selectBackend chose last in this process. */
let selected: BackendInfo | undefined;
let selecting: Promise<BackendInfo> | undefined;

/**
 * Makes sure a backend is active and says which: the first call in a process chooses one as selectBackend()
 * does (with the environment's settings), later calls return at once. Every library function that computes with
 * TensorFlow.js awaits it, so no notebook cell has to initialise anything first (after a kernel restart, any
 * cell can be the first). A backend that something else already activated (a command's selectBackend with its
 * options, a test's tf.setBackend) is kept, never switched.
 */
export async function ensureBackend(): Promise<BackendInfo> {
  const active = tf.engine().backendName;
  if (active != null) {
    if (selected?.name === active) return selected;
    const threads = active === "wasm" ? tfWasm.getThreadsCount() : 1;
    return { name: active, candidate: active as BackendCandidate, threads, gpu: false, skipped: [] };
  }
  selecting ??= selectBackend().finally(() => (selecting = undefined));
  return selecting;
}

/** Chooses and activates the fastest usable backend (see the module comment). */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendInfo> {
  const log = options.log ?? (() => undefined);
  const loader = options.loader ?? defaultLoader;
  const env = options.env ?? process.env;
  let force = options.force;
  if (force == null) {
    const fromEnv = env[BACKEND_ENV_VAR]?.trim();
    if (fromEnv != null && fromEnv !== "") {
      if (!isCandidate(fromEnv)) {
        throw new BackendSelectionError(`${BACKEND_ENV_VAR}=${fromEnv} is not one of ${BACKEND_CANDIDATES.join(", ")}`);
      }
      force = fromEnv;
      log(`${BACKEND_ENV_VAR}=${fromEnv}: using only that backend`);
    }
  } else if (!isCandidate(force)) {
    throw new BackendSelectionError(`force=${String(force)} is not one of ${BACKEND_CANDIDATES.join(", ")}`);
  }

  const candidates = force != null ? [force] : BACKEND_CANDIDATES;
  const skipped: SkippedCandidate[] = [];
  let wasmThreads: WasmThreadsSetting;
  try {
    wasmThreads = requestedWasmThreads(options);
  } catch (err) {
    throw new BackendSelectionError(reasonFromError(err));
  }
  const state = { gpuPackageActive: false, wasmThreads, log };
  for (const candidate of candidates) {
    log(`trying ${candidate}`);
    const attempt = await tryCandidate(candidate, loader, state);
    if (attempt.ok) {
      const info: BackendInfo = { ...attempt.info, skipped };
      selected = info;
      log(describeBackend(info));
      return info;
    }
    skipped.push({ candidate, reason: attempt.reason });
    log(`skipped ${candidate}: ${attempt.reason}`);
  }
  if (force != null) {
    throw new BackendSelectionError(`backend ${force} was forced but cannot be used: ${skipped[0]?.reason ?? "unknown reason"}`, skipped);
  }
  throw new BackendSelectionError(`no usable backend: ${skipped.map((s) => `${s.candidate}: ${s.reason}`).join("; ")}`, skipped);
}

/** e.g. "backend: tensorflow 2.21.0 native (2 threads), no GPU" or "backend: wasm (1 thread, SIMD), no GPU; skipped tensorflow-gpu: ... is not installed; tensorflow: ..." */
export function describeBackend(info: BackendInfo): string {
  const details = [`${info.threads} thread${info.threads === 1 ? "" : "s"}`];
  if (info.name === "wasm") details.push(info.simd ? "SIMD" : "no SIMD");
  if (info.fusedLstm === true) details.push("fused BiLSTM");
  const name = info.name === "tensorflow" && info.tensorflowVersion ? `tensorflow ${info.tensorflowVersion} native` : info.name;
  let line = `backend: ${name} (${details.join(", ")}), ${info.gpu ? "GPU" : "no GPU"}`;
  if (info.skipped.length > 0) {
    line += `; skipped ${info.skipped.map((s) => `${s.candidate}: ${s.reason}`).join("; ")}`;
  }
  return line;
}
