/**
 * k-fold cross-validation of a kind at its settings (issue 31, part 2): the run's training films are dealt into k
 * seeded folds (data/split.ts trainingFolds); k models are trained, each on the other folds' films and choosing
 * its epoch on its own held-out fold (the lifecycle's best val_loss); every training film is predicted by the model
 * that did not train on it (its out-of-fold probabilities), per-genre thresholds are tuned on those, and the
 * validation films, which no fold saw, are scored with the k models averaged (eval/cross-validation.ts), with 95%
 * bootstrap intervals, beside each fold's model alone.
 *
 * The k models are kept as one ensemble model folder (models/ensemble-folder.ts: fold-1 ... fold-k, info.json with
 * the folds, thresholds.json from the out-of-fold probabilities), which predict, evaluate, explain and the
 * leaderboards load like any model (kinds/ensemble.ts). It is written as a training run is: into its own run folder
 * `<dir>.runs/<id>/` under the folder's lock, and `<dir>` switched to it at once when every fold is done, so the
 * ensemble folder never mixes two cross-validations, nor shows one half done.
 *
 * Cheap for the heads, the pretrained joint model and the TF-IDF baselines; the CNN, the BiLSTM and the joint model
 * that trains both need `acceptCost`, and are told the time it will take first.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { Film, labelMatrix } from "../data/dataset";
import { LoadedSplit, loadSplitDataset, trainingFolds } from "../data/split";
import { CrossValidatedScores, crossValidatedScores } from "../eval/cross-validation";
import { Predictions, predictFilms } from "../eval/inference";
import { KindConfig, KindId, Trained, kindConfig, kindSpec, loadModel, prepareRun } from "../kinds/registry";
import { rowIds, splitInfo } from "../kinds/runs";
import { EnsembleModelInfo, foldFolder } from "../models/ensemble-folder";
import { HISTORY_JSON, INFO_JSON, modelFolder, runsDir, saveInfo, saveThresholds } from "../models/model-folder";
import { checkOutputFolder, finishRunFolder, publishRun, startRunFolder, unpublishRun } from "../models/run-folders";
import { checkHistoryJson, checkInfoJson } from "../models/folder-schema";
import { checkPathName } from "../runtime/config";
import { WorkbookError } from "../runtime/errors";
import { loadJson } from "../runtime/files";
import { validationPredictions, trainRun } from "./lifecycle";
import type { ProgressReporter } from "./progress";

export interface CrossValidateOptions {
  folds: number;
  /** The ensemble model folder (default <outDir>/cross-validation/<preset>/<kind>); its folds go in <dir>/fold-<i>. */
  dir?: string;
  /** The run's dataset and split, already loaded (they must follow the config's split settings). */
  loaded?: LoadedSplit;
  /** Seed of the folds and the bootstrap (default: the split's seed). */
  seed?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Required for the kinds costly to cross-validate (KindSpec.costlyToCrossValidate; the estimate is said first). */
  acceptCost?: boolean;
  log?: (line: string) => void;
  progress?: () => ProgressReporter;
}

export interface FoldRun {
  /** Its model folder, inside the ensemble folder. */
  dir: string;
  trainFilms: number;
  heldOutFilms: number;
  /** The epoch it kept, chosen on its held-out fold. */
  bestEpoch: number;
  bestValLoss: number;
  /** Its thresholds, tuned on its held-out fold. */
  thresholds: number[];
  /** Its time, preparing and training, in seconds. */
  seconds: number;
}

export interface CrossValidation extends CrossValidatedScores {
  kind: KindId;
  /** The genres, in the order of every per-genre figure (thresholds, probabilities). */
  genres: string[];
  /** The ensemble model folder. */
  dir: string;
  /** Seed of the folds. */
  seed: number;
  runs: FoldRun[];
  /** The training films (Ids), in the order of outOfFoldProbabilities. */
  trainingIds: string[];
  /** Each training film's probabilities from the fold model that held it out, row-major [films, genres]. */
  outOfFoldProbabilities: Float32Array;
  /** The validation films scored (Ids), in the order of validation.probabilities. */
  validationIds: string[];
}

/** The default ensemble folder of a kind's cross-validation at a preset. */
export function crossValidationFolder(config: { outDir: string; preset: string }, kind: KindId): string {
  return path.join(config.outDir, "cross-validation", checkPathName(config.preset, "the preset"), checkPathName(kind, "the model kind"));
}

