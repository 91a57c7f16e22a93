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
 */
import * as fs from "node:fs";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TextVectorizer } from "../data/text";
import { TfidfVectorizer } from "../data/tfidf";
import { linkNote, loadJson, makeFolder, saveJson, writeDurable, writeError } from "../runtime/files";
import type { SplitSettings } from "../data/split";
import type { TrainingHistory } from "./history";
import { ModelInfoBase, SavedThresholds } from "./folder-schema";
import { MODEL_JSON, diskWeights } from "./checkpoint";
import {
  FolderSource,
  INFO_JSON,
  TFIDF_JSON,
  THRESHOLDS_JSON,
  TrainedModel,
  VOCABULARY_JSON,
  HISTORY_JSON,
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
async function provesModelFolder(dir: string): Promise<boolean> {
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
// Runs: every training run has its own folder; the model folder points at the latest run that has a checkpoint

/** Where the runs of a model folder are kept: `<target>.runs/<run id>/`. */
export function runsDir(target: string): string {
  return `${target.replace(/[\\/]+$/, "")}.runs`;
}

export interface RunFolder {
  /** The model folder later notebooks and commands use (a link to the run's folder once it has a checkpoint). */
  target: string;
  /** This run's own folder, where everything it writes goes. */
  dir: string;
  id: string;
  lockFile: string;
  /** What `target` pointed at before publishRun switched it (relative link text), or null when there was nothing. */
  previous?: string | null;
  /** Set when `target` was an empty folder that publishRun replaced: unpublishRun makes it again. */
  wasEmptyFolder?: boolean;
}

interface LockContent {
  pid: number;
  host: string;
  started: string;
  run: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes `<target>.lock` for this process: a second run into the same model folder is refused with a message
 * naming the run that holds it. A lock left by a process that no longer runs (on this host) is reported
 * through `log` and taken over.
 */
/** Who holds `<target>.lock` when a live process does (or an unreadable lock): the words of the refusal; else undefined. */
async function liveLockHolder(target: string): Promise<string | undefined> {
  const lockFile = `${target.replace(/[\\/]+$/, "")}.lock`;
  let text: string;
  try {
    text = await fsp.readFile(lockFile, "utf8");
  } catch {
    return undefined;
  }
  let holder: Partial<LockContent> = {};
  try {
    holder = JSON.parse(text) as LockContent;
  } catch {
    // unreadable: held by an unknown run
  }
  if (holder.host === os.hostname() && typeof holder.pid === "number" && !processAlive(holder.pid)) return undefined;
  return `process ${holder.pid ?? "?"} on ${holder.host ?? "?"}, started ${holder.started ?? "?"}`;
}

/**
 * Written into every run folder this workbook creates (and into a model folder it moves into the runs): prune
 * deletes only folders that carry it, so a folder that someone else put in `<target>.runs/` is never deleted.
 */
export const RUN_MARKER = ".workbook-run";

/** What a model folder `target` is before a run trains into it: nothing yet, an empty folder, a model folder, or its runs link. */
export type TargetState = "absent" | "empty" | "model" | "link";

/**
 * A run replaces its model folder by a link to its run, so only what this workbook made may be there: nothing, an
 * empty folder, a model folder (as its info.json proves) or a link into `<target>.runs/`. Anything else (a dataset,
 * notes, a link elsewhere, a file) is refused before anything is written: no run moves or deletes what it did not make.
 */
export async function checkTarget(target: string): Promise<TargetState> {
  const st = await fsp.lstat(target).catch(() => undefined);
  if (st === undefined) return "absent";
  if (st.isSymbolicLink()) {
    const text = await fsp.readlink(target);
    if (isRunsLink(target, text)) return "link";
    return refuseTarget(target, `it is a link to ${text}, not a link into ${runsDir(target)} that a training run made`);
  }
  if (!st.isDirectory()) return refuseTarget(target, "it is a file, not a folder");
  const entries = await fsp.readdir(target);
  if (entries.length === 0) return "empty";
  if (await provesModelFolder(target)) return "model";
  return refuseTarget(
    target,
    `it holds ${entries.length} entr${entries.length === 1 ? "y" : "ies"} but no ${INFO_JSON} describing a model (its kind, genres, settings and dataset)`,
  );
}

function refuseTarget(target: string, why: string): never {
  throw new WorkbookError(
    `${target} cannot be a model folder: ${why}. A training run replaces its model folder by a link to the run, so it ` +
      `must be an empty folder, a model folder (with its ${INFO_JSON}) or the link a training run made; nothing was changed. ` +
      "Train into another folder (--out).",
  );
}

/** A link that publishRun makes: `<name>.runs/<run>`, relative, one plain folder name inside the runs folder. */
function isRunsLink(target: string, text: string): boolean {
  const parts = text.split(/[\\/]/);
  return parts.length === 2 && parts[0] === path.basename(runsDir(target)) && /^[^.][^\\/]*$/.test(parts[1] as string);
}

/** Free bytes a training run wants on the disk of its model folder before it starts (checkpoints are rewritten whole). */
export const MIN_FREE_BYTES = 64 * 1024 * 1024;

/**
 * Checked before a run prepares anything (data, posters, the model): `target` is something a run may replace
 * (checkTarget), the model folder can be written
 * (its runs folder is created and a probe file written and removed), its disk has roughly enough free space, and
 * no live run holds its lock. Each failure is an error that names the folder and what to do.
 */
export async function checkOutputFolder(target: string, minFreeBytes = MIN_FREE_BYTES): Promise<void> {
  await checkTarget(target);
  const holder = await liveLockHolder(target);
  if (holder !== undefined) {
    throw new WorkbookError(
      `${target} is being trained by another run (${holder}): wait for it to finish, or train into another folder. ` +
        `If no such run is going on, delete ${target.replace(/[\\/]+$/, "")}.lock.`,
    );
  }
  const runs = runsDir(target);
  const probe = path.join(runs, `.write-test-${process.pid}`);
  try {
    await makeFolder(runs, "model folder's runs folder");
    await writeDurable(probe, "x");
  } catch (error) {
    throw writeError(error, runs, "model folder's runs folder");
  } finally {
    await fsp.rm(probe, { force: true }).catch(() => undefined);
  }
  const disk = await fsp.statfs(runs).catch(() => undefined);
  const free = disk ? disk.bavail * disk.bsize : Infinity;
  if (free < minFreeBytes) {
    throw new WorkbookError(
      `only ${(free / 2 ** 20).toFixed(1)} MB are free on the disk of ${runs}; a training run needs about ${(minFreeBytes / 2 ** 20).toFixed(0)} MB there (checkpoints, history): free some space, or train into a folder on another disk (--out, or WORKBOOK_OUT_DIR)`,
    );
  }
}

async function takeLock(target: string, run: string, log: (line: string) => void): Promise<string> {
  const lockFile = `${target.replace(/[\\/]+$/, "")}.lock`;
  const content: LockContent = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), run };
  await makeFolder(path.dirname(lockFile));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fsp.writeFile(lockFile, JSON.stringify(content), { flag: "wx" });
      return lockFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw writeError(error, lockFile, "lock file");
    }
    let holder: Partial<LockContent> = {};
    try {
      holder = JSON.parse(await fsp.readFile(lockFile, "utf8")) as LockContent;
    } catch {
      // unreadable: treated as held by an unknown run (refused below)
    }
    const who = `process ${holder.pid ?? "?"} on ${holder.host ?? "?"}, started ${holder.started ?? "?"}`;
    if (holder.host === os.hostname() && typeof holder.pid === "number" && !processAlive(holder.pid)) {
      log(`stale lock ${lockFile} from ${who}: that process no longer runs (it was killed or crashed); taking it over`);
      await fsp.rm(lockFile, { force: true });
      continue;
    }
    throw new WorkbookError(
      `${target} is being trained by another run (${who}): wait for it to finish, or train into another folder. ` +
        `If no such run is going on, delete ${lockFile}.`,
    );
  }
  throw new WorkbookError(`could not take the lock ${lockFile}`);
}

