/**
 * Showing attributions (computed by eval/explain.ts): heat maps over the original poster, the overview with each
 * word shaded by its effect, and the film card that puts them beside each model's top genres and, for a joint
 * model, the gate's share for the film; the notebook-07 views across films. Every image is embedded, so the
 * HTML stands alone (npm run explain).
 */
import * as fs from "node:fs";
import { Jimp } from "jimp";
import type { Dataset } from "../data/dataset";
import type { DecodedPoster } from "../data/posters";
import { tokenize } from "../data/text";
import type { ExplainedFilm, FilmExplanation, GenreEvidence, PosterMap, WordEvidence } from "../eval/explain";
import { topK } from "../eval/metrics";
import { dataUri, escapeHtml, showHtml, showTable } from "./plots";

/** The largest absolute value (a loop: maps have too many values to spread into Math.max). */
function maxAbs(values: ArrayLike<number>): number {
  let top = 1e-12;
  for (let i = 0; i < values.length; i++) top = Math.max(top, Math.abs(values[i] as number));
  return top;
}

/** Evidence for the genre (occluding it lowers the probability) in red, against it in blue. */
const FOR = [214, 39, 40];
const AGAINST = [31, 119, 180];

/**
 * The poster with the map laid over it as a PNG: red where the map is positive (up to `scale`, default the
 * map's largest absolute value), blue where it is negative, the poster dimmed underneath so both read.
 */
export async function heatMapPng(poster: DecodedPoster, map: PosterMap, scale?: number): Promise<Uint8Array> {
  const { width, height } = poster;
  if (map.width !== width || map.height !== height)
    throw new Error(`heat map ${map.width}x${map.height} does not fit the poster ${width}x${height}`);
  const top = scale ?? maxAbs(map.values);
  const image = new Jimp({ width, height });
  const rgba = image.bitmap.data;
  for (let p = 0; p < width * height; p++) {
    const v = (map.values[p] as number) / top;
    const alpha = Math.min(1, Math.abs(v)) * 0.75;
    const color = v >= 0 ? FOR : AGAINST;
    for (let c = 0; c < 3; c++) {
      const base = (poster.data[p * 3 + c] as number) * 255 * 0.6;
      rgba[p * 4 + c] = Math.round(base * (1 - alpha) + (color[c] as number) * alpha);
    }
    rgba[p * 4 + 3] = 255;
  }
  return image.getBuffer("image/png");
}

/** The overview's words, each on a background whose colour and strength follow its effect on the genre. */
export function highlightedOverviewHtml(words: readonly string[], effects: ArrayLike<number>, scale?: number): string {
  const top = scale ?? maxAbs(effects);
  return words
    .map((word, i) => {
      const v = (effects[i] as number) / top;
      const color = v >= 0 ? FOR : AGAINST;
      const alpha = Math.min(1, Math.abs(v)) * 0.8;
      const title = `${v >= 0 ? "raises" : "lowers"} the genre by ${Math.abs(effects[i] as number).toFixed(3)}`;
      return `<span title="${title}" style="background:rgba(${color.join(",")},${alpha.toFixed(2)});padding:0 1px;border-radius:2px">${escapeHtml(word)}</span>`;
    })
    .join(" ");
}

/** The colour legend of the heat maps and the shaded words. */
export function legendHtml(): string {
  const swatch = (c: number[], text: string) =>
    `<span style="display:inline-block;width:12px;height:12px;background:rgb(${c.join(",")});margin:0 4px 0 10px;vertical-align:middle"></span>${text}`;
  return `<div style="font-size:12px;color:#444">${swatch(FOR, "evidence for the genre (hiding or removing it lowers the probability)")}${swatch(AGAINST, "evidence against it")}</div>`;
}

/** One model's view of a film, for the card. */
export interface ModelView {
  model: string;
  probabilities: ArrayLike<number>;
  /** Per explained genre: a poster heat map (PNG) with what it shows, and the shaded overview. */
  genres: { genre: string; poster?: { png: Uint8Array; method: string }; overviewHtml?: string }[];
  /** Joint models: the share of the fused representation taken from the poster. */
  gateShare?: number;
}

