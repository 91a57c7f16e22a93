/**
 * A whole LSTM direction over a sequence as one kernel (forward: LstmSequence, gradient:
 * LstmSequenceGrad), for the wasm backend.
 *
 * Why: tfjs-layers runs an LSTM one time step at a time through a dozen small ops (matMul, split, four
 * activations, the cell update, the mask blend), and their gradients: about 34,000 kernel calls per
 * training step of the coursework BiLSTM, each with engine bookkeeping larger than its arithmetic. Here a
 * direction is two engine calls (forward, gradient); inside, each time step is one XNNPACK matMul
 * (h_{t-1} . U forward, dz_t . U^T backward) and one pass over the step in JS; the recurrent kernel's
 * gradient is one matMul over all steps at the end. The input projection x . W + b of all steps is done
 * by the caller as one matMul (runtime/fused-lstm.ts).
 *
 * The step is tfjs-layers' LSTMCell (implementation 2) with tanh activation and sigmoid recurrent
 * activation, and K.rnn's masking:
 *   z = xw_t + (h_{t-1} * r) . U          (r: the recurrent dropout mask, or none)
 *   i, f, g, o = sigmoid(z_i), sigmoid(z_f), tanh(z_g), sigmoid(z_o)
 *   c' = f * c_{t-1} + i * g;   h' = o * tanh(c')
 *   h_t = m_t ? h' : h_{t-1};   c_t = m_t ? c' : c_{t-1}    (m_t: the time step's mask, 1 or 0)
 * The output at step t is h_t (a masked step repeats the previous output, as K.rnn does).
 *
 * Inputs (time-major): xw [T, B, 4u] (x . W + b), recurrentKernel U [u, 4u], mask [T, B] (1 / 0) and
 * recurrentDropout r [B, u] (ones without recurrent dropout). Outputs: h [T, B, u], c [T, B, u] and gates [T, B, 4u] (i, f, g,
 * o after their activations), the last two kept for the gradient.
 */
import * as tf from "@tensorflow/tfjs";
import type { GradConfig, KernelConfig, Tensor, TensorInfo } from "@tensorflow/tfjs";
import { f32, mark, matMul, release, transposeLast2, type WasmKernelArgs } from "./util";

export const LSTM_SEQUENCE = "LstmSequence";
export const LSTM_SEQUENCE_GRAD = "LstmSequenceGrad";

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function dims(xw: TensorInfo, u: TensorInfo): { T: number; B: number; units: number } {
  const [T, B, fourU] = xw.shape as [number, number, number];
  const units = u.shape[0] as number;
  if (xw.shape.length !== 3 || u.shape.length !== 2 || fourU !== 4 * units || u.shape[1] !== fourU)
    throw new Error(`${LSTM_SEQUENCE}: xw ${JSON.stringify(xw.shape)} and recurrentKernel ${JSON.stringify(u.shape)} do not match`);
  return { T, B, units };
}

