/**
 * Kernels for the native TensorFlow backend ('tensorflow', @tensorflow/tfjs-node) that train the workbook's models
 * with fewer, cheaper TensorFlow calls. Every JavaScript -> TensorFlow op costs 25-50 us of dispatch on top of its
 * arithmetic (measured on the BiLSTM: 3,384 calls in a 446 ms step), so what matters is the number of ops:
 *
 *   - Step (the ReLU's derivative, used by every ReLU gradient, fused or not): tfjs-node composes it from seven
 *     ops, two of them full-size Fills; here it is three (Greater, Cast, and Select for NaN inputs).
 *   - DropoutMask (new): a dropout multiplier (0 or 1 / (1 - rate)) from a seed that the caller draws from
 *     Math.random (so a seeded run stays reproducible): in the addon (a counter-based generator, vectorised: about
 *     0.25 ns a number on two threads, 2026-12-07), else TensorFlow's stateless Philox (about 3 ns). tfjs's own
 *     dropout draws every number in JavaScript (about 8 ns each: 38 ms per training step of the CNN) and uploads
 *     them. See ./fast-dropout.ts.
 *   - FusedConv2D (a convolution with its bias and activation, every Conv2D layer's forward pass outside
 *     training): tfjs-node runs Conv2D, Add and Relu; here oneDNN's fused convolution (else TensorFlow's
 *     _FusedConv2D), through the addon, where the layer is NHWC with 'same' or 'valid' padding, no dilation, a bias
 *     and a ReLU or no activation: bias and ReLU come free (Eigen's _FusedConv2D, used first, was slower than oneDNN's
 *     plain convolution: 4.5 ms against 0.9 on the CNN's first layer). Other convolutions take tfjs-node's kernel.
 *   - MaxPool, MaxPoolGrad, a convolution's filter and bias gradients and the ReLU's gradient: see ./native-cnn-ops.ts.
 *   - LstmSequence and LstmSequenceGrad (./lstm-sequence.ts): tfjs-layers runs the BiLSTM step by step through
 *     about 34,000 small ops per training step (it trained at half its wasm speed on native). In the addon a
 *     direction is one call: one TensorFlow MatMul per time step from C++, the gates and cell update in one pass.
 *     Where the addon lacks the workbook's kernels, the same as TensorFlow ops composed here: a dozen per time step,
 *     about eight per step for the gradient, with what does not depend on the recurrence (the gate derivatives)
 *     computed for all steps at once, and the mask blend skipped at steps where every film is real.
 *   - KerasAdam: Keras's Adam in one pass per weight, in the addon (TF.js runs fourteen element-wise ops).
 *
 * Kernels that compose tfjs ops record no gradient inside (the engine tapes only the outermost kernel), so
 * LstmSequence's gradient is LstmSequenceGrad, registered in ./lstm-sequence.ts for every backend.
 */
import * as tf from "@tensorflow/tfjs";
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, Tensor, TensorInfo } from "@tensorflow/tfjs";
import {
  LSTM_SEQUENCE,
  LSTM_SEQUENCE_GRAD,
  LSTM_SEQUENCE_PAIR,
  LSTM_SEQUENCE_PAIR_GRAD,
  lstmSequenceDims,
  pairInputNames,
  registerLstmSequenceGradient,
} from "./lstm-sequence";
import { kernelRoute } from "./layer-route";
import { keepStockKernel, nativeCnnOpKernelConfigs, reluGradient } from "./native-cnn-ops";

const BACKEND = "tensorflow";

/** What the addon returns for a tensor it made. */
interface TensorMetadata {
  id: number;
  shape: number[];
  dtype: number;
}

/** The parts of tfjs-node's NodeJSKernelBackend that these kernels use. */
interface NativeBackendLike {
  binding: {
    TF_ATTR_TYPE: number;
    TF_FLOAT: number;
    TF_INT32: number;
    /** The workbook's kernels (native/workbook_kernels.cc), in an addon built by `npm run native`. */
    workbookKernel?: (name: string, inputIds: number[], params: number[]) => TensorMetadata[];
  };
  executeSingleOutput(name: string, opAttrs: { name: string; type: number; value: unknown }[], inputs: TensorInfo[]): Tensor;
  getInputTensorIds(inputs: TensorInfo[]): number[];
  isUsingGpuDevice?: boolean;
  createOutputTensor(metadata: TensorMetadata): Tensor;
}

