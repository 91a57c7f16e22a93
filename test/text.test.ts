import * as assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MAX_OVERVIEW_WORDS, TextVectorizer, limitOverview, splitWords, standardize, tokenCounts, tokenize } from "../lib/data/text";

// Expected values below are worked out by hand from the Keras rules, not
// captured from this implementation.

// the:3  cat:2 sat:2 dog:2  a:1  ->  '', [UNK], the, sat, dog, cat, a
const CORPUS = ["the cat sat", "The dog sat.", "a cat, the DOG!"];
const CORPUS_VOCABULARY = ["", "[UNK]", "the", "sat", "dog", "cat", "a"];

describe("text: standardize", () => {
  it("lower-cases ASCII letters", () => {
    assert.equal(standardize("Hello WORLD MiXeD"), "hello world mixed");
  });

  it("lower-cases ASCII only, as tf.strings.lower without encoding does", () => {
    assert.equal(standardize("ÉCOLE"), "École");
    assert.equal(standardize("ÀB Ωmega"), "Àb Ωmega");
  });

  it("removes hyphens, apostrophes and ellipses", () => {
    assert.equal(standardize("hard-to-please"), "hardtoplease");
    assert.equal(standardize("daughter's"), "daughters");
    assert.equal(standardize("wait..."), "wait");
    assert.equal(standardize("..."), "");
  });

  it("removes every ASCII punctuation character and keeps digits", () => {
    assert.equal(standardize("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"), "");
    assert.equal(standardize("R2-D2, (1977)"), "r2d2 1977");
  });

  it("keeps Unicode punctuation such as em dash and curly quotes", () => {
    assert.equal(standardize("love—and war"), "love—and war");
    assert.equal(standardize("It’s “Here”"), "it’s “here”");
  });
});

describe("text: splitWords / tokenize", () => {
  it("splits on every ASCII whitespace kind and drops empty tokens", () => {
    assert.deepEqual(splitWords("  a\tb\nc   d\r\ne\vf\fg  "), ["a", "b", "c", "d", "e", "f", "g"]);
    assert.deepEqual(splitWords(""), []);
    assert.deepEqual(splitWords(" \t\n "), []);
  });

  it("does not split on a no-break space", () => {
    assert.deepEqual(splitWords("a\u00a0b c"), ["a\u00a0b", "c"]);
  });

  it("drops tokens that were only punctuation", () => {
    assert.deepEqual(tokenize("One - two ... THREE!"), ["one", "two", "three"]);
  });

  it("counts tokens per text", () => {
    assert.deepEqual(tokenCounts(["The end.", "", "one - two", "..."]), [2, 0, 2, 0]);
  });
});

describe("text: limitOverview (MAX_OVERVIEW_WORDS)", () => {
  it("keeps a text of at most maxWords words whole and cuts a longer one after its maxWords-th word", () => {
    assert.equal(MAX_OVERVIEW_WORDS, 200);
    assert.deepEqual(limitOverview("A spy,  a ship.", 4), { text: "A spy,  a ship.", words: 4, cut: false });
    assert.deepEqual(limitOverview(" A spy,\ta ship; and a ghost.", 3), { text: " A spy,\ta", words: 7, cut: true });
    // A no-break space is not whitespace to Keras's split, so it does not end a word here either.
    assert.deepEqual(limitOverview("one\u00a0two three", 1), { text: "one\u00a0two", words: 2, cut: true });
    const long = Array.from({ length: 250 }, (_, i) => `w${i}`).join(" ");
    const limited = limitOverview(long);
    assert.equal(limited.words, 250);
    assert.equal(tokenize(limited.text).length, 200);
    assert.equal(tokenize(limited.text).at(-1), "w199");
  });
});

