/**
 * Progress of long loops (poster preprocessing, feature extraction): a line every so often, with the rate and
 * an estimate of the time left. (Training has its own progress display: train/progress.ts.)
 */

/**
 * A callback (done, total) that prints a line at every `step` fraction of the work and at the end,
 * with the rate, the elapsed time and an estimate of the time left.
 */
export function progressPrinter(
  label: string,
  step = 0.1,
  log: (line: string) => void = console.log,
): (done: number, total: number) => void {
  const started = Date.now();
  let nextReport = step;
  return (done, total) => {
    const fraction = total === 0 ? 1 : done / total;
    if (fraction < nextReport && done < total) return;
    while (nextReport <= fraction) nextReport += step;
    const elapsed = (Date.now() - started) / 1000;
    const left = fraction > 0 ? (elapsed / fraction) * (1 - fraction) : 0;
    const rate = elapsed > 0 ? `, ${(done / elapsed).toFixed(1)}/s` : "";
    log(`${label}: ${done}/${total} (${Math.round(fraction * 100)}%)${rate}, ${elapsed.toFixed(1)} s elapsed, ~${left.toFixed(0)} s left`);
  };
}
