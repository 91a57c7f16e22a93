/**
 * Files that are never seen half-written: data is written to a temporary file, fsynced, then renamed over
 * the target (atomic on POSIX). A process killed at any moment leaves either the old file or the new one.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { WorkbookError } from "./errors";

/** Writes a file and fsyncs it before returning. `exclusive` fails if the file exists. */
export async function writeDurable(file: string, data: string | Uint8Array, exclusive = false): Promise<void> {
  const handle = await fsp.open(file, exclusive ? "wx" : "w");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
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
  await fsp.mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeDurable(tmp, `${JSON.stringify(value, null, options.indent ?? 2)}\n`);
    await fsp.rename(tmp, file);
  } catch (error) {
    await fsp.rm(tmp, { force: true });
    throw error;
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
