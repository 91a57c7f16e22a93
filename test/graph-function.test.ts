/**
 * Prediction and training steps as one TensorFlow function on native TensorFlow (runtime/graph-function.ts,
 * eval/inference.ts predictInOneCall, train/trainer.ts trainStep): the GraphDef bytes against the protocol-buffer
 * encoding worked out by hand, and on native the function's outputs against the same model run op by op (tfjs's own
 * layers and gradients), with the calls that must not become functions (values read in JavaScript, random numbers
 * drawn in JavaScript, tensors from outside, gradients, the addon's LSTM) running op by op.
 */
import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import { nativeOrSkip } from "./helpers";
import { encodeNodeDef } from "../lib/runtime/graph-def";
import {
  callAsGraph,
  graphFunctionCalls,
  graphFunctionRefusal,
  graphFunctionsActive,
  setGraphFunctions,
} from "../lib/runtime/graph-function";
import { trainModel, trainStep, trainingPurpose } from "../lib/train/trainer";
import { kerasAdam } from "../lib/train/adam";
import { binaryCrossentropyLoss } from "../lib/models/losses";
import { setFastDropout } from "../lib/runtime/fast-dropout";
import { withSeededMathRandom } from "../lib/runtime/random";
import type { TrainingData } from "../lib/data/batches";
import { silentProgress } from "../lib/train/progress";
import { predictInOneCall } from "../lib/eval/inference";
import { buildCnn, buildLstm } from "../lib/models/coursework";

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe("graph functions: GraphDef encoding", () => {
  it("writes a NodeDef's fields as protocol buffers do (worked out by hand)", () => {
    // name = 1 "a", op = 2 "Add", input = 3 "x:0", attr = 5 {key = 1 "T", value = 2 AttrValue{type = 6: 1}}
    const node = encodeNodeDef({ name: "a", op: "Add", inputs: ["x:0"], attrs: { T: { type: 1 } } });
    assert.equal(hex(node), "0a0161" + "1203416464" + "1a03783a30" + "2a07" + "0a0154" + "1202" + "3001");
  });

  it("writes negative ints as ten-byte varints, floats as fixed32, lists packed, an empty list as an empty message", () => {
    const node = encodeNodeDef({
      name: "n",
      op: "Op",
      inputs: [],
      attrs: { a: { i: -1 }, b: { f: 1 }, c: { list: { i: [1, 300] } }, d: { list: {} }, e: { list: { s: ["Relu"] } } },
    });
    const entry = (key: string, value: string): string => {
      const inner = "0a01" + Buffer.from(key).toString("hex") + "12" + (value.length / 2).toString(16).padStart(2, "0") + value;
      return "2a" + (inner.length / 2).toString(16).padStart(2, "0") + inner;
    };
    const expected =
      "0a016e" +
      "12024f70" +
      entry("a", "18ffffffffffffffffff01") + // i = 3: -1 as 2^64 - 1
      entry("b", "250000803f") + // f = 4: 1.0f little-endian
      entry("c", "0a05" + "1a03" + "01ac02") + // list = 1 {i = 3 packed: 1, 300}
      entry("d", "0a00") + // list = 1, empty
      entry("e", "0a06" + "1204" + "52656c75"); // list = 1 {s = 2: "Relu"}
    assert.equal(hex(node), expected);
  });

  it("refuses a fractional int", () => {
    assert.throws(() => encodeNodeDef({ name: "n", op: "Op", inputs: [], attrs: { a: { i: 0.5 } } }), /must be an integer, got 0.5/);
  });
});

