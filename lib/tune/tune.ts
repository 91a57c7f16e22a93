/**
 * `tune`: a search over a kind's settings (lib/tune/space.ts) by successive halving (lib/tune/search.ts), where
 * each evaluation is a normal training run of that kind into its own model folder,
 * `out/tune/<preset>/<kind>-<name>/<trial>/e<epochs>`, scored on the validation films like the leaderboards:
 * the best validation loss (what promotes a trial), and micro / macro F1 at per-genre thresholds cross-fitted on
 * two halves of the validation films (eval/cross-fit.ts, as the leaderboards score).
 */
import * as path from "node:path";
import { LoadedSplit, loadSplitDataset } from "../data/split";
import { crossFittedScore } from "../eval/cross-fit";
import { KindConfig, KindId, configSettings, prepareRun } from "../kinds/registry";
import type { ProgressReporter } from "../train/progress";
import { trainRun, validationPredictions } from "../train/lifecycle";
import { WorkbookError } from "../runtime/errors";
import { checkPathName } from "../runtime/config";
import { Evaluate, SearchEvents, SearchPlan, SearchState, bestTrial, openSearch, runSearch } from "./search";
import { SearchSpace, TrialSettings, applySettings, validateSpace } from "./space";

export interface TuneOptions<K extends KindId> {
  /** The settings every trial starts from (a notebook's config, or kindConfig(kind)); the space changes some. */
  config: KindConfig<K>;
  space: SearchSpace;
  trials: number;
  /** Epochs at the first rung (default: a ninth of maxEpochs, at least 1) and at most (default: config.epochs). */
  minEpochs?: number;
  maxEpochs?: number;
  eta?: number;
  method?: "halving" | "random";
  /** Seed of the trials' values (default: config.seed). */
  seed?: number;
  /** Stop before an evaluation that would take the search past this many minutes (all its sessions together). */
  minutes?: number;
  /** The search's folder is out/tune/<preset>/<kind>-<name> (default name: 'search'). */
  name?: string;
  /** Epoch progress of each evaluation (notebookProgress, terminalProgress). */
  progress?: () => ProgressReporter;
  events?: SearchEvents;
  log?: (line: string) => void;
}

export interface TuneResult {
  dir: string;
  state: SearchState;
}

/** The folder of a search: out/tune/<preset>/<kind>-<name>. */
export function searchDir(config: { outDir: string; preset: string; kind: string }, name = "search"): string {
  const preset = checkPathName(config.preset, "the preset");
  const kind = checkPathName(config.kind, "the model kind");
  return path.join(config.outDir, "tune", preset, `${kind}-${checkPathName(name, "the search's name (--name)")}`);
}

/** The config of one trial: the base config with the trial's values, trained for `epochs`. */
export function trialConfig<K extends KindId>(config: KindConfig<K>, settings: TrialSettings, epochs: number): KindConfig<K> {
  return { ...applySettings(config, settings), epochs } as unknown as KindConfig<K>;
}

/** Runs, or continues, a search; see the module comment. Interrupting stops after the current batch and keeps every finished evaluation. */
export async function tune<K extends KindId>(options: TuneOptions<K>): Promise<TuneResult> {
  const { config } = options;
  const log = options.log ?? console.log;
  validateSpace(options.space, configSettings(config), config.kind);
  const maxEpochs = options.maxEpochs ?? config.epochs;
  const eta = options.eta ?? 3;
  const plan: SearchPlan = {
    kind: config.kind,
    preset: config.preset,
    space: options.space,
    trials: options.trials,
    minEpochs: options.minEpochs ?? Math.max(1, Math.round(maxEpochs / (eta * eta))),
    maxEpochs,
    eta,
    method: options.method ?? "halving",
    seed: options.seed ?? config.seed,
  };
  const dir = searchDir(config, options.name);
  const state = await openSearch(dir, plan, log);
  let loaded: LoadedSplit | undefined;
  const evaluateTrial: Evaluate = async (trial, _rung, epochs) => {
    loaded ??= loadSplitDataset(config.dataDir, config, log);
    const started = performance.now();
    const modelDir = path.join(dir, trial.id, `e${epochs}`);
    const run = await prepareRun(trialConfig(config, trial.settings, epochs), { loaded, dir: modelDir, log: () => undefined });
    try {
      const history = await trainRun(run, { ...(options.progress ? { progress: options.progress() } : {}), log: () => undefined });
      if (history.interrupted || history.bestEpoch === 0) return undefined;
      const { yTrue, yProb } = await validationPredictions(run);
      const { tuned } = crossFittedScore(yTrue, yProb, loaded.dataset.genres, config.seed);
      return {
        bestValLoss: history.bestValLoss,
        bestEpoch: history.bestEpoch,
        microF1: tuned.microF1,
        macroF1: tuned.macroF1,
        minutes: (performance.now() - started) / 60000,
        dir: modelDir,
        curve: history.epochs.map((e) => ({ epoch: e.epoch, loss: e.loss, val_loss: e.val_loss })),
      };
    } finally {
      run.model.dispose();
    }
  };
  await runSearch(dir, state, evaluateTrial, {
    ...(options.minutes !== undefined ? { minutes: options.minutes } : {}),
    events: { log, ...options.events },
  });
  return { dir, state };
}

/** The config with the search's best trial's values and epochs (what showBest prints as a change); an error before any trial finished. */
export function applyBest<K extends KindId>(config: KindConfig<K>, state: SearchState): KindConfig<K> {
  const best = bestTrial(state);
  if (!best) throw new WorkbookError("applyBest: no trial of this search has finished yet");
  return trialConfig(config, best.trial.settings, best.evaluation.epochs);
}
