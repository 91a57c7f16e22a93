/**
 * Identity (tf.clone and many internal clones) for the wasm backend.
 *
 * Why: the stock wasm kernel allocates and copies the whole tensor. The gradient tape,
 * tfjs-layers' RNN loop and the optimizers clone constantly (~7,800 Identity calls per
 * BiLSTM training step, ~5% of the step). Tensor data is immutable, so, like the cpu
 * backend and wasm's own Reshape, the output shares the input's data (refcounted).
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs";
import { mark, shareData, wasmKernel, type WasmKernelArgs } from "./util";

export function identity(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const x = inputs["x"]!;
  if (x.dtype === "string") return wasmKernel("Identity")(args as never) as TensorInfo;
  return shareData(backend, x);
}

export const identityConfig: KernelConfig = {
  kernelName: "Identity",
  backendName: "wasm",
  kernelFunc: mark(identity) as unknown as KernelConfig["kernelFunc"],
};
