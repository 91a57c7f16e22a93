/**
 * Poster augmentation at training time (the coursework reports' "future work"; the later edition's best
 * CNN used it): random horizontal flip, brightness and contrast, seeded so that a run is reproducible.
 *
 * Only TRAINING batches are augmented. train/trainer.ts's trainModel calls the same makeBatch for the
 * training and the validation rows, so augmentedMakeBatch() is told which rows are training rows
 * (`trainRows`, e.g. new Set(data.train)) and leaves every other row's poster exactly as it was:
 * validation, evaluation and prediction always see the plain posters. augmentTrainingData() does the
 * wiring for a TrainingData.
 */
import * as tf from "@tensorflow/tfjs";
import { Random, seededRandom } from "../runtime/random";
import type { Batch, MakeBatch, TrainingData } from "./batches";

export interface AugmentOptions {
  /** Horizontal flip with probability 0.5. Default true. */
  flip?: boolean;
  /** Add U(-b, b) to every value of an image (one draw per image). Default 0.1; 0 turns it off. */
  brightness?: number;
  /**
   * Scale each channel around its mean over the image by a factor U(1 - c, 1 + c) (one draw per image,
   * the same for all channels; as tf.image.adjust_contrast / Keras RandomContrast). Default 0.1; 0 turns
   * it off.
   */
  contrast?: number;
}

/** The random draws of one image (exported for tests and notebooks that show what was done). */
export interface ImageAugmentation {
  flipped: boolean;
  /** Added to every value. */
  brightness: number;
  /** Contrast factor. */
  contrast: number;
}

function checkOptions(options: AugmentOptions): Required<AugmentOptions> {
  const flip = options.flip ?? true;
  const brightness = options.brightness ?? 0.1;
  const contrast = options.contrast ?? 0.1;
  if (!(brightness >= 0 && brightness <= 1)) throw new Error(`augment: brightness must be in [0, 1], got ${brightness}`);
  if (!(contrast >= 0 && contrast <= 1)) throw new Error(`augment: contrast must be in [0, 1], got ${contrast}`);
  return { flip, brightness, contrast };
}

/**
 * Draws one image's augmentation. Always exactly three draws per image, in this order: flip (flipped
 * when < 0.5), brightness, contrast, whatever the options: turning one augmentation off does not change
 * the others' draws.
 */
export function drawAugmentation(random: Random, options: AugmentOptions = {}): ImageAugmentation {
  const o = checkOptions(options);
  const rFlip = random();
  const rBrightness = random();
  const rContrast = random();
  return {
    flipped: o.flip && rFlip < 0.5,
    brightness: o.brightness * (2 * rBrightness - 1),
    contrast: 1 + o.contrast * (2 * rContrast - 1),
  };
}

/**
 * Applies one image's augmentation: out = clip((flip(x) - mean_c) * contrast + mean_c + brightness, 0, 1),
 * mean_c = the mean of channel c over the image. `src` and `dst` are one size x size x channels image
 * (HWC), distinct arrays.
 */
