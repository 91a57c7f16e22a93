/**
 * Views of a hyperparameter search (lib/tune/): a live table of its trials while it runs, the table afterwards,
 * a parallel-coordinates figure of the settings against the score, each setting's effect, every trial's learning
 * curves coloured by rung, the best settings as a change to paste into a config cell, and the winner checked
 * against the preset's default on the validation films with the leaderboards' cross-fitted thresholds.
 */
import type { Difference } from "../eval/bootstrap";
import { Contender, HeadToHead, RankedMetric, headToHead, scoreHeadToHead } from "../eval/leaderboard";
import type { LoadedSplit } from "../data/split";
import { KindConfig, KindId, Trained, kindSpec, loadModel, loadPresetModel } from "../kinds/registry";
import { loadSplitDataset } from "../data/split";
import { WorkbookError } from "../runtime/errors";
import type { ProgressReporter } from "../train/progress";
import { formatBatchLine } from "../train/progress";
import { Evaluation, SearchEvents, SearchState, Trial, bestTrial, halvingRungs, trialStatus } from "../tune/search";
import { SearchSpace, SettingValue, applySettings, describeSettings } from "../tune/space";
import { describeDifference, direction, formatDifference, signed } from "./intervals";
import { Figure, showTable, tableHtml } from "./plots";
import { UpdatableDisplay, updatableDisplays } from "./display";

const RUNG_COLOURS = ["#9ecae1", "#4292c6", "#08519c", "#08306b", "#041a3b"];

function settingNames(state: SearchState): string[] {
  return Object.keys(state.plan.space);
}

function formatValue(value: SettingValue | undefined): string {
  if (typeof value === "number") return Math.abs(value) < 0.01 && value !== 0 ? value.toExponential(2) : String(value);
  return value === undefined ? "" : String(value);
}

/** Where an evaluation's best loss came from: its epoch, and how many of the rung's epochs ran (early stopping may end a run sooner). */
function epochsRun(evaluation: Evaluation): string {
  const ran = evaluation.curve.length;
  return (
    `at epoch ${evaluation.bestEpoch} of ${ran}` +
    (ran < evaluation.epochs ? ` (stopped early; the rung allowed ${evaluation.epochs})` : "")
  );
}

/** The table of trials: its settings, the epochs it reached, its scores at that rung, its minutes and its status. */
export function trialsTable(state: SearchState, running?: string): { columns: string[]; rows: (string | number)[][] } {
  const names = settingNames(state);
  const columns = ["trial", "status", ...names, "epochs", "best val_loss", "micro F1 (tuned)", "macro F1 (tuned)", "minutes"];
  const f = (x: number | null | undefined) => (x === null || x === undefined ? "" : x.toFixed(4));
  const rows = state.trials.map((trial) => {
    const last = trial.evaluations.at(-1);
    const minutes = trial.evaluations.reduce((m, e) => m + e.minutes, 0);
    return [
      trial.id,
      trialStatus(state, trial, running),
      ...names.map((n) => formatValue(trial.settings[n])),
      last ? last.epochs : "",
      f(last?.bestValLoss),
      f(last?.microF1),
      f(last?.macroF1),
      last ? minutes.toFixed(1) : "",
    ];
  });
  return { columns, rows };
}

/** The trials table, with the search's rungs and why it stopped, if it did. */
export function showTrials(state: SearchState): void {
  const { columns, rows } = trialsTable(state);
  showTable(columns, rows, searchCaption(state));
}

function searchCaption(state: SearchState): string {
  const { plan } = state;
  const rungs = halvingRungs(plan)
    .map((r) => `${r.trials} x ${r.epochs} epoch(s)`)
    .join(", then ");
  return `${plan.kind} at preset ${plan.preset}, ${plan.method === "random" ? "random search" : "successive halving"} (seed ${plan.seed}): ${rungs}${state.stopped ? `. Stopped: ${state.stopped}` : ""}`;
}

/**
 * What a notebook passes to `tune` to watch it: a table of the trials that is redrawn after every evaluation, and
 * one progress line for the evaluation that is running. Outside a notebook, one line per evaluation.
 */
export function liveTuning(): { events: SearchEvents; progress: () => ProgressReporter } {
  const view: LiveTuning = { tslab: updatableDisplays(), current: "" };
  return { events: liveSearchEvents(view), progress: () => liveTrialProgress(view) };
}

/** What liveTuning's two parts share: tslab's displays (none outside a notebook), the evaluation running, the progress line. */
interface LiveTuning {
  tslab: (() => UpdatableDisplay) | undefined;
  /** the evaluation that is running: its trial, rung, epochs and settings */
  current: string;
  line?: UpdatableDisplay;
}

