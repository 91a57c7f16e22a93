/**
 * Showing attributions (eval/explain.ts): heat maps over the original poster, the overview with each word
 * shaded by its effect, and the film card that puts them beside each model's top genres and, for a joint
 * model, the gate's share for the film. Every image is embedded, so the HTML stands alone (npm run explain).
 */
import * as fs from "node:fs";
import { Jimp } from "jimp";
import type { Dataset } from "../data/dataset";
import { DecodedPoster, decodePoster, resizeBilinear } from "../data/posters";
import { loadImageEncoder } from "../encoders/mobilenet";
import { loadSentenceEncoder } from "../encoders/use-lite";
import { tokenize } from "../data/text";
import {
  Encoders,
  OcclusionOptions,
  PosterMap,
  evidenceLuminance,
  explainable,
  gradCam,
  meanMap,
  occlusionMaps,
  topRaisingWords,
  wordEffects,
} from "../eval/explain";
import { topK } from "../eval/metrics";
import type { TrainedModel } from "../models/folder";
import { dataUri, escapeHtml, showHtml, showTable } from "./plots";
import { progressPrinter } from "../runtime/progress";

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
// Explaining films with trained models

export interface ExplainOptions {
  occlusion?: OcclusionOptions;
  /** Genres to explain on every card (default: the film's true genres and each model's top genre, at most maxGenres). */
  genres?: readonly string[];
  maxGenres?: number;
  /** Also show Grad-CAM for the coursework CNN (default true). */
  gradCam?: boolean;
}

/** What explaining one film with one model computed, beside the card's view. */
export interface FilmExplanation {
  view: ModelView;
  /** Occlusion maps of every genre (poster models). */
  maps?: PosterMap[];
  /** Leave-one-word-out effects of every genre (overview models). */
  words?: { words: string[]; effects: Float32Array[] };
}

/** Explains one film with one trained model: occlusion (and Grad-CAM for the CNN), word removal, the gate. */
export async function explainFilm(
  model: { name: string; trained: TrainedModel },
  film: { id: string; genres: readonly string[]; overview: string; poster?: DecodedPoster },
  options: ExplainOptions = {},
  encoders: Encoders = {},
): Promise<FilmExplanation> {
  const { trained } = model;
  const explain = await explainable(trained, film, encoders);
  const genres = explain.genres;
  const occluded = explain.posters && film.poster ? await occlusionMaps(explain, film.poster, options.occlusion) : undefined;
  const worded = explain.overviews ? await wordEffects(explain, film.overview) : undefined;
  const probabilities = occluded?.probabilities ?? worded?.probabilities ?? new Float32Array(genres.length);
  const topGenre = topK(probabilities, genres, 1)[0]?.genre;
  const wanted = options.genres ?? [...new Set([...film.genres, ...(topGenre ? [topGenre] : [])])];
  const shown = wanted.filter((g) => genres.includes(g)).slice(0, options.maxGenres ?? 2);
  const view: ModelView = { model: model.name, probabilities, genres: [] };
  for (const genre of shown) {
    const j = genres.indexOf(genre);
    const entry: ModelView["genres"][number] = { genre };
    if (occluded && film.poster) entry.poster = { png: await heatMapPng(film.poster, occluded.maps[j] as PosterMap), method: "occlusion" };
    if (worded) entry.overviewHtml = highlightedOverviewHtml(worded.words, worded.effects[j] as Float32Array);
    view.genres.push(entry);
    if (trained.info.kind === "cnn" && film.poster && (options.gradCam ?? true)) {
      const size = trained.info.imageSize ?? 64;
      const input = resizeBilinear(film.poster.data, film.poster.height, film.poster.width, 3, size, size);
      const cam = await gradCam(trained.model, input, size, j, film.poster);
      view.genres.push({ genre, poster: { png: await heatMapPng(film.poster, cam), method: "Grad-CAM (Conv6)" } });
    }
  }
  if (explain.gateShare) view.gateShare = await explain.gateShare();
  return {
    view,
    ...(occluded ? { maps: occluded.maps } : {}),
    ...(worded ? { words: { words: worded.words, effects: worded.effects } } : {}),
  };
}

