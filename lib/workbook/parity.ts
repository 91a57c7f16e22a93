/**
 * Showing the parity report that `npm run parity` saved (docs/parity.json): its table of checks against Keras, and
 * the training curves of the workbook and of Keras overlaid, without training anything again.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ParityRow } from "../parity/report";
import { PROJECT_DIR } from "../runtime/config";
import { Figure, showFigure } from "./plots";
import { escapeHtml, htmlTable } from "./html";
import { showHtml, showMarkdown } from "./display";

interface CurveRun {
  seed: number;
  epochs: { epoch: number; loss: number; val_loss: number }[];
}

export interface ParityReport {
  written: string;
  header: string[];
  rows: ParityRow[];
  curves: Record<string, { workbook?: CurveRun[]; keras?: CurveRun[] }>;
}

export const PARITY_REPORT = path.join(PROJECT_DIR, "docs", "parity.json");

/** The saved report, or undefined (said in one line) when `npm run parity` has not written one. */
export function loadParityReport(file = PARITY_REPORT): ParityReport | undefined {
  if (!fs.existsSync(file)) {
    console.log(`no parity report at ${file}: run 'npm run parity' (it needs Python 3.10+ and installs Keras into .venv-peers)`);
    return undefined;
  }
  return JSON.parse(fs.readFileSync(file, "utf8")) as ParityReport;
}

/** The report's table: one row per check, its tolerance and what was measured. */
export function showParityReport(report: ParityReport | undefined): void {
  if (!report) return;
  showMarkdown(report.header.join("\n\n"));
  const cell = (s: string, style = "") => ({ html: escapeHtml(s), style: `text-align:left;vertical-align:top;padding:2px 6px;${style}` });
  const rows = report.rows.map((r) => ({
    cells: [
      cell(r.status, `white-space:nowrap;color:${{ ok: "#1a7f37", explained: "#9a6700", differs: "#b42318" }[r.status]}`),
      cell(
        `${r.group}: ${r.check}${r.note ? ` (${r.note})` : ""}${r.explanation ? `. Why: ${r.explanation}` : ""}`,
        "min-width:24em;max-width:46em",
      ),
      cell(r.tolerance, "white-space:nowrap"),
      cell(r.measured, "min-width:16em;max-width:30em"),
    ],
  }));
  const head = [{ html: "" }, ...["check", "tolerance", "measured"].map((h) => ({ html: h, style: "text-align:left" }))];
  showHtml(
    htmlTable({ style: "font-size:12px;line-height:1.3", head, rows }),
    report.rows.map((r) => `${r.status.padEnd(9)} ${r.group}: ${r.check}: ${r.measured}`).join("\n"),
  );
}

/** The validation loss of every run of one model, the workbook's and Keras's, overlaid (training loss dotted). */
export function parityCurvesFigure(report: ParityReport | undefined, model: string): Figure | undefined {
  const curves = report?.curves[model];
  if (!curves) return undefined;
  const traces = (runs: CurveRun[] | undefined, name: string, color: string) =>
    (runs ?? []).flatMap((run) => [
      {
        type: "scatter",
        mode: "lines",
        name: `${name}, seed ${run.seed}: val_loss`,
        x: run.epochs.map((e) => e.epoch),
        y: run.epochs.map((e) => e.val_loss),
        line: { color },
      },
      {
        type: "scatter",
        mode: "lines",
        name: `${name}, seed ${run.seed}: loss`,
        x: run.epochs.map((e) => e.epoch),
        y: run.epochs.map((e) => e.loss),
        line: { color, dash: "dot", width: 1 },
        showlegend: false,
      },
    ]);
  return {
    data: [...traces(curves.workbook, "workbook", "#1f77b4"), ...traces(curves.keras, "Keras", "#d62728")],
    layout: {
      title: {
        text: `${model.toUpperCase()}: the workbook (blue) and Keras (red), each seed; validation loss solid, training loss dotted`,
      },
      xaxis: { title: { text: "epoch" }, dtick: 1 },
      yaxis: { title: { text: "binary cross-entropy" } },
    },
  };
}

/** The training curves of every model the report trained, one figure each. */
export function showParityCurves(report: ParityReport | undefined): void {
  for (const model of Object.keys(report?.curves ?? {})) {
    const figure = parityCurvesFigure(report, model);
    if (figure) showFigure(figure);
  }
}
