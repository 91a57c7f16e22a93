/**
 * Showing a leaderboard (eval/leaderboard.ts): the table, F1 per genre, and what it shows in sentences computed
 * from it (notebooks 05 and 06).
 */
import type { Difference } from "../eval/bootstrap";
import { ContenderRole, Leaderboard, RankedMetric, ScoredContender, Standing, leaderboardDifference, roleGroup } from "../eval/leaderboard";
import { VerdictWords, describeDifference, formatDifference, formatInterval, twoFigureVerdict } from "./intervals";
import { Figure, showTable } from "./plots";

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v.toFixed(4));

/** A row's standing against the best row: "best", or its paired difference, marked "within noise" where it covers 0. */
function standingCell(standing: Standing): string {
  if (!standing.vsBest) return "best";
  return standing.rank === "within noise" ? `within noise: ${formatDifference(standing.vsBest)}` : formatDifference(standing.vsBest);
}

/**
 * The leaderboard as a table: one row per contender; tuned micro and macro F1 with their 95% intervals and where
 * each row stands against the best one (paired bootstrap: "within noise" where the difference's interval covers
 * 0), then the other figures, best of each column marked.
 */
export function showLeaderboard(board: Leaderboard): void {
  const scored = board.rows;
  const ranked = (m: RankedMetric): [string, (s: ScoredContender) => string][] => [
    [
      `${m === "microF1" ? "micro" : "macro"} F1 tuned [95%]`,
      (s) => `${formatInterval(s.standing[m].interval)}${s.standing[m].rank === "best" ? " *" : ""}`,
    ],
    [`${m === "microF1" ? "micro" : "macro"} F1 vs the best`, (s) => standingCell(s.standing[m])],
  ];
  const columns: [string, (s: ScoredContender) => number | null, boolean][] = [
    ["val BCE", (s) => s.atHalf.bce, true],
    ["top-3 hit rate", (s) => s.atHalf.top3HitRate, false],
    ["micro F1 @0.5", (s) => s.atHalf.microF1, false],
    ["macro F1 @0.5", (s) => s.atHalf.macroF1, false],
    ["weighted F1 tuned", (s) => s.tuned.weightedF1, false],
    ["samples F1 tuned", (s) => s.tuned.samplesF1, false],
    ["weighted F1 @0.5", (s) => s.atHalf.weightedF1, false],
    ["samples F1 @0.5", (s) => s.atHalf.samplesF1, false],
  ];
  const best = columns.map(([, get, lower]) => {
    const values = scored.map(get).filter((v): v is number => v !== null && Number.isFinite(v));
    return lower ? Math.min(...values) : Math.max(...values);
  });
  const text = [...ranked("microF1"), ...ranked("macroF1")];
  showTable(
    ["model", "kind", ...text.map(([label]) => label), ...columns.map(([label]) => label)],
    scored.map((s) => [
      s.name,
      roleGroup(s.role),
      ...text.map(([, cell]) => cell(s)),
      ...columns.map(([, get], j) => (get(s) === best[j] ? `${fmt(get(s))} *` : fmt(get(s)))),
    ]),
    `${board.yTrue.length / board.genres.length} validation films; "tuned": per-genre thresholds tuned on the other half of the validation films (cross-fitted); ` +
      `[95%]: bootstrap interval over films (seed ${board.seed}); "vs the best": this row minus the best row on the same films (paired bootstrap), ` +
      `"within noise" where its interval covers 0; * best in its column`,
  );
}

/** F1 per genre for every contender (tuned thresholds), genres without a positive film left out. */
export function leaderboardF1Figure(board: Leaderboard): Figure {
  const scored = board.rows;
  const genres = board.genres;
  const missing = scored[0]?.tuned.genresWithoutPositives ?? [];
  const shown = genres.filter((g) => !missing.includes(g));
  return {
    data: scored.map((s) => ({ type: "bar", name: s.name, x: shown, y: shown.map((g) => s.tuned.perGenre[g]?.f1 ?? 0) })),
    layout: {
      title: {
        text: `F1 per genre (cross-fitted tuned thresholds)${missing.length ? `<br><sub>no positive film, left out: ${missing.join(", ")}</sub>` : ""}`,
      },
      barmode: "group",
      xaxis: { tickangle: -45 },
      yaxis: { title: { text: "F1" }, range: [0, 1] },
      height: 480,
    },
  };
}

const WINS: VerdictWords = { ahead: "wins", behind: "**loses**", noise: "is **within noise**", mixed: "is mixed" };