/**
 * What k folds of a kind will take, in words: from the preset's own model of the kind when it was trained
 * (history.json's seconds per epoch, scaled by the films each epoch reads: a fold reads the run's training films,
 * that model all the films of its split), k folds of the settings' epochs (fewer if early stopping ends them).
 * Without such a model there is nothing to estimate from: fold 1 is timed and the rest said after it.
 */
export async function estimateCrossValidation(config: KindConfig, folds: number, trainFilms: number): Promise<string> {
  const dir = modelFolder(config, config.kind);
  try {
    const history = checkHistoryJson(await loadJson(path.join(dir, HISTORY_JSON)), path.join(dir, HISTORY_JSON));
    const info = checkInfoJson(await loadJson(path.join(dir, INFO_JSON)), path.join(dir, INFO_JSON));
    const timed = history.epochs.filter((e) => typeof e.seconds === "number" && e.seconds > 0);
    if (timed.length === 0) throw new Error("no timed epoch");
    const perEpoch = timed.reduce((sum, e) => sum + (e.seconds as number), 0) / timed.length;
    const films = info.dataset.trainFilms + info.dataset.validationFilms;
    const total = folds * config.epochs * perEpoch * (trainFilms / films);
    return (
      `about ${minutes(total)} at most: ${folds} folds x ${config.epochs} epochs x ${perEpoch.toFixed(1)} s per epoch of ${films} films ` +
      `(${dir}'s history.json), scaled to the ${trainFilms} training films each fold reads (early stopping may end folds sooner)`
    );
  } catch {
    return `no timed model of ${config.kind} at preset ${config.preset} (${dir}) to estimate from: fold 1 is timed, and the time of the others said after it`;
  }
}

