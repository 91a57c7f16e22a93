/**
 * LstmSequence and LstmSequenceGrad (./lstm-sequence.ts) for the native TensorFlow backend ('tensorflow').
 *
 * Why: on native TensorFlow, tfjs-layers runs the BiLSTM step by step through about 34,000 small ops per
 * training step, each a JavaScript -> TensorFlow call whose dispatch costs more than its arithmetic: the
 * BiLSTM trained at half its wasm speed. Here a direction is a dozen TensorFlow ops per time step (one MatMul,
 * the gates, the cell update), and its gradient about eight per step plus one MatMul for the recurrent
 * kernel's gradient over all steps. Everything element-wise that does not depend on the recurrence (the gate
 * derivatives) is computed for all steps at once, before the loop. Steps where every film is real (no padding)
 * skip the mask blend; with length-bucketed batches that is most of them.
 *
 * The kernels compose tfjs ops: inside a kernel the engine records no gradient, so only the kernel itself is
 * on the tape, and its gradient is LstmSequenceGrad (registered in ./lstm-sequence.ts for every backend).
 */
import * as tf from "@tensorflow/tfjs";
import type { KernelConfig, NamedTensorInfoMap, Tensor } from "@tensorflow/tfjs";
import { LSTM_SEQUENCE, LSTM_SEQUENCE_GRAD, lstmSequenceDims, registerLstmSequenceGradient } from "./lstm-sequence";

const BACKEND = "tensorflow";

function input(inputs: NamedTensorInfoMap, name: string): Tensor {
  const t = inputs[name];
  if (!(t instanceof tf.Tensor)) throw new Error(`${LSTM_SEQUENCE}: input '${name}' is missing or not a tensor`);
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

export function nativeLstmSequence({ inputs }: { inputs: NamedTensorInfoMap }): Tensor[] {
  const xw = input(inputs, "xw");
  const kernelU = input(inputs, "recurrentKernel");
  const mask = input(inputs, "mask");
  const dropout = input(inputs, "recurrentDropout");
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

export function nativeLstmSequenceGrad({ inputs }: { inputs: NamedTensorInfoMap }): Tensor[] {
  const dh = input(inputs, "dh");
  const kernelU = input(inputs, "recurrentKernel");
  const mask = input(inputs, "mask");
  const dropout = input(inputs, "recurrentDropout");
  const hIn = input(inputs, "h");
  const cIn = input(inputs, "c");
  const gatesIn = input(inputs, "gates");
  const tanhC = input(inputs, "tanhC");
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

export const nativeKernelConfigs: readonly KernelConfig[] = [
  { kernelName: LSTM_SEQUENCE, backendName: BACKEND, kernelFunc: nativeLstmSequence as unknown as KernelConfig["kernelFunc"] },
  { kernelName: LSTM_SEQUENCE_GRAD, backendName: BACKEND, kernelFunc: nativeLstmSequenceGrad as unknown as KernelConfig["kernelFunc"] },
];

/** Registers the native kernels and the LstmSequence gradient (idempotent; before or after the backend starts). */
export function registerNativeKernels(): void {
  for (const config of nativeKernelConfigs) if (tf.getKernel(config.kernelName, BACKEND) == null) tf.registerKernel(config);
  registerLstmSequenceGradient();
}