interface NativeKernelArgs {
  inputs: NamedTensorInfoMap;
  attrs?: NamedAttrMap;
  backend: NativeBackendLike;
}

/** TensorFlow's op attribute `name` of type 'type'. */
function typeAttr(backend: NativeBackendLike, name: string, dtype: "float32" | "int32") {
  return { name, type: backend.binding.TF_ATTR_TYPE, value: dtype === "float32" ? backend.binding.TF_FLOAT : backend.binding.TF_INT32 };
}

export const STEP = "Step";

/** tfjs's Step: 1 where x > 0, alpha elsewhere, NaN where x is NaN. alpha = 0 (every ReLU gradient) in three ops. */
export function nativeStep({ inputs, attrs, backend }: NativeKernelArgs): Tensor {
  const x = input(inputs, "x", STEP);
  const alpha = Number(attrs?.["alpha"] ?? 0);
  if (x.dtype !== "float32") throw new Error(`${STEP}: float32 input expected, got ${x.dtype}`);
  return tf.tidy(() => {
    const positive = tf.greater(x, 0);
    const step = alpha === 0 ? tf.cast(positive, "float32") : tf.where(positive, tf.scalar(1), tf.scalar(alpha));
    // Select, not where: tfjs's where would check shapes in JavaScript; these are equal.
    return backend.executeSingleOutput("Select", [typeAttr(backend, "T", "float32")], [tf.isNaN(x), x, step]);
  });
}

export const DROPOUT_MASK = "DropoutMask";

/**
 * A dropout multiplier of `shape`: 1 / (1 - rate) with probability 1 - rate, else 0, from TensorFlow's stateless
 * uniform generator seeded with the int32 pair `seed` (the same seed gives the same mask).
 */
export function nativeDropoutMask({ attrs, backend }: NativeKernelArgs): Tensor {
  const shape = attrs?.["shape"] as number[];
  const rate = Number(attrs?.["rate"]);
  const seed = attrs?.["seed"] as [number, number];
  if (!(rate >= 0 && rate < 1)) throw new Error(`${DROPOUT_MASK}: rate must be in [0, 1), got ${rate}`);
  if (addonKernels(backend) !== undefined)
    return runAddon(backend, "dropout_mask", {}, [], [rate, seed[0], seed[1], ...shape])[0] as Tensor;
  return tf.tidy(() => {
    const uniform = backend.executeSingleOutput(
      "StatelessRandomUniform",
      [typeAttr(backend, "dtype", "float32"), typeAttr(backend, "T", "int32"), typeAttr(backend, "Tseed", "int32")],
      [tf.tensor1d(shape, "int32"), tf.tensor1d(seed, "int32")],
    );
    // (not tf.where with scalars: it tiles them to full size first, 3.6 ms against 1 ms on a 2M-element mask)
    return tf.mul(tf.cast(tf.greaterEqual(uniform, rate), "float32"), tf.scalar(1 / (1 - rate)));
  });
}

function input(inputs: NamedTensorInfoMap, name: string, kernel: string): Tensor {
  const t = inputs[name];
  if (!(t instanceof tf.Tensor)) throw new Error(`${kernel}: input '${name}' is missing or not a tensor`);
  return t;
}

/** For each time step, whether every film of the batch is real there (mask all ones). */
function fullSteps(mask: Tensor, T: number, B: number): boolean[] {
  const m = mask.dataSync();
  return Array.from({ length: T }, (_, t) => {
    for (let b = 0; b < B; b++) if (m[t * B + b] === 0) return false;
    return true;
  });
}

/** a + m * (b - a): b where the step's mask is 1, a where it is 0 (m [B, 1]). */
function blend(a: Tensor, b: Tensor, m: Tensor): Tensor {
  return tf.add(a, tf.mul(m, tf.sub(b, a)));
}

let addonLstm = true;

/** Whether LstmSequence runs in the addon (native/workbook_kernels.cc) where it can: on by default; off for tests. */
export function setAddonLstm(on: boolean): void {
  addonLstm = on;
}

/**
 * The addon's kernel runner, when this tfjs-node addon was built with the workbook's kernels (npm run native) and
 * TensorFlow computes on the CPU: the kernels read and write host memory, so on a GPU the TensorFlow ops run instead.
 */
