/**
 * Poster pipeline: reproduces the Keras template's image preprocessing
 *
 *   tf.io.decode_jpeg -> tf.image.convert_image_dtype(tf.float32) -> tf.image.resize([64, 64])
 *
 * in plain TypeScript, plus a one-time, on-disk cache of the whole preprocessed poster set (raw float32, NHWC).
 *
 * The JPEG decoder: where native TensorFlow is the active backend, TensorFlow's own DecodeJpeg (libjpeg-turbo,
 * the decoder the template runs, with its defaults: fancy upscaling, the default DCT), so the pixels are the
 * template's; elsewhere (wasm, cpu, the browser) jimp's jpeg-js. The two can differ by a level or two out of 255
 * on some pixels (docs/PARITY.md), so the decoder is part of the cache key and the two never share a cache.
 * TensorFlow's decoder is also about 8x faster, which is most of a first run's preprocessing. PNGs, lossless,
 * always go through jimp. Everything after decoding matches TF's float32 arithmetic. jimp also applies EXIF
 * orientation (TF does not); none of the 5,692 dataset posters carries an EXIF block, so this never triggers there.
 */
import { promises as fsp } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { Jimp } from "jimp";
import type { Film } from "./dataset";
import { ComputedRows, SkippedSource, cachedRows, fileSourcesKey } from "./row-cache";
import { progressPrinter } from "../runtime/progress";
import { WorkbookError } from "../runtime/errors";

/**
 * Which JPEG decoder turns a poster into pixels: TensorFlow's DecodeJpeg (native TensorFlow only) or jimp's jpeg-js.
 */
export type PosterDecoder = "tensorflow" | "jimp";

/** The parts of tfjs-node's backend that decode a JPEG (TensorFlow's DecodeJpeg op; its output is uint8 HWC). */
interface JpegDecodingBackend {
  decodeJpeg(
    contents: Uint8Array,
    channels: number,
    ratio: number,
    fancyUpscaling: boolean,
    tryRecoverTruncated: boolean,
    acceptableFraction: number,
    dctMethod: string,
  ): tf.Tensor;
}

/** The active backend where it can decode JPEGs with TensorFlow's own decoder (native TensorFlow), else undefined. */
function jpegDecodingBackend(): JpegDecodingBackend | undefined {
  if (tf.getBackend() !== "tensorflow") return undefined;
  const backend = tf.backend() as Partial<JpegDecodingBackend>;
  return typeof backend.decodeJpeg === "function" ? (backend as JpegDecodingBackend) : undefined;
}

/** The decoder posters go through now: TensorFlow's where native TensorFlow is the active backend, else jimp. */
export function activePosterDecoder(): PosterDecoder {
  return jpegDecodingBackend() !== undefined ? "tensorflow" : "jimp";
}

/**
 * The decoder in the words of a cache key (this poster cache's, and the MobileNet features'): a cache is never reused
 * by another decoder. jimp's words are the ones keys had before there was a choice, so those caches stay valid.
 */
export function posterDecoderKeyWords(decoder: PosterDecoder): string {
  return decoder === "tensorflow" ? "TensorFlow DecodeJpeg (libjpeg-turbo, fancy upscaling, default DCT; PNG: jimp)" : "jimp";
}

/** What produced the numbers of a preprocessed poster, with this decoder. Bump when anything changes the numbers produced. */
export function posterPipelineVersion(decoder: PosterDecoder): string {
  return `posters/1: ${posterDecoderKeyWords(decoder)} RGB decode, u8*f32(1/255), TF2 bilinear half-pixel no-antialias`;
}

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

/** How a poster is decoded: the decoder, by default the active one (activePosterDecoder). */
export interface DecodeOptions {
  decoder?: PosterDecoder;
}

/** Decodes a JPEG/PNG file to RGB float32 in [0,1], HWC; alpha is dropped. */
export async function decodePoster(file: string, options: DecodeOptions = {}): Promise<DecodedPoster> {
  return decodePosterBytes(await readPosterBytes(file), file, options);
}

/**
 * The decoder's failure as a PosterError, with its one-line message as a detail for debugging, never its stack
 * (TensorFlow's errors come as "Invalid TF_Status: 3\nMessage: ...": the message line).
 */
function decoderFailure(file: string, err: unknown): PosterError {
  const message = err instanceof Error ? err.message : String(err);
  const detail = (/^Message: (.*)$/m.exec(message)?.[1] ?? message.split("\n")[0]!).trim();
  return new PosterError(file, `corrupt or unsupported image data, the decoder failed (${detail})`);
}

/**
 * Decodes a JPEG or PNG given as bytes (`file`: how messages name it) to RGB float32 in [0,1], HWC; alpha is dropped.
 * What decodePoster does after reading the file, and what the web page does with a dropped poster: the same checks,
 * the same scaling, and the decoder the backend has (TensorFlow's JPEG decoder on native TensorFlow, else jimp).
 */