/** A run id that sorts by start time: 20261129-214501-12345. */
function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${t}-${process.pid}`;
}

async function writeMarker(dir: string, what: Record<string, string>): Promise<void> {
  await writeDurable(path.join(dir, RUN_MARKER), `${JSON.stringify({ ...what, made: new Date().toISOString() })}\n`);
}

/**
 * Starts a training run into the model folder `target`: takes its lock and creates the run's own folder
 * `<target>.runs/<id>/`. Nothing at `target` changes until publishRun.
 */
export async function startRunFolder(target: string, log: (line: string) => void = console.log): Promise<RunFolder> {
  const id = newRunId();
  const lockFile = await takeLock(target, id, log);
  const dir = path.join(runsDir(target), id);
  try {
    await makeFolder(dir, "run folder");
    await writeMarker(dir, { run: id });
  } catch (error) {
    await fsp.rm(lockFile, { force: true });
    throw writeError(error, dir, "run folder");
  }
  return { target, dir, id, lockFile };
}

/**
 * Makes `target` the run's folder, at once: `target` becomes a link to `<target>.runs/<id>` (a new link
 * renamed over the old one). A real folder found at `target` (from before runs had their own folders) is
 * first moved into the runs folder, so it is kept whole.
 */
export async function publishRun(run: RunFolder, log: (line: string) => void = console.log): Promise<void> {
  // checked again: the folder may have changed since checkOutputFolder, and library callers may not have called it
  const state = await checkTarget(run.target);
  run.previous = null;
  if (state === "model") run.previous = await keepEarlierModel(run.target, log);
  else if (state === "link") run.previous = await fsp.readlink(run.target);
  else if (state === "empty") {
    await fsp.rmdir(run.target); // fails, and changes nothing, if a file appeared in it meanwhile
    run.wasEmptyFolder = true;
  }
  await pointAt(run.target, path.join(path.basename(runsDir(run.target)), run.id));
}

/** Moves a model folder from before runs had their own folders into the runs, marked as kept by the workbook; returns its link text. */
async function keepEarlierModel(target: string, log: (line: string) => void): Promise<string> {
  const name = `earlier-${(await fsp.stat(target)).mtime.toISOString().replace(/[-:]/g, "").slice(0, 15)}`;
  const kept = path.join(runsDir(target), name);
  log(`moving the model in ${target} (a folder from before runs had their own) to ${kept}, where it is kept`);
  await fsp.rename(target, kept);
  await writeMarker(kept, { earlier: target });
  return path.join(path.basename(runsDir(target)), name);
}

/** Makes `target` a link to `linkText` (relative to its folder) in one rename, so readers see the old or the new. */
async function pointAt(target: string, linkText: string): Promise<void> {
  const link = `${target.replace(/[\\/]+$/, "")}.link-${process.pid}`;
  try {
    await fsp.rm(link, { force: true });
    await fsp.symlink(linkText, link, "dir");
    await fsp.rename(link, target);
  } catch (error) {
    throw writeError(error, target, "model folder (a link to its run)");
  }
}

/**
 * Undoes publishRun after the run failed: `target` points again at what it pointed at before (or is removed when
 * there was nothing; an empty folder again when it was one), so that the model folder never rests on a run that did
 * not finish. The run's own folder,
 * with its checkpoint, stays in the runs folder.
 */
export async function unpublishRun(run: RunFolder): Promise<void> {
  if (run.previous === undefined) return;
  if (run.previous !== null) return pointAt(run.target, run.previous);
  await fsp.rm(run.target, { force: true });
  if (run.wasEmptyFolder) await fsp.mkdir(run.target);
}

/** Ends a run: releases the lock; a run that never wrote a checkpoint leaves no folder behind. */
export async function finishRunFolder(run: RunFolder, hasCheckpoint: boolean): Promise<void> {
  try {
    if (!hasCheckpoint) await fsp.rm(run.dir, { recursive: true, force: true });
  } finally {
    await fsp.rm(run.lockFile, { force: true });
  }
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
function runTime(name: string): string {
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

/**
 * What pruneRuns deleted: whole runs, runs that never wrote a checkpoint, and links left by killed runs; and the
 * folders of the runs folder that it left alone because no training run of this workbook made them.
 */
export interface PruneResult {
  runs: string[];
  empty: string[];
  links: string[];
  unrecognised: string[];
}

/** The files a run folder of an older version held (checkpoints, their temporary files, the JSON files). */
const RUN_FILE = /^(model\.json(\.tmp)?|weights(-\d+)?\.bin|(info|history|thresholds|vocabulary|tfidf)\.json(\.\d+\.tmp)?)$/;

/**
 * Whether prune may delete a run folder: it carries RUN_MARKER, or it is a run folder of a version from before the
 * marker, recognised safely: a run's name, an info.json that describes a model, and only the files a run writes
 * (or nothing at all).
 */
async function madeByWorkbook(run: RunRecord): Promise<boolean> {
  if (fs.existsSync(path.join(run.dir, RUN_MARKER))) return true;
  if (runTime(run.id) === "") return false;
  const names = await fsp.readdir(run.dir);
  // an empty one holds nothing to lose: a run killed between making its folder and marking it
  if (names.length === 0) return true;
  return (await provesModelFolder(run.dir)) && names.every((name) => RUN_FILE.test(name));
}

/**
 * Deletes the runs of `target` except the one it points at and the newest `keep` others that hold a model;
 * refuses while a run trains into it. A run without a checkpoint (killed before its first epoch ended) holds
 * nothing to keep: it is deleted, and never counted among the `keep`. So are the `<target>.link-<pid>` links
 * that a run killed while switching the folder leaves behind. Only runs this workbook made are deleted
 * (madeByWorkbook); any other folder there is left alone and listed in `unrecognised`.
 */
export async function pruneRuns(target: string, keep: number): Promise<PruneResult> {
  if (!Number.isInteger(keep) || keep < 0) throw new WorkbookError(`keep must be an integer >= 0, got ${keep}`);
  const lock = await takeLock(target, "prune", console.log);
  try {
    const runs = await listRuns(target);
    const unrecognised: RunRecord[] = [];
    for (const r of runs) if (!r.current && !(await madeByWorkbook(r))) unrecognised.push(r);
    const linked = await linksIn(runsDir(target));
    const others = runs.filter((r) => !r.current && !unrecognised.includes(r));
    const withModel = others.filter((r) => fs.existsSync(path.join(r.dir, MODEL_JSON)));
    const empty = others.filter((r) => !withModel.includes(r));
    const doomed = withModel.slice(0, Math.max(0, withModel.length - keep));
    for (const r of [...doomed, ...empty]) await fsp.rm(r.dir, { recursive: true, force: true });
    const base = path.basename(target.replace(/[\\/]+$/, ""));
    const parent = path.dirname(target.replace(/[\\/]+$/, ""));
    const links: string[] = [];
    const prefix = `${base}.link-`;
    for (const name of await fsp.readdir(parent).catch(() => [] as string[])) {
      const link = path.join(parent, name);
      // only the links pointAt makes (<name>.link-<pid>), never a file or folder that happens to share the prefix
      if (name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)) && (await fsp.lstat(link)).isSymbolicLink()) links.push(link);
    }
    for (const link of links) await fsp.rm(link, { force: true });
    const dirs = (list: RunRecord[]) => list.map((r) => r.dir);
    return { runs: dirs(doomed), empty: dirs(empty), links, unrecognised: [...dirs(unrecognised), ...linked] };
  } finally {
    await fsp.rm(lock, { force: true });
  }
}

/** The links in a folder (none when it is not there). */
async function linksIn(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => [] as fs.Dirent[]);
  return entries
    .filter((e) => e.isSymbolicLink())
    .map((e) => path.join(dir, e.name))
    .sort();
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
