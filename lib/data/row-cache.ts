/**
 * An on-disk cache of per-film float32 rows (preprocessed posters, pretrained features): computed once,
 * then read back in seconds. One cache is a raw little-endian float32 file (`<base>.f32`, rows in the
 * sources' order) and its metadata (`<base>.json`: key, ids, skipped sources).
 *
 * The key is a hash of whatever decides the numbers (the pipeline or encoder version, sizes, each source's
 * file path/size/mtime or text): different inputs give a different file, so a cache is never used for
 * inputs it was not computed from. Data is written before the metadata that marks it valid, each through
 * a temporary file and a rename, so a crash never leaves a cache that looks valid.
 */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ENV } from "../runtime/config";
import { makeFolder, writeError } from "../runtime/files";

const CACHE_FORMAT_VERSION = 1;

/** A source that could not be turned into a row (an unreadable poster). `reason` is plain words. */
export interface SkippedSource {
  id: string;
  file: string;
  reason: string;
}

export interface CachedRows {
  /** Ids of the rows, in source order (skipped sources left out). */
  ids: string[];
  /** ids.length rows of rowLength floats. */
  data: Float32Array;
  skipped: SkippedSource[];
  fromCache: boolean;
  cacheFile: string;
}

/** What the caller computes for a cache miss. */
export interface ComputedRows {
  ids: string[];
  data: Float32Array;
  skipped: SkippedSource[];
}

interface CacheMeta {
  formatVersion: number;
  /** What produced the rows, in words (e.g. the pipeline version). */
  pipeline: string;
  key: string;
  rowLength: number;
  ids: string[];
  skipped: SkippedSource[];
  created: string;
  /** Posters: the side of the square images (older caches have only this, not rowLength). */
  size?: number;
}

export interface RowCacheSpec {
  cacheDir: string;
  /** File name prefix, e.g. "posters-64". */
  prefix: string;
  /** The hash that identifies the inputs (see the module comment). */
  key: string;
  /** What produced the rows, recorded in the metadata. */
  pipeline: string;
  rowLength: number;
  /** Extra metadata fields (e.g. the poster size). */
  extra?: { size?: number };
}

/**
 * sha256 over `header` (what decides the numbers besides the inputs) and each source's id, absolute path,
 * byte size and mtime: a different setting, dataset or an edited file gives a new key. A missing file is
 * hashed as such, so its later appearance also invalidates.
 */
export async function fileSourcesKey(header: string, sources: readonly { id: string; file: string }[]): Promise<string> {
  const stats = await Promise.all(
    sources.map((s) =>
      fsp.stat(s.file).then(
        (st) => `${st.size}\t${st.mtimeMs}`,
        () => "missing",
      ),
    ),
  );
  const h = createHash("sha256");
  h.update(header);
  sources.forEach((s, i) => h.update(`${s.id}\t${path.resolve(s.file)}\t${stats[i]}\n`));
  return h.digest("hex");
}

/** sha256 over `header` and each source's id and text (for rows computed from texts, such as overviews). */
export function textSourcesKey(header: string, sources: readonly { id: string; text: string }[]): string {
  const h = createHash("sha256");
  h.update(header);
  for (const s of sources) h.update(`${s.id}\t${createHash("sha256").update(s.text).digest("hex")}\n`);
  return h.digest("hex");
}

function assertLittleEndian(): void {
  // The cache is raw little-endian float32 viewed in place; refuse rather than misread.
  if (os.endianness() !== "LE") throw new Error("the row cache requires a little-endian machine");
}

/**
 * The cached rows for `sourceIds` (in order), or, when there is no valid cache, `compute()`'s rows,
 * written to the cache. A cache that exists but cannot be used is reported with `warn` and rebuilt.
 */