describe("graph functions on native TensorFlow", function () {
  this.timeout(120000);

  before(async function () {
    await nativeOrSkip(this);
    if (!graphFunctionsActive()) {
      if (process.env["WORKBOOK_REQUIRE_NATIVE"] === "1")
        throw new Error("the addon has no workbookFunction: rebuild it with npm run native");
      this.skip();
    }
  });

  after(async () => {
    await tf.setBackend("cpu");
  });

  it("predicts the CNN as a function, equal to the layers run op by op, and follows new weights", () => {
    const model = buildCnn({ imageSize: 16, genres: 5, seed: 3 });
    const x = tf.randomUniform([8, 16, 16, 3], 0, 1, "float32", 7);
    const before = { ...graphFunctionCalls };
    const first = predictInOneCall(model, x) as tf.Tensor; // traced (run op by op, then checked against the function)
    const second = predictInOneCall(model, x) as tf.Tensor; // the function
    assert.equal(graphFunctionCalls.traced - before.traced, 1);
    assert.equal(graphFunctionCalls.function - before.function, 1);
    assert.equal(graphFunctionRefusal(model, "predict"), undefined);
    const eager = model.apply(x, { training: false }) as tf.Tensor;
    assert.deepEqual(second.shape, [8, 5]);
    assert.ok(maxAbsDiff(second, eager) <= 1e-6, `function vs op by op: ${maxAbsDiff(second, eager)}`);
    assert.ok(maxAbsDiff(first, eager) <= 1e-6);

    // new weights: the function reads them as arguments
    model.setWeights(model.getWeights().map((w) => tf.mul(w, 0.5)));
    const changed = predictInOneCall(model, x) as tf.Tensor;
    const eagerChanged = model.apply(x, { training: false }) as tf.Tensor;
    assert.ok(maxAbsDiff(changed, eager) > 1e-3, "the prediction did not change with the weights");
    assert.ok(maxAbsDiff(changed, eagerChanged) <= 1e-6);

    // another batch size: another function
    const fewer = tf.slice(x, 0, 3);
    const three = predictInOneCall(model, fewer) as tf.Tensor;
    assert.deepEqual(three.shape, [3, 5]);
    assert.ok(maxAbsDiff(three, tf.slice(eagerChanged, 0, 3)) <= 1e-6);
    assert.equal(graphFunctionCalls.traced - before.traced, 2);
    tf.dispose([first, second, eager, changed, eagerChanged, fewer, three, x]);
    model.dispose();
  });

  it("runs training's validation pass as a function: the same history as op by op", async () => {
    const posters = tf.randomUniform([24, 16, 16, 3], 0, 1, "float32", 11);
    const labels = tf.cast(tf.greater(tf.randomUniform([24, 5], 0, 1, "float32", 12), 0.6), "float32");
    const data: TrainingData = {
      train: Array.from({ length: 16 }, (_, i) => i),
      validation: Array.from({ length: 8 }, (_, i) => 16 + i),
      makeBatch: (indices) => ({ inputs: tf.gather(posters, indices), labels: tf.gather(labels, indices) as tf.Tensor2D }),
    };
    const train = async (): Promise<number[][]> => {
      const model = buildCnn({ imageSize: 16, genres: 5, seed: 9 });
      const history = await trainModel(model, data, { epochs: 2, batchSize: 8, learningRate: 1e-3, seed: 2, progress: silentProgress() });
      model.dispose();
      return history.epochs.map((e) => [e.loss, e.val_loss, e.val_precision, e.val_recall]);
    };
    setGraphFunctions(false);
    const opByOp = await train();
    setGraphFunctions(true);
    const before = graphFunctionCalls.function;
    const asFunction = await train();
    assert.ok(graphFunctionCalls.function > before, "no validation batch ran as a function");
    opByOp.forEach((epoch, i) =>
      epoch.forEach((v, k) =>
        assert.ok(Math.abs(v - asFunction[i]![k]!) <= 1e-5, `epoch ${i + 1}, value ${k}: ${v} vs ${asFunction[i]![k]}`),
      ),
    );
    tf.dispose([posters, labels]);
  });

  /** Three training steps of a small CNN (dropout 0.25-0.5) on one batch, from one seed: losses and weights after. */
  async function threeSteps(seed: number): Promise<{ losses: number[]; weights: Float32Array[]; functionCalls: number; refusal?: string }> {
    const x = tf.randomUniform([8, 16, 16, 3], 0, 1, "float32", 21);
    const y = tf.cast(tf.greater(tf.randomUniform([8, 5], 0, 1, "float32", 22), 0.6), "float32") as tf.Tensor2D;
    const model = buildCnn({ imageSize: 16, genres: 5, seed: 5 });
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const optimizer = kerasAdam(1e-3);
    const before = graphFunctionCalls.function;
    const losses = await withSeededMathRandom(seed, async () => {
      const out: number[] = [];
      for (let i = 0; i < 3; i++)
        out.push((await trainStep(model, optimizer, variables, binaryCrossentropyLoss, { inputs: x, labels: y })).loss);
      return out;
    });
    const functionCalls = graphFunctionCalls.function - before;
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    const refusal = graphFunctionRefusal(model, trainingPurpose(binaryCrossentropyLoss));
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
    return { losses, weights, functionCalls, ...(refusal !== undefined ? { refusal } : {}) };
  }

  it("trains the CNN as a function: losses and weights equal the steps run op by op, with fresh seeded dropout masks each step", async () => {
    setGraphFunctions(false);
    const opByOp = await threeSteps(3);
    setGraphFunctions(true);
    const asFunction = await threeSteps(3);
    // the first step is traced (run op by op, then checked against the function), the next two are the function
    assert.equal(opByOp.functionCalls, 0);
    assert.equal(asFunction.functionCalls, 2, `refused: ${asFunction.refusal}`);
    // masks frozen into the function would repeat the first step's in steps 2 and 3, and these would differ
    opByOp.losses.forEach((loss, i) =>
      assert.ok(Math.abs(loss - asFunction.losses[i]!) <= 1e-5, `step ${i + 1}: ${loss} vs ${asFunction.losses[i]}`),
    );
    opByOp.weights.forEach((w, k) => {
      let worst = 0;
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i]! - asFunction.weights[k]![i]!));
      assert.ok(worst <= 1e-5, `weight ${k}: ${worst}`);
    });
    // another seed draws other masks
    const otherSeed = await threeSteps(4);
    assert.ok(Math.abs(otherSeed.losses[2]! - asFunction.losses[2]!) > 1e-6, "another seed gave the same losses");
  });

  it("trains op by op where dropout draws its numbers in JavaScript (a function would repeat them)", async () => {
    setFastDropout(false);
    try {
      const run = await threeSteps(3);
      assert.equal(run.functionCalls, 0);
      assert.match(run.refusal ?? "", /JavaScript draws random numbers/);
    } finally {
      setFastDropout(true);
    }
  });

  it("leaves no tensor behind", () => {
    const model = buildCnn({ imageSize: 16, genres: 5, seed: 4 });
    const x = tf.randomUniform([4, 16, 16, 3], 0, 1, "float32", 8);
    tf.dispose(predictInOneCall(model, x));
    const live = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(predictInOneCall(model, x));
    assert.equal(tf.memory().numTensors, live);
    x.dispose();
    model.dispose();
  });

  it("runs op by op, and right, where JavaScript reads a value: the value is not frozen into a function", () => {
    const owner = {};
    const run = (x: tf.Tensor): tf.Tensor =>
      tf.tidy(() => callAsGraph(owner, "scale", [x], () => [tf.mul(x, tf.sum(x).dataSync()[0]!)])[0]!);
    const a = run(tf.tensor1d([1, 2]));
    const b = run(tf.tensor1d([3, 4]));
    assert.deepEqual(Array.from(a.dataSync()), [3, 6]);
    assert.deepEqual(Array.from(b.dataSync()), [21, 28]);
    assert.match(graphFunctionRefusal(owner, "scale") ?? "", /JavaScript reads a tensor's values/);
  });

  it("runs op by op where the call uses a tensor from outside that is not an argument", () => {
    const owner = {};
    const w = tf.add(tf.tensor1d([1, 2]), 1); // computed by TensorFlow before the call (a tensor JavaScript only holds is a constant)
    const y = tf.tidy(() => callAsGraph(owner, "outside", [tf.tensor1d([1, 1])], () => [tf.mul(w, 2)])[0]!);
    assert.deepEqual(Array.from(y.dataSync()), [4, 6]);
    assert.match(graphFunctionRefusal(owner, "outside") ?? "", /from outside the call/);
    tf.dispose([w, y]);
  });

  it("records gradients op by op: the input gradient through predictInOneCall equals the layers'", () => {
    const model = buildCnn({ imageSize: 16, genres: 5, seed: 5 });
    const x = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 9);
    const viaPredict = tf.grad((input: tf.Tensor) => tf.sum(predictInOneCall(model, input) as tf.Tensor))(x);
    const viaLayers = tf.grad((input: tf.Tensor) => tf.sum(model.apply(input, { training: false }) as tf.Tensor))(x);
    assert.ok(tf.max(tf.abs(viaLayers)).dataSync()[0]! > 0);
    assert.ok(maxAbsDiff(viaPredict, viaLayers) <= 1e-6);
    tf.dispose([x, viaPredict, viaLayers]);
    model.dispose();
  });

  it("runs the fused BiLSTM op by op (its sequence lengths are read in JavaScript, its LSTM is the addon's), with the same result", () => {
    const model = buildLstm({ vocabularySize: 50, embeddingSize: 8, seed: 6 });
    const x = tf.tensor2d(
      [
        [1, 2, 3, 0],
        [4, 5, 0, 0],
      ],
      [2, 4],
      "int32",
    );
    const y = predictInOneCall(model, x) as tf.Tensor;
    const eager = model.apply(x, { training: false }) as tf.Tensor;
    assert.ok(maxAbsDiff(y, eager) <= 1e-6);
    assert.match(graphFunctionRefusal(model, "predict") ?? "", /JavaScript reads a tensor's values|addon's kernel lstm/);
    tf.dispose([x, y, eager]);
    model.dispose();
  });
});