export async function decodePosterBytes(bytes: Uint8Array, file: string, options: DecodeOptions = {}): Promise<DecodedPoster> {
  checkPosterBytes(bytes, file);
  const decoder = options.decoder ?? activePosterDecoder();
  if (decoder === "tensorflow" && startsWith(bytes, JPEG_SIGNATURE)) return decodeWithTensorFlow(bytes, file);
  let bitmap: { width: number; height: number; data: Uint8Array };
  try {
    bitmap = (await Jimp.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))).bitmap;
  } catch (err) {
    throw decoderFailure(file, err);
  }
  const { width, height, data: rgba } = bitmap;
  if (!(width > 0 && height > 0) || rgba.length < width * height * 4) {
    throw new PosterError(file, `decoder returned an empty or malformed bitmap (${width}x${height})`);
  }
  return scaled(rgba, width, height, 4);
}

/** Pixels of `stride` bytes each (RGB first) as RGB float32 in [0, 1], as convert_image_dtype scales them. */
function scaled(pixels: ArrayLike<number>, width: number, height: number, stride: number): DecodedPoster {
  const n = width * height;
  const data = new Float32Array(n * CHANNELS);
  for (let p = 0, q = 0; p < n; p++, q += stride) {
    data[p * 3] = U8_TO_F32[pixels[q]!]!;
    data[p * 3 + 1] = U8_TO_F32[pixels[q + 1]!]!;
    data[p * 3 + 2] = U8_TO_F32[pixels[q + 2]!]!;
  }
  return { width, height, data };
}

/** A JPEG through TensorFlow's DecodeJpeg with tf.io.decode_jpeg's defaults and 3 channels, as the template decodes. */
function decodeWithTensorFlow(bytes: Uint8Array, file: string): DecodedPoster {
  const backend = jpegDecodingBackend();
  if (backend === undefined) throw new Error("TensorFlow's JPEG decoder needs native TensorFlow as the active backend");
  let pixels: Int32Array;
  let shape: number[];
  try {
    // uint8 out of the op; tfjs reads int32
    const decoded = tf.tidy(() => backend.decodeJpeg(bytes, CHANNELS, 1, true, false, 1, "").toInt());
    shape = decoded.shape;
    pixels = decoded.dataSync() as Int32Array;
    decoded.dispose();
  } catch (err) {
    throw decoderFailure(file, err);
  }
  const [height, width, channels] = shape;
  if (!(height! > 0 && width! > 0) || channels !== CHANNELS) {
    throw new PosterError(file, `decoder returned an empty or malformed bitmap (${width}x${height})`);
  }
  return scaled(pixels, width!, height!, CHANNELS);
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
export async function preparePoster(file: string, size = 64, options: DecodeOptions = {}): Promise<Float32Array> {
  const img = await decodePoster(file, options);
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
  /** The JPEG decoder the rows were made with. */
  decoder: PosterDecoder;
  fromCache: boolean;
  cacheFile: string;
}

export interface LoadPostersOptions extends DecodeOptions {
  size: number;
  cacheDir: string;
  onProgress?: (done: number, total: number) => void;
}

/** The poster cache's key: the pipeline version (with the decoder), the size and each poster file's path, size and mtime. */
function cacheKey(sources: readonly PosterSource[], size: number, decoder: PosterDecoder): Promise<string> {
  return fileSourcesKey(`${posterPipelineVersion(decoder)}\nformat ${CACHE_FORMAT_VERSION}\nsize ${size}\n`, sources);
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
  const decoder = options.decoder ?? activePosterDecoder();
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
    // Sequential: jimp took ~5 ms per 150x300 poster (~28 s for all 5,692 on 2 cores), TensorFlow's decoder a
    // fraction of that; a worker pool would at best halve jimp's time on two cores.
    for (let i = 0; i < sources.length; i++) {
      const { id, file } = sources[i]!;
      try {
        all.set(await preparePoster(file, size, { decoder }), ids.length * stride);
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
    {
      cacheDir,
      prefix: `posters-${size}`,
      key: await cacheKey(sources, size, decoder),
      pipeline: posterPipelineVersion(decoder),
      rowLength: stride,
      extra: { size },
    },
    compute,
  );
  if (rows.fromCache) onProgress?.(sources.length, sources.length);
  return { ids: rows.ids, size, data: rows.data, skipped: rows.skipped, decoder, fromCache: rows.fromCache, cacheFile: rows.cacheFile };
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
  const decoder = posters.decoder === "tensorflow" ? "TensorFlow's JPEG decoder" : "jimp's JPEG decoder";
  log(
    `${posters.ids.length} posters ${posters.fromCache ? "loaded from the cache" : "preprocessed and cached"} in ${seconds} s (${decoder}; ${posters.cacheFile})`,
  );
  for (const p of posters.skipped) log(`poster skipped: ${p.id}: ${p.file}: ${p.reason}`);
  return posters;
}
