/**
 * Transpose for the wasm backend: permutations that do not move any data share it.
 *
 * Why: the gradient of the Embedding's gather transposes its [10000, 256] result with the identity
 * permutation (tfjs-core's gather gradient for axis 0), which the stock kernel answers with a full copy
 * (~15 ms per BiLSTM training step). When the permutation keeps the order of every axis longer than 1,
 * the memory layout is unchanged: the output shares the input's data (refcounted, like Identity and
 * Reshape). Real transposes go to the stock kernel.
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs";
import { mark, shareData, wasmKernel, type WasmKernelArgs } from "./util";

/** Whether `perm` applied to `shape` leaves the row-major layout unchanged. */
export function isLayoutPreserving(shape: readonly number[], perm: readonly number[]): boolean {
  let last = -1;
  for (const axis of perm) {
    if (shape[axis]! === 1) continue;
    if (axis < last) return false;
    last = axis;
  }
  return true;
}

export function transpose(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs["x"]!;
  const perm = attrs["perm"] as number[];
  if (x.dtype === "string" || perm.length !== x.shape.length || !isLayoutPreserving(x.shape, perm)) {
    return wasmKernel("Transpose")(args as never) as TensorInfo;
  }
  return shareData(
    backend,
    x,
    perm.map((p) => x.shape[p]!),
  );
}

export const transposeConfig: KernelConfig = {
  kernelName: "Transpose",
  backendName: "wasm",
  kernelFunc: mark(transpose) as unknown as KernelConfig["kernelFunc"],
};
