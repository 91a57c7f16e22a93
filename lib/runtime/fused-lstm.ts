/**
 * Bidirectional(LSTM) through the LstmSequence kernel (./lstm-sequence.ts: wasm and native TensorFlow implement
 * it), where the active backend has it.
 *
 * Why: tfjs-layers unrolls an LSTM into a dozen ops per time step and their gradients (~34,000 kernel
 * calls per training step of the coursework BiLSTM, bound by per-op overhead). Here a direction is one
 * input projection for all time steps (one matMul) and one LstmSequence call, with its gradient kernel; where the
 * backend has LstmSequencePair (native TensorFlow), the two directions are one call and run side by side.
 *
 * The layer stays tfjs-layers' Bidirectional with its LSTM layers and weights: same names, parameter
 * count, config and saved format; only its `call` takes another route. Results equal the stock call's
 * (test/fused-lstm.test.ts): LSTMCell implementation 2 (one input dropout mask and one recurrent one,
 * drawn in the stock order, four each, so that a seeded Math.random gives the same masks; on native TensorFlow
 * one each from the DropoutMask kernel instead, as its Dropout layers do, see below), K.rnn's
 * masking (a masked step repeats the previous output and state), concat merge, the backward direction
 * reversed back when returning sequences. Layers this route does not cover (other activations, states
 * returned or given, stateful, another merge mode) and backends without the kernel take the stock call.
 */
import * as tf from "@tensorflow/tfjs";
import { LSTM_SEQUENCE, LSTM_SEQUENCE_PAIR } from "./lstm-sequence";
import { dropoutMultiplier, fastDropoutActive } from "./fast-dropout";
import { kernelRoute, routeLayerCall } from "./layer-route";

interface LayerVariableLike {
  read(): tf.Variable;
}

interface LstmCellLike {
  units: number;
  dropout: number;
  recurrentDropout: number;
  useBias: boolean;
  dropoutFunc?: unknown;
  activation: object;
  recurrentActivation: object;
  kernel: LayerVariableLike;
  recurrentKernel: LayerVariableLike;
  bias: LayerVariableLike | null;
}

interface LstmLayerLike {
  cell: LstmCellLike;
  returnSequences: boolean;
  returnState: boolean;
  goBackwards: boolean;
  stateful: boolean;
  getClassName(): string;
}

