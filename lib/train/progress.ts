/**
 * Training progress: what a view of it is told (ProgressReporter), the lines every view writes (the live batch
 * line, the per-epoch summary, the end), the terminal's view, and the view a run takes when its caller gives none.
 * The notebook's view is workbook/progress.ts. (Loops such as poster preprocessing report through
 * runtime/progress.ts.)
 */
import type { EpochRecord, TrainingHistory } from "../models/history";

export interface ProgressReporter {
  epochStart(epoch: number, epochs: number, lr: number, batches: number): void;
  batchEnd(batch: number, batches: number, runningLoss: number): void;
  epochEnd(record: EpochRecord, isBest: boolean): void;
  done(history: TrainingHistory): void;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** `[#####.....]`: the share done of a loop, in `width` characters. */
export function progressBar(done: number, total: number, width = 10): string {
  const filled = total > 0 ? Math.min(width, Math.floor((done / total) * width)) : width;
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

function f4(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : String(x);
}

/** `epoch 3/20 [#####.....] 41/72 loss 0.2431 elapsed 12s eta 9s` */
export function formatBatchLine(
  epoch: number,
  epochs: number,
  batch: number,
  batches: number,
  runningLoss: number,
  elapsedSeconds: number,
): string {
  const eta = batch > 0 ? (elapsedSeconds / batch) * (batches - batch) : NaN;
  return `epoch ${epoch}/${epochs} ${progressBar(batch, batches)} ${batch}/${batches} loss ${f4(runningLoss)} elapsed ${formatDuration(elapsedSeconds)} eta ${formatDuration(eta)}`;
}

/** One line per finished epoch, with '*' for a new best val_loss. */
export function formatEpochLine(record: EpochRecord, epochs: number, isBest: boolean): string {
  return (
    `epoch ${record.epoch}/${epochs} ${formatDuration(record.seconds)} - loss ${f4(record.loss)} precision ${f4(record.precision)} ` +
    `recall ${f4(record.recall)} - val_loss ${f4(record.val_loss)} val_precision ${f4(record.val_precision)} ` +
    `val_recall ${f4(record.val_recall)} - lr ${record.lr.toExponential(4)}${isBest ? " *" : ""}`
  );
}

export function formatDoneLine(history: TrainingHistory): string {
  const how = history.interrupted ? " (interrupted)" : history.stoppedEarly ? " (stopped early)" : "";
  if (history.bestEpoch === 0) return `training ended after ${history.epochs.length} epochs${how}: no completed epoch`;
  return `training ended after ${history.epochs.length} epochs${how}; best epoch ${history.bestEpoch}: val_loss ${f4(history.bestValLoss)}`;
}

export function silentProgress(): ProgressReporter {
  return { epochStart() {}, batchEnd() {}, epochEnd() {}, done() {} };
}

export interface ProgressOptions {
  /** Minimum time between redraws (terminal default 100 ms, notebook default 500 ms). */
  intervalMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
}

/**
 * A one-line bar redrawn with \r (at most every 100 ms) on a TTY, and a summary line per epoch (with
 * '*' for a new best). On a stream that is not a TTY (a log file, CI) only the summary lines are written.
 */
export function terminalProgress(stream: Writable = process.stderr, options: ProgressOptions & { tty?: boolean } = {}): ProgressReporter {
  const now = options.now ?? (() => Date.now());
  const interval = options.intervalMs ?? 100;
  const tty = options.tty ?? Boolean(stream.isTTY);
  let epoch = 0;
  let epochs = 0;
  let started = 0;
  let lastDraw = -Infinity;
  let drawn = false;
  return {
    epochStart(e, total) {
      epoch = e;
      epochs = total;
      started = now();
      lastDraw = -Infinity;
    },
    batchEnd(batch, batches, runningLoss) {
      if (!tty) return;
      const t = now();
      if (t - lastDraw < interval && batch < batches) return;
      lastDraw = t;
      stream.write(`\r${formatBatchLine(epoch, epochs, batch, batches, runningLoss, (t - started) / 1000)}\x1b[K`);
      drawn = true;
    },
    epochEnd(record, isBest) {
      stream.write(`${drawn ? "\r\x1b[K" : ""}${formatEpochLine(record, epochs, isBest)}\n`);
      drawn = false;
    },
    done(history) {
      if (drawn) stream.write("\n");
      drawn = false;
      stream.write(`${formatDoneLine(history)}\n`);
    },
  };
}

/** The view a training run reports to when its caller gives none. */
let defaultView: () => ProgressReporter = () => terminalProgress();

/**
 * Sets the view a training run reports to when its caller gives none: the notebooks' facade (lib/index.ts) sets
 * the notebook's view (workbook/progress.ts notebookProgress), which is the terminal's outside a notebook.
 */
export function setDefaultProgress(view: () => ProgressReporter): void {
  defaultView = view;
}

/** The view a training run reports to when its caller gives none: the terminal's, unless setDefaultProgress set another. */
export function defaultProgress(): ProgressReporter {
  return defaultView();
}
