/**
 * Files that are never seen half-written: data is written to a temporary file, fsynced, then renamed over
 * the target (atomic on POSIX). A process killed at any moment leaves either the old file or the new one.
 */
import * as fs from "node:fs";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { WorkbookError } from "./errors";

/** What a write error means, and what to do (`place`: where else to write, "--out, or WORKBOOK_OUT_DIR" by default). */
const WRITE_PROBLEMS: Record<string, [why: string, advice: (place: string) => string]> = {
  ENOSPC: ["the disk is full", (place) => `free some space, or write to a folder on another disk (${place})`],
  EDQUOT: ["the disk quota is used up", (place) => `free some space, or write to a folder on another disk (${place})`],
  EROFS: ["the file system is read-only", (place) => `write to a writable folder (${place})`],
  EACCES: ["no permission to write there", (place) => `write to a folder of yours (${place}), or change its permissions`],
  EPERM: ["the operation is not permitted there", (place) => `write to a folder of yours (${place})`],
};

/** Whether `file` lies strictly inside `dir` (both resolved the same way: both real paths, or both as written). */
export function isInside(file: string, dir: string): boolean {
  const relative = path.relative(dir, file);
  return relative !== "" && relative.split(/[\\/]/)[0] !== ".." && !path.isAbsolute(relative);
}

/** What writeError may add: the folder that could not be made (makeFolder), and where else to write. */
export interface WriteErrorOptions {
  making?: string;
  place?: string;
}

/**
 * A file-system error met while writing `file`, as an error that names the file, says what is wrong in words and
 * what to do (a full disk's `write` error names no file by itself). Other errors are returned unchanged.
 */
export function writeError(error: unknown, file: string, what = "file", options: WriteErrorOptions = {}): Error {
  if (error instanceof WorkbookError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const problem = code === undefined ? undefined : WRITE_PROBLEMS[code];
  if (!problem) return error instanceof Error ? error : new Error(String(error));
  const making = options.making === undefined || path.resolve(options.making) === path.resolve(file) ? "" : `, making ${options.making}`;
  const advice = problem[1](options.place ?? "--out, or WORKBOOK_OUT_DIR");
  return new WorkbookError(`cannot write the ${what} ${file}: ${problem[0]} (${code}${making}); ${advice}`, { cause: error });
}

/** The outermost folder of `dir` that is not there (the first one making it would make), or undefined when it is there. */
async function firstMissing(dir: string): Promise<string | undefined> {
  let missing: string | undefined;
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (
      await fsp.lstat(at).then(
        () => true,
        () => false,
      )
    )
      return missing;
    missing = at;
    if (path.dirname(at) === at) return missing;
  }
}

/**
 * Makes `dir` and the folders above it that are missing; an error names the folder and says why in words
 * (writeError). Node's recursive mkdir reports a read-only file system as `ENOENT ... mkdir` (after the EROFS it
 * looks the path up and finds nothing), so on ENOENT the first missing folder is made alone, which gives the real
 * error, and the message names that folder too.
 */
export async function makeFolder(dir: string, what = "folder", options: Pick<WriteErrorOptions, "place"> = {}): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (error) {
    const making = await firstMissing(dir);
    let cause = error;
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && making !== undefined) {
      try {
        await fsp.mkdir(making);
        await fsp.rmdir(making).catch(() => undefined); // it could be made after all: the ENOENT had another cause
      } catch (real) {
        cause = real;
      }
    }
    throw writeError(cause, dir, what, { ...options, ...(making === undefined ? {} : { making }) });
  }
}

/** Writes a file and fsyncs it before returning. `exclusive` fails if the file exists. */
export async function writeDurable(file: string, data: string | Uint8Array, exclusive = false): Promise<void> {
  try {
    const handle = await fsp.open(file, exclusive ? "wx" : "w");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw writeError(error, file);
  }
}

/** fsyncs a folder so that a rename in it is durable. Best effort: not every platform allows it. */
export async function syncDir(dir: string): Promise<void> {
  let handle: import("node:fs/promises").FileHandle | undefined;
  try {
    handle = await fsp.open(dir, "r");
    await handle.sync();
  } catch {
    // Windows and some file systems refuse to open or fsync a directory.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Writes JSON atomically: a temporary file beside `file` (fsynced), then renamed over `file`. Creates the
 * folder. The temporary name is unique to this process, so two writers never share one.
 */
export async function saveJson(file: string, value: unknown, options: { indent?: number } = {}): Promise<void> {
  const dir = path.dirname(file);
  await makeFolder(dir);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeDurable(tmp, `${JSON.stringify(value, null, options.indent ?? 2)}\n`);
    await fsp.rename(tmp, file);
  } catch (error) {
    await fsp.rm(tmp, { force: true });
    throw writeError(error, file);
  }
  await syncDir(dir);
}

/**
 * What `file` points at when it is a symbolic link, in words for a message ("a link to ../run, which is not there"),
 * with why it cannot be followed when it cannot; undefined when it is no link.
 */
export function linkNote(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readlinkSync(file);
  } catch {
    return undefined;
  }
  try {
    fs.statSync(file);
    return `a link to ${text}`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP") return `a link to ${text}, which cannot be followed (it points to itself or into a loop of links)`;
    if (code === "ENOENT" || code === "ENOTDIR") return `a link to ${text}, which is not there`;
    return `a link to ${text}, which cannot be followed (${code})`;
  }
}

/** Reads a JSON file; a missing file or bad JSON is an error that names the file. */
export async function loadJson<T = unknown>(file: string, what = "JSON file"): Promise<T> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const link = linkNote(file);
    const why = link !== undefined ? `it is ${link}` : code === "ENOENT" ? "file not found" : (error as Error).message;
    throw new WorkbookError(`${file}: cannot read the ${what} (${why})`, { cause: error });
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new WorkbookError(
      `${file}: the ${what} is not valid JSON (${(error as Error).message}${text.length === 0 ? "; the file is empty" : ""})`,
      { cause: error },
    );
  }
}