interface BidirectionalLike {
  forwardLayer: LstmLayerLike;
  backwardLayer: LstmLayerLike;
  mergeMode: string | null | undefined;
  returnSequences: boolean;
  returnState: boolean;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

const route = kernelRoute(LSTM_SEQUENCE);

/** Turns the fused route on or off (on by default; off: tfjs-layers' own call, for comparisons). */
export const setFusedLstm = route.set;

/** Whether a Bidirectional(LSTM) call on the active backend takes the fused route. */
export const fusedLstmActive = route.active;

function activationName(activation: object): string {
  return (activation.constructor as { className?: string }).className ?? "";
}

function supported(layer: BidirectionalLike): boolean {
  const ok = (l: LstmLayerLike) =>
    l.getClassName() === "LSTM" &&
    !l.returnState &&
    !l.stateful &&
    l.returnSequences === layer.returnSequences &&
    l.cell.dropoutFunc == null &&
    activationName(l.cell.activation) === "tanh" &&
    activationName(l.cell.recurrentActivation) === "sigmoid";
  return (
    layer.mergeMode === "concat" &&
    !layer.returnState &&
    ok(layer.forwardLayer) &&
    ok(layer.backwardLayer) &&
    !layer.forwardLayer.goBackwards &&
    layer.backwardLayer.goBackwards
  );
}

/**
 * A dropout mask of LSTMCell's implementation 2 (its multiplier: 0 or 1 / (1 - rate)), or undefined when not
 * training or the rate is 0. Where the DropoutMask kernel runs (native TensorFlow, ./fast-dropout.ts), one mask from
 * it: tfjs draws every number in JavaScript and uploads it, and the stock order draws four masks of which one is
 * used, 32 masks and 0.6 million numbers per training step of the coursework BiLSTM, whose garbage then costs a
 * major collection every few steps. Elsewhere as generateDropoutMask draws them (four per kind, the first used), so
 * that a seeded Math.random gives the stock layer's masks.
 */
export function lstmDropoutMask(rate: number, shape: [number, number], training: boolean): tf.Tensor2D | undefined {
  if (!(training && rate > 0 && rate < 1)) return undefined;
  if (fastDropoutActive()) return dropoutMultiplier(shape, rate) as tf.Tensor2D;
  const masks = [0, 1, 2, 3].map(() => tf.dropout(tf.ones(shape), rate) as tf.Tensor2D);
  return masks[0];
}

/** What LstmSequence reads for one direction. */
interface DirectionInputs extends tf.NamedTensorMap {
  xw: tf.Tensor3D;
  recurrentKernel: tf.Tensor2D;
  mask: tf.Tensor2D;
  recurrentDropout: tf.Tensor2D;
}

/**
 * One direction's LstmSequence inputs for x [B, T, D]: the input projection of every time step in the direction's
 * processing order, time-major. maskTM is the time-major mask [T, B] in that order.
 */
function directionInputs(layer: LstmLayerLike, x: tf.Tensor3D, maskTM: tf.Tensor2D, training: boolean): DirectionInputs {
  const cell = layer.cell;
  const [B, T, D] = x.shape;
  const units = cell.units;
  const inputMask = lstmDropoutMask(cell.dropout, [B, D], training);
  // tf.fill, not tf.ones: a backend fill rather than a JavaScript array uploaded on every call
  const recurrentMask = lstmDropoutMask(cell.recurrentDropout, [B, units], training) ?? tf.fill([B, units], 1);
  const dropped = inputMask !== undefined ? tf.mul(x, tf.expandDims(inputMask, 1)) : x;
  let timeMajor = tf.transpose(dropped, [1, 0, 2]);
  if (layer.goBackwards) timeMajor = tf.reverse(timeMajor, 0);
  const xw = tf.fused.matMul({
    a: tf.reshape(timeMajor, [T * B, D]),
    b: cell.kernel.read(),
    ...(cell.useBias && cell.bias !== null ? { bias: cell.bias.read() } : {}),
  });
  return {
    xw: tf.reshape(xw, [T, B, 4 * units]),
    recurrentKernel: cell.recurrentKernel.read() as tf.Tensor2D,
    mask: maskTM,
    recurrentDropout: recurrentMask as tf.Tensor2D,
  };
}

/**
 * Both directions' outputs h [T, B, u], each in its processing order: one LstmSequencePair call where the backend
 * has it (the directions side by side), else one LstmSequence call each.
 */
function bothDirections(forward: DirectionInputs, backward: DirectionInputs): [tf.Tensor3D, tf.Tensor3D] {
  if (tf.getKernel(LSTM_SEQUENCE_PAIR, tf.getBackend()) != null) {
    const pairInputs: tf.NamedTensorMap = {};
    for (const [d, inputs] of [forward, backward].entries()) for (const [k, v] of Object.entries(inputs)) pairInputs[`${k}${d}`] = v;
    const outputs = tf.engine().runKernel(LSTM_SEQUENCE_PAIR, pairInputs, {}) as tf.Tensor[];
    return [outputs[0] as tf.Tensor3D, outputs[4] as tf.Tensor3D];
  }
  const run = (inputs: DirectionInputs) => (tf.engine().runKernel(LSTM_SEQUENCE, inputs, {}) as tf.Tensor[])[0] as tf.Tensor3D;
  return [run(forward), run(backward)];
}

function lastStep(h: tf.Tensor3D): tf.Tensor2D {
  const [T, B, units] = h.shape;
  return tf.reshape(tf.slice(h, [T - 1, 0, 0], [1, B, units]), [B, units]);
}

/** The fused Bidirectional(LSTM) call, or undefined where the stock call must run. */
function fusedCall(layer: BidirectionalLike, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | undefined {
  if (!fusedLstmActive() || kwargs["initialState"] != null || !supported(layer)) return undefined;
  const x = (Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs) as tf.Tensor3D | undefined;
  if (x === undefined || x.rank !== 3 || x.shape[1] === 0) return undefined;
  const training = kwargs["training"] === true;
  const rawMask = kwargs["mask"] as tf.Tensor | tf.Tensor[] | null | undefined;
  const mask = Array.isArray(rawMask) ? rawMask[0] : rawMask;
  return tf.tidy(() => {
    const [B, T] = x.shape;
    const maskTM = (mask != null ? tf.transpose(tf.cast(tf.cast(mask, "bool"), "float32"), [1, 0]) : tf.fill([T, B], 1)) as tf.Tensor2D;
    const [forward, backward] = bothDirections(
      directionInputs(layer.forwardLayer, x, maskTM, training),
      directionInputs(layer.backwardLayer, x, tf.reverse(maskTM, 0), training),
    );
    if (layer.returnSequences) return tf.concat([tf.transpose(forward, [1, 0, 2]), tf.transpose(tf.reverse(backward, 0), [1, 0, 2])], 2);
    return tf.concat([lastStep(forward), lastStep(backward)], 1);
  });
}

/**
 * Routes every Bidirectional layer's call through fusedCall (idempotent). Called when the wasm or native backend is
 * chosen (runtime/backend.ts); harmless elsewhere, since each call checks the active backend.
 */
export function installFusedLstm(): void {
  routeLayerCall<BidirectionalLike>("Bidirectional", fusedCall);
}
