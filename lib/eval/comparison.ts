/**
 * Two (or more) trained models on the same validation films (notebooks 04-06): each model's probabilities and
 * metrics at 0.5 and at its tuned thresholds, which films only one model gets right, and how sure the difference
 * between two of them is (the paired bootstrap over films). workbook/comparison.ts shows it.
 */
import { Dataset, Film, labelRow } from "../data/dataset";
import { KindId, Trained, modelName } from "../kinds/registry";
import { sharedSplit } from "../models/model-folder";
import { WorkbookError } from "../runtime/errors";
import { BootstrapOptions, Difference, HeadlineMetric, pairedBootstrap } from "./bootstrap";
import { Predictions, predictFilms, predictionRow } from "./inference";
import { Evaluation, compareFilmHits, evaluate, filmHits, topK } from "./metrics";

export interface ModelResult {
  /** The model's id in the comparison: its kind unless given (e.g. "cnn"). */
  id: string;
  /** How tables name it, e.g. "CNN (poster)": its kind's title unless given. */
  name: string;
  trained: Trained;
  /** Row-major [films, genres], aligned with Comparison.films. */
  probabilities: Float32Array;
  atHalf: Evaluation;
  /** At the per-genre thresholds tuned on the training run's validation split (when saved). */
  tuned?: Evaluation;
}

export interface Comparison {
  genres: string[];
  /** The films every model could predict (a CNN skips films whose poster cannot be read). */
  films: Film[];
  yTrue: Float32Array;
  models: ModelResult[];
}

/** A model to compare: its folder, with an id and a name when the kind's are not wanted (two models of one kind). */
export interface ComparedModel {
  trained: Trained;
  id?: string;
  name?: string;
}

/** Predicts `rows` of the dataset with every model and evaluates each at 0.5 and at its tuned thresholds. */
export async function compareModels(
  models: readonly (Trained | ComparedModel)[],
  dataset: Dataset,
  rows: readonly number[],
  options: { cacheDir: string; log?: (line: string) => void },
): Promise<Comparison> {
  const named = models.map((m) => {
    const given: ComparedModel = "trained" in m ? m : { trained: m };
    return { trained: given.trained, id: given.id ?? given.trained.info.kind, name: given.name ?? modelName(given.trained) };
  });
  const ids = named.map((m) => m.id);
  const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (twice.length > 0) throw new WorkbookError(`two models with the id '${twice[0]}' in one comparison: give each its own id`);
  // Models trained on other splits would have some of these films among their training films.
  sharedSplit(named.map((m) => m.trained));
  const predictions: Predictions[] = [];
  for (const m of named) predictions.push(await predictFilms(m.trained, dataset, rows, options));
  const common = new Set(predictions.reduce((ids, p) => ids.filter((id) => p.ids.includes(id)), predictions[0]?.ids ?? []));
  const films = rows.map((r) => dataset.films[r] as Film).filter((f) => common.has(f.id));
  const genres = dataset.genres;
  const rowOf = new Map(dataset.films.map((f, i) => [f.id, i]));
  const yTrue = new Float32Array(films.length * genres.length);
  films.forEach((f, i) => yTrue.set(labelRow(dataset, rowOf.get(f.id) as number), i * genres.length));
  const results = named.map((m, k) => {
    const p = predictions[k] as Predictions;
    const index = new Map(p.ids.map((id, i) => [id, i]));
    const probabilities = new Float32Array(films.length * genres.length);
    films.forEach((f, i) => probabilities.set(predictionRow(p, index.get(f.id) as number), i * genres.length));
    const result: ModelResult = {
      id: m.id,
      name: m.name,
      trained: m.trained,
      probabilities,
      atHalf: evaluate(yTrue, probabilities, genres, 0.5),
    };
    if (m.trained.thresholds) result.tuned = evaluate(yTrue, probabilities, genres, m.trained.thresholds.thresholds);
    return result;
  });
  return { genres, films, yTrue, models: results };
}

/** The model of the comparison with this id (its kind, unless another was given); an error listing the ids otherwise. */
export function comparedModel(comparison: Comparison, id: KindId | string): ModelResult {
  const found = comparison.models.find((m) => m.id === id);
  if (!found) throw new WorkbookError(`no model '${id}' in the comparison (${comparison.models.map((m) => m.id).join(", ")})`);
  return found;
}

/**
 * The first model of the comparison minus the second at threshold 0.5 (the figures its narrative compares), paired
 * over the same films: each headline metric's difference with its 95% bootstrap interval, within noise where the
 * interval covers 0 (eval/bootstrap.ts; seeded, default seed 0). A positive difference in F1 or hit rate favours
 * the first model; in BCE, the second.
 */
export function comparisonDifference(comparison: Comparison, options: BootstrapOptions = {}): Record<HeadlineMetric, Difference> {
  const [a, b] = comparison.models;
  if (!a || !b) throw new WorkbookError("comparisonDifference needs two models");
  const at = (m: ModelResult) => ({ probabilities: m.probabilities, thresholds: 0.5 });
  return pairedBootstrap(comparison.yTrue, at(a), at(b), comparison.genres.length, options);
}

/** Each film's k most probable genres (films x genres probabilities, row-major). */
export function topGenresPerFilm(probabilities: Float32Array, genres: readonly string[], k: number): string[][] {
  const g = genres.length;
  return Array.from({ length: probabilities.length / g }, (_, i) =>
    topK(probabilities.subarray(i * g, (i + 1) * g), genres, k).map((r) => r.genre),
  );
}

export interface HitAgreement {
  /** Films (indices into comparison.films) where at least one true genre is in the model's top k. */
  both: number[];
  onlyFirst: number[];
  onlySecond: number[];
  neither: number[];
  k: number;
}

/** Which films only the first model gets right (a true genre in its top k), only the second, both, neither. */
export function hitAgreement(comparison: Comparison, k = 3): HitAgreement {
  const [a, b] = comparison.models;
  if (!a || !b) throw new WorkbookError("hitAgreement needs two models");
  const hits = (m: ModelResult) => filmHits(comparison.yTrue, m.probabilities, comparison.genres, k);
  const c = compareFilmHits(hits(a), hits(b));
  return { both: c.both, onlyFirst: c.onlyA, onlySecond: c.onlyB, neither: c.neither, k };
}

/**
 * The films (Ids) that the model `subject` (its id: its kind, e.g. "pretrained") gets right while none of
 * `others` does (a true genre in its top k), and those it gets wrong while at least one of `others` gets them
 * right. Ids of `others` that the comparison does not have are left out (a notebook that goes on without a
 * model that was never trained); none of them at all is an error.
 */
export function decisiveFilms(
  comparison: Comparison,
  subject: string,
  others: readonly string[],
  k = 3,
): { onlySubject: string[]; onlyOthers: string[]; others: string[] } {
  const hits = (id: string) => filmHits(comparison.yTrue, comparedModel(comparison, id).probabilities, comparison.genres, k);
  const mine = hits(subject);
  const present = others.filter((id) => comparison.models.some((m) => m.id === id));
  if (present.length === 0) {
    throw new WorkbookError(`none of ${others.join(", ")} is in the comparison (${comparison.models.map((m) => m.id).join(", ")})`);
  }
  const theirs = present.map(hits);
  const onlySubject: string[] = [];
  const onlyOthers: string[] = [];
  comparison.films.forEach((film, i) => {
    const anyOther = theirs.some((h) => h[i]);
    if (mine[i] && !anyOther) onlySubject.push(film.id);
    if (!mine[i] && anyOther) onlyOthers.push(film.id);
  });
  return { onlySubject, onlyOthers, others: present };
}
