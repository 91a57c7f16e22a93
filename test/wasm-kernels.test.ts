import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import {
  MISSING_WASM_KERNELS,
  REPLACED_WASM_KERNELS,
  registerWasmTrainingKernels,
  wasmTrainingKernelsRegistered,
} from "../lib/runtime/wasm-kernels/index";
import { originalKernels, type WasmBackendLike } from "../lib/runtime/wasm-kernels/util";
import { cachedTransposeCount } from "../lib/runtime/wasm-kernels/batch_mat_mul";
import { conv2DBackpropFilterTuning } from "../lib/runtime/wasm-kernels/conv2d_backprop_filter";
import { seededRandom } from "../lib/runtime/random";

// ---------------------------------------------------------------------------------
// helpers

/** Small deterministic PRNG: the workbook's own seeded generator. */
const rng = seededRandom;

function randn(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() + r() + r() + r() - 2) * 1.7;
  return out;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Runs `fn` on a backend and returns its outputs' values (tensors created inside fn live on that backend). */
async function runOn(backend: "cpu" | "wasm", fn: () => tf.Tensor | tf.Tensor[]): Promise<{ shape: number[]; values: Float32Array }[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const out = fn();
    const outs = Array.isArray(out) ? out : [out];
    return outs.map((t) => ({ shape: t.shape.slice(), values: Float32Array.from(t.dataSync() as ArrayLike<number>) }));
  });
}

/** max |a-b| <= tol * (1 + max|ref|) */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let maxRef = 0;
  let maxDiff = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(expected[i]!));
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= maxDiff)) {
      maxDiff = d;
      at = i;
    }
  }
  assert.ok(
    maxDiff <= tol * (1 + maxRef),
    `${what}: max diff ${maxDiff} at ${at} (got ${actual[at]}, want ${expected[at]}), max |ref| ${maxRef}, tol ${tol}`,
  );
}

async function compareBackends(what: string, fn: () => tf.Tensor | tf.Tensor[], tol = 2e-5): Promise<void> {
  const want = await runOn("cpu", fn);
  const got = await runOn("wasm", fn);
  assert.equal(got.length, want.length, `${what}: number of outputs`);
  for (let i = 0; i < want.length; i++) {
    assert.deepEqual(got[i]!.shape, want[i]!.shape, `${what}: shape of output ${i}`);
    assertClose(got[i]!.values, want[i]!.values, tol, `${what} output ${i}`);
  }
}

/** Replaces Math.random (which tfjs uses to seed unseeded random ops) while fn runs. */
async function withSeededRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const saved = Math.random;
  Math.random = rng(seed);
  try {
    return await fn();
  } finally {
    Math.random = saved;
  }
}

type Pad = "same" | "valid";
interface ConvCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  s: [number, number];
  pad: Pad;
}

const convCases: ConvCase[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 4], s: [1, 1], pad: "same" },
  { x: [2, 7, 9, 3], f: [3, 3, 3, 4], s: [1, 1], pad: "valid" },
  { x: [3, 8, 6, 2], f: [3, 3, 2, 5], s: [2, 2], pad: "same" },
  { x: [1, 9, 7, 4], f: [3, 2, 4, 3], s: [2, 2], pad: "valid" },
  { x: [2, 10, 11, 3], f: [5, 3, 3, 2], s: [2, 1], pad: "same" },
  { x: [2, 6, 5, 4], f: [1, 1, 4, 6], s: [1, 1], pad: "valid" },
  { x: [2, 5, 5, 3], f: [2, 2, 3, 3], s: [3, 3], pad: "same" },
  { x: [4, 16, 16, 16], f: [3, 3, 16, 32], s: [1, 1], pad: "same" },
  { x: [3, 1, 1, 2], f: [1, 1, 2, 3], s: [1, 1], pad: "valid" },
];

/** The coursework CNN's convolutions (Conv0 stride 2 on 64x64 posters, then 32x32, 16x16, 8x8), at batch 4. */
const modelConvCases: ConvCase[] = [
  { x: [4, 64, 64, 3], f: [3, 3, 3, 16], s: [2, 2], pad: "same" },
  { x: [4, 32, 32, 16], f: [3, 3, 16, 32], s: [1, 1], pad: "same" },
  { x: [4, 16, 16, 32], f: [3, 3, 32, 64], s: [1, 1], pad: "same" },
  { x: [4, 8, 8, 128], f: [3, 3, 128, 128], s: [1, 1], pad: "same" },
];

function convOutShape(c: ConvCase): [number, number, number, number] {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.s, 1, c.pad);
  return info.outShape as [number, number, number, number];
}

const caseName = (c: ConvCase) => `x=${c.x} f=${c.f} s=${c.s} ${c.pad}`;

// ---------------------------------------------------------------------------------

