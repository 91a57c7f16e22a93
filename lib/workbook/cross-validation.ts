/**
 * Showing a k-fold cross-validation (train/cross-validate.ts, eval/cross-validation.ts) in notebook 09: each fold's
 * model alone and the ensemble of them on the validation films, the out-of-fold thresholds against those the
 * validation films would choose for themselves, and the ensemble against one model alone in sentences whose
 * "ahead" or "behind" rests on the paired difference's interval (within noise where it covers 0).
 */
import type { CrossValidation } from "../train/cross-validate";
import type { Interval } from "../eval/bootstrap";
import { VerdictWords, describeDifference, direction, formatInterval, twoFigureVerdict } from "./intervals";
import { Figure, showTable } from "./plots";

/** What the display functions read of a cross-validation. */
export type CrossValidationView = Pick<
  CrossValidation,
  "kind" | "runs" | "folds" | "validation" | "againstSingle" | "againstEach" | "thresholds" | "genres"
>;

const F1 = ["microF1", "macroF1"] as const;

/** One row per fold's model alone (its own thresholds), then the ensemble (out-of-fold thresholds): F1 with 95% intervals. */
export function showFoldScores(cv: CrossValidationView): void {
  const rows = cv.runs.map((run, i) => {
    const score = cv.folds[i];
    return [
      `fold ${i + 1} alone`,
      run.trainFilms,
      run.heldOutFilms,
      run.bestEpoch,
      ...F1.map((m) => (score ? formatInterval(score.intervalsTuned[m]) : "n/a")),
      "its held-out fold",
    ];
  });
  rows.push([
    `ensemble of ${cv.runs.length} (mean)`,
    "",
    "",
    cv.runs.map((r) => r.bestEpoch).join(", "),
    ...F1.map((m) => formatInterval(cv.validation.intervalsTuned[m])),
    "out of fold",
  ]);
  showTable(
    ["model", "training films", "held out", "epoch kept", "micro F1 [95%]", "macro F1 [95%]", "thresholds tuned on"],
    rows,
    `${cv.validation.films} validation films, never used to choose an epoch or a threshold; [95%]: bootstrap interval over the films`,
  );
}

/** Micro and macro F1 of each fold's model alone and of the ensemble, each with its 95% interval as an error bar. */
export function foldScoresFigure(cv: CrossValidationView): Figure {
  const names = [...cv.runs.map((_, i) => `fold ${i + 1}`), "ensemble"];
  const intervals = (m: (typeof F1)[number]): Interval[] => [...cv.folds.map((f) => f.intervalsTuned[m]), cv.validation.intervalsTuned[m]];
  return {
    data: F1.map((m) => {
      const iv = intervals(m);
      return {
        type: "bar",
        name: m === "microF1" ? "micro F1" : "macro F1",
        x: names,
        y: iv.map((i) => i.estimate),
        error_y: {
          type: "data",
          symmetric: false,
          array: iv.map((i) => i.high - i.estimate),
          arrayminus: iv.map((i) => i.estimate - i.low),
        },
      };
    }),
    layout: {
      title: { text: `Each fold's model alone and the ensemble of them, on the validation films<br><sub>95% bootstrap intervals</sub>` },
      barmode: "group",
      yaxis: { title: { text: "F1 at tuned thresholds" }, rangemode: "tozero" },
      height: 420,
    },
  };
}

/** Per genre: the threshold tuned on the out-of-fold probabilities, and the one the validation films would choose for themselves. */
export function thresholdsFigure(cv: CrossValidationView): Figure {
  return {
    data: [
      { type: "bar", name: "out of fold (used)", x: cv.genres, y: cv.thresholds },
      { type: "bar", name: "tuned on the validation films (not used)", x: cv.genres, y: cv.validation.validationTunedThresholds },
    ],
    layout: {
      title: { text: "Per-genre thresholds: from the training films' out-of-fold probabilities, and from the validation films" },
      barmode: "group",
      xaxis: { tickangle: -45 },
      yaxis: { title: { text: "threshold" }, range: [0, 1] },
      height: 440,
    },
  };
}

/** The ensemble minus each fold's model alone, paired over the validation films: micro and macro F1, "within noise" where the interval covers 0. */
export function showEnsembleAgainstEachFold(cv: CrossValidationView): void {
  showTable(
    ["ensemble minus", "micro F1 [95%]", "macro F1 [95%]"],
    cv.againstEach.map((d, i) => [`fold ${i + 1}'s model alone`, ...F1.map((m) => describeDifference(d[m]))]),
    `${cv.validation.films} validation films; paired bootstrap intervals, "within noise" where they cover 0`,
  );
}

