import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { FastOrthogonal } from "../lib/models/initializers";
import { buildCnn, buildLstm, summaryLines } from "../lib/models/coursework";
import { useBackend } from "./helpers";

describe("coursework models", function () {
  this.timeout(60000);
  useBackend("cpu");

  it("CNN: 3,464,601 parameters, the template's layers, 25 sigmoid outputs for 64x64x3 posters", () => {
    const model = buildCnn({ seed: 1 });
    assert.equal(model.countParams(), 3464601);
    // Per-layer parameter counts from the coursework's table (docs/COURSEWORK.md).
    const params = Object.fromEntries(model.layers.map((l) => [l.name, l.countParams()]));
    assert.deepEqual(
      ["Conv0", "Conv1", "Conv2", "Conv3", "Conv4", "Conv5", "Conv6", "FC1", "FC2", "Output"].map((n) => params[n]),
      [448, 4640, 9248, 18496, 36928, 73856, 147584, 2098176, 1049600, 25625],
    );
    const dropoutRates = model.layers.filter((l) => l.getClassName() === "Dropout").map((l) => (l.getConfig() as { rate: number }).rate);
    assert.deepEqual(dropoutRates, [0.2, 0.2, 0.2, 0.2, 0.5, 0.5]);
    assert.deepEqual(model.getLayer("Conv0").outputShape, [null, 32, 32, 16]);
    assert.deepEqual(model.getLayer("flatten").outputShape, [null, 2048]);
    const y = model.predict(tf.zeros([2, 64, 64, 3])) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 25]);
    const values = y.dataSync();
    assert.ok(
      values.every((v) => v > 0 && v < 1),
      "sigmoid outputs",
    );
    tf.dispose([y]);
    model.dispose();
  });

  it("LSTM: 4,303,129 parameters with 10,000 words; masked BiLSTMs with the template's dropouts", () => {
    const model = buildLstm({ vocabularySize: 10000 });
    assert.equal(model.countParams(), 4303129);
    assert.deepEqual(
      model.layers.map((l) => l.countParams()),
      [2560000, 1050624, 656384, 32896, 0, 3225],
    );
    const embedding = model.layers[0]!.getConfig() as { maskZero: boolean; outputDim: number };
    assert.equal(embedding.maskZero, true);
    type LstmConfig = {
      dropout: number;
      recurrentDropout: number;
      returnSequences: boolean;
      recurrentActivation: string;
      activation: string;
      unitForgetBias: boolean;
    };
    const lstm = (model.layers[1]!.getConfig() as { layer: { config: LstmConfig } }).layer.config;
    assert.deepEqual([lstm.dropout, lstm.recurrentDropout, lstm.returnSequences], [0.5, 0.2, true]);
    // Keras's LSTM defaults, which tfjs does not share (hardSigmoid, no forget-gate bias of 1).
    assert.deepEqual([lstm.activation, lstm.recurrentActivation, lstm.unitForgetBias], ["tanh", "sigmoid", true]);
    assert.equal((model.layers[4]!.getConfig() as { rate: number }).rate, 0.8);
    assert.match(summaryLines(model).join("\n"), /Total params: 4303129/);
    model.dispose();
  });

  it("LSTM takes batches of any length; trailing padding does not change the prediction (mask_zero)", () => {
    const model = buildLstm({ vocabularySize: 50, embeddingSize: 8 });
    const short = tf.tensor2d([[5, 7, 9]], [1, 3], "int32");
    const padded = tf.tensor2d([[5, 7, 9, 0, 0, 0, 0]], [1, 7], "int32");
    const a = (model.predict(short) as tf.Tensor).dataSync();
    const b = (model.predict(padded) as tf.Tensor).dataSync();
    assert.equal(a.length, 25);
    for (let i = 0; i < 25; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5, `output ${i}: ${a[i]} vs ${b[i]}`);
    tf.dispose([short, padded]);
    model.dispose();
  });

  it("the orthogonal initializer gives orthonormal rows (fewer rows than columns) and columns (more rows)", () => {
    for (const [rows, cols] of [
      [8, 32],
      [32, 8],
      [16, 16],
    ] as const) {
      const w = new FastOrthogonal({ seed: 5 }).apply([rows, cols]);
      const m = w.arraySync() as number[][];
      const gram = rows <= cols ? tf.matMul(w, w, false, true) : tf.matMul(w, w, true, false);
      const g = gram.arraySync() as number[][];
      g.forEach((row, i) =>
        row.forEach((v, j) => assert.ok(Math.abs(v - (i === j ? 1 : 0)) < 1e-5, `${rows}x${cols} gram[${i}][${j}] = ${v}`)),
      );
      assert.equal(m.length, rows);
      tf.dispose([w, gram]);
    }
    const a = new FastOrthogonal({ seed: 5 }).apply([4, 4]).dataSync();
    const b = new FastOrthogonal({ seed: 5 }).apply([4, 4]).dataSync();
    assert.deepEqual(Array.from(a), Array.from(b), "same seed, same matrix");
  });
});
