/**
 * Scoring many models' predictions on the same films (notebook 05): baselines, the single models, late
 * fusion and the joint model, side by side, with honest tuned-threshold figures.
 *
 * Thresholds (and the late-fusion weight) are tuned on the validation split, which is also where the
 * models are compared. Tuning and scoring on the same films would flatter every model, so both are
 * cross-fitted: the validation films are split in two seeded halves, each half is scored with what was
 * tuned on the other half, and the two halves' decisions are pooled.
 */
import type { Dataset, Split } from "../data/dataset";
import { frequencyPrior, priorPredictions } from "../models/baselines";
import { seededRandom, shuffled } from "../runtime/random";
import { LinearBaseline, predictTfidf } from "../train/text-baselines";
import { Figure, showTable } from "../workbook/plots";
import type { Comparison } from "./comparison";
import { Evaluation, binaryCrossEntropy, evaluate, tuneThresholds } from "./metrics";

/**
 * What a row of the leaderboard is, which the narrative reads (never the display names):
 *   prior        the genre-frequency prior;
 *   linear       the TF-IDF + logistic regression baseline;
 *   text-branch  the joint model's text branch trained alone (what the joint model is without the poster);
 *   poster, overview  single-modality models;
 *   late         a late fusion of single models;
 *   joint        a joint poster + overview model;
 *   text-head, poster-head  heads on pretrained features (notebook 06): the pretrained joint model's branches alone;
 *   late-heads   the late fusion of the two heads;
 *   pretrained   the joint model on pretrained features.
 */
export type ContenderRole =
  "prior" | "linear" | "text-branch" | "poster" | "overview" | "late" | "joint" | "text-head" | "poster-head" | "late-heads" | "pretrained";

const ROLE_GROUP: Record<ContenderRole, string> = {
  prior: "baseline",
  linear: "baseline",
  "text-branch": "baseline",
  poster: "single model",
  overview: "single model",
  late: "late fusion",
  joint: "joint model",
  "text-head": "pretrained head",
  "poster-head": "pretrained head",
  "late-heads": "late fusion",
  pretrained: "joint model",
};

export interface Contender {
  name: string;
  role: ContenderRole;
  /** Row-major [films, genres], aligned with the leaderboard's films. */
  probabilities: Float32Array;
}

/** The leaderboard's "kind" column for a role. */
export function roleGroup(role: ContenderRole): string {
  return ROLE_GROUP[role];
}

export interface ScoredContender extends Contender {
  atHalf: Evaluation;
  /** Decisions at per-genre thresholds tuned on the other half of the films (cross-fitted). */
  tuned: Evaluation;
}

/** Two seeded halves of n films: fold[i] is 0 or 1. */
export function twoFolds(n: number, seed: number): Uint8Array {
  const fold = new Uint8Array(n);
  shuffled(
    Array.from({ length: n }, (_, i) => i),
    seededRandom(seed),
  ).forEach((film, k) => {
    fold[film] = k % 2;
  });
  return fold;
}

function rowsOf(data: ArrayLike<number>, rows: readonly number[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => {
    for (let g = 0; g < width; g++) out[i * width + g] = data[r * width + g] as number;
  });
  return out;
}

/** 0/1 decisions for every film, each half decided by thresholds tuned on the other half. */
export function crossFittedDecisions(
  yTrue: ArrayLike<number>,
  yProb: ArrayLike<number>,
  genres: readonly string[],
  fold: Uint8Array,
): Float32Array {
  const g = genres.length;
  const n = fold.length;
  const decisions = new Float32Array(n * g);
  for (const f of [0, 1]) {
    const tuneRows = Array.from({ length: n }, (_, i) => i).filter((i) => fold[i] !== f);
    const applyRows = Array.from({ length: n }, (_, i) => i).filter((i) => fold[i] === f);
    const { thresholds } = tuneThresholds(rowsOf(yTrue, tuneRows, g), rowsOf(yProb, tuneRows, g), genres);
    for (const i of applyRows) {
      for (let j = 0; j < g; j++)
        decisions[i * g + j] = Math.fround(yProb[i * g + j] as number) > Math.fround(thresholds[j] as number) ? 1 : 0;
    }
  }
  return decisions;
}