function minutes(seconds: number): string {
  return seconds < 90 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`;
}

/** The number of folds as given (an option or an argument): a whole number from 2 to the training films. */
export function checkFolds(folds: unknown, trainFilms?: number): number {
  if (typeof folds !== "number" || !Number.isInteger(folds) || folds < 2)
    throw new WorkbookError(`cross-validation needs a whole number of folds >= 2, got ${String(folds)}`);
  if (trainFilms !== undefined && folds > trainFilms)
    throw new WorkbookError(`${folds} folds of ${trainFilms} training films: at most one fold per film`);
  return folds;
}

/**
 * Cross-validates a kind (its settings at the active preset, or a config) with k folds of its training films, and
 * keeps the k models as an ensemble model folder.
 */
export async function crossValidate<K extends KindId>(kind: K | KindConfig<K>, options: CrossValidateOptions): Promise<CrossValidation> {
  const config = typeof kind === "string" ? kindConfig(kind) : kind;
  const log = options.log ?? console.log;
  checkFolds(options.folds);
  const loaded = options.loaded ?? loadSplitDataset(config.dataDir, config, log);
  const seed = options.seed ?? loaded.split.seed;
  const folds = trainingFolds(loaded.split, checkFolds(options.folds, loaded.split.train.length), seed);
  const target = options.dir ?? crossValidationFolder(config, config.kind);
  await checkCost(config, folds.length, loaded.split.train.length, options.acceptCost ?? false, log);
  await checkOutputFolder(target);
  const run = await startRunFolder(target, log);
  log(`cross-validation run ${run.id}, in ${run.dir}; ${target} switches to it when every fold is done`);
  let published = false;
  try {
    const trained = await trainFolds(config, loaded, folds, run.dir, options, log);
    const outOfFold = outOfFoldProbabilities(trained, loaded.split.train, loaded.dataset.genres.length);
    const scores = scoreFolds(
      loaded,
      outOfFold,
      trained.map((t) => t.validation),
      trained.map((t) => t.run.thresholds),
      { seed, resamples: options.resamples },
    );
    await writeEnsemble(run.dir, loaded, trained, scores, seed);
    // the folder as predict and evaluate will read it: refused here, not later, if anything in it is wrong
    (await loadModel(run.dir)).model.dispose();
    await publishRun(run, log);
    published = true;
    const runs = trained.map((t, i) => ({ ...t.run, dir: foldFolder(target, i + 1) }));
    const result: CrossValidation = {
      kind: config.kind,
      genres: loaded.dataset.genres,
      dir: target,
      seed,
      runs,
      outOfFoldProbabilities: outOfFold,
      ...scores,
    };
    log(describeCrossValidation(result));
    return result;
  } catch (error) {
    if (published) await unpublishRun(run);
    throw error;
  } finally {
    // a cross-validation that did not finish leaves nothing: its folds alone are not a model
    await finishRunFolder(run, published);
  }
}

/**
 * A kind costly to cross-validate (KindSpec.costlyToCrossValidate) is cross-validated only when asked knowingly, its
 * estimated time said first; the estimate is the error's message otherwise.
 */
async function checkCost(
  config: KindConfig,
  folds: number,
  trainFilms: number,
  acceptCost: boolean,
  log: (line: string) => void,
): Promise<void> {
  if (!kindSpec(config.kind).costlyToCrossValidate) return;
  const estimate = await estimateCrossValidation(config, folds, trainFilms);
  if (!acceptCost) {
    throw new WorkbookError(
      `cross-validating ${config.kind} trains ${folds} models, ${estimate}. ` +
        "Ask for it knowingly: 'npm run train -- KIND --folds K --accept-cost', or crossValidate(kind, { folds, acceptCost: true })",
    );
  }
  log(`cross-validating ${config.kind}: ${folds} models, ${estimate}`);
}

/** Every training film's probabilities from the fold that held it out, in the order of the training films: [films, genres]. */
function outOfFoldProbabilities(trained: readonly TrainedFold[], train: readonly number[], genres: number): Float32Array {
  const position = new Map(train.map((r, i) => [r, i]));
  const outOfFold = new Float32Array(train.length * genres);
  for (const t of trained)
    t.heldOut.forEach((r, k) => outOfFold.set(t.outOfFold.subarray(k * genres, (k + 1) * genres), (position.get(r) as number) * genres));
  return outOfFold;
}

interface TrainedFold {
  run: FoldRun;
  heldOut: number[];
  /** The held-out films' probabilities, in the order of heldOut. */
  outOfFold: Float32Array;
  validation: Predictions;
}

/** Trains the folds into <runDir>/fold-<i>, each a plain folder in the end (the lifecycle's link to its run replaced by the run). */
async function trainFolds<K extends KindId>(
  config: KindConfig<K>,
  loaded: LoadedSplit,
  folds: ReturnType<typeof trainingFolds>,
  runDir: string,
  options: CrossValidateOptions,
  log: (line: string) => void,
): Promise<TrainedFold[]> {
  const trained: TrainedFold[] = [];
  for (const [i, fold] of folds.entries()) {
    const started = Date.now();
    const dir = foldFolder(runDir, i + 1);
    log(`cross-validation: fold ${i + 1} of ${folds.length} (${fold.train.length} training films, ${fold.validation.length} held out)`);
    const run = await prepareRun(config, { loaded: { ...loaded, split: fold }, dir, log });
    const history = await trainRun(run, { log, ...(options.progress ? { progress: options.progress() } : {}) });
    if (!run.runDir) throw new WorkbookError(`cross-validation: fold ${i + 1} kept no checkpoint (no epoch completed)`);
    if (history.interrupted) throw new WorkbookError(`cross-validation interrupted in fold ${i + 1}: no ensemble was written`);
    const { yProb } = await validationPredictions(run);
    run.model.dispose();
    await ownFolder(dir, run.runDir);
    const model: Trained = await loadModel(dir);
    if (!model.thresholds) throw new WorkbookError(`${dir}: fold ${i + 1} has no thresholds.json`);
    const validation = await predictFilms(model, loaded.dataset, loaded.split.validation, { cacheDir: config.cacheDir, log });
    model.model.dispose();
    const seconds = (Date.now() - started) / 1000;
    const { bestEpoch, bestValLoss } = history;
    trained.push({
      run: {
        dir,
        trainFilms: fold.train.length,
        heldOutFilms: fold.validation.length,
        bestEpoch,
        bestValLoss,
        thresholds: model.thresholds.thresholds,
        seconds,
      },
      heldOut: [...run.data.validation],
      outOfFold: yProb,
      validation,
    });
    if (i === 0 && folds.length > 1)
      log(`fold 1 took ${minutes(seconds)}: the other ${folds.length - 1} folds, about ${minutes(seconds * (folds.length - 1))} more`);
  }
  return trained;
}

/** Makes the fold's model folder `dir` (a link to its run, as the lifecycle leaves it) that run's folder itself. */
async function ownFolder(dir: string, runDir: string): Promise<void> {
  await fsp.rm(dir);
  await fsp.rename(runDir, dir);
  await fsp.rmdir(runsDir(dir));
}

/** The ensemble's info.json (the folds' kind and settings, the whole run's split, the folds) and thresholds.json (out of fold). */
async function writeEnsemble(
  dir: string,
  loaded: LoadedSplit,
  trained: readonly TrainedFold[],
  scores: CrossValidatedScores & { trainingIds: string[] },
  seed: number,
): Promise<void> {
  const first = trained[0] as TrainedFold;
  const foldInfo = await loadJson<EnsembleModelInfo>(path.join(first.run.dir, INFO_JSON));
  const { bestEpoch: _e, bestValLoss: _l, interrupted: _i, outputCorrection: _c, finished: _f, ...kindInfo } = foldInfo;
  const info: EnsembleModelInfo = {
    ...kindInfo,
    dataset: { ...foldInfo.dataset, ...splitInfo(loaded) },
    finished: new Date().toISOString(),
    ensemble: {
      folds: trained.length,
      seed,
      members: trained.map((t) => ({
        trainFilms: t.run.trainFilms,
        heldOutIds: rowIds(loaded.dataset, t.heldOut),
        bestEpoch: t.run.bestEpoch,
        bestValLoss: Number.isFinite(t.run.bestValLoss) ? t.run.bestValLoss : null,
      })),
    },
  };
  await saveInfo(dir, info);
  await saveThresholds(dir, {
    genres: loaded.dataset.genres,
    thresholds: scores.thresholds,
    tunedOn: `out-of-fold probabilities of the training films (${trained.length} folds)`,
    films: scores.trainingIds.length,
    perGenre: scores.tuning.perGenre,
  });
}

/** The out-of-fold and validation scores, on the validation films every fold model could predict. */
function scoreFolds(
  loaded: LoadedSplit,
  outOfFold: Float32Array,
  validation: readonly Predictions[],
  foldThresholds: readonly number[][],
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
      foldThresholds,
    },
    { seed: options.seed, ...(options.resamples === undefined ? {} : { resamples: options.resamples }) },
  );
  return { ...scores, trainingIds: split.train.map((r) => (dataset.films[r] as Film).id), validationIds: ids };
}

/** One line: the validation films' headline figures at the out-of-fold thresholds, with their 95% intervals, and against one fold alone. */
export function describeCrossValidation(cv: CrossValidation): string {
  const f = (x: number) => x.toFixed(4);
  const s = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(4)}`;
  const figures = (["microF1", "macroF1", "bce"] as const).map((m) => {
    const iv = cv.validation.intervalsTuned[m];
    return `${m} ${f(iv.estimate)} [${f(iv.low)}, ${f(iv.high)}]`;
  });
  const differences = (["microF1", "macroF1"] as const).map((m) => {
    const d = cv.againstSingle.difference[m];
    return `${m} ${s(d.estimate)} [${s(d.low)}, ${s(d.high)}]${d.withinNoise ? " (within noise)" : ""}`;
  });
  const single = cv.folds[cv.againstSingle.single];
  const alone = (["microF1", "macroF1"] as const).map((m) => {
    const iv = single?.intervalsTuned[m];
    return iv ? `${m} ${f(iv.estimate)} [${f(iv.low)}, ${f(iv.high)}]` : `${m} n/a`;
  });
  return (
    `cross-validation of ${cv.kind}, ${cv.runs.length} folds (epochs kept: ${cv.runs.map((r) => r.bestEpoch).join(", ")}), kept as an ensemble in ${cv.dir}: ` +
    `${cv.validation.films} validation films, the models averaged, thresholds tuned out of fold on ${cv.trainingIds.length} training films: ${figures.join(", ")} (95% intervals); ` +
    `fold ${cv.againstSingle.single + 1}'s model alone, at its own thresholds (tuned on its held-out fold): ${alone.join(", ")}; ` +
    `the ensemble minus that model alone: ${differences.join(", ")}`
  );
}