/** The search's events: the trials table redrawn in place (in a notebook), or a line per evaluation. */
function liveSearchEvents(view: LiveTuning): SearchEvents {
  const { tslab } = view;
  let table: UpdatableDisplay | undefined;
  const draw = (state: SearchState, running?: string) => {
    const { columns, rows } = trialsTable(state, running);
    // the table showTrials shows when the search is over, redrawn in place
    const html = tableHtml(columns, rows, searchCaption(state));
    if (tslab) {
      table ??= tslab();
      table.html(html);
    }
  };
  let latest: SearchState | undefined;
  return {
    onStart(trial, rung, epochs) {
      view.current = `${trial.id} (rung ${rung + 1}, ${epochs} epoch(s)): ${describeSettings(trial.settings)}`;
      if (latest) draw(latest, trial.id);
      if (!tslab) console.log(`tune: ${view.current}`);
    },
    onEvaluation(state) {
      latest = state;
      draw(state);
      const done = state.trials.flatMap((t) => t.evaluations).length;
      if (!tslab) {
        const best = bestTrial(state);
        console.log(
          `tune: ${done} evaluation(s) done; best so far ${best?.trial.id} (val_loss ${best?.evaluation.bestValLoss.toFixed(4)})`,
        );
      }
    },
    log: (l) => console.log(l),
  };
}

/** One evaluation's training progress: the running evaluation and its epoch's progress on one line redrawn in place (in a notebook). */
function liveTrialProgress(view: LiveTuning): ProgressReporter {
  let epoch = 0;
  let epochs = 0;
  let started = Date.now();
  let last = 0;
  return {
    epochStart(e, total) {
      epoch = e;
      epochs = total;
      started = Date.now();
      if (view.tslab) view.line ??= view.tslab();
    },
    batchEnd(batch, batches, loss) {
      if (!view.line || Date.now() - last < 500) return;
      last = Date.now();
      view.line.text(`${view.current}\n${formatBatchLine(epoch, epochs, batch, batches, loss, (Date.now() - started) / 1000)}`);
    },
    epochEnd(record) {
      view.line?.text(
        `${view.current}\nepoch ${record.epoch}/${epochs}: loss ${record.loss.toFixed(4)}, val_loss ${record.val_loss.toFixed(4)}`,
      );
    },
    done() {
      // the table shows the result
    },
  };
}

/** A setting's values as numbers for a figure: numbers as they are (log10 for a log range), choices by their index. */
function axis(state: SearchState, setting: string): { values: number[]; label: string; ticks?: { values: number[]; text: string[] } } {
  const param = state.plan.space[setting];
  const raw = state.trials.map((t) => t.settings[setting]);
  if (param && "choice" in param) {
    const choices = param.choice.map(String);
    return {
      values: raw.map((v) => choices.indexOf(String(v))),
      label: setting,
      ticks: { values: choices.map((_, i) => i), text: choices },
    };
  }
  if (param && "logRange" in param) return { values: raw.map((v) => Math.log10(v as number)), label: `log10 ${setting}` };
  return { values: raw.map((v) => v as number), label: setting };
}

/** The validation loss of each trial at the first rung, where every trial trained for the same epochs. */
function firstRungScores(state: SearchState): (number | undefined)[] {
  return state.trials.map((t) => t.evaluations.find((e) => e.rung === 0)?.bestValLoss);
}

/** Parallel coordinates: one line per trial through its settings, ending at its validation loss at the first rung. */
export function tuneParallelFigure(state: SearchState): Figure {
  const scores = firstRungScores(state);
  const keep = state.trials.map((_, i) => scores[i] !== undefined);
  const pick = <T>(xs: T[]) => xs.filter((_, i) => keep[i]);
  const dimensions = settingNames(state).map((setting) => {
    const a = axis(state, setting);
    return { label: a.label, values: pick(a.values), ...(a.ticks ? { tickvals: a.ticks.values, ticktext: a.ticks.text } : {}) };
  });
  const values = pick(scores) as number[];
  return {
    data: [
      {
        type: "parcoords",
        line: { color: values, colorscale: "Viridis", showscale: true, colorbar: { title: { text: "val_loss" } } },
        dimensions: [...dimensions, { label: `val_loss (${halvingRungs(state.plan)[0]?.epochs} epochs)`, values }],
      },
    ],
    layout: {
      title: { text: "Every trial's settings and its validation loss at the first rung (darker: lower)" },
      margin: { t: 90, l: 60, r: 60, b: 30 },
    },
  };
}

