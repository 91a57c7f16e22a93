import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { fileSaveHandler, loadCheckpoint } from "../lib/models/checkpoint";
import { CONCAT_DENSE_LAYER, GMU_LAYER, buildFusionModel, initialiseFromTrained } from "../lib/models/fusion";
import { GatedMultimodalUnit } from "../lib/models/gmu";
import { gateActivations, gateActivationsForRows, gmuLayer, outputKernelOf, summariseGate } from "../lib/eval/gate";
import { overviewInputs, MakeBatch } from "../lib/data/batches";
import { TFIDF_BRANCH_LAYER } from "../lib/models/branches";
import { TfidfVectorizer } from "../lib/data/tfidf";
import { TextVectorizer } from "../lib/data/text";
import { buildCnn, buildLstm } from "../lib/models/coursework";
import { seededRandom } from "../lib/runtime/random";
import { augmentTrainingData } from "../lib/data/augment";
import { binaryCrossentropyLoss } from "../lib/models/losses";
import { silentProgress } from "../lib/train/progress";
import { trainModel } from "../lib/train/trainer";
import { useBackend } from "./helpers";

const SIZE = 16;
const VOCAB = 50;

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length, "length");
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs((actual[i] as number) - (expected[i] as number)) <= tolerance, `value ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

/** n random posters and overviews of `length` ids (trailing zeros = padding). */
function inputs(n: number, seed: number, length = 6): tf.Tensor[] {
  const r = seededRandom(seed);
  const posters = tf.tensor4d(
    Float32Array.from({ length: n * SIZE * SIZE * 3 }, () => r()),
    [n, SIZE, SIZE, 3],
  );
  const ids = Array.from({ length: n }, (_, i) =>
    Array.from({ length }, (_, j) => (j < length - (i % 3) ? 2 + Math.floor(r() * (VOCAB - 2)) : 0)),
  );
  return [posters, tf.tensor2d(ids, [n, length], "int32")];
}

function small(fusion: "gmu" | "concat", units = 8): tf.LayersModel {
  return buildFusionModel({ fusion, units, imageSize: SIZE, vocabularySize: VOCAB, branches: "small", seed: 1 });
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe("fusion: gated multimodal unit and the joint poster + overview model", function () {
  this.timeout(30000);
  useBackend("cpu");

  it("GMU math matches a hand-computed example (units 2, fixed weights)", () => {
    const hv = tf.input({ shape: [2] });
    const ht = tf.input({ shape: [3] });
    const gmu = new GatedMultimodalUnit({ units: 2, name: "g" });
    const model = tf.model({ inputs: [hv, ht], outputs: gmu.apply([hv, ht]) as tf.SymbolicTensor });
    assert.deepEqual(model.outputs[0]!.shape, [null, 2]);
    assert.deepEqual(
      gmu.getWeights().map((w) => w.shape),
      [[2, 2], [2], [3, 2], [2], [5, 2], [2]],
    );
    // Unit 0: W_v h_v = 0.1*1 + 0.2*2 = 0.5; W_t h_t - 1 = 0.5 + 1.5 - 1 = 1; gate 0.5 + 1 - 1 - 0.5 = 0.
    // Unit 1: visual 0; text 0 + 0.5 (bias); gate 1*1 + 0 = 1 (z = sigmoid(1)).
    const weights = [
      tf.tensor2d([
        [0.1, 0],
        [0.2, 0],
      ]),
      tf.tensor1d([0, 0]),
      tf.tensor2d([
        [1, 0],
        [0, 0],
        [0.5, 0],
      ]),
      tf.tensor1d([-1, 0.5]),
      tf.tensor2d([
        [0.5, 1],
        [0.5, 0],
        [0, 0],
        [0, 0],
        [-1 / 3, 0],
      ]),
      tf.tensor1d([-0.5, 0]),
    ];
    gmu.setWeights(weights);
    const v = tf.tensor2d([
      [1, 2],
      [0, 0],
    ]);
    const t = tf.tensor2d([
      [0.5, -1, 3],
      [0, 0, 0],
    ]);
    const h = model.predict([v, t]) as tf.Tensor;
    // Film 0: unit 0 z = 0.5 -> h = (tanh 0.5 + tanh 1) / 2; unit 1 z = sigmoid(1) -> (1 - z) tanh 0.5.
    // Film 1 (zero inputs): unit 0 visual 0, text tanh(-1), z = sigmoid(-0.5); unit 1 text tanh 0.5, z 0.5.
    const expectedH = [
      (Math.tanh(0.5) + Math.tanh(1)) / 2,
      (1 - sigmoid(1)) * Math.tanh(0.5),
      (1 - sigmoid(-0.5)) * Math.tanh(-1),
      0.5 * Math.tanh(0.5),
    ];
    close(h.dataSync(), expectedH);
    close([expectedH[0]!], [0.6118556566], 1e-9); // the hand-computed figure
    const parts = tf.tidy(() => {
      const p = gmu.parts(v, t);
      return [p.gate, p.visual, p.text];
    });
    close(parts[0]!.dataSync(), [0.5, sigmoid(1), sigmoid(-0.5), 0.5]);
    close(parts[1]!.dataSync(), [Math.tanh(0.5), 0, 0, 0]);
    close(parts[2]!.dataSync(), [Math.tanh(1), Math.tanh(0.5), Math.tanh(-1), Math.tanh(0.5)]);
    assert.deepEqual((gmu.getConfig() as { units: number }).units, 2);
    tf.dispose([...weights, v, t, h, ...parts]);
    model.dispose();
  });

  it("GMU model: output [batch, 25] in (0, 1), gate [batch, units] in [0, 1], gate summary per film and genre", async () => {
    const model = small("gmu", 8);
    assert.deepEqual(
      model.inputs.map((i) => i.shape),
      [
        [null, SIZE, SIZE, 3],
        [null, null],
      ],
    );
    assert.deepEqual(
      model.inputs.map((i) => i.dtype),
      ["float32", "int32"],
    );
    for (const name of ["Conv0", "Conv6", "FC1", "FC2", "embedding", "bidirectional", "bidirectional_1", "dense", GMU_LAYER, "Output"]) {
      assert.ok(model.getLayer(name), name);
    }
    assert.deepEqual(model.getLayer("FC2").outputShape, [null, 64]);
    assert.deepEqual(model.getLayer("dense").outputShape, [null, 32]);
    const x = inputs(5, 1);
    const y = model.predict(x) as tf.Tensor;
    assert.deepEqual(y.shape, [5, 25]);
    assert.ok(y.dataSync().every((p) => p > 0 && p < 1));
    const z = gateActivations(model, x);
    assert.deepEqual(z.shape, [5, 8]);
    const zv = z.dataSync();
    assert.ok(zv.every((g) => g >= 0 && g <= 1));
    assert.ok(new Set(Array.from(zv)).size > 1, "the gate varies");

    // Batch by batch through a fusion MakeBatch: the same values.
    const all = await gateActivationsForRows(
      model,
      [0, 1, 2, 3, 4],
      (rows) => ({
        inputs: x.map((t) => tf.gather(t, rows)),
        labels: tf.zeros([rows.length, 25]) as tf.Tensor2D,
      }),
      2,
    );
    assert.deepEqual([all.films, all.units], [5, 8]);
    close(all.values, zv, 1e-6);

    const labels = new Float32Array(5 * 3);
    labels.set([1, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
    const kernel = new Float32Array(8 * 3).fill(1);
    const summary = summariseGate(all, labels, ["A", "B", "C"], kernel);
    const filmShare = (f: number) => Array.from(zv.slice(f * 8, (f + 1) * 8)).reduce((a, b) => a + b, 0) / 8;
    close(summary.filmPosterShare, [0, 1, 2, 3, 4].map(filmShare));
    assert.equal(summary.genres[0]!.films, 3); // films 0, 1, 3
    close([summary.genres[0]!.posterShare], [(filmShare(0) + filmShare(1) + filmShare(3)) / 3]);
    // Uniform output weights: the weighted lean is the plain one.
    close([summary.genres[0]!.outputWeightedPosterShare], [summary.genres[0]!.posterShare]);
    assert.equal(summary.genres[2]!.films, 0);
    assert.ok(Number.isNaN(summary.genres[2]!.posterShare));
    assert.equal(outputKernelOf(model).length, 8 * 25);
    tf.dispose([...x, y, z]);
    model.dispose();
  });

  it("gradients flow to both branches and to W_v, W_t, W_z", () => {
    const model = small("gmu", 8);
    const x = inputs(4, 2);
    const labels = tf.tensor2d(Array.from({ length: 4 }, (_, i) => Array.from({ length: 25 }, (_, j) => ((i + j) % 4 === 0 ? 1 : 0))));
    const weights = model.trainableWeights;
    const variables = weights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () => binaryCrossentropyLoss(labels, model.apply(x, { training: true }) as tf.Tensor),
      variables,
    );
    const norm = (original: string) => {
      const k = weights.findIndex((w) => w.originalName === original);
      assert.ok(k >= 0, `no weight ${original}: ${weights.map((w) => w.originalName).join(", ")}`);
      const g = grads[(variables[k] as tf.Variable).name] as tf.Tensor;
      return tf.tidy(() => tf.norm(g).dataSync()[0] as number);
    };
    const forwardKernel = weights.find((w) => w.originalName.startsWith("bidirectional/") && w.originalName.endsWith("/kernel"));
    assert.ok(forwardKernel, "a bidirectional LSTM kernel");
    for (const name of [
      "Conv0/kernel",
      "FC2/kernel",
      "embedding/embeddings",
      forwardKernel.originalName,
      "dense/kernel",
      "gmu/W_v",
      "gmu/W_t",
      "gmu/W_z",
      "Output/kernel",
    ]) {
      const n = norm(name);
      assert.ok(Number.isFinite(n) && n > 0, `gradient of ${name}: ${n}`);
    }
    assert.ok(Number.isFinite(value.dataSync()[0]!));
    tf.dispose([value, labels, ...x, ...Object.values(grads)]);
    model.dispose();
  });

  it("'tfidf' overview branch: [poster, TF-IDF row] inputs, gradients reach the CNN, the TF-IDF layer and the gate", () => {
    const features = 12;
    const model = buildFusionModel({
      fusion: "gmu",
      units: 8,
      imageSize: SIZE,
      overviewBranch: "tfidf",
      tfidfFeatures: features,
      branches: "small",
      seed: 1,
    });
    assert.deepEqual(
      model.inputs.map((i) => [i.shape, i.dtype]),
      [
        [[null, SIZE, SIZE, 3], "float32"],
        [[null, features], "float32"],
      ],
    );
    assert.match(model.inputs[1]!.name, /^overview_tfidf/);
    assert.ok(!model.layers.some((l) => l.name === "embedding" || l.name.startsWith("bidirectional")), "no LSTM layers");
    const r = seededRandom(3);
    const x = [
      inputs(4, 2)[0]!,
      tf.tensor2d(
        Float32Array.from({ length: 4 * features }, () => r()),
        [4, features],
      ),
    ];
    const labels = tf.tensor2d(Array.from({ length: 4 }, (_, i) => Array.from({ length: 25 }, (_, j) => ((i + j) % 3 === 0 ? 1 : 0))));
    const weights = model.trainableWeights;
    const variables = weights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () => binaryCrossentropyLoss(labels, model.apply(x, { training: true }) as tf.Tensor),
      variables,
    );
    for (const name of ["Conv0/kernel", "FC2/kernel", `${TFIDF_BRANCH_LAYER}/kernel`, "gmu/W_v", "gmu/W_t", "gmu/W_z", "Output/kernel"]) {
      const k = weights.findIndex((w) => w.originalName === name);
      assert.ok(k >= 0, `no weight ${name}`);
      const n = tf.tidy(() => tf.norm(grads[(variables[k] as tf.Variable).name] as tf.Tensor).dataSync()[0] as number);
      assert.ok(Number.isFinite(n) && n > 0, `gradient of ${name}: ${n}`);
    }
    const gate = gateActivations(model, x);
    assert.deepEqual(gate.shape, [4, 8]);
    tf.dispose([value, labels, gate, ...x, ...Object.values(grads)]);
    model.dispose();
    assert.throws(
      () => buildFusionModel({ fusion: "gmu", imageSize: SIZE, overviewBranch: "tfidf", vocabularySize: VOCAB }),
      /'tfidf' overview branch needs tfidfFeatures/,
    );
    assert.throws(() => buildFusionModel({ fusion: "gmu", imageSize: SIZE }), /'lstm' overview branch needs vocabularySize/);
  });

  it("initialiseFromTrained with the 'tfidf' branch copies the CNN only and reports nothing about the LSTM", () => {
    const fusion = buildFusionModel({ fusion: "gmu", units: 8, imageSize: SIZE, overviewBranch: "tfidf", tfidfFeatures: 5, seed: 5 });
    const cnn = buildCnn({ imageSize: SIZE, seed: 6 });
    const report = initialiseFromTrained(fusion, cnn, null, { freezeBranches: true });
    assert.deepEqual(report.copied, ["Conv0", "Conv1", "Conv2", "Conv3", "Conv4", "Conv5", "Conv6", "FC1", "FC2"]);
    assert.deepEqual(report.skipped, []);
    const trainable = new Set(fusion.trainableWeights.map((w) => w.originalName.split("/")[0]));
    assert.deepEqual([...trainable].sort(), [GMU_LAYER, "Output", TFIDF_BRANCH_LAYER].sort());
    fusion.dispose();
    cnn.dispose();
  });

  it("overviewInputs: ids padded to the longest of the picked texts, or dense TF-IDF rows", () => {
    const texts = ["the cat sat", "a dog", "the dog ran far away"];
    const ids = TextVectorizer.adapt(texts);
    const picked = overviewInputs(ids, texts)([1, 0]);
    // "a dog" -> 2 ids then padding to 3 (the longest of the two picked); "the cat sat" -> 3 ids
    assert.deepEqual(picked.shape, [2, 3]);
    assert.equal(picked.dtype, "int32");
    const rows = picked.arraySync() as number[][];
    assert.equal(rows[0]![2], 0);
    assert.ok(rows[1]!.every((id) => id > 1));
    const tfidf = TfidfVectorizer.fit(texts, { minDf: 1, bigrams: false });
    const dense = overviewInputs(tfidf, texts)([2]);
    assert.deepEqual(dense.shape, [1, tfidf.features]);
    // "the dog ran far away": five distinct known words, idf-weighted and L2-normalised: squares sum to 1
    close([tf.tidy(() => tf.sum(tf.square(dense)).dataSync()[0] as number)], [1], 1e-6);
    assert.equal((dense.dataSync() as Float32Array).filter((v) => v > 0).length, 5);
    tf.dispose([picked, dense]);
  });

  it("save / loadCheckpoint round trip: same predictions and gates, the GMU comes back as a GMU", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "fusion-test-"));
    try {
      const model = small("gmu", 4);
      const x = inputs(3, 3, 5);
      const before = model.predict(x) as tf.Tensor;
      const gateBefore = gateActivations(model, x);
      await model.save(fileSaveHandler(dir));
      const loaded = await loadCheckpoint(dir);
      assert.ok(loaded.getLayer(GMU_LAYER) instanceof GatedMultimodalUnit);
      assert.equal(gmuLayer(loaded).units, 4);
      assert.equal(loaded.countParams(), model.countParams());
      const after = loaded.predict(x) as tf.Tensor;
      const gateAfter = gateActivations(loaded, x);
      close(after.dataSync(), before.dataSync(), 1e-6);
      close(gateAfter.dataSync(), gateBefore.dataSync(), 1e-6);
      tf.dispose([...x, before, after, gateBefore, gateAfter]);
      model.dispose();
      loaded.dispose();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("concat option: same inputs and output, Dense(units, relu) fusion, no gate", () => {
    const model = small("concat", 16);
    assert.deepEqual(model.getLayer(CONCAT_DENSE_LAYER).outputShape, [null, 16]);
    assert.deepEqual(model.getLayer("fusion_concat").outputShape, [null, 64 + 32]);
    const x = inputs(3, 4);
    const y = model.predict(x) as tf.Tensor;
    assert.deepEqual(y.shape, [3, 25]);
    assert.throws(() => gmuLayer(model), /no GatedMultimodalUnit/);
    tf.dispose([...x, y]);
    model.dispose();
  });

  it("initialiseFromTrained copies the trained branches by layer name, reports mismatches, can freeze", () => {
    const fusion = buildFusionModel({ fusion: "gmu", units: 8, imageSize: SIZE, vocabularySize: VOCAB, seed: 5 });
    const cnn = buildCnn({ imageSize: SIZE, seed: 6 });
    const lstm = buildLstm({ vocabularySize: VOCAB, seed: 7 });
    const report = initialiseFromTrained(fusion, cnn, { model: lstm });
    assert.deepEqual(report.copied, [
      "Conv0",
      "Conv1",
      "Conv2",
      "Conv3",
      "Conv4",
      "Conv5",
      "Conv6",
      "FC1",
      "FC2",
      "embedding",
      "bidirectional",
      "bidirectional_1",
      "dense",
    ]);
    assert.deepEqual(report.skipped, []);
    for (const name of ["Conv3", "FC2", "embedding", "bidirectional", "dense"]) {
      const want = (lstm.layers.find((l) => l.name === name) ?? cnn.getLayer(name)).getWeights();
      const got = fusion.getLayer(name).getWeights();
      assert.equal(got.length, want.length);
      got.forEach((w, i) => assert.deepEqual(Array.from(w.dataSync()), Array.from(want[i]!.dataSync()), `${name} weight ${i}`));
    }
    // The output layers are never copied.
    assert.notDeepEqual(fusion.getLayer("Output").getWeights()[0]!.shape, cnn.getLayer("Output").getWeights()[0]!.shape);

    // Another vocabulary: the embedding is skipped with its shapes; no LSTM: its layers are skipped; freezing.
    const otherVocabulary = buildLstm({ vocabularySize: VOCAB + 10, embeddingSize: 256 });
    const fresh = fusion;
    const partial = initialiseFromTrained(fresh, null, otherVocabulary, { freezeBranches: true });
    assert.deepEqual(partial.copied, ["bidirectional", "bidirectional_1", "dense"]);
    assert.deepEqual(partial.frozen, partial.copied);
    assert.match(partial.skipped.find((s) => s.layer === "embedding")!.reason, /shapes differ: fusion \[50,256\] vs LSTM \[60,256\]/);
    assert.equal(partial.skipped.filter((s) => /no trained CNN/.test(s.reason)).length, 9);
    const trainable = new Set(fresh.trainableWeights.map((w) => w.originalName.split("/")[0]));
    assert.ok(!trainable.has("bidirectional") && !trainable.has("dense"));
    assert.ok(trainable.has("embedding") && trainable.has("Conv0") && trainable.has(GMU_LAYER) && trainable.has("Output"));

    // A smaller branch variant does not match the coursework-sized CNN.
    const smallFusion = small("gmu");
    const mismatch = initialiseFromTrained(smallFusion, cnn, undefined);
    assert.deepEqual(mismatch.copied, []);
    assert.match(mismatch.skipped[0]!.reason, /shapes differ: fusion \[3,3,3,8\] \[8\] vs CNN \[3,3,3,16\] \[16\]/);
    for (const m of [fusion, cnn, lstm, otherVocabulary, smallFusion]) m.dispose();
  });

  it("trains with trainModel on augmented [poster, overview] batches; frozen branches stay as copied", async () => {
    const model = small("gmu", 4);
    const x = inputs(12, 8);
    const labels = tf.tensor2d(Array.from({ length: 12 }, (_, i) => Array.from({ length: 25 }, (_, j) => (j === i % 3 ? 1 : 0))));
    const makeBatch: MakeBatch = (rows) => ({ inputs: x.map((t) => tf.gather(t, rows)), labels: tf.gather(labels, rows) as tf.Tensor2D });
    const data = augmentTrainingData({ train: [0, 1, 2, 3, 4, 5, 6, 7], validation: [8, 9, 10, 11], makeBatch }, { seed: 2 });
    // Freeze the overview branch by "copying" it from an identically shaped model.
    const donor = small("gmu", 4);
    const report = initialiseFromTrained(model, null, donor, { freezeBranches: true });
    assert.deepEqual(report.frozen, ["embedding", "bidirectional", "bidirectional_1", "dense"]);
    const denseBefore = Array.from(model.getLayer("dense").getWeights()[0]!.dataSync());
    const convBefore = Array.from(model.getLayer("Conv0").getWeights()[0]!.dataSync());
    const history = await trainModel(model, data, {
      epochs: 2,
      batchSize: 4,
      learningRate: 1e-3,
      seed: 1,
      progress: silentProgress(),
      restoreBest: false,
    });
    assert.equal(history.epochs.length, 2);
    assert.ok(history.epochs.every((e) => Number.isFinite(e.loss) && Number.isFinite(e.val_loss)));
    assert.deepEqual(Array.from(model.getLayer("dense").getWeights()[0]!.dataSync()), denseBefore, "frozen layer unchanged");
    assert.notDeepEqual(Array.from(model.getLayer("Conv0").getWeights()[0]!.dataSync()), convBefore, "trainable branch trained");
    tf.dispose([...x, labels]);
    model.dispose();
    donor.dispose();
  });
});