/** One verdict on tuned micro and macro F1 of a paired difference (subject minus other). */
function f1Verdict(d: Record<RankedMetric, Difference>, words: VerdictWords = WINS): string {
  return twoFigureVerdict(["micro F1", d.microF1], ["macro F1", d.macroF1], words);
}

const macro = (s: ScoredContender) => s.tuned.macroF1 ?? NaN;
const micro = (s: ScoredContender) => s.tuned.microF1 ?? NaN;

/** "macro F1 0.3900 vs 0.3800 (+0.0100 [-0.0100, +0.0300], within noise), micro F1 ..." */
function f1Figures(subject: ScoredContender, other: ScoredContender, d: Record<RankedMetric, Difference>): string {
  return (
    `macro F1 ${fmt(macro(subject))} vs ${fmt(macro(other))} (${describeDifference(d.macroF1)}), ` +
    `micro F1 ${fmt(micro(subject))} vs ${fmt(micro(other))} (${describeDifference(d.microF1)})`
  );
}

const PAIRED = "tuned thresholds; the difference with its 95% paired-bootstrap interval over the films";

/**
 * What the leaderboard shows, in sentences computed from it: the joint model (the last contender with role
 * 'joint') against the linear baseline, the single models and the late fusions, and what the poster adds over the
 * text branch alone. Every "wins" or "loses" rests on the paired bootstrap: a difference whose interval covers 0
 * is said to be within noise, and says plainly when the joint model loses to the linear baseline.
 */
export function leaderboardNarrative(board: Leaderboard): string {
  const scored = board.rows;
  const subject = scored.filter((s) => s.role === "joint").at(-1);
  const linear = scored.find((s) => s.role === "linear");
  if (!subject || !linear) return "";
  const bestOf = (roles: ContenderRole[]) => scored.filter((s) => roles.includes(s.role)).sort((a, b) => macro(b) - macro(a))[0];
  const lines: string[] = [];
  const compare = (other: ScoredContender | undefined, label: string) => {
    if (!other) return;
    const d = leaderboardDifference(board, subject, other);
    lines.push(`- Against ${label} (${other.name}), the joint model ${f1Verdict(d)}: ${f1Figures(subject, other, d)} (${PAIRED}).`);
  };
  compare(linear, "the linear text baseline");
  const textBranch = scored.find((s) => s.role === "text-branch");
  if (textBranch) {
    const d = leaderboardDifference(board, subject, textBranch);
    const words = {
      ahead: "adds to the text",
      behind: "**takes away** from the text",
      noise: "adds nothing beyond noise",
      mixed: "is mixed",
    };
    lines.push(
      `- What the poster adds: the same text branch without the poster scores macro F1 ${fmt(macro(textBranch))}, micro F1 ${fmt(micro(textBranch))}, ` +
        `val BCE ${fmt(textBranch.atHalf.bce)}; the joint model ${describeDifference(d.macroF1)} macro, ${describeDifference(d.microF1)} micro, ` +
        `${describeDifference(d.bce)} BCE: the poster ${f1Verdict(d, words)}.`,
    );
  }
  compare(bestOf(["poster", "overview"]), "the better single model");
  compare(bestOf(["late"]), "the better late fusion");
  lines.push(...linearBaselineLines(board, linear));
  lines.push(
    `- Validation BCE: joint model ${fmt(subject.atHalf.bce)}; the best student figure in the coursework was 0.2118 (on a different split of the 6,325 films).`,
  );
  return lines.join("\n");
}

/** The models below the linear baseline on tuned macro F1: those it beats (paired interval above 0), and those within noise of it. */
function linearBaselineLines(board: Leaderboard, linear: ScoredContender): string[] {
  const baselines: ContenderRole[] = ["prior", "linear", "text-branch"];
  const below = board.rows.filter((s) => !baselines.includes(s.role) && macro(s) < macro(linear));
  const differences = below.map((s) => leaderboardDifference(board, linear, s).macroF1);
  const beaten = below.filter((_, i) => !differences[i]?.withinNoise);
  const close = below.filter((_, i) => differences[i]?.withinNoise);
  const lines: string[] = [];
  if (beaten.length > 0)
    lines.push(
      `- On macro F1 (tuned), the TF-IDF + logistic regression baseline is better than: ${beaten.map((s) => s.name).join(", ")} ` +
        "(the paired difference's interval lies above 0). A bag of words is a strong baseline on these overviews.",
    );
  if (close.length > 0)
    lines.push(
      `- Below the TF-IDF + logistic regression baseline on macro F1 (tuned), but within noise of it: ${close.map((s) => s.name).join(", ")}.`,
    );
  return lines;
}