describe("wasm training kernels", function () {
  this.timeout(60000);

  before(async () => {
    registerWasmTrainingKernels();
    assert.ok(await tf.setBackend("wasm"), "wasm backend initialises");
    await tf.setBackend("cpu");
  });

  after(async () => {
    await tf.setBackend("cpu");
  });

  it("registers every missing and replaced kernel, idempotently", () => {
    assert.ok(wasmTrainingKernelsRegistered());
    const before = new Map(originalKernels);
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    assert.ok(wasmTrainingKernelsRegistered());
    for (const name of [...MISSING_WASM_KERNELS, ...REPLACED_WASM_KERNELS]) {
      assert.ok(tf.getKernel(name, "wasm") != null, `${name} registered`);
    }
    // originals still point at the stock kernels, never at ours (no recursion)
    for (const name of REPLACED_WASM_KERNELS) {
      assert.equal(originalKernels.get(name), before.get(name), `${name} original unchanged`);
      assert.notEqual(originalKernels.get(name), tf.getKernel(name, "wasm")!.kernelFunc);
    }
  });

  describe("Conv2DBackpropFilter matches cpu", () => {
    for (const [i, c] of [...convCases, ...modelConvCases].entries()) {
      it(caseName(c), async () => {
        const x = randn(size(c.x), 10 + i);
        const dyShape = convOutShape(c);
        const dy = randn(size(dyShape), 100 + i);
        await compareBackends(
          caseName(c),
          () =>
            tf
              .engine()
              .runKernel(
                "Conv2DBackpropFilter",
                { x: tf.tensor4d(x, c.x), dy: tf.tensor4d(dy, dyShape) },
                { strides: c.s, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined as unknown as string, filterShape: c.f },
              ) as tf.Tensor,
        );
      });
    }
    it("in several chunks of output rows (chunks split images at odd rows)", async () => {
      const saved = conv2DBackpropFilterTuning.maxColsElements;
      try {
        for (const [i, c] of [convCases[0]!, convCases[2]!, convCases[4]!].entries()) {
          const K = c.f[0] * c.f[1] * c.f[2];
          const ow = convOutShape(c)[2];
          for (const rows of [1, 3, 5]) {
            conv2DBackpropFilterTuning.maxColsElements = K * ow * rows;
            const x = randn(size(c.x), 400 + i);
            const dyShape = convOutShape(c);
            const dy = randn(size(dyShape), 500 + i);
            await compareBackends(
              `${caseName(c)} chunk ${rows} rows`,
              () =>
                tf
                  .engine()
                  .runKernel(
                    "Conv2DBackpropFilter",
                    { x: tf.tensor4d(x, c.x), dy: tf.tensor4d(dy, dyShape) },
                    { strides: c.s, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined as unknown as string, filterShape: c.f },
                  ) as tf.Tensor,
            );
          }
        }
      } finally {
        conv2DBackpropFilterTuning.maxColsElements = saved;
      }
    });
    it("NCHW data format", async () => {
      const c = convCases[2]!;
      const x = randn(size(c.x), 7);
      const dyShape = convOutShape(c);
      const dy = randn(size(dyShape), 8);
      await compareBackends(
        "NCHW",
        () =>
          tf
            .engine()
            .runKernel(
              "Conv2DBackpropFilter",
              { x: tf.tensor4d(x, c.x).transpose([0, 3, 1, 2]), dy: tf.tensor4d(dy, dyShape).transpose([0, 3, 1, 2]) },
              { strides: c.s, pad: c.pad, dataFormat: "NCHW", dimRoundingMode: undefined as unknown as string, filterShape: c.f },
            ) as tf.Tensor,
      );
    });
  });

  describe("Conv2DBackpropInput matches cpu", () => {
    for (const [i, c] of convCases.entries()) {
      it(caseName(c), async () => {
        const f = randn(size(c.f), 20 + i);
        const dyShape = convOutShape(c);
        const dy = randn(size(dyShape), 200 + i);
        await compareBackends(
          caseName(c),
          () =>
            tf
              .engine()
              .runKernel(
                "Conv2DBackpropInput",
                { dy: tf.tensor4d(dy, dyShape), filter: tf.tensor4d(f, c.f) },
                { strides: c.s, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined as unknown as string, inputShape: c.x },
              ) as tf.Tensor,
        );
      });
    }
    it("conv2dTranspose (same kernel through the public op)", async () => {
      const dy = randn(2 * 4 * 5 * 6, 3);
      const f = randn(3 * 3 * 2 * 6, 4);
      await compareBackends("conv2dTranspose", () =>
        tf.conv2dTranspose(tf.tensor4d(dy, [2, 4, 5, 6]), tf.tensor4d(f, [3, 3, 2, 6]), [2, 8, 10, 2], 2, "same"),
      );
    });
  });

  describe("UnsortedSegmentSum matches cpu", () => {
    it("2-D rows with repeated, unused and out-of-range ids", async () => {
      const x = randn(9 * 5, 1);
      const ids = [3, 0, 3, 7, 1, 3, -1, 12, 0];
      await compareBackends("uss 2d", () => tf.unsortedSegmentSum(tf.tensor2d(x, [9, 5]), tf.tensor1d(ids, "int32"), 10));
    });
    it("3-D values", async () => {
      const x = randn(6 * 2 * 3, 2);
      const ids = [1, 1, 0, 4, 2, 1];
      await compareBackends("uss 3d", () => tf.unsortedSegmentSum(tf.tensor3d(x, [6, 2, 3]), tf.tensor1d(ids, "int32"), 5));
    });
    it("1-D values, int32 dtype", async () => {
      const ids = [0, 2, 2, 1, 0, 2];
      await compareBackends("uss int", () => tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4, 5, 6], "int32"), tf.tensor1d(ids, "int32"), 4));
    });
    it("Embedding-sized gradient (gather grad)", async () => {
      const table = randn(300 * 8, 5);
      const r = rng(6);
      const idx = Array.from({ length: 64 * 12 }, () => Math.floor(r() * 300));
      const dy = randn(64 * 12 * 8, 7);
      await compareBackends("gather grad", () => {
        const t = tf.tensor2d(table, [300, 8]);
        const g = tf.grad((tt: tf.Tensor) =>
          tf
            .gather(tt, tf.tensor2d(idx, [64, 12], "int32"))
            .mul(tf.tensor3d(dy, [64, 12, 8]))
            .sum(),
        );
        return g(t);
      });
    });
  });

  describe("BatchMatMul matches cpu", () => {
    const shapes: { a: number[]; b: number[]; tA: boolean; tB: boolean }[] = [];
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        // 2-D, non-square: logical a [5,7] · b [7,3]
        shapes.push({ a: tA ? [7, 5] : [5, 7], b: tB ? [3, 7] : [7, 3], tA, tB });
        // wide output (exercises both transposeB strategies)
        shapes.push({ a: tA ? [6, 2] : [2, 6], b: tB ? [40, 6] : [6, 40], tA, tB });
        shapes.push({ a: tA ? [6, 40] : [40, 6], b: tB ? [2, 6] : [6, 2], tA, tB });
        // batched, with broadcasting
        shapes.push({ a: tA ? [3, 4, 2] : [3, 2, 4], b: tB ? [1, 5, 4] : [1, 4, 5], tA, tB });
      }
    }
    for (const [i, s] of shapes.entries()) {
      it(`a=${s.a} b=${s.b} transposeA=${s.tA} transposeB=${s.tB}`, async () => {
        const a = randn(size(s.a), 30 + i);
        const b = randn(size(s.b), 300 + i);
        await compareBackends("matMul", () => tf.matMul(tf.tensor(a, s.a), tf.tensor(b, s.b), s.tA, s.tB));
      });
    }
    it("fused matMul with bias and relu, transposed operands", async () => {
      const a = randn(7 * 5, 1);
      const b = randn(3 * 7, 2);
      const bias = randn(3, 3);
      for (const [tA, tB] of [
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        await compareBackends(`fused ${tA} ${tB}`, () =>
          tf.fused.matMul({
            a: tA ? tf.tensor2d(a, [7, 5]) : tf.tensor2d(a, [5, 7]),
            b: tB ? tf.tensor2d(b, [3, 7]) : tf.tensor2d(b, [7, 3]),
            transposeA: tA,
            transposeB: tB,
            bias: tf.tensor1d(bias),
            activation: "relu",
          }),
        );
      }
    });
  });

  describe("MaxPoolGrad matches cpu", () => {
    const pools: { x: [number, number, number, number]; f: number; s: number; pad: Pad }[] = [
      { x: [2, 8, 8, 3], f: 2, s: 2, pad: "valid" },
      { x: [3, 7, 9, 4], f: 2, s: 2, pad: "same" },
      { x: [2, 9, 7, 5], f: 3, s: 2, pad: "same" },
      { x: [1, 6, 5, 2], f: 3, s: 1, pad: "valid" },
    ];
    for (const [i, p] of pools.entries()) {
      it(`x=${p.x} pool ${p.f} stride ${p.s} ${p.pad}`, async () => {
        const x = randn(size(p.x), 600 + i);
        const outShape = tf.backend_util.computePool2DInfo(p.x, p.f, p.s, 1, p.pad).outShape;
        const r = randn(size(outShape), 700 + i);
        await compareBackends("maxPool grad", () =>
          tf.grad((xt: tf.Tensor) =>
            tf
              .maxPool(xt as tf.Tensor4D, p.f, p.s, p.pad)
              .mul(tf.tensor(r, outShape))
              .sum(),
          )(tf.tensor4d(x, p.x)),
        );
      });
    }
    it("ties go to the first maximum in the window, as on cpu", async () => {
      const r = rng(9);
      const x = Array.from({ length: 2 * 6 * 6 * 3 }, () => Math.floor(r() * 3));
      await compareBackends("maxPool ties", () =>
        tf.grad((xt: tf.Tensor) => tf.maxPool(xt as tf.Tensor4D, 3, 2, "same").sum())(tf.tensor4d(x, [2, 6, 6, 3])),
      );
    });
  });

  describe("Reverse matches cpu", () => {
    const shape: [number, number, number] = [3, 5, 10];
    for (const dims of [[1], [0], [2], [-1], [0, 2], [0, 1, 2], [1, 1]]) {
      it(`dims ${dims}`, async () => {
        const v = randn(size(shape), 800 + dims.length);
        await compareBackends(`reverse ${dims}`, () => tf.reverse(tf.tensor3d(v, shape), dims));
      });
    }
    it("int32, and a size-1 axis", async () => {
      await compareBackends("reverse int", () => tf.reverse(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], "int32"), 1));
      await compareBackends("reverse size-1", () => tf.reverse(tf.tensor2d([1, 2, 3], [1, 3]), 0));
    });
  });

  describe("Identity", () => {
    it("clones share data safely: values survive disposing either side", async () => {
      await tf.setBackend("wasm");
      const before = tf.memory().numTensors;
      const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
      const b = a.clone();
      const c = tf.clone(b);
      a.dispose();
      assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3, 4]);
      b.dispose();
      assert.deepEqual(Array.from(c.dataSync()), [1, 2, 3, 4]);
      assert.deepEqual(Array.from(tf.tidy(() => c.add(1).dataSync())), [2, 3, 4, 5]);
      c.dispose();
      assert.equal(tf.memory().numTensors, before);
      await compareBackends("clone int/bool", () => [
        tf.tensor1d([1, 2], "int32").clone(),
        tf.tensor1d([1, 0], "bool").clone().cast("float32"),
      ]);
    });
  });

  describe("Unpack matches cpu", () => {
    const shape = [3, 5, 4];
    for (const axis of [0, 1, 2, -1]) {
      it(`axis ${axis}`, async () => {
        const v = randn(size(shape), 40 + axis);
        await compareBackends(`unstack ${axis}`, () => tf.unstack(tf.tensor3d(v, shape as [number, number, number]), axis));
      });
    }
    it("long inner rows (contiguous copies), int32 and bool", async () => {
      const v = randn(2 * 3 * 20, 9);
      await compareBackends("unstack wide", () => tf.unstack(tf.tensor3d(v, [2, 3, 20]), 1));
      await compareBackends("unstack int", () => tf.unstack(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], "int32"), 1));
      await compareBackends("unstack bool", () =>
        tf.unstack(tf.tensor2d([1, 0, 1, 1, 0, 0], [3, 2], "bool"), 1).map((t) => t.cast("float32")),
      );
    });
  });

  describe("Cast", () => {
    it("to the same dtype shares the data safely; conversions match cpu", async () => {
      await tf.setBackend("wasm");
      const before = tf.memory().numTensors;
      const a = tf.tensor2d([1.5, -2, 3, 4], [2, 2]);
      const b = tf.cast(a, "float32");
      a.dispose();
      assert.deepEqual(Array.from(b.dataSync()), [1.5, -2, 3, 4]);
      b.dispose();
      assert.equal(tf.memory().numTensors, before);
      await compareBackends("cast", () => {
        const f = tf.tensor1d([1.7, -2.2, 0, 3, 256, -0.1, 1e-30]);
        const i = tf.tensor1d([1, -2, 0, 7, 256, -256, 0], "int32");
        const bo = tf.tensor1d([1, 0, 1, 0], "bool");
        return [
          f.cast("float32"),
          f.cast("int32").cast("float32"),
          i.cast("int32").cast("float32"),
          i.cast("float32"),
          bo.cast("bool").cast("float32"),
          bo.cast("int32").cast("float32"),
          f.cast("bool").cast("float32"),
          i.cast("bool").cast("float32"),
        ];
      });
    });
  });

  describe("SplitV matches cpu", () => {
    const shape: [number, number, number] = [3, 8, 20];
    const cases: { split: number | number[]; axis: number }[] = [
      { split: 4, axis: 2 },
      { split: [5, 10, 5], axis: 2 },
      { split: [3, -1], axis: -1 },
      { split: 2, axis: 1 },
      { split: [1, 7], axis: 1 },
      { split: 3, axis: 0 },
      { split: [19, 1], axis: 2 },
    ];
    for (const [i, c] of cases.entries()) {
      it(`split ${JSON.stringify(c.split)} axis ${c.axis}`, async () => {
        const v = randn(size(shape), 1000 + i);
        await compareBackends("split", () => tf.split(tf.tensor3d(v, shape), c.split, c.axis));
      });
    }
    it("int32 and bool, and an LSTM-sized gate split", async () => {
      await compareBackends("split int", () => tf.split(tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], "int32"), 2, 1));
      await compareBackends("split bool", () =>
        tf.split(tf.tensor2d([1, 0, 0, 1, 1, 1], [2, 3], "bool"), [1, 2], 1).map((t) => t.cast("float32")),
      );
      const z = randn(8 * 4 * 32, 1010);
      await compareBackends("gates", () => tf.split(tf.tensor2d(z, [8, 128]), 4, 1));
    });
  });

  describe("Tanh matches cpu", () => {
    it("random values, small values (series), large values, signed zeros, +-Infinity and NaN", async () => {
      const r = rng(1100);
      const v: number[] = [];
      for (let i = 0; i < 600; i++) v.push((r() - 0.5) * 12);
      for (let i = 0; i < 300; i++) v.push((r() - 0.5) * 0.3);
      for (let i = 0; i < 50; i++) v.push((r() - 0.5) * 1e-5);
      v.push(0, -0, 0.125, -0.125, 0.12499, 20, -20, 100, -100, Infinity, -Infinity, 1e-30, -1e-30);
      const want = await runOn("cpu", () => tf.tanh(tf.tensor1d(v)));
      const got = await runOn("wasm", () => tf.tanh(tf.tensor1d(v)));
      for (let i = 0; i < v.length; i++) {
        const w = want[0]!.values[i]!;
        const g = got[0]!.values[i]!;
        assert.ok(
          Math.abs(g - w) <= 3e-7 && Math.abs(g - w) <= 1e-6 * Math.abs(w) + 3e-7 * Math.min(1, Math.abs(w) * 8),
          `tanh(${v[i]}) = ${g}, want ${w}`,
        );
      }
      const nan = await runOn("wasm", () => tf.tanh(tf.fill([100], NaN)));
      assert.ok(nan[0]!.values.every((x) => Number.isNaN(x)));
      // the gradient (1 - y^2) * dy through the public op
      const x = randn(64 * 5, 1101);
      await compareBackends(
        "tanh grad",
        () =>
          tf.grad((t: tf.Tensor) =>
            tf
              .tanh(t)
              .mul(tf.tensor2d(x, [64, 5]))
              .sum(),
          )(tf.tensor2d(x, [64, 5])),
        1e-6,
      );
      await compareBackends("tanh tiny tensor (stock kernel)", () => tf.tanh(tf.tensor1d([0.5, -3])), 1e-6);
    });
  });

  describe("GreaterEqual / LessEqual / LogicalAnd / Select match cpu", () => {
    const a = randn(6 * 7, 1200);
    const b = randn(6 * 7, 1201);
    a[3] = b[3]!; // equality
    it("same shapes, scalar on either side, and broadcasts left to the stock kernels", async () => {
      await compareBackends("compare", () => {
        const ta = tf.tensor2d(a, [6, 7]);
        const tb = tf.tensor2d(b, [6, 7]);
        const row = tf.tensor1d(b.slice(0, 7));
        const outs = [
          tf.greaterEqual(ta, tb),
          tf.lessEqual(ta, tb),
          tf.greaterEqual(ta, 0),
          tf.lessEqual(ta, 0.5),
          tf.greaterEqual(tf.scalar(0.1), ta),
          tf.lessEqual(tf.scalar(0.1), ta),
          tf.greaterEqual(ta, row),
          tf.lessEqual(ta, row),
          tf.greaterEqual(tf.tensor1d([1, 2, 3], "int32"), tf.scalar(2, "int32")),
          tf.logicalAnd(tf.greaterEqual(ta, -0.5), tf.lessEqual(ta, 0.5)),
          tf.logicalAnd(tf.greaterEqual(ta, 0), tf.scalar(true, "bool")),
          tf.logicalAnd(tf.greaterEqual(ta, 0), tf.greaterEqual(row, 0)),
        ];
        return outs.map((t) => t.cast("float32"));
      });
    });
    it("select (tf.where): same shapes, a broadcast condition, and int32", async () => {
      await compareBackends("where", () => {
        const ta = tf.tensor2d(a, [6, 7]);
        const tb = tf.tensor2d(b, [6, 7]);
        return [
          tf.where(tf.greaterEqual(ta, tb), ta, tb),
          tf.where(tf.tensor2d([1, 0, 1, 1, 0, 0], [6, 1], "bool"), ta, tb),
          tf
            .where(tf.tensor1d([true, false, true], "bool"), tf.tensor1d([1, 2, 3], "int32"), tf.tensor1d([4, 5, 6], "int32"))
            .cast("float32"),
        ];
      });
    });
    it("the clipByValue gradient (what the LSTM hard sigmoid needs)", async () => {
      const x = randn(64 * 9, 1202).map((v) => v * 2);
      const dy = randn(64 * 9, 1203);
      await compareBackends(
        "clip grad",
        () =>
          tf.grad((t: tf.Tensor) =>
            tf
              .clipByValue(tf.add(0.5, tf.mul(0.2, t)), 0, 1)
              .mul(tf.tensor2d(dy, [64, 9]))
              .sum(),
          )(tf.tensor2d(x, [64, 9])),
        1e-6,
      );
    });
  });

  describe("ClipByValue gradient (one kernel on wasm)", () => {
    it("is registered, matches cpu for values inside, outside and on the bounds, and NaN", async () => {
      assert.ok(tf.getGradient("ClipByValue") != null);
      const r = rng(1250);
      const x = Array.from({ length: 200 }, () => (r() - 0.5) * 4);
      x.push(0, 1, -1e-9, 1 + 1e-6, 0.5);
      const dy = Array.from({ length: x.length }, () => r() - 0.5);
      await compareBackends(
        "clip grad bounds",
        () => tf.grad((t: tf.Tensor) => tf.clipByValue(t, 0, 1).mul(tf.tensor1d(dy)).sum())(tf.tensor1d(x)),
        1e-7,
      );
      const nan = await runOn("wasm", () => tf.grad((t: tf.Tensor) => tf.clipByValue(t, 0, 1).sum())(tf.tensor1d([NaN, 0.5])));
      assert.deepEqual(Array.from(nan[0]!.values), [0, 1]);
      // a broadcast dy cannot happen through the op; int32 x goes to the original gradient
      await compareBackends("clip grad int", () =>
        tf.grad((t: tf.Tensor) => tf.clipByValue(t.cast("int32"), 0, 2).cast("float32").sum())(tf.tensor1d([-1, 1, 3])),
      );
    });
  });

  describe("GatherV2 matches cpu", () => {
    it("axis 0 (embedding rows), 2-D ids, int32 values, and other axes / batch dims (stock)", async () => {
      const table = randn(12 * 5, 1400);
      const ids = [3, 0, 11, 3, 7, 1, 1, 10];
      await compareBackends("gather", () => {
        const t = tf.tensor2d(table, [12, 5]);
        return [
          tf.gather(t, tf.tensor1d(ids, "int32")),
          tf.gather(t, tf.tensor2d(ids, [2, 4], "int32")),
          tf.gather(tf.tensor3d(randn(6 * 4 * 20, 1401), [6, 4, 20]), tf.tensor1d([5, 0, 2], "int32")),
          tf.gather(tf.tensor1d([5, 6, 7], "int32"), tf.tensor1d([2, 2, 0], "int32")).cast("float32"),
          tf.gather(t, tf.tensor1d([4, 0, 2], "int32"), 1),
          tf.gather(tf.tensor3d(randn(2 * 4 * 3, 1402), [2, 4, 3]), tf.tensor2d([1, 0, 3, 3], [2, 2], "int32"), 1, 1),
        ];
      });
    });
    it("rejects out-of-range ids", async () => {
      await tf.setBackend("wasm");
      const before = tf.memory().numTensors;
      assert.throws(() => tf.tidy(() => tf.gather(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor1d([0, 2], "int32"))), /not in \[0, 1\]/);
      assert.equal(tf.memory().numTensors, before);
    });
    it("the embedding gradient still matches (gather + UnsortedSegmentSum)", async () => {
      const table = randn(30 * 8, 1403);
      const ids = [
        [3, 4, 0],
        [29, 3, 3],
      ];
      await compareBackends("embedding grad", () =>
        tf.grad((t: tf.Tensor) =>
          tf
            .gather(t, tf.tensor2d(ids.flat(), [2, 3], "int32"))
            .square()
            .sum(),
        )(tf.tensor2d(table, [30, 8])),
      );
    });
  });

  describe("Transpose", () => {
    it("layout-preserving permutations share the data; real ones match cpu", async () => {
      const v = randn(2 * 1 * 3 * 4, 1500);
      await compareBackends("transpose", () => {
        const t = tf.tensor4d(v, [2, 1, 3, 4]);
        return [
          tf.transpose(t, [0, 1, 2, 3]),
          tf.transpose(t, [1, 0, 2, 3]),
          tf.transpose(t, [0, 2, 1, 3]),
          tf.transpose(t, [3, 2, 1, 0]),
          tf.transpose(t, [0, 3, 1, 2]),
          tf.transpose(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], "int32"), [0, 1]).cast("float32"),
        ];
      });
      await tf.setBackend("wasm");
      const before = tf.memory().numTensors;
      const a = tf.tensor3d(v, [2, 3, 4]);
      const b = tf.transpose(a, [0, 1, 2]);
      a.dispose();
      assert.deepEqual(Array.from(b.dataSync()), Array.from(v));
      b.dispose();
      assert.equal(tf.memory().numTensors, before);
    });
  });

  describe("BatchMatMul with a reused transposeB operand (RNN kernels)", () => {
    it("caches B^T from its second use, matches cpu, and frees the copy with B", async () => {
      const av = randn(4 * 6, 1300);
      const bv = randn(5 * 6, 1301);
      const want = await runOn("cpu", () =>
        [0, 1, 2].map((k) => tf.matMul(tf.tensor2d(av, [4, 6]).add(k), tf.tensor2d(bv, [5, 6]), false, true)),
      );
      await tf.setBackend("wasm");
      const backend = tf.backend() as unknown as WasmBackendLike;
      const before = tf.memory().numTensors;
      const b = tf.tensor2d(bv, [5, 6]);
      const bInfo = { dataId: b.dataId, shape: b.shape, dtype: b.dtype };
      const got: Float32Array[] = [];
      for (let k = 0; k < 3; k++) {
        got.push(tf.tidy(() => tf.matMul(tf.tensor2d(av, [4, 6]).add(k), b, false, true).dataSync() as Float32Array));
        assert.equal(cachedTransposeCount(backend, bInfo), k === 0 ? 0 : 1, `cached after use ${k + 1}`);
      }
      for (let k = 0; k < 3; k++) assertClose(got[k]!, want[k]!.values, 2e-5, `use ${k + 1}`);
      b.dispose();
      assert.equal(cachedTransposeCount(backend, bInfo), 0);
      assert.equal(tf.memory().numTensors, before);
    });
  });

  describe("numerical gradients on wasm (central differences)", () => {
    const eps = 1e-2;

    /** d/dv of f at v, by finite differences, with f's sum taken in float64. */
    function numericGrad(f: (v: tf.Tensor) => tf.Tensor, v: Float32Array, shape: number[]): Float64Array {
      const g = new Float64Array(v.length);
      const evalAt = (vals: Float32Array) =>
        tf.tidy(() => {
          const out = f(tf.tensor(vals, shape)).dataSync();
          let s = 0;
          for (let i = 0; i < out.length; i++) s += out[i]!;
          return s;
        });
      for (let i = 0; i < v.length; i++) {
        const p = Float32Array.from(v);
        p[i]! += eps;
        const m = Float32Array.from(v);
        m[i]! -= eps;
        g[i] = (evalAt(p) - evalAt(m)) / (2 * eps);
      }
      return g;
    }

    function check(analytic: ArrayLike<number>, numeric: ArrayLike<number>, what: string) {
      for (let i = 0; i < numeric.length; i++) {
        const d = Math.abs(analytic[i]! - numeric[i]!);
        assert.ok(d <= 5e-3 * (1 + Math.abs(numeric[i]!)), `${what}[${i}]: analytic ${analytic[i]} numeric ${numeric[i]}`);
      }
    }

    const cases: ConvCase[] = [
      { x: [2, 5, 6, 2], f: [3, 3, 2, 3], s: [1, 1], pad: "same" },
      { x: [2, 7, 6, 2], f: [3, 2, 2, 3], s: [2, 2], pad: "valid" },
      { x: [1, 6, 6, 3], f: [3, 3, 3, 2], s: [2, 2], pad: "same" },
    ];
    for (const [i, c] of cases.entries()) {
      it(`conv2d filter and input gradients, ${caseName(c)}`, async () => {
        await tf.setBackend("wasm");
        const x = randn(size(c.x), 50 + i).map((v) => v * 0.3);
        const w = randn(size(c.f), 60 + i).map((v) => v * 0.3);
        const r = randn(size(convOutShape(c)), 70 + i);
        const seen = new Set<string>();
        const fW = (wt: tf.Tensor) =>
          tf
            .conv2d(tf.tensor4d(x, c.x), wt as tf.Tensor4D, c.s, c.pad)
            .tanh()
            .mul(tf.tensor(r, convOutShape(c)));
        const fX = (xt: tf.Tensor) =>
          tf
            .conv2d(xt as tf.Tensor4D, tf.tensor4d(w, c.f), c.s, c.pad)
            .tanh()
            .mul(tf.tensor(r, convOutShape(c)));
        const prof = await tf.profile(() => {
          const gw = tf.grad((wt: tf.Tensor) => fW(wt).sum())(tf.tensor4d(w, c.f));
          const gx = tf.grad((xt: tf.Tensor) => fX(xt).sum())(tf.tensor4d(x, c.x));
          check(gw.dataSync(), numericGrad(fW, w, c.f), "dL/dw");
          check(gx.dataSync(), numericGrad(fX, x, c.x), "dL/dx");
          return [gw, gx];
        });
        for (const k of prof.kernels) seen.add(k.name);
        assert.ok(seen.has("Conv2DBackpropFilter") && seen.has("Conv2DBackpropInput"), `kernels used: ${[...seen]}`);
      });
    }

    it("embedding (gather) gradient through UnsortedSegmentSum", async () => {
      await tf.setBackend("wasm");
      const table = randn(7 * 3, 80).map((v) => v * 0.5);
      const idx = [
        [1, 4, 4, 0],
        [6, 1, 2, 4],
      ];
      const r = randn(2 * 4 * 3, 81);
      const f = (t: tf.Tensor) =>
        tf
          .gather(t, tf.tensor2d(idx, [2, 4], "int32"))
          .tanh()
          .mul(tf.tensor3d(r, [2, 4, 3]));
      const prof = await tf.profile(() => {
        const g = tf.grad((t: tf.Tensor) => f(t).sum())(tf.tensor2d(table, [7, 3]));
        check(g.dataSync(), numericGrad(f, table, [7, 3]), "dL/dE");
        return g;
      });
      assert.ok(prof.kernels.some((k) => k.name === "UnsortedSegmentSum"));
    });
  });

  describe("one training step of tiny models: wasm vs cpu", () => {
    function tinyCnn(): tf.Sequential {
      return tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 4, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }),
          tf.layers.dropout({ rate: 0.2 }),
          tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: "same", activation: "relu" }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.conv2d({ filters: 8, kernelSize: 2, padding: "valid", activation: "relu" }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 8, activation: "relu" }),
          tf.layers.dropout({ rate: 0.5 }),
          tf.layers.dense({ units: 3, activation: "sigmoid" }),
        ],
      });
    }
    function tinyBiLstm(): tf.Sequential {
      return tf.sequential({
        layers: [
          tf.layers.embedding({ inputDim: 30, outputDim: 6, maskZero: true, inputLength: 7 }),
          tf.layers.bidirectional({
            layer: tf.layers.lstm({ units: 5, dropout: 0.5, recurrentDropout: 0.2, returnSequences: true }) as tf.RNN,
          }),
          tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 4, dropout: 0.5, recurrentDropout: 0.2 }) as tf.RNN }),
          tf.layers.dense({ units: 6, activation: "relu" }),
          tf.layers.dropout({ rate: 0.8 }),
          tf.layers.dense({ units: 3, activation: "sigmoid" }),
        ],
      });
    }

    /** Loss, gradients (in trainable-weight order) and the loss of a following fit step. */
    async function trainStep(backend: "cpu" | "wasm", build: () => tf.Sequential, x: () => tf.Tensor, y: () => tf.Tensor) {
      await tf.setBackend(backend);
      return withSeededRandom(1234, async () => {
        const model = build();
        const xs = x();
        const ys = y();
        const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(() => {
          const p = model.apply(xs, { training: true }) as tf.Tensor;
          return tf.metrics.binaryCrossentropy(ys, p).mean() as tf.Scalar;
        }, vars);
        const loss = value.dataSync()[0]!;
        const g = vars.map((v) => Float32Array.from(grads[v.name]!.dataSync()));
        model.compile({ optimizer: tf.train.adam(1e-3), loss: "binaryCrossentropy" });
        const h = await model.fit(xs, ys, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
        const fitLoss = h.history["loss"]!.map(Number);
        const pred = Float32Array.from((model.predict(xs) as tf.Tensor).dataSync());
        tf.dispose([value, ...Object.values(grads), xs, ys]);
        model.dispose();
        return { loss, g, fitLoss, pred, names: vars.map((v) => v.name) };
      });
    }

    async function compareTraining(what: string, build: () => tf.Sequential, x: () => tf.Tensor, y: () => tf.Tensor) {
      const want = await trainStep("cpu", build, x, y);
      const got = await trainStep("wasm", build, x, y);
      assert.ok(Number.isFinite(got.loss));
      assert.ok(Math.abs(got.loss - want.loss) <= 1e-5 * (1 + Math.abs(want.loss)), `${what} loss ${got.loss} vs ${want.loss}`);
      assert.equal(got.g.length, want.g.length);
      for (let i = 0; i < want.g.length; i++) assertClose(got.g[i]!, want.g[i]!, 1e-4, `${what} grad ${want.names[i]}`);
      for (let i = 0; i < want.fitLoss.length; i++) {
        assert.ok(
          Math.abs(got.fitLoss[i]! - want.fitLoss[i]!) <= 1e-4 * (1 + Math.abs(want.fitLoss[i]!)),
          `${what} fit loss ${got.fitLoss} vs ${want.fitLoss}`,
        );
      }
      assertClose(got.pred, want.pred, 1e-4, `${what} predictions after fit`);
    }

    it("tiny CNN (conv stride 2 + same/valid, dropout, maxpool, dense, sigmoid + BCE, Adam)", async () => {
      const xv = randn(8 * 12 * 12 * 3, 90);
      const r = rng(91);
      const yv = Array.from({ length: 8 * 3 }, () => (r() < 0.5 ? 0 : 1));
      await compareTraining(
        "cnn",
        tinyCnn,
        () => tf.tensor4d(xv, [8, 12, 12, 3]),
        () => tf.tensor2d(yv, [8, 3]),
      );
    });

    it("tiny masked BiLSTM (Embedding maskZero, dropout + recurrent dropout)", async () => {
      const seqs = [
        [3, 4, 5, 0, 0, 0, 0],
        [1, 2, 3, 4, 5, 6, 7],
        [7, 0, 0, 0, 0, 0, 0],
        [29, 28, 1, 1, 0, 0, 0],
        [5, 5, 5, 5, 5, 0, 0],
        [9, 8, 7, 6, 5, 4, 0],
        [2, 0, 0, 0, 0, 0, 0],
        [11, 12, 13, 0, 0, 0, 0],
      ];
      const yv = [
        [1, 0, 1],
        [0, 1, 0],
        [1, 1, 0],
        [0, 0, 1],
        [1, 0, 0],
        [0, 1, 1],
        [1, 1, 1],
        [0, 0, 0],
      ];
      await compareTraining(
        "bilstm",
        tinyBiLstm,
        () => tf.tensor2d(seqs, [8, 7], "float32"),
        () => tf.tensor2d(yv, [8, 3]),
      );
    });
  });
});
