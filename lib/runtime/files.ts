/**
 * Files that are never seen half-written: data is written to a temporary file, fsynced, then renamed over
 * the target (atomic on POSIX). A process killed at any moment leaves either the old file or the new one.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { WorkbookError } from "./errors";

const WRITE_PROBLEMS: Record<string, [why: string, advice: string]> = {
  ENOSPC: ["the disk is full", "free some space, or write to a folder on another disk (--out, or WORKBOOK_OUT_DIR)"],
  EDQUOT: ["the disk quota is used up", "free some space, or write to a folder on another disk (--out, or WORKBOOK_OUT_DIR)"],
  EROFS: ["the file system is read-only", "write to a writable folder (--out, or WORKBOOK_OUT_DIR)"],
  EACCES: ["no permission to write there", "write to a folder of yours (--out, or WORKBOOK_OUT_DIR), or change its permissions"],
  EPERM: ["the operation is not permitted there", "write to a folder of yours (--out, or WORKBOOK_OUT_DIR)"],
};

/** Whether `file` lies strictly inside `dir` (both resolved the same way: both real paths, or both as written). */
export function isInside(file: string, dir: string): boolean {
  const relative = path.relative(dir, file);
  return relative !== "" && relative.split(/[\\/]/)[0] !== ".." && !path.isAbsolute(relative);
}

/**
 * A file-system error met while writing `file`, as an error that names the file, says what is wrong in words and
 * what to do (a full disk's `write` error names no file by itself). Other errors are returned unchanged.
 */
export function writeError(error: unknown, file: string, what = "file"): Error {
  if (error instanceof WorkbookError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const problem = code === undefined ? undefined : WRITE_PROBLEMS[code];
  if (!problem) return error instanceof Error ? error : new Error(String(error));
  return new WorkbookError(`cannot write the ${what} ${file}: ${problem[0]} (${code}); ${problem[1]}`, { cause: error });
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
  await fsp.mkdir(dir, { recursive: true }).catch((error: unknown) => {
    throw writeError(error, dir, "folder");
  });
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

/** Reads a JSON file; a missing file or bad JSON is an error that names the file. */
export async function loadJson<T = unknown>(file: string, what = "JSON file"): Promise<T> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new WorkbookError(`${file}: cannot read the ${what} (${code === "ENOENT" ? "file not found" : (error as Error).message})`, {
      cause: error,
    });
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
