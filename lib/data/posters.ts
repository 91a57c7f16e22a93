/**
 * Poster pipeline: reproduces the Keras template's image preprocessing
 *
 *   tf.io.decode_jpeg -> tf.image.convert_image_dtype(tf.float32) -> tf.image.resize([64, 64])
 *
 * in plain TypeScript, with jimp as the JPEG/PNG decoder, plus a one-time,
 * on-disk cache of the whole preprocessed poster set (raw float32, NHWC).
 *
 * Known, accepted difference from TensorFlow: jimp decodes with jpeg-js, TF with
 * libjpeg-turbo; the two IDCT/upsampling implementations can differ by a level
 * or two out of 255 on some pixels. Everything after decoding matches TF's
 * float32 arithmetic. jimp also applies EXIF orientation (TF does not); none of
 * the 5,692 dataset posters carries an EXIF block, so this never triggers there.
 */
import { promises as fsp } from "node:fs";
import { Jimp } from "jimp";
import type { Film } from "./dataset";
import { ComputedRows, SkippedSource, cachedRows, fileSourcesKey } from "./row-cache";
import { progressPrinter } from "../runtime/progress";
import { WorkbookError } from "../runtime/errors";

/** Bump when anything changes the numbers produced, so old caches are never reused. */
export const POSTER_PIPELINE_VERSION =
  "posters/1: jimp RGB decode, u8*f32(1/255), TF2 bilinear half-pixel no-antialias";
const CACHE_FORMAT_VERSION = 1;
const CHANNELS = 3;

/** A poster that cannot be turned into pixels. `reason` is plain words, safe to show a user. */
export class PosterError extends WorkbookError {
  readonly file: string;
  readonly id?: string;
  readonly reason: string;

  constructor(file: string, reason: string, id?: string) {
    super(`Poster ${id !== undefined ? `${id} ` : ""}at ${file}: ${reason}`);
    this.name = "PosterError";
    this.file = file;
    this.reason = reason;
    if (id !== undefined) this.id = id;
  }
}

export interface DecodedPoster {
  width: number;
  height: number;
  /** height*width*3 floats in [0,1], row-major HWC, RGB. */
  data: Float32Array;
}

// convert_image_dtype casts uint8 to float32 and multiplies by float32(1/255)
// (not a division), so the lookup table reproduces that exact rounding.
const U8_TO_F32 = (() => {
  const inv = Math.fround(1 / 255);
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.fround(v * inv);
  return lut;
})();

const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, sig: readonly number[]): boolean {
  return bytes.length >= sig.length && sig.every((b, i) => bytes[i] === b);
}

/** The last index of the two-byte marker [first, second] in bytes, or -1. */
function lastMarker(bytes: Uint8Array, first: number, second: number): number {
  for (let i = bytes.length - 2; i >= 0; i--) if (bytes[i] === first && bytes[i + 1] === second) return i;
  return -1;
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOENT":
      return "file not found";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory, not an image file";
    case "ELOOP":
      return "is a link that cannot be followed (it points to itself or into a loop of links)";
    default:
      return `cannot read file (${code ?? (err instanceof Error ? err.message : String(err))})`;
  }
}

/**
 * jpeg-js happily returns a partly grey image for a JPEG cut short, so check the
 * structure ourselves: the end-of-image marker FFD9 must follow the last
 * start-of-scan FFDA. (FFD9 cannot occur inside entropy-coded data because FF
 * bytes are stuffed; an embedded EXIF thumbnail sits before the main scans.)
 */
function jpegLooksComplete(bytes: Uint8Array): boolean {
  const lastSos = lastMarker(bytes, 0xff, 0xda);
  const lastEoi = lastMarker(bytes, 0xff, 0xd9);
  return lastSos >= 0 && lastEoi > lastSos;
}

/** Reads the bytes of a poster file; throws PosterError with a precise reason. */
async function readPosterBytes(file: string): Promise<Buffer> {
  try {
    const st = await fsp.stat(file);
    if (st.isDirectory()) throw new PosterError(file, "is a directory, not an image file");
    if (st.size === 0) throw new PosterError(file, "file is empty (0 bytes)");
    return await fsp.readFile(file);
  } catch (err) {
    if (err instanceof PosterError) throw err;
    throw new PosterError(file, describeFsError(err));
  }
}

/** Checks that the bytes are a whole JPEG or a PNG; throws PosterError naming `file` (a path, or a dropped file's name). */
function checkPosterBytes(bytes: Uint8Array, file: string): void {
  if (bytes.length === 0) throw new PosterError(file, "file is empty (0 bytes)");
  if (startsWith(bytes, JPEG_SIGNATURE)) {
    if (!jpegLooksComplete(bytes)) {
      throw new PosterError(file, `truncated or corrupt JPEG: no end-of-image marker after the image data (${bytes.length} bytes)`);
    }
  } else if (!startsWith(bytes, PNG_SIGNATURE)) {
    const head = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new PosterError(file, `not a JPEG or PNG image (file starts with bytes ${head})`);
  }
}

