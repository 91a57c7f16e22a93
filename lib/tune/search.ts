/**
 * Successive halving (the core of Hyperband): every trial is trained for a few epochs, the best third (1/eta) by
 * validation loss is trained again for eta times as many, and so on until the most epochs. Bad trials are stopped
 * early, at the cost of one short run each. A seeded random search is the same with a single rung.
 *
 * The search's state (its settings, every trial's values, every finished evaluation) is saved in `tune.json` after
 * each evaluation, so that an interrupted search continues where it stopped without training anything again. The
 * evaluation itself is a function (lib/tune/trial.ts trains a real run), so that the search can be tested on a
 * synthetic objective.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadJson, saveJson } from "../runtime/files";
import { WorkbookError } from "../runtime/errors";
import { seededRandom } from "../runtime/random";
import { SearchSpace, TrialSettings, sampleSettings } from "./space";

export interface SearchPlan {
  kind: string;
  preset: string;
  space: SearchSpace;
  /** Trials sampled at the first rung. */
  trials: number;
  /** Epochs at the first rung, and the most any trial gets. */
  minEpochs: number;
  maxEpochs: number;
  /** Each rung keeps the best 1/eta of the trials and gives them eta times the epochs (3, as Hyperband's default). */
  eta: number;
  /** 'halving' (successive halving) or 'random' (every trial at maxEpochs). */
  method: "halving" | "random";
  seed: number;
}

export interface Rung {
  epochs: number;
  /** How many trials are trained at this rung. */
  trials: number;
}

export interface EpochPoint {
  epoch: number;
  loss: number;
  val_loss: number;
}

/** One trial trained at one rung: a normal training run in its own model folder. */
export interface Evaluation {
  rung: number;
  epochs: number;
  bestValLoss: number;
  bestEpoch: number;
  /** Validation micro and macro F1 at per-genre thresholds cross-fitted on the validation films (as the leaderboards). */
  microF1: number | null;
  macroF1: number | null;
  minutes: number;
  /** The model folder of this evaluation (compareRuns, evaluate and predict work on it). */
  dir: string;
  curve: EpochPoint[];
}

export interface Trial {
  id: string;
  settings: TrialSettings;
  evaluations: Evaluation[];
}

export interface SearchState {
  version: 1;
  plan: SearchPlan;
  trials: Trial[];
  /** Why the last session stopped before the end ('budget: ...', 'interrupted'), if it did. */
  stopped?: string;
}

/** 'waiting': evaluated at its rung, whose other trials are not all done yet; 'not started': no evaluation yet. */
export type TrialStatus = "running" | "promoted" | "not promoted" | "done" | "waiting" | "not started";

/** What the search tells its views as it goes. */
export interface SearchEvents {
  onStart?(trial: Trial, rung: number, epochs: number): void;
  onEvaluation?(state: SearchState): void;
  log?(line: string): void;
}

/** The result of one evaluation, or undefined when it was interrupted (nothing is recorded, the search stops). */
export type Evaluate = (trial: Trial, rung: number, epochs: number) => Promise<Omit<Evaluation, "rung" | "epochs"> | undefined>;

export const TUNE_JSON = "tune.json";

/** The rungs: `trials` at minEpochs, then the best ceil(n / eta) at eta times the epochs, up to maxEpochs. */
export function halvingRungs(plan: Pick<SearchPlan, "trials" | "minEpochs" | "maxEpochs" | "eta" | "method">): Rung[] {
  if (plan.method === "random") return [{ epochs: plan.maxEpochs, trials: plan.trials }];
  const rungs: Rung[] = [{ epochs: Math.min(plan.minEpochs, plan.maxEpochs), trials: plan.trials }];
  for (;;) {
    const last = rungs.at(-1) as Rung;
    if (last.epochs >= plan.maxEpochs || last.trials <= 1) return rungs;
    rungs.push({ epochs: Math.min(plan.maxEpochs, last.epochs * plan.eta), trials: Math.ceil(last.trials / plan.eta) });
  }
}

/** The `count` trials with the lowest validation loss at `rung` (ties: the earlier trial). */
export function promotedTrials(trials: readonly Trial[], rung: number, count: number): Trial[] {
  return trials
    .map((trial, order) => ({ trial, order, score: trial.evaluations.find((e) => e.rung === rung)?.bestValLoss }))
    .filter((t): t is { trial: Trial; order: number; score: number } => t.score !== undefined)
    .sort((a, b) => a.score - b.score || a.order - b.order)
    .slice(0, count)
    .map((t) => t.trial);
}

function checkPlan(plan: SearchPlan): void {
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new WorkbookError(`tune: ${name} must be a whole number >= 1, got ${value}`);
  };
  positive("trials", plan.trials);
  positive("minEpochs", plan.minEpochs);
  positive("maxEpochs", plan.maxEpochs);
  if (plan.minEpochs > plan.maxEpochs)
    throw new WorkbookError(`tune: minEpochs (${plan.minEpochs}) is above maxEpochs (${plan.maxEpochs})`);
  if (!Number.isInteger(plan.eta) || plan.eta < 2) throw new WorkbookError(`tune: eta must be a whole number >= 2, got ${plan.eta}`);
}

