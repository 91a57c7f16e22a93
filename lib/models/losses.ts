/**
 * Losses for the class imbalance of the 25 genres, for any model trained with train/trainer.ts (pass the
 * function as `trainModel(..., { loss })`).
 *
 * The coursework trained with plain binary cross-entropy: with Drama in ~54% of the films and Western in
 * <1%, the cheapest way to lower it is to predict the genre frequencies, and the models did (Drama and
 * Comedy in every top 3, rare genres never predicted). The two remedies here are the usual ones:
 *
 *  - weighted BCE: the positive term of genre g is multiplied by pos_weight_g = negatives_g / positives_g
 *    counted on the TRAINING split (PyTorch's BCEWithLogitsLoss `pos_weight`, scikit-learn's
 *    class_weight='balanced' up to a per-genre constant), so that each genre's positives and negatives
 *    weigh the same in total; capped (see DEFAULT_POS_WEIGHT_CAP);
 *  - focal loss (Lin et al., 2017, "Focal Loss for Dense Object Detection"): cells that are already
 *    well classified (most negatives of rare genres) are down-weighted by (1 - p_t)^gamma.
 *
 * Both clip probabilities to [1e-7, 1 - 1e-7] exactly like Keras's, as binaryCrossentropyLoss below does, so
 * gradients stay finite at p = 0 and p = 1 (the clip's gradient is 0 there). Genres with no positive film
 * in the training split (Documentary, News, Reality-TV, Short in the coursework data) can be excluded:
 * their cells contribute nothing and the mean is over the included cells only. Otherwise such a genre
 * only ever pushes its output towards 0, which costs nothing to learn but dilutes the mean.
 *
 * Note: a loss other than plain BCE also changes `val_loss`, hence which epoch the trainer keeps; and the
 * probabilities of a model trained with a weighted or focal loss are no longer calibrated frequencies
 * (weighted BCE pushes them up, alpha = 0.25 focal pushes them down). For weighted BCE the inflation is
 * known exactly and undone after training (weightedBceCorrection, on by default in the notebooks' runs);
 * compare focal models by F1 at tuned thresholds (eval/metrics.ts tuneThresholds), not by their BCE.
 */
import * as tf from "@tensorflow/tfjs";

/** Keras backend epsilon: Adam's epsilon and the probability clipping of the cross-entropy. */
export const KERAS_EPSILON = 1e-7;

/** A loss for trainModel's `loss` option: mean over the batch (and the included genres). */
export type LossFunction = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;

/**
 * Keras binary cross-entropy on probabilities: p clipped to [1e-7, 1 - 1e-7], then
 * -mean(y log p + (1 - y) log(1 - p)) over all outputs and samples (mean over outputs, then over the
 * batch, which is the same thing for a rectangular batch).
 */
export function binaryCrossentropyLoss(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const p = tf.clipByValue(yPred, KERAS_EPSILON, 1 - KERAS_EPSILON);
    const y = tf.cast(yTrue, p.dtype);
    const one = tf.scalar(1, p.dtype);
    const logLikelihood = tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(one, y), tf.log(tf.sub(one, p))));
    return tf.neg(tf.mean(logLikelihood)) as tf.Scalar;
  });
}

/**
 * Default cap of the positive weights. Uncapped, negatives/positives on the coursework's training split
 * (seed 42, 4,553 films) is 122 for Western (<1% of the films), 67 for Musical, 51 for War and 1,517 for
 * N/A (3 films): one such positive would weigh as much as a hundred ordinary cells, its gradient would
 * dominate every batch it is in, and the model would learn little but those few films. With 10, every
 * genre under ~9% gets ten times the weight on its positives (14 of the 21 genres with positives), and
 * the frequent genres keep their exact balancing weight (Drama 0.87, Comedy 1.22, Action 4.06).
 */
