/**
 * The LstmSequence kernel's contract, shared by its implementations (wasm: ./wasm-kernels/lstm_sequence.ts,
 * native TensorFlow: ./native-kernels.ts), and its gradient, registered once for every backend.
 *
 * LstmSequence runs a whole LSTM direction: tfjs-layers' LSTMCell (implementation 2, tanh activation, sigmoid
 * recurrent activation) over every time step, with K.rnn's masking:
 *   z = xw_t + (h_{t-1} * r) . U          (r: the recurrent dropout mask, or ones)
 *   i, f, g, o = sigmoid(z_i), sigmoid(z_f), tanh(z_g), sigmoid(z_o)
 *   c' = f * c_{t-1} + i * g;   h' = o * tanh(c')
 *   h_t = m_t ? h' : h_{t-1};   c_t = m_t ? c' : c_{t-1}    (m_t: the time step's mask, 1 or 0)
 * Inputs (time-major): xw [T, B, 4u] (x . W + b), recurrentKernel U [u, 4u], mask [T, B] (1 / 0) and
 * recurrentDropout r [B, u]. Outputs: h [T, B, u], and for the gradient c [T, B, u], gates [T, B, 4u]
 * (i, f, g, o after their activations) and tanh(c) [T, B, u]. At masked steps only h is defined (it repeats
 * h_{t-1}); the gradient ignores the other outputs there.
 *
 * LstmSequenceGrad: inputs dh [T, B, u] (the loss's gradient with respect to h), recurrentKernel, mask,
 * recurrentDropout and the forward's four outputs; outputs dxw [T, B, 4u] (zero at masked steps) and
 * dRecurrentKernel [u, 4u].
 */
import * as tf from "@tensorflow/tfjs";
import type { GradConfig, Tensor } from "@tensorflow/tfjs";

export const LSTM_SEQUENCE = "LstmSequence";
export const LSTM_SEQUENCE_GRAD = "LstmSequenceGrad";

/** T, B and u of an LstmSequence call, checked against each other. */
export function lstmSequenceDims(xw: { shape: number[] }, recurrentKernel: { shape: number[] }): { T: number; B: number; units: number } {
  const [T, B, fourU] = xw.shape as [number, number, number];
  const units = recurrentKernel.shape[0] as number;
  if (xw.shape.length !== 3 || recurrentKernel.shape.length !== 2 || fourU !== 4 * units || recurrentKernel.shape[1] !== fourU)
    throw new Error(
      `${LSTM_SEQUENCE}: xw ${JSON.stringify(xw.shape)} and recurrentKernel ${JSON.stringify(recurrentKernel.shape)} do not match`,
    );
  return { T, B, units };
}

/** The gradient of LstmSequence with respect to xw and the recurrent kernel (mask and dropout are constants). */
export const lstmSequenceGradient: GradConfig = {
  kernelName: LSTM_SEQUENCE,
  inputsToSave: ["recurrentKernel", "mask", "recurrentDropout"],
  outputsToSave: [true, true, true, true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [recurrentKernel, mask, recurrentDropout, h, c, gates, tanhC] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const dh = (dy as (Tensor | null)[])[0] ?? tf.zerosLike(h);
    // Both gradients come from one kernel call, made here (outside the tape's per-input tidy).
    const [dxw, dU] = tf
      .engine()
      .runKernel(LSTM_SEQUENCE_GRAD, { dh, recurrentKernel, mask, recurrentDropout, h, c, gates, tanhC }, {}) as Tensor[];
    return {
      xw: () => dxw as Tensor,
      recurrentKernel: () => dU as Tensor,
      mask: () => tf.zerosLike(mask),
      recurrentDropout: () => tf.zerosLike(recurrentDropout),
    };
  },
};

/**
 * LstmSequencePair: two LstmSequence calls in one, the two directions of a Bidirectional layer, so that a backend
 * can run them side by side (native TensorFlow: the second on a thread of its own). Inputs: LstmSequence's four,
 * suffixed 0 and 1 (xw0, recurrentKernel0, mask0, recurrentDropout0, xw1, ...); outputs: the four of direction 0,
 * then the four of direction 1. LstmSequencePairGrad: LstmSequenceGrad's eight inputs suffixed 0 and 1; outputs
 * dxw0, dxw1, dRecurrentKernel0, dRecurrentKernel1. Each direction's results are those of LstmSequence.
 */
export const LSTM_SEQUENCE_PAIR = "LstmSequencePair";
export const LSTM_SEQUENCE_PAIR_GRAD = "LstmSequencePairGrad";

/** The names of a pair kernel's inputs: the single kernel's names with suffix 0, then with suffix 1. */
export function pairInputNames(names: readonly string[]): string[] {
  return [0, 1].flatMap((d) => names.map((n) => `${n}${d}`));
}

export const lstmSequencePairGradient: GradConfig = {
  kernelName: LSTM_SEQUENCE_PAIR,
  inputsToSave: pairInputNames(["recurrentKernel", "mask", "recurrentDropout"]),
  outputsToSave: [true, true, true, true, true, true, true, true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const dys = dy as (Tensor | null)[];
    const gradInputs: Record<string, Tensor> = {};
    for (const d of [0, 1]) {
      const [recurrentKernel, mask, recurrentDropout] = saved.slice(3 * d, 3 * d + 3) as [Tensor, Tensor, Tensor];
      const [h, c, gates, tanhC] = saved.slice(6 + 4 * d, 10 + 4 * d) as [Tensor, Tensor, Tensor, Tensor];
      const dh = dys[4 * d] ?? tf.zerosLike(h);
      Object.assign(gradInputs, {
        [`dh${d}`]: dh,
        [`recurrentKernel${d}`]: recurrentKernel,
        [`mask${d}`]: mask,
        [`recurrentDropout${d}`]: recurrentDropout,
        [`h${d}`]: h,
        [`c${d}`]: c,
        [`gates${d}`]: gates,
        [`tanhC${d}`]: tanhC,
      });
    }
    const [dxw0, dxw1, dU0, dU1] = tf.engine().runKernel(LSTM_SEQUENCE_PAIR_GRAD, gradInputs, {}) as Tensor[];
    const zeros = (name: string) => () => tf.zerosLike(gradInputs[name] as Tensor);
    return {
      xw0: () => dxw0 as Tensor,
      xw1: () => dxw1 as Tensor,
      recurrentKernel0: () => dU0 as Tensor,
      recurrentKernel1: () => dU1 as Tensor,
      mask0: zeros("mask0"),
      mask1: zeros("mask1"),
      recurrentDropout0: zeros("recurrentDropout0"),
      recurrentDropout1: zeros("recurrentDropout1"),
    };
  },
};

/** Registers the gradients of LstmSequence and LstmSequencePair (idempotent; the same for every backend). */
export function registerLstmSequenceGradient(): void {
  if (tf.getGradient(LSTM_SEQUENCE) == null) tf.registerGradient(lstmSequenceGradient);
  if (tf.getGradient(LSTM_SEQUENCE_PAIR) == null) tf.registerGradient(lstmSequencePairGradient);
}
