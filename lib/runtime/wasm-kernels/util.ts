/**
 * Shared helpers for the wasm training kernels in this folder.
 *
 * All kernels here work directly on the wasm heap of `@tensorflow/tfjs-backend-wasm`:
 * inputs are read through `backend.typedArrayFromHeap`, outputs are allocated with
 * `backend.makeOutput`, and the backend's own fast (XNNPACK) kernels are reused by
 * calling their registered kernelFuncs. Two rules matter when doing so:
 *  - any allocation (makeOutput, or calling another kernel) may grow the heap and
 *    detach previously created typed-array views, so views are always re-created
 *    right before use (`view(...)`), never kept across an allocation;
 *  - intermediate TensorInfos created by calling kernelFuncs directly are not tracked
 *    by the engine and must be released with `backend.disposeData` (`release(...)`).
 */
import * as tf from "@tensorflow/tfjs";
import type { DataType, KernelFunc, TensorInfo } from "@tensorflow/tfjs";

export type TypedArray = Float32Array | Int32Array | Uint8Array;

/** The parts of tfjs-backend-wasm's BackendWasm that these kernels use. */
export interface WasmBackendLike {
  dataIdMap: {
    get(dataId: object): { id: number; memoryOffset: number; shape: number[]; dtype: DataType } | undefined;
    /** Whether the data is (still) on this backend; `get` would try to move missing data in. */
    has(dataId: object): boolean;
  };
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): TypedArray;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

/** Signature of the kernelFunc argument, typed for the wasm backend. */
export interface WasmKernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: WasmBackendLike;
  attrs: Record<string, unknown>;
}

/** Fresh typed-array view of a tensor on the wasm heap (do not keep across allocations). */
export function view(backend: WasmBackendLike, t: TensorInfo): TypedArray {
  return backend.typedArrayFromHeap(t);
}

export function f32(backend: WasmBackendLike, t: TensorInfo): Float32Array {
  const v = backend.typedArrayFromHeap(t);
  if (!(v instanceof Float32Array)) throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  return v;
}

/** Release intermediates created by calling kernelFuncs directly. */
export function release(backend: WasmBackendLike, ...ts: (TensorInfo | null | undefined)[]): void {
  for (const t of ts) if (t != null) backend.disposeData(t.dataId);
}

/**
 * A new tensor sharing x's data (reference counted, as the cpu backend's Identity does): no copy when a
 * kernel's output is its input unchanged, possibly with another shape.
 */
export function shareData(backend: WasmBackendLike, x: TensorInfo, shape: number[] = x.shape.slice()): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * The wasm kernelFuncs that were registered before ours replaced them (BatchMatMul,
 * _FusedMatMul, Conv2DBackpropInput, Unpack). Filled by registerWasmTrainingKernels.
 */
export const originalKernels = new Map<string, KernelFunc>();

/** kernelFunc of a stock wasm kernel (the original one when we replaced it). */
export function wasmKernel(name: string): KernelFunc {
  const orig = originalKernels.get(name);
  if (orig != null) return orig;
  const cfg = tf.getKernel(name, "wasm");
  if (cfg == null) throw new Error(`wasm kernel ${name} is not registered`);
  return cfg.kernelFunc;
}

/** Calls a stock wasm kernel that returns a single tensor. */
export function callKernel(
  name: string,
  backend: WasmBackendLike,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown> = {},
): TensorInfo {
  const out = wasmKernel(name)({ inputs, backend: backend as unknown as tf.KernelBackend, attrs: attrs as tf.NamedAttrMap });
  if (Array.isArray(out)) throw new Error(`${name} returned several tensors`);
  return out;
}

/** Stock wasm Transpose. */
export function transpose(backend: WasmBackendLike, x: TensorInfo, perm: number[]): TensorInfo {
  return callKernel("Transpose", backend, { x }, { perm });
}

/** Swap the last two axes. */
export function transposeLast2(backend: WasmBackendLike, x: TensorInfo): TensorInfo {
  const r = x.shape.length;
  const perm = x.shape.map((_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return transpose(backend, x, perm);
}

/**
 * Stock wasm BatchMatMul without transposes. With batch 1 on both sides it is
 * XNNPACK's fully-connected operator (fast); anything else is a naive loop.
 */
export function matMul(backend: WasmBackendLike, a: TensorInfo, b: TensorInfo): TensorInfo {
  return callKernel("BatchMatMul", backend, { a, b }, { transposeA: false, transposeB: false });
}

/** Marks kernelFuncs created by this module (used for idempotent registration). */
export const OURS: unique symbol = Symbol.for("imdb-workbook.wasm-training-kernel");
export function mark<T extends object>(f: T): T {
  (f as Record<symbol, unknown>)[OURS] = true;
  return f;
}
export function isOurs(f: unknown): boolean {
  return typeof f === "function" && (f as unknown as Record<symbol, unknown>)[OURS] === true;
}

/**
 * A Conv2D's geometry (NHWC, dilation 1) from its gradient kernel's attrs (strides, pad, dimRoundingMode), as tfjs
 * computes it: both gradients of Conv2D need the same sizes.
 */
export function conv2DGeometry(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: Record<string, unknown>,
) {
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs["strides"] as [number, number] | number,
    1,
    attrs["pad"] as "same" | "valid",
    attrs["dimRoundingMode"] as "floor" | "round" | "ceil" | undefined,
    false,
    "channelsLast",
  );
  return {
    N: info.batchSize,
    H: info.inHeight,
    W: info.inWidth,
    Ci: info.inChannels,
    OH: info.outHeight,
    OW: info.outWidth,
    Co: info.outChannels,
    FH: info.filterHeight,
    FW: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}
