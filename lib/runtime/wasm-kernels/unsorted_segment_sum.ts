/**
 * UnsortedSegmentSum for the wasm backend.
 *
 * Why: tfjs-backend-wasm 4.22 does not register it, and it is the gradient of
 * GatherV2, i.e. of every Embedding layer (the BiLSTM cannot train without it).
 * The cpu backend's version loops over all `numSegments` (10,000 vocabulary rows),
 * building a mask per row; this is a single scatter-add pass over the rows of `x`
 * straight on the wasm heap: O(x.size) instead of O(numSegments * x.size).
 *
 * Semantics (as TF): out[s, ...] = sum over i with segmentIds[i] == s of x[i, ...];
 * ids outside [0, numSegments) are dropped; segmentIds may have any rank <= x's.
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs";
import { mark, sizeOf, view, type WasmKernelArgs } from "./util";

export function unsortedSegmentSum(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs["x"]!;
  const segmentIds = inputs["segmentIds"]!;
  const numSegments = attrs["numSegments"] as number;
  const idRank = segmentIds.shape.length;
  const rowShape = x.shape.slice(idRank);
  const inner = sizeOf(rowShape);
  const rows = sizeOf(segmentIds.shape);
  if (sizeOf(x.shape.slice(0, idRank)) !== rows) {
    throw new Error(`UnsortedSegmentSum: segmentIds shape ${segmentIds.shape} is not a prefix of x shape ${x.shape}`);
  }
  const out = backend.makeOutput([numSegments, ...rowShape], x.dtype);
  // Views only after the allocation above (it may grow the heap).
  const o = view(backend, out);
  const xs = view(backend, x);
  const ids = view(backend, segmentIds);
  o.fill(0);
  for (let r = 0; r < rows; r++) {
    const s = ids[r]!;
    if (s < 0 || s >= numSegments) continue;
    const src = r * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j]!;
  }
  return out;
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: "UnsortedSegmentSum",
  backendName: "wasm",
  kernelFunc: mark(unsortedSegmentSum) as unknown as KernelConfig["kernelFunc"],
};