function addonKernels(backend: NativeBackendLike): NonNullable<NativeBackendLike["binding"]["workbookKernel"]> | undefined {
  if (backend.isUsingGpuDevice === true) return undefined;
  return typeof backend.binding?.workbookKernel === "function" ? backend.binding.workbookKernel : undefined;
}

/** How many times each addon kernel ran in this process (what a test or a profile reads to see the route taken). */
export const addonKernelCalls = new Map<string, number>();

/** A kernel of the addon on the named inputs, its outputs as tensors. */
function runAddon(
  backend: NativeBackendLike,
  name: string,
  inputs: NamedTensorInfoMap,
  names: readonly string[],
  params: number[] = [],
): Tensor[] {
  const run = addonKernels(backend);
  if (run === undefined) throw new Error(`${name}: this tfjs-node addon has no workbook kernels (run npm run native again)`);
  const tensors = names.map((n) => input(inputs, n, name));
  addonKernelCalls.set(name, (addonKernelCalls.get(name) ?? 0) + 1);
  return run(name, backend.getInputTensorIds(tensors), params).map((m) => backend.createOutputTensor(m));
}

const SEQUENCE_INPUTS = ["xw", "recurrentKernel", "mask", "recurrentDropout"] as const;
const SEQUENCE_GRAD_INPUTS = ["dh", "recurrentKernel", "mask", "recurrentDropout", "h", "c", "gates", "tanhC"] as const;

/**
 * LstmSequence: in the addon (one TensorFlow MatMul per step, the gates in C++) where the addon has the workbook's
 * kernels, else composed of TensorFlow ops (composedLstmSequence).
 */
export function nativeLstmSequence(args: NativeKernelArgs): Tensor[] {
  const { inputs, backend } = args;
  lstmSequenceDims(input(inputs, "xw", LSTM_SEQUENCE), input(inputs, "recurrentKernel", LSTM_SEQUENCE));
  if (addonLstm && addonKernels(backend) !== undefined) return runAddon(backend, "lstm_forward", inputs, SEQUENCE_INPUTS);
  return composedLstmSequence(args);
}

/** LstmSequenceGrad: in the addon where it can, else composed of TensorFlow ops (composedLstmSequenceGrad). */
export function nativeLstmSequenceGrad(args: NativeKernelArgs): Tensor[] {
  const { inputs, backend } = args;
  lstmSequenceDims(input(inputs, "gates", LSTM_SEQUENCE_GRAD), input(inputs, "recurrentKernel", LSTM_SEQUENCE_GRAD));
  if (addonLstm && addonKernels(backend) !== undefined) return runAddon(backend, "lstm_backward", inputs, SEQUENCE_GRAD_INPUTS);
  return composedLstmSequenceGrad(args);
}

/** One direction's inputs of a pair kernel, under the single kernel's names. */
function direction(inputs: NamedTensorInfoMap, names: readonly string[], d: 0 | 1): NamedTensorInfoMap {
  return Object.fromEntries(names.map((n) => [n, inputs[`${n}${d}`] as TensorInfo]));
}

/** False where the pair kernels are off (setAddonLstmPair) or the addon predates them: one call per direction. */
let addonLstmPair = true;

/** Turns the addon's paired directions on or off (on by default; off: one addon call per direction, to compare). */
export function setAddonLstmPair(on: boolean): void {
  addonLstmPair = on;
}

/**
 * A pair kernel in the addon, or undefined where the single kernels must serve: the addon LSTM is off, the pair is
 * off, or the addon was built before the pair kernels existed (an older `npm run native`; then never tried again).
 */
function pairedAddonCall(
  backend: NativeBackendLike,
  name: string,
  inputs: NamedTensorInfoMap,
  names: readonly string[],
): Tensor[] | undefined {
  if (!(addonLstm && addonLstmPair && addonKernels(backend) !== undefined)) return undefined;
  try {
    return runAddon(backend, name, inputs, pairInputNames(names));
  } catch (err) {
    if (!String((err as Error).message).includes(`no kernel named '${name}'`)) throw err;
    addonLstmPair = false;
    return undefined;
  }
}

/**
 * LstmSequencePair: both directions in one addon call, the second on a thread of its own; without the workbook's
 * kernels, two LstmSequence calls.
 */
