/**
 * Showing a comparison of models (eval/comparison.ts): film cards, the metrics side by side, F1 per genre,
 * predicted vs true genre shares, the films only one model gets right, and the narrative computed from it.
 */
import type { Film } from "../data/dataset";
import type { Difference, HeadlineMetric } from "../eval/bootstrap";
import type { Comparison, HitAgreement, ModelResult } from "../eval/comparison";
import { comparisonDifference, topGenresPerFilm } from "../eval/comparison";
import { Evaluation, predictedVsTrueCounts } from "../eval/metrics";
import { showFilmCard } from "./cards";
import { formatDifference } from "./intervals";
import { Figure, showTable } from "./plots";
import { escapeHtml } from "./html";
import { showHtml } from "./display";

/** Film cards for the given films of a comparison (by Id), every model's top genres side by side. */
export function showComparisonCards(comparison: Comparison, ids: readonly string[], top = 3): void {
  const index = new Map(comparison.films.map((f, i) => [f.id, i]));
  const g = comparison.genres.length;
  for (const id of ids) {
    const i = index.get(id);
    if (i === undefined) {
      showHtml(
        `<div style="color:#b42318">${escapeHtml(id)}: not among the compared films (not in the validation split, or its poster could not be read)</div>`,
        `${id}: not among the compared films`,
      );
      continue;
    }
    showFilmCard(
      comparison.films[i] as Film,
      comparison.genres,
      comparison.models.map((m) => ({ model: m.name, probabilities: m.probabilities.subarray(i * g, (i + 1) * g) })),
      top,
    );
  }
}

const show = (v: number | null | undefined) => (v === null || v === undefined ? "n/a" : v.toFixed(4));

/** The models' overall metrics side by side, at threshold 0.5 and at the tuned thresholds. */
export function showComparisonTable(comparison: Comparison): void {
  const metrics: [string, (e: Evaluation) => number | null][] = [
    ["binary cross-entropy", (e) => e.bce],
    ["precision (Keras, micro)", (e) => e.kerasPrecision],
    ["recall (Keras, micro)", (e) => e.kerasRecall],
    ["micro F1", (e) => e.microF1],
    ["macro F1", (e) => e.macroF1],
    ["weighted F1", (e) => e.weightedF1],
    ["samples F1", (e) => e.samplesF1],
    ["hamming loss", (e) => e.hammingLoss],
    ["top-1 hit rate", (e) => e.top1HitRate],
    ["top-3 hit rate", (e) => e.top3HitRate],
  ];
  const columns = ["metric", ...comparison.models.flatMap((m) => [`${m.name} @0.5`, `${m.name} tuned`])];
  const rows = metrics.map(([label, get]) => [
    label,
    ...comparison.models.flatMap((m) => [show(get(m.atHalf)), m.tuned ? show(get(m.tuned)) : "n/a"]),
  ]);
  showTable(
    columns,
    rows,
    `${comparison.films.length} validation films; "tuned": per-genre thresholds tuned on the training run's validation split`,
  );
}

/** The metrics the comparison's narrative weighs, with whether lower is better. */
const WEIGHED: [HeadlineMetric, string, boolean][] = [
  ["bce", "binary cross-entropy", true],
  ["microF1", "micro F1", false],
  ["macroF1", "macro F1", false],
  ["top3HitRate", "top-3 hit rate", false],
];

/** The better model on a metric by the paired difference (first minus second), or undefined where it is within noise. */
function betterBy(comparison: Comparison, d: Difference, lowerIsBetter: boolean): ModelResult | undefined {
  if (d.withinNoise) return undefined;
  const [a, b] = comparison.models;
  return (lowerIsBetter ? d.estimate < 0 : d.estimate > 0) ? a : b;
}

/**
 * The first model minus the second at threshold 0.5 (eval/comparison.ts comparisonDifference): each metric, both
 * figures, the difference with its 95% paired-bootstrap interval, and the better model, or "within noise" where
 * the interval covers 0.
 */