/**
 * Each setting's effect: every trial's validation loss at the first rung (same epochs for all) against the
 * setting's value, one panel per setting; for a list of choices, the mean over the trials of each choice is
 * drawn as a line. A marginal view: the other settings vary at random underneath, so a slope is a hint, not a
 * measurement of the setting alone.
 */
export function settingEffectsFigure(state: SearchState): Figure {
  const names = settingNames(state);
  const scores = firstRungScores(state);
  const width = 1 / names.length;
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {
    title: { text: "Each setting against the validation loss at the first rung (one point per trial; lines: the mean of each choice)" },
    showlegend: false,
    yaxis: { title: { text: "val_loss" } },
  };
  names.forEach((setting, k) => {
    const a = axis(state, setting);
    const suffix = k === 0 ? "" : String(k + 1);
    const points = a.values.map((x, i) => ({ x, y: scores[i] })).filter((p): p is { x: number; y: number } => p.y !== undefined);
    data.push({
      type: "scatter",
      mode: "markers",
      x: points.map((p) => p.x),
      y: points.map((p) => p.y),
      xaxis: `x${suffix}`,
      yaxis: `y${suffix}`,
      marker: { color: "#4292c6" },
    });
    if (a.ticks) {
      const means = a.ticks.values.map((c) => {
        const ys = points.filter((p) => p.x === c).map((p) => p.y);
        return ys.length > 0 ? ys.reduce((s, y) => s + y, 0) / ys.length : null;
      });
      data.push({
        type: "scatter",
        mode: "lines+markers",
        x: a.ticks.values,
        y: means,
        xaxis: `x${suffix}`,
        yaxis: `y${suffix}`,
        line: { color: "#d62728" },
      });
    }
    layout[`xaxis${suffix}`] = {
      domain: [k * width + 0.04, (k + 1) * width - 0.02],
      title: { text: a.label },
      ...(a.ticks ? { tickvals: a.ticks.values, ticktext: a.ticks.text } : {}),
    };
    if (k > 0) layout[`yaxis${suffix}`] = { anchor: `x${suffix}`, matches: "y", showticklabels: false };
  });
  return { data, layout };
}

/** Every evaluation's validation loss by epoch, coloured by rung (lighter: fewer epochs). */
export function tuneCurvesFigure(state: SearchState): Figure {
  const data = state.trials.flatMap((trial) =>
    trial.evaluations.map((e) => ({
      type: "scatter",
      mode: "lines+markers",
      name: `${trial.id}, ${e.epochs} epoch(s)`,
      x: e.curve.map((p) => p.epoch),
      y: e.curve.map((p) => p.val_loss),
      line: { color: RUNG_COLOURS[Math.min(e.rung, RUNG_COLOURS.length - 1)], width: e.rung === 0 ? 1 : 2 },
    })),
  );
  return {
    data,
    layout: {
      title: { text: "Learning curves of every evaluation: validation loss, coloured by rung (darker: promoted to more epochs)" },
      xaxis: { title: { text: "epoch" }, dtick: 1 },
      yaxis: { title: { text: "val_loss" } },
      showlegend: false,
    },
  };
}

/**
 * The best trial's settings as a change to a config: top-level keys, nested settings given whole (what
 * `startNotebook(kind, { ... })` takes), with the epochs it was trained for.
 */
export function bestChange(state: SearchState, base: object): { trial: Trial; change: Record<string, unknown>; text: string } | undefined {
  const best = bestTrial(state);
  if (!best) return undefined;
  const applied = applySettings(base, best.trial.settings) as Record<string, unknown>;
  const change: Record<string, unknown> = {};
  for (const setting of Object.keys(best.trial.settings)) {
    const top = setting.split(".")[0] as string;
    change[top] = applied[top];
  }
  change["epochs"] = best.evaluation.epochs;
  const body = Object.entries(change)
    .map(([k, v]) => `  ${k}: ${JSON.stringify(v)},`)
    .join("\n");
  return { trial: best.trial, change, text: `{\n${body}\n}` };
}

/** Prints the best trial and its settings as a change to paste into the config cell. */
export function showBest(state: SearchState, base: object): void {
  const best = bestChange(state, base);
  if (!best) {
    console.log("no trial has finished yet");
    return;
  }
  const evaluation = best.trial.evaluations.at(-1);
  console.log(
    `best: ${best.trial.id} (${describeSettings(best.trial.settings)}), val_loss ${evaluation ? `${evaluation.bestValLoss.toFixed(4)} ${epochsRun(evaluation)}` : "?"}, in ${evaluation?.dir}\n` +
      `as a change to the config cell (or: config = wb.applyBest(config, search.state)):\n${best.text}`,
  );
}