/** A film card with attributions: the poster, true genres, and per model its top genres, heat maps and shaded words. */
export function explanationCardHtml(
  film: { id: string; genres: readonly string[]; posterPng?: Uint8Array; overview: string },
  allGenres: readonly string[],
  views: readonly ModelView[],
  top = 3,
): string {
  const truth = new Set(film.genres);
  const poster = film.posterPng ? `<img src="${dataUri(film.posterPng)}" style="width:100px;border:1px solid #ccc"/>` : "";
  const sections = views
    .map((view) => {
      const ranked = topK(view.probabilities, allGenres, top)
        .map(
          (r) =>
            `<span style="margin-right:8px;color:${truth.has(r.genre) ? "#1a7f37" : "#b42318"}">${truth.has(r.genre) ? "&#10003;" : "&#10007;"} ${escapeHtml(r.genre)} ${r.probability.toFixed(2)}</span>`,
        )
        .join("");
      const gate =
        view.gateShare === undefined
          ? ""
          : `<div style="color:#555">gate: ${(100 * view.gateShare).toFixed(0)}% of the fused representation from the poster, ${(100 * (1 - view.gateShare)).toFixed(0)}% from the overview</div>`;
      const perGenre = view.genres
        .map(
          (g) =>
            `<div style="display:flex;gap:10px;margin:4px 0;align-items:flex-start">` +
            (g.poster
              ? `<figure style="margin:0;text-align:center"><img src="${dataUri(g.poster.png)}" style="width:100px"/><figcaption style="font-size:11px">${escapeHtml(g.genre)}: ${escapeHtml(g.poster.method)}</figcaption></figure>`
              : "") +
            (g.overviewHtml ? `<div style="max-width:44em"><b>${escapeHtml(g.genre)}</b>: ${g.overviewHtml}</div>` : "") +
            `</div>`,
        )
        .join("");
      return `<div style="margin:6px 0;padding-top:4px;border-top:1px solid #eee"><b>${escapeHtml(view.model)}</b>: ${ranked}${gate}${perGenre}</div>`;
    })
    .join("");
  return (
    `<div style="display:flex;gap:14px;margin:8px 0;padding:8px;border:1px solid #ddd;border-radius:6px;font-size:13px">${poster}` +
    `<div><div><b>${escapeHtml(film.id)}</b> &mdash; true genres: <b>${escapeHtml(film.genres.join(", ") || "none")}</b></div>` +
    `<div style="margin:4px 0;color:#333;max-width:60em">${escapeHtml(film.overview)}</div>${sections}${legendHtml()}</div></div>`
  );
}

// ---------------------------------------------------------------------------------------------------
// Explanation cards

/** A model's explanation of a film as the card shows it: its heat maps as PNG and its shaded overview per shown genre. */
export async function modelView(explanation: FilmExplanation, genres: readonly string[], poster?: DecodedPoster): Promise<ModelView> {
  const view: ModelView = { model: explanation.model, probabilities: explanation.probabilities, genres: [] };
  for (const shown of explanation.shown) {
    const j = genres.indexOf(shown.genre);
    const entry: ModelView["genres"][number] = { genre: shown.genre };
    const map = explanation.maps?.[j];
    if (map && poster) entry.poster = { png: await heatMapPng(poster, map), method: "occlusion" };
    const words = explanation.words;
    if (words) entry.overviewHtml = highlightedOverviewHtml(words.words, words.effects[j] as Float32Array);
    view.genres.push(entry);
    if (shown.gradCam && poster)
      view.genres.push({ genre: shown.genre, poster: { png: await heatMapPng(poster, shown.gradCam), method: "Grad-CAM (Conv6)" } });
  }
  if (explanation.gateShare !== undefined) view.gateShare = explanation.gateShare;
  return view;
}