export function lstmSequence(args: WasmKernelArgs): TensorInfo[] {
  const { inputs, backend } = args;
  const xw = inputs["xw"]!;
  const kernelU = inputs["recurrentKernel"]!;
  const mask = inputs["mask"]!;
  const dropout = inputs["recurrentDropout"]!;
  const { T, B, units } = dims(xw, kernelU);
  const G = 4 * units;
  const h = backend.makeOutput([T, B, units], "float32");
  const c = backend.makeOutput([T, B, units], "float32");
  const gates = backend.makeOutput([T, B, G], "float32");
  const hd = backend.makeOutput([B, units], "float32"); // h_{t-1} * r, the matMul's left operand
  for (let t = 0; t < T; t++) {
    // z_rec = (h_{t-1} * r) . U; zero at t = 0 (the initial state is zero)
    let zRec: TensorInfo | undefined;
    if (t > 0) {
      const hs = f32(backend, h);
      const hdv = f32(backend, hd);
      const prev = (t - 1) * B * units;
      const r = f32(backend, dropout);
      for (let k = 0; k < B * units; k++) hdv[k] = hs[prev + k]! * r[k]!;
      zRec = matMul(backend, hd, kernelU);
    }
    // Views after every allocation (the heap may have grown).
    const xs = f32(backend, xw);
    const zs = zRec !== undefined ? f32(backend, zRec) : undefined;
    const ms = f32(backend, mask);
    const hs = f32(backend, h);
    const cs = f32(backend, c);
    const gs = f32(backend, gates);
    for (let b = 0; b < B; b++) {
      const row = (t * B + b) * G;
      const zRow = b * G;
      const out = (t * B + b) * units;
      const prev = out - B * units; // (t - 1, b)
      const keep = ms[t * B + b]! !== 0;
      for (let j = 0; j < units; j++) {
        const zi = xs[row + j]! + (zs ? zs[zRow + j]! : 0);
        const zf = xs[row + units + j]! + (zs ? zs[zRow + units + j]! : 0);
        const zg = xs[row + 2 * units + j]! + (zs ? zs[zRow + 2 * units + j]! : 0);
        const zo = xs[row + 3 * units + j]! + (zs ? zs[zRow + 3 * units + j]! : 0);
        const i = sigmoid(zi);
        const f = sigmoid(zf);
        const g = Math.tanh(zg);
        const o = sigmoid(zo);
        gs[row + j] = i;
        gs[row + units + j] = f;
        gs[row + 2 * units + j] = g;
        gs[row + 3 * units + j] = o;
        const cPrev = t > 0 ? cs[prev + j]! : 0;
        if (keep) {
          const cNew = f * cPrev + i * g;
          cs[out + j] = cNew;
          hs[out + j] = o * Math.tanh(cNew);
        } else {
          cs[out + j] = cPrev;
          hs[out + j] = t > 0 ? hs[prev + j]! : 0;
        }
      }
    }
    release(backend, zRec);
  }
  release(backend, hd);
  return [h, c, gates];
}

/**
 * Inputs: dh [T, B, u] (the loss's gradient with respect to the output sequence), recurrentKernel,
 * mask, recurrentDropout, and the forward's outputs h, c, gates.
 * Outputs: dxw [T, B, 4u] and dRecurrentKernel [u, 4u].
 */