export function applyAugmentation(src: Float32Array, dst: Float32Array, size: number, channels: number, a: ImageAugmentation): void {
  const means = new Float64Array(channels);
  for (let i = 0; i < size * size; i++) for (let c = 0; c < channels; c++) means[c] = (means[c] as number) + (src[i * channels + c] as number);
  for (let c = 0; c < channels; c++) means[c] = (means[c] as number) / (size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const from = (y * size + (a.flipped ? size - 1 - x : x)) * channels;
      const to = (y * size + x) * channels;
      for (let c = 0; c < channels; c++) {
        const m = means[c] as number;
        const v = ((src[from + c] as number) - m) * a.contrast + m + a.brightness;
        dst[to + c] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
}

/**
 * Augments a batch of posters: n images, NHWC, size x size x channels, values in [0, 1]. Returns a new
 * array (the input is untouched), values clipped to [0, 1]. Every image gets its own draws
 * (drawAugmentation, three per image, images in order), so the same `random` state gives the same
 * batch: pass seededRandom(seed) for reproducible runs. Augment training batches only (see
 * augmentedMakeBatch); never validation.
 */
export function augmentPosters(batch: Float32Array, n: number, size: number, channels = 3, random: Random, options: AugmentOptions = {}): Float32Array {
  const stride = size * size * channels;
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(size) || size < 1 || !Number.isInteger(channels) || channels < 1) {
    throw new Error(`augmentPosters: bad shape n=${n} size=${size} channels=${channels}`);
  }
  if (batch.length !== n * stride) throw new Error(`augmentPosters: ${batch.length} values for ${n} x ${size} x ${size} x ${channels}`);
  checkOptions(options);
  const out = new Float32Array(batch.length);
  for (let k = 0; k < n; k++) {
    const a = drawAugmentation(random, options);
    applyAugmentation(batch.subarray(k * stride, (k + 1) * stride), out.subarray(k * stride, (k + 1) * stride), size, channels, a);
  }
  return out;
}

export interface AugmentedBatchOptions extends AugmentOptions {
  /** Seed of the augmentation draws (one generator for the whole run; see augmentedMakeBatch). */
  seed: number;
  /**
   * The rows (makeBatch indices) to augment: the training rows, e.g. new Set(data.train). Any other row
   * (validation) keeps its poster exactly.
   */
  trainRows: ReadonlySet<number> | readonly number[];
  /** Which input is the poster tensor when the batch has several inputs (fusion: 0). Default 0. */
  posterInput?: number;
}

/**
 * Wraps a MakeBatch whose poster input (batch.inputs, or batch.inputs[posterInput] for a multi-input
 * model such as the fusion model) is an [n, size, size, channels] float tensor, so that the posters of
 * TRAINING rows (options.trainRows) are augmented with augmentPosters and those of every other row are
 * returned unchanged. A batch with no training row is passed through as it is (validation batches cost
 * nothing).
 *
 * Determinism: one seededRandom(seed) generator is created here and advances with every training image
 * (three draws each), so every epoch sees different augmentations and a run with the same seed and the
 * same batch order (trainModel's seeded shuffling) gets the same ones. Call it again for a fresh run.
 */
export function augmentedMakeBatch(makeBatch: MakeBatch, options: AugmentedBatchOptions): MakeBatch {
  const augment = checkOptions(options);
  const trainRows: ReadonlySet<number> = options.trainRows instanceof Set ? options.trainRows : new Set(options.trainRows as readonly number[]);
  const which = options.posterInput ?? 0;
  const random = seededRandom(options.seed);
  return (indices: readonly number[]): Batch => {
    const batch = makeBatch(indices);
    const train = indices.map((r) => trainRows.has(r));
    if (!train.some(Boolean)) return batch;
    const many = Array.isArray(batch.inputs);
    const posters = many ? (batch.inputs as tf.Tensor[])[which] : (batch.inputs as tf.Tensor);
    if (posters === undefined) throw new Error(`augmentedMakeBatch: the batch has no input ${which}`);
    if (posters.rank !== 4 || posters.shape[1] !== posters.shape[2] || posters.shape[0] !== indices.length) {
      throw new Error(`augmentedMakeBatch: the poster input must be [${indices.length}, size, size, channels], got [${posters.shape.join(", ")}]`);
    }
    const [, size, , channels] = posters.shape as [number, number, number, number];
    const stride = size * size * channels;
    const data = posters.dataSync() as Float32Array;
    const out = Float32Array.from(data);
    train.forEach((isTrain, k) => {
      if (!isTrain) return;
      const a = drawAugmentation(random, augment);
      applyAugmentation(data.subarray(k * stride, (k + 1) * stride), out.subarray(k * stride, (k + 1) * stride), size, channels, a);
    });
    const augmented = tf.tensor4d(out, [indices.length, size, size, channels], "float32");
    posters.dispose();
    if (!many) return { inputs: augmented, labels: batch.labels };
    const inputs = (batch.inputs as tf.Tensor[]).slice();
    inputs[which] = augmented;
    return { inputs, labels: batch.labels };
  };
}

/** data with a makeBatch that augments the posters of data.train's rows only (validation untouched). */
export function augmentTrainingData<T extends TrainingData>(data: T, options: AugmentOptions & { seed: number; posterInput?: number }): T {
  return { ...data, makeBatch: augmentedMakeBatch(data.makeBatch, { ...options, trainRows: new Set(data.train) }) };
}
