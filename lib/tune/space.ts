/**
 * A search space over any kind's settings: each entry names a setting (dotted for nested ones: "text.dropout",
 * "loss.cap") and the values it may take, as a list of choices, a range, or a range on a log scale (Keras Tuner's
 * Choice / Float / Float(sampling="log"), Optuna's suggest_categorical / suggest_float(log=True)).
 */
import { WorkbookError } from "../runtime/errors";

import type { SearchSpace, SettingValue } from "../kinds/kind";

// declared with the kinds, which name their default spaces (KindSpec.tuneSpace)
export type { Param, SearchSpace, SettingValue } from "../kinds/kind";

/** The values one trial takes, by setting path. */
export type TrialSettings = Record<string, SettingValue>;

/** Settings that choose the split: never searched. */
const SPLIT_SETTINGS = ["seed", "validationFraction", "films"];

function valueAt(settings: object, setting: string): unknown {
  let value: unknown = settings;
  for (const key of setting.split(".")) {
    if (typeof value !== "object" || value === null || !(key in value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Every setting that can be searched: the paths of the number, string and boolean values of `settings`. */
export function searchableSettings(settings: object, prefix = ""): string[] {
  return Object.entries(settings).flatMap(([key, value]) => {
    const setting = `${prefix}${key}`;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return searchableSettings(value as object, `${setting}.`);
    return ["number", "string", "boolean"].includes(typeof value) ? [setting] : [];
  });
}

/**
 * Checks a space against a kind's settings: every entry names a setting the kind has (not `epochs`, which the
 * search's rungs set), with a non-empty list of choices of that setting's type, or a range whose low end is below
 * its high end (above 0 on a log scale). Each problem is an error naming the entry.
 */
export function validateSpace(space: SearchSpace, settings: object, kind: string): void {
  const entries = Object.entries(space);
  if (entries.length === 0) throw new WorkbookError(`the search space for ${kind} is empty: name at least one setting to search`);
  const known = searchableSettings(settings).filter((s) => s !== "epochs" && !SPLIT_SETTINGS.includes(s));
  for (const [setting, param] of entries) {
    const fail = (problem: string): never => {
      throw new WorkbookError(`search space, '${setting}': ${problem}`);
    };
    if (setting === "epochs") fail("the epochs are set by the search's rungs (minEpochs, maxEpochs), not searched");
    if (SPLIT_SETTINGS.includes(setting)) {
      fail("the split stays the same for every trial: the trials are compared on the same validation films");
    }
    const current = valueAt(settings, setting);
    if (current === undefined || typeof current === "object") {
      fail(`${kind} has no such setting; its settings are ${known.join(", ")}`);
    }
    if ("choice" in param) {
      if (!Array.isArray(param.choice) || param.choice.length === 0) fail("an empty list of choices");
      const wrong = param.choice.filter((v) => typeof v !== typeof current);
      if (wrong.length > 0)
        fail(`choices ${JSON.stringify(wrong)} are not of the setting's type (${typeof current}, now ${JSON.stringify(current)})`);
    } else if ("range" in param || "logRange" in param) {
      const [low, high] = "range" in param ? param.range : param.logRange;
      if (typeof current !== "number") fail(`a range for a setting that is not a number (now ${JSON.stringify(current)})`);
      if (!Number.isFinite(low) || !Number.isFinite(high) || !(low < high))
        fail(`an empty range [${low}, ${high}]: the low end must be below the high end`);
      if ("logRange" in param && low <= 0) fail(`a log range must be above 0, got [${low}, ${high}]`);
      if ("range" in param && param.integer && (!Number.isInteger(low) || !Number.isInteger(high))) {
        fail(`an integer range needs integer ends, got [${low}, ${high}]`);
      }
    } else {
      fail(`expected { choice: [...] }, { range: [low, high] } or { logRange: [low, high] }, got ${JSON.stringify(param)}`);
    }
  }
}

/** Three significant digits: sampled learning rates read 0.00123, not 0.0012318401. */
function round3(x: number): number {
  return Number(x.toPrecision(3));
}

/** One trial's values, drawn with `random` (uniform in [0, 1)), setting by setting in the space's order. */
export function sampleSettings(space: SearchSpace, random: () => number): TrialSettings {
  const values: TrialSettings = {};
  for (const [setting, param] of Object.entries(space)) {
    const r = random();
    if ("choice" in param) values[setting] = param.choice[Math.floor(r * param.choice.length)] as SettingValue;
    else if ("logRange" in param) {
      const [low, high] = param.logRange;
      values[setting] = round3(Math.exp(Math.log(low) + r * (Math.log(high) - Math.log(low))));
    } else {
      const [low, high] = param.range;
      values[setting] = param.integer ? Math.min(high, Math.floor(low + r * (high - low + 1))) : round3(low + r * (high - low));
    }
  }
  return values;
}

/** `settings` with the trial's values in place (nested objects copied, never changed in place). */
export function applySettings<T extends object>(settings: T, values: TrialSettings): T {
  const out = structuredClone(settings) as Record<string, unknown>;
  for (const [setting, value] of Object.entries(values)) {
    const keys = setting.split(".");
    let target = out;
    for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
    target[keys.at(-1) as string] = value;
  }
  return out as T;
}

/** "learningRate: 0.00123, text.dropout: 0.3": a trial's values as a config change, in the space's order. */
export function describeSettings(values: TrialSettings): string {
  return Object.entries(values)
    .map(([setting, value]) => `${setting}: ${JSON.stringify(value)}`)
    .join(", ");
}