/** One explanation card per film (eval/explain.ts explainFilms): each model's top genres, heat maps and shaded words. */
export async function showExplanationCards(films: readonly ExplainedFilm[], genres: readonly string[]): Promise<void> {
  for (const { film, poster, explanations } of films) {
    const views: ModelView[] = [];
    for (const explanation of explanations) views.push(await modelView(explanation, genres, poster));
    const summary = views.map(
      (v) =>
        `  ${v.model}: ${topK(v.probabilities, genres, 3)
          .map((r) => `${r.genre} ${r.probability.toFixed(2)}`)
          .join(", ")}`,
    );
    showHtml(
      explanationCardHtml({ ...film, posterPng: fs.readFileSync(film.posterFile) }, genres, views),
      [`${film.id}: true ${film.genres.join(", ")}`, ...summary].join("\n"),
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// Across the validation films (notebook 07)

/** One row per genre: its films among those explained, and its words with how many films each led. */
export function showWordEvidence(evidence: WordEvidence | undefined, top = 8): void {
  if (!evidence) return;
  const column = "words that most often raise it (films where the word raised it most)";
  showTable(
    ["genre", "its films here", column],
    [...evidence.words.entries()]
      .map(
        ([genre, words]) =>
          [
            genre,
            evidence.genreFilms.get(genre) ?? 0,
            words
              .slice(0, top)
              .map((w) => `${w.word} (${w.films})`)
              .join(", "),
          ] as (string | number)[],
      )
      .filter((row) => row[1] !== 0 && row[2] !== ""),
    `${evidence.model}, leave-one-word-out over ${evidence.films} validation films`,
    { wrap: [column] },
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
      `<div style="display:flex;flex-wrap:wrap">${tiles.join("")}</div>${legendHtml()}`,
    evidence.genres.map((r) => `${r.genre} (${r.films} films): evidence luminance ${r.luminance.toFixed(3)}`).join("\n"),
  );
}

/**
 * What the attributions say about the coursework reports' guesses, computed from the run: whether Horror's
 * poster evidence sits in dark regions, and whether Drama's words are generic (words found in many overviews)
 * compared with the other genres' words.
 */
export function explanationNarrative(
  posterEvidence: { genres: readonly GenreEvidence[] } | undefined,
  wordEvidence: WordEvidence | undefined,
  dataset: Dataset,
): string {
  const lines: string[] = [];
  const evidence = posterEvidence?.genres ?? [];
  const words = wordEvidence?.words ?? new Map<string, { word: string; films: number }[]>();
  const horror = evidence.find((e) => e.genre === "Horror");
  if (horror) {
    const others = evidence.filter((e) => e.genre !== "Horror");
    const othersMean = others.reduce((a, e) => a + e.luminance, 0) / Math.max(1, others.length);
    lines.push(
      `- **Horror and dark posters.** For ${horror.films} Horror films, the strongest fifth of the poster evidence for Horror is ` +
        `${horror.luminance < 0 ? "darker" : "lighter"} than the poster as a whole by ${Math.abs(horror.luminance).toFixed(3)} (luminance in [0, 1]); ` +
        `it is darker for ${(100 * horror.darkerShare).toFixed(0)}% of them. Across the other genres the same difference averages ${othersMean.toFixed(3)}. ` +
        (horror.luminance < 0 && horror.luminance < othersMean
          ? "The claim that the CNN reads darkness as Horror holds on these films."
          : "The claim that the CNN reads darkness as Horror does **not** hold on these films."),
    );
  }
  // How generic a word is: the share of all overviews that contain it.
  const documents = dataset.films.map((f) => new Set(tokenize(f.overview)));
  const share = (word: string) => documents.filter((d) => d.has(word)).length / documents.length;
  const meanShare = (genre: string) => {
    const top = (words.get(genre) ?? []).slice(0, 5).filter((w) => !w.word.includes(" "));
    return top.length ? top.reduce((a, w) => a + share(w.word), 0) / top.length : NaN;
  };
  const drama = meanShare("Drama");
  const others = dataset.genres
    .filter((g) => g !== "Drama")
    .map(meanShare)
    .filter(Number.isFinite);
  if (Number.isFinite(drama) && others.length > 0) {
    const median = others.slice().sort((a, b) => a - b)[Math.floor(others.length / 2)] as number;
    const dramaWords = (words.get("Drama") ?? []).slice(0, 5).map((w) => w.word);
    lines.push(
      `- **Drama's words.** The words that most often raise Drama (${dramaWords.join(", ")}) appear in ${(100 * drama).toFixed(1)}% of all overviews on average; ` +
        `the other genres' top words in ${(100 * median).toFixed(1)}% (median). ` +
        (drama > median
          ? "Drama is raised by more generic words than the other genres: the claim that the text model leans on generic words for Drama holds."
          : "Drama's words are **not** more generic than the other genres'."),
    );
  }
  return lines.join("\n");
}
