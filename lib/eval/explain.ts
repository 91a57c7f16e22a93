/**
 * Explaining films with trained models (notebook 07, npm run explain): one film with several models
 * (explainFilm, explainFilms), and the evidence across films: per genre, the words that raise it (wordEvidence,
 * from leave-one-word-out) and where on a poster it lives (genreEvidence, from occlusion), with the aggregates
 * behind them (genreWords, meanMap, evidenceLuminance). The attribution methods themselves are ./attribution.ts.
 */
import type { Dataset, Film } from "../data/dataset";
import { DecodedPoster, decodePoster, resizeBilinear } from "../data/posters";
import { STOP_WORDS } from "../data/stop-words";
import { tokenize } from "../data/text";
import { progressPrinter } from "../runtime/progress";
import type { Encoders } from "../kinds/kind";
import { KindId, Trained, evidenceKinds, kindSpec, modelName } from "../kinds/registry";
import { WorkbookError } from "../runtime/errors";
import { OcclusionOptions, PosterMap, explainable, gradCam, gradCamApplies, occlusionMaps, wordEffects } from "./attribution";
import { loadEncoders } from "./inference";
import { topK } from "./metrics";

// ---------------------------------------------------------------------------------------------------
// Across films

/** A word's leave-one-word-out effect on one genre, averaged over the films whose overview has it. */
export interface GenreWord {
  word: string;
  /** Films among those explained whose overview has the word. */
  films: number;
  /** Mean effect on the genre's probability (a film with the word several times counts its mean effect once). */
  effect: number;
  /** effect minus the word's mean effect on the other genres: how much more it raises this genre than the rest. */
  specificity: number;
}

/**
 * For each genre, the words that raise it more than they raise the other genres: for every word (as the vectorizer
 * sees it) in at least `minFilms` of the films, its mean effect on the genre minus its mean effect on the other
 * genres. Words that raise the genre (a positive mean effect) with a positive specificity, highest first;
 * `isStopWord` words are ranked in a list of their own. A word the model uses for every genre alike (a function
 * word, a long overview's filler) scores near zero, and one that appears in a single film cannot lead the list.
 * A word that lowers every genre, this one least, does not raise it, so it is not listed: without that rule a genre
 * whose probability no word moves (one the model never learned: no positive training film) would list the words
 * that lower the others.
 */
export function genreWords(
  perFilm: readonly { words: readonly string[]; effects: readonly Float32Array[] }[],
  genres: readonly string[],
  options: { normalise: (word: string) => string; minFilms: number; isStopWord?: (word: string) => boolean },
): { words: Map<string, GenreWord[]>; stopWords: Map<string, GenreWord[]> } {
  const g = genres.length;
  const sums = new Map<string, { films: number; effects: Float64Array }>();
  for (const film of perFilm) {
    // Per word of this film: the summed effects and occurrences, to take the film's mean effect of the word.
    const inFilm = new Map<string, { count: number; effects: Float64Array }>();
    film.words.forEach((raw, i) => {
      const word = options.normalise(raw);
      if (!word) return;
      const entry = inFilm.get(word) ?? { count: 0, effects: new Float64Array(g) };
      entry.count++;
      for (let j = 0; j < g; j++) entry.effects[j] = (entry.effects[j] as number) + ((film.effects[j] as Float32Array)[i] as number);
      inFilm.set(word, entry);
    });
    for (const [word, { count, effects }] of inFilm) {
      const total = sums.get(word) ?? { films: 0, effects: new Float64Array(g) };
      total.films++;
      for (let j = 0; j < g; j++) total.effects[j] = (total.effects[j] as number) + (effects[j] as number) / count;
      sums.set(word, total);
    }
  }
  const words = new Map<string, GenreWord[]>();
  const stopWords = new Map<string, GenreWord[]>();
  genres.forEach((genre, j) => {
    const ranked: GenreWord[] = [];
    for (const [word, { films, effects }] of sums) {
      if (films < options.minFilms) continue;
      const mean = Array.from(effects, (e) => e / films);
      const others = g > 1 ? (mean.reduce((a, e) => a + e, 0) - (mean[j] as number)) / (g - 1) : 0;
      const specificity = (mean[j] as number) - others;
      if (specificity > 0 && (mean[j] as number) > 0) ranked.push({ word, films, effect: mean[j] as number, specificity });
    }
    ranked.sort((a, b) => b.specificity - a.specificity || (a.word < b.word ? -1 : 1));
    const stop = options.isStopWord ?? (() => false);
    words.set(
      genre,
      ranked.filter((w) => !stop(w.word)),
    );
    stopWords.set(
      genre,
      ranked.filter((w) => stop(w.word)),
    );
  });
  return { words, stopWords };
}

