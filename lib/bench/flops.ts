/**
 * The arithmetic a model's step asks for, counted from its layers' shapes, so that a throughput can be read as
 * GFLOP/s against the machine's peak (docs/PERFORMANCE.md). Counted: the multiply-adds (2 flops each) of Conv2D,
 * Dense and LSTM layers (an LSTM's four gates at every time step, in each direction of a Bidirectional); biases,
 * activations, pooling, dropout and the optimizer are element-wise and left out (a few percent).
 *
 * A training step is the forward pass, the weights' gradients (the same multiply-adds again) and the inputs'
 * gradients (again), except for a layer fed by the model's input: nothing needs the gradient of the posters or the
 * token ids, and neither Keras nor the workbook computes it.
 */
import type * as tf from "@tensorflow/tfjs";

export interface StepFlops {
  /** Flops of one sample's forward pass. */
  forward: number;
  /** Flops of one sample's training step: forward and backward. */
  training: number;
}

interface LayerLike {
  getClassName(): string;
  outputShape: unknown;
  inboundNodes: { inboundLayers: LayerLike[] }[];
  getConfig(): Record<string, unknown>;
  forwardLayer?: LayerLike;
}

/** The last dimension of a layer's (single) output shape. */
function lastDim(layer: LayerLike): number {
  const shape = layer.outputShape as (number | null)[];
  const dim = shape[shape.length - 1];
  if (typeof dim !== "number") throw new Error(`flops: layer ${layer.getClassName()} has no fixed last dimension`);
  return dim;
}

function pair(value: unknown): [number, number] {
  return Array.isArray(value) ? [value[0] as number, (value[1] ?? value[0]) as number] : [value as number, value as number];
}

/** One sample's forward flops of a layer, given the sequence length an RNN runs over. */
function layerForwardFlops(layer: LayerLike, input: LayerLike | undefined, sequenceLength: number): number {
  const inputDim = () => (input === undefined ? 0 : lastDim(input));
  switch (layer.getClassName()) {
    case "Conv2D": {
      const [, oh, ow, co] = layer.outputShape as number[];
      const [fh, fw] = pair(layer.getConfig()["kernelSize"]);
      return 2 * oh! * ow! * fh * fw * inputDim() * co!;
    }
    case "Dense":
      return 2 * inputDim() * lastDim(layer);
    case "LSTM": {
      const units = layer.getConfig()["units"] as number;
      return sequenceLength * 2 * 4 * units * (inputDim() + units);
    }
    case "Bidirectional":
      return 2 * layerForwardFlops(layer.forwardLayer!, input, sequenceLength);
    default:
      return 0;
  }
}

/**
 * One sample's flops for `model` (a chain of layers, as the coursework's two models are), with its recurrent layers
 * run over `sequenceLength` time steps (the batch's padded length; ignored without recurrent layers).
 */
export function stepFlops(model: tf.LayersModel, sequenceLength = 0): StepFlops {
  let forward = 0;
  let training = 0;
  for (const layer of model.layers as unknown as LayerLike[]) {
    const input = layer.inboundNodes[0]?.inboundLayers[0];
    const flops = layerForwardFlops(layer, input, sequenceLength);
    const fedByModelInput = input?.getClassName() === "InputLayer";
    forward += flops;
    training += flops * (fedByModelInput ? 2 : 3);
  }
  return { forward, training };
}