export function lstmSequenceGrad(args: WasmKernelArgs): TensorInfo[] {
  const { inputs, backend } = args;
  const dh = inputs["dh"]!;
  const kernelU = inputs["recurrentKernel"]!;
  const mask = inputs["mask"]!;
  const hIn = inputs["h"]!;
  const cIn = inputs["c"]!;
  const gatesIn = inputs["gates"]!;
  const dropout = inputs["recurrentDropout"]!;
  const { T, B, units } = dims(gatesIn, kernelU);
  const G = 4 * units;
  const BU = B * units;
  const dxw = backend.makeOutput([T, B, G], "float32");
  const dhNext = new Float32Array(BU); // gradient reaching h_t from later steps
  const dcNext = new Float32Array(BU);
  const uT = transposeLast2(backend, kernelU); // [4u, u], made once
  const dz = backend.makeOutput([B, G], "float32"); // dz_t, the backward matMul's left operand
  for (let t = T - 1; t >= 0; t--) {
    {
      const dhs = f32(backend, dh);
      const ms = f32(backend, mask);
      const cs = f32(backend, cIn);
      const gs = f32(backend, gatesIn);
      const dxs = f32(backend, dxw);
      const dzs = f32(backend, dz);
      for (let b = 0; b < B; b++) {
        const row = (t * B + b) * G;
        const at = (t * B + b) * units;
        const keep = ms[t * B + b]! !== 0;
        for (let j = 0; j < units; j++) {
          const k = b * units + j;
          const dH = dhs[at + j]! + dhNext[k]!;
          const dC = dcNext[k]!;
          if (!keep) {
            // h_t = h_{t-1}, c_t = c_{t-1}: the gradients pass through; the gates get none
            dxs[row + j] = dxs[row + units + j] = dxs[row + 2 * units + j] = dxs[row + 3 * units + j] = 0;
            dhNext[k] = dH;
            dcNext[k] = dC;
            continue;
          }
          const i = gs[row + j]!;
          const f = gs[row + units + j]!;
          const g = gs[row + 2 * units + j]!;
          const o = gs[row + 3 * units + j]!;
          const tc = Math.tanh(cs[at + j]!);
          const cPrev = t > 0 ? cs[at - BU + j]! : 0;
          const dCell = dC + dH * o * (1 - tc * tc);
          dxs[row + j] = dCell * g * i * (1 - i);
          dxs[row + units + j] = dCell * cPrev * f * (1 - f);
          dxs[row + 2 * units + j] = dCell * i * (1 - g * g);
          dxs[row + 3 * units + j] = dH * tc * o * (1 - o);
          dhNext[k] = 0; // the recurrent part is added below
          dcNext[k] = dCell * f;
        }
      }
      if (t > 0) dzs.set(dxs.subarray(t * B * G, (t + 1) * B * G));
    }
    if (t === 0) break;
    // dh_{t-1} += (dz_t . U^T) * r
    const dhd = matMul(backend, dz, uT);
    const dhds = f32(backend, dhd);
    const r = f32(backend, dropout);
    for (let k = 0; k < BU; k++) dhNext[k] += dhds[k]! * r[k]!;
    release(backend, dhd);
  }
  release(backend, dz, uT);
  // dU = sum over t >= 1 of (h_{t-1} * r)^T . dz_t = HD^T . DZ, HD^T [u, (T-1)B], DZ [(T-1)B, 4u]
  let dU: TensorInfo;
  if (T > 1) {
    const n = (T - 1) * B;
    const hdT = backend.makeOutput([units, n], "float32");
    const dzAll = backend.makeOutput([n, G], "float32");
    {
      const hs = f32(backend, hIn);
      const r = f32(backend, dropout);
      const a = f32(backend, hdT);
      for (let row = 0; row < n; row++) {
        const b = row % B;
        for (let j = 0; j < units; j++) a[j * n + row] = hs[row * units + j]! * r[b * units + j]!;
      }
      f32(backend, dzAll).set(f32(backend, dxw).subarray(B * G));
    }
    dU = matMul(backend, hdT, dzAll);
    release(backend, hdT, dzAll);
  } else {
    dU = backend.makeOutput([units, G], "float32");
    f32(backend, dU).fill(0);
  }
  return [dxw, dU];
}

export const lstmSequenceConfig: KernelConfig = {
  kernelName: LSTM_SEQUENCE,
  backendName: "wasm",
  kernelFunc: mark(lstmSequence) as unknown as KernelConfig["kernelFunc"],
};

export const lstmSequenceGradConfig: KernelConfig = {
  kernelName: LSTM_SEQUENCE_GRAD,
  backendName: "wasm",
  kernelFunc: mark(lstmSequenceGrad) as unknown as KernelConfig["kernelFunc"],
};

/** The gradient of LstmSequence with respect to xw and the recurrent kernel (mask and dropout are constants). */
export const lstmSequenceGradient: GradConfig = {
  kernelName: LSTM_SEQUENCE,
  inputsToSave: ["recurrentKernel", "mask", "recurrentDropout"],
  outputsToSave: [true, true, true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [recurrentKernel, mask, recurrentDropout, h, c, gates] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const dh = (dy as (Tensor | null)[])[0] ?? tf.zerosLike(h);
    // Both gradients come from one kernel call, made here (outside the tape's per-input tidy).
    const [dxw, dU] = tf
      .engine()
      .runKernel(LSTM_SEQUENCE_GRAD, { dh, recurrentKernel, mask, recurrentDropout, h, c, gates }, {}) as Tensor[];
    return {
      xw: () => dxw as Tensor,
      recurrentKernel: () => dU as Tensor,
      mask: () => tf.zerosLike(mask),
      recurrentDropout: () => tf.zerosLike(recurrentDropout),
    };
  },
};