export const DEFAULT_POS_WEIGHT_CAP = 10;
/** Lin et al.'s defaults for the focal loss. */
export const DEFAULT_FOCAL_GAMMA = 2;
export const DEFAULT_FOCAL_ALPHA = 0.25;

export interface PositiveWeights {
  /** pos_weight per genre: min(cap, negatives / positives) on the training rows; 0 for excluded genres. */
  weights: number[];
  /** Genre indices with no positive film in the training rows (weight 0, to exclude from the loss). */
  excluded: number[];
}

/**
 * pos_weight per genre = negatives / positives among the training rows, capped at `cap` (default
 * DEFAULT_POS_WEIGHT_CAP). A genre with no positive row gets weight 0 and is listed in `excluded`.
 * `labels` is row-major [films, genres] (Dataset.labels); `rows` are the training rows (Split.train).
 */
export function positiveWeights(
  labels: Uint8Array | ArrayLike<number>,
  genres: number,
  rows: readonly number[],
  options: { cap?: number } = {},
): PositiveWeights {
  const cap = options.cap ?? DEFAULT_POS_WEIGHT_CAP;
  if (!(cap > 0)) throw new Error(`positiveWeights: cap must be > 0, got ${cap}`);
  if (!Number.isInteger(genres) || genres <= 0) throw new Error(`positiveWeights: genres must be a positive integer, got ${genres}`);
  if (labels.length % genres !== 0) throw new Error(`positiveWeights: ${labels.length} labels is not a multiple of ${genres} genres`);
  if (rows.length === 0) throw new Error("positiveWeights: no training rows");
  const films = labels.length / genres;
  const positives = new Array<number>(genres).fill(0);
  for (const r of rows) {
    if (!Number.isInteger(r) || r < 0 || r >= films) throw new Error(`positiveWeights: row ${r} is outside the ${films} films`);
    for (let g = 0; g < genres; g++) if ((labels[r * genres + g] as number) !== 0) positives[g]! += 1;
  }
  const weights: number[] = [];
  const excluded: number[] = [];
  positives.forEach((pos, g) => {
    if (pos === 0) {
      weights.push(0);
      excluded.push(g);
    } else {
      weights.push(Math.min(cap, (rows.length - pos) / pos));
    }
  });
  return { weights, excluded };
}

/** 1 for included genres, 0 for excluded ones; throws on bad indices or when nothing is left. */
function inclusionMask(genres: number, excludeGenres: readonly number[] | undefined, where: string): number[] {
  const mask = new Array<number>(genres).fill(1);
  for (const g of excludeGenres ?? []) {
    if (!Number.isInteger(g) || g < 0 || g >= genres) throw new Error(`${where}: excluded genre ${g} is outside 0..${genres - 1}`);
    mask[g] = 0;
  }
  if (!mask.some((m) => m === 1)) throw new Error(`${where}: every genre is excluded`);
  return mask;
}

function checkShapes(yTrue: tf.Tensor, yPred: tf.Tensor, genres: number | undefined, where: string): number {
  if (yPred.rank !== 2) throw new Error(`${where}: predictions must be [batch, genres], got shape [${yPred.shape.join(", ")}]`);
  if (yTrue.shape.join(",") !== yPred.shape.join(",")) {
    throw new Error(`${where}: labels [${yTrue.shape.join(", ")}] and predictions [${yPred.shape.join(", ")}] differ in shape`);
  }
  const g = yPred.shape[1] as number;
  if (genres !== undefined && g !== genres) throw new Error(`${where}: the loss was built for ${genres} genres, predictions have ${g}`);
  return g;
}

/**
 * sum(mask * cells) / (batch * included genres): the mean over the included cells. `mask` is per genre
 * (length g) and broadcasts over the batch.
 */
function maskedMean(cells: tf.Tensor, mask: readonly number[]): tf.Scalar {
  const included = mask.reduce((a, b) => a + b, 0);
  const batch = cells.shape[0] as number;
  const masked = tf.mul(cells, tf.tensor1d([...mask], cells.dtype as "float32"));
  return tf.div(tf.sum(masked), tf.scalar(Math.max(1, batch * included), cells.dtype)) as tf.Scalar;
}

