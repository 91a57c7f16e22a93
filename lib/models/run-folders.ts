/**
 * Run folders: every training run has its own folder, `<target>.runs/<run id>/`, and the model folder `<target>`
 * becomes a link to the latest run that has a checkpoint. This module is that lifecycle: what may stand at
 * `<target>` before a run (checkTarget, checkOutputFolder), the lock `<target>.lock`, starting a run's folder with
 * its marker, publishing it (and undoing that), finishing it, and pruning old runs. What a model folder holds, and
 * reading it and its runs, is ./model-folder.ts.
 */
import * as fs from "node:fs";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { makeFolder, writeDurable, writeError } from "../runtime/files";
import { WorkbookError } from "../runtime/errors";
import { MODEL_JSON } from "./checkpoint";
import { INFO_JSON, RunRecord, listRuns, provesModelFolder, runTime, runsDir } from "./model-folder";

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

/**
 * Takes `<target>.lock` for this process: a second run into the same model folder is refused with a message
 * naming the run that holds it. A lock left by a process that no longer runs (on this host) is reported
 * through `log` and taken over.
 */
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