/** The mean of maps of the same size (e.g. one genre's occlusion maps over its films). */
export function meanMap(maps: readonly PosterMap[]): PosterMap | undefined {
  const first = maps[0];
  if (!first) return undefined;
  const values = new Float32Array(first.values.length);
  for (const m of maps) {
    if (m.width !== first.width || m.height !== first.height) throw new Error("meanMap: maps of different sizes");
    m.values.forEach((v, i) => (values[i] = (values[i] as number) + v / maps.length));
  }
  return { width: first.width, height: first.height, values };
}

/**
 * Whether a map's evidence sits in the darker parts of its poster: the mean luminance of the pixels in the
 * map's top `share` (its strongest evidence for the genre) minus the poster's mean luminance. Negative: the
 * evidence is darker than the poster as a whole.
 */
export function evidenceLuminance(poster: DecodedPoster, map: PosterMap, share = 0.2): number {
  const n = poster.width * poster.height;
  const luminance = Float32Array.from({ length: n }, (_, p) => {
    const d = poster.data;
    return 0.299 * (d[p * 3] as number) + 0.587 * (d[p * 3 + 1] as number) + 0.114 * (d[p * 3 + 2] as number);
  });
  const order = Array.from({ length: n }, (_, p) => p).sort((a, b) => (map.values[b] as number) - (map.values[a] as number));
  const k = Math.max(1, Math.round(n * share));
  let top = 0;
  for (let i = 0; i < k; i++) top += luminance[order[i] as number] as number;
  const all = luminance.reduce((a, b) => a + b, 0);
  return top / k - all / n;
}

// ---------------------------------------------------------------------------------------------------
// Explaining films with trained models (notebook 07, npm run explain)

/** A loaded model with the name a notebook shows for it. */
export interface NamedModel {
  name: string;
  trained: Trained;
}

/** A model as the explanations take it: a loaded folder (named by its kind's title), or a named one. */
export type ExplainedModel = Trained | NamedModel;

function named(model: ExplainedModel): NamedModel {
  return "trained" in model ? model : { name: modelName(model), trained: model };
}

/**
 * The first of `models` whose kind is in `preference`, in that order of preference; undefined when none is.
 * What the views across films use when the notebook has several models (and some may not be trained).
 */
export function preferredModel(models: readonly Trained[], preference: readonly KindId[]): Trained | undefined {
  for (const kind of preference) {
    const found = models.find((m) => m.info.kind === kind);
    if (found) return found;
  }
  return undefined;
}

export interface ExplainOptions {
  occlusion?: OcclusionOptions;
  /** Genres to explain on every card (default: the film's true genres and each model's top genre, at most maxGenres). */
  genres?: readonly string[];
  maxGenres?: number;
  /** Also Grad-CAM where it applies (default true). */
  gradCam?: boolean;
}

/** What explaining one film with one model computed. */
export interface FilmExplanation {
  model: string;
  probabilities: Float32Array;
  /** The genres to show, each with its Grad-CAM map where that applies. */
  shown: { genre: string; gradCam?: PosterMap }[];
  /** Occlusion maps of every genre (models that read posters), in the model's genre order. */
  maps?: PosterMap[];
  /** The overview's words and each word's effect on every genre (models that read overviews). */
  words?: { words: string[]; effects: Float32Array[] };
  /** Joint models with a gate: the share of the fused representation taken from the poster. */
  gateShare?: number;
}

