/**
 * Text vectorization that reproduces Keras `TextVectorization` with
 * `standardize='lower_and_strip_punctuation'`, `split='whitespace'`,
 * `output_mode='int'`, so that the overview LSTM sees the same ids as the
 * Python coursework.
 *
 * Keras behaviour this mirrors (keras/src/layers/preprocessing/
 * text_vectorization.py and index_lookup.py):
 * - `tf.strings.lower(x)` is called WITHOUT `encoding='utf-8'`, and the
 *   StringLower kernel then lower-cases ASCII only (absl::AsciiStrToLower):
 *   "ÉCOLE" becomes "École", not "école".
 * - The strip regex only names ASCII punctuation, so '—' or '’' survive.
 * - `tf.strings.split(x)` splits on ASCII whitespace only (a no-break space
 *   stays inside a token).
 * - The adapted vocabulary is sorted with `np.lexsort((tokens, counts))[::-1]`
 *   over UTF-8 bytes: count descending, ties by token descending.
 */
import * as tf from "@tensorflow/tfjs";
import { loadJson, saveJson } from "../runtime/files";

export const PADDING_TOKEN = "";
export const OOV_TOKEN = "[UNK]";
export const PADDING_ID = 0;
export const OOV_ID = 1;
/** Ids below this are the two special tokens; learned tokens start here. */
const FIRST_LEARNED_ID = 2;

export const VOCABULARY_FORMAT = "keras-text-vectorization";
export const VOCABULARY_FORMAT_VERSION = 1;

export interface TextVectorizerConfig {
  /** Vocabulary size including '' and '[UNK]' (Keras `max_tokens`); undefined keeps every token. */
  maxTokens?: number;
  /** Keras `output_sequence_length`; undefined pads each batch to its longest text. */
  sequenceLength?: number;
}

export interface VocabularyJSON {
  format: typeof VOCABULARY_FORMAT;
  version: typeof VOCABULARY_FORMAT_VERSION;
  maxTokens: number | null;
  sequenceLength: number | null;
  standardize: "lower_and_strip_punctuation";
  split: "whitespace";
  vocabulary: string[];
}

export interface EncodedBatch {
  /** Row-major [rows, sequenceLength], zero-padded at the end of each row. */
  ids: Int32Array;
  shape: [number, number];
}

// Copied character for character from Keras's DEFAULT_STRIP_REGEX so the two
// can be diffed; note `,-\.` is the range ',' .. '.', which is how '-' gets in.
// eslint-disable-next-line no-useless-escape -- kept as Keras writes it
const KERAS_STRIP_PUNCTUATION = /[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']/g;
const ASCII_UPPERCASE = /[A-Z]+/g;
const ASCII_WHITESPACE = /[ \t\n\v\f\r]+/;

/** Keras 'lower_and_strip_punctuation': ASCII lower-casing, then ASCII punctuation removed. */
export function standardize(text: string): string {
  return text
    .replace(ASCII_UPPERCASE, (upper) => upper.toLowerCase())
    .replace(KERAS_STRIP_PUNCTUATION, "");
}

/** Keras split='whitespace' (tf.strings.split with sep=None). */
export function splitWords(text: string): string[] {
  return text.split(ASCII_WHITESPACE).filter((word) => word.length > 0);
}

export function tokenize(text: string): string[] {
  return splitWords(standardize(text));
}

/** Length of each text in tokens, as the vectorizer sees it (before truncation). */
export function tokenCounts(texts: readonly string[]): number[] {
  return texts.map((text) => tokenize(text).length);
}

/**
 * Orders strings as their UTF-8 bytes would be ordered (numpy compares the
 * bytes). Plain `<` compares UTF-16 units, which puts U+E000..U+FFFF above
 * astral characters; shifting the units restores code point order.
 */
function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const unitA = a.charCodeAt(i);
    const unitB = b.charCodeAt(i);
    if (unitA !== unitB) {
      return codePointOrderKey(unitA) - codePointOrderKey(unitB);
    }
  }
  return a.length - b.length;
}

function codePointOrderKey(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}

function validateConfig(config: TextVectorizerConfig, where: string): void {
  const { maxTokens, sequenceLength } = config;
  // Keras rejects max_tokens <= 1; 2 leaves room for the specials only.
  if (maxTokens !== undefined && !(isPositiveInteger(maxTokens) && maxTokens >= 2)) {
    throw new Error(`${where}: maxTokens must be an integer >= 2 (it counts '' and '[UNK]'), got ${String(maxTokens)}`);
  }
  if (sequenceLength !== undefined && !isPositiveInteger(sequenceLength)) {
    throw new Error(`${where}: sequenceLength must be a positive integer, got ${String(sequenceLength)}`);
  }
}

