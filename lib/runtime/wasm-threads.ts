/**
 * Multi-threaded XNNPACK for @tensorflow/tfjs-backend-wasm 4.22 in Node.
 *
 * tfjs ships a threaded SIMD binary (tfjs-backend-wasm-threaded-simd.wasm, emscripten pthreads) but never
 * uses it in Node, for three reasons this module works around, only while the backend initialises:
 *  1. the WASM_HAS_MULTITHREAD_SUPPORT flag is hard-wired to false under Node -> we set it to true;
 *  2. emscripten's pthread workers are created from a Blob URL (URL.createObjectURL of the worker script),
 *     which worker_threads cannot load, and each worker then loads the main script from another Blob ->
 *     URL.createObjectURL returns the path of a worker script written to the temp folder instead, whose
 *     'load' handler reads the package's own wasm-out/tfjs-backend-wasm-threaded-simd.js from disk (the
 *     same emscripten glue the node bundle embeds, for the same .wasm);
 *  3. the C++ side caps XNNPACK's pool at half of emscripten_num_logical_cores() (os.cpus().length in
 *     Node), i.e. 1 thread on a 2-core machine -> os.cpus() reports at least 2 x the requested threads
 *     while init_with_threads_count runs.
 * Emscripten pre-spawns 8 pthread workers (its PTHREAD_POOL_SIZE), so up to 8 threads need no further
 * worker creation after initialisation; more are refused here. Emscripten ref()s the workers that run
 * XNNPACK's pool threads (which never end), so unrefWasmWorkers() unrefs them once the backend is up:
 * otherwise they would keep Node from exiting (mocha, a notebook kernel shutting down).
 *
 * Usage: `const restore = prepareWasmThreads(n); try { await tf.setBackend('wasm'); } finally { restore(); }`
 * before the wasm backend is initialised for the first time in the process (the thread count cannot
 * change afterwards).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import * as tfWasm from "@tensorflow/tfjs-backend-wasm";

// The module object itself (an `import * as` namespace copy cannot be patched): tfjs-backend-wasm's
// emscripten glue calls require('os').cpus().
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeOs = require("os") as { cpus: typeof os.cpus };

/** WORKBOOK_WASM_THREADS=N|auto: XNNPACK threads of the wasm backend (1: the stock single-threaded binary). */
export const WASM_THREADS_ENV_VAR = "WORKBOOK_WASM_THREADS";

/** emscripten's pthread pool size in this build (workers created at initialisation). */
export const MAX_WASM_THREADS = 8;

export type WasmThreadsSetting = number | "auto";

/** Parses WORKBOOK_WASM_THREADS / --threads values: a positive integer or 'auto'. */
export function parseWasmThreads(value: string | number | undefined, source = WASM_THREADS_ENV_VAR): WasmThreadsSetting | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${source}: threads must be a positive integer or 'auto', got ${value}`);
    return value;
  }
  const v = value.trim();
  if (v === "") return undefined;
  if (v === "auto") return "auto";
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${source}=${v}: use a positive integer or 'auto'`);
  return n;
}

