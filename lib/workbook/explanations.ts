/**
 * Showing attributions (computed by eval/attribution.ts, over films by eval/explain.ts): heat maps over the
 * original poster, the overview with each word shaded by its effect, and the film card that puts them beside each
 * model's top genres and, for a joint model, the gate's share for the film; the notebook-07 views across films, and
 * the reports' claims in words (checked by eval/report-claims.ts). Every image is embedded, so the HTML stands alone
 * (npm run explain).
 */
import * as fs from "node:fs";
import { Jimp } from "jimp";
import type { Dataset } from "../data/dataset";
import type { DecodedPoster } from "../data/posters";
import type { PosterMap } from "../eval/attribution";
import type { ExplainedFilm, FilmExplanation, GenreEvidence, GenreWord, WordEvidence } from "../eval/explain";
import { topK } from "../eval/metrics";
import { checkReportClaims } from "../eval/report-claims";
import { dataUri, showTable } from "./plots";
import { escapeHtml, htmlTable } from "./html";
import { showHtml } from "./display";

/** The largest absolute value (a loop: maps have too many values to spread into Math.max). */
function maxAbs(values: ArrayLike<number>): number {
  let top = 1e-12;
  for (let i = 0; i < values.length; i++) top = Math.max(top, Math.abs(values[i] as number));
  return top;
}

/** Evidence for the genre (occluding it lowers the probability) in red, against it in blue. */
const FOR = [214, 39, 40];
const AGAINST = [31, 119, 180];
/** The method name of a Grad-CAM map on the card (its own relative scale, not the probability scale). */
const GRAD_CAM = "Grad-CAM";
/** Changes below this share of the scale are left untinted, so that the map's structure reads. */
const UNTINTED = 0.04;

/**
 * The poster with the map laid over it as a PNG, at the poster's own size. The poster is shown in grey at middle
 * contrast (luminance into [0.25, 0.75]), so that red and blue read on dark and on light posters alike; the map
 * tints it red where it is positive, blue where negative, more strongly the nearer |value| is to `scale` (default:
 * the map's own largest |value|).
 */
export async function heatMapPng(poster: DecodedPoster, map: PosterMap, scale?: number): Promise<Uint8Array> {
  const { width, height } = poster;
  if (map.width !== width || map.height !== height)
    throw new Error(`heat map ${map.width}x${map.height} does not fit the poster ${width}x${height}`);
  const top = scale ?? maxAbs(map.values);
  const image = new Jimp({ width, height });
  const rgba = image.bitmap.data;
  for (let p = 0; p < width * height; p++) {
    const d = poster.data;
    const luminance = 0.299 * (d[p * 3] as number) + 0.587 * (d[p * 3 + 1] as number) + 0.114 * (d[p * 3 + 2] as number);
    const base = (0.25 + 0.5 * luminance) * 255;
    const v = (map.values[p] as number) / top;
    const strength = Math.min(1, Math.abs(v));
    const alpha = strength < UNTINTED ? 0 : 0.85 * Math.pow(strength, 0.7);
    const color = v >= 0 ? FOR : AGAINST;
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = Math.round(base * (1 - alpha) + (color[c] as number) * alpha);
    rgba[p * 4 + 3] = 255;
  }
  return image.getBuffer("image/png");
}

/**
 * Grad-CAM's map made readable on its own scale: relative to its largest value, and only where it reaches a
 * fifth of it (a broad low map would otherwise tint the whole poster).
 */
function gradCamForDisplay(map: PosterMap): PosterMap {
  const top = maxAbs(map.values);
  return { ...map, values: Float32Array.from(map.values, (v) => (v >= 0.2 * top ? v / top : 0)) };
}

/** The overview's words, each on a background whose colour and strength follow its effect on the genre. */
export function highlightedOverviewHtml(words: readonly string[], effects: ArrayLike<number>, scale?: number): string {
  const top = scale ?? maxAbs(effects);
  return words
    .map((word, i) => {
      const v = (effects[i] as number) / top;
      const color = v >= 0 ? FOR : AGAINST;
      const strength = Math.min(1, Math.abs(v));
      const alpha = strength < UNTINTED ? 0 : 0.8 * Math.pow(strength, 0.7);
      const points = 100 * Math.abs(effects[i] as number);
      const title = `removing it ${v >= 0 ? "lowers" : "raises"} the genre's probability by ${points.toFixed(1)} points`;
      return `<span title="${title}" style="background:rgba(${color.join(",")},${alpha.toFixed(2)});padding:0 1px;border-radius:2px">${escapeHtml(word)}</span>`;
    })
    .join(" ");
}

