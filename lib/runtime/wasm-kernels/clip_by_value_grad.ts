/**
 * The gradient of ClipByValue as one wasm kernel.
 *
 * Why: tfjs's gradient is where(logicalAnd(x >= min, x <= max), dy, zerosLike(dy)): five kernel calls
 * (plus the engine's bookkeeping for each) per clip. The LSTM's hard-sigmoid gates clip three times per
 * cell and time step, ~600 clips per BiLSTM training step. `ClipByValueGradWasm` computes
 * dx[i] = min <= x[i] <= max ? dy[i] : 0 in one pass (NaN x gives 0, as the composite does).
 *
 * `registerClipByValueGradient()` replaces the registered ClipByValue gradient with one that uses this
 * kernel when the active backend is wasm and dy and x are float32 of the same shape, and the original
 * gradient otherwise (other backends see no difference).
 */
import * as tf from "@tensorflow/tfjs";
import type { GradConfig, KernelConfig, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs";
import { f32, isOurs, mark, sizeOf, type WasmKernelArgs } from "./util";

export const CLIP_BY_VALUE_GRAD_KERNEL = "ClipByValueGradWasm";

export function clipByValueGrad(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs["dy"]!;
  const x = inputs["x"]!;
  const lo = attrs["clipValueMin"] as number;
  const hi = attrs["clipValueMax"] as number;
  const n = sizeOf(x.shape);
  const out = backend.makeOutput(x.shape, "float32");
  const o = f32(backend, out);
  const xs = f32(backend, x);
  const d = f32(backend, dy);
  for (let i = 0; i < n; i++) {
    const v = xs[i]!;
    o[i] = v >= lo && v <= hi ? d[i]! : 0;
  }
  return out;
}

export const clipByValueGradConfig: KernelConfig = {
  kernelName: CLIP_BY_VALUE_GRAD_KERNEL,
  backendName: "wasm",
  kernelFunc: mark(clipByValueGrad) as unknown as KernelConfig["kernelFunc"],
};

/** The ClipByValue gradient that was registered before ours (tfjs's). */
let originalGradient: GradConfig | undefined;

/** Installs the wasm-aware ClipByValue gradient (idempotent). */
export function registerClipByValueGradient(): void {
  const current = tf.getGradient("ClipByValue");
  if (current == null || isOurs(current.gradFunc)) return;
  originalGradient = current;
  const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved;
    const g = Array.isArray(dy) ? dy[0]! : dy;
    if (
      x != null &&
      tf.getBackend() === "wasm" &&
      g.dtype === "float32" &&
      x.dtype === "float32" &&
      g.shape.length === x.shape.length &&
      g.shape.every((s, i) => s === x.shape[i])
    ) {
      return { x: () => tf.engine().runKernel(CLIP_BY_VALUE_GRAD_KERNEL, { dy: g, x }, attrs) as tf.Tensor };
    }
    return (originalGradient as GradConfig).gradFunc(dy, saved, attrs);
  };
  tf.registerGradient({ ...current, gradFunc: mark(gradFunc) });
}

/** Whether the wasm-aware ClipByValue gradient is the registered one. */
export function clipByValueGradientRegistered(): boolean {
  return isOurs(tf.getGradient("ClipByValue")?.gradFunc);
}
