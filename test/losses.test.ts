import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  DEFAULT_POS_WEIGHT_CAP,
  correctOutputLayer,
  focalLoss,
  lossFromConfig,
  positiveWeights,
  weightedBceCorrection,
  weightedBinaryCrossentropy,
  binaryCrossentropyLoss,
  correctedBinaryCrossentropy,
} from "../lib/models/losses";
import { useBackend } from "./helpers";

// Expected values are worked out by hand (the arithmetic is in the comments), never taken from the
// functions under test.

// The 2 x 3 example used throughout:
//   labels       [[1, 0, 1],        predictions  [[0.8, 0.3, 0.6],
//                 [0, 1, 0]]                      [0.1, 0.5, 0.9]]
// Plain cross-entropy of each cell (-ln p for a positive, -ln(1 - p) for a negative):
//   (0,0) -ln 0.8 = 0.22314355   (0,1) -ln 0.7 = 0.35667494   (0,2) -ln 0.6 = 0.51082562
//   (1,0) -ln 0.9 = 0.10536052   (1,1) -ln 0.5 = 0.69314718   (1,2) -ln 0.1 = 2.30258509
const Y = [
  [1, 0, 1],
  [0, 1, 0],
];
const P = [
  [0.8, 0.3, 0.6],
  [0.1, 0.5, 0.9],
];

function value(loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar, y: number[][], p: number[][]): number {
  return tf.tidy(() => loss(tf.tensor2d(y), tf.tensor2d(p)).dataSync()[0] as number);
}

