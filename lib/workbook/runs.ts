/**
 * Comparing the training runs of one model: every run is kept in its own folder (models/run-folders.ts), so a
 * user who tried lr 1e-3 and then 1e-4 can see both, side by side and as curves.
 */
import { RunRecord, listRuns } from "../models/model-folder";
import { Figure, epochTick, showFigure, showTable } from "./plots";
import { showHtml } from "./display";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];

/** The settings whose values are not the same in every run, with each run's value. */
export function differingSettings(runs: readonly RunRecord[]): string[] {
  const keys = new Set(runs.flatMap((r) => Object.keys(r.info?.settings ?? {})));
  return [...keys].filter((key) => new Set(runs.map((r) => JSON.stringify(r.info?.settings?.[key] ?? null))).size > 1).sort();
}

function runLabel(run: RunRecord): string {
  return `${run.id}${run.current ? " (current)" : ""}`;
}

/** One row per run: the settings that differ, epochs, best epoch and val_loss, training time. */
export function runsTable(runs: readonly RunRecord[]): { columns: string[]; rows: (string | number)[][] } {
  const keys = differingSettings(runs);
  const columns = ["run", ...keys, "epochs run", "best epoch", "best val_loss", "minutes", "ended"];
  const rows = runs.map((r) => {
    const epochs = r.history?.epochs ?? [];
    const seconds = epochs.reduce((s, e) => s + e.seconds, 0);
    const ended = r.history?.interrupted
      ? "interrupted"
      : r.history?.stoppedEarly
        ? "stopped early"
        : r.info?.finished
          ? "finished"
          : "not finished";
    return [
      runLabel(r),
      ...keys.map((k) => JSON.stringify(r.info?.settings?.[k] ?? null)),
      epochs.length,
      r.history?.bestEpoch ?? 0,
      r.history && Number.isFinite(r.history.bestValLoss) ? r.history.bestValLoss : "n/a",
      (seconds / 60).toFixed(1),
      ended,
    ];
  });
  return { columns, rows };
}

/** Every run's validation loss (solid) and training loss (dotted) per epoch, on one figure. */
export function runsFigure(runs: readonly RunRecord[], title: string): Figure {
  const longest = Math.max(0, ...runs.map((r) => r.history?.epochs.length ?? 0));
  return {
    data: runs.flatMap((r, i) => {
      const epochs = r.history?.epochs ?? [];
      const color = PALETTE[i % PALETTE.length];
      const x = epochs.map((e) => e.epoch);
      return [
        { type: "scatter", mode: "lines+markers", name: `${runLabel(r)} val_loss`, x, y: epochs.map((e) => e.val_loss), line: { color } },
        { type: "scatter", mode: "lines", name: `${runLabel(r)} loss`, x, y: epochs.map((e) => e.loss), line: { color, dash: "dot" } },
      ];
    }),
    layout: {
      title: { text: title },
      xaxis: { title: { text: "epoch" }, automargin: true, dtick: epochTick(longest) },
      yaxis: { title: { text: "loss" }, automargin: true },
    },
  };
}

/** The table and the figure of the runs of the model folder `target` (e.g. wb.modelFolder(config, "cnn")). */
export async function compareRuns(target: string): Promise<void> {
  const runs = await listRuns(target);
  if (runs.length === 0) {
    showHtml(`<p>No training run of ${target} yet.</p>`, `no training run of ${target} yet`);
    return;
  }
  const { columns, rows } = runsTable(runs);
  showTable(columns, rows, `${runs.length} run(s) of ${target}; only the settings that differ between them are shown`);
  showFigure(runsFigure(runs, `Runs of ${target.split(/[\\/]/).slice(-2).join("/")}: validation loss (solid) and training loss (dotted)`));
}
