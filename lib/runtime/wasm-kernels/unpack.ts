/**
 * Unpack (tf.unstack) for the wasm backend.
 *
 * Why: the stock kernel issues one Slice per output; on a non-zero axis each slice
 * is a strided gather, and tfjs-layers unstacks the [batch, time, features] input
 * of every RNN layer along axis 1 at every step (and Stack/Unpack again in the
 * gradient). Here every output is filled by copying contiguous runs of the input
 * (`inner` elements per (outer, i) pair), i.e. one pass over the input in total.
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs";
import { mark, sizeOf, view, type WasmKernelArgs } from "./util";

export function unpack(args: WasmKernelArgs): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const value = inputs["value"]!;
  const rank = value.shape.length;
  let axis = attrs["axis"] as number;
  if (axis < 0) axis += rank;
  const n = value.shape[axis]!;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const outer = sizeOf(value.shape.slice(0, axis));
  const inner = sizeOf(value.shape.slice(axis + 1));
  const outs: TensorInfo[] = [];
  for (let i = 0; i < n; i++) outs.push(backend.makeOutput(outShape, value.dtype));
  // Views only after all allocations.
  const src = view(backend, value);
  for (let i = 0; i < n; i++) {
    const dst = view(backend, outs[i]!);
    if (inner >= 8) {
      for (let o = 0; o < outer; o++) {
        const s = (o * n + i) * inner;
        dst.set(src.subarray(s, s + inner), o * inner);
      }
    } else {
      for (let o = 0; o < outer; o++) {
        const s = (o * n + i) * inner;
        const d = o * inner;
        for (let j = 0; j < inner; j++) dst[d + j] = src[s + j]!;
      }
    }
  }
  return outs;
}

export const unpackConfig: KernelConfig = {
  kernelName: "Unpack",
  backendName: "wasm",
  kernelFunc: mark(unpack) as unknown as KernelConfig["kernelFunc"],
};
