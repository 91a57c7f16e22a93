/**
 * Weight initialisers with Keras's defaults where tfjs's differ or are too slow, seeded so that a run's seed
 * gives the same starting weights.
 */
import * as tf from "@tensorflow/tfjs";
import { Random, seededRandom } from "../runtime/random";

export type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

/**
 * Glorot-uniform kernels (Keras's default) for the layers of one model, in the order they are asked for:
 * the k-th call gets seed + k, so every layer starts differently and the same seed gives the same model.
 * Without a seed every call is unseeded.
 */
export function seededKernels(seed: number | undefined): () => Initializer {
  let next = 0;
  return () => tf.initializers.glorotUniform(seed === undefined ? {} : { seed: seed + next++ });
}

/** Keras's Embedding default: uniform in [-0.05, 0.05]. */
export function embeddingInitializer(seed: number | undefined): Initializer {
  return tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, ...(seed === undefined ? {} : { seed }) });
}

/** tfjs-layers' Initializer base class, which its public API exposes only through instances. */
const InitializerBase = Object.getPrototypeOf(tf.initializers.zeros().constructor) as new () => object;

/**
 * Keras's orthogonal initializer (QR of a normal matrix, Q made unique by the signs of R's diagonal,
 * transposed when there are fewer rows than columns), computed in plain JS. tfjs's own version runs a QR
 * decomposition through tensor ops and takes minutes for the 256x1024 recurrent kernel on the cpu and
 * wasm backends, at every build and every model load. Registered under its own name so that loading a
 * saved model uses it too.
 */
export class FastOrthogonal extends InitializerBase {
  static className = "WorkbookOrthogonal";
  constructor(readonly config: { gain?: number; seed?: number } = {}) {
    super();
  }

  apply(shape: number[], dtype?: tf.DataType): tf.Tensor {
    if (shape.length < 2) throw new Error(`orthogonal initializer needs a shape of rank >= 2, got [${shape.join(", ")}]`);
    const cols = shape[shape.length - 1] as number;
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const q = orthonormalColumns(
      Math.max(rows, cols),
      Math.min(rows, cols),
      this.config.seed === undefined ? Math.random : seededRandom(this.config.seed),
    );
    const gain = this.config.gain ?? 1;
    const n = Math.max(rows, cols);
    const k = Math.min(rows, cols);
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) {
        const v = gain * (q[i * k + j] as number);
        if (rows >= cols) out[i * cols + j] = v;
        else out[j * cols + i] = v; // transpose: Q is cols x rows here
      }
    }
    return tf.tensor(out, shape, dtype ?? "float32");
  }

  getConfig(): { gain?: number; seed?: number } {
    return { ...this.config };
  }
}
tf.serialization.registerClass(FastOrthogonal as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

/**
 * Q (n x k, row-major, orthonormal columns) of the QR decomposition of an n x k standard-normal matrix,
 * with each column's sign chosen so that R's diagonal is positive (what Keras's q * sign(diag(r)) gives).
 * Modified Gram-Schmidt, twice for accuracy.
 */
function orthonormalColumns(n: number, k: number, random: Random): Float64Array {
  const a = new Float64Array(n * k);
  for (let i = 0; i < n * k; i += 2) {
    // Box-Muller: two standard normals from two uniforms.
    const u = Math.max(random(), 1e-300);
    const r = Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * random();
    a[i] = r * Math.cos(t);
    if (i + 1 < n * k) a[i + 1] = r * Math.sin(t);
  }
  // Work on columns stored contiguously.
  const cols: Float64Array[] = Array.from({ length: k }, (_, j) => {
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) c[i] = a[i * k + j] as number;
    return c;
  });
  for (let j = 0; j < k; j++) {
    const v = cols[j] as Float64Array;
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        const u = cols[p] as Float64Array;
        let dot = 0;
        for (let i = 0; i < n; i++) dot += (u[i] as number) * (v[i] as number);
        for (let i = 0; i < n; i++) v[i] = (v[i] as number) - dot * (u[i] as number);
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += (v[i] as number) * (v[i] as number);
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) v[i] = (v[i] as number) / norm;
  }
  const q = new Float64Array(n * k);
  for (let j = 0; j < k; j++) for (let i = 0; i < n; i++) q[i * k + j] = (cols[j] as Float64Array)[i] as number;
  return q;
}
