import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { DecodedPoster } from "../lib/data/posters";
import { Explainable, explainable, logitGradient, occlusionMaps, wordEffects } from "../lib/eval/attribution";
import { evidenceLuminance, genreWords, meanMap } from "../lib/eval/explain";
import { loadModel } from "../lib/kinds/registry";
import { useBackend } from "./helpers";
import { writeTinyFolder } from "./model-folders";

const W = 150;
const H = 300;

/** A 150x300 poster: the top-left quadrant white, the rest black. */
function quadrantPoster(): DecodedPoster {
  const data = new Float32Array(W * H * 3);
  for (let y = 0; y < H / 2; y++) for (let x = 0; x < W / 2; x++) data.fill(1, (y * W + x) * 3, (y * W + x + 1) * 3);
  return { width: W, height: H, data };
}

/** A "model" with two genres: genre 0 is the mean brightness of the top-left quadrant, genre 1 a constant. */
function quadrantModel(): Explainable {
  return {
    genres: ["TopLeft", "Constant"],
    posters: async (variants) => {
      const out = new Float32Array(variants.length * 2);
      variants.forEach((p, i) => {
        let sum = 0;
        for (let y = 0; y < H / 2; y++) for (let x = 0; x < W / 2; x++) sum += p.data[(y * W + x) * 3] as number;
        out[i * 2] = sum / ((W / 2) * (H / 2));
        out[i * 2 + 1] = 0.3;
      });
      return out;
    },
  };
}

