/**
 * Tanh for the wasm backend.
 *
 * Why: the stock kernel is a scalar std::tanh loop (~11 ns per element: ~190 us for a [64, 256]
 * tensor); every LSTM cell takes two tanh per time step (~400 per BiLSTM training step, ~390 per
 * prediction batch). Here tanh(x) = 2 * sigmoid(2x) - 1 with the stock (XNNPACK, vectorized) Sigmoid,
 * and, where that form loses relative precision (|x| < 0.125, where 2 * sigmoid - 1 cancels), the odd
 * Taylor series x - x^3/3 + 2x^5/15 - 17x^7/315 (error < 2e-10 there). Worst case ~2.5e-7 absolute
 * (a couple of float32 ulps of values near 1); +-1 and NaN come out as from Math.tanh.
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs";
import { callKernel, f32, mark, release, sizeOf, wasmKernel, type WasmKernelArgs } from "./util";

const C3 = -1 / 3;
const C5 = 2 / 15;
const C7 = -17 / 315;

export function tanh(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const x = inputs["x"]!;
  const n = sizeOf(x.shape);
  if (x.dtype !== "float32" || n < 64) return wasmKernel("Tanh")(args as never) as TensorInfo;
  const twice = backend.makeOutput(x.shape, "float32");
  {
    const xs = f32(backend, x);
    const t = f32(backend, twice);
    for (let i = 0; i < n; i++) t[i] = 2 * xs[i]!;
  }
  const s = callKernel("Sigmoid", backend, { x: twice });
  release(backend, twice);
  // s is a fresh tensor of ours: overwrite it in place with the result.
  const xs = f32(backend, x);
  const out = f32(backend, s);
  for (let i = 0; i < n; i++) out[i] = tanhFromSigmoid(xs[i]!, out[i]!);
  return s;
}

/**
 * tanh(x) from s = sigmoid(2x): 2s - 1, or for |x| < 0.125 (where 2s - 1 cancels) the odd Taylor series
 * (error < 2e-10 there).
 */
export function tanhFromSigmoid(x: number, s: number): number {
  if (x < 0.125 && x > -0.125) {
    const x2 = x * x;
    return x * (1 + x2 * (C3 + x2 * (C5 + x2 * C7)));
  }
  return 2 * s - 1;
}

export const tanhConfig: KernelConfig = {
  kernelName: "Tanh",
  backendName: "wasm",
  kernelFunc: mark(tanh) as unknown as KernelConfig["kernelFunc"],
};