export function nativeLstmSequencePair(args: NativeKernelArgs): Tensor[] {
  const { inputs, backend } = args;
  for (const d of [0, 1] as const)
    lstmSequenceDims(input(inputs, `xw${d}`, LSTM_SEQUENCE_PAIR), input(inputs, `recurrentKernel${d}`, LSTM_SEQUENCE_PAIR));
  const paired = pairedAddonCall(backend, "lstm_forward_pair", inputs, SEQUENCE_INPUTS);
  if (paired !== undefined) return paired;
  return [0, 1].flatMap((d) => nativeLstmSequence({ ...args, inputs: direction(inputs, SEQUENCE_INPUTS, d as 0 | 1) }));
}

/** LstmSequencePairGrad: both directions in one addon call where it can, else two LstmSequenceGrad calls. */
export function nativeLstmSequencePairGrad(args: NativeKernelArgs): Tensor[] {
  const { inputs, backend } = args;
  for (const d of [0, 1] as const)
    lstmSequenceDims(input(inputs, `gates${d}`, LSTM_SEQUENCE_PAIR_GRAD), input(inputs, `recurrentKernel${d}`, LSTM_SEQUENCE_PAIR_GRAD));
  const paired = pairedAddonCall(backend, "lstm_backward_pair", inputs, SEQUENCE_GRAD_INPUTS);
  if (paired !== undefined) return paired;
  const [dxw0, dU0] = nativeLstmSequenceGrad({ ...args, inputs: direction(inputs, SEQUENCE_GRAD_INPUTS, 0) });
  const [dxw1, dU1] = nativeLstmSequenceGrad({ ...args, inputs: direction(inputs, SEQUENCE_GRAD_INPUTS, 1) });
  return [dxw0, dxw1, dU0, dU1] as Tensor[];
}

/** LstmSequence as TensorFlow ops from JavaScript: a dozen per time step. */
export function composedLstmSequence({ inputs }: { inputs: NamedTensorInfoMap }): Tensor[] {
  const xw = input(inputs, "xw", LSTM_SEQUENCE);
  const kernelU = input(inputs, "recurrentKernel", LSTM_SEQUENCE);
  const mask = input(inputs, "mask", LSTM_SEQUENCE);
  const dropout = input(inputs, "recurrentDropout", LSTM_SEQUENCE);
  const { T, B } = lstmSequenceDims(xw, kernelU);
  const full = fullSteps(mask, T, B);
  return tf.tidy(() => {
    const xs = tf.unstack(xw);
    const ms = full.every(Boolean) ? [] : tf.unstack(tf.reshape(mask, [T, B, 1]));
    const hs: Tensor[] = [];
    const cs: Tensor[] = [];
    const tcs: Tensor[] = [];
    const gates: Tensor[][] = [[], [], [], []];
    let h: Tensor | undefined;
    let c: Tensor | undefined;
    for (let t = 0; t < T; t++) {
      const z = h === undefined ? (xs[t] as Tensor) : tf.add(xs[t] as Tensor, tf.matMul(tf.mul(h, dropout), kernelU));
      const [zi, zf, zg, zo] = tf.split(z, 4, 1) as [Tensor, Tensor, Tensor, Tensor];
      const i = tf.sigmoid(zi);
      const f = tf.sigmoid(zf);
      const g = tf.tanh(zg);
      const o = tf.sigmoid(zo);
      [i, f, g, o].forEach((gate, k) => (gates[k] as Tensor[]).push(gate));
      const ig = tf.mul(i, g);
      let cNew = c === undefined ? ig : tf.add(tf.mul(f, c), ig);
      const m = full[t] ? undefined : (ms[t] as Tensor);
      if (m !== undefined) cNew = c === undefined ? tf.mul(m, cNew) : blend(c, cNew, m);
      const tc = tf.tanh(cNew);
      let hNew = tf.mul(o, tc);
      if (m !== undefined) hNew = h === undefined ? tf.mul(m, hNew) : blend(h, hNew, m);
      hs.push(hNew);
      cs.push(cNew);
      tcs.push(tc);
      h = hNew;
      c = cNew;
    }
    return [
      tf.stack(hs),
      tf.stack(cs),
      tf.concat(
        gates.map((g) => tf.stack(g)),
        2,
      ),
      tf.stack(tcs),
    ];
  });
}

