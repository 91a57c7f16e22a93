/**
 * BatchMatMul with transposeA / transposeB for the wasm backend.
 *
 * Why: stock wasm sends every matmul that has a transpose flag (or a batch > 1) to a
 * naive triple loop; only plain [1,M,K]x[1,K,N] reaches XNNPACK's fully-connected
 * operator. Every Dense/LSTM weight gradient is x^T.dy (transposeA: 1128 ms vs
 * 42 ms measured) and every input gradient is dy.W^T (transposeB, ~2x slower).
 * Here the flagged operand is transposed first (stock Transpose kernel), choosing
 * the cheaper of the algebraically equal forms:
 *   A^T.B          -> transpose(A) . B
 *   A.B^T          -> transpose(A) first when that is smaller: (B . A^T)^T,
 *                     else A . transpose(B)
 *   A^T.B^T        -> (B . A)^T
 * so only small tensors are copied, and the big weight matrix is not transposed per call.
 * A.B^T where the same B comes back (an RNN's kernels: dz.W^T at every time step) uses
 * a cached transpose of B from its second use on: B^T is made once per B, and the
 * stock kernel's cache of XNNPACK's packed weights (by tensor id) then packs it once,
 * instead of transposing dz and the product and repacking at every step (~25% of
 * these matmuls' time). The cached copy is freed with B (backend.disposeData hook).
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs";
import { mark, release, sizeOf, transposeLast2, wasmKernel, type WasmBackendLike, type WasmKernelArgs } from "./util";

type Mm = (a: TensorInfo, b: TensorInfo) => TensorInfo;

interface TransposeCacheEntry {
  uses: number;
  transposed?: TensorInfo;
}

/** Per B data: how often it was a transposeB operand, and its cached transpose. */
const transposedB = new WeakMap<object, TransposeCacheEntry>();
const hookedBackends = new WeakSet<object>();

/** Frees a cached transpose when the data it was made from is freed. */
function hookDispose(backend: WasmBackendLike): void {
  if (hookedBackends.has(backend)) return;
  hookedBackends.add(backend);
  const original = backend.disposeData.bind(backend);
  backend.disposeData = (dataId: object, force?: boolean): boolean => {
    const result = original(dataId, force);
    const entry = transposedB.get(dataId);
    if (entry !== undefined && !backend.dataIdMap.has(dataId)) {
      transposedB.delete(dataId);
      if (entry.transposed !== undefined) original(entry.transposed.dataId, true);
    }
    return result;
  };
}

/** Number of B^T copies currently cached (tests). */
export function cachedTransposeCount(backend: WasmBackendLike, ...bs: TensorInfo[]): number {
  return bs.filter((b) => transposedB.get(b.dataId)?.transposed !== undefined && backend.dataIdMap.has(b.dataId)).length;
}

/** B^T from the cache from B's second use as a transposeB operand on, else undefined. */
function cachedTranspose(backend: WasmBackendLike, b: TensorInfo): TensorInfo | undefined {
  if (b.dtype !== "float32") return undefined;
  hookDispose(backend);
  let entry = transposedB.get(b.dataId);
  if (entry === undefined) {
    entry = { uses: 0 };
    transposedB.set(b.dataId, entry);
  }
  entry.uses++;
  if (entry.transposed === undefined && entry.uses >= 2) entry.transposed = transposeLast2(backend, b);
  return entry.transposed;
}

/**
 * a·b with the given transposes, using `mm` (a product without transposes, assumed
 * fast for batch 1) and transposes of the cheaper operands.
 */
export function matMulViaTransposes(
  backend: WasmBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  mm: Mm,
): TensorInfo {
  if (!transposeA && !transposeB) return mm(a, b);
  const ra = a.shape.length;
  const rb = b.shape.length;
  const batch1 = sizeOf(a.shape.slice(0, -2)) === 1 && sizeOf(b.shape.slice(0, -2)) === 1;
  if (transposeA && transposeB && batch1) {
    // A^T B^T = (B A)^T
    const ba = mm(b, a);
    const out = transposeLast2(backend, ba);
    release(backend, ba);
    return out;
  }
  if (transposeB && !transposeA && batch1) {
    const bT = cachedTranspose(backend, b);
    if (bT !== undefined) return mm(a, bT);
    const m = a.shape[ra - 2]!;
    const k = a.shape[ra - 1]!;
    const n = b.shape[rb - 2]!;
    // cost of transposing B (and repacking it) vs transposing A and the result
    if (2 * m * k + m * n < 2 * n * k) {
      const at = transposeLast2(backend, a);
      const bat = mm(b, at);
      const out = transposeLast2(backend, bat);
      release(backend, at, bat);
      return out;
    }
  }
  const a2 = transposeA ? transposeLast2(backend, a) : a;
  const b2 = transposeB ? transposeLast2(backend, b) : b;
  const out = mm(a2, b2);
  if (a2 !== a) release(backend, a2);
  if (b2 !== b) release(backend, b2);
  return out;
}

export function batchMatMul(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const orig = wasmKernel("BatchMatMul");
  const mm: Mm = (a, b) =>
    orig({ inputs: { a, b }, backend: backend as never, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
  return matMulViaTransposes(backend, inputs["a"]!, inputs["b"]!, attrs["transposeA"] === true, attrs["transposeB"] === true, mm);
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: "BatchMatMul",
  backendName: "wasm",
  kernelFunc: mark(batchMatMul) as unknown as KernelConfig["kernelFunc"],
};
