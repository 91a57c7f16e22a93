/** The film card: a film's poster, overview and true genres beside each model's top genres. */
import * as fs from "node:fs";
import type { Film } from "../data/dataset";
import { topK } from "../eval/metrics";
import { dataUri } from "./plots";
import { escapeHtml, htmlTable } from "./html";
import { showHtml } from "./display";

export interface CardPrediction {
  /** e.g. "CNN (poster)". */
  model: string;
  probabilities: ArrayLike<number>;
}

/** HTML of a film card: poster, overview, true genres, and each model's top genres marked hit or miss. */
export function filmCardHtml(film: Film, genres: readonly string[], predictions: readonly CardPrediction[], top = 3): string {
  const truth = new Set(film.genres);
  const poster = fs.existsSync(film.posterFile)
    ? `<img src="${dataUri(fs.readFileSync(film.posterFile))}" style="width:110px;height:auto;flex:none;align-self:flex-start;border:1px solid #ccc"/>`
    : `<div style="width:110px;height:165px;border:1px dashed #c00;color:#c00;font-size:11px">poster missing:<br>${escapeHtml(film.posterFile)}</div>`;
  const rows = predictions.map((p) => {
    const ranked = topK(p.probabilities, genres, top);
    const hits = ranked.filter((r) => truth.has(r.genre)).length;
    const cells = ranked
      .map((r) => {
        const hit = truth.has(r.genre);
        return `<span style="margin-right:10px;color:${hit ? "#1a7f37" : "#b42318"}">${hit ? "&#10003;" : "&#10007;"} ${escapeHtml(r.genre)} ${r.probability.toFixed(2)}</span>`;
      })
      .join("");
    // Left-aligned, so the ticks line up (Jupyter's styles right-align table cells).
    return {
      cells: [
        { html: `<b>${escapeHtml(p.model)}</b>`, style: "text-align:left;padding-right:12px;white-space:nowrap" },
        { html: cells, style: "text-align:left" },
        { html: `${hits}/${Math.min(top, truth.size)} hit`, style: "text-align:left;color:#555" },
      ],
    };
  });
  return (
    `<div style="display:flex;align-items:flex-start;gap:14px;margin:8px 0;padding:8px;border:1px solid #ddd;border-radius:6px">${poster}` +
    `<div style="font-size:13px"><div><b>${escapeHtml(film.id)}</b> &mdash; true genres: <b>${escapeHtml(film.genres.join(", ") || "none")}</b></div>` +
    `<div style="margin:6px 0;max-width:60em">${escapeHtml(film.overview)}</div>` +
    `${htmlTable({ style: "font-size:13px", scroll: false, rows })}</div></div>`
  );
}

/** Shows a film card inline (text fallback outside a notebook). */
export function showFilmCard(film: Film, genres: readonly string[], predictions: readonly CardPrediction[], top = 3): void {
  const text = [
    `${film.id}: true ${film.genres.join(", ")}`,
    ...predictions.map(
      (p) =>
        `  ${p.model}: ${topK(p.probabilities, genres, top)
          .map((r) => `${r.genre} ${r.probability.toFixed(2)}`)
          .join(", ")}`,
    ),
  ].join("\n");
  showHtml(filmCardHtml(film, genres, predictions, top), text);
}
