import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import * as tfWasm from "@tensorflow/tfjs-backend-wasm";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  BackendSelectionError,
  DEFAULT_WASM_THREADS,
  describeBackend,
  nativeModulePath,
  reasonFromError,
  requestedWasmThreads,
  selectBackend,
  type BackendInfo,
  type ModuleLoader,
} from "../lib/runtime/backend";
import { MAX_WASM_THREADS, autoWasmThreads, measureBusyCores, parseWasmThreads, workerScript } from "../lib/runtime/wasm-threads";
import { wasmTrainingKernelsRegistered } from "../lib/runtime/wasm-kernels/index";

/** Stands in for the native TensorFlow backend that tfjs-node(-gpu) registers as 'tensorflow'. */
class FakeNativeBackend extends tf.KernelBackend {
  constructor(readonly isUsingGpuDevice: boolean) {
    super();
  }
  override dispose(): void {
    /* nothing to free */
  }
}

function notInstalled(name: string): Error {
  const err = new Error(`Cannot find module '${name}'\nRequire stack:\n- /work/main/dist/lib/backend.js`) as Error & { code: string };
  err.code = "MODULE_NOT_FOUND";
  return err;
}

/** A loader for which each native package is absent, broken, or registers a fake backend. */
function fakeLoader(spec: Partial<Record<string, "absent" | "broken" | "gpu" | "no-gpu">>, calls: string[]): ModuleLoader {
  return (name) => {
    calls.push(name);
    const what = spec[name] ?? "absent";
    if (what === "absent") throw notInstalled(name);
    if (what === "broken") throw new Error("libcudart.so.11.0: cannot open shared object file: No such file or directory");
    tf.registerBackend("tensorflow", () => new FakeNativeBackend(what === "gpu"), 3);
    return {};
  };
}

const GPU = "@tensorflow/tfjs-node-gpu";
const NODE = "@tensorflow/tfjs-node";