/** LstmSequenceGrad as TensorFlow ops from JavaScript: about eight per time step. */
export function composedLstmSequenceGrad({ inputs }: { inputs: NamedTensorInfoMap }): Tensor[] {
  const dh = input(inputs, "dh", LSTM_SEQUENCE_GRAD);
  const kernelU = input(inputs, "recurrentKernel", LSTM_SEQUENCE_GRAD);
  const mask = input(inputs, "mask", LSTM_SEQUENCE_GRAD);
  const dropout = input(inputs, "recurrentDropout", LSTM_SEQUENCE_GRAD);
  const hIn = input(inputs, "h", LSTM_SEQUENCE_GRAD);
  const cIn = input(inputs, "c", LSTM_SEQUENCE_GRAD);
  const gatesIn = input(inputs, "gates", LSTM_SEQUENCE_GRAD);
  const tanhC = input(inputs, "tanhC", LSTM_SEQUENCE_GRAD);
  const { T, B, units } = lstmSequenceDims(gatesIn, kernelU);
  const full = fullSteps(mask, T, B);
  return tf.tidy(() => {
    // What does not depend on the recurrence, for all steps at once:
    //   dCell_t = dC_t + dH_t * o (1 - tanh(c)^2);  dz_t = [dCell, dCell, dCell, dH] * coef_t with
    //   coef = [g i (1 - i), c_{t-1} f (1 - f), i (1 - g^2), tanh(c) o (1 - o)].
    const [i, f, g, o] = tf.split(gatesIn, 4, 2) as [Tensor, Tensor, Tensor, Tensor];
    const cPrev = T > 1 ? tf.concat([tf.zeros([1, B, units]), tf.slice(cIn, [0, 0, 0], [T - 1, B, units])], 0) : tf.zeros([1, B, units]);
    const one = tf.scalar(1);
    const cellCoef = tf.unstack(tf.mul(o, tf.sub(one, tf.square(tanhC))));
    const coef = tf.unstack(
      tf.concat(
        [
          tf.mul(tf.mul(g, i), tf.sub(one, i)),
          tf.mul(tf.mul(cPrev, f), tf.sub(one, f)),
          tf.mul(i, tf.sub(one, tf.square(g))),
          tf.mul(tf.mul(tanhC, o), tf.sub(one, o)),
        ],
        2,
      ),
    );
    const fs = tf.unstack(f);
    const dhs = tf.unstack(dh);
    const ms = full.every(Boolean) ? [] : tf.unstack(tf.reshape(mask, [T, B, 1]));
    const dzs: Tensor[] = new Array<Tensor>(T);
    let dhNext: Tensor | undefined;
    let dcNext: Tensor | undefined;
    for (let t = T - 1; t >= 0; t--) {
      const dH = dhNext === undefined ? (dhs[t] as Tensor) : tf.add(dhs[t] as Tensor, dhNext);
      const dHc = tf.mul(dH, cellCoef[t] as Tensor);
      const dCell = dcNext === undefined ? dHc : tf.add(dcNext, dHc);
      let dz = tf.mul(tf.concat([dCell, dCell, dCell, dH], 1), coef[t] as Tensor);
      let dc = tf.mul(dCell, fs[t] as Tensor);
      const m = full[t] ? undefined : (ms[t] as Tensor);
      if (m !== undefined) {
        // A masked step passes the gradients through unchanged and gives its gates none.
        dz = tf.mul(dz, m);
        dc = dcNext === undefined ? tf.mul(m, dc) : blend(dcNext, dc, m);
      }
      dzs[t] = dz;
      dcNext = dc;
      if (t > 0) {
        const recurrent = tf.mul(tf.matMul(dz, kernelU, false, true), dropout);
        dhNext = m === undefined ? recurrent : tf.add(recurrent, tf.mul(tf.sub(one, m), dH));
      }
    }
    const dxw = tf.stack(dzs);
    // dU = sum over t >= 1 of (h_{t-1} * r)^T . dz_t: one MatMul over all steps.
    const dU =
      T > 1
        ? tf.matMul(
            tf.reshape(tf.mul(tf.slice(hIn, [0, 0, 0], [T - 1, B, units]), dropout), [(T - 1) * B, units]),
            tf.reshape(tf.slice(dxw, [1, 0, 0], [T - 1, B, 4 * units]), [(T - 1) * B, 4 * units]),
            true,
            false,
          )
        : tf.zeros([units, 4 * units]);
    return [dxw, dU];
  });
}

