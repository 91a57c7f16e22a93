import * as assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { CsrMatrix, TfidfVectorizer, terms } from "../lib/data/tfidf";
import { LINEAR_PRESETS, TEXT_BRANCH_PRESETS, TfidfBaselineSettings } from "../lib/kinds/presets";
import { LINEAR_KIND, TEXT_BRANCH_KIND } from "../lib/kinds/tfidf-baselines";
import { loadModel } from "../lib/kinds/registry";
import { predictFilms } from "../lib/eval/inference";
import { trainRun } from "../lib/train/lifecycle";
import { buildTfidfMlp, buildLogisticRegression, frequencyPrior, priorPredictions } from "../lib/models/baselines";
import { tfidfTrainingData } from "../lib/data/batches";
import type { Dataset } from "../lib/data/dataset";
import { weightedBinaryCrossentropy, positiveWeights } from "../lib/models/losses";
import { seededRandom } from "../lib/runtime/random";
import { silentProgress } from "../lib/train/progress";
import { trainModel } from "../lib/train/trainer";
import { useBackend } from "./helpers";

// Expected values are worked out by hand or from the formulas in plain JS, never from the code under test.

function closeTo(actual: number, expected: number, tolerance = 1e-6, what = ""): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} expected ${expected}, got ${actual}`);
}

/** Row i of a CSR matrix as { term: value }. */
function rowOf(m: CsrMatrix, vocabulary: readonly string[], i: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let k = m.rowOffsets[i] as number; k < (m.rowOffsets[i + 1] as number); k++)
    out[vocabulary[m.indices[k] as number] as string] = m.values[k] as number;
  return out;
}

function tinyDataset(overviews: string[], labelRows: number[][], genres: string[]): Dataset {
  const labels = Uint8Array.from(labelRows.flat());
  return {
    dir: "/nowhere",
    csvFile: "/nowhere/x.csv",
    imagesDir: "/nowhere/Images",
    genres,
    films: overviews.map((overview, i) => ({
      id: `tt${String(i).padStart(7, "0")}`,
      line: i + 2,
      overview,
      genres: genres.filter((_, g) => labelRows[i]![g] === 1),
      posterFile: "",
    })),
    labels,
    problems: [],
    rowsRead: overviews.length,
  };
}

describe("baselines", function () {
  this.timeout(10000);
  useBackend("cpu");

  describe("frequency prior", () => {
    it("is each genre's frequency on the training rows, repeated for every film", () => {
      // 4 films x 2 genres; training rows 0, 1, 3: genre 0 in films 0, 3 -> 2/3; genre 1 in film 1 -> 1/3
      const labels = Uint8Array.from([1, 0, 0, 1, 1, 1, 1, 0]);
      const prior = frequencyPrior(labels, 2, [0, 1, 3]);
      closeTo(prior[0] as number, 2 / 3);
      closeTo(prior[1] as number, 1 / 3);
      const preds = priorPredictions(prior, 3);
      assert.equal(preds.length, 6);
      for (let f = 0; f < 3; f++) assert.deepEqual(Array.from(preds.subarray(2 * f, 2 * f + 2)), Array.from(prior));
      assert.throws(() => frequencyPrior(labels, 2, []), /no training rows/);
      assert.throws(() => frequencyPrior(labels, 3, [0]), /multiple/);
    });
  });

  describe("TfidfVectorizer", () => {
    // Tokens (Keras standardisation): d0 [the, cat, sat]  d1 [the, cat, the, dog]  d2 [a, dog, ran]
    // n = 3; df: the 2, cat 2, dog 2, a 1, sat 1, ran 1
    // idf(df 2) = ln(4/3) + 1 = 1.28768207; idf(df 1) = ln(4/2) + 1 = 1.69314718
    const docs = ["The cat sat.", "the cat, the DOG", "A dog ran"];
    const idf2 = Math.log(4 / 3) + 1;
    const idf1 = Math.log(2) + 1;

    it("computes smooth idf and L2-normalised raw-count rows (unigrams, minDf 1)", () => {
      const v = TfidfVectorizer.fit(docs, { minDf: 1, bigrams: false });
      assert.deepEqual(v.vocabulary, ["a", "cat", "dog", "ran", "sat", "the"]);
      closeTo(idf2, 1.28768207, 1e-8);
      closeTo(idf1, 1.69314718, 1e-8);
      assert.deepEqual(Array.from(v.documentFrequency), [1, 2, 2, 1, 1, 2]);
      [idf1, idf2, idf2, idf1, idf1, idf2].forEach((x, j) => closeTo(v.idf[j] as number, x, 1e-12));
      const m = v.transform(docs);
      assert.equal(m.rows, 3);
      assert.equal(m.columns, 6);
      // d1: the 2 * idf2, cat idf2, dog idf2 -> norm idf2 * sqrt(4 + 1 + 1): the 2/sqrt6, cat and dog 1/sqrt6
      const d1 = rowOf(m, v.vocabulary, 1);
      assert.deepEqual(Object.keys(d1).sort(), ["cat", "dog", "the"]);
      closeTo(d1["the"] as number, 2 / Math.sqrt(6)); // 0.81649658
      closeTo(d1["cat"] as number, 1 / Math.sqrt(6)); // 0.40824829
      closeTo(d1["dog"] as number, 1 / Math.sqrt(6));
      // d0: the idf2, cat idf2, sat idf1 -> norm sqrt(2 * 1.28768207^2 + 1.69314718^2)
      //   = sqrt(2 * 1.65812512 + 2.86674738) = sqrt(6.18299761) = 2.48656341
      const norm0 = Math.sqrt(2 * idf2 * idf2 + idf1 * idf1);
      closeTo(norm0, 2.48656341, 1e-7);
      const d0 = rowOf(m, v.vocabulary, 0);
      closeTo(d0["the"] as number, idf2 / norm0); // 0.51785612
      closeTo(d0["cat"] as number, idf2 / norm0);
      closeTo(d0["sat"] as number, idf1 / norm0); // 0.68091856
      // CSR layout: columns ascending within a row, offsets
      assert.deepEqual(Array.from(m.rowOffsets), [0, 3, 6, 9]);
      assert.deepEqual(Array.from(m.indices.subarray(0, 3)), [1, 4, 5]);
    });

    it("applies minDf and maxFeatures (ties by term ascending)", () => {
      const v = TfidfVectorizer.fit(docs, { minDf: 2, bigrams: false });
      assert.deepEqual(v.vocabulary, ["cat", "dog", "the"]);
      // the idf still counts all 3 documents
      closeTo(v.idf[0] as number, idf2, 1e-12);
      // d2 keeps only "dog" -> normalised to 1
      assert.deepEqual(rowOf(v.transform(docs), v.vocabulary, 2), { dog: 1 });
      // maxFeatures 2: df ties (cat, dog, the all 2) broken by term ascending -> cat, dog
      assert.deepEqual(TfidfVectorizer.fit(docs, { minDf: 1, maxFeatures: 2, bigrams: false }).vocabulary, ["cat", "dog"]);
      // maxFeatures 4 with minDf 1: the three df-2 terms, then the first df-1 term by name: a
      assert.deepEqual(TfidfVectorizer.fit(docs, { minDf: 1, maxFeatures: 4, bigrams: false }).vocabulary, ["a", "cat", "dog", "the"]);
    });

    it("adds bigrams of adjacent tokens (the default)", () => {
      assert.deepEqual(terms("The cat, the DOG"), ["the", "cat", "the", "dog", "the cat", "cat the", "the dog"]);
      // bigram df: "the cat" 2 (d0, d1); "cat sat", "cat the", "the dog", "a dog", "dog ran" 1
      const v = TfidfVectorizer.fit(docs);
      assert.equal(v.minDf, 2);
      assert.equal(v.maxFeatures, 20000);
      assert.deepEqual(v.vocabulary, ["cat", "dog", "the", "the cat"]);
      // d1: the 2, cat 1, dog 1, "the cat" 1, all idf2 -> norm idf2 * sqrt(7)
      const d1 = rowOf(v.transform(docs), v.vocabulary, 1);
      closeTo(d1["the"] as number, 2 / Math.sqrt(7));
      closeTo(d1["the cat"] as number, 1 / Math.sqrt(7));
    });

    it("saves and loads back: same vocabulary, idf and rows; a damaged file is named in the error", async () => {
      const v = TfidfVectorizer.fit(docs, { minDf: 1 });
      const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), "tfidf-")), "tfidf.json");
      await v.save(file);
      const back = await TfidfVectorizer.load(file);
      assert.deepEqual(back.vocabulary, v.vocabulary);
      assert.deepEqual(Array.from(back.idf), Array.from(v.idf));
      assert.equal(back.bigrams, true);
      closeTo(
        rowOf(back.transform(["a cat"]), back.vocabulary, 0)["cat"] as number,
        rowOf(v.transform(["a cat"]), v.vocabulary, 0)["cat"] as number,
      );
      const json = v.toJSON();
      await fs.writeFile(file, JSON.stringify({ ...json, documentFrequency: json.documentFrequency.slice(1) }));
      await assert.rejects(TfidfVectorizer.load(file), (e: Error) => e.message.includes(file) && /documentFrequency/.test(e.message));
      assert.throws(() => TfidfVectorizer.fromJSON({ ...json, vocabulary: [...json.vocabulary].reverse() }), /sorted and unique/);
    });

    it("ignores unseen words; a text with none known is a zero row; toDense picks rows", () => {
      const v = TfidfVectorizer.fit(docs, { minDf: 1, bigrams: false });
      const m = v.transform(["the zebra zebra", "zebra!", ""]);
      assert.deepEqual(rowOf(m, v.vocabulary, 0), { the: 1 });
      assert.deepEqual(Array.from(m.rowOffsets), [0, 1, 1, 1]);
      const dense = m.toDense([1, 0]);
      assert.equal(dense.length, 2 * 6);
      assert.deepEqual(Array.from(dense), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
      assert.throws(() => m.toDense([3]), /outside/);
      assert.deepEqual(m.toTensor([0]).shape, [1, 6]);
      assert.equal(v.columnOf("zebra"), undefined);
      assert.throws(() => TfidfVectorizer.fit([], {}), /no documents/);
      assert.throws(() => TfidfVectorizer.fit(docs, { minDf: 0 }), /minDf/);
    });
  });

  describe("logistic regression", () => {
    it("is one Dense(genres, sigmoid) layer, optionally L2-regularised", () => {
      const model = buildLogisticRegression(7, 3, { l2: 1e-3 });
      assert.equal(model.layers.length, 1);
      assert.deepEqual(model.outputs[0]!.shape, [null, 3]);
      assert.equal(model.countParams(), 7 * 3 + 3);
      const out = tf.tidy(() => (model.predict(tf.ones([2, 7])) as tf.Tensor).arraySync()) as number[][];
      assert.deepEqual(out, [
        [0.5, 0.5, 0.5],
        [0.5, 0.5, 0.5],
      ]); // zero-initialised
      assert.equal(model.calculateLosses().length, 1);
      model.dispose();
      assert.throws(() => buildLogisticRegression(7, 3, { l2: -1 }), /l2/);
    });

    it("learns a separable toy problem with the weighted loss; the rare genre gets recall > 0", async () => {
      // 200 samples, 4 binary features. Genre 0 = feature 0 (~50%), genre 1 = feature 1 (~30%),
      // genre 2 = feature 2 (~5%: rare), genre 3 never positive (excluded from the loss).
      const random = seededRandom(3);
      const n = 200;
      const x: number[][] = [];
      const y: number[][] = [];
      for (let i = 0; i < n; i++) {
        const f = [random() < 0.5 ? 1 : 0, random() < 0.3 ? 1 : 0, i % 20 === 0 ? 1 : 0, random() < 0.5 ? 1 : 0];
        x.push(f);
        y.push([f[0]!, f[1]!, f[2]!, 0]);
      }
      const labels = Uint8Array.from(y.flat());
      const train = Array.from({ length: 160 }, (_, i) => i);
      const validation = Array.from({ length: 40 }, (_, i) => 160 + i);
      const { weights, excluded } = positiveWeights(labels, 4, train);
      assert.deepEqual(excluded, [3]);
      assert.equal(weights[2], 10); // 8 positives in 160 -> 152 / 8 = 19 -> capped at 10
      const model = buildLogisticRegression(4, 4);
      const history = await trainModel(
        model,
        {
          train,
          validation,
          makeBatch: (rows) => ({ inputs: tf.tensor2d(rows.map((r) => x[r]!)), labels: tf.tensor2d(rows.map((r) => y[r]!)) }),
        },
        {
          epochs: 15,
          batchSize: 32,
          learningRate: 0.1,
          seed: 1,
          loss: weightedBinaryCrossentropy(weights, { excludeGenres: excluded }),
          progress: silentProgress(),
        },
      );
      const first = history.epochs[0]!;
      const last = history.epochs[history.epochs.length - 1]!;
      assert.ok(last.loss < first.loss / 2, `loss ${first.loss} -> ${last.loss}`);
      assert.ok(history.bestValLoss < first.val_loss);
      const probs = tf.tidy(() => (model.predict(tf.tensor2d(x)) as tf.Tensor).arraySync()) as number[][];
      const rare = y.map((row, i) => ({ truth: row[2]!, p: probs[i]![2]! })).filter((c) => c.truth === 1);
      assert.equal(rare.length, 10);
      const recall = rare.filter((c) => c.p > 0.5).length / rare.length;
      assert.ok(recall > 0, `rare-genre recall ${recall}`);
      model.dispose();
    });
  });

  describe("training data and the TF-IDF baselines", () => {
    const overviews = [
      "A detective hunts a killer in the city.",
      "Two friends fall in love in Paris.",
      "A killer stalks the city at night.",
      "A love story in a small town.",
      "The detective and the killer meet.",
      "Friends fall in love again.",
      "A city detective and a night killer.",
      "Two friends in love.",
    ];
    const rows = [
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 0],
      [0, 1, 0],
    ];
    const dataset = tinyDataset(overviews, rows, ["Crime", "Romance", "News"]);
    const split = { train: [0, 1, 2, 3, 4, 5], validation: [6, 7], seed: 0 };

    it("tfidfTrainingData gives dense TF-IDF batches with their labels", () => {
      const v = TfidfVectorizer.fit(split.train.map((r) => overviews[r]!));
      const data = tfidfTrainingData(dataset, v, split);
      assert.deepEqual(data.train, split.train);
      const batch = data.makeBatch([6, 1]);
      const inputs = batch.inputs as tf.Tensor;
      assert.deepEqual(inputs.shape, [2, v.features]);
      assert.deepEqual(batch.labels.arraySync(), [
        [1, 0, 0],
        [0, 1, 0],
      ]);
      const expected = v.transform([overviews[6]!, overviews[1]!]).toDense();
      assert.deepEqual(Array.from(inputs.dataSync()), Array.from(expected));
      tf.dispose([inputs, batch.labels]);
    });

    /** Trains a TF-IDF baseline kind on the tiny dataset through the lifecycle, into a temporary folder, and loads it back. */
    async function trainBaseline(kind: typeof LINEAR_KIND, settings: TfidfBaselineSettings) {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), `baseline-${kind.id}-`));
      const splitSettings = { seed: settings.seed, validationFraction: settings.validationFraction };
      const logs: string[] = [];
      const run = await kind.prepare(settings, {
        paths: { dataDir: dir, cacheDir: dir, outDir: dir },
        preset: "smoke",
        dir: path.join(dir, kind.id),
        loaded: { dataset, split, settings: splitSettings },
        log: (line) => logs.push(line),
      });
      const history = await trainRun(run, { progress: silentProgress(), log: (line) => logs.push(line) });
      const trained = await loadModel(run.dir);
      const predict = async (rows: number[]) =>
        (await predictFilms(trained, dataset, rows, { cacheDir: dir, log: () => undefined })).probabilities;
      return { run, history, trained, predict, logs };
    }

    it("the linear baseline fits its TF-IDF on the training overviews only, trains with the weighted loss, and loads back from its folder", async () => {
      assert.equal(LINEAR_PRESETS.quick.loss?.kind, "weighted-bce");
      assert.equal(LINEAR_PRESETS.quick.learningRateSchedule, "constant");
      const settings = { ...LINEAR_PRESETS.quick, seed: 0, epochs: 5, learningRate: 0.05, batchSize: 4 };
      const { run, history, trained, predict, logs } = await trainBaseline(LINEAR_KIND, settings);
      assert.equal(run.tfidf?.documents, 6);
      assert.equal(run.tfidf?.columnOf("night"), undefined); // only in validation film 6
      assert.deepEqual(run.loss.excluded, [2]);
      assert.match(logs.join("\n"), /loss: .*News/);
      assert.equal(history.epochs.length, 5);
      // a constant learning rate: every epoch at the configured rate
      assert.deepEqual(
        history.epochs.map((e) => e.lr),
        [0.05, 0.05, 0.05, 0.05, 0.05],
      );
      assert.equal(trained.info.kind, "linear");
      assert.ok(trained.tfidf, "tfidf.json is in the folder");
      assert.ok(trained.thresholds, "thresholds.json is in the folder");
      const probs = await predict([6, 7]);
      assert.equal(probs.length, 6);
      assert.ok((probs[0] as number) > (probs[1] as number), "the crime film scores Crime above Romance");
      assert.ok((probs[4] as number) > (probs[3] as number), "the romance film scores Romance above Crime");
      // the logistic regression keeps its weighted-loss probabilities, but News (no positive training film, so never
      // trained) predicts 0.5 / (6 + 1), not the 0.5 of its zero-initialised weights
      assert.ok(Math.abs((probs[2] as number) - 0.5 / 7) < 1e-6, `News ${probs[2]}`);
      assert.match(trained.info.outputCorrection ?? "", /as trained; genres without a positive training film predict/);
    });

    it("the text branch alone (hidden > 0): probabilities corrected for the weighted loss", async () => {
      // Dense(features -> 4) + Dense(4 -> 3): (F * 4 + 4) + (4 * 3 + 3) weights
      const mlp = buildTfidfMlp(10, 3, { hidden: 4, seed: 1 });
      assert.equal(mlp.countParams(), 10 * 4 + 4 + 4 * 3 + 3);
      assert.deepEqual(
        mlp.layers.map((l) => l.name),
        ["tfidf_dense", "tfidf_dropout", "Output"],
      );
      mlp.dispose();
      assert.equal(TEXT_BRANCH_PRESETS.quick.hidden, 256);
      const settings = { ...TEXT_BRANCH_PRESETS.quick, seed: 0, hidden: 8, epochs: 5, learningRate: 0.05, batchSize: 4 };
      const { run, trained, predict } = await trainBaseline(TEXT_BRANCH_KIND, settings);
      assert.match(run.loss.description, /weighted/);
      assert.match(trained.info.outputCorrection ?? "", /corrected|weighted/);
      const probs = await predict([6]);
      // News has no positive training film: corrected to 0.5 / (6 + 1)
      assert.ok(Math.abs((probs[2] as number) - 0.5 / 7) < 1e-6, `News ${probs[2]}`);
      assert.ok((probs[0] as number) > (probs[1] as number), "the crime film scores Crime above Romance");
    });
  });
});
