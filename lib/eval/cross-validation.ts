/**
 * The scores of a k-fold cross-validation (train/cross-validate.ts trains the folds): per-genre thresholds tuned on
 * the out-of-fold probabilities of the training films (each film predicted by the one model that did not train on
 * it), and the validation films scored with the folds' models averaged, at 0.5 and at those thresholds, each
 * headline figure with its 95% bootstrap interval over the validation films.
 *
 * Why: a single 80/20 split tunes thresholds on the same validation films it is scored on (or on half of them, as
 * the leaderboards' cross-fitting does). Here the thresholds never see a validation film, and they are tuned on
 * four times as many films.
 */
import { BootstrapOptions, Difference, HeadlineMetric, Intervals, bootstrapIntervals, pairedBootstrap } from "./bootstrap";
import { Evaluation, ThresholdTuning, evaluate, tuneThresholds } from "./metrics";

/** One fold's model alone on the validation films, at its own thresholds (tuned on its held-out fold). */
export interface FoldScore {
  tuned: Evaluation;
  intervalsTuned: Intervals;
}

export interface CrossValidatedScores {
  /** Per genre, tuned on the training films' out-of-fold probabilities. */
  thresholds: number[];
  /** The tuning behind `thresholds`: each genre's F1 on the out-of-fold probabilities at it. */
  tuning: ThresholdTuning;
  /** The out-of-fold probabilities scored at those thresholds (flattered: tuned on these very films). */
  outOfFold: Evaluation;
  validation: {
    films: number;
    /** The folds' models' probabilities averaged, row-major [films, genres]. */
    probabilities: Float32Array;
    atHalf: Evaluation;
    tuned: Evaluation;
    intervalsAtHalf: Intervals;
    intervalsTuned: Intervals;
    /**
     * What a single split does, for comparison only: thresholds tuned on the validation films' own averaged
     * probabilities, and the score they give there (flattered: tuned on the films they score).
     */
    validationTunedThresholds: number[];
    validationTuned: Evaluation;
  };
  /** Each fold's model alone on the validation films, at its own thresholds. */
  folds: FoldScore[];
  /**
   * The ensemble (the folds' mean at the out-of-fold thresholds) minus one model alone (fold `single`'s, at its own
   * thresholds), paired over the validation films: neither side chose anything on them.
   */
  againstSingle: { single: number; difference: Record<HeadlineMetric, Difference> };
  /** The same for every fold's model alone, in fold order (againstSingle is one of them, chosen before any was seen). */
  againstEach: Record<HeadlineMetric, Difference>[];
}
/** The mean of the folds' probabilities, cell by cell. */
export function averageProbabilities(folds: readonly Float32Array[]): Float32Array {
  const [first] = folds;
  if (!first) throw new Error("averageProbabilities: no folds");
  const mean = new Float32Array(first.length);
  for (const p of folds) {
    if (p.length !== first.length) throw new Error(`averageProbabilities: ${p.length} probabilities against ${first.length}`);
    for (let i = 0; i < p.length; i++) mean[i]! += (p[i] as number) / folds.length;
  }
  return mean;
}

/**
 * Thresholds tuned on the out-of-fold probabilities (`outOfFold`: the training films' labels and probabilities);
 * the validation films (`validation`: their labels, each fold model's probabilities and its own thresholds, tuned on
 * its held-out fold) scored with the models averaged, at 0.5 and at those thresholds, each fold's model alone at its
 * own thresholds, and the ensemble against fold `single`'s model alone (default the first), all with seeded
 * bootstrap intervals over the validation films.
 */
export function crossValidatedScores(
  genres: readonly string[],
  outOfFold: { yTrue: Float32Array; yProb: Float32Array },
  validation: { yTrue: Float32Array; folds: readonly Float32Array[]; foldThresholds: readonly (readonly number[])[] },
  options: BootstrapOptions & { single?: number } = {},
): CrossValidatedScores {
  const tuning = tuneThresholds(outOfFold.yTrue, outOfFold.yProb, genres);
  const { thresholds } = tuning;
  const probabilities = averageProbabilities(validation.folds);
  const g = genres.length;
  if (validation.foldThresholds.length !== validation.folds.length)
    throw new Error(`crossValidatedScores: ${validation.foldThresholds.length} folds' thresholds for ${validation.folds.length} folds`);
  const single = options.single ?? 0;
  if (!Number.isInteger(single) || single < 0 || single >= validation.folds.length)
    throw new Error(`crossValidatedScores: no fold ${single} to compare with`);
  const { single: _single, ...bootstrap } = options;
  const validationTunedThresholds = tuneThresholds(validation.yTrue, probabilities, genres).thresholds;
  const againstEach = validation.folds.map((p, i) =>
    pairedBootstrap(
      validation.yTrue,
      { probabilities, thresholds },
      { probabilities: p, thresholds: validation.foldThresholds[i] as readonly number[] },
      g,
      bootstrap,
    ),
  );
  return {
    thresholds,
    tuning,
    outOfFold: evaluate(outOfFold.yTrue, outOfFold.yProb, genres, thresholds),
    validation: {
      films: validation.yTrue.length / g,
      probabilities,
      atHalf: evaluate(validation.yTrue, probabilities, genres, 0.5),
      tuned: evaluate(validation.yTrue, probabilities, genres, thresholds),
      intervalsAtHalf: bootstrapIntervals(validation.yTrue, probabilities, g, 0.5, bootstrap),
      intervalsTuned: bootstrapIntervals(validation.yTrue, probabilities, g, thresholds, bootstrap),
      validationTunedThresholds,
      validationTuned: evaluate(validation.yTrue, probabilities, genres, validationTunedThresholds),
    },
    folds: validation.folds.map((p, i) => {
      const own = validation.foldThresholds[i] as readonly number[];
      return {
        tuned: evaluate(validation.yTrue, p, genres, own),
        intervalsTuned: bootstrapIntervals(validation.yTrue, p, g, own, bootstrap),
      };
    }),
    againstSingle: { single, difference: againstEach[single] as Record<HeadlineMetric, Difference> },
    againstEach,
  };
}