describe("text: TextVectorizer.adapt vocabulary", () => {
  it("puts '' and '[UNK]' first, then descending frequency, ties by descending token", () => {
    const vectorizer = TextVectorizer.adapt(CORPUS);
    assert.deepEqual(vectorizer.vocabulary, CORPUS_VOCABULARY);
    assert.equal(vectorizer.vocabularySize(), 7);
  });

  it("counts total occurrences, not documents", () => {
    // b: 3 occurrences in 1 document; a, c: 2 occurrences in 2 documents.
    const vectorizer = TextVectorizer.adapt(["b b b", "a c", "a c"]);
    assert.deepEqual(vectorizer.vocabulary, ["", "[UNK]", "b", "c", "a"]);
  });

  it("breaks ties by UTF-8 byte order, not UTF-16 order", () => {
    // UTF-8: '😀' F0.. > 'ｚ' EF BD 9A > 'b' > 'a' (UTF-16 would put 'ｚ' first).
    const vectorizer = TextVectorizer.adapt(["ｚ 😀", "b a"]);
    assert.deepEqual(vectorizer.vocabulary, ["", "[UNK]", "😀", "ｚ", "b", "a"]);
  });

  it("truncates to maxTokens counting the two special tokens", () => {
    assert.deepEqual(TextVectorizer.adapt(CORPUS, { maxTokens: 4 }).vocabulary, ["", "[UNK]", "the", "sat"]);
    assert.deepEqual(TextVectorizer.adapt(CORPUS, { maxTokens: 2 }).vocabulary, ["", "[UNK]"]);
    assert.deepEqual(TextVectorizer.adapt(CORPUS, { maxTokens: 100 }).vocabulary, CORPUS_VOCABULARY);
  });

  it("gives only the special tokens for texts without words", () => {
    assert.deepEqual(TextVectorizer.adapt(["", "...", " - "]).vocabulary, ["", "[UNK]"]);
  });

  it("rejects invalid settings", () => {
    assert.throws(() => TextVectorizer.adapt(CORPUS, { maxTokens: 1 }), /maxTokens/);
    assert.throws(() => TextVectorizer.adapt(CORPUS, { maxTokens: 2.5 }), /maxTokens/);
    assert.throws(() => TextVectorizer.adapt(CORPUS, { sequenceLength: 0 }), /sequenceLength/);
  });
});

describe("text: TextVectorizer encoding", () => {
  const vectorizer = TextVectorizer.adapt(CORPUS);

  it("maps unknown words to 1", () => {
    assert.deepEqual([...vectorizer.encode("The cat ate a fish")], [2, 5, 1, 6, 1]);
  });

  it("encodes empty and all-punctuation text to no ids", () => {
    assert.deepEqual([...vectorizer.encode("")], []);
    assert.deepEqual([...vectorizer.encode("?!...")], []);
  });

  it("truncates a single text to sequenceLength without padding it", () => {
    const fixed = TextVectorizer.adapt(CORPUS, { sequenceLength: 2 });
    assert.deepEqual([...fixed.encode("the cat sat")], [2, 5]);
    assert.deepEqual([...fixed.encode("cat")], [5]);
  });

  it("keeps the first N tokens and pads at the end for a fixed length", () => {
    const batch = vectorizer.encodeBatch(["the cat sat dog a", "dog", ""], 3);
    assert.deepEqual(batch.shape, [3, 3]);
    assert.deepEqual([...batch.ids], [2, 5, 3, 4, 0, 0, 0, 0, 0]);
  });

  it("uses the configured sequence length unless the argument overrides it", () => {
    const fixed = TextVectorizer.adapt(CORPUS, { sequenceLength: 4 });
    const configured = fixed.encodeBatch(["cat dog"]);
    assert.deepEqual(configured.shape, [1, 4]);
    assert.deepEqual([...configured.ids], [5, 4, 0, 0]);
    const overridden = fixed.encodeBatch(["cat dog"], 1);
    assert.deepEqual(overridden.shape, [1, 1]);
    assert.deepEqual([...overridden.ids], [5]);
  });

  it("pads to the longest text in the batch when no length is set", () => {
    const batch = vectorizer.encodeBatch(["cat", "the dog sat", "..."]);
    assert.deepEqual(batch.shape, [3, 3]);
    assert.deepEqual([...batch.ids], [5, 0, 0, 2, 4, 3, 0, 0, 0]);
  });

  it("gives shape [n, 0] when no text in the batch has a word", () => {
    const batch = vectorizer.encodeBatch(["", "...", " \t "]);
    assert.deepEqual(batch.shape, [3, 0]);
    assert.equal(batch.ids.length, 0);
  });

  it("encodes 5,000 overviews of 26 words quickly", () => {
    const words = Array.from({ length: 3000 }, (_, i) => `w${i}`);
    const texts = Array.from(
      { length: 5000 },
      (_, row) => Array.from({ length: 26 }, (_, col) => words[(row * 31 + col * 7) % words.length]).join(" ") + ".",
    );
    const large = TextVectorizer.adapt(texts, { maxTokens: 10000 });
    const started = process.hrtime.bigint();
    const batch = large.encodeBatch(texts, 30);
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.deepEqual(batch.shape, [5000, 30]);
    assert.ok(elapsedMs < 500, `encodeBatch took ${elapsedMs.toFixed(1)} ms`);
  });
});

