/**
 * Cast for the wasm backend.
 *
 * Why: the gradient of every Multiply casts both inputs to float32 (tfjs-core's multiplyGradConfig),
 * and they already are float32: ~3,400 Cast calls per BiLSTM training step, each of which the stock
 * kernel answers with a fresh allocation and a copy. A cast to the tensor's own dtype now shares the
 * data, like our Identity (a new reference to the same buffer: tensors on wasm are immutable).
 * A cast to bool is x != 0 (the stock kernel stores x modulo 256: -2.2 became 254, 256 became
 * false); other conversions go to the stock kernel (truncation toward zero, as on cpu).
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs";
import { mark, shareData, sizeOf, view, wasmKernel, type WasmKernelArgs } from "./util";

export function cast(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs["x"]!;
  const dtype = attrs["dtype"];
  if (dtype === "bool" && (x.dtype === "float32" || x.dtype === "int32")) {
    const out = backend.makeOutput(x.shape, "bool");
    const src = view(backend, x);
    const dst = view(backend, out);
    const n = sizeOf(x.shape);
    for (let i = 0; i < n; i++) dst[i] = src[i] !== 0 ? 1 : 0;
    return out;
  }
  if (dtype !== x.dtype || x.dtype === "string" || x.dtype === "complex64") {
    return wasmKernel("Cast")(args as never) as TensorInfo;
  }
  return shareData(backend, x);
}

export const castConfig: KernelConfig = {
  kernelName: "Cast",
  backendName: "wasm",
  kernelFunc: mark(cast) as unknown as KernelConfig["kernelFunc"],
};
