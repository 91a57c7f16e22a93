/**
 * The films a run uses and how they are split: the settings' seeded subset of the dataset (when a preset
 * trains on fewer films), the seeded 80/20 split, and k seeded folds of the training films. Every model trained
 * with the same split settings sees the same training and validation films.
 */
import { Dataset, describeProblems, loadDataset, subsetDataset } from "./dataset";
import { WorkbookError } from "../runtime/errors";
import { sample, seededRandom, shuffled } from "../runtime/random";

export interface Split {
  /** Row indices into dataset.films, ascending. */
  train: number[];
  validation: number[];
  seed: number;
}

/**
 * The coursework's random 80/20 split, seeded: the same seed and the same films give the same split.
 * Like scikit-learn's train_test_split, the validation part is ceil(fraction * n) films.
 */
export function splitTrainValidation(n: number, seed: number, validationFraction = 0.2): Split {
  if (!(validationFraction > 0 && validationFraction < 1)) {
    throw new Error(`validationFraction must be between 0 and 1, got ${validationFraction}`);
  }
  const order = shuffled(
    Array.from({ length: n }, (_, i) => i),
    seededRandom(seed),
  );
  const nValidation = Math.ceil(validationFraction * n);
  const ascending = (a: number, b: number) => a - b;
  return {
    validation: order.slice(0, nValidation).sort(ascending),
    train: order.slice(nValidation).sort(ascending),
    seed,
  };
}

/** What decides the films of a run and its split (every run's settings have them). */
export interface SplitSettings {
  /** Seed of the split and the film subset (and, in a run, of the shuffling and the initial weights). */
  seed: number;
  validationFraction: number;
  /** A seeded random subset of this many films (undefined: all). */
  films?: number;
}

export interface LoadedSplit {
  dataset: Dataset;
  split: Split;
  /** The settings that chose the films and the split. */
  settings: SplitSettings;
}

/** Loads the dataset (reporting its problems), takes the settings' film subset, and splits it 80/20. */
export function loadSplitDataset(dataDir: string, settings: SplitSettings, log: (line: string) => void = console.log): LoadedSplit {
  const full = loadDataset(dataDir);
  log(describeProblems(full, 10));
  return splitDataset(full, settings, log);
}

/** The settings' seeded film subset of a loaded dataset (when `films` is set), split 80/20 with the settings' seed. */
export function splitDataset(full: Dataset, settings: SplitSettings, log: (line: string) => void = console.log): LoadedSplit {
  let dataset = full;
  if (settings.films !== undefined && settings.films < full.films.length) {
    const rows = sample(
      full.films.map((_, i) => i),
      settings.films,
      seededRandom(settings.seed),
    ).sort((a, b) => a - b);
    dataset = subsetDataset(full, rows);
    log(`using a seeded random subset of ${dataset.films.length} of the ${full.films.length} films`);
  }
  const split = splitTrainValidation(dataset.films.length, settings.seed, settings.validationFraction);
  log(`split (seed ${split.seed}): ${split.train.length} training films, ${split.validation.length} validation films`);
  const { seed, validationFraction, films } = settings;
  return { dataset, split, settings: { seed, validationFraction, ...(films === undefined ? {} : { films }) } };
}

/** Whether two split settings give the same films and the same split. */
export function sameSplit(a: SplitSettings, b: SplitSettings): boolean {
  return a.seed === b.seed && a.validationFraction === b.validationFraction && (a.films ?? null) === (b.films ?? null);
}

/**
 * k seeded folds of a split's training films, for cross-validation: the training films are shuffled (seeded) and
 * dealt out in turn, so fold sizes differ by at most one; fold i's split trains on the other folds' films and holds
 * out its own (as its `validation`). The split's validation films are in no fold.
 */
export function trainingFolds(split: Split, k: number, seed: number): Split[] {
  if (!(Number.isInteger(k) && k >= 2)) throw new WorkbookError(`cross-validation needs a whole number of folds >= 2, got ${k}`);
  if (k > split.train.length) throw new WorkbookError(`${k} folds of ${split.train.length} training films: at most one fold per film`);
  const fold = new Map<number, number>();
  shuffled([...split.train], seededRandom(seed)).forEach((row, i) => fold.set(row, i % k));
  return Array.from({ length: k }, (_, i) => ({
    train: split.train.filter((r) => fold.get(r) !== i),
    validation: split.train.filter((r) => fold.get(r) === i),
    seed: split.seed,
  }));
}
