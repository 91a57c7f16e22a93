/**
 * The gated multimodal unit (Arevalo et al. 2017, "Gated Multimodal Units for Information Fusion"): the
 * layer that fuses the poster and overview representations of a joint model. Imported by every module that
 * builds or loads a joint model, which registers it with tf.serialization.
 */
import * as tf from "@tensorflow/tfjs";

type Shape = Array<number | null>;
type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface GatedMultimodalUnitArgs extends LayerArgs {
  /** Size of the fused representation h (and of the gate z). */
  units: number;
  /** Seed of the glorot-uniform kernels (W_v, W_t, W_z get seed, seed+1, seed+2). */
  seed?: number;
}

/** What the unit computes for a batch, besides h: the two modality representations and the gate. */
export interface GmuParts {
  /** h_v' = tanh(W_v h_v + b_v), batch x units. */
  visual: tf.Tensor2D;
  /** h_t' = tanh(W_t h_t + b_t), batch x units. */
  text: tf.Tensor2D;
  /** z = sigmoid(W_z [h_v; h_t] + b_z), batch x units: the weight of the poster in each output dimension. */
  gate: tf.Tensor2D;
  /** h = z * h_v' + (1 - z) * h_t'. */
  fused: tf.Tensor2D;
}

/**
 * Gated multimodal unit (Arevalo et al. 2017), inputs [h_v (batch x d_v), h_t (batch x d_t)]:
 *
 *   h_v' = tanh(h_v W_v + b_v)           W_v: d_v x units
 *   h_t' = tanh(h_t W_t + b_t)           W_t: d_t x units
 *   z    = sigmoid([h_v; h_t] W_z + b_z) W_z: (d_v + d_t) x units, one gate per output dimension
 *   h    = z * h_v' + (1 - z) * h_t'
 *
 * Kernels glorot-uniform, biases zeros (Keras's defaults). Output batch x units. z = 1 means "this
 * dimension comes from the poster", z = 0 "from the overview". The weights are, in order,
 * [W_v, b_v, W_t, b_t, W_z, b_z] (getWeights/setWeights order). Registered with tf.serialization, so a saved
 * fusion model loads back with loadCheckpoint / tf.loadLayersModel once this module has been imported.
 */
export class GatedMultimodalUnit extends tf.layers.Layer {
  static className = "GatedMultimodalUnit";
  readonly units: number;
  readonly seed: number | undefined;
  private kernelV!: tf.LayerVariable;
  private biasV!: tf.LayerVariable;
  private kernelT!: tf.LayerVariable;
  private biasT!: tf.LayerVariable;
  private kernelZ!: tf.LayerVariable;
  private biasZ!: tf.LayerVariable;

  constructor(args: GatedMultimodalUnitArgs) {
    super(args);
    if (!Number.isInteger(args.units) || args.units < 1)
      throw new Error(`GatedMultimodalUnit: units must be a positive integer, got ${args.units}`);
    this.units = args.units;
    this.seed = args.seed;
    // Masks end at the branches (the LSTM branch's last recurrent layer returns no sequence).
    this.supportsMasking = true;
  }

  private static twoShapes(inputShape: Shape | Shape[]): [Shape, Shape] {
    const shapes = inputShape as Shape[];
    if (!Array.isArray(shapes[0]) || shapes.length !== 2) {
      throw new Error(`GatedMultimodalUnit expects two inputs [h_v, h_t], got shape ${JSON.stringify(inputShape)}`);
    }
    const [v, t] = shapes as [Shape, Shape];
    if (v.length !== 2 || t.length !== 2)
      throw new Error(`GatedMultimodalUnit expects rank-2 inputs (batch x features), got ${JSON.stringify(inputShape)}`);
    return [v, t];
  }

  override build(inputShape: Shape | Shape[]): void {
    const [v, t] = GatedMultimodalUnit.twoShapes(inputShape);
    const dv = v[1];
    const dt = t[1];
    if (dv == null || dt == null)
      throw new Error(`GatedMultimodalUnit: the feature sizes must be known, got ${JSON.stringify(inputShape)}`);
    const glorot = (k: number) => tf.initializers.glorotUniform(this.seed === undefined ? {} : { seed: this.seed + k });
    const zeros = tf.initializers.zeros();
    this.kernelV = this.addWeight("W_v", [dv, this.units], "float32", glorot(0));
    this.biasV = this.addWeight("b_v", [this.units], "float32", zeros);
    this.kernelT = this.addWeight("W_t", [dt, this.units], "float32", glorot(1));
    this.biasT = this.addWeight("b_t", [this.units], "float32", zeros);
    this.kernelZ = this.addWeight("W_z", [dv + dt, this.units], "float32", glorot(2));
    this.biasZ = this.addWeight("b_z", [this.units], "float32", zeros);
    this.built = true;
  }

  /** h_v', h_t', z and h for concrete inputs (the layer must be built). Call inside tf.tidy. */
  parts(hv: tf.Tensor, ht: tf.Tensor): GmuParts {
    const visual = tf.tanh(tf.add(tf.matMul(hv as tf.Tensor2D, this.kernelV.read() as tf.Tensor2D), this.biasV.read())) as tf.Tensor2D;
    const text = tf.tanh(tf.add(tf.matMul(ht as tf.Tensor2D, this.kernelT.read() as tf.Tensor2D), this.biasT.read())) as tf.Tensor2D;
    const both = tf.concat([hv, ht], 1) as tf.Tensor2D;
    const gate = tf.sigmoid(tf.add(tf.matMul(both, this.kernelZ.read() as tf.Tensor2D), this.biasZ.read())) as tf.Tensor2D;
    // z * v + (1 - z) * t = t + z * (v - t)
    const fused = tf.add(text, tf.mul(gate, tf.sub(visual, text))) as tf.Tensor2D;
    return { visual, text, gate, fused };
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      if (!Array.isArray(inputs) || inputs.length !== 2) throw new Error("GatedMultimodalUnit expects two inputs [h_v, h_t]");
      const [hv, ht] = inputs as [tf.Tensor, tf.Tensor];
      return this.parts(hv, ht).fused;
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [v] = GatedMultimodalUnit.twoShapes(inputShape);
    return [v[0] ?? null, this.units];
  }

  /** No mask leaves the unit (its inputs are per-film vectors). */
  override computeMask(_inputs: tf.Tensor | tf.Tensor[], _mask?: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[] {
    return null as unknown as tf.Tensor;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { units: this.units };
    if (this.seed !== undefined) config["seed"] = this.seed;
    return { ...super.getConfig(), ...config };
  }
}
tf.serialization.registerClass(GatedMultimodalUnit);

export function gatedMultimodalUnit(args: GatedMultimodalUnitArgs): GatedMultimodalUnit {
  return new GatedMultimodalUnit(args);
}
