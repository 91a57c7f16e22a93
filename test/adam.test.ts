import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import { nativeOrSkip } from "./helpers";
import { fusedAdamActive, setFusedAdam } from "../lib/runtime/native-kernels";
import { kerasAdam } from "../lib/train/adam";
import { seededRandom } from "../lib/runtime/random";

/** Keras 3's Adam (keras/src/optimizers/adam.py), step by step in float64: the reference. */
function kerasAdamReference(w0: number[], grads: number[][], lr: number): number[] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-7];
  const w = [...w0];
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  grads.forEach((g, step) => {
    const t = step + 1;
    const alpha = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    for (let i = 0; i < w.length; i++) {
      m[i]! += (g[i]! - m[i]!) * (1 - b1);
      v[i]! += (g[i]! * g[i]! - v[i]!) * (1 - b2);
      w[i]! -= (alpha * m[i]!) / (Math.sqrt(v[i]!) + eps);
    }
  });
  return w;
}

function adamSteps(w0: number[], grads: number[][], lr: number): number[] {
  const w = tf.variable(tf.tensor1d(w0), true, `adam_test_${Math.random()}`);
  const optimizer = kerasAdam(lr);
  for (const g of grads) tf.tidy(() => optimizer.applyGradients([{ name: w.name, tensor: tf.tensor1d(g) }]));
  const out = Array.from(w.dataSync());
  optimizer.dispose();
  w.dispose();
  return out;
}

function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) =>
    assert.ok(Math.abs(a - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)), `${what}[${i}]: ${a} vs ${expected[i]}`),
  );
}

describe("Keras's Adam", function () {
  this.timeout(60000);
  const random = seededRandom(3);
  // Gradients of mixed sizes, some near epsilon, where the two epsilon conventions would differ.
  const w0 = Array.from({ length: 300 }, () => random() * 2 - 1);
  const grads = Array.from({ length: 4 }, () => w0.map((_, i) => (i % 7 === 0 ? 1e-7 : random() * 2 - 1)));

  it("takes Keras 3's steps on the cpu backend (hand-computed, in float64)", async () => {
    await tf.setBackend("cpu");
    assertClose(adamSteps(w0, grads, 1e-3), kerasAdamReference(w0, grads, 1e-3), 2e-6, "w");
  });

  it("the fused native kernel takes the same steps as TF.js's element-wise route, to float32 rounding", async function () {
    await nativeOrSkip(this);
    assert.equal(fusedAdamActive(), true, "the native addon has the workbook's kernels (npm run native)");
    const fused = adamSteps(w0, grads, 1e-3);
    setFusedAdam(false);
    try {
      assert.equal(fusedAdamActive(), false);
      const stock = adamSteps(w0, grads, 1e-3);
      assertClose(fused, stock, 1e-6, "fused vs element-wise");
    } finally {
      setFusedAdam(true);
    }
    assertClose(fused, kerasAdamReference(w0, grads, 1e-3), 2e-6, "fused vs Keras");
    await tf.setBackend("cpu");
  });
});