describe("text: TextVectorizer JSON", () => {
  let directory: string;
  beforeEach(async () => {
    directory = await fs.mkdtemp(path.join(os.tmpdir(), "text-vectorizer-"));
  });
  afterEach(async () => {
    await fs.rm(directory, { recursive: true, force: true });
  });

  it("serializes settings and vocabulary as a versioned plain object", () => {
    const vectorizer = TextVectorizer.adapt(CORPUS, { maxTokens: 5, sequenceLength: 8 });
    assert.deepEqual(JSON.parse(JSON.stringify(vectorizer)), {
      format: "keras-text-vectorization",
      version: 1,
      maxTokens: 5,
      sequenceLength: 8,
      standardize: "lower_and_strip_punctuation",
      split: "whitespace",
      vocabulary: ["", "[UNK]", "the", "sat", "dog"],
    });
    assert.deepEqual(TextVectorizer.adapt(CORPUS).toJSON().maxTokens, null);
  });

  it("saves and loads back to the same ids and settings", async () => {
    const original = TextVectorizer.adapt(CORPUS, { maxTokens: 6, sequenceLength: 4 });
    const file = path.join(directory, "vocabulary.json");
    await original.save(file);
    assert.deepEqual(await fs.readdir(directory), ["vocabulary.json"]);

    const loaded = await TextVectorizer.load(file);
    assert.deepEqual(loaded.vocabulary, ["", "[UNK]", "the", "sat", "dog", "cat"]);
    assert.equal(loaded.maxTokens, 6);
    assert.equal(loaded.sequenceLength, 4);
    const batch = loaded.encodeBatch(["The cat sat on a dog!", "dog"]);
    assert.deepEqual(batch.shape, [2, 4]);
    assert.deepEqual([...batch.ids], [2, 5, 3, 1, 4, 0, 0, 0]);
  });

  it("names the file when the vocabulary is malformed", async () => {
    const file = path.join(directory, "broken.json");
    const valid = TextVectorizer.adapt(CORPUS).toJSON();
    const writeAndLoad = async (content: unknown) => {
      await fs.writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
      return TextVectorizer.load(file);
    };
    const mentionsFile = (detail: RegExp) => (error: unknown) =>
      error instanceof Error && error.message.includes(file) && detail.test(error.message);

    await assert.rejects(writeAndLoad({ ...valid, vocabulary: ["[UNK]", "", "the"] }), mentionsFile(/vocabulary\[0\]/));
    await assert.rejects(writeAndLoad({ ...valid, vocabulary: ["", "the", "[UNK]"] }), mentionsFile(/vocabulary\[1\]/));
    await assert.rejects(
      writeAndLoad({ ...valid, vocabulary: ["", "[UNK]", "the", "cat", "the"] }),
      mentionsFile(/duplicate token "the" at ids 2 and 4/),
    );
    await assert.rejects(writeAndLoad({ ...valid, vocabulary: ["", "[UNK]", 7] }), mentionsFile(/vocabulary\[2\] must be a string/));
    await assert.rejects(writeAndLoad({ ...valid, vocabulary: "the cat" }), mentionsFile(/vocabulary must be an array/));
    await assert.rejects(writeAndLoad({ ...valid, maxTokens: 3 }), mentionsFile(/maxTokens is 3/));
    await assert.rejects(writeAndLoad({ ...valid, sequenceLength: "10" }), mentionsFile(/sequenceLength/));
    await assert.rejects(writeAndLoad({ ...valid, version: 2 }), mentionsFile(/version/));
    await assert.rejects(writeAndLoad({ ...valid, format: undefined }), mentionsFile(/format/));
    await assert.rejects(writeAndLoad("{ not json"), mentionsFile(/not valid JSON/));
    await assert.rejects(writeAndLoad("[]"), mentionsFile(/expected a JSON object/));
  });

  it("names the file when it cannot be read", async () => {
    const missing = path.join(directory, "missing.json");
    await assert.rejects(TextVectorizer.load(missing), (error: unknown) => error instanceof Error && error.message.includes(missing));
  });

  it("validates objects given to fromJSON directly", () => {
    assert.throws(() => TextVectorizer.fromJSON(null), /vocabulary JSON.*expected a JSON object/);
    assert.throws(
      () => TextVectorizer.fromJSON({ ...TextVectorizer.adapt(CORPUS).toJSON(), split: "character" }, "mine"),
      /\(mine\).*split/,
    );
  });
});
