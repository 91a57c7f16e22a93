import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels } from "../lib/runtime/wasm-kernels/index";
import { LSTM_SEQUENCE, LSTM_SEQUENCE_PAIR } from "../lib/runtime/lstm-sequence";
import { nativeOrSkip } from "./helpers";
import { addonKernelCalls, setAddonLstm } from "../lib/runtime/native-kernels";
import { fusedLstmActive, installFusedLstm, lstmDropoutMask, setFusedLstm } from "../lib/runtime/fused-lstm";
import { fastDropoutActive, setFastDropout } from "../lib/runtime/fast-dropout";
import { seededRandom, withSeededMathRandomSync } from "../lib/runtime/random";
import { buildLstm } from "../lib/models/coursework";
import { kerasAdam } from "../lib/train/adam";
import { binaryCrossentropyLoss } from "../lib/models/losses";

/**
 * The fused Bidirectional(LSTM) route against tfjs-layers' own call (the reference implementation), on
 * the same weights, inputs and seeded dropout masks.
 */

interface Stack {
  model: tf.LayersModel;
  ids: tf.Tensor2D;
}

/** Embedding (mask_zero) -> Bidirectional(LSTM, sequences) -> Bidirectional(LSTM) -> Dense, with large weights. */
function stack(options: { maskZero: boolean; dropout: number; recurrentDropout: number; seed: number }): Stack {
  const lstm = (units: number, returnSequences: boolean) =>
    tf.layers.lstm({
      units,
      returnSequences,
      recurrentActivation: "sigmoid",
      dropout: options.dropout,
      recurrentDropout: options.recurrentDropout,
    });
  const model = withSeededMathRandomSync(options.seed, () => {
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: 40, outputDim: 7, maskZero: options.maskZero, inputShape: [null] as unknown as number[] }));
    m.add(tf.layers.bidirectional({ layer: lstm(6, true) as tf.RNN, mergeMode: "concat" }));
    m.add(tf.layers.bidirectional({ layer: lstm(5, false) as tf.RNN, mergeMode: "concat" }));
    m.add(tf.layers.dense({ units: 4 }));
    return m;
  });
  // Weights far from the initialisers' small values, so that the gates leave their linear range.
  const r = seededRandom(options.seed + 1);
  model.setWeights(
    model.getWeights().map((w) =>
      tf.tensor(
        Float32Array.from({ length: w.size }, () => (r() - 0.5) * 1.6),
        w.shape,
      ),
    ),
  );
  // Films of different lengths, padded with 0 at the end; one overview of unknown words only, one empty, and
  // one padded at the start (the forward direction's first steps are masked).
  const ids = tf.tensor2d(
    [
      [3, 4, 5, 0, 0, 0, 0],
      [7, 8, 9, 10, 11, 12, 13],
      [1, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0],
      [21, 22, 23, 24, 25, 0, 0],
      [0, 0, 31, 32, 33, 34, 35],
    ],
    [6, 7],
    "int32",
  );
  return { model, ids };
}

interface Pass {
  output: Float32Array;
  loss: number;
  grads: Float32Array[];
}

/**
 * The fused route's kernel and its gradient on the active backend: native TensorFlow runs a Bidirectional layer's
 * two directions as one LstmSequencePair call (side by side), wasm as two LstmSequence calls.
 */
function fusedKernelNames(): [string, string] {
  const name = tf.getBackend() === "tensorflow" ? LSTM_SEQUENCE_PAIR : LSTM_SEQUENCE;
  return [name, `${name}Grad`];
}

async function pass(s: Stack, fused: boolean, training: boolean): Promise<Pass> {
  setFusedLstm(fused);
  const vars = s.model.trainableWeights.map((w) => w.read() as tf.Variable);
  let result: Pass | undefined;
  const kernels = new Set<string>();
  // The same seed for both routes: dropout masks come from tf.dropout's Math.random-seeded draws.
  // tf.profile calls its function at once (synchronously, inside the seeded Math.random) and reports after.
  const profile = withSeededMathRandomSync(11, () =>
    tf.profile(() =>
      tf.tidy(() => {
        let output: Float32Array | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const y = s.model.apply(s.ids, { training }) as tf.Tensor;
          output = y.dataSync() as Float32Array;
          return tf.sum(tf.mul(y, tf.range(1, y.size + 1).reshape(y.shape)));
        }, vars);
        result = { output: output!, loss: value.dataSync()[0]!, grads: vars.map((v) => grads[v.name]!.dataSync() as Float32Array) };
      }),
    ),
  );
  (await profile).kernels.forEach((k) => kernels.add(k.name));
  // The route really taken: the fused kernels, or none of them.
  const [forward, backward] = fusedKernelNames();
  assert.equal(kernels.has(forward) && kernels.has(backward), fused, `kernels run: ${[...kernels].join(",")}`);
  return result!;
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string, tol = 2e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = Math.abs(actual[i]! - expected[i]!) / (1 + Math.abs(expected[i]!));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  assert.ok(worst <= tol, `${what}: worst relative difference ${worst}`);
}