describe("explanations: attributions of hand-built models whose answer is known", function () {
  this.timeout(30000);

  it("occlusion puts all of a top-left-quadrant model's mass in the top-left quadrant", async () => {
    const { maps, probabilities } = await occlusionMaps(quadrantModel(), quadrantPoster(), { patch: 5, stride: 5 });
    assert.equal(probabilities[0], 1);
    const map = maps[0] as { values: Float32Array };
    let inside = 0;
    let outside = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = map.values[y * W + x] as number;
        if (x < W / 2 && y < H / 2) inside += v;
        else outside += Math.abs(v);
      }
    }
    assert.equal(outside, 0);
    // a 5x5 grey patch (0.5) over white in the quadrant lowers its mean by 25 * 0.5 / (75 * 150)
    assert.ok(Math.abs((map.values[0] as number) - (25 * 0.5) / (75 * 150)) < 1e-6, `${map.values[0]}`);
    assert.ok(inside > 0);
  });

  it("a constant model's attributions are zero, on the poster and on the words", async () => {
    const constant: Explainable = {
      genres: ["A", "B"],
      posters: async (v) => new Float32Array(v.length * 2).fill(0.4),
      overviews: async (v) => new Float32Array(v.length * 2).fill(0.4),
    };
    const { maps } = await occlusionMaps(constant, quadrantPoster(), { patch: 30 });
    for (const m of maps) assert.ok(m.values.every((v) => v === 0));
    const { effects } = await wordEffects(constant, "A quiet town hides a dark secret.");
    for (const e of effects) assert.ok(e.every((v) => v === 0));
    // and the Constant genre of the quadrant model: zero everywhere
    const quadrant = await occlusionMaps(quadrantModel(), quadrantPoster(), { patch: 30 });
    assert.ok((quadrant.maps[1] as { values: Float32Array }).values.every((v) => Math.abs(v) < 1e-7));
  });

  it("a text model that keys on one word ranks that word first (and the others at zero)", async () => {
    const model: Explainable = {
      genres: ["Fantasy"],
      overviews: async (variants) => Float32Array.from(variants, (t) => (/\bdragon\b/i.test(t) ? 0.9 : 0.1)),
    };
    const { words, effects } = await wordEffects(model, "A shy farmer befriends a dragon and leaves home.");
    const fantasy = effects[0] as Float32Array;
    const order = Array.from(fantasy.keys()).sort((a, b) => (fantasy[b] as number) - (fantasy[a] as number));
    assert.equal(words[order[0] as number], "dragon");
    assert.ok(Math.abs((fantasy[order[0] as number] as number) - 0.8) < 1e-6);
    assert.ok(order.slice(1).every((i) => fantasy[i] === 0));
    const table = genreWords([{ words, effects }], ["Fantasy"], { normalise: (w) => w.toLowerCase().replace(/\W/g, ""), minFilms: 1 });
    assert.deepEqual(table.words.get("Fantasy"), [
      { word: "dragon", films: 1, effect: fantasy[order[0] as number], specificity: fantasy[order[0] as number] },
    ]);
  });

  it("genreWords ranks a word by its mean effect on the genre minus its mean effect on the others, over enough films", () => {
    // Two genres, three films; effects[genre][word]. Hand-computed means over the films that have each word:
    //   "ghost": films 1, 2 -> Horror (0.30 + 0.10) / 2 = 0.20, Comedy (0.00 + 0.10) / 2 = 0.05: Horror +0.15
    //   "the":   films 1, 2, 3 -> Horror (0.05 + 0.05 + 0.05) / 3 = 0.05, Comedy 0.05 too: 0 for both, not ranked
    //   "party": films 2, 3 -> Horror (-0.10 + 0.00) / 2 = -0.05, Comedy (0.20 + 0.30) / 2 = 0.25: Comedy +0.30
    //   "lonely": film 3 only: fewer than minFilms = 2, not ranked
    //   "and" (a stop-word): film 1 twice (effects 0.04 and 0.00 on Horror: its film mean is 0.02), film 3 once
    //     (0.06) -> Horror 0.04, Comedy 0: Horror +0.04, listed apart
    const f = (values: number[]) => Float32Array.from(values);
    const perFilm = [
      { words: ["The", "ghost", "and", "and"], effects: [f([0.05, 0.3, 0.04, 0]), f([0.05, 0, 0, 0])] },
      { words: ["the", "ghost", "party"], effects: [f([0.05, 0.1, -0.1]), f([0.05, 0.1, 0.2])] },
      { words: ["the", "party", "lonely", "and"], effects: [f([0.05, 0, 0.5, 0.06]), f([0.05, 0.3, 0, 0])] },
    ];
    const { words, stopWords } = genreWords(perFilm, ["Horror", "Comedy"], {
      normalise: (w) => w.toLowerCase(),
      minFilms: 2,
      isStopWord: (w) => w === "and" || w === "the",
    });
    const rounded = (list: { word: string; films: number; effect: number; specificity: number }[] | undefined) =>
      (list ?? []).map((w) => [w.word, w.films, +w.effect.toFixed(6), +w.specificity.toFixed(6)]);
    assert.deepEqual(rounded(words.get("Horror")), [["ghost", 2, 0.2, 0.15]]);
    assert.deepEqual(rounded(words.get("Comedy")), [["party", 2, 0.25, 0.3]]);
    assert.deepEqual(rounded(stopWords.get("Horror")), [["and", 2, 0.04, 0.04]]);
    assert.deepEqual(rounded(stopWords.get("Comedy")), []);
  });

  it("genreWords lists no word for a genre that no word raises (e.g. one the model predicts as a constant)", () => {
    // "News" never moves (a genre the model never learned); "rain" lowers Drama by 0.1 and Comedy by 0.3 in
    // both films: its specificity for Drama is -0.1 - (-0.3 + 0) / 2 = +0.05, and for News 0 - (-0.4) / 2 = +0.2,
    // but it raises neither.
    const f = (values: number[]) => Float32Array.from(values);
    const perFilm = [
      { words: ["rain", "love"], effects: [f([-0.1, 0.2]), f([-0.3, 0.1]), f([0, 0])] },
      { words: ["rain"], effects: [f([-0.1]), f([-0.3]), f([0])] },
    ];
    const { words } = genreWords(perFilm, ["Drama", "Comedy", "News"], { normalise: (w) => w, minFilms: 1 });
    assert.deepEqual(
      (words.get("Drama") ?? []).map((w) => w.word),
      ["love"],
    );
    assert.deepEqual(words.get("News"), []);
  });

  it("meanMap averages maps; evidenceLuminance says the evidence of a dark-corner map is darker than its poster", () => {
    const a = { width: 2, height: 1, values: Float32Array.from([1, 3]) };
    const b = { width: 2, height: 1, values: Float32Array.from([3, 5]) };
    assert.deepEqual(Array.from((meanMap([a, b]) as { values: Float32Array }).values), [2, 4]);
    const poster = quadrantPoster();
    // evidence where the poster is black (outside the white quadrant)
    const dark = { width: W, height: H, values: Float32Array.from({ length: W * H }, (_, p) => (p % W >= W / 2 ? 1 : 0)) };
    assert.ok(evidenceLuminance(poster, dark) < 0);
    const bright = {
      width: W,
      height: H,
      values: Float32Array.from({ length: W * H }, (_, p) => (p % W < W / 2 && p < (W * H) / 2 ? 1 : 0)),
    };
    assert.ok(evidenceLuminance(poster, bright) > 0);
  });

  describe("Grad-CAM's gradient", () => {
    useBackend("cpu");

    it("matches a finite-difference check on a tiny conv net", () => {
      const input = tf.input({ shape: [6, 6, 2] });
      const conv = tf.layers.conv2d({
        name: "Conv6",
        filters: 3,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      });
      const flat = tf.layers.flatten({ name: "flatten" });
      const dense = tf.layers.dense({
        name: "FC",
        units: 5,
        activation: "tanh",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      });
      const out = tf.layers.dense({
        name: "Output",
        units: 2,
        activation: "sigmoid",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        biasInitializer: tf.initializers.constant({ value: 0.1 }),
      });
      const model = tf.model({ inputs: input, outputs: out.apply(dense.apply(flat.apply(conv.apply(input)))) as tf.SymbolicTensor });
      const x = tf.randomUniform([1, 6, 6, 2], 0, 1, "float32", 7) as tf.Tensor4D;
      const genre = 1;
      const { activations, gradient } = logitGradient(model, "Conv6", x, genre);
      // The logit from the activations, computed independently from the layers' weights.
      const [denseKernel, denseBias] = dense.getWeights() as [tf.Tensor, tf.Tensor];
      const [outKernel, outBias] = out.getWeights() as [tf.Tensor, tf.Tensor];
      const logit = (a: tf.Tensor): number =>
        tf.tidy(() => {
          const h = tf.tanh(tf.add(tf.matMul(a.reshape([1, -1]), denseKernel), denseBias));
          return tf.add(tf.matMul(h, outKernel), outBias).dataSync()[genre] as number;
        });
      const a = activations.dataSync();
      const g = gradient.dataSync();
      const eps = 1e-2;
      for (const k of [0, 7, 20, 45, 80, 107]) {
        const plus = Float32Array.from(a);
        const minus = Float32Array.from(a);
        plus[k] = (plus[k] as number) + eps;
        minus[k] = (minus[k] as number) - eps;
        const numeric = (logit(tf.tensor(plus, activations.shape)) - logit(tf.tensor(minus, activations.shape))) / (2 * eps);
        assert.ok(Math.abs(numeric - (g[k] as number)) < 2e-3, `activation ${k}: numeric ${numeric} vs gradient ${g[k]}`);
      }
      tf.dispose([x, activations, gradient]);
      model.dispose();
    });
  });
});

