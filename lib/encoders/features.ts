/**
 * Pretrained features of a list of films, extracted in batches with progress and cached on disk like the
 * preprocessed posters (data/row-cache.ts): keyed by the encoder, its package version, the input size and
 * each input (a poster file's path/size/mtime; an overview's text), so a second run loads them in seconds
 * and a changed poster or overview is encoded again. An encoder is loaded only when something is missing.
 * Posters that cannot be read are reported and skipped, as everywhere else in the workbook.
 */
import type { Film } from "../data/dataset";
import { PosterDecoder, PosterError, activePosterDecoder, decodePoster, DecodedPoster, posterDecoderKeyWords } from "../data/posters";
import { CachedRows, SkippedSource, cachedRows, fileSourcesKey, textSourcesKey } from "../data/row-cache";
import { progressPrinter } from "../runtime/progress";
import { MOBILENET_DIMS, MOBILENET_PACKAGE, ImageEncoder, imageFeatures, loadImageEncoder } from "./mobilenet";
import { EncoderInfo, describeEncoder, installedPackage } from "./provenance";
import { USE_LITE_DIMS, USE_LITE_PACKAGE, SentenceEncoder, embedTexts, loadSentenceEncoder } from "./use-lite";

/** Bump when anything changes the numbers produced, so that old caches are never reused. */
const OVERVIEW_PIPELINE = "features/use-lite/1: Tokenizer.encode, batches sorted by token count";
/** The posters' pipeline with this JPEG decoder (the decoder decides the pixels: part of the key). */
function posterPipeline(decoder: PosterDecoder): string {
  return `features/mobilenet-v2/1: ${posterDecoderKeyWords(decoder)} RGB decode, u8*f32(1/255), aligned-corners bilinear resize; pooled + class scores`;
}

/** Features of films, row-major [ids.length, dims]; films whose input could not be read are in `skipped`. */
export interface FilmFeatures extends CachedRows {
  encoder: EncoderInfo;
  dims: number;
}

export interface FeatureOptions {
  cacheDir: string;
  log?: (line: string) => void;
  /** Progress line every this fraction of the work (default 0.1). */
  progressStep?: number;
}

function report(features: FilmFeatures, seconds: number, log: (line: string) => void): void {
  log(
    `${features.ids.length} ${describeEncoder(features.encoder)} feature rows ${features.fromCache ? "loaded from the cache" : "computed and cached"} ` +
      `in ${seconds.toFixed(1)} s (${features.cacheFile})`,
  );
  for (const p of features.skipped) log(`skipped: ${p.id}: ${p.file}: ${p.reason}`);
}

/** USE-lite embeddings of the films' overviews (512 per film). */
export async function overviewFeatures(
  films: readonly Film[],
  options: FeatureOptions & { encoder?: SentenceEncoder },
): Promise<FilmFeatures> {
  const log = options.log ?? console.log;
  const started = Date.now();
  const version = options.encoder?.info.version ?? installedPackage(USE_LITE_PACKAGE).version;
  const header = `${OVERVIEW_PIPELINE}\n${USE_LITE_PACKAGE} ${version}\n`;
  const rows = await cachedRows(
    films.map((f) => f.id),
    {
      cacheDir: options.cacheDir,
      prefix: "features-use-lite",
      key: textSourcesKey(
        header,
        films.map((f) => ({ id: f.id, text: f.overview })),
      ),
      pipeline: OVERVIEW_PIPELINE,
      rowLength: USE_LITE_DIMS,
    },
    async () => {
      const encoder = options.encoder ?? (await loadSentenceEncoder());
      const onProgress = progressPrinter("overview embeddings", options.progressStep ?? 0.1, log);
      const data = await embedTexts(
        encoder,
        films.map((f) => f.overview),
        { onProgress },
      );
      return { ids: films.map((f) => f.id), data, skipped: [] };
    },
    log,
  );
  const features: FilmFeatures = {
    ...rows,
    encoder: { name: "use-lite", package: USE_LITE_PACKAGE, version, dims: USE_LITE_DIMS },
    dims: USE_LITE_DIMS,
  };
  report(features, (Date.now() - started) / 1000, log);
  return features;
}

/** MobileNetV2 features of the films' posters (1,285 per film: pooled features and class scores). */
export async function posterFeatures(
  films: readonly Film[],
  options: FeatureOptions & { size: number; encoder?: ImageEncoder; batchSize?: number },
): Promise<FilmFeatures> {
  const log = options.log ?? console.log;
  const started = Date.now();
  const version = options.encoder?.info.version ?? installedPackage(MOBILENET_PACKAGE).version;
  const sources = films.map((f) => ({ id: f.id, file: f.posterFile }));
  const decoder = activePosterDecoder();
  const header = `${posterPipeline(decoder)}\n${MOBILENET_PACKAGE} ${version}\nsize ${options.size}\n`;
  const rows = await cachedRows(
    sources.map((s) => s.id),
    {
      cacheDir: options.cacheDir,
      prefix: `features-mobilenet-v2-${options.size}`,
      key: await fileSourcesKey(header, sources),
      pipeline: posterPipeline(decoder),
      rowLength: MOBILENET_DIMS,
    },
    async () => extractPosterFeatures(sources, options.encoder ?? (await loadImageEncoder(options.size)), { ...options, decoder, log }),
    log,
  );
  const features: FilmFeatures = {
    ...rows,
    encoder: { name: "mobilenet-v2", package: MOBILENET_PACKAGE, version, dims: MOBILENET_DIMS, inputSize: options.size },
    dims: MOBILENET_DIMS,
  };
  report(features, (Date.now() - started) / 1000, log);
  return features;
}

/**
 * The posters' features, computed: each poster decoded (one that cannot be read is skipped, with its reason) and
 * encoded in small batches, the rows in the order of the films that could be read.
 */
async function extractPosterFeatures(
  sources: readonly { id: string; file: string }[],
  encoder: ImageEncoder,
  options: { batchSize?: number; progressStep?: number; decoder: PosterDecoder; log: (line: string) => void },
): Promise<{ ids: string[]; data: Float32Array; skipped: SkippedSource[] }> {
  // Small batches: the wasm heap keeps its peak, and batches of 32 at 224 need ~1 GB for no gain in speed.
  const batchSize = options.batchSize ?? 8;
  const onProgress = progressPrinter("poster features", options.progressStep ?? 0.1, options.log);
  const ids: string[] = [];
  const skipped: SkippedSource[] = [];
  const chunks: Float32Array[] = [];
  let batch: { id: string; poster: DecodedPoster }[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    chunks.push(
      await imageFeatures(
        encoder,
        batch.map((b) => b.poster),
      ),
    );
    ids.push(...batch.map((b) => b.id));
    batch = [];
  };
  for (let i = 0; i < sources.length; i++) {
    const { id, file } = sources[i] as { id: string; file: string };
    try {
      batch.push({ id, poster: await decodePoster(file, { decoder: options.decoder }) });
    } catch (err) {
      if (!(err instanceof PosterError)) throw err;
      skipped.push({ id, file, reason: err.reason });
    }
    if (batch.length === batchSize) await flush();
    onProgress(i + 1, sources.length);
  }
  await flush();
  const data = new Float32Array(ids.length * MOBILENET_DIMS);
  let offset = 0;
  for (const c of chunks) {
    data.set(c, offset);
    offset += c.length;
  }
  return { ids, data, skipped };
}