/**
 * The longest overview any model reads, in words (runs of non-whitespace, whitespace being ASCII's as in
 * Keras's split). Keras pads a batch to its longest text when `output_sequence_length` is unset, and so does
 * the workbook, so one very long overview would make every step of its batch that long: the BiLSTM's memory
 * and time grow with it, and explanations (one prediction per word left out) with its square. The coursework's
 * overviews have at most 68 words, so this limit changes nothing there; a longer overview is cut to its first
 * MAX_OVERVIEW_WORDS words where it is read (the dataset loader and the commands that take a text warn, naming it).
 */
export const MAX_OVERVIEW_WORDS = 200;

const WORD = /[^ \t\n\v\f\r]+/g;

export interface LimitedOverview {
  /** The text up to the end of its last kept word (the whole text when it is short enough). */
  text: string;
  /** Words in the whole text. */
  words: number;
  cut: boolean;
}

/** `text` cut after its `maxWords`-th word; what follows, whitespace included, is dropped. */
export function limitOverview(text: string, maxWords = MAX_OVERVIEW_WORDS): LimitedOverview {
  let words = 0;
  let end = text.length;
  for (const match of text.matchAll(WORD)) {
    words++;
    if (words === maxWords) end = (match.index ?? 0) + match[0].length;
  }
  return words > maxWords ? { text: text.slice(0, end), words, cut: true } : { text, words, cut: false };
}

export class TextVectorizer {
  readonly vocabulary: readonly string[];
  readonly maxTokens: number | undefined;
  readonly sequenceLength: number | undefined;
  private readonly idByToken: ReadonlyMap<string, number>;

  private constructor(vocabulary: readonly string[], config: TextVectorizerConfig) {
    this.vocabulary = Object.freeze([...vocabulary]);
    this.maxTokens = config.maxTokens;
    this.sequenceLength = config.sequenceLength;
    this.idByToken = new Map(vocabulary.map((token, id) => [token, id]));
  }

  /** Learns the vocabulary the way Keras `adapt` does; pass training texts only. */
  static adapt(texts: readonly string[], config: TextVectorizerConfig = {}): TextVectorizer {
    validateConfig(config, "TextVectorizer.adapt");
    const occurrences = new Map<string, number>();
    for (const text of texts) {
      for (const token of tokenize(text)) {
        occurrences.set(token, (occurrences.get(token) ?? 0) + 1);
      }
    }
    // Standardization strips '[' and ']', so '[UNK]' cannot occur; deleting is
    // what Keras does anyway and keeps this true if standardization changes.
    occurrences.delete(PADDING_TOKEN);
    occurrences.delete(OOV_TOKEN);

    const ranked = [...occurrences.entries()].sort(
      ([tokenA, countA], [tokenB, countB]) => countB - countA || compareUtf8(tokenB, tokenA),
    );
    const learnedLimit = config.maxTokens === undefined ? ranked.length : config.maxTokens - FIRST_LEARNED_ID;
    const learned = ranked.slice(0, learnedLimit).map(([token]) => token);
    return new TextVectorizer([PADDING_TOKEN, OOV_TOKEN, ...learned], config);
  }

  /** Includes '' and '[UNK]', like Keras `vocabulary_size()`. */
  vocabularySize(): number {
    return this.vocabulary.length;
  }

  tokenId(token: string): number {
    return this.idByToken.get(token) ?? OOV_ID;
  }

  /** Ids of one text, cut to `sequenceLength` when set but never padded. */
  encode(text: string): Int32Array {
    const tokens = tokenize(text);
    const length = this.sequenceLength === undefined ? tokens.length : Math.min(tokens.length, this.sequenceLength);
    const ids = new Int32Array(length);
    for (let i = 0; i < length; i++) ids[i] = this.tokenId(tokens[i]!);
    return ids;
  }

  /**
   * Dense batch as Keras returns it: rows keep their first tokens and are
   * zero-padded at the end, to `sequenceLength` (argument, else config) or,
   * when neither is set, to the longest row of this batch (possibly 0).
   */
  encodeBatch(texts: readonly string[], sequenceLength?: number): EncodedBatch {
    const fixedLength = sequenceLength ?? this.sequenceLength;
    if (fixedLength !== undefined && !isPositiveInteger(fixedLength)) {
      throw new Error(`TextVectorizer.encodeBatch: sequenceLength must be a positive integer, got ${String(fixedLength)}`);
    }
    const rows = texts.map((text) => tokenize(text));
    const width = fixedLength ?? rows.reduce((longest, row) => Math.max(longest, row.length), 0);
    const ids = new Int32Array(rows.length * width);
    rows.forEach((row, rowIndex) => {
      const offset = rowIndex * width;
      const kept = Math.min(row.length, width);
      for (let i = 0; i < kept; i++) ids[offset + i] = this.tokenId(row[i]!);
    });
    return { ids, shape: [rows.length, width] };
  }