describe("selectBackend", function () {
  this.timeout(30000);
  // A real native backend that an earlier test loaded in this process is set aside (these tests register fakes
  // under its name) and put back after them, for the tests that follow.
  let realNative: (() => tf.KernelBackend | Promise<tf.KernelBackend>) | null = null;

  before(async () => {
    realNative = tf.findBackendFactory("tensorflow");
    if (realNative != null) tf.removeBackend("tensorflow");
    await tf.setBackend("cpu");
  });

  after(() => {
    if (realNative != null && tf.findBackendFactory("tensorflow") == null) tf.registerBackend("tensorflow", realNative, 3);
  });

  afterEach(async () => {
    if (tf.findBackendFactory("tensorflow") != null) tf.removeBackend("tensorflow");
    await tf.setBackend("cpu");
  });

  it("picks tensorflow-gpu first when the GPU package loads and sees a GPU", async () => {
    const calls: string[] = [];
    const lines: string[] = [];
    const info = await selectBackend({ loader: fakeLoader({ [GPU]: "gpu", [NODE]: "no-gpu" }, calls), env: {}, log: (l) => lines.push(l) });
    assert.equal(info.candidate, "tensorflow-gpu");
    assert.equal(info.name, "tensorflow");
    assert.equal(tf.getBackend(), "tensorflow");
    assert.equal(info.gpu, true);
    assert.deepEqual(info.skipped, []);
    assert.deepEqual(calls, [GPU]);
    assert.ok(info.threads >= 1);
    assert.match(lines[lines.length - 1]!, /^backend: tensorflow \(\d+ threads?, fused BiLSTM\), GPU$/);
  });

  it("falls back to tfjs-node when the GPU package fails to load, recording why", async () => {
    const calls: string[] = [];
    const info = await selectBackend({ loader: fakeLoader({ [GPU]: "broken", [NODE]: "no-gpu" }, calls), env: {} });
    assert.equal(info.candidate, "tensorflow");
    assert.equal(info.name, "tensorflow");
    assert.equal(info.gpu, false);
    assert.deepEqual(calls, [GPU, NODE]);
    assert.equal(info.skipped.length, 1);
    assert.equal(info.skipped[0]!.candidate, "tensorflow-gpu");
    assert.match(info.skipped[0]!.reason, /libcudart/);
  });

  it("uses the GPU package on the CPU when it loads but sees no GPU (no second native load)", async () => {
    const calls: string[] = [];
    const info = await selectBackend({ loader: fakeLoader({ [GPU]: "no-gpu" }, calls), env: {} });
    assert.equal(info.candidate, "tensorflow");
    assert.equal(info.gpu, false);
    assert.deepEqual(calls, [GPU]);
    assert.match(info.skipped[0]!.reason, /sees no GPU/);
  });

  it("falls back to wasm with training kernels when nothing native is installed", async () => {
    const calls: string[] = [];
    const info = await selectBackend({ loader: fakeLoader({}, calls), env: {} });
    assert.equal(info.name, "wasm");
    assert.equal(info.candidate, "wasm");
    assert.equal(tf.getBackend(), "wasm");
    assert.equal(info.gpu, false);
    assert.ok(wasmTrainingKernelsRegistered());
    assert.deepEqual(calls, [GPU, NODE]);
    assert.deepEqual(info.skipped, [
      { candidate: "tensorflow-gpu", reason: `${GPU} is not installed` },
      { candidate: "tensorflow", reason: `${NODE} is not installed` },
    ]);
    // the wasm backend's own thread count, not the machine's core count
    assert.equal(info.threads, tfWasm.getThreadsCount());
    assert.equal(typeof info.simd, "boolean");
    assert.equal(
      describeBackend(info),
      `backend: wasm (${info.threads} thread${info.threads === 1 ? "" : "s"}, ${info.simd ? "SIMD" : "no SIMD"}, fused BiLSTM), no GPU; ` +
        `skipped tensorflow-gpu: ${GPU} is not installed; tensorflow: ${NODE} is not installed`,
    );
  });

  it("the real loader (no native packages here) ends on wasm", async () => {
    const info = await selectBackend({ env: {} });
    // On a machine with tfjs-node installed this would be 'tensorflow'; here neither is installable.
    assert.ok(["wasm", "tensorflow"].includes(info.name));
    if (info.name === "wasm") assert.equal(info.skipped.length, 2);
  });

  it("WORKBOOK_BACKEND forces a candidate and loads nothing native for wasm/cpu", async () => {
    const calls: string[] = [];
    const cpu = await selectBackend({ loader: fakeLoader({ [GPU]: "gpu" }, calls), env: { WORKBOOK_BACKEND: "cpu" } });
    assert.equal(cpu.name, "cpu");
    assert.equal(tf.getBackend(), "cpu");
    assert.equal(cpu.threads, 1);
    assert.deepEqual(cpu.skipped, []);
    const wasm = await selectBackend({ loader: fakeLoader({ [GPU]: "gpu" }, calls), env: { WORKBOOK_BACKEND: " wasm " } });
    assert.equal(wasm.name, "wasm");
    assert.deepEqual(calls, []);
  });

  it("WORKBOOK_BACKEND=tensorflow skips the GPU package", async () => {
    const calls: string[] = [];
    const info = await selectBackend({
      loader: fakeLoader({ [GPU]: "gpu", [NODE]: "no-gpu" }, calls),
      env: { WORKBOOK_BACKEND: "tensorflow" },
    });
    assert.equal(info.candidate, "tensorflow");
    assert.deepEqual(calls, [NODE]);
  });

  it("options.force wins over the environment", async () => {
    const info = await selectBackend({ force: "cpu", loader: fakeLoader({}, []), env: { WORKBOOK_BACKEND: "wasm" } });
    assert.equal(info.name, "cpu");
  });

  it("a forced candidate that cannot be used is an error naming the reason", async () => {
    await assert.rejects(
      selectBackend({ force: "tensorflow-gpu", loader: fakeLoader({}, []), env: {} }),
      (err: unknown) =>
        err instanceof BackendSelectionError &&
        /tensorflow-gpu was forced/.test(err.message) &&
        err.message.includes(`${GPU} is not installed`),
    );
    await assert.rejects(
      selectBackend({ loader: fakeLoader({ [GPU]: "no-gpu" }, []), env: { WORKBOOK_BACKEND: "tensorflow-gpu" } }),
      /sees no GPU/,
    );
  });

  it("rejects an unknown WORKBOOK_BACKEND value", async () => {
    await assert.rejects(
      selectBackend({ loader: fakeLoader({}, []), env: { WORKBOOK_BACKEND: "webgl" } }),
      /WORKBOOK_BACKEND=webgl is not one of tensorflow-gpu, tensorflow, wasm, cpu/,
    );
  });

  it("a package that loads without registering a backend is skipped with a reason", async () => {
    const info = await selectBackend({ loader: () => ({}), env: {} });
    assert.equal(info.name, "wasm");
    assert.match(info.skipped[0]!.reason, /registered no 'tensorflow' backend/);
  });
});

