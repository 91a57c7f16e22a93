/**
 * Reverse (tf.reverse) for the wasm backend.
 *
 * Why: every backwards-running LSTM (each Bidirectional layer) reverses its
 * [batch, time, features] input and output along the time axis, forward and in the
 * gradient; the stock wasm kernel took ~13 ms per [64, 26, 256] tensor (~7% of a
 * BiLSTM training step). Reversing one axis is a copy of contiguous `inner`-sized
 * runs; several axes are reversed one after the other.
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs";
import { mark, release, sizeOf, view, type WasmBackendLike, type WasmKernelArgs } from "./util";

function reverseAxis(backend: WasmBackendLike, x: TensorInfo, axis: number): TensorInfo {
  const out = backend.makeOutput(x.shape, x.dtype);
  const src = view(backend, x);
  const dst = view(backend, out);
  const n = x.shape[axis]!;
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let i = 0; i < n; i++) {
      const s = base + i * inner;
      const d = base + (n - 1 - i) * inner;
      if (inner >= 8) {
        dst.set(src.subarray(s, s + inner), d);
      } else {
        for (let j = 0; j < inner; j++) dst[d + j] = src[s + j]!;
      }
    }
  }
  return out;
}

export function reverse(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs["x"]!;
  const rank = x.shape.length;
  const dimsAttr = attrs["dims"] as number | number[];
  // A repeated axis is reversed twice (as on the cpu backend).
  const dims = (Array.isArray(dimsAttr) ? dimsAttr : [dimsAttr]).map((d) => (d < 0 ? d + rank : d)).filter((d) => x.shape[d]! > 1);
  if (dims.length === 0) {
    const out = backend.makeOutput(x.shape, x.dtype);
    view(backend, out).set(view(backend, x));
    return out;
  }
  let cur = x;
  for (const d of dims) {
    const next = reverseAxis(backend, cur, d);
    if (cur !== x) release(backend, cur);
    cur = next;
  }
  return cur;
}

export const reverseConfig: KernelConfig = {
  kernelName: "Reverse",
  backendName: "wasm",
  kernelFunc: mark(reverse) as unknown as KernelConfig["kernelFunc"],
};