export function showComparisonDifference(comparison: Comparison, difference: Record<HeadlineMetric, Difference>): void {
  const [a, b] = comparison.models;
  if (!a || !b) return;
  showTable(
    ["metric", `${a.name} @0.5`, `${b.name} @0.5`, "difference [95%]", "better"],
    WEIGHED.map(([metric, label, lower]) => [
      label,
      show(a.atHalf[metric]),
      show(b.atHalf[metric]),
      formatDifference(difference[metric]),
      betterBy(comparison, difference[metric], lower)?.name ?? "within noise",
    ]),
    `${comparison.films.length} validation films; difference: ${a.name} minus ${b.name}, with its 95% interval from the paired bootstrap over the films ` +
      `(the same films drawn for both); "within noise" where the interval covers 0`,
  );
}

/** Per-genre F1 of each model (genres with no positive film are left out and named in the title). */
export function perGenreF1Figure(comparison: Comparison, tuned = false): Figure {
  const first = comparison.models[0];
  const missing = first ? first.atHalf.genresWithoutPositives : [];
  const genres = comparison.genres.filter((g) => !missing.includes(g));
  return {
    data: comparison.models.map((m) => {
      const e = tuned && m.tuned ? m.tuned : m.atHalf;
      return { type: "bar", name: m.name, x: genres, y: genres.map((g) => e.perGenre[g]?.f1 ?? 0) };
    }),
    layout: {
      title: {
        text: `F1 per genre (${tuned ? "tuned thresholds" : "threshold 0.5"})${missing.length ? `<br><sub>no positive film, left out: ${missing.join(", ")}</sub>` : ""}`,
      },
      barmode: "group",
      xaxis: { tickangle: -45 },
      yaxis: { title: { text: "F1" }, range: [0, 1] },
    },
  };
}

/** How often each genre is predicted (threshold 0.5, and in the top 3) vs how often it is true. */
export function predictionBiasFigure(comparison: Comparison): Figure {
  const n = comparison.films.length;
  const g = comparison.genres.length;
  const trueShare = comparison.genres.map((_, j) => {
    let c = 0;
    for (let i = 0; i < n; i++) c += comparison.yTrue[i * g + j] as number;
    return c / n;
  });
  const top3Share = (m: ModelResult) => {
    const counts = new Array<number>(g).fill(0);
    for (const top of topGenresPerFilm(m.probabilities, comparison.genres, 3))
      for (const genre of top) counts[comparison.genres.indexOf(genre)] += 1;
    return counts.map((c) => c / n);
  };
  const order = comparison.genres.map((_, j) => j).sort((a, b) => (trueShare[b] as number) - (trueShare[a] as number));
  const x = order.map((j) => comparison.genres[j]);
  return {
    data: [
      { type: "bar", name: "true", x, y: order.map((j) => trueShare[j]), marker: { color: "#444" } },
      ...comparison.models.flatMap((m) => {
        const half = predictedVsTrueCounts(comparison.yTrue, m.probabilities, comparison.genres, 0.5);
        const top3 = top3Share(m);
        return [
          { type: "bar", name: `${m.name}: predicted (p > 0.5)`, x, y: order.map((j) => half[j]?.predictedRate ?? 0) },
          {
            type: "scatter",
            mode: "markers",
            name: `${m.name}: in its top 3`,
            x,
            y: order.map((j) => top3[j]),
            marker: { size: 9, symbol: "diamond" },
          },
        ];
      }),
    ],
    layout: {
      title: { text: "Share of films per genre: true vs predicted" },
      barmode: "group",
      xaxis: { tickangle: -45 },
      yaxis: { title: { text: "share of films" }, range: [0, 1] },
    },
  };
}