/** Decodes a JPEG/PNG file to RGB float32 in [0,1], HWC; alpha is dropped. */
export async function decodePoster(file: string): Promise<DecodedPoster> {
  return decodePosterBytes(await readPosterBytes(file), file);
}

/**
 * Decodes a JPEG or PNG given as bytes (`file`: how messages name it) to RGB float32 in [0,1], HWC; alpha is dropped.
 * What decodePoster does after reading the file, and what the web page does with a dropped poster: the same checks,
 * the same decoder (jimp: jpeg-js, pngjs) and the same scaling.
 */
export async function decodePosterBytes(bytes: Uint8Array, file: string): Promise<DecodedPoster> {
  checkPosterBytes(bytes, file);
  let bitmap: { width: number; height: number; data: Uint8Array };
  try {
    bitmap = (await Jimp.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))).bitmap;
  } catch (err) {
    // Keep the decoder's one-line message as a detail for debugging, never its stack.
    const detail = err instanceof Error ? err.message : String(err);
    throw new PosterError(file, `corrupt or unsupported image data, the decoder failed (${detail})`);
  }
  const { width, height, data: rgba } = bitmap;
  if (!(width > 0 && height > 0) || rgba.length < width * height * 4) {
    throw new PosterError(file, `decoder returned an empty or malformed bitmap (${width}x${height})`);
  }
  const n = width * height;
  const data = new Float32Array(n * CHANNELS);
  for (let p = 0, q = 0; p < n; p++, q += 4) {
    data[p * 3] = U8_TO_F32[rgba[q]!]!;
    data[p * 3 + 1] = U8_TO_F32[rgba[q + 1]!]!;
    data[p * 3 + 2] = U8_TO_F32[rgba[q + 2]!]!;
  }
  return { width, height, data };
}

interface AxisWeights {
  lower: Int32Array;
  upper: Int32Array;
  lerp: Float32Array;
}

const f32 = Math.fround;

/**
 * TF's compute_interpolation_weights with HalfPixelScaler (resize_bilinear_op.cc),
 * in float32 like TF: in = (i + 0.5) * scale - 0.5, lower = max(floor(in), 0),
 * upper = min(ceil(in), inSize - 1), lerp = in - floor(in). For in < 0 the lerp
 * is not clamped, but then lower == upper == 0, so it has no effect.
 */
function axisWeights(outSize: number, inSize: number): AxisWeights {
  const scale = f32(inSize / outSize);
  const lower = new Int32Array(outSize);
  const upper = new Int32Array(outSize);
  const lerp = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const x = f32(f32(f32(i + 0.5) * scale) - 0.5);
    const xf = Math.floor(x);
    lower[i] = Math.max(xf, 0);
    upper[i] = Math.min(Math.ceil(x), inSize - 1);
    lerp[i] = f32(x - xf);
  }
  return { lower, upper, lerp };
}

function assertDim(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`resizeBilinear: ${name} must be a positive integer, got ${v}`);
}

/**
 * tf.image.resize(method='bilinear', antialias=False) of one HWC image: half-pixel
 * centres, aspect ratio not kept, float32 arithmetic in TF's operation order.
 */
export function resizeBilinear(
  src: Float32Array,
  height: number,
  width: number,
  channels: number,
  outHeight: number,
  outWidth: number,
): Float32Array {
  assertDim("height", height);
  assertDim("width", width);
  assertDim("channels", channels);
  assertDim("outHeight", outHeight);
  assertDim("outWidth", outWidth);
  if (src.length !== height * width * channels) {
    throw new RangeError(`resizeBilinear: src has ${src.length} values, expected ${height}x${width}x${channels}`);
  }
  // TF short-circuits same-size resizes to a plain copy.
  if (height === outHeight && width === outWidth) return src.slice();

  const ys = axisWeights(outHeight, height);
  const xs = axisWeights(outWidth, width);
  const out = new Float32Array(outHeight * outWidth * channels);
  const rowLen = width * channels;
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const top = ys.lower[y]! * rowLen;
    const bottom = ys.upper[y]! * rowLen;
    const yl = ys.lerp[y]!;
    for (let x = 0; x < outWidth; x++) {
      const left = xs.lower[x]! * channels;
      const right = xs.upper[x]! * channels;
      const xl = xs.lerp[x]!;
      for (let c = 0; c < channels; c++) {
        const tl = src[top + left + c]!;
        const tr = src[top + right + c]!;
        const bl = src[bottom + left + c]!;
        const br = src[bottom + right + c]!;
        const t = f32(tl + f32(f32(tr - tl) * xl));
        const b = f32(bl + f32(f32(br - bl) * xl));
        out[o++] = f32(t + f32(f32(b - t) * yl));
      }
    }
  }
  return out;
}

/** decode + resize: size*size*3 floats, HWC, like the Keras template's load step. */
export async function preparePoster(file: string, size = 64): Promise<Float32Array> {
  const img = await decodePoster(file);
  return resizeBilinear(img.data, img.height, img.width, CHANNELS, size, size);
}

