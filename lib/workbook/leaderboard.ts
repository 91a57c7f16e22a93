/**
 * Showing a leaderboard (eval/leaderboard.ts): the table, F1 per genre, and what it shows in sentences computed
 * from it (notebooks 05 and 06).
 */
import { ContenderRole, ScoredContender, roleGroup } from "../eval/leaderboard";
import { Figure, showTable } from "./plots";

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v.toFixed(4));

/** The leaderboard as a table: one row per contender, best of each column in bold in the HTML. */
export function showLeaderboard(scored: readonly ScoredContender[], films: number): void {
  // What the notebooks discuss first (tuned micro and macro F1, then the loss) sits next to the model's name.
  const columns: [string, (s: ScoredContender) => number | null, boolean][] = [
    ["micro F1 tuned", (s) => s.tuned.microF1, false],
    ["macro F1 tuned", (s) => s.tuned.macroF1, false],
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
  showTable(
    ["model", "kind", ...columns.map(([label]) => label)],
    scored.map((s) => [s.name, roleGroup(s.role), ...columns.map(([, get], j) => (get(s) === best[j] ? `${fmt(get(s))} *` : fmt(get(s))))]),
    `${films} validation films; "tuned": per-genre thresholds tuned on the other half of the validation films (cross-fitted); * best in its column`,
  );
}

/** F1 per genre for every contender (tuned thresholds), genres without a positive film left out. */
export function leaderboardF1Figure(scored: readonly ScoredContender[], genres: readonly string[]): Figure {
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

/**
 * What the leaderboard shows, in sentences computed from it; says plainly when the joint model (the last
 * contender with role 'joint') loses to the linear baseline.
 */
export function leaderboardNarrative(scored: readonly ScoredContender[]): string {
  const subject = scored.filter((s) => s.role === "joint").at(-1);
  const linear = scored.find((s) => s.role === "linear");
  if (!subject || !linear) return "";
  const v = (s: ScoredContender | undefined, get: (e: ScoredContender) => number | null) => (s ? (get(s) ?? NaN) : NaN);
  const macro = (s: ScoredContender) => s.tuned.macroF1;
  const micro = (s: ScoredContender) => s.tuned.microF1;
  const bestOf = (roles: ContenderRole[], get: (e: ScoredContender) => number | null) =>
    scored.filter((s) => roles.includes(s.role)).sort((a, b) => v(b, get) - v(a, get))[0];
  const lines: string[] = [];
  const compare = (other: ScoredContender | undefined, label: string) => {
    if (!other) return;
    const dMacro = v(subject, macro) - v(other, macro);
    const dMicro = v(subject, micro) - v(other, micro);
    const verdict = dMacro > 0 && dMicro > 0 ? "beats" : dMacro <= 0 && dMicro <= 0 ? "**loses to**" : "is mixed against";
    lines.push(
      `- The joint model ${verdict} ${label} (${other.name}): macro F1 ${fmt(v(subject, macro))} vs ${fmt(v(other, macro))}, micro F1 ${fmt(v(subject, micro))} vs ${fmt(v(other, micro))} (tuned thresholds).`,
    );
  };
  compare(linear, "the linear text baseline");
  const textBranch = scored.find((s) => s.role === "text-branch");
  if (textBranch) {
    const d = (get: (e: ScoredContender) => number | null) => v(subject, get) - v(textBranch, get);
    lines.push(
      `- What the poster adds: the same text branch without the poster scores macro F1 ${fmt(v(textBranch, macro))}, micro F1 ${fmt(v(textBranch, micro))}, ` +
        `val BCE ${fmt(textBranch.atHalf.bce)}; the joint model ${d(macro) >= 0 ? "+" : ""}${d(macro).toFixed(4)} macro, ${d(micro) >= 0 ? "+" : ""}${d(micro).toFixed(4)} micro, ` +
        `${subject.atHalf.bce - textBranch.atHalf.bce >= 0 ? "+" : ""}${(subject.atHalf.bce - textBranch.atHalf.bce).toFixed(4)} BCE.`,
    );
  }
  compare(bestOf(["poster", "overview"], macro), "the better single model");
  compare(bestOf(["late"], macro), "the better late fusion");
  const baselines: ContenderRole[] = ["prior", "linear", "text-branch"];
  const losers = scored.filter((s) => !baselines.includes(s.role) && v(s, macro) < v(linear, macro)).map((s) => s.name);
  if (losers.length > 0) {
    lines.push(
      `- On macro F1 (tuned), the TF-IDF + logistic regression baseline is better than: ${losers.join(", ")}. A bag of words is a strong baseline on these overviews.`,
    );
  }
  lines.push(
    `- Validation BCE: joint model ${fmt(subject.atHalf.bce)}; the best student figure in the coursework was 0.2118 (on a different split of the 6,325 films).`,
  );
  return lines.join("\n");
}

/**
 * What notebook 06's leaderboard shows, in sentences computed from it: whether the pretrained joint model
 * beats every earlier model, what the poster adds over the same text branch alone, and how it compares with
 * the late fusion of the two heads.
 */
export function pretrainedNarrative(scored: readonly ScoredContender[]): string {
  const subject = scored.find((s) => s.role === "pretrained");
  if (!subject) return "";
  const macro = (s: ScoredContender) => s.tuned.macroF1 ?? NaN;
  const micro = (s: ScoredContender) => s.tuned.microF1 ?? NaN;
  const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(4)}`;
  const earlier = scored.filter((s) => !["text-head", "poster-head", "late-heads", "pretrained"].includes(s.role));
  const beaten = earlier.filter((s) => macro(subject) > macro(s) && micro(subject) > micro(s));
  const notBeaten = earlier.filter((s) => !beaten.includes(s));
  const lines: string[] = [];
  lines.push(
    notBeaten.length === 0
      ? `- The pretrained joint model beats every earlier model on both micro and macro F1 (tuned): micro ${fmt(micro(subject))}, macro ${fmt(macro(subject))}.`
      : `- The pretrained joint model (micro ${fmt(micro(subject))}, macro ${fmt(macro(subject))}) does **not** beat on both F1s: ${notBeaten
          .map((s) => `${s.name} (micro ${fmt(micro(s))}, macro ${fmt(macro(s))})`)
          .join("; ")}.`,
  );
  const best = earlier.slice().sort((a, b) => macro(b) - macro(a))[0];
  if (best)
    lines.push(
      `- The best earlier model on macro F1 is ${best.name}: ${signed(macro(subject) - macro(best))} macro, ${signed(micro(subject) - micro(best))} micro for the pretrained joint model.`,
    );
  const text = scored.find((s) => s.role === "text-head");
  if (text) {
    const dMacro = macro(subject) - macro(text);
    const dMicro = micro(subject) - micro(text);
    const verdict = dMacro > 0 && dMicro > 0 ? "adds to" : dMacro <= 0 && dMicro <= 0 ? "**does not add** to" : "is mixed on";
    lines.push(
      `- What the poster adds: the same text branch alone (${text.name}) scores micro ${fmt(micro(text))}, macro ${fmt(macro(text))}, val BCE ${fmt(text.atHalf.bce)}; ` +
        `with the poster the model gets ${signed(dMicro)} micro, ${signed(dMacro)} macro, ${signed(subject.atHalf.bce - text.atHalf.bce)} BCE: the poster ${verdict} the text.`,
    );
  }
  const late = scored.find((s) => s.role === "late-heads");
  if (late) {
    const wins = macro(subject) > macro(late) && micro(subject) > micro(late);
    lines.push(
      `- Against the late fusion of the two heads (${late.name}: micro ${fmt(micro(late))}, macro ${fmt(macro(late))}), the joint model ` +
        `${wins ? "wins" : "**does not win**"}: ${signed(micro(subject) - micro(late))} micro, ${signed(macro(subject) - macro(late))} macro.`,
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