/** The ensemble, one model alone, and their paired difference (ensemble minus model), micro and macro F1. */
export function showEnsembleAgainstSingle(cv: CrossValidationView): void {
  const single = cv.againstSingle.single;
  const alone = cv.folds[single];
  const d = cv.againstSingle.difference;
  showTable(
    ["", "micro F1 [95%]", "macro F1 [95%]", "thresholds tuned on"],
    [
      [
        `ensemble of ${cv.runs.length}`,
        ...F1.map((m) => formatInterval(cv.validation.intervalsTuned[m])),
        "the training films, out of fold",
      ],
      [
        `fold ${single + 1}'s model alone`,
        ...F1.map((m) => (alone ? formatInterval(alone.intervalsTuned[m]) : "n/a")),
        "its held-out fold",
      ],
      ["ensemble minus the model alone", ...F1.map((m) => describeDifference(d[m])), "paired, over the same films"],
    ],
    `${cv.validation.films} validation films; the difference's 95% interval is the paired bootstrap's, "within noise" where it covers 0`,
  );
}

const VERDICT: VerdictWords = {
  ahead: "is **ahead**",
  behind: "is **behind**",
  noise: "is **within noise** of it",
  mixed: "is mixed (ahead on one figure, behind on the other)",
};

/**
 * What the cross-validation shows, in sentences computed from it: the ensemble against one model alone, ahead or
 * behind only where the paired difference's interval lies on one side of 0; how far the out-of-fold thresholds are
 * from those the validation films would pick; how much the folds' models differ.
 */
export function crossValidationNarrative(cv: CrossValidationView): string {
  const k = cv.runs.length;
  const single = cv.againstSingle.single;
  const d = cv.againstSingle.difference;
  const verdict = twoFigureVerdict(["micro F1", d.microF1], ["macro F1", d.macroF1], VERDICT);
  const each = F1.map((m) => {
    const counts = [1, 0, -1].map((side) => cv.againstEach.filter((x) => direction(x[m]) === side).length);
    const [ahead, noise, behind] = counts as [number, number, number];
    const parts = [
      ...(ahead > 0 ? [`ahead of ${ahead}`] : []),
      ...(noise > 0 ? [`within noise of ${noise}`] : []),
      ...(behind > 0 ? [`behind ${behind}`] : []),
    ];
    return `on ${m === "microF1" ? "micro" : "macro"} F1 ${parts.join(", ")}`;
  });
  const micro = cv.folds.map((f) => f.tuned.microF1 ?? NaN);
  const spread = micro.length > 0 ? `${Math.min(...micro).toFixed(4)} to ${Math.max(...micro).toFixed(4)}` : "n/a";
  const moved = cv.thresholds.filter((t, g) => Math.abs(t - (cv.validation.validationTunedThresholds[g] as number)) > 1e-9).length;
  const flattered = cv.validation.validationTuned.microF1;
  return [
    `Against one model alone (fold ${single + 1}'s, trained on ${cv.runs[single]?.trainFilms ?? "?"} films, its epoch and thresholds ` +
      `chosen on its own held-out fold), the ensemble of the ${k} fold models ${verdict}: micro F1 ${describeDifference(d.microF1)}, ` +
      `macro F1 ${describeDifference(d.macroF1)} (the ensemble minus the model alone, 95% paired interval over the ${cv.validation.films} validation films).`,
    `Alone, the ${k} fold models score micro F1 ${spread} on the same films: the spread of one model's luck of the draw. ` +
      `Against each of them alone (paired, as above), the ensemble is ${each.join("; ")}.`,
    `The out-of-fold thresholds differ from those the validation films would pick for themselves on ${moved} of ${cv.thresholds.length} genres. ` +
      `Those would score the ensemble micro F1 ${flattered === null ? "n/a" : flattered.toFixed(4)} on the same films, ` +
      `against ${formatInterval(cv.validation.intervalsTuned.microF1)} at the out-of-fold ones: a figure tuned on the films it scores, not a result.`,
  ].join("\n\n");
}

/** One line on a loaded ensemble model folder: its kind, its folds and their kept epochs, where its thresholds come from. */
export function describeEnsemble(trained: {
  dir: string;
  info: { kind: string; ensemble?: { folds: number; members: { bestEpoch: number }[] } };
  thresholds?: { tunedOn: string; films: number };
}): string {
  const e = trained.info.ensemble;
  if (!e) return `${trained.dir}: one ${trained.info.kind} model, not an ensemble`;
  return (
    `${trained.dir}: an ensemble of ${e.folds} ${trained.info.kind} models (epochs kept: ${e.members.map((m) => m.bestEpoch).join(", ")}), ` +
    `its probabilities the mean of theirs; thresholds tuned on the ${trained.thresholds ? `${trained.thresholds.tunedOn}, ${trained.thresholds.films} films` : "(none saved)"}`
  );
}