/** The agreement counts as a table, then a few example cards of the films only one model (or neither) gets right. */
export function showHitAgreement(comparison: Comparison, agreement: HitAgreement, examplesPerGroup = 2, top = 3): void {
  const [a, b] = comparison.models;
  const groups: [string, number[]][] = [
    ["both models", agreement.both],
    [`only ${a?.name}`, agreement.onlyFirst],
    [`only ${b?.name}`, agreement.onlySecond],
    ["neither", agreement.neither],
  ];
  showTable(
    ["group", "films", "share"],
    groups.map(([label, films]) => [label, films.length, films.length / comparison.films.length]),
    `a true genre among the model's top ${agreement.k}`,
  );
  for (const [label, films] of groups.slice(1)) {
    showHtml(
      `<p><b>${escapeHtml(label)}</b> (${films.length} films)${films.length ? ", for example:" : ""}</p>`,
      `${label} (${films.length} films)`,
    );
    showComparisonCards(
      comparison,
      films.slice(0, examplesPerGroup).map((i) => (comparison.films[i] as Film).id),
      top,
    );
  }
}

/**
 * A few sentences stating what the comparison shows, computed from its numbers. Which model has the lower loss
 * or the higher F1 rests on the paired bootstrap (`difference`, comparisonDifference's by default): where the
 * difference's interval covers 0 the two are said to be within noise.
 */
export function comparisonNarrative(
  comparison: Comparison,
  agreement: HitAgreement,
  difference: Record<HeadlineMetric, Difference> = comparisonDifference(comparison),
): string {
  const [a, b] = comparison.models;
  if (!a || !b) return "";
  const n = comparison.films.length;
  const pct = (x: number) => `${((100 * x) / n).toFixed(0)}%`;
  const clause = ([metric, label, lower]: [HeadlineMetric, string, boolean]) => {
    const d = difference[metric];
    const figures = `${a.name} ${show(a.atHalf[metric])}, ${b.name} ${show(b.atHalf[metric])}; ${formatDifference(d)}`;
    const better = betterBy(comparison, d, lower);
    return better
      ? `**${better.name}** has the ${lower ? "lower" : "higher"} ${label} (${figures})`
      : `the two are **within noise** on ${label} (${figures}: the interval covers 0)`;
  };
  const dominant = (m: ModelResult) => {
    const shares = predictedVsTrueCounts(comparison.yTrue, m.probabilities, comparison.genres, 0.5);
    const predicted = shares.filter((s) => s.predicted > 0).map((s) => s.genre);
    const dramaOrComedyTop3 = topGenresPerFilm(m.probabilities, comparison.genres, 3).filter(
      (top) => top.includes("Drama") || top.includes("Comedy"),
    ).length;
    return { predicted, dramaOrComedyTop3 };
  };
  const da = dominant(a);
  const db = dominant(b);
  const lines = [
    `On these ${n} validation films at threshold 0.5 (${a.name} minus ${b.name}, with its 95% paired-bootstrap interval over the films): ` +
      `${WEIGHED.slice(0, 3).map(clause).join("; ")}.`,
    `At threshold 0.5, ${a.name} predicts ${da.predicted.length} of the ${comparison.genres.length} genres at least once (${da.predicted.join(", ") || "none"}), ` +
      `${b.name} ${db.predicted.length} (${db.predicted.join(", ") || "none"}). Drama or Comedy is in the top 3 of ${pct(da.dramaOrComedyTop3)} of the films for ${a.name} ` +
      `and ${pct(db.dramaOrComedyTop3)} for ${b.name}.`,
    `A true genre is in the top ${agreement.k} for both models on ${agreement.both.length} films (${pct(agreement.both.length)}), only for ${a.name} on ` +
      `${agreement.onlyFirst.length}, only for ${b.name} on ${agreement.onlySecond.length}, and for neither on ${agreement.neither.length}.`,
  ];
  if (a.tuned && b.tuned) {
    lines.push(
      `Per-genre thresholds tuned on the validation split during training move macro F1 from ${show(a.atHalf.macroF1)} to ${show(a.tuned.macroF1)} (${a.name}) ` +
        `and from ${show(b.atHalf.macroF1)} to ${show(b.tuned.macroF1)} (${b.name}). Note that here they are applied to the same validation films they were tuned on, ` +
        "so these tuned figures are optimistic; `npm run evaluate` on other films gives the honest ones.",
    );
  }
  return lines.join("\n\n");
}
