/**
 * tfjs-layers' Conv2D layers with a bias and a ReLU as one fused convolution in training too, where the active
 * backend has the ReluGrad kernel (native TensorFlow, ./native-cnn-ops.ts).
 *
 * Why: while gradients are recorded, tfjs runs such a layer as three ops (Conv2D, Add, Relu: two extra passes over
 * the layer's output), because tfjs-core fuses only a linear activation under a gradient tape. The ReLU's gradient
 * needs only the layer's output (dy where y > 0), so the fused op can keep it: forward one FusedConv2D (oneDNN's
 * fused convolution, ./native-kernels.ts); backward ReluGrad, then the two convolution gradients and the bias's
 * (the sum of the ReLU's gradient), as tfjs-core's own fused conv2d computes them for a linear activation; the filter's
 * and the bias's in one op where the backend has it (oneDNN's, ./native-cnn-ops.ts).
 *
 * The layer stays tfjs-layers' Conv2D: same config, weights and saved format; only its `call` takes this route,
 * for 2-D convolutions, channels last, no dilation, 'same' or 'valid' padding, with a bias and a ReLU. Anything
 * else takes the stock call.
 */
import * as tf from "@tensorflow/tfjs";
import { CONV2D_BACKPROP_FILTER_WITH_BIAS, RELU_GRAD } from "./native-cnn-ops";
import { kernelRoute, routeLayerCall } from "./layer-route";

interface ConvLike {
  rank: number;
  kernel: { read(): tf.Tensor } | null;
  bias: { read(): tf.Tensor } | null;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
  activation: { getClassName(): string };
  invokeCallHook(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): void;
}

const route = kernelRoute(RELU_GRAD);

/** Turns the route on or off (on by default; off: tfjs-layers' own call, for comparisons). */
export const setFusedConv = route.set;

/** Whether a Conv2D layer's call on the active backend takes this route. */
export const fusedConvActive = route.active;

/**
 * The gradient of a recorded FusedConv2D with a ReLU (only this route records one: tfjs-core's own fused conv2d
 * runs it inside a customGrad, where nothing is recorded). One function per input, so that the tape computes only
 * the gradients it needs: the first convolution's input gradient (the posters') is never computed, as in Keras.
 */
const fusedConvGradient: tf.GradConfig = {
  kernelName: "FusedConv2D",
  inputsToSave: ["x", "filter"],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const { strides, pad, dataFormat, dilations, activation } = attrs as unknown as ConvAttrs & { activation: string };
    if (activation !== "relu") throw new Error(`FusedConv2D's recorded gradient is for a ReLU only, got activation '${activation}'`);
    const conv = { strides, pad, dataFormat, dilations };
    const dz = tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, x: y }) as tf.Tensor4D;
    const filterAttrs = { ...conv, filterShape: filter.shape } as unknown as tf.NamedAttrMap;
    // The filter's and the bias's gradients in one pass where the backend has it (oneDNN's, on native). Computed
    // here, in the backward pass's scope like dz, because the tape calls each input's function in a tidy of its own.
    // Training wants both; a gradient for the layer's input alone (none in the workbook) computes them for nothing.
    const both =
      tf.getKernel(CONV2D_BACKPROP_FILTER_WITH_BIAS, tf.getBackend()) != null
        ? (tf.engine().runKernel(CONV2D_BACKPROP_FILTER_WITH_BIAS, { x, dy: dz }, filterAttrs) as unknown as tf.Tensor[])
        : undefined;
    return {
      x: () => tf.engine().runKernel("Conv2DBackpropInput", { dy: dz, filter }, { ...conv, inputShape: x.shape }) as tf.Tensor,
      filter: () => both?.[0] ?? (tf.engine().runKernel("Conv2DBackpropFilter", { x, dy: dz }, filterAttrs) as tf.Tensor),
      bias: () => both?.[1] ?? tf.sum(dz, [0, 1, 2]),
    };
  },
};

interface ConvAttrs {
  strides: [number, number];
  pad: "same" | "valid";
  dataFormat: "NHWC";
  dilations: [number, number];
}

let gradientRegistered = false;

/** relu(conv2d(x, filter) + bias), NHWC, as one op, with its gradient from the output. */
export function conv2dBiasRelu(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  strides: [number, number],
  pad: "same" | "valid",
): tf.Tensor4D {
  if (!gradientRegistered) {
    tf.registerGradient(fusedConvGradient);
    gradientRegistered = true;
  }
  const attrs: ConvAttrs & { activation: string } = { strides, pad, dataFormat: "NHWC", dilations: [1, 1], activation: "relu" };
  return tf.engine().runKernel("FusedConv2D", { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

function fusedCall(layer: ConvLike, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | undefined {
  if (!fusedConvActive() || layer.rank !== 2 || layer.kernel == null || layer.bias == null) return undefined;
  if (layer.activation.getClassName() !== "relu" || layer.dataFormat !== "channelsLast") return undefined;
  if (!layer.dilationRate.every((d) => d === 1) || (layer.padding !== "same" && layer.padding !== "valid")) return undefined;
  const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
  if (x === undefined || x.dtype !== "float32" || x.rank !== 4) return undefined;
  layer.invokeCallHook(inputs, kwargs);
  const strides: [number, number] = [layer.strides[0] ?? 1, layer.strides[1] ?? layer.strides[0] ?? 1];
  return conv2dBiasRelu(x as tf.Tensor4D, layer.kernel.read() as tf.Tensor4D, layer.bias.read() as tf.Tensor1D, strides, layer.padding);
}

/** Routes every Conv2D layer's call through fusedCall (idempotent; each call checks the active backend). */
export function installFusedConv(): void {
  routeLayerCall<ConvLike>("Conv2D", fusedCall);
}
