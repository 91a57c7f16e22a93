/** Showing what a joint model's gate learned (eval/gate.ts): per genre and per film. */
import type { GateSummary } from "../eval/gate";
import type { Figure } from "./plots";

/** Per genre: how much its films' fused representation comes from the poster (mean gate z). */
export function genreLeanFigure(summary: GateSummary): Figure {
  const shown = summary.genres.filter((g) => g.films > 0 && Number.isFinite(g.posterShare));
  const order = shown.slice().sort((a, b) => b.posterShare - a.posterShare);
  return {
    data: [
      { type: "bar", name: "mean gate z (all units)", x: order.map((g) => g.genre), y: order.map((g) => g.posterShare) },
      ...(order.some((g) => g.outputWeightedPosterShare !== undefined && Number.isFinite(g.outputWeightedPosterShare))
        ? [
            {
              type: "scatter",
              mode: "markers",
              name: "weighted by the genre's output weights",
              x: order.map((g) => g.genre),
              y: order.map((g) => g.outputWeightedPosterShare),
              marker: { size: 9, symbol: "diamond" },
            },
          ]
        : []),
    ],
    layout: {
      title: { text: "How much each genre's films lean on the poster (z) vs the overview (1 - z)" },
      xaxis: { tickangle: -45 },
      yaxis: { title: { text: "poster share z" } },
      shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 0.5, y1: 0.5, line: { dash: "dot", color: "#888" } }],
    },
  };
}

/** Histogram of the films' poster share (mean gate z over the units). */
export function filmLeanFigure(summary: GateSummary): Figure {
  return {
    data: [{ type: "histogram", x: Array.from(summary.filmPosterShare), nbinsx: 40 }],
    layout: {
      title: { text: `Poster share per film (mean z; overall ${summary.overall.toFixed(3)})` },
      xaxis: { title: { text: "poster share z (1 = poster only, 0 = overview only)" } },
      yaxis: { title: { text: "films" } },
    },
  };
}
