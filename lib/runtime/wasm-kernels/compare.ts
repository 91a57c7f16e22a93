/**
 * GreaterEqual, LessEqual, LogicalAnd and Select for the wasm backend, for operands of the same shape
 * or a scalar (size-1) operand; any other broadcast goes to the stock kernels.
 *
 * Why: the gradient of ClipByValue is select(x >= min && x <= max, dy, 0); the LSTM's hard-sigmoid
 * gates clip three times per cell and time step, i.e. ~600 calls of each of these kernels per BiLSTM
 * training step. The stock kernels take 30-60 us each for a [64, 256] tensor (a generic broadcasting
 * loop, even for a scalar operand); these are single loops over the wasm heap.
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs";
import { f32, mark, sizeOf, view, wasmKernel, type TypedArray, type WasmKernelArgs } from "./util";

type Op = "ge" | "le" | "and";

/** Same shape, or one of the two has a single element (returns the output shape), else null. */
function simpleBroadcast(a: TensorInfo, b: TensorInfo): number[] | null {
  const sa = sizeOf(a.shape);
  const sb = sizeOf(b.shape);
  if (a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i])) return a.shape.slice();
  // A size-1 operand broadcasts to the other's shape only when its rank is not higher.
  if (sb === 1 && b.shape.length <= a.shape.length) return a.shape.slice();
  if (sa === 1 && a.shape.length <= b.shape.length) return b.shape.slice();
  return null;
}

// One plain loop per operation and operand layout, so that each stays monomorphic and fast
// (a comparison passed in as a closure cost ~7 ns per element).
function ge(o: Uint8Array, a: TypedArray, b: TypedArray): void {
  const n = o.length;
  if (a.length === n && b.length === n) for (let i = 0; i < n; i++) o[i] = a[i]! >= b[i]! ? 1 : 0;
  else if (b.length === 1) {
    const s = b[0]!;
    for (let i = 0; i < n; i++) o[i] = a[i]! >= s ? 1 : 0;
  } else {
    const s = a[0]!;
    for (let i = 0; i < n; i++) o[i] = s >= b[i]! ? 1 : 0;
  }
}

function le(o: Uint8Array, a: TypedArray, b: TypedArray): void {
  const n = o.length;
  if (a.length === n && b.length === n) for (let i = 0; i < n; i++) o[i] = a[i]! <= b[i]! ? 1 : 0;
  else if (b.length === 1) {
    const s = b[0]!;
    for (let i = 0; i < n; i++) o[i] = a[i]! <= s ? 1 : 0;
  } else {
    const s = a[0]!;
    for (let i = 0; i < n; i++) o[i] = s <= b[i]! ? 1 : 0;
  }
}

function and(o: Uint8Array, a: TypedArray, b: TypedArray): void {
  const n = o.length;
  if (a.length === n && b.length === n) for (let i = 0; i < n; i++) o[i] = a[i]! !== 0 && b[i]! !== 0 ? 1 : 0;
  else if (b.length === 1) {
    if (b[0]! === 0) o.fill(0);
    else for (let i = 0; i < n; i++) o[i] = a[i]! !== 0 ? 1 : 0;
  } else if (a[0]! === 0) o.fill(0);
  else for (let i = 0; i < n; i++) o[i] = b[i]! !== 0 ? 1 : 0;
}

const loops: Record<Op, (o: Uint8Array, a: TypedArray, b: TypedArray) => void> = { ge, le, and };

function binaryBool(name: string, op: Op) {
  const loop = loops[op];
  return (args: WasmKernelArgs): TensorInfo => {
    const { inputs, backend } = args;
    const a = inputs["a"]!;
    const b = inputs["b"]!;
    const shape = a.dtype === "string" || b.dtype === "string" ? null : simpleBroadcast(a, b);
    if (shape == null) return wasmKernel(name)(args as never) as TensorInfo;
    const out = backend.makeOutput(shape, "bool");
    loop(view(backend, out) as Uint8Array, view(backend, a), view(backend, b));
    return out;
  };
}

export const greaterEqual = binaryBool("GreaterEqual", "ge");
export const lessEqual = binaryBool("LessEqual", "le");
export const logicalAnd = binaryBool("LogicalAnd", "and");

function selectF32(o: Float32Array, c: TypedArray, t: Float32Array, e: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) o[i] = c[i] !== 0 ? t[i]! : e[i]!;
}

function selectAny(o: TypedArray, c: TypedArray, t: TypedArray, e: TypedArray, n: number): void {
  for (let i = 0; i < n; i++) o[i] = c[i] !== 0 ? t[i]! : e[i]!;
}

export function select(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const c = inputs["condition"]!;
  const t = inputs["t"]!;
  const e = inputs["e"]!;
  const n = sizeOf(t.shape);
  const same = (x: TensorInfo) => x.shape.length === t.shape.length && x.shape.every((d, i) => d === t.shape[i]);
  if (t.dtype === "string" || t.dtype === "complex64" || !same(c) || !same(e) || e.dtype !== t.dtype) {
    return wasmKernel("Select")(args as never) as TensorInfo;
  }
  const out = backend.makeOutput(t.shape, t.dtype);
  const cv = view(backend, c);
  if (t.dtype === "float32") selectF32(f32(backend, out), cv, f32(backend, t), f32(backend, e), n);
  else selectAny(view(backend, out), cv, view(backend, t), view(backend, e), n);
  return out;
}

const config = (kernelName: string, f: (args: WasmKernelArgs) => TensorInfo): KernelConfig => ({
  kernelName,
  backendName: "wasm",
  kernelFunc: mark(f) as unknown as KernelConfig["kernelFunc"],
});

export const greaterEqualConfig = config("GreaterEqual", greaterEqual);
export const lessEqualConfig = config("LessEqual", lessEqual);
export const logicalAndConfig = config("LogicalAnd", logicalAnd);
export const selectConfig = config("Select", select);
