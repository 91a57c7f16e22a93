import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import { batchedOutputs, predictBatches, predictInOrder } from "../lib/eval/inference";
import { orderByLength } from "../lib/data/batches";
import { overviewTensor } from "../lib/data/text";
import { buildLstm } from "../lib/models/coursework";
import { useBackend } from "./helpers";

describe("inference: batched predictions", () => {
  useBackend("cpu");

  it("batchedOutputs covers every sample once, in order, with a partial last batch", async () => {
    const calls: [number, number][] = [];
    const out = await batchedOutputs(
      5,
      2,
      (start, end) => {
        calls.push([start, end]);
        return tf.tensor2d(
          Array.from({ length: (end - start) * 2 }, (_, i) => start * 2 + i),
          [end - start, 2],
        );
      },
      (x) => tf.mul(x as tf.Tensor, 10),
      2,
    );
    assert.deepEqual(calls, [
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    assert.deepEqual([...out], [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  });

  it("predictBatches runs each of its batches through the model in one call (not in model.predict's 32s)", async () => {
    const input = tf.input({ shape: [3] });
    const dense = tf.layers.dense({ units: 2, kernelInitializer: "ones", biasInitializer: "zeros" });
    const model = tf.model({ inputs: input, outputs: dense.apply(input) as tf.SymbolicTensor });
    const calls: number[] = [];
    const call = dense.call.bind(dense);
    dense.call = (inputs, kwargs) => {
      calls.push((Array.isArray(inputs) ? inputs[0] : inputs)!.shape[0]!);
      return call(inputs, kwargs);
    };
    // Row i is [i, i, i]: both outputs are 3i.
    const rows = (start: number, end: number) =>
      tf.tensor2d(
        Array.from({ length: (end - start) * 3 }, (_, k) => start + Math.floor(k / 3)),
        [end - start, 3],
      );
    const out = await predictBatches(model, 100, rows, 64);
    assert.deepEqual(calls, [64, 36]);
    assert.deepEqual([...out.subarray(0, 4)], [0, 0, 3, 3]);
    assert.deepEqual([...out.subarray(198)], [297, 297]);
    model.dispose();
  });

  it("orderByLength sorts stably; predictInOrder puts each film's prediction back in its place", async () => {
    assert.deepEqual(orderByLength([3, 1, 2, 1, 3]), [1, 3, 2, 0, 4]);
    const model = buildLstm({ vocabularySize: 50, embeddingSize: 8, seed: 3 });
    const films = [[5, 6, 7, 8, 9], [10], [11, 12], [13, 14, 15], [16], [17, 18, 19, 20, 21, 22, 23]].map((ids) => Int32Array.from(ids));
    // Reference: each film alone (no padding at all).
    const alone = await Promise.all(films.map((ids) => predictBatches(model, 1, () => overviewTensor([ids]))));
    const inOrder = await predictInOrder(
      model,
      orderByLength(films.map((f) => f.length)),
      (samples) => overviewTensor(samples.map((k) => films[k] as Int32Array)),
      4,
    );
    alone.forEach((p, k) => p.forEach((v, g) => assert.ok(Math.abs(inOrder[k * 25 + g]! - v) < 1e-5, `film ${k} genre ${g}`)));
    model.dispose();
  });
});
