/**
 * The notebook's view of a training run: one output per epoch, updated in place. The notebooks' facade
 * (lib/index.ts) makes it the view a run takes when its caller gives none (train/progress.ts setDefaultProgress).
 */
import type { ProgressOptions, ProgressReporter } from "../train/progress";
import { formatBatchLine, formatDoneLine, formatEpochLine, progressBar, terminalProgress } from "../train/progress";
import { UpdatableDisplay, updatableDisplays } from "./display";

/** What the view needs of an output: text that replaces the output's text. */
export type TextDisplay = Pick<UpdatableDisplay, "text">;

/**
 * In a tslab notebook: ONE display per epoch, updated in place (at most every 500 ms) with the batch
 * counter, running loss, elapsed and remaining time, and replaced at the end of the epoch by the epoch's
 * train/val figures. Outside a notebook: terminalProgress(). `newDisplay` is injectable for tests.
 */
export function notebookProgress(
  options: ProgressOptions & { newDisplay?: () => TextDisplay; fallback?: ProgressReporter } = {},
): ProgressReporter {
  const factory = options.newDisplay ?? updatableDisplays();
  if (!factory) return options.fallback ?? terminalProgress();
  const now = options.now ?? (() => Date.now());
  const interval = options.intervalMs ?? 500;
  let display: TextDisplay | undefined;
  let epoch = 0;
  let epochs = 0;
  let started = 0;
  let lastDraw = -Infinity;
  return {
    epochStart(e, total, lr, batches) {
      epoch = e;
      epochs = total;
      started = now();
      lastDraw = now();
      display = factory();
      display.text(`epoch ${e}/${total} ${progressBar(0, batches)} 0/${batches} lr ${lr.toExponential(4)}`);
    },
    batchEnd(batch, batches, runningLoss) {
      const t = now();
      if (t - lastDraw < interval) return;
      lastDraw = t;
      display?.text(formatBatchLine(epoch, epochs, batch, batches, runningLoss, (t - started) / 1000));
    },
    epochEnd(record, isBest) {
      (display ?? factory()).text(formatEpochLine(record, epochs, isBest));
      display = undefined;
    },
    done(history) {
      factory().text(formatDoneLine(history));
    },
  };
}