/** A new search's state: its trials' values drawn from the seeded space. */
export function newSearch(plan: SearchPlan): SearchState {
  checkPlan(plan);
  const random = seededRandom(plan.seed);
  const width = String(plan.trials).length;
  const trials = Array.from({ length: plan.trials }, (_, i) => ({
    id: `trial-${String(i + 1).padStart(width, "0")}`,
    settings: sampleSettings(plan.space, random),
    evaluations: [],
  }));
  return { version: 1, plan, trials };
}

/**
 * The search saved in `dir`, when it is the same search (same kind, preset, space, trials, rungs, seed), or a new
 * one. A different search already in `dir` is an error: its trials would be mixed with this one's.
 */
export async function openSearch(dir: string, plan: SearchPlan, log: (line: string) => void = console.log): Promise<SearchState> {
  const file = path.join(dir, TUNE_JSON);
  if (!fs.existsSync(file)) return newSearch(plan);
  const saved = await loadJson<SearchState>(file, "search state");
  if (JSON.stringify(saved.plan) !== JSON.stringify(plan)) {
    throw new WorkbookError(
      `${file} holds another search (${JSON.stringify(saved.plan)}); this one is ${JSON.stringify(plan)}: give this search another name, or delete ${dir} to start it again`,
    );
  }
  const done = saved.trials.reduce((n, t) => n + t.evaluations.length, 0);
  log(`continuing the search in ${dir}: ${done} evaluation(s) of ${saved.trials.length} trials already done are kept, not trained again`);
  delete saved.stopped;
  return saved;
}

/** Each trial's status: done (trained at the last rung), not promoted (its last rung was not among the best), promoted (to its next rung), waiting, running. */
export function trialStatus(state: SearchState, trial: Trial, running?: string): TrialStatus {
  if (trial.id === running) return "running";
  const rungs = halvingRungs(state.plan);
  const reached = trial.evaluations.length;
  if (reached === 0) return "not started";
  if (reached === rungs.length) return "done";
  const rung = reached - 1;
  const everyoneRan = state.trials.filter((t) => t.evaluations.some((e) => e.rung === rung)).length === (rungs[rung] as Rung).trials;
  if (!everyoneRan) return "waiting";
  const next = promotedTrials(state.trials, rung, (rungs[rung + 1] as Rung).trials);
  return next.includes(trial) ? "promoted" : "not promoted";
}

/** The best trial: the lowest validation loss at the highest rung any trial reached. */
export function bestTrial(state: SearchState): { trial: Trial; evaluation: Evaluation } | undefined {
  const top = Math.max(-1, ...state.trials.flatMap((t) => t.evaluations.map((e) => e.rung)));
  if (top < 0) return undefined;
  const [trial] = promotedTrials(state.trials, top, 1);
  return trial ? { trial, evaluation: trial.evaluations.find((e) => e.rung === top) as Evaluation } : undefined;
}

/**
 * Runs (or continues) the search in `dir`: every rung in turn, each trial that rung needs and has not finished
 * yet. Before an evaluation, the budget is checked: with `minutes`, one is only started when the minutes spent
 * (by every session of this search) plus its estimate (the minutes per epoch so far, times its epochs) fit.
 * Returns the state, with `stopped` set when the search stopped before its end.
 */
export async function runSearch(
  dir: string,
  state: SearchState,
  evaluate: Evaluate,
  options: { minutes?: number; events?: SearchEvents } = {},
): Promise<SearchState> {
  const events = options.events ?? {};
  const log = events.log ?? console.log;
  const rungs = halvingRungs(state.plan);
  const save = () => saveJson(path.join(dir, TUNE_JSON), state);
  await save();
  for (const [rung, { epochs, trials: count }] of rungs.entries()) {
    const candidates = rung === 0 ? state.trials : promotedTrials(state.trials, rung - 1, count);
    for (const trial of candidates) {
      if (trial.evaluations.some((e) => e.rung === rung)) continue;
      if (options.minutes !== undefined) {
        const done = state.trials.flatMap((t) => t.evaluations);
        const spent = done.reduce((m, e) => m + e.minutes, 0);
        const perEpoch = done.length > 0 ? spent / done.reduce((n, e) => n + e.curve.length, 0) : 0;
        if (spent + perEpoch * epochs > options.minutes) {
          state.stopped = `budget: ${spent.toFixed(1)} of ${options.minutes} minutes spent, and ${trial.id} at ${epochs} epoch(s) would take about ${(perEpoch * epochs).toFixed(1)} more`;
          log(`tune: stopped, ${state.stopped}`);
          await save();
          return state;
        }
      }
      events.onStart?.(trial, rung, epochs);
      const result = await evaluate(trial, rung, epochs);
      if (!result) {
        state.stopped = `interrupted during ${trial.id} at ${epochs} epoch(s); run it again to continue`;
        log(`tune: ${state.stopped}`);
        await save();
        return state;
      }
      trial.evaluations.push({ rung, epochs, ...result });
      await save();
      events.onEvaluation?.(state);
    }
  }
  return state;
}