function closeTo(actual: number, expected: number, tolerance = 1e-5, what = ""): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} expected ${expected}, got ${actual}`);
}

describe("losses", function () {
  this.timeout(10000);
  useBackend("cpu");

  describe("positiveWeights", () => {
    // 6 films x 4 genres; the training rows are 0..4 (film 5 is validation).
    //   film 0: [1, 0, 0, 0]    film 3: [1, 0, 0, 1]
    //   film 1: [1, 1, 0, 0]    film 4: [0, 0, 0, 0]
    //   film 2: [0, 0, 0, 0]    film 5: [0, 0, 1, 0]  (validation only)
    const labels = Uint8Array.from([1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0]);
    const train = [0, 1, 2, 3, 4];

    it("is negatives / positives on the training rows; a genre with no training positive gets 0 and is excluded", () => {
      // genre 0: 3 positives, 2 negatives -> 2/3; genre 1: 1 positive, 4 negatives -> 4;
      // genre 2: its only positive is film 5 (validation) -> 0, excluded; genre 3: 1 positive -> 4.
      const { weights, excluded } = positiveWeights(labels, 4, train);
      closeTo(weights[0] as number, 2 / 3, 1e-12);
      assert.deepEqual(weights.slice(1), [4, 0, 4]);
      assert.deepEqual(excluded, [2]);
    });

    it("caps the weights", () => {
      // with cap 3: 4 -> 3 for genres 1 and 3; 2/3 is under the cap.
      const { weights } = positiveWeights(labels, 4, train, { cap: 3 });
      assert.deepEqual(weights.slice(1), [3, 0, 3]);
      // default cap 10: 12 films, one positive -> 11 negatives / 1 positive = 11 -> 10
      const twelve = new Uint8Array(12);
      twelve[5] = 1;
      const rows = Array.from({ length: 12 }, (_, i) => i);
      assert.equal(DEFAULT_POS_WEIGHT_CAP, 10);
      assert.deepEqual(positiveWeights(twelve, 1, rows).weights, [10]);
      assert.deepEqual(positiveWeights(twelve, 1, rows, { cap: 20 }).weights, [11]);
    });

    it("rejects bad input", () => {
      assert.throws(() => positiveWeights(labels, 5, train), /multiple/);
      assert.throws(() => positiveWeights(labels, 4, []), /no training rows/);
      assert.throws(() => positiveWeights(labels, 4, [6]), /outside/);
      assert.throws(() => positiveWeights(labels, 4, train, { cap: 0 }), /cap/);
    });
  });

  describe("weightedBinaryCrossentropy", () => {
    it("matches the hand-computed 2x3 example", () => {
      // weights [2, 3, 0.5] multiply the positive cells only:
      //   (0,0) 2 * 0.22314355 = 0.44628710   (0,1) 0.35667494          (0,2) 0.5 * 0.51082562 = 0.25541281
      //   (1,0) 0.10536052                    (1,1) 3 * 0.69314718 = 2.07944154   (1,2) 2.30258509
      //   sum 5.54576200, mean over 6 cells = 0.92429367
      closeTo(value(weightedBinaryCrossentropy([2, 3, 0.5]), Y, P), 0.92429367);
    });

    it("leaves excluded genres out of the sum and of the mean", () => {
      // genre 2 excluded: (0,0) 0.44628710 + (0,1) 0.35667494 + (1,0) 0.10536052 + (1,1) 2.07944154
      //   = 2.98776410 over 4 cells = 0.74694103
      closeTo(value(weightedBinaryCrossentropy([2, 3, 0.5], { excludeGenres: [2] }), Y, P), 0.74694103);
    });

    it("with all weights 1 and nothing excluded equals the trainer's binaryCrossentropyLoss (including p = 0 and 1)", () => {
      // unweighted: 4.19173690 / 6 = 0.69862282
      closeTo(value(weightedBinaryCrossentropy([1, 1, 1]), Y, P), 0.69862282);
      const y = [
        [1, 0, 1, 0],
        [0, 1, 1, 0],
        [1, 1, 0, 0],
      ];
      const p = [
        [0, 1, 1, 0],
        [0.25, 0.999, 1e-9, 0.5],
        [0.7, 0.02, 0.4, 1],
      ];
      const expected = value(binaryCrossentropyLoss, y, p);
      closeTo(value(weightedBinaryCrossentropy([1, 1, 1, 1]), y, p), expected, 1e-6);
    });

    it("has finite gradients at p = 0 and p = 1, and the weighted gradient inside", () => {
      const loss = weightedBinaryCrossentropy([2, 3, 0.5]);
      const grads = tf.tidy(() =>
        tf
          .grad((p: tf.Tensor) =>
            loss(
              tf.tensor2d([
                [1, 0, 1],
                [0, 1, 0],
              ]),
              p,
            ),
          )(
            tf.tensor2d([
              [0, 1, 0.6],
              [1, 0, 0.9],
            ]),
          )
          .arraySync(),
      ) as number[][];
      for (const g of grads.flat()) assert.ok(Number.isFinite(g), `gradient ${g}`);
      // d/dp of -(w y ln p)/6 at y=1, w=0.5, p=0.6: -0.5 / 0.6 / 6 = -0.13888889
      closeTo(grads[0]![2] as number, -0.13888889);
      // d/dp of -(ln(1 - p))/6 at y=0, p=0.9: 1 / 0.1 / 6 = 1.66666667
      closeTo(grads[1]![2] as number, 1.66666667, 1e-4);
    });

    it("rejects bad weights, exclusions and shapes", () => {
      assert.throws(() => weightedBinaryCrossentropy([1, -1]), /weight/);
      assert.throws(() => weightedBinaryCrossentropy([1, NaN]), /weight/);
      assert.throws(() => weightedBinaryCrossentropy([1, 1], { excludeGenres: [2] }), /outside/);
      assert.throws(() => weightedBinaryCrossentropy([1, 1], { excludeGenres: [0, 1] }), /every genre/);
      assert.throws(() => value(weightedBinaryCrossentropy([1, 1]), Y, P), /2 genres/);
    });
  });

  describe("focalLoss", () => {
    it("matches the hand-computed 2x3 example (gamma 2, alpha 0.25)", () => {
      // positive: 0.25 * (1 - p)^2 * -ln p; negative: 0.75 * p^2 * -ln(1 - p)
      //   (0,0) 0.25 * 0.2^2 * 0.22314355 = 0.00223144   (0,1) 0.75 * 0.3^2 * 0.35667494 = 0.02407556
      //   (0,2) 0.25 * 0.4^2 * 0.51082562 = 0.02043302   (1,0) 0.75 * 0.1^2 * 0.10536052 = 0.00079020
      //   (1,1) 0.25 * 0.5^2 * 0.69314718 = 0.04332170   (1,2) 0.75 * 0.9^2 * 2.30258509 = 1.39882044
      //   sum 1.48967236, mean over 6 = 0.24827873
      closeTo(value(focalLoss(), Y, P), 0.24827873);
      // genre 2 excluded: 0.00223144 + 0.02407556 + 0.00079020 + 0.04332170 = 0.07041890 / 4 = 0.01760473
      closeTo(value(focalLoss({ excludeGenres: [2] }), Y, P), 0.01760473);
    });

    it("with gamma 0 and alpha 0.5 is half the binary cross-entropy", () => {
      // 0.5 * 0.69862282 = 0.34931141
      closeTo(value(focalLoss({ gamma: 0, alpha: 0.5 }), Y, P), 0.34931141);
    });

    it("has finite gradients at p = 0 and p = 1", () => {
      const loss = focalLoss({ excludeGenres: [1] });
      const grads = tf.tidy(() =>
        tf
          .grad((p: tf.Tensor) =>
            loss(
              tf.tensor2d([
                [1, 0, 1],
                [0, 1, 0],
              ]),
              p,
            ),
          )(
            tf.tensor2d([
              [0, 1, 1],
              [1, 0, 0],
            ]),
          )
          .arraySync(),
      ) as number[][];
      for (const g of grads.flat()) assert.ok(Number.isFinite(g), `gradient ${g}`);
    });

    it("rejects bad parameters", () => {
      assert.throws(() => focalLoss({ gamma: -1 }), /gamma/);
      assert.throws(() => focalLoss({ alpha: 1.5 }), /alpha/);
      assert.throws(() => focalLoss({ genres: 2, excludeGenres: [0, 1] }), /every genre/);
    });
  });

  describe("lossFromConfig", () => {
    // 4 training films x 3 genres: genre 0 in 1 film (weight 3), genre 1 in 2 (weight 1), genre 2 in none.
    const labels = Uint8Array.from([1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    const names = ["Action", "Drama", "News"];
    const rows = [0, 1, 2, 3];

    it("weighted-bce: weights from the training rows, cap and excluded genres by name", () => {
      const c = lossFromConfig({ kind: "weighted-bce", cap: 2 }, labels, names, rows);
      assert.deepEqual(c.excluded, [2]);
      assert.deepEqual(c.weights, [2, 1, 0]);
      assert.match(c.description, /weighted binary cross-entropy/);
      assert.match(c.description, /capped at 2/);
      assert.match(c.description, /excluded .*: News$/);
      // same as building it by hand: weights [2, 1, 0], genre 2 excluded
      const byHand = weightedBinaryCrossentropy([2, 1, 0], { excludeGenres: [2] });
      closeTo(value(c.loss, Y, P), value(byHand, Y, P), 1e-7);
      assert.match(lossFromConfig({ kind: "weighted-bce" }, labels, 3, rows).description, /capped at 10 .*: #2$/);
    });

    it("focal: gamma, alpha and excluded genres", () => {
      const c = lossFromConfig({ kind: "focal", gamma: 1, alpha: 0.5 }, labels, names, rows);
      assert.deepEqual(c.excluded, [2]);
      assert.match(c.description, /focal loss \(gamma 1, alpha 0.5\).*News/);
      closeTo(value(c.loss, Y, P), value(focalLoss({ gamma: 1, alpha: 0.5, excludeGenres: [2] }), Y, P), 1e-7);
    });

    it("bce: the trainer's loss, nothing excluded", () => {
      const c = lossFromConfig({ kind: "bce" }, labels, names, rows);
      assert.equal(c.loss, binaryCrossentropyLoss);
      assert.deepEqual(c.excluded, []);
      assert.match(c.description, /binary cross-entropy/);
      assert.throws(() => lossFromConfig({ kind: "hinge" as "bce" }, labels, names, rows), /unknown loss kind/);
    });
  });

  describe("weightedBceCorrection and correctOutputLayer", () => {
    it("shifts each bias by -ln(pos_weight); an excluded genre predicts 0.5 / (n + 1) whatever its input", () => {
      // weights [4, 1, 0 (excluded)], n = 99 training films: shifts [-ln 4, -ln 1 = 0, 0];
      // excluded bias = logit(0.5 / 100) = ln(0.005 / 0.995) = -5.29330482
      const c = weightedBceCorrection({ weights: [4, 1, 0], excluded: [2] }, 99);
      closeTo(c.biasShift[0]!, -Math.log(4), 1e-12);
      assert.equal(c.biasShift[1], 0);
      closeTo(c.excludedBias, -5.29330482, 1e-7);
      assert.match(c.description, /bias - ln pos_weight.*5\.0e-3/);

      // Dense(3, sigmoid) on 2 inputs, kernel [[1, 2, 3], [0, -1, 1]], bias [0.5, 0, -1]
      const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], activation: "sigmoid" })] });
      model.layers[0]!.setWeights([
        tf.tensor2d([
          [1, 2, 3],
          [0, -1, 1],
        ]),
        tf.tensor1d([0.5, 0, -1]),
      ]);
      const x = tf.tensor2d([[1, 1]]); // logits before: [1.5, 1, 3]
      correctOutputLayer(model, c);
      const p = (model.predict(x) as tf.Tensor).dataSync();
      // genre 0: odds e^1.5 / 4 -> p = sigmoid(1.5 - ln 4) = 0.52824  (e^1.5 = 4.48169; 4.48169 / 8.48169)
      closeTo(p[0]!, 4.48168907 / (4 + 4.48168907), 1e-6, "genre 0");
      closeTo(p[1]!, 1 / (1 + Math.exp(-1)), 1e-6, "genre 1 unchanged");
      closeTo(p[2]!, 0.005, 1e-6, "genre 2 constant");
      tf.dispose([x]);
      model.dispose();
    });

    it("uncorrected weighted BCE and focal loss still fix the genres left out of the loss (else an untrained 0.5)", () => {
      // 4 training films x 2 genres: genre 0 has one positive, genre 1 none (excluded).
      const labels = Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0]);
      for (const config of [{ kind: "weighted-bce", correctProbabilities: false }, { kind: "focal" }] as const) {
        const c = lossFromConfig(config, labels, ["Action", "News"], [0, 1, 2, 3]).correction!;
        assert.deepEqual(c.biasShift, [0, 0], `${config.kind}: probabilities as trained`);
        assert.deepEqual(c.excluded, [1]);
        assert.match(c.description, /as trained; genres without a positive training film predict 1\.0e-1/);
        // Dense(2, sigmoid) on 1 input, kernel [[2, 3]], bias [0, 0]: before, sigmoid(2) and sigmoid(3).
        const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [1], activation: "sigmoid" })] });
        model.layers[0]!.setWeights([tf.tensor2d([[2, 3]]), tf.tensor1d([0, 0])]);
        correctOutputLayer(model, c);
        const x = tf.tensor2d([[1]]);
        const p = (model.predict(x) as tf.Tensor).dataSync();
        closeTo(p[0]!, 1 / (1 + Math.exp(-2)), 1e-6, "genre 0 unchanged");
        closeTo(p[1]!, 0.5 / 5, 1e-6, "genre 1: 0.5 / (4 films + 1)");
        x.dispose();
        model.dispose();
      }
    });

    it("turns a weighted-BCE fit back into the true frequency (Keras-style training of a bias-only model)", () => {
      // 10 films, 2 of them positive (q = 0.2), pos_weight 4: the weighted loss is smallest at
      // p / (1 - p) = 4 * 0.2 / 0.8 = 1, i.e. p = 0.5; corrected, p = sigmoid(0 - ln 4) = 0.2.
      const model = tf.sequential({
        layers: [tf.layers.dense({ units: 1, inputShape: [1], activation: "sigmoid", kernelInitializer: "zeros" })],
      });
      const x = tf.zeros([10, 1]);
      const y = tf.tensor2d([1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [10, 1]);
      const loss = weightedBinaryCrossentropy([4]);
      const optimizer = tf.train.adam(0.05);
      for (let i = 0; i < 300; i++) optimizer.minimize(() => loss(y, model.apply(x) as tf.Tensor));
      closeTo((model.predict(x.slice([0, 0], [1, 1])) as tf.Tensor).dataSync()[0]!, 0.5, 1e-3, "weighted fit");
      correctOutputLayer(model, weightedBceCorrection({ weights: [4], excluded: [] }, 10));
      closeTo((model.predict(x.slice([0, 0], [1, 1])) as tf.Tensor).dataSync()[0]!, 0.2, 1e-3, "corrected");
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
    });

    it("lossFromConfig attaches the correction to weighted-bce unless turned off; other layers are refused", () => {
      const labels = Uint8Array.from([1, 0, 0, 0]); // 4 films x 1 genre: 1 positive -> weight 3
      const c = lossFromConfig({ kind: "weighted-bce" }, labels, ["Action"], [0, 1, 2, 3]);
      closeTo(c.correction!.biasShift[0]!, -Math.log(3), 1e-12);
      assert.equal(
        lossFromConfig({ kind: "weighted-bce", correctProbabilities: false }, labels, ["Action"], [0, 1, 2, 3]).correction,
        undefined,
      );
      assert.equal(lossFromConfig({ kind: "bce" }, labels, ["Action"], [0, 1, 2, 3]).correction, undefined);
      assert.equal(lossFromConfig({ kind: "focal" }, labels, ["Action"], [0, 1, 2, 3]).correction, undefined);
      const relu = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1], activation: "relu" })] });
      assert.throws(() => correctOutputLayer(relu, c.correction!), /not a Dense\(1, sigmoid\) layer/);
      relu.dispose();
    });
  });

  describe("correctedBinaryCrossentropy", () => {
    it("is the plain BCE of the corrected probabilities: odds divided by w, the excluded genre at its constant", () => {
      // genre 0: pos_weight 4, so p = 0.5 becomes 0.2 (odds 1 / 4); genre 1 excluded: 0.5 / (9 + 1) = 0.05
      const correction = weightedBceCorrection({ weights: [4, 0], excluded: [1] }, 9);
      const loss = correctedBinaryCrossentropy(correction);
      const value = tf.tidy(() => loss(tf.tensor2d([[1, 0]]), tf.tensor2d([[0.5, 0.9]])).dataSync()[0] as number);
      const expected = -(Math.log(0.2) + Math.log(1 - 0.05)) / 2;
      assert.ok(Math.abs(value - expected) < 1e-5, `${value} vs ${expected}`);
    });

    it("equals the BCE of a model whose output layer was corrected", () => {
      const correction = weightedBceCorrection({ weights: [2.5, 0.8, 0], excluded: [2] }, 40);
      const model = tf.sequential({
        layers: [
          tf.layers.dense({
            units: 3,
            inputShape: [2],
            activation: "sigmoid",
            kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
          }),
        ],
      });
      const x = tf.tensor2d([
        [0.3, -1.2],
        [2, 0.5],
        [-0.7, 0.1],
      ]);
      const y = tf.tensor2d([
        [1, 0, 0],
        [0, 1, 0],
        [1, 1, 0],
      ]);
      const before = tf.tidy(() => correctedBinaryCrossentropy(correction)(y, model.predict(x) as tf.Tensor).dataSync()[0] as number);
      correctOutputLayer(model, correction);
      const after = tf.tidy(() => binaryCrossentropyLoss(y, model.predict(x) as tf.Tensor).dataSync()[0] as number);
      assert.ok(Math.abs(before - after) < 1e-5, `${before} vs ${after}`);
      tf.dispose([x, y]);
      model.dispose();
    });
  });
});