/** Explains one film with one trained model: occlusion (and Grad-CAM where it applies), word removal, the gate. */
export async function explainFilm(
  explained: ExplainedModel,
  /** The film; `genres`, its true genres, when they are known (they are explained first). */
  film: { genres?: readonly string[]; overview: string; poster?: DecodedPoster },
  options: ExplainOptions = {},
  encoders: Encoders = {},
): Promise<FilmExplanation> {
  const model = named(explained);
  const { trained } = model;
  const explain = await explainable(trained, film, encoders);
  const genres = explain.genres;
  const occluded = explain.posters && film.poster ? await occlusionMaps(explain, film.poster, options.occlusion) : undefined;
  const worded = explain.overviews ? await wordEffects(explain, film.overview) : undefined;
  const probabilities = occluded?.probabilities ?? worded?.probabilities ?? new Float32Array(genres.length);
  const topGenre = topK(probabilities, genres, 1)[0]?.genre;
  const wanted = options.genres ?? [...new Set([...(film.genres ?? []), ...(topGenre ? [topGenre] : [])])];
  const shown: FilmExplanation["shown"] = [];
  for (const genre of wanted.filter((g) => genres.includes(g)).slice(0, options.maxGenres ?? 2)) {
    const entry: FilmExplanation["shown"][number] = { genre };
    if (film.poster && (options.gradCam ?? true) && gradCamApplies(trained.model)) {
      const size = trained.model.inputs[0]?.shape[1] as number;
      const input = resizeBilinear(film.poster.data, film.poster.height, film.poster.width, 3, size, size);
      entry.gradCam = await gradCam(trained.model, input, size, genres.indexOf(genre), film.poster);
    }
    shown.push(entry);
  }
  return {
    model: model.name,
    probabilities,
    shown,
    ...(occluded ? { maps: occluded.maps } : {}),
    ...(worded ? { words: { words: worded.words, effects: worded.effects } } : {}),
    ...(explain.gateShare ? { gateShare: await explain.gateShare() } : {}),
  };
}

/** For each genre, the words that raise it more than other genres (genreWords), with the model and films behind them. */
export interface WordEvidence {
  model: string;
  films: number;
  /** The fewest films a word must appear in to be ranked. */
  minFilms: number;
  /** Per genre: how many of the films have it. */
  genreFilms: Map<string, number>;
  /** Per genre: words other than stop-words, most specific first. */
  words: Map<string, GenreWord[]>;
  /** Per genre: stop-words (data/stop-words.ts), ranked the same way, reported apart. */
  stopWords: Map<string, GenreWord[]>;
}

/**
 * The models the word evidence prefers, in order (each kind's KindSpec.evidence.words): the strongest readers of
 * overviews first (the joint model on the pretrained encoders, the pretrained text head, the joint GMU model), the
 * coursework LSTM last.
 */
export const WORD_EVIDENCE_MODELS: readonly KindId[] = evidenceKinds("words");

/**
 * Leave-one-word-out over the films `rows` with a model that reads overviews (the first of `models` in
 * WORD_EVIDENCE_MODELS' order; it says which), then per genre the words that raise it more than the other genres
 * (genreWords; words in fewer than `minFilms` films are not ranked). Undefined, said in one line, when no model
 * reads overviews.
 */
