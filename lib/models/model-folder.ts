/**
 * A trained model's folder: what training writes and what later notebooks and commands load.
 *
 *   model.json + weights-<n>.bin   the best epoch's weights (./checkpoint.ts, written atomically)
 *   info.json                      kind, genres, preset, settings, dataset and split, backend, best epoch
 *   history.json                   every epoch's metrics and learning rate (./history.ts)
 *   thresholds.json                per-genre thresholds tuned on the run's validation split
 *   vocabulary.json                token ids (the LSTM, the joint model's BiLSTM branch): a TextVectorizer
 *   tfidf.json                     a TfidfVectorizer (the joint model's TF-IDF branch, the TF-IDF baselines)
 * Which files a kind needs is declared by the kind (lib/kinds/).
 *
 * Beside a model folder `<target>`, its training runs are kept in `<target>.runs/<run id>/` (listRuns reads them;
 * a missing folder whose runs hold models is explained from them). How runs are made, locked, published and pruned
 * is ./run-folders.ts.
 */
import * as fs from "node:fs";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { TextVectorizer } from "../data/text";
import { TfidfVectorizer } from "../data/tfidf";
import { linkNote, loadJson, makeFolder, saveJson } from "../runtime/files";
import type { SplitSettings } from "../data/split";
import type { TrainingHistory } from "./history";
import { ModelInfoBase, SavedThresholds } from "./folder-schema";
import { MODEL_JSON, diskWeights } from "./checkpoint";
import {
  FolderSource,
  HISTORY_JSON,
  INFO_JSON,
  TFIDF_JSON,
  THRESHOLDS_JSON,
  TrainedModel,
  VOCABULARY_JSON,
  missingFileMessage,
  readModelFolder,
} from "./folder-reader";
import { WorkbookError } from "../runtime/errors";
import { ensureBackend } from "../runtime/backend";
import { checkPathName } from "../runtime/config";

// The files' types and their checks (what each may hold, and against the others and the model) are in ./folder-schema.ts.
export type { ModelInfoBase, SavedThresholds } from "./folder-schema";

// The file names, a loaded folder's type and reading it through a FolderSource are in ./folder-reader.ts (also bundled
// into the web page); this module gives the disk's source.
export { HISTORY_JSON, INFO_JSON, TFIDF_JSON, THRESHOLDS_JSON, VOCABULARY_JSON, overviewEncoder } from "./folder-reader";
export type { FolderSource, TrainedModel } from "./folder-reader";

/** Where the notebooks and `npm run train` keep a preset's model of a kind. */
export function modelDir(outDir: string, preset: string, kind: string): string {
  return path.join(outDir, "models", checkPathName(preset, "the preset"), checkPathName(kind, "the model kind"));
}

/**
 * Loads a model folder written by the notebooks or `npm run train`, with a clear error for what is missing or
 * damaged: info.json, the weights, and the history, thresholds, vocabulary and TF-IDF when present. Which of
 * those a kind needs, and its own info fields, are checked by the kinds' registry (lib/kinds/registry.ts
 * loadModel), which is what the notebooks and commands call.
 */
export async function loadTrainedModel(dir: string): Promise<TrainedModel> {
  await ensureBackend();
  if (!fs.existsSync(dir)) throw new WorkbookError(await missingFolderMessage(dir));
  return readModelFolder(diskFolder(dir));
}

/**
 * A model folder on disk as a FolderSource: a file is there when lstat finds it (a link that cannot be followed
 * included: reading it then says where it points), a missing one is named by need(), JSON is read by loadJson and the
 * weights by checkpoint.ts diskWeights (a weights file that links out of the folder is refused).
 */
export function diskFolder(dir: string): FolderSource {
  const where = (name: string) => path.join(dir, name);
  const weights = diskWeights(where(MODEL_JSON));
  return {
    dir,
    where,
    need: async (name, what) => need(dir, name, what),
    has: async (name) => fs.lstatSync(where(name), { throwIfNoEntry: false }) !== undefined,
    json: (name, what) => loadJson(where(name), what),
    weights,
    folder: (name) => diskFolder(where(name)),
  };
}