describe("nativeModulePath", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "native-path-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("never takes the stand-in for danfojs-node (shims/) for tfjs-node, wherever npm put it", () => {
    // npm hoists shims/tfjs-node to node_modules/@tensorflow/tfjs-node when nothing else claims the name; a plain
    // require then loads a package that registers no backend (CI failed on this with the native build present).
    assert.throws(
      () => nativeModulePath(NODE, { nativeModulesDir: dir }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "MODULE_NOT_FOUND", err.message);
        assert.equal(reasonFromError(err, NODE), `${NODE} is not installed`);
        return true;
      },
    );
  });

  it("what npm run native built comes first; a symlink into the stand-in's folder still counts as the stand-in", () => {
    const built = path.join(dir, "native", NODE);
    fs.mkdirSync(built, { recursive: true });
    fs.writeFileSync(path.join(built, "package.json"), "{}");
    const elsewhere = path.join(dir, "elsewhere.js");
    const resolve = () => elsewhere;
    assert.equal(nativeModulePath(NODE, { nativeModulesDir: path.join(dir, "native"), resolve }), built);
    fs.writeFileSync(elsewhere, "");
    assert.equal(nativeModulePath(NODE, { nativeModulesDir: path.join(dir, "none"), resolve }), elsewhere);

    const shims = path.join(dir, "shims", "tfjs-node");
    fs.mkdirSync(shims, { recursive: true });
    fs.writeFileSync(path.join(shims, "index.js"), "");
    fs.mkdirSync(path.join(dir, "node_modules", "@tensorflow"), { recursive: true });
    fs.symlinkSync(shims, path.join(dir, "node_modules", NODE));
    const hoisted = path.join(dir, "node_modules", NODE, "index.js");
    assert.throws(
      () => nativeModulePath(NODE, { nativeModulesDir: path.join(dir, "none"), shimsDir: path.join(dir, "shims"), resolve: () => hoisted }),
      /Cannot find module '@tensorflow\/tfjs-node' \(only the stand-in for danfojs-node, .*shims\/tfjs-node\/index\.js, is there\)$/,
    );
  });
});