// ---------------------------------------------------------------------------
// Whole-dataset preprocessing with an on-disk cache

export interface PosterSource {
  id: string;
  file: string;
}

/** A poster that could not be preprocessed: its film, its file and why, in plain words. */
export type PosterProblem = SkippedSource;

export interface PosterSet {
  ids: string[];
  size: number;
  /** ids.length*size*size*3 floats, NHWC, row i belongs to ids[i]. */
  data: Float32Array;
  /** Sources that could not be decoded, in input order; their films are not in ids/data. */
  skipped: PosterProblem[];
  fromCache: boolean;
  cacheFile: string;
}

export interface LoadPostersOptions {
  size: number;
  cacheDir: string;
  onProgress?: (done: number, total: number) => void;
}

/** The poster cache's key: the pipeline version, the size and each poster file's path, size and mtime. */
function cacheKey(sources: readonly PosterSource[], size: number): Promise<string> {
  return fileSourcesKey(`${POSTER_PIPELINE_VERSION}\nformat ${CACHE_FORMAT_VERSION}\nsize ${size}\n`, sources);
}

function rowLength(size: number): number {
  return size * size * CHANNELS;
}

/**
 * Preprocesses every poster once (decode + resize to size x size) and caches the
 * result; later calls with identical sources read the cache. Undecodable posters
 * are listed in `skipped` (never dropped silently); other failures throw.
 */
export async function loadPosters(sources: readonly PosterSource[], options: LoadPostersOptions): Promise<PosterSet> {
  const { size, cacheDir, onProgress } = options;
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`loadPosters: size must be a positive integer, got ${size}`);
  const seen = new Set<string>();
  for (const s of sources) {
    if (seen.has(s.id)) throw new Error(`loadPosters: duplicate id ${s.id} in sources`);
    seen.add(s.id);
  }
  const stride = rowLength(size);
  const compute = async (): Promise<ComputedRows> => {
    const all = new Float32Array(sources.length * stride);
    const ids: string[] = [];
    const skipped: PosterProblem[] = [];
    // Sequential on purpose: measured ~5 ms per 150x300 poster, ~28 s for all
    // 5,692 on 2 cores, so a worker pool is not worth its complexity.
    for (let i = 0; i < sources.length; i++) {
      const { id, file } = sources[i]!;
      try {
        all.set(await preparePoster(file, size), ids.length * stride);
        ids.push(id);
      } catch (err) {
        if (!(err instanceof PosterError)) throw err;
        skipped.push({ id, file, reason: err.reason });
      }
      onProgress?.(i + 1, sources.length);
    }
    return { ids, data: all.subarray(0, ids.length * stride), skipped };
  };
  const rows = await cachedRows(
    sources.map((s) => s.id),
    { cacheDir, prefix: `posters-${size}`, key: await cacheKey(sources, size), pipeline: POSTER_PIPELINE_VERSION, rowLength: stride, extra: { size } },
    compute,
  );
  if (rows.fromCache) onProgress?.(sources.length, sources.length);
  return { ids: rows.ids, size, data: rows.data, skipped: rows.skipped, fromCache: rows.fromCache, cacheFile: rows.cacheFile };
}

/** Copies the given rows into one contiguous NHWC batch (indices.length*size*size*3). */
export function posterBatch(set: PosterSet, indices: readonly number[]): Float32Array {
  const stride = rowLength(set.size);
  const out = new Float32Array(indices.length * stride);
  indices.forEach((row, k) => {
    if (!Number.isInteger(row) || row < 0 || row >= set.ids.length) {
      throw new RangeError(`posterBatch: row ${row} out of range 0..${set.ids.length - 1}`);
    }
    out.set(set.data.subarray(row * stride, (row + 1) * stride), k * stride);
  });
  return out;
}

/** id -> row in set.data. */
export function posterIndex(set: PosterSet): Map<string, number> {
  return new Map(set.ids.map((id, row) => [id, row]));
}

/**
 * The posters of these films, preprocessed once and cached (loadPosters), with a progress line every
 * `progressStep` of the work, then one line saying where they came from and one per skipped poster.
 */
export async function loadFilmPosters(
  films: readonly Film[],
  options: { size: number; cacheDir: string; log?: (line: string) => void; progressStep?: number },
): Promise<PosterSet> {
  const log = options.log ?? console.log;
  const started = Date.now();
  const posters = await loadPosters(
    films.map((f) => ({ id: f.id, file: f.posterFile })),
    { size: options.size, cacheDir: options.cacheDir, onProgress: progressPrinter("posters", options.progressStep ?? 0.25, log) },
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  log(`${posters.ids.length} posters ${posters.fromCache ? "loaded from the cache" : "preprocessed and cached"} in ${seconds} s (${posters.cacheFile})`);
  for (const p of posters.skipped) log(`poster skipped: ${p.id}: ${p.file}: ${p.reason}`);
  return posters;
}