/**
 * Why a model folder is not there: when its runs folder holds models (a run killed while the folder was being
 * switched, or while an old-style folder was being moved into the runs folder), which one to use and how.
 */
async function missingFolderMessage(dir: string): Promise<string> {
  // a link whose run is gone is named with what it points at, and replaced (ln -sfn) rather than made
  const link = linkNote(dir);
  const what = link === undefined ? `${dir} not found` : `${dir} is ${link}`;
  const withModel = (await listRuns(dir)).filter((r) => fs.existsSync(path.join(r.dir, MODEL_JSON)));
  if (withModel.length === 0) return `${what}: it is not a trained model folder. Train one with notebook 02/03 or 'npm run train'.`;
  const complete = withModel.filter((r) => fs.existsSync(path.join(r.dir, THRESHOLDS_JSON)));
  const chosen = (complete.at(-1) ?? withModel.at(-1)) as RunRecord;
  return (
    `${what}, but ${runsDir(dir)} holds ${withModel.length} trained run(s) (a training run was probably killed while it switched the folder). ` +
    `The newest ${complete.length > 0 ? "complete one" : "one"} is ${chosen.dir}: load that folder, or make it the model folder again with: ` +
    `ln -s${link === undefined ? "" : "fn"} ${path.join(path.basename(runsDir(dir)), chosen.id)} ${dir}`
  );
}

/** An error naming the file when a model folder lacks it ("what" says what the file holds). */
export function need(dir: string, file: string, what: string): void {
  const where = path.join(dir, file);
  if (!fs.existsSync(where)) {
    const link = linkNote(where);
    throw new WorkbookError(missingFileMessage(where, dir, what, link === undefined ? "not found" : `is ${link}`));
  }
}

/**
 * Whether info.json describes a model at all (its kind, genres, settings and dataset are there): what proves that a
 * folder is a model folder that a run may replace. Loading checks it fully (folder-schema.ts checkInfoJson).
 */
function describesModel(json: unknown): boolean {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return false;
  const info = json as Partial<ModelInfoBase>;
  return (
    typeof info.kind === "string" &&
    info.kind !== "" &&
    Array.isArray(info.genres) &&
    info.genres.length > 0 &&
    info.genres.every((g) => typeof g === "string") &&
    typeof info.settings === "object" &&
    info.settings !== null &&
    typeof info.dataset === "object" &&
    info.dataset !== null
  );
}

/** Whether `dir/info.json` is a model description (describesModel): what proves that a folder is a model folder. */
export async function provesModelFolder(dir: string): Promise<boolean> {
  return describesModel(await loadJson(path.join(dir, INFO_JSON)).catch(() => undefined));
}

// ---------------------------------------------------------------------------------------------------
// Writing a folder

/**
 * Starts a run's folder: info.json and the overview encoder's file (vocabulary.json or tfidf.json), written
 * atomically, and the other encoder's file removed (a folder reused by another kind of run must not keep it).
 */
export async function writeRunFiles(
  dir: string,
  files: { info: ModelInfoBase; vectorizer?: TextVectorizer; tfidf?: TfidfVectorizer },
): Promise<void> {
  await makeFolder(dir, "run folder");
  for (const stale of [VOCABULARY_JSON, TFIDF_JSON]) await fsp.rm(path.join(dir, stale), { force: true });
  if (files.vectorizer) await files.vectorizer.save(path.join(dir, VOCABULARY_JSON));
  if (files.tfidf) await files.tfidf.save(path.join(dir, TFIDF_JSON));
  await saveInfo(dir, files.info);
}

export async function saveInfo(dir: string, info: ModelInfoBase): Promise<void> {
  await saveJson(path.join(dir, INFO_JSON), info);
}