/** What a view holds, so that the legend explains only that: poster occlusion maps, shaded words, Grad-CAM maps. */
export interface LegendParts {
  posters: boolean;
  words: boolean;
  gradCam: boolean;
}

/**
 * The colour scale: full colour is a change of `scale` (a probability) in the genre's probability when the part of
 * the poster is hidden or the word removed; red is evidence for the genre (hiding it lowers the probability), blue
 * evidence against it. Grad-CAM maps have their own relative scale. The sentences name only what `parts` says the
 * view shows (a text-only model's card has no poster to hide and no Grad-CAM).
 */
export function legendHtml(scale: number | undefined, parts: LegendParts): string {
  const bar =
    `<span style="display:inline-block;width:160px;height:10px;vertical-align:middle;margin:0 6px;` +
    `background:linear-gradient(to right, rgb(${AGAINST.join(",")}), #fff 50%, rgb(${FOR.join(",")}));border:1px solid #ccc"></span>`;
  const hidden = [parts.posters ? "hiding that part of the poster" : "", parts.words ? "removing that word" : ""].filter((x) => x !== "");
  const scaleSentence =
    hidden.length === 0
      ? ""
      : scale === undefined
        ? ` &mdash; the strongest colour is the largest change on the view (red: ${hidden.join(" or ")} lowers the genre's probability, so that part is evidence for the genre; blue: it raises it).`
        : ` &mdash; full colour: ${hidden.join(" or ")} changes the genre's probability by ${(100 * scale).toFixed(1)} points (red: it lowers it, so that part is evidence for the genre; blue: it raises it).`;
  const gradCam = parts.gradCam ? ` Grad-CAM: where the CNN's last conv layer supports the genre, on its own relative scale.` : "";
  return (
    `<div style="font-size:12px;color:#444;margin-top:6px;text-align:left">` +
    `<span style="color:rgb(${AGAINST.join(",")})">against the genre</span>${bar}<span style="color:rgb(${FOR.join(",")})">for the genre</span>` +
    `${scaleSentence}${gradCam}</div>`
  );
}

/** What a card's views show, for its legend. */
function cardLegendParts(views: readonly ModelView[]): LegendParts {
  const cells = views.flatMap((view) => view.genres);
  const methods = new Set(cells.flatMap((cell) => cell.posters.map((map) => map.method)));
  return {
    posters: [...methods].some((method) => method !== GRAD_CAM),
    words: cells.some((cell) => cell.overviewHtml !== undefined && cell.overviewHtml !== ""),
    gradCam: methods.has(GRAD_CAM),
  };
}

/** One model's view of a film, for the card. */
export interface ModelView {
  model: string;
  probabilities: ArrayLike<number>;
  /** Per explained genre: poster heat maps (PNG) with what each shows, and the shaded overview. */
  genres: { genre: string; posters: { png: Uint8Array; method: string }[]; overviewHtml?: string }[];
  /** Joint models: the share of the fused representation taken from the poster. */
  gateShare?: number;
}

/** No genres given (a film explained from its poster or overview alone, npm run explain): unknown, which is not "none". */
const UNKNOWN_GENRES = "unknown";
const NOT_GIVEN = "(none were given with the film)";

/** A film's true genres as a card says them: unknown when none were given; "none" for a film of the dataset without one. */
function trueGenresHtml(genres: readonly string[] | undefined): string {
  if (genres === undefined) return `<b>${UNKNOWN_GENRES}</b> ${NOT_GIVEN}`;
  return `<b>${escapeHtml(genres.join(", ") || "none")}</b>`;
}