/**
 * Weighted binary cross-entropy on probabilities. Per cell (film f, genre g), with p clipped to
 * [1e-7, 1 - 1e-7] (Keras):  -(w_g * y * log(p) + (1 - y) * log(1 - p)).
 * Cells of `excludeGenres` contribute nothing; the result is the mean over batch x included genres.
 * With every weight 1 and nothing excluded it is binaryCrossentropyLoss above.
 */
export function weightedBinaryCrossentropy(
  posWeights: readonly number[],
  options: { excludeGenres?: readonly number[] } = {},
): LossFunction {
  const genres = posWeights.length;
  if (genres === 0) throw new Error("weightedBinaryCrossentropy: no weights");
  posWeights.forEach((w, g) => {
    if (!(w >= 0) || !Number.isFinite(w))
      throw new Error(`weightedBinaryCrossentropy: weight ${w} of genre ${g} is not a finite number >= 0`);
  });
  const mask = inclusionMask(genres, options.excludeGenres, "weightedBinaryCrossentropy");
  const weights = [...posWeights];
  return (yTrue, yPred) =>
    tf.tidy(() => {
      checkShapes(yTrue, yPred, genres, "weightedBinaryCrossentropy");
      const p = tf.clipByValue(yPred, KERAS_EPSILON, 1 - KERAS_EPSILON);
      const y = tf.cast(yTrue, p.dtype);
      const one = tf.scalar(1, p.dtype);
      const w = tf.tensor1d(weights, p.dtype as "float32");
      const positive = tf.mul(tf.mul(w, y), tf.log(p));
      const negative = tf.mul(tf.sub(one, y), tf.log(tf.sub(one, p)));
      return tf.neg(maskedMean(tf.add(positive, negative), mask)) as tf.Scalar;
    });
}

export interface FocalLossOptions {
  /** Focusing parameter (default 2): (1 - p_t)^gamma scales each cell; 0 gives alpha-weighted BCE. */
  gamma?: number;
  /** Weight of the positive term (default 0.25, Lin et al.); negatives get 1 - alpha. */
  alpha?: number;
  /** Genre indices that contribute nothing (e.g. PositiveWeights.excluded). */
  excludeGenres?: readonly number[];
  /** The number of genres the predictions must have (default: any; exclusions are checked against it). */
  genres?: number;
}

/**
 * Binary focal loss on probabilities (Lin et al., 2017). Per cell, p clipped to [1e-7, 1 - 1e-7]:
 *   -alpha * (1 - p)^gamma * y * log(p) - (1 - alpha) * p^gamma * (1 - y) * log(1 - p)
 * excluded genres contribute nothing; mean over batch x included genres.
 */