describe("explanations: a trained model's variants in batches", function () {
  this.timeout(30000);
  useBackend("cpu");
  let root: string;
  before(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "explain-batches-"))));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("150 variants of an overview (batches of 64: 64, 64, 22) give each variant's probabilities, in order, as one at a time does", async () => {
    await writeTinyFolder(path.join(root, "linear"), "linear");
    const trained = await loadModel(path.join(root, "linear"));
    const explain = await explainable(trained, { overview: "a ghost in the house" });
    // distinct overviews from the folder's TF-IDF terms (a, in, the): the i-th has i % 6 a's, then the's, then in's by the
    // next digits in base 6, so that rows in the wrong order would differ
    const variants = Array.from({ length: 150 }, (_, k) => {
      const i = k + 1;
      return [
        ...Array<string>(i % 6).fill("a"),
        ...Array<string>(Math.floor(i / 6) % 6).fill("the"),
        ...Array<string>(Math.floor(i / 36)).fill("in"),
      ].join(" ");
    });
    const all = await explain.overviews?.(variants);
    assert.ok(all, "a TF-IDF model reads overviews");
    const g = trained.info.genres.length;
    assert.equal(all.length, 150 * g);
    for (let i = 0; i < variants.length; i++) {
      const alone = (await explain.overviews?.([variants[i] as string])) as Float32Array;
      for (let j = 0; j < g; j++) assert.ok(Math.abs((all[i * g + j] as number) - (alone[j] as number)) < 1e-6, `variant ${i}, genre ${j}`);
    }
    assert.ok(new Set(Array.from({ length: 150 }, (_, i) => all[i * g]?.toFixed(5))).size > 20, "the variants' probabilities differ");
    trained.model.dispose();
  });
});
