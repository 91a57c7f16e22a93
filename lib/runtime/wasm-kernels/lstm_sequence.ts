/**
 * A whole LSTM direction over a sequence as one kernel (forward: LstmSequence, gradient:
 * LstmSequenceGrad), for the wasm backend. The kernels' contract and their gradient registration are in
 * ../lstm-sequence.ts; the native backend's implementation is ../native-kernels.ts.
 *
 * Why: tfjs-layers runs an LSTM one time step at a time through a dozen small ops (matMul, split, four
 * activations, the cell update, the mask blend), and their gradients: about 34,000 kernel calls per
 * training step of the coursework BiLSTM, each with engine bookkeeping larger than its arithmetic. Here a
 * direction is two engine calls (forward, gradient); inside, each time step is one XNNPACK matMul
 * (h_{t-1} . U forward, dz_t . U^T backward) and a few passes over the step in JS (forward: around two
 * calls of the stock vectorized Sigmoid, for the gates and for tanh(c')); the recurrent kernel's gradient is
 * one matMul over all steps at the end. The input projection x . W + b of all steps is done
 * by the caller as one matMul (runtime/fused-lstm.ts).
 *
 * What the kernels compute (tfjs-layers' LSTMCell, K.rnn's masking), their inputs and outputs: ../lstm-sequence.ts.
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs";
import { LSTM_SEQUENCE, LSTM_SEQUENCE_GRAD, lstmSequenceDims } from "../lstm-sequence";
import { tanhFromSigmoid } from "./tanh";
import { callKernel, f32, mark, matMul, release, transposeLast2, type WasmKernelArgs } from "./util";

export function lstmSequence(args: WasmKernelArgs): TensorInfo[] {
  const { inputs, backend } = args;
  const xw = inputs["xw"]!;
  const kernelU = inputs["recurrentKernel"]!;
  const mask = inputs["mask"]!;
  const dropout = inputs["recurrentDropout"]!;
  const { T, B, units } = lstmSequenceDims(xw, kernelU);
  const G = 4 * units;
  const BU = B * units;
  const h = backend.makeOutput([T, B, units], "float32");
  const c = backend.makeOutput([T, B, units], "float32");
  const gates = backend.makeOutput([T, B, G], "float32");
  const tanhC = backend.makeOutput([T, B, units], "float32");
  // Scratch operands: h_{t-1} * r (the matMul's left operand), the gates' pre-activations, 2c'. The
  // activations run through the stock (vectorized) Sigmoid, tanh(x) as 2 sigmoid(2x) - 1.
  const hd = backend.makeOutput([B, units], "float32");
  const z = backend.makeOutput([B, G], "float32");
  const cc = backend.makeOutput([B, units], "float32");
  for (let t = 0; t < T; t++) {
    // (h_{t-1} * r) . U; none at t = 0 (the initial state is zero)
    let zRec: TensorInfo | undefined;
    if (t > 0) {
      const hs = f32(backend, h);
      const hdv = f32(backend, hd);
      const r = f32(backend, dropout);
      const prev = (t - 1) * BU;
      for (let k = 0; k < BU; k++) hdv[k] = hs[prev + k]! * r[k]!;
      zRec = matMul(backend, hd, kernelU);
    }
    {
      // Views after every allocation (the heap may have grown).
      const xs = f32(backend, xw).subarray(t * B * G, (t + 1) * B * G);
      const zv = f32(backend, z);
      if (zRec !== undefined) {
        const zs = f32(backend, zRec);
        for (let k = 0; k < B * G; k++) zv[k] = xs[k]! + zs[k]!;
      } else {
        zv.set(xs);
      }
      for (let b = 0; b < B; b++) for (let k = b * G + 2 * units; k < b * G + 3 * units; k++) zv[k] = 2 * zv[k]!;
    }
    release(backend, zRec);
    const sz = callKernel("Sigmoid", backend, { x: z });
    {
      const zv = f32(backend, z);
      const sv = f32(backend, sz);
      const gs = f32(backend, gates).subarray(t * B * G, (t + 1) * B * G);
      const cs = f32(backend, c);
      const ccv = f32(backend, cc);
      const ms = f32(backend, mask);
      for (let b = 0; b < B; b++) {
        const row = b * G;
        const out = t * BU + b * units;
        const keep = ms[t * B + b]! !== 0;
        for (let j = 0; j < units; j++) {
          const i = sv[row + j]!;
          const f = sv[row + units + j]!;
          const g = tanhFromSigmoid(zv[row + 2 * units + j]! / 2, sv[row + 2 * units + j]!);
          gs[row + j] = i;
          gs[row + units + j] = f;
          gs[row + 2 * units + j] = g;
          gs[row + 3 * units + j] = sv[row + 3 * units + j]!;
          const cPrev = t > 0 ? cs[out - BU + j]! : 0;
          const cNew = keep ? f * cPrev + i * g : cPrev;
          cs[out + j] = cNew;
          ccv[b * units + j] = 2 * cNew;
        }
      }
    }
    release(backend, sz);
    const sc = callKernel("Sigmoid", backend, { x: cc });
    {
      const scv = f32(backend, sc);
      const cs = f32(backend, c);
      const gs = f32(backend, gates);
      const hs = f32(backend, h);
      const tcs = f32(backend, tanhC);
      const ms = f32(backend, mask);
      for (let b = 0; b < B; b++) {
        const out = t * BU + b * units;
        const oRow = (t * B + b) * G + 3 * units;
        const keep = ms[t * B + b]! !== 0;
        for (let j = 0; j < units; j++) {
          const tc = tanhFromSigmoid(cs[out + j]!, scv[b * units + j]!);
          tcs[out + j] = tc;
          hs[out + j] = keep ? gs[oRow + j]! * tc : t > 0 ? hs[out - BU + j]! : 0;
        }
      }
    }
    release(backend, sc);
  }
  release(backend, hd, z, cc);
  return [h, c, gates, tanhC];
}

/**
 * Inputs: dh [T, B, u] (the loss's gradient with respect to the output sequence), recurrentKernel,
 * mask, recurrentDropout, and the forward's outputs h, c, gates, tanhC.
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
  const tanhCIn = inputs["tanhC"]!;
  const dropout = inputs["recurrentDropout"]!;
  const { T, B, units } = lstmSequenceDims(gatesIn, kernelU);
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
      const tcs = f32(backend, tanhCIn);
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
          const tc = tcs[at + j]!;
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