export interface DefaultCheck {
  columns: string[];
  /** one row per model (name, films, tuned micro F1, tuned macro F1, val BCE), then, for two models, their difference */
  rows: (string | number)[][];
  text: string;
  /**
   * For two models: the second minus the first (the search's best minus the preset's model) on the same films,
   * paired (eval/leaderboard.ts scoreHeadToHead): tuned micro and macro F1 and the BCE, each with its 95%
   * interval, within noise where it covers 0.
   */
  difference?: Record<RankedMetric | "bce", Difference>;
}

/** The check's table and sentence: each model's cross-fitted F1 and BCE, then, for two models, their difference. */
function defaultCheckTable({ board, difference }: HeadToHead): DefaultCheck {
  const films = board.yTrue.length / board.genres.length;
  const rows: (string | number)[][] = board.rows.map((s) => [
    s.name,
    films,
    (s.tuned.microF1 ?? 0).toFixed(4),
    (s.tuned.macroF1 ?? 0).toFixed(4),
    s.atHalf.bce.toFixed(4),
  ]);
  const text = rows.map((r) => `${r[0]}: micro F1 ${r[2]}, macro F1 ${r[3]}, val BCE ${r[4]} (${r[1]} films)`).join("; ");
  const columns = ["model", "films", "micro F1 (tuned)", "macro F1 (tuned)", "val BCE"];
  if (!difference) return { columns, rows, text };
  const cell = (d: Difference) => `${formatDifference(d)}${d.withinNoise ? " within noise" : ""}`;
  rows.push(["difference [95%]", films, cell(difference.microF1), cell(difference.macroF1), cell(difference.bce)]);
  return { columns, rows, text, difference };
}

/**
 * The check on the models' probabilities for the same films (row-major [films, genres], aligned with `yTrue`):
 * each model's F1 at thresholds cross-fitted on two seeded halves of the films, its BCE, and for two models their
 * paired difference (eval/leaderboard.ts scoreHeadToHead).
 */
export function defaultCheck(yTrue: Float32Array, genres: readonly string[], models: readonly Contender[], seed: number): DefaultCheck {
  return defaultCheckTable(scoreHeadToHead(yTrue, genres, models, seed));
}

/**
 * The winner against the preset's default model, on the same validation films (those both could predict), with
 * the leaderboards' thresholds: tuned per genre on one half of the films and applied to the other (two folds,
 * seeded by the split's seed), so that neither is flattered by thresholds tuned on the films they are scored on;
 * their difference paired over the films (eval/leaderboard.ts headToHead).
 */
export async function checkAgainstDefault(
  loaded: LoadedSplit,
  models: { name: string; trained: Trained }[],
  options: { cacheDir: string; seed: number },
): Promise<DefaultCheck> {
  return defaultCheckTable(await headToHead(models, loaded.dataset, loaded.split.validation, options));
}

/** checkAgainstDefault, shown as a table. */
export async function showDefaultCheck(
  loaded: LoadedSplit,
  models: { name: string; trained: Trained }[],
  options: { cacheDir: string; seed: number },
): Promise<DefaultCheck> {
  const check = await checkAgainstDefault(loaded, models, options);
  showTable(
    check.columns,
    check.rows,
    `${loaded.split.validation.length} validation films; thresholds cross-fitted on two halves of them, as in the leaderboards; ` +
      "difference: the second model minus the first, with its 95% interval from the paired bootstrap over the films, within noise where it covers 0",
  );
  return check;
}

/**
 * The search's best trial against the model the preset trains for the same kind (its notebook's, or `npm run
 * train`), on the validation films of the config's split: checkAgainstDefault, shown as a table.
 */
export async function showWinnerCheck<K extends KindId>(state: SearchState, config: KindConfig<K>): Promise<DefaultCheck> {
  const best = bestTrial(state);
  if (!best) throw new WorkbookError("no trial of the search has finished yet: run the search cell first");
  const films = loadSplitDataset(config.dataDir, config, () => undefined);
  const models = [
    { name: `the preset's model (${howTrained(config.kind)})`, trained: await loadPresetModel(config, config.kind) },
    { name: `the search's best (${best.trial.id})`, trained: await loadModel(best.evaluation.dir) },
  ];
  try {
    return await showDefaultCheck(films, models, { cacheDir: config.cacheDir, seed: config.seed });
  } finally {
    for (const m of models) m.trained.model.dispose();
  }
}