export async function saveThresholds(dir: string, thresholds: SavedThresholds): Promise<void> {
  await saveJson(path.join(dir, THRESHOLDS_JSON), thresholds);
}

// ---------------------------------------------------------------------------------------------------
// The runs kept beside a model folder (made, published and pruned by ./run-folders.ts)

/** Where the runs of a model folder are kept: `<target>.runs/<run id>/`. */
export function runsDir(target: string): string {
  return `${target.replace(/[\\/]+$/, "")}.runs`;
}

/** A finished or interrupted training run kept in a model folder's runs folder. */
export interface RunRecord {
  id: string;
  dir: string;
  /** Whether the model folder points at this run. */
  current: boolean;
  info?: ModelInfoBase;
  history?: TrainingHistory;
}

/**
 * When a run started, as digits that sort: run ids are `YYYYMMDD-HHMMSS-pid`, and an old-style folder moved into
 * the runs is `earlier-YYYYMMDDTHHMMSS` (its last change); anything else sorts first.
 */
export function runTime(name: string): string {
  const m = /^(\d{8})-(\d{6})-\d+$/.exec(name) ?? /^earlier-(\d{8})T(\d{6})/.exec(name);
  return m ? `${m[1]}${m[2]}` : "";
}

/** The runs kept for the model folder `target`, oldest first (their info.json and history.json, as far as readable). */
export async function listRuns(target: string): Promise<RunRecord[]> {
  const root = runsDir(target);
  const names = (await fsp.readdir(root).catch(() => [] as string[])).sort(
    (a, b) => runTime(a).localeCompare(runTime(b)) || a.localeCompare(b),
  );
  const current = await fsp.realpath(target).catch(() => undefined);
  const runs: RunRecord[] = [];
  for (const id of names) {
    const dir = path.join(root, id);
    // a run is a folder the run made there, never a link (pruneRuns names the links and leaves them alone)
    if (!(await fsp.lstat(dir)).isDirectory()) continue;
    const record: RunRecord = { id, dir, current: current === (await fsp.realpath(dir)) };
    const info = await loadJson<ModelInfoBase>(path.join(dir, INFO_JSON)).catch(() => undefined);
    const history = await loadJson<TrainingHistory>(path.join(dir, HISTORY_JSON)).catch(() => undefined);
    if (info) record.info = info;
    if (history) record.history = history;
    runs.push(record);
  }
  return runs;
}

/** A notebook's model folder of this kind at its preset (out/models/<preset>/<kind>). */
export function modelFolder(config: { outDir: string; preset: string }, kind: string): string {
  return modelDir(config.outDir, config.preset, kind);
}

/** The split the models were trained on; they must agree on it, or a comparison would mix training films in. */
export function sharedSplit(models: readonly TrainedModel[]): SplitSettings {
  const key = (m: TrainedModel) => {
    const s = m.info.settings as Partial<SplitSettings>;
    return JSON.stringify([s.seed, s.validationFraction, s.films ?? null, m.info.dataset.films]);
  };
  const first = models[0];
  if (!first) throw new WorkbookError("no model to compare");
  const different = models.filter((m) => key(m) !== key(first));
  if (different.length > 0) {
    throw new WorkbookError(
      `the models were trained on different splits (seed, validation fraction, film subset): ${models.map((m) => `${m.dir}: ${key(m)}`).join("; ")}. ` +
        "Retrain them with the same preset so that their validation films are the same.",
    );
  }
  const s = first.info.settings as unknown as SplitSettings;
  return { seed: s.seed, validationFraction: s.validationFraction, ...(s.films === undefined ? {} : { films: s.films }) };
}

/** The training history of a loaded model folder, or an error naming the folder when it has none. */
export function historyOf(trained: TrainedModel): TrainingHistory {
  if (!trained.history)
    throw new WorkbookError(`${trained.dir} has no ${HISTORY_JSON}: it was not written by a training run of this workbook`);
  return trained.history;
}
