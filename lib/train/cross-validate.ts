/**
 * k-fold cross-validation of a kind at its settings (issue 31, part 2): the run's training films are dealt into k
 * seeded folds (data/split.ts trainingFolds); k models are trained, each on the other folds' films and choosing
 * its epoch on its own held-out fold (the lifecycle's best val_loss), each into its own model folder; every
 * training film is predicted by the model that did not train on it (its out-of-fold probabilities), per-genre
 * thresholds are tuned on those, and the validation films, which no fold saw, are scored with the k models
 * averaged (eval/cross-validation.ts), with 95% bootstrap intervals.
 *
 * Meant for the cheap kinds (the TF-IDF baselines, the heads): it trains k models.
 */
import * as path from "node:path";
import { Film, labelMatrix } from "../data/dataset";
import { LoadedSplit, loadSplitDataset, trainingFolds } from "../data/split";
import { CrossValidatedScores, crossValidatedScores } from "../eval/cross-validation";
import { Predictions, predictFilms } from "../eval/inference";
import { KindConfig, KindId, kindConfig, loadModel, prepareRun } from "../kinds/registry";
import { WorkbookError } from "../runtime/errors";
import { validationPredictions, trainRun } from "./lifecycle";
import type { ProgressReporter } from "./progress";

export interface CrossValidateOptions {
  folds: number;
  /** The folds' model folders go in <dir>/fold-<i> (default <outDir>/cross-validation/<preset>/<kind>). */
  dir?: string;
  /** The run's dataset and split, already loaded (they must follow the config's split settings). */
  loaded?: LoadedSplit;
  /** Seed of the folds and the bootstrap (default: the split's seed). */
  seed?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  log?: (line: string) => void;
  progress?: () => ProgressReporter;
}

export interface FoldRun {
  dir: string;
  trainFilms: number;
  heldOutFilms: number;
  /** The epoch it kept, chosen on its held-out fold. */
  bestEpoch: number;
  bestValLoss: number;
}

export interface CrossValidation extends CrossValidatedScores {
  kind: KindId;
  folds: FoldRun[];
  /** The training films (Ids), in the order of outOfFoldProbabilities. */
  trainingIds: string[];
  /** Each training film's probabilities from the fold model that held it out, row-major [films, genres]. */
  outOfFoldProbabilities: Float32Array;
  /** The validation films scored (Ids), in the order of validation.probabilities. */
  validationIds: string[];
}

/** Cross-validates a kind (its settings at the active preset, or a config) with k folds of its training films. */
export async function crossValidate<K extends KindId>(kind: K | KindConfig<K>, options: CrossValidateOptions): Promise<CrossValidation> {
  const config = typeof kind === "string" ? kindConfig(kind) : kind;
  const log = options.log ?? console.log;
  const loaded = options.loaded ?? loadSplitDataset(config.dataDir, config, log);
  const seed = options.seed ?? loaded.split.seed;
  const folds = trainingFolds(loaded.split, options.folds, seed);
  const root = options.dir ?? path.join(config.outDir, "cross-validation", config.preset, config.kind);
  const genres = loaded.dataset.genres.length;
  const train = loaded.split.train;
  const position = new Map(train.map((r, i) => [r, i]));
  const outOfFold = new Float32Array(train.length * genres);
  const runs: FoldRun[] = [];
  const validation: Predictions[] = [];
  for (const [i, fold] of folds.entries()) {
    log(`cross-validation: fold ${i + 1} of ${folds.length} (${fold.train.length} training films, ${fold.validation.length} held out)`);
    const run = await prepareRun(config, { loaded: { ...loaded, split: fold }, dir: path.join(root, `fold-${i + 1}`), log });
    const history = await trainRun(run, { log, ...(options.progress ? { progress: options.progress() } : {}) });
    if (!run.runDir) throw new WorkbookError(`cross-validation: fold ${i + 1} kept no checkpoint (no epoch completed)`);
    const { yProb } = await validationPredictions(run);
    run.data.validation.forEach((r, k) =>
      outOfFold.set(yProb.subarray(k * genres, (k + 1) * genres), (position.get(r) as number) * genres),
    );
    const { bestEpoch, bestValLoss } = history;
    runs.push({ dir: run.dir, trainFilms: fold.train.length, heldOutFilms: fold.validation.length, bestEpoch, bestValLoss });
    const trained = await loadModel(run.dir);
    validation.push(await predictFilms(trained, loaded.dataset, loaded.split.validation, { cacheDir: config.cacheDir, log }));
    trained.model.dispose();
    run.model.dispose();
  }
  const scores = scoreFolds(loaded, outOfFold, validation, { seed, resamples: options.resamples });
  const result = { kind: config.kind, folds: runs, outOfFoldProbabilities: outOfFold, ...scores };
  log(describeCrossValidation(result));
  return result;
}

/** The out-of-fold and validation scores, on the validation films every fold model could predict. */
function scoreFolds(
  loaded: LoadedSplit,
  outOfFold: Float32Array,
  validation: readonly Predictions[],
  options: { seed: number; resamples: number | undefined },
): CrossValidatedScores & { trainingIds: string[]; validationIds: string[] } {
  const { dataset, split } = loaded;
  const g = dataset.genres.length;
  const ids = validation.reduce<string[]>((common, p) => common.filter((id) => p.ids.includes(id)), validation[0]?.ids ?? []);
  const rowOf = new Map(split.validation.map((r) => [(dataset.films[r] as Film).id, r]));
  const aligned = validation.map((p) => {
    const index = new Map(p.ids.map((id, i) => [id, i]));
    const out = new Float32Array(ids.length * g);
    ids.forEach((id, i) => out.set(p.probabilities.subarray((index.get(id) as number) * g, ((index.get(id) as number) + 1) * g), i * g));
    return out;
  });
  const scores = crossValidatedScores(
    dataset.genres,
    { yTrue: Float32Array.from(labelMatrix(dataset, split.train)), yProb: outOfFold },
    {
      yTrue: Float32Array.from(
        labelMatrix(
          dataset,
          ids.map((id) => rowOf.get(id) as number),
        ),
      ),
      folds: aligned,
    },
    { seed: options.seed, ...(options.resamples === undefined ? {} : { resamples: options.resamples }) },
  );
  return { ...scores, trainingIds: split.train.map((r) => (dataset.films[r] as Film).id), validationIds: ids };
}

/** One line: the validation films' headline figures at the out-of-fold thresholds, with their 95% intervals. */
export function describeCrossValidation(cv: CrossValidation): string {
  const f = (x: number) => x.toFixed(4);
  const figures = (["microF1", "macroF1", "bce"] as const).map((m) => {
    const iv = cv.validation.intervalsTuned[m];
    return `${m} ${f(iv.estimate)} [${f(iv.low)}, ${f(iv.high)}]`;
  });
  return (
    `cross-validation of ${cv.kind}, ${cv.folds.length} folds (epochs kept: ${cv.folds.map((r) => r.bestEpoch).join(", ")}): ` +
    `${cv.validation.films} validation films, the models averaged, thresholds tuned out of fold on ${cv.trainingIds.length} training films: ${figures.join(", ")} (95% intervals)`
  );
}