/** The card as text (outside a notebook, and npm run explain's output): the film's true genres, each model's top genres. */
export function explanationCardText(
  film: { id: string; genres?: readonly string[] },
  allGenres: readonly string[],
  views: readonly ModelView[],
  top = 3,
): string {
  const truth = film.genres === undefined ? `${UNKNOWN_GENRES} ${NOT_GIVEN}` : film.genres.join(", ") || "none";
  const lines = views.map(
    (v) =>
      `  ${v.model}: ${topK(v.probabilities, allGenres, top)
        .map((r) => `${r.genre} ${r.probability.toFixed(2)}`)
        .join(", ")}`,
  );
  return [`${film.id}: true genres ${truth}`, ...lines].join("\n");
}

/**
 * A film card with attributions that fits a screen: the poster (its own aspect ratio) and the film, then a grid with
 * the models across and the explained genres down; each cell holds the model's heat maps beside its shaded overview.
 * One colour scale for the whole card, in probability points (legendHtml).
 */
export function explanationCardHtml(
  film: { id: string; genres?: readonly string[]; posterPng?: Uint8Array; overview: string },
  allGenres: readonly string[],
  views: readonly ModelView[],
  options: { top?: number; scale?: number } = {},
): string {
  const top = options.top ?? 3;
  const known = film.genres !== undefined;
  const truth = new Set(film.genres);
  // right (a tick), wrong (a cross), or neither when the film's genres were not given
  const marked = (genre: string, text: string) =>
    known
      ? `<span style="margin-right:6px;white-space:nowrap;color:${truth.has(genre) ? "#1a7f37" : "#b42318"}">${truth.has(genre) ? "&#10003;" : "&#10007;"} ${text}</span>`
      : `<span style="margin-right:6px;white-space:nowrap">${text}</span>`;
  const poster = film.posterPng
    ? `<img src="${dataUri(film.posterPng)}" style="width:100px;height:auto;flex:none;align-self:flex-start;border:1px solid #ccc"/>`
    : "";
  const rows = [...new Set(views.flatMap((v) => v.genres.map((g) => g.genre)))].sort((a, b) => Number(truth.has(b)) - Number(truth.has(a)));
  const th = (html: string) => ({
    html,
    style: "text-align:left;vertical-align:top;padding:4px 6px;border-bottom:1px solid #ddd;font-weight:normal",
  });
  const td = (html: string) => ({ html, style: "text-align:left;vertical-align:top;padding:4px 6px;border-bottom:1px solid #eee" });
  const header = views.map((view) => {
    const ranked = topK(view.probabilities, allGenres, top)
      .map((r) => marked(r.genre, `${escapeHtml(r.genre)} ${r.probability.toFixed(2)}`))
      .join(" ");
    const gate =
      view.gateShare === undefined
        ? ""
        : `<div style="color:#555;font-size:11px">gate: ${(100 * view.gateShare).toFixed(0)}% poster, ${(100 * (1 - view.gateShare)).toFixed(0)}% overview</div>`;
    return th(`<b>${escapeHtml(view.model)}</b><div style="font-size:11px">${ranked}</div>${gate}`);
  });
  const body = rows.map((genre) => {
    const cells = views.map((view) => {
      const g = view.genres.find((x) => x.genre === genre);
      if (!g) return td("");
      const maps = g.posters
        .map(
          (m) =>
            `<figure style="margin:0 4px 0 0;text-align:center;flex:none"><img src="${dataUri(m.png)}" style="width:70px;height:auto;display:block"/>` +
            `<figcaption style="font-size:10px;color:#555">${escapeHtml(m.method)}</figcaption></figure>`,
        )
        .join("");
      const text = g.overviewHtml ? `<div style="font-size:11px;line-height:1.45;min-width:10em">${g.overviewHtml}</div>` : "";
      return td(`<div style="display:flex;align-items:flex-start;gap:4px">${maps}${text}</div>`);
    });
    const mark = !known ? "explained" : truth.has(genre) ? "true genre" : "predicted";
    return { cells: [td(`<b>${escapeHtml(genre)}</b><div style="font-size:10px;color:#666">${mark}</div>`), ...cells] };
  });
  return (
    `<div data-card="explanation" style="margin:8px 0;padding:8px;border:1px solid #ddd;border-radius:6px;font-size:13px">` +
    `<div style="display:flex;gap:12px;align-items:flex-start">${poster}<div><div><b>${escapeHtml(film.id)}</b> &mdash; true genres: ${trueGenresHtml(film.genres)}</div>` +
    `<div style="margin:4px 0;color:#333;max-width:60em">${escapeHtml(film.overview)}</div></div></div>` +
    htmlTable({ style: "border-collapse:collapse;margin-top:6px", head: [th(""), ...header], rows: body }) +
    `${legendHtml(options.scale, cardLegendParts(views))}</div>`
  );
}

