/**
 * _FusedMatMul (matmul + bias + activation) with transpose flags for the wasm backend.
 *
 * Why: same C++ path as BatchMatMul: with transposeA/transposeB set it runs a naive
 * loop instead of XNNPACK. The bias and activation are applied to the output, so
 * only the operand transposes can be moved out: transpose the flagged operand(s)
 * first, then call the stock kernel without flags (bias/activation still fused).
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs";
import { mark, release, transposeLast2, wasmKernel, type WasmKernelArgs } from "./util";

export function fusedMatMul(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const orig = wasmKernel("_FusedMatMul");
  const tA = attrs["transposeA"] === true;
  const tB = attrs["transposeB"] === true;
  if (!tA && !tB) return orig(args as never) as TensorInfo;
  const a = inputs["a"]!;
  const b = inputs["b"]!;
  const a2 = tA ? transposeLast2(backend, a) : a;
  const b2 = tB ? transposeLast2(backend, b) : b;
  const out = orig({
    inputs: { ...inputs, a: a2, b: b2 },
    backend: backend as never,
    attrs: { ...attrs, transposeA: false, transposeB: false } as never,
  }) as TensorInfo;
  if (a2 !== a) release(backend, a2);
  if (b2 !== b) release(backend, b2);
  return out;
}

export const fusedMatMulConfig: KernelConfig = {
  kernelName: "_FusedMatMul",
  backendName: "wasm",
  kernelFunc: mark(fusedMatMul) as unknown as KernelConfig["kernelFunc"],
};
