import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { augmentPosters, augmentTrainingData, augmentedMakeBatch, drawAugmentation } from "../lib/data/augment";
import { seededRandom } from "../lib/runtime/random";
import type { Batch, MakeBatch } from "../lib/data/batches";
import { useBackend } from "./helpers";

const constant = (value: number) => () => value;

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length, "length");
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs((actual[i] as number) - (expected[i] as number)) <= tolerance, `value ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

/** n random posters, NHWC. */
function randomPosters(n: number, size: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n * size * size * 3 }, () => r());
}

describe("augment: augmentPosters", () => {
  it("a flip mirrors a hand-made 2x2 image left-right (rows kept, channels kept)", () => {
    // pixel (y, x) = [r, g, b]
    const image = Float32Array.from([
      0.1, 0.2, 0.3, /* (0,0) */ 0.4, 0.5, 0.6 /* (0,1) */, 0.7, 0.8, 0.9, /* (1,0) */ 1.0, 0.0, 0.05 /* (1,1) */,
    ]);
    // random() = 0.25: flip (< 0.5); brightness and contrast off.
    const flipped = augmentPosters(image, 1, 2, 3, constant(0.25), { brightness: 0, contrast: 0 });
    assert.deepEqual(Array.from(flipped), Array.from(Float32Array.from([0.4, 0.5, 0.6, 0.1, 0.2, 0.3, 1.0, 0.0, 0.05, 0.7, 0.8, 0.9])));
    // random() = 0.75: no flip.
    assert.deepEqual(Array.from(augmentPosters(image, 1, 2, 3, constant(0.75), { brightness: 0, contrast: 0 })), Array.from(image));
    // flip: false never flips.
    assert.deepEqual(
      Array.from(augmentPosters(image, 1, 2, 3, constant(0.25), { flip: false, brightness: 0, contrast: 0 })),
      Array.from(image),
    );
    assert.equal(image[0], Float32Array.from([0.1])[0], "input untouched");
  });

  it("brightness adds b * (2r - 1); contrast scales around each channel's mean by 1 + c * (2r - 1)", () => {
    // Constant image 0.5: contrast does nothing, brightness 0.1 with r = 0.75 adds 0.05.
    const grey = new Float32Array(2 * 2 * 3).fill(0.5);
    close(augmentPosters(grey, 1, 2, 3, constant(0.75)), new Float32Array(12).fill(0.55));
    // r = 0.25 (also flips, invisible on a constant image): adds -0.05; brightness 0.2: -0.1.
    close(augmentPosters(grey, 1, 2, 3, constant(0.25)), new Float32Array(12).fill(0.45));
    close(augmentPosters(grey, 1, 2, 3, constant(0.25), { brightness: 0.2 }), new Float32Array(12).fill(0.4));
    // Contrast alone on a constant image: unchanged.
    close(augmentPosters(grey, 1, 2, 3, constant(0.9), { brightness: 0 }), grey);

    // Channel 0 alternates 0.4 / 0.6 (mean 0.5), channel 1 is constant 0.3, channel 2 constant 0.8.
    // r = 0.75: factor 1 + 0.1 * 0.5 = 1.05, no brightness: 0.5 +- 0.1 * 1.05.
    const image = Float32Array.from([0.4, 0.3, 0.8, 0.6, 0.3, 0.8, 0.6, 0.3, 0.8, 0.4, 0.3, 0.8]);
    close(
      augmentPosters(image, 1, 2, 3, constant(0.75), { brightness: 0 }),
      [0.395, 0.3, 0.8, 0.605, 0.3, 0.8, 0.605, 0.3, 0.8, 0.395, 0.3, 0.8],
    );
    // With brightness too (+0.05): contrast around the mean, then the shift.
    close(augmentPosters(image, 1, 2, 3, constant(0.75)), [0.445, 0.35, 0.85, 0.655, 0.35, 0.85, 0.655, 0.35, 0.85, 0.445, 0.35, 0.85]);
    // r = 0.25: flip + factor 0.95 - 0.05: mirrored columns.
    close(
      augmentPosters(image, 1, 2, 3, constant(0.25), { brightness: 0 }),
      [0.595, 0.3, 0.8, 0.405, 0.3, 0.8, 0.405, 0.3, 0.8, 0.595, 0.3, 0.8],
    );
  });

  it("clips to [0, 1]", () => {
    const nearWhite = new Float32Array(12).fill(0.98);
    const nearBlack = new Float32Array(12).fill(0.02);
    assert.deepEqual(Array.from(augmentPosters(nearWhite, 1, 2, 3, constant(0.999))), new Array(12).fill(1));
    assert.deepEqual(Array.from(augmentPosters(nearBlack, 1, 2, 3, constant(0))), new Array(12).fill(0));
    // Strong contrast on a black/white image stays in range.
    const bw = Float32Array.from([0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    const out = augmentPosters(bw, 1, 2, 3, constant(0.999), { brightness: 0, contrast: 0.5 });
    assert.deepEqual(Array.from(out), Array.from(bw));
    const many = augmentPosters(randomPosters(8, 4, 3), 8, 4, 3, seededRandom(1), { brightness: 0.5, contrast: 0.9 });
    assert.ok(many.every((v) => v >= 0 && v <= 1));
  });

  it("is deterministic under a seed: same seed same batch, another seed another batch; 3 draws per image", () => {
    const batch = randomPosters(4, 4, 7);
    const copy = Float32Array.from(batch);
    const a = augmentPosters(batch, 4, 4, 3, seededRandom(42));
    const b = augmentPosters(batch, 4, 4, 3, seededRandom(42));
    const c = augmentPosters(batch, 4, 4, 3, seededRandom(43));
    assert.deepEqual(Array.from(a), Array.from(b));
    assert.notDeepEqual(Array.from(a), Array.from(c));
    assert.notDeepEqual(Array.from(a), Array.from(batch));
    assert.deepEqual(Array.from(batch), Array.from(copy), "input untouched");
    // Turning the flip off does not shift the other draws.
    const on = drawAugmentation(seededRandom(5));
    const off = drawAugmentation(seededRandom(5), { flip: false });
    assert.equal(off.flipped, false);
    assert.equal(on.brightness, off.brightness);
    assert.equal(on.contrast, off.contrast);
    let draws = 0;
    augmentPosters(batch, 4, 4, 3, () => (draws++, 0.5));
    assert.equal(draws, 12);
  });

  it("rejects a wrong length and out-of-range options", () => {
    assert.throws(() => augmentPosters(new Float32Array(10), 1, 2, 3, constant(0.5)), /values for/);
    assert.throws(() => augmentPosters(new Float32Array(12), 1, 2, 3, constant(0.5), { brightness: -1 }), /brightness/);
  });
});

describe("augment: augmentedMakeBatch (training rows only)", () => {
  useBackend("cpu");

  const size = 4;
  const stride = size * size * 3;
  const rows = 8;
  const all = randomPosters(rows, size, 11);
  const poster = (r: number) => all.subarray(r * stride, (r + 1) * stride);
  const postersOf = (indices: readonly number[]) => {
    const out = new Float32Array(indices.length * stride);
    indices.forEach((r, k) => out.set(poster(r), k * stride));
    return tf.tensor4d(out, [indices.length, size, size, 3]);
  };
  const cnnBatch: MakeBatch = (indices) => ({ inputs: postersOf(indices), labels: tf.ones([indices.length, 25]) as tf.Tensor2D });
  const fusionBatch: MakeBatch = (indices) => ({
    inputs: [
      postersOf(indices),
      tf.tensor2d(
        indices.map((r) => [r + 1, 2, 0]),
        [indices.length, 3],
        "int32",
      ),
    ],
    labels: tf.zeros([indices.length, 25]) as tf.Tensor2D,
  });
  const imageOf = (batch: Batch, k: number, input = 0) => {
    const t = Array.isArray(batch.inputs) ? (batch.inputs[input] as tf.Tensor) : batch.inputs;
    return t.dataSync().slice(k * stride, (k + 1) * stride);
  };
  const train = [0, 1, 2, 3];

  it("augments training rows and leaves validation rows exactly as they were", () => {
    const before = tf.memory().numTensors;
    const make = augmentedMakeBatch(cnnBatch, { seed: 3, trainRows: new Set(train) });
    const mixed = make([1, 5, 2]);
    assert.deepEqual((mixed.inputs as tf.Tensor).shape, [3, size, size, 3]);
    assert.notDeepEqual(Array.from(imageOf(mixed, 0)), Array.from(poster(1)));
    assert.deepEqual(Array.from(imageOf(mixed, 1)), Array.from(poster(5)), "validation row untouched");
    assert.notDeepEqual(Array.from(imageOf(mixed, 2)), Array.from(poster(2)));
    assert.deepEqual(mixed.labels.shape, [3, 25]);
    // A validation-only batch is returned as the inner makeBatch made it.
    const validation = make([4, 5, 6, 7]);
    for (let k = 0; k < 4; k++) assert.deepEqual(Array.from(imageOf(validation, k)), Array.from(poster(4 + k)));
    tf.dispose([mixed as unknown as tf.TensorContainer, validation as unknown as tf.TensorContainer]);
    assert.equal(tf.memory().numTensors, before, "no tensor leaked");
  });

  it("is reproducible per seed and varies between calls (epochs)", () => {
    const a = augmentedMakeBatch(cnnBatch, { seed: 9, trainRows: train });
    const b = augmentedMakeBatch(cnnBatch, { seed: 9, trainRows: train });
    const c = augmentedMakeBatch(cnnBatch, { seed: 10, trainRows: train });
    const [a1, a2, b1, c1] = [a(train), a(train), b(train), c(train)];
    const values = (x: Batch) => Array.from((x.inputs as tf.Tensor).dataSync());
    assert.deepEqual(values(a1), values(b1));
    assert.notDeepEqual(values(a1), values(c1));
    assert.notDeepEqual(values(a1), values(a2), "the generator advances: the next epoch gets other augmentations");
    // Same as augmentPosters with the same seed on the same images.
    const expected = augmentPosters(postersOf(train).dataSync() as Float32Array, 4, size, 3, seededRandom(9));
    close(values(a1), expected, 0);
    tf.dispose([a1, a2, b1, c1] as unknown as tf.TensorContainer);
  });

  it("fusion batches: augments inputs[posterInput] only; augmentTrainingData wires data.train", () => {
    const data = augmentTrainingData({ train, validation: [4, 5, 6, 7], makeBatch: fusionBatch }, { seed: 1, posterInput: 0 });
    assert.deepEqual(data.train, train);
    const batch = data.makeBatch([0, 6]);
    const [posters, ids] = batch.inputs as tf.Tensor[];
    assert.deepEqual(posters!.shape, [2, size, size, 3]);
    assert.deepEqual(Array.from(ids!.dataSync()), [1, 2, 0, 7, 2, 0]);
    assert.equal(ids!.dtype, "int32");
    assert.notDeepEqual(Array.from(imageOf(batch, 0)), Array.from(poster(0)));
    assert.deepEqual(Array.from(imageOf(batch, 1)), Array.from(poster(6)));
    tf.dispose(batch as unknown as tf.TensorContainer);
    const bad = augmentedMakeBatch(fusionBatch, { seed: 1, trainRows: train, posterInput: 1 });
    assert.throws(() => tf.tidy(() => void bad([0])), /poster input/);
  });
});