// ---------------------------------------------------------------------------------------------------
// Explanation cards

/** The card's colour scale: the largest change of a shown genre's probability among the models' maps and words. */
export function cardScale(explanations: readonly FilmExplanation[], genres: readonly string[]): number {
  let top = 1e-6;
  for (const e of explanations) {
    for (const shown of e.shown) {
      const j = genres.indexOf(shown.genre);
      const map = e.maps?.[j];
      if (map) top = Math.max(top, maxAbs(map.values));
      const effects = e.words?.effects[j];
      if (effects) top = Math.max(top, maxAbs(effects));
    }
  }
  return top;
}

/**
 * A model's explanation of a film as the card shows it: per shown genre its occlusion map (and Grad-CAM) as PNG and
 * its shaded overview, on the card's shared `scale`.
 */
export async function modelView(
  explanation: FilmExplanation,
  genres: readonly string[],
  poster?: DecodedPoster,
  scale?: number,
): Promise<ModelView> {
  const view: ModelView = { model: explanation.model, probabilities: explanation.probabilities, genres: [] };
  for (const shown of explanation.shown) {
    const j = genres.indexOf(shown.genre);
    const entry: ModelView["genres"][number] = { genre: shown.genre, posters: [] };
    const map = explanation.maps?.[j];
    if (map && poster) entry.posters.push({ png: await heatMapPng(poster, map, scale), method: "occlusion" });
    if (shown.gradCam && poster)
      entry.posters.push({ png: await heatMapPng(poster, gradCamForDisplay(shown.gradCam), 1), method: GRAD_CAM });
    const words = explanation.words;
    if (words) entry.overviewHtml = highlightedOverviewHtml(words.words, words.effects[j] as Float32Array, scale);
    view.genres.push(entry);
  }
  if (explanation.gateShare !== undefined) view.gateShare = explanation.gateShare;
  return view;
}