/** Scores every contender at 0.5 and at cross-fitted tuned thresholds. */
export function scoreContenders(
  yTrue: Float32Array,
  genres: readonly string[],
  contenders: readonly Contender[],
  seed: number,
): ScoredContender[] {
  const fold = twoFolds(yTrue.length / genres.length, seed);
  return contenders.map((c) => {
    const atHalf = evaluate(yTrue, c.probabilities, genres, 0.5);
    // Decisions given as 0/1 "probabilities" at threshold 0.5: the F1 figures are exact; the probability-based
    // figures (BCE, top-k) of `tuned` are meaningless and are taken from atHalf instead.
    const tuned = evaluate(yTrue, crossFittedDecisions(yTrue, c.probabilities, genres, fold), genres, 0.5);
    return { ...c, atHalf, tuned };
  });
}

/**
 * Late fusion: w * poster model + (1 - w) * overview model. The weight minimising validation BCE is chosen
 * per half on the other half (cross-fitted, as the thresholds), from 0, 0.05, ..., 1. Returns the fused
 * probabilities and the weight chosen on each half.
 */
export function weightedLateFusion(
  yTrue: Float32Array,
  a: Float32Array,
  b: Float32Array,
  genres: number,
  seed: number,
): { probabilities: Float32Array; weights: [number, number] } {
  const fold = twoFolds(yTrue.length / genres, seed);
  const n = fold.length;
  const out = new Float32Array(a.length);
  const weights: [number, number] = [0.5, 0.5];
  for (const f of [0, 1]) {
    const tuneRows = Array.from({ length: n }, (_, i) => i).filter((i) => fold[i] !== f);
    const t = rowsOf(yTrue, tuneRows, genres);
    const pa = rowsOf(a, tuneRows, genres);
    const pb = rowsOf(b, tuneRows, genres);
    let best = { w: 0.5, bce: Infinity };
    for (let k = 0; k <= 20; k++) {
      const w = k / 20;
      const bce = binaryCrossEntropy(
        t,
        pa.map((v, i) => w * v + (1 - w) * (pb[i] as number)),
      );
      if (bce < best.bce - 1e-12 || (Math.abs(bce - best.bce) <= 1e-12 && Math.abs(w - 0.5) < Math.abs(best.w - 0.5))) best = { w, bce };
    }
    weights[f] = best.w;
    for (let i = 0; i < n; i++) {
      if (fold[i] !== f) continue;
      for (let j = 0; j < genres; j++)
        out[i * genres + j] = best.w * (a[i * genres + j] as number) + (1 - best.w) * (b[i * genres + j] as number);
    }
  }
  return { probabilities: out, weights };
}

/** The plain average of two models' probabilities (late fusion's baseline). */
export function averageFusion(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => (v + (b[i] as number)) / 2);
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v.toFixed(4));

