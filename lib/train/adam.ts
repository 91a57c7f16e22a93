/**
 * Adam as Keras 3 computes it, on every backend, and in one pass per weight where the backend has the fused kernel
 * (native TensorFlow built by `npm run native`: runtime/native-kernels.ts KERAS_ADAM).
 */
import * as tf from "@tensorflow/tfjs";
import { KERAS_EPSILON } from "../models/losses";
import { KERAS_ADAM, fusedAdamActive } from "../runtime/native-kernels";

export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;

type VariableGradients = Parameters<tf.AdamOptimizer["applyGradients"]>[0];

/** tfjs's AdamOptimizer state that the fused route keeps in tfjs's own format (so getWeights/setWeights still work). */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

/**
 * Adam as Keras 3 computes it: at step t, w -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon),
 * epsilon 1e-7 (the Adam paper's "epsilon hat" form). TF.js's Adam instead adds its epsilon to
 * sqrt(v / (1 - beta2^t)): the same update when that epsilon is Keras's divided by sqrt(1 - beta2^t), which is what
 * each step sets. The two differ only for gradients near epsilon, where TF.js moves such a weight up to ten times
 * further in the first steps (`npm run parity` measured 7e-5 on one step of the CNN before this).
 *
 * Where the backend has the fused kernel, each weight is updated by one kernel call instead of TF.js's fourteen
 * element-wise ops (32 ms of a 205 ms CNN training step on native TensorFlow, memory-bound); the result is the same
 * to float32 rounding (test/adam.test.ts).
 */
export class KerasAdamOptimizer extends tf.AdamOptimizer {
  private steps = 0;

  constructor(learningRate: number) {
    super(learningRate, ADAM_BETA1, ADAM_BETA2, KERAS_EPSILON);
  }

  override applyGradients(variableGradients: VariableGradients): void {
    this.steps++;
    if (fusedAdamActive()) {
      this.applyFused(variableGradients);
      return;
    }
    this.epsilon = KERAS_EPSILON / Math.sqrt(1 - Math.pow(ADAM_BETA2, this.steps));
    super.applyGradients(variableGradients);
  }

  private applyFused(variableGradients: VariableGradients): void {
    const state = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const alpha = (this.learningRate * Math.sqrt(1 - Math.pow(ADAM_BETA2, this.steps))) / (1 - Math.pow(ADAM_BETA1, this.steps));
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name] as tf.Variable;
        state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i]?.tensor : variableGradients[name];
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i].variable;
        const v = state.accumulatedSecondMoment[i].variable;
        const [w1, m1, v1] = tf
          .engine()
          .runKernel(
            KERAS_ADAM,
            { w: value, m, v, g: gradient },
            { alpha, beta1: ADAM_BETA1, beta2: ADAM_BETA2, epsilon: KERAS_EPSILON },
          ) as tf.Tensor[];
        m.assign(m1 as tf.Tensor);
        v.assign(v1 as tf.Tensor);
        value.assign(w1 as tf.Tensor);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, ADAM_BETA1));
      state.accBeta2.assign(tf.mul(state.accBeta2, ADAM_BETA2));
    });
    state.incrementIterations();
  }
}

/** Adam as Keras builds it (KerasAdamOptimizer). */
export function kerasAdam(learningRate: number): tf.AdamOptimizer {
  return new KerasAdamOptimizer(learningRate);
}