/** One explanation card per film (eval/explain.ts explainFilms): each model's top genres, heat maps and shaded words. */
export async function showExplanationCards(films: readonly ExplainedFilm[], genres: readonly string[]): Promise<void> {
  for (const { film, poster, explanations } of films) {
    const scale = cardScale(explanations, genres);
    const views: ModelView[] = [];
    for (const explanation of explanations) views.push(await modelView(explanation, genres, poster, scale));
    showHtml(
      explanationCardHtml({ ...film, posterPng: fs.readFileSync(film.posterFile) }, genres, views, { scale }),
      explanationCardText(film, genres, views),
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// Across the validation films (notebook 07)

/** A ranked word as the table shows it: the word, how much more it raises the genre in points, and its films. */
function wordCell(words: readonly GenreWord[] | undefined, top: number): string {
  return (words ?? [])
    .slice(0, top)
    .map((w) => `${w.word} +${(100 * w.specificity).toFixed(1)} (${w.films})`)
    .join(", ");
}

/**
 * One row per genre: its films among those explained, the words that raise it more than the other genres
 * (eval/explain.ts genreWords) with that margin in probability points and their films, and the stop-words apart.
 */
export function showWordEvidence(evidence: WordEvidence | undefined, top = 8): void {
  if (!evidence) return;
  const column = "words that raise it more than the other genres: +points (films)";
  const stopColumn = "stop-words, apart";
  const rows = [...evidence.words.keys()].map((genre) => [
    genre,
    evidence.genreFilms.get(genre) ?? 0,
    wordCell(evidence.words.get(genre), top),
    wordCell(evidence.stopWords.get(genre), 3),
  ]);
  const listed = rows.filter((row) => row[2] !== "" || row[3] !== "");
  const unlisted = rows.filter((row) => !listed.includes(row)).map((row) => row[0]);
  showTable(
    ["genre", "its films here", column, stopColumn],
    listed,
    `${evidence.model}, leaving one word out of ${evidence.films} validation overviews: a word's mean effect on the genre's probability ` +
      `minus its mean effect on the other genres, over the films whose overview has it (at least ${evidence.minFilms})` +
      (unlisted.length > 0 ? `; no word raises ${unlisted.join(", ")}` : ""),
    { wrap: [column, stopColumn] },
  );
}

/** The mean occlusion map of each genre's films (eval/explain.ts genreEvidence) over a grey poster, on one colour scale. */
export async function showGenreHeatMaps(evidence: { model: string; genres: readonly GenreEvidence[] } | undefined): Promise<void> {
  if (!evidence) return;
  const scale = Math.max(...evidence.genres.map((e) => maxAbs(e.map.values)));
  const tiles: string[] = [];
  for (const e of evidence.genres) {
    const grey = { width: e.map.width, height: e.map.height, data: new Float32Array(e.map.width * e.map.height * 3).fill(0.75) };
    tiles.push(
      `<figure style="margin:4px;text-align:center"><img src="${dataUri(await heatMapPng(grey, e.map, scale))}" style="width:75px"/>` +
        `<figcaption style="font-size:11px">${escapeHtml(e.genre)} (${e.films})</figcaption></figure>`,
    );
  }
  showHtml(
    `<div style="font-size:12px">${escapeHtml(evidence.model)}: mean occlusion map of each genre's films, on one colour scale</div>` +
      `<div style="display:flex;flex-wrap:wrap">${tiles.join("")}</div>${legendHtml(scale, { posters: true, words: false, gradCam: false })}`,
    evidence.genres.map((r) => `${r.genre} (${r.films} films): evidence luminance ${r.luminance.toFixed(3)}`).join("\n"),
  );
}

/**
 * What the attributions say about the coursework reports' guesses, computed from the run (eval/report-claims.ts):
 * whether Horror's poster evidence sits in dark regions, and whether Drama's words are generic (words found in many
 * overviews) compared with the other genres' words.
 */
export function explanationNarrative(
  posterEvidence: { genres: readonly GenreEvidence[] } | undefined,
  wordEvidence: WordEvidence | undefined,
  dataset: Dataset,
): string {
  const { darkHorror: horror, genericDrama: drama } = checkReportClaims(posterEvidence, wordEvidence, dataset);
  const lines: string[] = [];
  // A claim that cannot be checked says why, so that the section is never empty.
  if (!horror.checked) {
    lines.push(
      `- **Horror and dark posters.** Not checked: ` +
        (horror.why === "no poster model"
          ? "no model that reads posters is trained at this preset."
          : `none of the sampled validation films is Horror (raise \`aggregateFilms\`).`),
    );
  } else {
    lines.push(
      `- **Horror and dark posters.** For ${horror.films} Horror films, the strongest fifth of the poster evidence for Horror is ` +
        `${horror.luminance < 0 ? "darker" : "lighter"} than the poster as a whole by ${Math.abs(horror.luminance).toFixed(3)} (luminance in [0, 1]); ` +
        `it is darker for ${(100 * horror.darkerShare).toFixed(0)}% of them. Across the other genres the same difference averages ${horror.othersMean.toFixed(3)}. ` +
        (horror.holds
          ? "The claim that the CNN reads darkness as Horror holds on these films."
          : "The claim that the CNN reads darkness as Horror does **not** hold on these films."),
    );
  }
  if (!drama.checked && drama.why === "no overview model") {
    lines.push("- **Drama's words.** Not checked: no model that reads overviews is trained at this preset.");
  } else if (drama.checked) {
    lines.push(
      `- **Drama's words.** The five words that raise Drama most above the other genres (${drama.words.join(", ")}; ` +
        `${drama.stopWords} of them stop-words) appear in ${(100 * drama.share).toFixed(1)}% of all overviews on average; ` +
        `the other genres' five in ${(100 * drama.othersMedian).toFixed(1)}% (median over ${drama.otherGenres} genres). ` +
        (drama.holds
          ? "Drama is raised by more generic words than the other genres: the claim that the text model leans on generic words for Drama holds."
          : "Drama's words are **not** more generic than the other genres'."),
    );
  } else {
    lines.push(
      `- **Drama's words.** Not checked: ${drama.why === "no other genre has ranked words" ? "no other genre" : "Drama"} has words ranked in ` +
        `at least \`minWordFilms\` of the sampled films (raise \`wordFilms\`).`,
    );
  }
  return lines.join("\n");
}