/** The kernels `fn` runs, one entry per call. */
function kernelCalls(fn: () => void): Promise<string[]> {
  return tf.profile(() => tf.tidy(fn)).then((info) => info.kernels.map((k) => k.name));
}

// Native TensorFlow runs LstmSequence in the addon (native/workbook_kernels.cc) or, where the addon lacks it, as
// TensorFlow ops composed in JavaScript: both routes are checked.
for (const [backend, route] of [
  ["wasm", "wasm kernels"],
  ["tensorflow", "addon kernels"],
  ["tensorflow", "composed TensorFlow ops"],
] as const)
  describe(`fused Bidirectional(LSTM) on ${backend} (${route})`, function () {
    this.timeout(120000);

    before(async function () {
      if (backend === "wasm") {
        registerWasmTrainingKernels();
        installFusedLstm();
        assert.ok(await tf.setBackend("wasm"));
      } else {
        await nativeOrSkip(this);
      }
      setAddonLstm(route !== "composed TensorFlow ops");
    });

    after(() => setAddonLstm(true));

    after(async () => {
      setFusedLstm(true);
      await tf.setBackend("cpu");
    });

    for (const maskZero of [true, false]) {
      it(`equals tfjs-layers' LSTM at inference: outputs and gradients${maskZero ? " (masked, padded batches)" : " (no mask)"}`, async () => {
        const s = stack({ maskZero, dropout: 0.5, recurrentDropout: 0.2, seed: 3 });
        const stock = await pass(s, false, false);
        const fused = await pass(s, true, false);
        assert.ok(Math.max(...stock.output.map(Math.abs)) > 0.1, "outputs are not trivially small");
        assertClose(fused.output, stock.output, "outputs");
        stock.grads.forEach((g, k) => assertClose(fused.grads[k]!, g, `gradient of ${s.model.trainableWeights[k]!.name}`));
        tf.dispose([s.ids]);
        s.model.dispose();
      });
    }

    it("equals tfjs-layers' LSTM in training: the same dropout and recurrent-dropout masks, outputs and gradients", async () => {
      const s = stack({ maskZero: true, dropout: 0.5, recurrentDropout: 0.2, seed: 5 });
      const stock = await pass(s, false, true);
      // On native the fused route draws its masks with the DropoutMask kernel (other masks than the stock layer's
      // for the same seed, see the next test); off that route it draws tfjs's, in the stock order.
      setFastDropout(false);
      const fused = await pass(s, true, true).finally(() => setFastDropout(true));
      const atInference = await pass(s, true, false);
      assert.ok(
        stock.output.some((v, i) => Math.abs(v - atInference.output[i]!) > 1e-3),
        "dropout changes the training outputs",
      );
      assertClose(fused.output, stock.output, "outputs");
      assert.ok(Math.abs(fused.loss - stock.loss) <= 1e-4 * (1 + Math.abs(stock.loss)), `loss ${fused.loss} vs ${stock.loss}`);
      stock.grads.forEach((g, k) => assertClose(fused.grads[k]!, g, `gradient of ${s.model.trainableWeights[k]!.name}`));
      tf.dispose([s.ids]);
      s.model.dispose();
    });

    it(`draws each dropout mask ${backend === "tensorflow" ? "once, with the DropoutMask kernel" : "as tfjs-layers' LSTMCell does"}: 0 or 1 / (1 - rate), the same for the same seed`, async () => {
      const draw = (seed: number, rate: number) =>
        withSeededMathRandomSync(seed, () => tf.tidy(() => lstmDropoutMask(rate, [64, 256], true)!.dataSync() as Float32Array));
      const kernels = await kernelCalls(() => lstmDropoutMask(0.2, [64, 256], true));
      if (backend === "tensorflow") {
        assert.equal(fastDropoutActive(), true);
        assert.deepEqual(kernels, ["DropoutMask"]);
      } else {
        // generateDropoutMask's four masks, each tf.dropout(ones): no DropoutMask kernel
        assert.ok(!kernels.includes("DropoutMask") && kernels.length >= 4, kernels.join(","));
      }
      for (const rate of [0.2, 0.5]) {
        const mask = draw(7, rate);
        const kept = mask.filter((v) => v !== 0);
        assert.ok(
          kept.every((v) => Math.abs(v - 1 / (1 - rate)) < 1e-6),
          "kept entries are 1 / (1 - rate)",
        );
        // 16,384 draws: the kept fraction's standard deviation is under 0.004
        assert.ok(Math.abs(kept.length / mask.length - (1 - rate)) < 0.02, `kept ${kept.length} of ${mask.length} at rate ${rate}`);
        assert.deepEqual(draw(7, rate), mask, "the same seed gives the same mask");
        assert.notDeepEqual(draw(8, rate), mask, "another seed gives another mask");
      }
      assert.equal(lstmDropoutMask(0.2, [4, 3], false), undefined, "no mask at inference");
      assert.equal(lstmDropoutMask(0, [4, 3], true), undefined, "no mask at rate 0");
    });

    it("a fully masked film keeps the zero state in both directions: its output is the last Dense layer's bias", async () => {
      const s = stack({ maskZero: true, dropout: 0, recurrentDropout: 0, seed: 9 });
      const fused = await pass(s, true, false);
      const bias = (s.model.layers[3] as tf.layers.Layer).getWeights()[1]!.dataSync() as Float32Array;
      // row 3 is all padding
      assertClose(fused.output.slice(12, 16), bias, "empty overview", 1e-6);
      tf.dispose([s.ids]);
      s.model.dispose();
    });

    it("a one-step batch (T = 1) equals the same films padded to two steps", async () => {
      const s = stack({ maskZero: true, dropout: 0, recurrentDropout: 0, seed: 13 });
      const one = { model: s.model, ids: tf.tensor2d([[3], [7], [0]], [3, 1], "int32") };
      const two = {
        model: s.model,
        ids: tf.tensor2d(
          [
            [3, 0],
            [7, 0],
            [0, 0],
          ],
          [3, 2],
          "int32",
        ),
      };
      const a = await pass(one, true, false);
      const b = await pass(two, true, false);
      assertClose(a.output, b.output, "outputs", 1e-6);
      b.grads.forEach((g, k) => assertClose(a.grads[k]!, g, `gradient of ${s.model.trainableWeights[k]!.name}`, 1e-6));
      tf.dispose([s.ids, one.ids, two.ids]);
      s.model.dispose();
    });

    it("runs the coursework BiLSTM through LstmSequence with far fewer kernels, and changes nothing saved", async () => {
      const build = () => buildLstm({ vocabularySize: 300, embeddingSize: 16, seed: 1 });
      const model = build();
      const ids = tf.tensor2d(
        Array.from({ length: 4 * 12 }, (_, i) => (i % 12 < 4 + (i % 5) ? 2 + ((i * 7) % 290) : 0)),
        [4, 12],
        "int32",
      );
      const labels = tf.tensor2d(
        Array.from({ length: 4 * 25 }, (_, i) => (i % 3 === 0 ? 1 : 0)),
        [4, 25],
      );
      const optimizer = kerasAdam(1e-3);
      const step = () =>
        optimizer.minimize(() => binaryCrossentropyLoss(labels, model.apply(ids, { training: true }) as tf.Tensor) as tf.Scalar);

      setFusedLstm(false);
      assert.equal(fusedLstmActive(), false);
      const stockKernels = await kernelCalls(step);
      setFusedLstm(true);
      assert.equal(fusedLstmActive(), true);
      const pairCalls = () => ["lstm_forward_pair", "lstm_backward_pair"].map((k) => addonKernelCalls.get(k) ?? 0);
      const before = pairCalls();
      const fusedKernels = await kernelCalls(step);
      // in the addon, each layer's two directions are one call (side by side) forward and one backward
      const expected = route === "addon kernels" ? [2, 2] : [0, 0];
      assert.deepEqual(
        pairCalls().map((n, k) => n - before[k]!),
        expected,
      );
      const [forward, backward] = fusedKernelNames();
      assert.ok(!stockKernels.includes(forward));
      assert.ok(fusedKernels.includes(forward) && fusedKernels.includes(backward), `fused kernels: ${fusedKernels.join(",")}`);
      // one call per Bidirectional layer on native (both directions), one per direction on wasm
      assert.equal(fusedKernels.filter((k) => k === forward).length, forward === LSTM_SEQUENCE_PAIR ? 2 : 4);
      assert.ok(
        fusedKernels.length * (backend === "wasm" ? 5 : 3) < stockKernels.length,
        `${fusedKernels.length} kernel calls vs ${stockKernels.length}`,
      );

      // Same parameters, names and topology as a model built with the stock route.
      setFusedLstm(false);
      const reference = build();
      setFusedLstm(true);
      assert.equal(model.countParams(), reference.countParams());
      assert.deepEqual(
        model.layers.map((l) => l.name),
        reference.layers.map((l) => l.name),
      );
      // (weight names get numeric suffixes from tfjs's per-process name counters: compare layer and shape)
      const weights = (m: tf.LayersModel) => m.weights.map((w) => `${w.name.split("/")[0]} ${w.shape}`);
      assert.deepEqual(weights(model), weights(reference));
      tf.dispose([ids, labels]);
      optimizer.dispose();
      model.dispose();
      reference.dispose();
    });

    it("leaves other backends on the stock route", async () => {
      await tf.setBackend("cpu");
      assert.equal(fusedLstmActive(), false);
      await tf.setBackend(backend);
      assert.equal(fusedLstmActive(), true);
    });
  });
