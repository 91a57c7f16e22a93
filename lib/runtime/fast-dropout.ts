/**
 * tfjs-layers' Dropout layer through the DropoutMask kernel (./native-kernels.ts), where the active backend has it
 * (native TensorFlow).
 *
 * Why: tfjs's dropout draws each random number in JavaScript (about 8 ns each) and uploads them: 4.7 million per
 * training step of the coursework CNN, 38 ms of a 261 ms step on native TensorFlow. DropoutMask draws them in
 * TensorFlow (stateless Philox, seeded from Math.random, so that the workbook's seeded runs stay reproducible) and
 * gives the multiplier, 0 or 1 / (1 - rate), as tfjs's dropout does (keep where the uniform draw u >= rate, the
 * same rule as tfjs's floor(u + 1 - rate)). The masks differ from tfjs's for the same seed, so a seeded run gives
 * other (equally valid) dropout masks on native than on wasm.
 *
 * The layer stays tfjs-layers' Dropout: same config and saved format; only its `call` takes another route, in
 * training with a rate in (0, 1), no noise shape and no seed of its own. Anything else takes the stock call.
 */
import * as tf from "@tensorflow/tfjs";
import { DROPOUT_MASK } from "./native-kernels";
import { kernelRoute, routeLayerCall } from "./layer-route";

interface DropoutLike {
  rate: number;
  noiseShape?: number[] | null;
  seed?: number | null;
  invokeCallHook(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): void;
}

const route = kernelRoute(DROPOUT_MASK);

/** Turns the route on or off (on by default; off: tfjs's own dropout, for comparisons). */
export const setFastDropout = route.set;

/** Whether a Dropout layer's training call on the active backend takes this route. */
export const fastDropoutActive = route.active;

/** Two int32 seeds for TensorFlow's stateless generator, drawn from Math.random (seeded in the workbook's runs). */
function drawSeed(): [number, number] {
  return [Math.floor(Math.random() * 2 ** 31), Math.floor(Math.random() * 2 ** 31)];
}

/** A fresh dropout multiplier of `shape` drawn by the DropoutMask kernel: 0, or 1 / (1 - rate) with probability 1 - rate. */
export function dropoutMultiplier(shape: number[], rate: number): tf.Tensor {
  return tf.engine().runKernel(DROPOUT_MASK, {}, { shape, rate, seed: drawSeed() }) as tf.Tensor;
}

/** x times a fresh dropout multiplier of x's shape: the gradient is dy times the same multiplier. */
export function fastDropout(x: tf.Tensor, rate: number): tf.Tensor {
  return tf.tidy(() => tf.mul(x, dropoutMultiplier(x.shape, rate)));
}

function fastCall(layer: DropoutLike, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | undefined {
  if (!fastDropoutActive() || kwargs["training"] !== true || !(layer.rate > 0 && layer.rate < 1)) return undefined;
  if (layer.noiseShape != null || layer.seed != null) return undefined;
  const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
  if (x === undefined || x.dtype !== "float32") return undefined;
  layer.invokeCallHook(inputs, kwargs);
  return fastDropout(x, layer.rate);
}

/** Routes every Dropout layer's call through fastCall (idempotent; each call checks the active backend). */
export function installFastDropout(): void {
  routeLayerCall<DropoutLike>("Dropout", fastCall);
}
