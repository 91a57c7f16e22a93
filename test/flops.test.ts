/**
 * bench/flops.ts: one sample's flops, against counts worked by hand from the layer shapes.
 */
import { strict as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { stepFlops } from "../lib/bench/flops";
import { ratioLines, type PeerResult } from "../lib/bench/peers";
import type { BenchResult } from "../lib/bench/results";
import { buildCnn } from "../lib/models/coursework";

describe("step flops and GFLOP/s", () => {
  it("a small CNN: convolutions and a dense layer, the first layer without an input gradient", () => {
    const input = tf.input({ shape: [5, 5, 2] });
    // 5x5x2 -> 3x3x4 (stride 2, same): 2 * 3*3 outputs * 3*3*2 taps * 4 filters = 1,296
    let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: "same" }).apply(input) as tf.SymbolicTensor;
    // 3x3x4 -> 3x3x6: 2 * 9 * 3*3*4 * 6 = 3,888
    x = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: "same", activation: "relu" }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.dropout({ rate: 0.5 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
    // 54 -> 2: 2 * 54 * 2 = 216
    const output = tf.layers.dense({ units: 2 }).apply(x) as tf.SymbolicTensor;
    const flops = stepFlops(tf.model({ inputs: input, outputs: output }));
    assert.equal(flops.forward, 1296 + 3888 + 216);
    // the first convolution: forward and filter gradient only; the others three times
    assert.equal(flops.training, 2 * 1296 + 3 * 3888 + 3 * 216);
  });

  it("a small BiLSTM: the four gates at every step in each direction, three times in training", () => {
    const input = tf.input({ shape: [null] });
    let x = tf.layers.embedding({ inputDim: 10, outputDim: 4 }).apply(input) as tf.SymbolicTensor;
    // per step and direction 2 * 4 gates * 3 units * (4 inputs + 3 units) = 168; 5 steps, 2 directions: 1,680
    x = tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3, returnSequences: true }) }).apply(x) as tf.SymbolicTensor;
    // 2 * 4 * 2 * (6 + 2) = 128 per step and direction: 1,280
    x = tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 2 }) }).apply(x) as tf.SymbolicTensor;
    // 4 -> 1: 8
    const output = tf.layers.dense({ units: 1 }).apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    assert.deepEqual(stepFlops(model, 5), { forward: 1680 + 1280 + 8, training: 3 * (1680 + 1280 + 8) });
    // twice the steps, twice the recurrences' flops
    assert.equal(stepFlops(model, 10).forward, 2 * (1680 + 1280) + 8);
  });

  it("the coursework CNN: about 0.28 GFLOP per training sample, 2.75 G multiply-adds in a batch's forward convolutions", () => {
    const flops = stepFlops(buildCnn({ imageSize: 64, seed: 1 }));
    // the dense layers by hand: 2048 -> 1024 -> 1024 -> 25
    const dense = 2 * (2048 * 1024 + 1024 * 1024 + 1024 * 25);
    // docs/PERFORMANCE.md's count of the convolutions, made from the layer table: 2.75 GMAC for 64 posters
    assert.ok(Math.abs(((flops.forward - dense) / 2) * 64 - 2.75e9) < 0.01e9, String(flops.forward));
    assert.ok(Math.abs(flops.training - 0.28e9) < 0.01e9, String(flops.training));
  });

  it("the ratio lines give a peer the workbook's flops per sample: its GFLOP/s in proportion to its samples/s", () => {
    const workbook = { model: "cnn", backend: "tensorflow", trainSamplesPerSec: 100, predictSamplesPerSec: 400 };
    const lines = ratioLines(
      [{ ...workbook, trainGflopsPerSec: 27.6, predictGflopsPerSec: 36.8 } as BenchResult],
      [{ model: "cnn", framework: "keras", trainSamplesPerSec: 200, predictSamplesPerSec: 500 } as PeerResult],
    );
    assert.equal(lines.length, 2);
    // the peer trains twice as many samples a second: 2 x 27.6 GFLOP/s; predicts 500 / 400 x 36.8 = 46.0
    assert.match(lines[1]!, /100\.0 \/ 200\.0 = 0\.50x, 27\.6 \/ 55\.2 +400\.0 \/ 500\.0 = 0\.80x, 36\.8 \/ 46\.0$/);
  });
});