/** The pretrained encoders a list of models needs, loaded once (none when no model is a pretrained one). */
export async function encodersFor(models: readonly { trained: TrainedModel }[]): Promise<Encoders> {
  const pretrained = models.find((m) => m.trained.info.kind === "pretrained")?.trained;
  if (!pretrained) return {};
  const size = pretrained.info.encoders?.poster.inputSize ?? 224;
  return { image: await loadImageEncoder(size), sentence: await loadSentenceEncoder() };
}

/**
 * Explanation cards for the films `ids` of a dataset with every model: each model's top genres, the poster
 * heat maps and the shaded overview per genre, the gate for joint models. Prints the time per film.
 */
export async function showExplanationCards(
  models: readonly { name: string; trained: TrainedModel }[],
  dataset: Dataset,
  ids: readonly string[],
  options: ExplainOptions = {},
  encoders?: Encoders,
): Promise<void> {
  const loaded = encoders ?? (await encodersFor(models));
  const byId = new Map(dataset.films.map((f) => [f.id, f]));
  for (const id of ids) {
    const film = byId.get(id);
    if (!film) {
      showHtml(`<div style="color:#b42318">${escapeHtml(id)}: not in the dataset</div>`, `${id}: not in the dataset`);
      continue;
    }
    const started = performance.now();
    const poster = await decodePoster(film.posterFile);
    const views: ModelView[] = [];
    for (const model of models) views.push((await explainFilm(model, { ...film, poster }, options, loaded)).view);
    const seconds = (performance.now() - started) / 1000;
    const summary = views.map(
      (v) =>
        `  ${v.model}: ${topK(v.probabilities, dataset.genres, 3)
          .map((r) => `${r.genre} ${r.probability.toFixed(2)}`)
          .join(", ")}`,
    );
    showHtml(
      explanationCardHtml({ ...film, posterPng: fs.readFileSync(film.posterFile) }, dataset.genres, views),
      [`${film.id}: true ${film.genres.join(", ")}`, ...summary].join("\n"),
    );
    console.log(`${film.id}: explained by ${models.length} model(s) in ${seconds.toFixed(1)} s`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Across the validation films (notebook 07)

/**
 * For each genre, the words that most often raise it: leave-one-word-out over the films `rows` with one
 * model that reads overviews, the top raising word of each film counted per genre. Shows one row per genre
 * (its films among these, and its words with how many films each led) and returns the counts.
 */
export async function showWordEvidence(
  model: { name: string; trained: TrainedModel },
  dataset: Dataset,
  rows: readonly number[],
  options: { posters?: boolean; encoders?: Encoders; top?: number; log?: (line: string) => void } = {},
): Promise<Map<string, { word: string; films: number }[]>> {
  const perFilm: { words: string[]; effects: Float32Array[] }[] = [];
  const progress = progressPrinter(`word evidence (${model.name})`, 0.25, options.log ?? console.log);
  for (let k = 0; k < rows.length; k++) {
    const film = dataset.films[rows[k] as number] as Dataset["films"][number];
    // The poster stays as it is while words are removed; a poster-free model does not need it.
    const poster = model.trained.info.kind === "lstm" ? undefined : await decodePoster(film.posterFile);
    const explain = await explainable(model.trained, { overview: film.overview, ...(poster ? { poster } : {}) }, options.encoders ?? {});
    const { words, effects } = await wordEffects(explain, film.overview);
    perFilm.push({ words, effects });
    progress(k + 1, rows.length);
  }
  const normalise = (w: string) => tokenize(w).join(" ");
  const table = topRaisingWords(perFilm, dataset.genres, normalise);
  const films = (g: number) => rows.filter((r) => dataset.labels[r * dataset.genres.length + g]).length;
  const top = options.top ?? 8;
  showTable(
    ["genre", "its films here", "words that most often raise it (films where the word raised it most)"],
    dataset.genres
      .map(
        (genre, g) =>
          [
            genre,
            films(g),
            (table.get(genre) ?? [])
              .slice(0, top)
              .map((w) => `${w.word} (${w.films})`)
              .join(", "),
          ] as (string | number)[],
      )
      .filter((row) => row[1] !== 0 && row[2] !== ""),
    `${model.name}, leave-one-word-out over ${rows.length} validation films`,
    { wrap: ["words that most often raise it (films where the word raised it most)"] },
  );
  return table;
}

/** Per genre: the mean occlusion map of its films, and how dark their evidence is (see evidenceLuminance). */
export interface GenreEvidence {
  genre: string;
  films: number;
  map: PosterMap;
  /** Mean over the films of (luminance of the strongest 20% of evidence) - (poster's mean luminance). */
  luminance: number;
  /** Share of the films whose evidence is darker than their poster. */
  darkerShare: number;
}

/**
 * Where on a poster each genre's evidence lives: occlusion with one poster model over the films `rows`,
 * averaged per genre over the films that have it (their true genres), shown as a grid of mean maps over a
 * grey poster. Returns the per-genre figures for the narrative.
 */
export async function showGenreHeatMaps(
  model: { name: string; trained: TrainedModel },
  dataset: Dataset,
  rows: readonly number[],
  options: { occlusion?: OcclusionOptions; encoders?: Encoders; log?: (line: string) => void } = {},
): Promise<GenreEvidence[]> {
  const g = dataset.genres.length;
  const collected = dataset.genres.map(() => ({ maps: [] as PosterMap[], luminance: [] as number[] }));
  const progress = progressPrinter(`poster evidence (${model.name})`, 0.25, options.log ?? console.log);
  for (let k = 0; k < rows.length; k++) {
    const row = rows[k] as number;
    const film = dataset.films[row] as Dataset["films"][number];
    const poster = await decodePoster(film.posterFile);
    const explain = await explainable(model.trained, { poster, overview: film.overview }, options.encoders ?? {});
    const { maps } = await occlusionMaps(explain, poster, options.occlusion);
    for (let j = 0; j < g; j++) {
      if (!dataset.labels[row * g + j]) continue;
      const map = maps[j] as PosterMap;
      collected[j]?.maps.push(map);
      collected[j]?.luminance.push(evidenceLuminance(poster, map));
    }
    progress(k + 1, rows.length);
  }
  const results: GenreEvidence[] = [];
  const tiles: string[] = [];
  const means = collected.map((c) => meanMap(c.maps));
  const scale = Math.max(...means.map((m) => (m ? maxAbs(m.values) : 1e-12)));
  for (let j = 0; j < g; j++) {
    const c = collected[j] as { maps: PosterMap[]; luminance: number[] };
    const map = means[j];
    if (!map) continue;
    const genre = dataset.genres[j] as string;
    results.push({
      genre,
      films: c.maps.length,
      map,
      luminance: c.luminance.reduce((a, b) => a + b, 0) / c.luminance.length,
      darkerShare: c.luminance.filter((v) => v < 0).length / c.luminance.length,
    });
    const grey = { width: map.width, height: map.height, data: new Float32Array(map.width * map.height * 3).fill(0.75) };
    tiles.push(
      `<figure style="margin:4px;text-align:center"><img src="${dataUri(await heatMapPng(grey, map, scale))}" style="width:75px"/>` +
        `<figcaption style="font-size:11px">${escapeHtml(genre)} (${c.maps.length})</figcaption></figure>`,
    );
  }
  showHtml(
    `<div style="font-size:12px">${escapeHtml(model.name)}: mean occlusion map of each genre's films, on one colour scale</div>` +
      `<div style="display:flex;flex-wrap:wrap">${tiles.join("")}</div>${legendHtml()}`,
    results.map((r) => `${r.genre} (${r.films} films): evidence luminance ${r.luminance.toFixed(3)}`).join("\n"),
  );
  return results;
}

/**
 * What the attributions say about the coursework reports' guesses, computed from the run: whether Horror's
 * poster evidence sits in dark regions, and whether Drama's words are generic (words found in many overviews)
 * compared with the other genres' words.
 */
export function explanationNarrative(
  evidence: readonly GenreEvidence[],
  words: Map<string, { word: string; films: number }[]>,
  dataset: Dataset,
): string {
  const lines: string[] = [];
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