function howTrained(kind: KindId): string {
  const { notebook, command } = kindSpec(kind).trainedBy;
  return notebook === undefined ? `npm run train -- ${command}` : `notebook ${notebook.slice(0, 2)}`;
}

/** The space as a table: each setting, what the search draws it from, and the base config's value. */
export function showSpace(space: SearchSpace, base: object): void {
  const describe = (param: SearchSpace[string]): string =>
    "choice" in param
      ? `one of ${param.choice.map((v) => JSON.stringify(v)).join(", ")}`
      : "logRange" in param
        ? `${param.logRange[0]} to ${param.logRange[1]}, on a log scale`
        : `${param.range[0]} to ${param.range[1]}${param.integer ? ", whole numbers" : ""}`;
  const rows = Object.entries(space).map(([setting, param]) => [setting, describe(param), JSON.stringify(valueAt(base, setting))]);
  showTable(["setting", "searched over", "the preset's value"], rows);
}

function valueAt(settings: object, setting: string): unknown {
  return setting
    .split(".")
    .reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined), settings);
}

/**
 * What the search found, in words, from its state and the check against the default: the number of trials and
 * evaluations, the minutes, the winner's settings, and both models' figures with their paired differences. Whether
 * the winner is ahead rests on the paired bootstrap: a difference whose interval covers 0 is within noise. The
 * winner was chosen on these validation films, so its figures there are flattered by the choice itself: said, not
 * hidden.
 */
export function tuneNarrative(state: SearchState, check: DefaultCheck): string {
  const evaluations = state.trials.flatMap((t) => t.evaluations);
  const minutes = evaluations.reduce((m, e) => m + e.minutes, 0);
  const best = bestTrial(state);
  if (!best) return "No trial has finished yet: run the search cell.";
  const [base, tuned] = check.rows;
  const d = check.difference;
  const differs = (k: number, metric: RankedMetric | "bce") =>
    d ? describeDifference(d[metric]) : signed(Number(tuned?.[k]) - Number(base?.[k]));
  return [
    `The search trained ${state.trials.length} trials in ${evaluations.length} evaluations (${minutes.toFixed(1)} minutes of training)${state.stopped ? `, and stopped early (${state.stopped})` : ""}.`,
    `Its best trial, **${best.trial.id}** (${describeSettings(best.trial.settings)}), reached a validation loss of ${best.evaluation.bestValLoss.toFixed(4)} ${epochsRun(best.evaluation)}.`,
    `Against the preset's default on the same ${base?.[1]} validation films, with thresholds cross-fitted on two halves of them: micro F1 ${tuned?.[2]} vs ${base?.[2]} (${differs(2, "microF1")}), macro F1 ${tuned?.[3]} vs ${base?.[3]} (${differs(3, "macroF1")}), validation BCE ${tuned?.[4]} vs ${base?.[4]} (${differs(4, "bce")}).`,
    ...(d ? [winnerVerdict(d)] : []),
    `The winner was picked for its loss on these very films, so a small lead here may not survive on new films: a lead worth acting on is one well above the spread between training seeds of one setting (notebook 04's parity section shows that spread for the coursework models).`,
  ].join("\n\n");
}

/** Where the winner is ahead of the default, behind it, or within noise of it, by the paired differences' intervals. */
function winnerVerdict(d: Record<RankedMetric | "bce", Difference>): string {
  // a lower BCE is better: the winner is ahead where the difference lies below 0
  const figures: [string, number][] = [
    ["micro F1", direction(d.microF1)],
    ["macro F1", direction(d.macroF1)],
    ["validation BCE", -direction(d.bce)],
  ];
  const named = (sign: number) => figures.filter(([, s]) => s === sign).map(([label]) => label);
  const [ahead, behind, noise] = [named(1), named(-1), named(0)];
  if (noise.length === figures.length)
    return "Every difference's 95% interval (paired bootstrap over the films) covers 0: on these films the winner is **within noise** of the default.";
  const parts = [
    ahead.length > 0 ? `ahead on ${ahead.join(", ")}` : "",
    behind.length > 0 ? `**behind** on ${behind.join(", ")}` : "",
    noise.length > 0 ? `within noise on ${noise.join(", ")}` : "",
  ].filter(Boolean);
  return `By the 95% intervals of the paired differences over the films, the winner is ${parts.join("; ")}.`;
}