/** The leaderboard as a table: one row per contender, best of each column in bold in the HTML. */
export function showLeaderboard(scored: readonly ScoredContender[], films: number): void {
  const columns: [string, (s: ScoredContender) => number | null, boolean][] = [
    ["val BCE", (s) => s.atHalf.bce, true],
    ["micro F1 @0.5", (s) => s.atHalf.microF1, false],
    ["macro F1 @0.5", (s) => s.atHalf.macroF1, false],
    ["weighted F1 @0.5", (s) => s.atHalf.weightedF1, false],
    ["samples F1 @0.5", (s) => s.atHalf.samplesF1, false],
    ["micro F1 tuned", (s) => s.tuned.microF1, false],
    ["macro F1 tuned", (s) => s.tuned.macroF1, false],
    ["weighted F1 tuned", (s) => s.tuned.weightedF1, false],
    ["samples F1 tuned", (s) => s.tuned.samplesF1, false],
    ["top-3 hit rate", (s) => s.atHalf.top3HitRate, false],
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
 * What the leaderboard shows, in sentences computed from it; says plainly when the joint model loses to the
 * linear baseline. `joint` names the joint model to discuss (default: the last contender with role 'joint').
 */
export function leaderboardNarrative(scored: readonly ScoredContender[], joint?: string): string {
  const subject = joint !== undefined ? scored.find((s) => s.name === joint) : scored.filter((s) => s.role === "joint").at(-1);
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

export const LINEAR_BASELINE_NAME = "TF-IDF + logistic regression";
export const TEXT_BRANCH_NAME = "TF-IDF MLP (the joint model's text branch, no poster)";

/**
 * The contenders of notebook 05 on the comparison's films: the genre-frequency prior, the linear text
 * baseline (and, when given, the joint model's text branch trained alone), the single models, their late
 * fusions (average, and cross-fitted weighted average) and the joint model (the comparison's models, in order: poster model, overview model, joint model).
 */
export async function fusionContenders(
  comparison: Comparison,
  dataset: Dataset,
  split: Split,
  linear: LinearBaseline,
  seed: number,
  textBranch?: LinearBaseline,
): Promise<{ contenders: Contender[]; lateWeights: [number, number] }> {
  const [poster, overview, joint] = comparison.models;
  if (!poster || !overview || !joint)
    throw new Error("fusionContenders needs the poster model, the overview model and the joint model, in that order");
  const genres = comparison.genres.length;
  const prior = frequencyPrior(dataset.labels, genres, split.train);
  const late = weightedLateFusion(comparison.yTrue, poster.probabilities, overview.probabilities, genres, seed);
  const contenders: Contender[] = [
    { name: "genre-frequency prior", role: "prior", probabilities: priorPredictions(prior, comparison.films.length) },
    {
      name: LINEAR_BASELINE_NAME,
      role: "linear",
      probabilities: await predictTfidf(
        linear.model,
        linear.vectorizer,
        comparison.films.map((f) => f.overview),
      ),
    },
    ...(textBranch
      ? [
          {
            name: TEXT_BRANCH_NAME,
            role: "text-branch" as const,
            probabilities: await predictTfidf(
              textBranch.model,
              textBranch.vectorizer,
              comparison.films.map((f) => f.overview),
            ),
          },
        ]
      : []),
    { name: poster.name, role: "poster", probabilities: poster.probabilities },
    { name: overview.name, role: "overview", probabilities: overview.probabilities },
    { name: "late fusion: average", role: "late", probabilities: averageFusion(poster.probabilities, overview.probabilities) },
    { name: `late fusion: weighted (w = ${late.weights.join(" / ")})`, role: "late", probabilities: late.probabilities },
    { name: joint.name, role: "joint", probabilities: joint.probabilities },
  ];
  return { contenders, lateWeights: late.weights };
}

/** A head's validation probabilities, with the Ids of their films (train/runs.ts trainPretrainedHead). */
export interface HeadPredictions {
  name: string;
  ids: readonly string[];
  probabilities: Float32Array;
}

/** Rows of `probabilities` (films `ids`) reordered to the films `target`; every target film must be there. */
function alignedRows(head: HeadPredictions, target: readonly string[], genres: number, name: string): Float32Array {
  const index = new Map(head.ids.map((id, i) => [id, i]));
  const out = new Float32Array(target.length * genres);
  target.forEach((id, i) => {
    const r = index.get(id);
    if (r === undefined) throw new Error(`${name} has no prediction for film ${id}`);
    out.set(head.probabilities.subarray(r * genres, (r + 1) * genres), i * genres);
  });
  return out;
}

/**
 * The contenders of notebook 06: every contender of notebook 05 (fusionContenders; the comparison's models
 * in order: CNN, LSTM, the joint model of notebook 05, the pretrained joint model), then the two heads on
 * pretrained features, their late fusion (cross-fitted weight) and the pretrained joint model.
 */
export async function pretrainedContenders(
  comparison: Comparison,
  dataset: Dataset,
  split: Split,
  linear: LinearBaseline,
  seed: number,
  heads: { text: HeadPredictions; poster: HeadPredictions },
): Promise<{ contenders: Contender[]; lateWeights: [number, number] }> {
  const pretrained = comparison.models[3];
  if (!pretrained)
    throw new Error(
      "pretrainedContenders needs the CNN, the LSTM, the joint model of notebook 05 and the pretrained joint model, in that order",
    );
  const { contenders } = await fusionContenders(comparison, dataset, split, linear, seed);
  const genres = comparison.genres.length;
  const ids = comparison.films.map((f) => f.id);
  const text = alignedRows(heads.text, ids, genres, "the text head");
  const poster = alignedRows(heads.poster, ids, genres, "the poster head");
  const late = weightedLateFusion(comparison.yTrue, poster, text, genres, seed);
  contenders.push(
    { name: heads.text.name, role: "text-head", probabilities: text },
    { name: heads.poster.name, role: "poster-head", probabilities: poster },
    { name: `late fusion of the heads (w = ${late.weights.join(" / ")})`, role: "late-heads", probabilities: late.probabilities },
    { name: pretrained.name, role: "pretrained", probabilities: pretrained.probabilities },
  );
  return { contenders, lateWeights: late.weights };
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