function cpuCount(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

/**
 * The thread count 'auto' stands for: one thread per core that other processes leave free, i.e. cores
 * minus the cores kept busy by other processes (`busy`, see measureBusyCores), rounded, at least 1 and at
 * most MAX_WASM_THREADS.
 *
 * Why not simply one per core: measured on a 2-core machine (coursework models, batch 64), 2 threads
 * make training ~1.4x (CNN) and ~1.4x (BiLSTM) faster and prediction ~2x / ~1.6x when the machine is
 * otherwise idle, but when another process keeps a core busy, XNNPACK's pool waits on a descheduled
 * thread at every operation: the BiLSTM then trains ~3x SLOWER than on 1 thread (tens of thousands of
 * small operations per step), the CNN ~10% slower. WORKBOOK_WASM_THREADS=N fixes the count.
 */
export function autoWasmThreads(cores: number = cpuCount(), busy = 0): number {
  const free = Math.floor(cores - Math.max(0, busy) + 0.5);
  return Math.max(1, Math.min(MAX_WASM_THREADS, cores, free));
}

function busyCpuMs(): number {
  let busy = 0;
  for (const c of os.cpus()) busy += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return busy;
}

/**
 * How many cores other processes keep busy, measured over `ms` milliseconds (all cores' busy time minus
 * this process's own CPU time, per elapsed time). A snapshot, not a load average: the load average lags
 * by minutes, so right after a previous run it would report a busy machine that is in fact idle.
 */
export async function measureBusyCores(ms = 250): Promise<number> {
  const cpu0 = busyCpuMs();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const elapsed = performance.now() - t0;
  const self = process.cpuUsage(self0);
  const others = busyCpuMs() - cpu0 - (self.user + self.system) / 1000;
  return Math.max(0, others / Math.max(1, elapsed));
}

function packageDir(): string {
  return path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
}

/** The emscripten glue of the threaded binary, as the workers must load it. */
function threadedGluePath(): string {
  return path.join(packageDir(), "wasm-out", "tfjs-backend-wasm-threaded-simd.js");
}

// The part of emscripten's worker script that loads the main script from a string URL or a Blob.
const LOAD_MAIN_SCRIPT =
  'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';

/** The pthread worker script for worker_threads: emscripten's, loading the glue from its file. */
export function workerScript(): string {
  const workerModule = path.join(packageDir(), "wasm-out", "tfjs-backend-wasm-threaded-simd.worker.js");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { wasmWorkerContents } = require(workerModule) as { wasmWorkerContents: string };
  if (!wasmWorkerContents.includes(LOAD_MAIN_SCRIPT)) {
    throw new Error("unexpected tfjs-backend-wasm worker script (not 4.22?): cannot enable wasm threads");
  }
  // As tfjs does before making a Blob of it: the template literal turned '\n' escapes into newlines.
  return wasmWorkerContents.replace(/\n/g, "\\n").replace(LOAD_MAIN_SCRIPT, `importScripts(${JSON.stringify(threadedGluePath())});`);
}

/** Writes the worker script once per content (atomically) into the temp folder and returns its path. */
function writeWorkerScript(): string {
  const source = workerScript();
  const hash = crypto.createHash("sha256").update(source).digest("hex").slice(0, 16);
  const file = path.join(os.tmpdir(), `tfjs-wasm-pthread-worker-${hash}.js`);
  if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== source) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, source);
    fs.renameSync(tmp, file);
  }
  return file;
}

/** Whether the wasm backend has already been initialised in this process (threads can no longer change). */
export function wasmBackendInitialised(): boolean {
  try {
    tfWasm.getThreadsCount();
    return true;
  } catch {
    return false;
  }
}

/**
 * Prepares the next initialisation of the wasm backend to use the threaded binary with `threads` XNNPACK
 * threads (see the module comment). Returns a function that removes the temporary patches; call it once
 * the backend is initialised (or failed to). threads = 1 changes nothing (the stock binary).
 */
export function prepareWasmThreads(threads: number): () => void {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`wasm threads must be a positive integer, got ${threads}`);
  if (threads > MAX_WASM_THREADS) throw new Error(`wasm threads: at most ${MAX_WASM_THREADS} (emscripten's pthread pool), got ${threads}`);
  if (threads === 1) {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    tfWasm.setThreadsCount(1);
    return () => undefined;
  }
  if (typeof SharedArrayBuffer === "undefined") throw new Error("wasm threads need SharedArrayBuffer");
  const workerFile = writeWorkerScript();
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  tfWasm.setThreadsCount(threads);

  const originalCreateObjectURL = URL.createObjectURL;
  URL.createObjectURL = function createObjectURL(obj: Blob | MediaSource): string {
    // Only the pthread worker script is a JavaScript Blob during the wasm initialisation.
    if (typeof Blob !== "undefined" && obj instanceof Blob && obj.type === "application/javascript") return workerFile;
    return originalCreateObjectURL.call(URL, obj as Blob);
  };
  const originalCpus = nodeOs.cpus;
  nodeOs.cpus = function cpus(): os.CpuInfo[] {
    const list = originalCpus.call(nodeOs);
    const first = list[0] ?? { model: "unknown", speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } };
    while (list.length < 2 * threads) list.push(first);
    return list;
  };
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    URL.createObjectURL = originalCreateObjectURL;
    nodeOs.cpus = originalCpus;
  };
}

interface EmscriptenWorker {
  unref?: () => void;
}

/**
 * Unrefs the threaded wasm backend's pthread workers so that they do not keep the process alive; the
 * number of workers unref'd (0 with the single-threaded binary).
 */
export function unrefWasmWorkers(): number {
  const backend = tf.findBackend("wasm") as unknown as {
    wasm?: { PThread?: { runningWorkers?: EmscriptenWorker[]; unusedWorkers?: EmscriptenWorker[] } };
  } | null;
  const pthread = backend?.wasm?.PThread;
  if (pthread == null) return 0;
  let n = 0;
  for (const worker of [...(pthread.runningWorkers ?? []), ...(pthread.unusedWorkers ?? [])]) {
    if (typeof worker.unref === "function") {
      worker.unref();
      n++;
    }
  }
  return n;
}
