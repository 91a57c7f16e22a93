/**
 * How tables and narratives write a figure's 95% interval and a paired difference (eval/bootstrap.ts), and the
 * words for a difference: ahead or behind where its interval lies on one side of 0, within noise where it covers 0.
 */
import type { Difference, Interval } from "../eval/bootstrap";

/** +0.0123 or -0.0123 */
export function signed(x: number): string {
  return `${x >= 0 ? "+" : ""}${x.toFixed(4)}`;
}

/** "0.5123 [0.4900, 0.5340]": the figure and its 95% interval */
export function formatInterval(interval: Interval): string {
  return `${interval.estimate.toFixed(4)} [${interval.low.toFixed(4)}, ${interval.high.toFixed(4)}]`;
}

/** "+0.0100 [-0.0100, +0.0300]": the difference and its 95% interval */
export function formatDifference(d: Difference): string {
  return `${signed(d.estimate)} [${signed(d.low)}, ${signed(d.high)}]`;
}

/** The difference and its interval, marked "within noise" where the interval covers 0. */
export function describeDifference(d: Difference): string {
  return `${formatDifference(d)}${d.withinNoise ? ", within noise" : ""}`;
}

/** 1: the interval lies above 0; -1: below; 0: it covers 0 (within noise). */
export function direction(d: Difference): -1 | 0 | 1 {
  return d.withinNoise ? 0 : d.estimate > 0 ? 1 : -1;
}

/** What a verdict on two figures at once is worded as. */
export interface VerdictWords {
  ahead: string;
  behind: string;
  noise: string;
  mixed: string;
}

/**
 * One verdict on two paired differences (a subject minus another, where higher is better): ahead or behind on
 * both, within noise on both, mixed (ahead on one, behind on the other), or ahead/behind on one only, naming it.
 */
export function twoFigureVerdict(first: [string, Difference], second: [string, Difference], words: VerdictWords): string {
  const a = direction(first[1]);
  const b = direction(second[1]);
  if (a === b) return a > 0 ? words.ahead : a < 0 ? words.behind : words.noise;
  if (a !== 0 && b !== 0) return words.mixed;
  const [decided, undecided] = a !== 0 ? [first[0], second[0]] : [second[0], first[0]];
  return `${a + b > 0 ? words.ahead : words.behind} on ${decided} only (${undecided} within noise)`;
}