export async function cachedRows(
  sourceIds: readonly string[],
  spec: RowCacheSpec,
  compute: () => Promise<ComputedRows>,
  warn: (line: string) => void = console.warn,
): Promise<CachedRows> {
  assertLittleEndian();
  const base = path.join(spec.cacheDir, `${spec.prefix}-${spec.key.slice(0, 16)}`);
  const cacheFile = `${base}.f32`;
  const metaFile = `${base}.json`;
  const cached = await readCache(sourceIds, spec, cacheFile, metaFile);
  if ("data" in cached) return { ...cached, fromCache: true, cacheFile };
  if (cached.stale !== null) warn(`Cache ${cacheFile} not used, rebuilding: ${cached.stale}`);
  const rows = await compute();
  if (rows.data.length !== rows.ids.length * spec.rowLength) {
    throw new Error(`cachedRows: ${rows.data.length} values for ${rows.ids.length} rows of ${spec.rowLength}`);
  }
  await writeCache(cacheFile, metaFile, rows.data, {
    formatVersion: CACHE_FORMAT_VERSION,
    pipeline: spec.pipeline,
    key: spec.key,
    rowLength: spec.rowLength,
    ids: rows.ids,
    skipped: rows.skipped,
    created: new Date().toISOString(),
    ...(spec.extra ?? {}),
  });
  return { ...rows, fromCache: false, cacheFile };
}

/** Loads a cache written by writeCache, or returns a reason why it cannot be used. */
async function readCache(
  sourceIds: readonly string[],
  spec: RowCacheSpec,
  binFile: string,
  metaFile: string,
): Promise<{ ids: string[]; skipped: SkippedSource[]; data: Float32Array } | { stale: string | null }> {
  let metaText: string;
  try {
    metaText = await fsp.readFile(metaFile, "utf8");
  } catch {
    return { stale: null }; // no cache yet: a normal first build, nothing to warn about
  }
  let meta: CacheMeta;
  try {
    meta = JSON.parse(metaText) as CacheMeta;
  } catch {
    return { stale: `${metaFile} is not valid JSON` };
  }
  if (meta.formatVersion !== CACHE_FORMAT_VERSION) return { stale: `format version ${meta.formatVersion} != ${CACHE_FORMAT_VERSION}` };
  if (meta.key !== spec.key) return { stale: "cache key does not match the current sources" };
  if (!Array.isArray(meta.ids) || !Array.isArray(meta.skipped)) return { stale: "metadata has no ids or skipped list" };
  // Every source must be accounted for, in order, either as a row or as skipped.
  const skippedIds = new Set(meta.skipped.map((p) => p.id));
  const expectedIds = sourceIds.filter((id) => !skippedIds.has(id));
  if (expectedIds.length !== meta.ids.length || expectedIds.some((id, i) => id !== meta.ids[i])) {
    return { stale: "ids in the metadata do not match the sources" };
  }
  let buf: Buffer;
  try {
    buf = await fsp.readFile(binFile);
  } catch (err) {
    return { stale: `cannot read ${binFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  const expectedBytes = meta.ids.length * spec.rowLength * 4;
  if (buf.byteLength !== expectedBytes) return { stale: `${binFile} has ${buf.byteLength} bytes, expected ${expectedBytes}` };
  // A Float32Array view needs a 4-byte aligned offset; copy only in the rare misaligned case.
  const data =
    buf.byteOffset % 4 === 0 ? new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4) : new Float32Array(new Uint8Array(buf).buffer);
  return { ids: meta.ids, skipped: meta.skipped, data };
}

/** Atomic write: temp file then rename, data before metadata (metadata marks the cache valid). */
async function writeCache(binFile: string, metaFile: string, data: Float32Array, meta: CacheMeta): Promise<void> {
  const place = { place: `set ${ENV.cacheDir}` };
  await makeFolder(path.dirname(binFile), "cache folder", place);
  const binTmp = `${binFile}.tmp-${process.pid}`;
  const metaTmp = `${metaFile}.tmp-${process.pid}`;
  let writing = binFile;
  try {
    await fsp.writeFile(binTmp, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    await fsp.rename(binTmp, binFile);
    writing = metaFile;
    await fsp.writeFile(metaTmp, JSON.stringify(meta));
    await fsp.rename(metaTmp, metaFile);
  } catch (err) {
    await Promise.all([fsp.rm(binTmp, { force: true }), fsp.rm(metaTmp, { force: true })]);
    throw writeError(err, writing, "cache file", place);
  }
}