describe("wasm threads", function () {
  this.timeout(60000);

  it("WORKBOOK_WASM_THREADS / options.wasmThreads / default", () => {
    assert.equal(DEFAULT_WASM_THREADS, "auto");
    assert.equal(requestedWasmThreads({ env: {} }), "auto");
    assert.equal(autoWasmThreads(), Math.min(MAX_WASM_THREADS, os.availableParallelism()));
    // one thread per core that other processes leave free
    assert.equal(autoWasmThreads(2, 0.1), 2);
    assert.equal(autoWasmThreads(2, 0.7), 1);
    assert.equal(autoWasmThreads(2, 3.5), 1);
    assert.equal(autoWasmThreads(8, 2.2), 6);
    assert.equal(autoWasmThreads(16, 0), MAX_WASM_THREADS);
    assert.equal(autoWasmThreads(1, 0), 1);
    assert.equal(requestedWasmThreads({ env: { WORKBOOK_WASM_THREADS: "1" } }), 1);
    assert.equal(requestedWasmThreads({ env: { WORKBOOK_WASM_THREADS: " 3 " } }), 3);
    assert.equal(requestedWasmThreads({ env: { WORKBOOK_WASM_THREADS: "auto" } }), "auto");
    assert.equal(requestedWasmThreads({ env: { WORKBOOK_WASM_THREADS: "" } }), "auto");
    assert.equal(requestedWasmThreads({ env: { WORKBOOK_WASM_THREADS: "4" }, wasmThreads: 2 }), 2);
    assert.equal(parseWasmThreads(undefined), undefined);
    assert.throws(() => requestedWasmThreads({ env: { WORKBOOK_WASM_THREADS: "two" } }), /WORKBOOK_WASM_THREADS=two/);
    assert.throws(() => requestedWasmThreads({ env: { WORKBOOK_WASM_THREADS: "0" } }), /positive integer/);
    assert.throws(() => requestedWasmThreads({ env: {}, wasmThreads: 1.5 }), /positive integer/);
  });

  it("measures the cores other processes keep busy (not this one)", async () => {
    const end = performance.now() + 50;
    const spin = setImmediate(() => {
      while (performance.now() < end) {
        /* busy in this process */
      }
    });
    const busy = await measureBusyCores(120);
    clearImmediate(spin);
    assert.ok(busy >= 0 && busy <= os.availableParallelism() + 0.5, `busy ${busy}`);
  });

  it("an invalid WORKBOOK_WASM_THREADS is a selection error", async () => {
    await assert.rejects(selectBackend({ loader: fakeLoader({}, []), env: { WORKBOOK_WASM_THREADS: "many" } }), BackendSelectionError);
  });

  it("the pthread worker script loads the threaded glue from its file (no Blob URLs)", () => {
    const script = workerScript();
    assert.match(script, /importScripts\(".*tfjs-backend-wasm-threaded-simd\.js"\);WasmBackendModuleThreadedSimd\(Module\)/);
    assert.ok(!script.includes("createObjectURL"));
  });

  /** Runs selectBackend in a fresh process (the thread count is fixed at the first wasm initialisation). */
  function threadsInChild(setting: string): { threads: number; simd: boolean; sum: number; line: string } {
    const backendJs = path.join(__dirname, "..", "lib", "runtime", "backend.js");
    const code = `
      const tf = require('@tensorflow/tfjs');
      require(${JSON.stringify(backendJs)}).selectBackend({ env: { WORKBOOK_BACKEND: 'wasm', WORKBOOK_WASM_THREADS: ${JSON.stringify(setting)} } })
        .then((info) => {
          const a = tf.ones([96, 64]); const b = tf.ones([64, 80]);
          const sum = tf.conv2d(tf.ones([2, 9, 9, 4]), tf.ones([3, 3, 4, 8]), 1, 'same').sum().dataSync()[0] + tf.matMul(a, b).sum().dataSync()[0];
          process.stdout.write(JSON.stringify({ threads: info.threads, simd: info.simd, sum, line: require(${JSON.stringify(backendJs)}).describeBackend(info) }));
          process.exit(0);
        }, (e) => { console.error(e); process.exit(1); });`;
    const out = execFileSync(process.execPath, ["-e", code], { cwd: path.join(__dirname, "..", ".."), encoding: "utf8", timeout: 60000 });
    return JSON.parse(out) as { threads: number; simd: boolean; sum: number; line: string };
  }

  // conv of ones: each output is 4 * (number of in-image taps); 2 images of 9x9x8 outputs
  const convSum = 2 * 8 * 4 * (7 * 7 * 9 + 4 * 7 * 6 + 4 * 4);
  const mmSum = 96 * 80 * 64;

  it("WORKBOOK_WASM_THREADS=2 runs XNNPACK on 2 threads through the threaded binary (even on fewer cores)", () => {
    const r = threadsInChild("2");
    assert.equal(r.threads, 2);
    assert.equal(r.simd, true);
    assert.equal(r.sum, convSum + mmSum);
    assert.match(r.line, /^backend: wasm \(2 threads, SIMD, fused BiLSTM\), no GPU/);
  });

  it("WORKBOOK_WASM_THREADS=1 keeps the stock single-threaded binary", () => {
    const r = threadsInChild("1");
    assert.equal(r.threads, 1);
    assert.equal(r.sum, convSum + mmSum);
  });
});

describe("describeBackend / reasonFromError", () => {
  it("formats thread counts, SIMD and GPU", () => {
    const base: BackendInfo = { name: "cpu", candidate: "cpu", threads: 1, gpu: false, skipped: [] };
    assert.equal(describeBackend(base), "backend: cpu (1 thread), no GPU");
    assert.equal(
      describeBackend({ ...base, name: "tensorflow", candidate: "tensorflow-gpu", threads: 8, gpu: true }),
      "backend: tensorflow (8 threads), GPU",
    );
    assert.equal(
      describeBackend({ ...base, name: "wasm", candidate: "wasm", simd: true, skipped: [{ candidate: "tensorflow", reason: "x" }] }),
      "backend: wasm (1 thread, SIMD), no GPU; skipped tensorflow: x",
    );
    assert.equal(
      describeBackend({ ...base, name: "wasm", candidate: "wasm", threads: 2, simd: true, fusedLstm: true }),
      "backend: wasm (2 threads, SIMD, fused BiLSTM), no GPU",
    );
  });

  it("keeps the first line of an error and names missing modules", () => {
    assert.equal(reasonFromError(notInstalled(GPU), GPU), `${GPU} is not installed`);
    // a missing dependency *inside* the package is not "the package is not installed"
    assert.match(reasonFromError(notInstalled("node-pre-gyp"), GPU), /^Cannot find module 'node-pre-gyp'$/);
    assert.equal(reasonFromError(new Error("a\nb")), "a");
    assert.equal(reasonFromError("plain"), "plain");
  });
});