export const KERAS_ADAM = "KerasAdam";

/**
 * Keras 3's Adam update of one weight in one pass (native/workbook_kernels.cc 'adam'): inputs w, m, v, g; attrs
 * alpha (lr sqrt(1 - beta2^t) / (1 - beta1^t)), beta1, beta2, epsilon; outputs w', m', v'.
 */
export function nativeKerasAdam({ inputs, attrs, backend }: NativeKernelArgs): Tensor[] {
  const params = ["alpha", "beta1", "beta2", "epsilon"].map((name) => Number(attrs?.[name]));
  return runAddon(backend, "adam", inputs, ["w", "m", "v", "g"], params);
}

const adamRoute = kernelRoute(KERAS_ADAM);

/** Turns the fused Adam route on or off (on by default; off: TF.js's element-wise ops, for comparisons). */
export const setFusedAdam = adamRoute.set;

/** Whether the active backend runs Adam through KERAS_ADAM (native TensorFlow whose addon has the workbook kernels). */
export function fusedAdamActive(): boolean {
  return adamRoute.active() && addonKernels(tf.backend() as unknown as NativeBackendLike) !== undefined;
}

export const FUSED_CONV2D = "FusedConv2D";

/** tfjs-node's own kernels that ours replace, for the cases ours leave to them. */
const stockKernels = new Map<string, KernelConfig["kernelFunc"]>();

function isOne(value: unknown): boolean {
  return value === 1 || (Array.isArray(value) && value.every((v) => v === 1));
}

function pair(value: unknown): [number, number] {
  return Array.isArray(value) ? [Number(value[0]), Number(value[1])] : [Number(value), Number(value)];
}

/** FusedConv2D through the addon's fused_conv2d where it covers the call, else tfjs-node's kernel. */
export function nativeFusedConv2D(args: NativeKernelArgs): Tensor | TensorInfo {
  const { inputs, attrs, backend } = args;
  const x = inputs["x"];
  const bias = inputs["bias"];
  const activation = attrs?.["activation"] ?? "linear";
  const pad = attrs?.["pad"];
  const covered =
    addonKernels(backend) !== undefined &&
    x?.shape.length === 4 &&
    x.dtype === "float32" &&
    bias != null &&
    bias.shape.length === 1 &&
    inputs["preluActivationWeights"] == null &&
    (attrs?.["dataFormat"] ?? "NHWC") === "NHWC" &&
    attrs?.["dimRoundingMode"] == null &&
    isOne(attrs?.["dilations"] ?? 1) &&
    (pad === "same" || pad === "valid") &&
    (activation === "relu" || activation === "linear");
  if (covered) {
    const [strideH, strideW] = pair(attrs?.["strides"]);
    return runAddon(
      backend,
      "fused_conv2d",
      inputs,
      ["x", "filter", "bias"],
      [strideH, strideW, pad === "valid" ? 1 : 0, activation === "relu" ? 1 : 0],
    )[0] as Tensor;
  }
  const stock = stockKernels.get(FUSED_CONV2D);
  if (stock === undefined) throw new Error(`${FUSED_CONV2D}: tfjs-node's own kernel is not registered`);
  return stock(args as unknown as Parameters<KernelConfig["kernelFunc"]>[0]) as Tensor | TensorInfo;
}

export const FUSED_MAT_MUL = "_FusedMatMul";

/** False once an addon without fused_matmul refused it (built before it existed): tfjs-node's kernel from then on. */
let addonFusedMatMul = true;

/**
 * _FusedMatMul (a Dense layer's product, bias and activation) through the addon's fused_matmul where it covers the
 * call: oneDNN's fused inner product, what Keras's graph runs for a Dense layer, in one call where tfjs-node runs
 * BatchMatMul, Add and the activation. Covered: float32, one batch (a [1, M, K], b [1, K, N]), no transposes, a bias
 * of N values, linear or ReLU. Else tfjs-node's kernel.
 */