  toJSON(): VocabularyJSON {
    return {
      format: VOCABULARY_FORMAT,
      version: VOCABULARY_FORMAT_VERSION,
      maxTokens: this.maxTokens ?? null,
      sequenceLength: this.sequenceLength ?? null,
      standardize: "lower_and_strip_punctuation",
      split: "whitespace",
      vocabulary: [...this.vocabulary],
    };
  }

  /** `source` (e.g. a file path) is named in every validation error. */
  static fromJSON(json: unknown, source = "vocabulary JSON"): TextVectorizer {
    const fail = (problem: string): never => {
      throw new Error(`Invalid text vectorizer vocabulary (${source}): ${problem}`);
    };
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return fail("expected a JSON object");
    }
    const record = json as Record<string, unknown>;
    if (record.format !== VOCABULARY_FORMAT) {
      fail(`format must be "${VOCABULARY_FORMAT}", got ${JSON.stringify(record.format)}`);
    }
    if (record.version !== VOCABULARY_FORMAT_VERSION) {
      fail(`unsupported version ${JSON.stringify(record.version)} (this code reads version ${VOCABULARY_FORMAT_VERSION})`);
    }
    if (record.standardize !== "lower_and_strip_punctuation") {
      fail(`standardize must be "lower_and_strip_punctuation", got ${JSON.stringify(record.standardize)}`);
    }
    if (record.split !== "whitespace") {
      fail(`split must be "whitespace", got ${JSON.stringify(record.split)}`);
    }
    const maxTokens = record.maxTokens;
    if (maxTokens !== null && !(isPositiveInteger(maxTokens) && maxTokens >= 2)) {
      fail(`maxTokens must be null or an integer >= 2, got ${JSON.stringify(maxTokens)}`);
    }
    const sequenceLength = record.sequenceLength;
    if (sequenceLength !== null && !isPositiveInteger(sequenceLength)) {
      fail(`sequenceLength must be null or a positive integer, got ${JSON.stringify(sequenceLength)}`);
    }

    const vocabulary = record.vocabulary;
    if (!Array.isArray(vocabulary)) {
      return fail(`vocabulary must be an array of strings, got ${typeof vocabulary}`);
    }
    vocabulary.forEach((token, id) => {
      if (typeof token !== "string") fail(`vocabulary[${id}] must be a string, got ${JSON.stringify(token)}`);
    });
    if (vocabulary[0] !== PADDING_TOKEN) {
      fail(`vocabulary[0] must be the padding token "", got ${JSON.stringify(vocabulary[0])}`);
    }
    if (vocabulary[1] !== OOV_TOKEN) {
      fail(`vocabulary[1] must be the OOV token "${OOV_TOKEN}", got ${JSON.stringify(vocabulary[1])}`);
    }
    const firstIdOf = new Map<string, number>();
    vocabulary.forEach((token: string, id) => {
      const earlier = firstIdOf.get(token);
      if (earlier !== undefined) fail(`duplicate token ${JSON.stringify(token)} at ids ${earlier} and ${id}`);
      firstIdOf.set(token, id);
    });
    if (typeof maxTokens === "number" && vocabulary.length > maxTokens) {
      fail(`vocabulary has ${vocabulary.length} entries but maxTokens is ${maxTokens}`);
    }

    const config: TextVectorizerConfig = {};
    if (typeof maxTokens === "number") config.maxTokens = maxTokens;
    if (typeof sequenceLength === "number") config.sequenceLength = sequenceLength;
    return new TextVectorizer(vocabulary as string[], config);
  }

  /** Written atomically (readers never see half a vocabulary). */
  async save(filePath: string): Promise<void> {
    await saveJson(filePath, this.toJSON(), { indent: 0 });
  }

  static async load(filePath: string): Promise<TextVectorizer> {
    return TextVectorizer.fromJSON(await loadJson(filePath, "text vectorizer vocabulary"), filePath);
  }
}

/** Encoded overviews as one [n, length] int32 tensor, padded at the end with 0 (see data/batches.ts overviewTrainingData). */
export function overviewTensor(encoded: readonly Int32Array[], sequenceLength?: number, minLength = 1): tf.Tensor2D {
  const width = sequenceLength ?? Math.max(minLength, ...encoded.map((e) => e.length));
  const ids = new Int32Array(encoded.length * width);
  encoded.forEach((e, i) => ids.set(e.subarray(0, width), i * width));
  return tf.tensor2d(ids, [encoded.length, width], "int32");
}