export function focalLoss(options: FocalLossOptions = {}): LossFunction {
  const gamma = options.gamma ?? DEFAULT_FOCAL_GAMMA;
  const alpha = options.alpha ?? DEFAULT_FOCAL_ALPHA;
  if (!(gamma >= 0) || !Number.isFinite(gamma)) throw new Error(`focalLoss: gamma must be a finite number >= 0, got ${gamma}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`focalLoss: alpha must be in [0, 1], got ${alpha}`);
  const exclude = options.excludeGenres ?? [];
  if (options.genres !== undefined) inclusionMask(options.genres, exclude, "focalLoss");
  return (yTrue, yPred) =>
    tf.tidy(() => {
      const g = checkShapes(yTrue, yPred, options.genres, "focalLoss");
      const mask = inclusionMask(g, exclude, "focalLoss");
      const p = tf.clipByValue(yPred, KERAS_EPSILON, 1 - KERAS_EPSILON);
      const y = tf.cast(yTrue, p.dtype);
      const one = tf.scalar(1, p.dtype);
      const q = tf.sub(one, p);
      // p and 1 - p are >= 1e-7 after clipping, so the powers and their gradients are finite.
      const positive = tf.mul(tf.mul(tf.scalar(alpha, p.dtype), tf.pow(q, tf.scalar(gamma, p.dtype))), tf.mul(y, tf.log(p)));
      const negative = tf.mul(
        tf.mul(tf.scalar(1 - alpha, p.dtype), tf.pow(p, tf.scalar(gamma, p.dtype))),
        tf.mul(tf.sub(one, y), tf.log(q)),
      );
      return tf.neg(maskedMean(tf.add(positive, negative), mask)) as tf.Scalar;
    });
}

export type LossKind = "bce" | "weighted-bce" | "focal";

export interface LossConfig {
  /** 'bce': the coursework's plain BCE (every genre); 'weighted-bce': pos_weight BCE; 'focal': focal loss. */
  kind: LossKind;
  /** weighted-bce: cap of the positive weights (default DEFAULT_POS_WEIGHT_CAP). */
  cap?: number;
  /** focal: default DEFAULT_FOCAL_GAMMA. */
  gamma?: number;
  /** focal: default DEFAULT_FOCAL_ALPHA. */
  alpha?: number;
  /**
   * weighted-bce: after training, undo the weights' inflation of the probabilities (weightedBceCorrection),
   * so that the saved model's probabilities are calibrated again. Default true.
   */
  correctProbabilities?: boolean;
}

export interface ConfiguredLoss {
  loss: LossFunction;
  /** One line: what the loss is, its parameters, which genres are excluded (by name when names were given). */
  description: string;
  /** Genre indices left out of the loss (none for 'bce'). */
  excluded: number[];
  /** weighted-bce only: the positive weights per genre. */
  weights?: number[];
  /**
   * What to apply to the output layer after training: weighted-bce's correction (correctProbabilities, the default),
   * or, for focal and uncorrected weighted-bce, only the fix of the genres left out of the loss (if any).
   */
  correction?: OutputCorrection;
}

function formatWeight(w: number): string {
  return Number.isInteger(w) ? String(w) : w.toFixed(2);
}

/**
 * The loss a notebook asked for, with a one-line description to print next to the results.
 * `genres` is the genre names (Dataset.genres: the description then names genres) or their count;
 * `trainRows` is the training split (weights and exclusions are counted there, never on validation).
 * 'bce' excludes nothing (it is exactly the coursework's loss); 'weighted-bce' and 'focal' exclude the
 * genres without a positive training film.
 */
export function lossFromConfig(
  config: LossConfig,
  labels: Uint8Array | ArrayLike<number>,
  genres: number | readonly string[],
  trainRows: readonly number[],
): ConfiguredLoss {
  const count = typeof genres === "number" ? genres : genres.length;
  const name = (g: number): string => (typeof genres === "number" ? `#${g}` : (genres[g] as string));
  const { weights, excluded } = positiveWeights(labels, count, trainRows, config.cap !== undefined ? { cap: config.cap } : {});
  const excludedText = excluded.length === 0 ? "none excluded" : `excluded (no positive training film): ${excluded.map(name).join(", ")}`;
  switch (config.kind) {
    case "bce": {
      const noPositives = excluded.length === 0 ? "" : `; genres without a positive training film (kept): ${excluded.map(name).join(", ")}`;
      return {
        loss: binaryCrossentropyLoss,
        description: `binary cross-entropy (Keras, unweighted, all ${count} genres${noPositives})`,
        excluded: [],
      };
    }
    case "weighted-bce": {
      const cap = config.cap ?? DEFAULT_POS_WEIGHT_CAP;
      const included = weights.map((w, g) => ({ w, g })).filter(({ g }) => !excluded.includes(g));
      const capped = included.filter(({ w }) => w >= cap).length;
      const lo = Math.min(...included.map(({ w }) => w));
      const hi = Math.max(...included.map(({ w }) => w));
      return {
        loss: weightedBinaryCrossentropy(weights, { excludeGenres: excluded }),
        description:
          `weighted binary cross-entropy, pos_weight = negatives/positives on the ${trainRows.length} training films capped at ${formatWeight(cap)} ` +
          `(${formatWeight(lo)}..${formatWeight(hi)}, ${capped} genre${capped === 1 ? "" : "s"} at the cap); ${excludedText}`,
        excluded,
        weights,
        ...(config.correctProbabilities === false
          ? untrainedGenresCorrection(excluded, count, trainRows.length)
          : { correction: weightedBceCorrection({ weights, excluded }, trainRows.length) }),
      };
    }
    case "focal": {
      const gamma = config.gamma ?? DEFAULT_FOCAL_GAMMA;
      const alpha = config.alpha ?? DEFAULT_FOCAL_ALPHA;
      return {
        loss: focalLoss({ gamma, alpha, excludeGenres: excluded, genres: count }),
        description: `focal loss (gamma ${gamma}, alpha ${alpha}); ${excludedText}`,
        excluded,
        ...untrainedGenresCorrection(excluded, count, trainRows.length),
      };
    }
    default:
      throw new Error(`lossFromConfig: unknown loss kind '${String((config as { kind: unknown }).kind)}' (bce, weighted-bce, focal)`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Undoing weighted BCE's inflation of the probabilities

/**
 * What to change in a sigmoid output layer trained with weighted BCE so that it predicts calibrated
 * probabilities again (prior correction, as for a classifier trained on resampled classes):
 *
 *   The expected weighted loss of predicting p for a cell whose true probability is q,
 *   -(w q log p + (1 - q) log(1 - p)), is smallest at p / (1 - p) = w q / (1 - q): the trained model's odds
 *   are w times the true odds. So logit(q) = logit(p) - ln w, i.e. the output layer's bias minus ln w_g.
 *
 * Genres excluded from the loss (no positive training film) were never trained: their kernel column is
 * zeroed and their bias set to logit(0.5 / (n + 1)) for n training films (the Krichevsky-Trofimov estimate
 * of a frequency seen 0 times in n), so they predict a tiny constant instead of an untrained ~0.5.
 */
export interface OutputCorrection {
  /** Added to the bias of each genre (-ln w_g; 0 for excluded genres, which are overwritten instead). */
  biasShift: number[];
  /** Genres whose kernel column is zeroed and whose bias is set to excludedBias. */
  excluded: number[];
  excludedBias: number;
  /** One line for the notebook. */
  description: string;
}

export function weightedBceCorrection(weights: PositiveWeights, trainFilms: number): OutputCorrection {
  const untrained = untrainedGenres(weights.excluded, trainFilms, "weightedBceCorrection");
  const biasShift = weights.weights.map((w, g) => {
    if (weights.excluded.includes(g)) return 0;
    if (!(w > 0) || !Number.isFinite(w)) throw new Error(`weightedBceCorrection: weight ${w} of genre ${g} is not a finite number > 0`);
    return 0 - Math.log(w); // not -Math.log(w): -0 for w = 1
  });
  return {
    biasShift,
    excluded: untrained.excluded,
    excludedBias: untrained.excludedBias,
    description:
      "probabilities corrected for the weighted loss (output bias - ln pos_weight per genre)" +
      (untrained.predicts ? `; ${untrained.predicts}` : ""),
  };
}

/** The genres left out of the loss (never trained) and the constant they predict: 0.5 / (n + 1) for n training films. */
function untrainedGenres(
  excluded: readonly number[],
  trainFilms: number,
  caller: string,
): { excluded: number[]; excludedBias: number; predicts: string } {
  if (!Number.isInteger(trainFilms) || trainFilms < 1)
    throw new Error(`${caller}: trainFilms must be a positive integer, got ${trainFilms}`);
  const p = 0.5 / (trainFilms + 1);
  return {
    excluded: [...excluded],
    excludedBias: Math.log(p / (1 - p)),
    predicts: excluded.length > 0 ? `genres without a positive training film predict ${p.toExponential(1)}` : "",
  };
}

/**
 * For a loss whose probabilities stay as trained (focal, or weighted BCE with correctProbabilities false): only
 * the genres left out of the loss are fixed, as in weightedBceCorrection, since an output never trained predicts
 * about 0.5 (it would top a film's genres and add ln 2 per excluded genre to the BCE). Nothing to do when no genre
 * is excluded.
 */
function untrainedGenresCorrection(excluded: readonly number[], genres: number, trainFilms: number): { correction?: OutputCorrection } {
  if (excluded.length === 0) return {};
  const untrained = untrainedGenres(excluded, trainFilms, "lossFromConfig");
  return {
    correction: {
      biasShift: new Array<number>(genres).fill(0),
      excluded: untrained.excluded,
      excludedBias: untrained.excludedBias,
      description: `probabilities as trained; ${untrained.predicts}`,
    },
  };
}

/**
 * Plain binary cross-entropy of the probabilities a model will give once `correction` is applied to its
 * output layer: p' = sigmoid(logit(p) + biasShift) per genre, and the constant of the excluded genres. As a
 * validation loss it selects the epoch of a weighted-BCE model on its calibrated probabilities, where the
 * weighted loss itself would prefer the epoch whose inflated probabilities suit the weights.
 */
export function correctedBinaryCrossentropy(correction: OutputCorrection): LossFunction {
  const genres = correction.biasShift.length;
  const included = correction.biasShift.map((_, g) => (correction.excluded.includes(g) ? 0 : 1));
  const constant = 1 / (1 + Math.exp(-correction.excludedBias));
  return (yTrue, yPred) =>
    tf.tidy(() => {
      checkShapes(yTrue, yPred, genres, "correctedBinaryCrossentropy");
      const p = tf.clipByValue(yPred, KERAS_EPSILON, 1 - KERAS_EPSILON);
      const logit = tf.sub(tf.log(p), tf.log1p(tf.neg(p)));
      const shifted = tf.sigmoid(tf.add(logit, tf.tensor1d(correction.biasShift, "float32")));
      const mask = tf.tensor1d(included, "float32");
      const corrected = tf.add(tf.mul(shifted, mask), tf.mul(tf.sub(1, mask), constant));
      return binaryCrossentropyLoss(yTrue, corrected);
    });
}

/**
 * Applies an OutputCorrection to a model's sigmoid output layer (its last layer: Dense(genres, sigmoid)),
 * in place. Throws when the last layer is not such a layer.
 */
export function correctOutputLayer(model: tf.LayersModel, correction: OutputCorrection): void {
  const layer = model.layers[model.layers.length - 1];
  const config = layer?.getConfig() ?? {};
  const weights = layer?.getWeights() ?? [];
  const [kernel, bias] = weights;
  const genres = correction.biasShift.length;
  if (!layer || config["activation"] !== "sigmoid" || weights.length !== 2 || !kernel || !bias || bias.shape[0] !== genres) {
    throw new Error(`correctOutputLayer: ${model.name}'s last layer (${layer?.name}) is not a Dense(${genres}, sigmoid) layer with a bias`);
  }
  const k = kernel.arraySync() as number[][];
  const b = bias.arraySync() as number[];
  for (let g = 0; g < genres; g++) {
    if (correction.excluded.includes(g)) {
      for (const row of k) row[g] = 0;
      b[g] = correction.excludedBias;
    } else {
      b[g] = (b[g] as number) + (correction.biasShift[g] as number);
    }
  }
  const corrected = [tf.tensor2d(k, kernel.shape as [number, number]), tf.tensor1d(b)];
  layer.setWeights(corrected); // copies the values into the layer's variables
  tf.dispose(corrected);
}
