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
import { BootstrapOptions, Intervals, bootstrapIntervals } from "./bootstrap";
import { Evaluation, evaluate, tuneThresholds } from "./metrics";

export interface CrossValidatedScores {
  /** Per genre, tuned on the training films' out-of-fold probabilities. */
  thresholds: number[];
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
  };
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
 * the validation films (`validation`: their labels, and each fold model's probabilities) scored with the models
 * averaged, at 0.5 and at those thresholds, with seeded bootstrap intervals.
 */
export function crossValidatedScores(
  genres: readonly string[],
  outOfFold: { yTrue: Float32Array; yProb: Float32Array },
  validation: { yTrue: Float32Array; folds: readonly Float32Array[] },
  options: BootstrapOptions = {},
): CrossValidatedScores {
  const { thresholds } = tuneThresholds(outOfFold.yTrue, outOfFold.yProb, genres);
  const probabilities = averageProbabilities(validation.folds);
  const g = genres.length;
  return {
    thresholds,
    outOfFold: evaluate(outOfFold.yTrue, outOfFold.yProb, genres, thresholds),
    validation: {
      films: validation.yTrue.length / g,
      probabilities,
      atHalf: evaluate(validation.yTrue, probabilities, genres, 0.5),
      tuned: evaluate(validation.yTrue, probabilities, genres, thresholds),
      intervalsAtHalf: bootstrapIntervals(validation.yTrue, probabilities, g, 0.5, options),
      intervalsTuned: bootstrapIntervals(validation.yTrue, probabilities, g, thresholds, options),
    },
  };
}