export function nativeFusedMatMul(args: NativeKernelArgs): Tensor | TensorInfo {
  const { inputs, attrs, backend } = args;
  const a = inputs["a"];
  const b = inputs["b"];
  const bias = inputs["bias"];
  const activation = attrs?.["activation"] ?? "linear";
  const covered =
    addonKernels(backend) !== undefined &&
    addonFusedMatMul &&
    a?.dtype === "float32" &&
    b?.dtype === "float32" &&
    a.shape.length === 3 &&
    b.shape.length === 3 &&
    a.shape[0] === 1 &&
    b.shape[0] === 1 &&
    bias != null &&
    bias.shape.length === 1 &&
    bias.shape[0] === b.shape[2] &&
    inputs["preluActivationWeights"] == null &&
    attrs?.["transposeA"] !== true &&
    attrs?.["transposeB"] !== true &&
    (activation === "relu" || activation === "linear");
  if (covered) {
    try {
      return runAddon(backend, "fused_matmul", inputs, ["a", "b", "bias"], [activation === "relu" ? 1 : 0])[0] as Tensor;
    } catch (err) {
      // an addon built before fused_matmul: tfjs-node's kernel from now on
      if (!String((err as Error).message).includes("no kernel named 'fused_matmul'")) throw err;
      addonFusedMatMul = false;
    }
  }
  const stock = stockKernels.get(FUSED_MAT_MUL);
  if (stock === undefined) throw new Error(`${FUSED_MAT_MUL}: tfjs-node's own kernel is not registered`);
  return stock(args as unknown as Parameters<KernelConfig["kernelFunc"]>[0]) as Tensor | TensorInfo;
}

export const nativeKernelConfigs: readonly KernelConfig[] = [
  { kernelName: FUSED_MAT_MUL, backendName: BACKEND, kernelFunc: nativeFusedMatMul as unknown as KernelConfig["kernelFunc"] },
  { kernelName: FUSED_CONV2D, backendName: BACKEND, kernelFunc: nativeFusedConv2D as unknown as KernelConfig["kernelFunc"] },
  { kernelName: KERAS_ADAM, backendName: BACKEND, kernelFunc: nativeKerasAdam as unknown as KernelConfig["kernelFunc"] },
  { kernelName: STEP, backendName: BACKEND, kernelFunc: nativeStep as unknown as KernelConfig["kernelFunc"] },
  { kernelName: DROPOUT_MASK, backendName: BACKEND, kernelFunc: nativeDropoutMask as unknown as KernelConfig["kernelFunc"] },
  { kernelName: LSTM_SEQUENCE, backendName: BACKEND, kernelFunc: nativeLstmSequence as unknown as KernelConfig["kernelFunc"] },
  { kernelName: LSTM_SEQUENCE_GRAD, backendName: BACKEND, kernelFunc: nativeLstmSequenceGrad as unknown as KernelConfig["kernelFunc"] },
  { kernelName: LSTM_SEQUENCE_PAIR, backendName: BACKEND, kernelFunc: nativeLstmSequencePair as unknown as KernelConfig["kernelFunc"] },
  {
    kernelName: LSTM_SEQUENCE_PAIR_GRAD,
    backendName: BACKEND,
    kernelFunc: nativeLstmSequencePairGrad as unknown as KernelConfig["kernelFunc"],
  },
  ...nativeCnnOpKernelConfigs,
];

/**
 * Registers the native kernels and the LstmSequence gradient (idempotent). Call it after @tensorflow/tfjs-node is
 * loaded: its own Step is replaced, and a registration made before the package loads would be overwritten.
 */
export function registerNativeKernels(): void {
  for (const config of nativeKernelConfigs) {
    const existing = tf.getKernel(config.kernelName, BACKEND);
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing != null) {
      stockKernels.set(config.kernelName, existing.kernelFunc);
      keepStockKernel(config.kernelName, existing.kernelFunc);
      tf.unregisterKernel(config.kernelName, BACKEND);
    }
    tf.registerKernel(config);
  }
  registerLstmSequenceGradient();
  if (tf.getGradient("Relu") !== reluGradient) tf.registerGradient(reluGradient);
}

/** True when every kernel of this module is the registered 'tensorflow' kernel. */
export function nativeKernelsRegistered(): boolean {
  return nativeKernelConfigs.every((c) => tf.getKernel(c.kernelName, BACKEND)?.kernelFunc === c.kernelFunc);
}