export async function wordEvidence(
  models: readonly Trained[],
  dataset: Dataset,
  rows: readonly number[],
  options: { minFilms: number; encoders?: Encoders; log?: (line: string) => void },
): Promise<WordEvidence | undefined> {
  const chosen = await evidenceModel(models, WORD_EVIDENCE_MODELS, "word", options);
  if (!chosen) return undefined;
  const { trained, model, encoders, progress } = chosen;
  const spec = kindSpec(trained);
  const perFilm: { words: string[]; effects: Float32Array[] }[] = [];
  for (let k = 0; k < rows.length; k++) {
    const film = dataset.films[rows[k] as number] as Film;
    // The poster stays as it is while words are removed; a model that does not read posters does not need it.
    const poster = spec.reads.poster ? await decodePoster(film.posterFile) : undefined;
    const explain = await explainable(trained, { overview: film.overview, ...(poster ? { poster } : {}) }, encoders);
    const { words, effects } = await wordEffects(explain, film.overview);
    perFilm.push({ words, effects });
    progress(k + 1, rows.length);
  }
  const g = dataset.genres.length;
  const ranked = genreWords(perFilm, dataset.genres, {
    normalise: (w) => tokenize(w).join(" "),
    minFilms: options.minFilms,
    isStopWord: (w) => STOP_WORDS.has(w),
  });
  return {
    model: model.name,
    films: rows.length,
    minFilms: options.minFilms,
    genreFilms: new Map(dataset.genres.map((genre, j) => [genre, rows.filter((r) => dataset.labels[r * g + j]).length])),
    ...ranked,
  };
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

/** The models the poster evidence prefers, in order (each kind's KindSpec.evidence.posters): the coursework CNN first. */
export const POSTER_EVIDENCE_MODELS: readonly KindId[] = evidenceKinds("posters");

/**
 * The model an evidence across films uses: the first of `models` in the order `preference`, said in a line, with its
 * encoders (the caller's, else loaded) and the films' progress line. Undefined, said in a line, when none is trained.
 */
async function evidenceModel(
  models: readonly Trained[],
  preference: readonly KindId[],
  evidence: "word" | "poster",
  options: { encoders?: Encoders; log?: (line: string) => void },
): Promise<{ trained: Trained; model: NamedModel; encoders: Encoders; progress: (done: number, total: number) => void } | undefined> {
  const log = options.log ?? console.log;
  const trained = preferredModel(models, preference);
  if (!trained) {
    log(`${evidence} evidence left out: none of ${preference.join(", ")} is trained at this preset`);
    return undefined;
  }
  const model = named(trained);
  log(`${evidence} evidence from ${model.name}`);
  const encoders = options.encoders ?? (await loadEncoders([trained]));
  return { trained, model, encoders, progress: progressPrinter(`${evidence} evidence (${model.name})`, 0.25, log) };
}

/**
 * Where on a poster each genre's evidence lives: occlusion with a poster model (the first of `models` in
 * POSTER_EVIDENCE_MODELS' order; it says which) over the films `rows`, averaged per genre over the films that
 * have it (their true genres). Undefined, said in one line, when no model reads posters.
 */
export async function genreEvidence(
  models: readonly Trained[],
  dataset: Dataset,
  rows: readonly number[],
  options: { occlusion?: OcclusionOptions; encoders?: Encoders; log?: (line: string) => void } = {},
): Promise<{ model: string; genres: GenreEvidence[] } | undefined> {
  const chosen = await evidenceModel(models, POSTER_EVIDENCE_MODELS, "poster", options);
  if (!chosen) return undefined;
  const { trained, model, encoders, progress } = chosen;
  const g = dataset.genres.length;
  const collected = dataset.genres.map(() => ({ maps: [] as PosterMap[], luminance: [] as number[] }));
  for (let k = 0; k < rows.length; k++) {
    const row = rows[k] as number;
    const film = dataset.films[row] as Film;
    const poster = await decodePoster(film.posterFile);
    const explain = await explainable(trained, { poster, overview: film.overview }, encoders);
    const { maps } = await occlusionMaps(explain, poster, options.occlusion);
    for (let j = 0; j < g; j++) {
      if (!dataset.labels[row * g + j]) continue;
      const map = maps[j] as PosterMap;
      collected[j]?.maps.push(map);
      collected[j]?.luminance.push(evidenceLuminance(poster, map));
    }
    progress(k + 1, rows.length);
  }
  const genres: GenreEvidence[] = [];
  collected.forEach((c, j) => {
    const map = meanMap(c.maps);
    if (!map) return;
    genres.push({
      genre: dataset.genres[j] as string,
      films: c.maps.length,
      map,
      luminance: c.luminance.reduce((a, b) => a + b, 0) / c.luminance.length,
      darkerShare: c.luminance.filter((v) => v < 0).length / c.luminance.length,
    });
  });
  return { model: model.name, genres };
}

/** One film explained by several models, with its decoded poster. */
export interface ExplainedFilm {
  film: Film;
  poster: DecodedPoster;
  explanations: FilmExplanation[];
  seconds: number;
}

/**
 * Explains the films `ids` of a dataset with every model (encoders loaded once when a model needs them). An Id
 * not in the dataset is an error naming it.
 */
export async function explainFilms(
  models: readonly ExplainedModel[],
  dataset: Dataset,
  ids: readonly string[],
  options: ExplainOptions & { encoders?: Encoders; log?: (line: string) => void } = {},
): Promise<ExplainedFilm[]> {
  const byId = new Map(dataset.films.map((f) => [f.id, f]));
  const unknown = ids.filter((id) => !byId.has(id));
  if (unknown.length > 0) throw new WorkbookError(`not in the dataset: ${unknown.join(", ")}`);
  const encoders = options.encoders ?? (await loadEncoders(models.map((m) => named(m).trained)));
  const log = options.log ?? console.log;
  const out: ExplainedFilm[] = [];
  for (const id of ids) {
    const film = byId.get(id) as Film;
    const started = performance.now();
    const poster = await decodePoster(film.posterFile);
    const explanations: FilmExplanation[] = [];
    for (const model of models) explanations.push(await explainFilm(model, { ...film, poster }, options, encoders));
    const seconds = (performance.now() - started) / 1000;
    log(`${film.id}: explained by ${models.length} model(s) in ${seconds.toFixed(1)} s`);
    out.push({ film, poster, explanations, seconds });
  }
  return out;
}