/**
 * What notebook 06's leaderboard shows, in sentences computed from it: whether the pretrained joint model
 * beats every earlier model, what the poster adds over the same text branch alone, and how it compares with
 * the late fusion of the two heads. "Beats" and "wins" rest on the paired bootstrap: a difference whose interval
 * covers 0 is said to be within noise.
 */
export function pretrainedNarrative(board: Leaderboard): string {
  const scored = board.rows;
  const subject = scored.find((s) => s.role === "pretrained");
  if (!subject) return "";
  const against = (s: ScoredContender) => leaderboardDifference(board, subject, s);
  const lines = [...earlierModelLines(board, subject)];
  const text = scored.find((s) => s.role === "text-head");
  if (text) {
    const d = against(text);
    const words = { ahead: "adds to", behind: "**takes away** from", noise: "adds nothing beyond noise to", mixed: "is mixed on" };
    lines.push(
      `- What the poster adds: the same text branch alone (${text.name}) scores micro ${fmt(micro(text))}, macro ${fmt(macro(text))}, val BCE ${fmt(text.atHalf.bce)}; ` +
        `with the poster the model gets ${describeDifference(d.microF1)} micro, ${describeDifference(d.macroF1)} macro, ${describeDifference(d.bce)} BCE: ` +
        `the poster ${f1Verdict(d, words)} the text.`,
    );
  }
  const late = scored.find((s) => s.role === "late-heads");
  if (late) {
    const d = against(late);
    lines.push(
      `- Against the late fusion of the two heads (${late.name}: micro ${fmt(micro(late))}, macro ${fmt(macro(late))}), the joint model ` +
        `${f1Verdict(d)}: ${describeDifference(d.microF1)} micro, ${describeDifference(d.macroF1)} macro.`,
    );
  }
  const poster = scored.find((s) => s.role === "poster-head");
  const cnn = scored.find((s) => s.role === "poster");
  if (poster && cnn) {
    lines.push(
      `- Posters alone: MobileNetV2's features score micro ${fmt(micro(poster))}, macro ${fmt(macro(poster))} against the coursework CNN's ${fmt(micro(cnn))} / ${fmt(macro(cnn))}.`,
    );
  }
  return lines.join("\n");
}

/** The pretrained joint model against every earlier model: beaten on both F1s beyond noise, or not; and the best earlier one. */
function earlierModelLines(board: Leaderboard, subject: ScoredContender): string[] {
  const earlier = board.rows.filter((s) => !["text-head", "poster-head", "late-heads", "pretrained"].includes(s.role));
  const differences = new Map(earlier.map((s) => [s, leaderboardDifference(board, subject, s)]));
  const beats = (s: ScoredContender) => {
    const d = differences.get(s) as Record<RankedMetric, Difference>;
    return !d.microF1.withinNoise && d.microF1.estimate > 0 && !d.macroF1.withinNoise && d.macroF1.estimate > 0;
  };
  const notBeaten = earlier.filter((s) => !beats(s));
  const lines = [
    notBeaten.length === 0
      ? `- The pretrained joint model beats every earlier model on both micro and macro F1 (tuned), beyond noise: micro ${fmt(micro(subject))}, macro ${fmt(macro(subject))}.`
      : `- The pretrained joint model (micro ${fmt(micro(subject))}, macro ${fmt(macro(subject))}) does **not** beat on both F1s beyond noise: ${notBeaten
          .map((s) => {
            const d = differences.get(s) as Record<RankedMetric, Difference>;
            return `${s.name} (micro ${fmt(micro(s))}, ${describeDifference(d.microF1)}; macro ${fmt(macro(s))}, ${describeDifference(d.macroF1)})`;
          })
          .join("; ")} (the pretrained model's differences, with their 95% paired-bootstrap intervals).`,
  ];
  const best = earlier.slice().sort((a, b) => macro(b) - macro(a))[0];
  if (best) {
    const d = differences.get(best) as Record<RankedMetric, Difference>;
    lines.push(
      `- The best earlier model on macro F1 is ${best.name}: ${describeDifference(d.macroF1)} macro, ${describeDifference(d.microF1)} micro for the pretrained joint model.`,
    );
  }
  return lines;
}
