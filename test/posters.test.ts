import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { Jimp } from "jimp";
import { nativeOrSkip } from "./helpers";
import {
  PosterError,
  PosterSource,
  activePosterDecoder,
  decodePoster,
  loadPosters,
  posterBatch,
  posterIndex,
  preparePoster,
  resizeBilinear,
} from "../lib/data/posters";

type Rgba = [number, number, number, number];

/** Builds an image whose pixel colour is given by `colour(x, y)`, directly in jimp's RGBA bitmap. */
async function makeImage(
  width: number,
  height: number,
  colour: (x: number, y: number) => Rgba,
  mime: "image/jpeg" | "image/png",
): Promise<Buffer> {
  const img = new Jimp({ width, height, color: 0x000000ff });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      img.bitmap.data.set(colour(x, y), (y * width + x) * 4);
    }
  }
  return mime === "image/jpeg" ? img.getBuffer("image/jpeg", { quality: 95 }) : img.getBuffer("image/png");
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    assert.ok(d <= tol, `${what}: index ${i} is ${actual[i]}, expected ${expected[i]} (tolerance ${tol})`);
  }
}

/** Deterministic pseudo-random numbers so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("posters", function () {
  this.timeout(20000);
  let dir: string;
  const f = (name: string): string => path.join(dir, name);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "posters-test-"));
    const noise = rng(7);
    fs.writeFileSync(f("red.jpg"), await makeImage(16, 24, () => [255, 0, 0, 255], "image/jpeg"));
    // Left half red, right half blue, 16-px halves so JPEG blocks do not straddle the edge.
    fs.writeFileSync(f("split.jpg"), await makeImage(32, 16, (x) => (x < 16 ? [255, 0, 0, 255] : [0, 0, 255, 255]), "image/jpeg"));
    fs.writeFileSync(f("exact.png"), await makeImage(3, 2, (x, y) => [10 * x, 128 + y, 255 - x, x === 0 ? 0 : 255], "image/png"));
    const noisy = await makeImage(48, 48, () => [noise() * 255, noise() * 255, noise() * 255, 255], "image/jpeg");
    fs.writeFileSync(f("noisy.jpg"), noisy);
    fs.writeFileSync(f("truncated.jpg"), noisy.subarray(0, Math.floor(noisy.length / 2)));
    fs.writeFileSync(f("empty.jpg"), Buffer.alloc(0));
    fs.writeFileSync(f("text.jpg"), "Id,Genre\ntt0000001,Drama\n");
    fs.symlinkSync("loop.jpg", f("loop.jpg")); // a link to itself: every open or stat fails with ELOOP
    // JPEG signature, a start-of-scan and an end marker, but no frame header: jpeg-js throws.
    fs.writeFileSync(
      f("garbage.jpg"),
      Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xda]), Buffer.alloc(50, 7), Buffer.from([0xff, 0xd9])]),
    );
    await tf.setBackend("cpu");
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("decodePoster", () => {
    it("decodes a solid red JPEG to RGB in [0,1], HWC", async () => {
      const img = await decodePoster(f("red.jpg"));
      assert.equal(img.width, 16);
      assert.equal(img.height, 24);
      assert.equal(img.data.length, 16 * 24 * 3);
      for (let p = 0; p < 16 * 24; p++) {
        assertClose(img.data.subarray(p * 3, p * 3 + 3), [1, 0, 0], 0.03, `pixel ${p}`);
      }
    });

    it("lays pixels out row-major (x fastest) with the right width and height", async () => {
      const img = await decodePoster(f("split.jpg"));
      assert.deepEqual([img.height, img.width], [16, 32]);
      const px = (x: number, y: number) => img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3);
      assertClose(px(2, 8), [1, 0, 0], 0.03, "left half");
      assertClose(px(29, 8), [0, 0, 1], 0.03, "right half");
    });

    it("scales lossless PNG bytes exactly as convert_image_dtype (u8 * f32(1/255)) and drops alpha", async () => {
      const img = await decodePoster(f("exact.png"));
      const k = Math.fround(1 / 255);
      const expected: number[] = [];
      for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) expected.push(10 * x, 128 + y, 255 - x);
      assert.deepEqual(
        [...img.data],
        expected.map((v) => Math.fround(v * k)),
      );
      assert.equal(img.data[2], 1); // 255 maps to exactly 1
    });

    const bad: Array<[string, RegExp]> = [
      ["missing.jpg", /file not found/],
      ["empty.jpg", /empty/],
      ["truncated.jpg", /truncated/],
      ["text.jpg", /not a JPEG or PNG/],
      ["loop.jpg", /^is a link that cannot be followed \(it points to itself or into a loop of links\)$/],
      ["garbage.jpg", /corrupt or unsupported image data, the decoder failed/],
    ];
    for (const [name, reason] of bad) {
      it(`throws a PosterError naming the file for ${name}`, async () => {
        await assert.rejects(decodePoster(f(name)), (err: unknown) => {
          assert.ok(err instanceof PosterError);
          assert.equal(err.file, f(name));
          assert.match(err.reason, reason);
          assert.ok(err.message.includes(f(name)), err.message);
          assert.ok(err.message.includes(err.reason), err.message);
          return true;
        });
      });
    }
  });

  describe("TensorFlow's JPEG decoder (native TensorFlow)", () => {
    const tensorflow = { decoder: "tensorflow" } as const;

    before(async function () {
      await nativeOrSkip(this);
    });

    after(async () => {
      await tf.setBackend("cpu");
    });

    it("is the active decoder on native TensorFlow, and jimp's on any other backend", async () => {
      assert.equal(activePosterDecoder(), "tensorflow");
      await tf.setBackend("cpu");
      try {
        assert.equal(activePosterDecoder(), "jimp");
        await assert.rejects(decodePoster(f("red.jpg"), tensorflow), /needs native TensorFlow as the active backend/);
      } finally {
        await tf.setBackend("tensorflow");
      }
    });

    it("decodes JPEGs to RGB in [0,1], HWC, row-major, the colours where they were drawn", async () => {
      const red = await decodePoster(f("red.jpg"), tensorflow);
      assert.deepEqual([red.height, red.width, red.data.length], [24, 16, 16 * 24 * 3]);
      for (let p = 0; p < 16 * 24; p++) assertClose(red.data.subarray(p * 3, p * 3 + 3), [1, 0, 0], 0.03, `pixel ${p}`);
      const split = await decodePoster(f("split.jpg"), tensorflow);
      assert.deepEqual([split.height, split.width], [16, 32]);
      const px = (x: number, y: number) => split.data.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3);
      assertClose(px(2, 8), [1, 0, 0], 0.03, "left half");
      assertClose(px(29, 8), [0, 0, 1], 0.03, "right half");
    });

    it("gives values on the u8 * f32(1/255) grid, within a few levels of jimp's decoder on noise", async () => {
      const ours = await decodePoster(f("noisy.jpg"), tensorflow);
      const jimp = await decodePoster(f("noisy.jpg"), { decoder: "jimp" });
      const k = Math.fround(1 / 255);
      assert.ok(
        ours.data.every((v) => Math.fround(Math.round(v * 255) * k) === v),
        "every value is a level times f32(1/255)",
      );
      assert.deepEqual([ours.height, ours.width], [jimp.height, jimp.width]);
      let sum = 0;
      for (let i = 0; i < ours.data.length; i++) sum += Math.abs(ours.data[i]! - jimp.data[i]!);
      const mean = sum / ours.data.length;
      // two independent decoders of the same file: close, not equal (their chroma upsampling differs)
      assert.ok(mean > 0 && mean < 0.05, `mean difference ${mean}`);
    });

    it("leaves PNGs to jimp: exact, alpha dropped", async () => {
      assert.deepEqual(await decodePoster(f("exact.png"), tensorflow), await decodePoster(f("exact.png"), { decoder: "jimp" }));
    });

    for (const [name, reason] of [
      ["truncated.jpg", /truncated/],
      ["garbage.jpg", /^corrupt or unsupported image data, the decoder failed \((?!Invalid TF_Status)[^\n]+\)$/],
    ] as const) {
      it(`throws a PosterError naming the file for ${name}`, async () => {
        await assert.rejects(decodePoster(f(name), tensorflow), (err: unknown) => {
          assert.ok(err instanceof PosterError, String(err));
          assert.equal(err.file, f(name));
          assert.match(err.reason, reason);
          return true;
        });
      });
    }

    it("keeps a cache of its own: the two decoders never share one", async () => {
      const cacheDir = fs.mkdtempSync(path.join(dir, "cache-"));
      const sources = [
        { id: "a", file: f("noisy.jpg") },
        { id: "b", file: f("split.jpg") },
      ];
      const jimp = await loadPosters(sources, { size: 8, cacheDir, decoder: "jimp" });
      const ours = await loadPosters(sources, { size: 8, cacheDir });
      assert.deepEqual([jimp.decoder, ours.decoder], ["jimp", "tensorflow"]);
      assert.equal(ours.fromCache, false);
      assert.notEqual(ours.cacheFile, jimp.cacheFile);
      assert.notDeepEqual(ours.data, jimp.data);
      assert.deepEqual(posterBatch(ours, [0]), await preparePoster(f("noisy.jpg"), 8, tensorflow));
      const again = await loadPosters(sources, { size: 8, cacheDir });
      assert.deepEqual([again.fromCache, again.cacheFile], [true, ours.cacheFile]);
      assert.deepEqual(again.data, ours.data);
      assert.equal((await loadPosters(sources, { size: 8, cacheDir, decoder: "jimp" })).cacheFile, jimp.cacheFile);
    });
  });

  describe("resizeBilinear", () => {
    it("2x2 -> 4x4 (hand computed, half-pixel centres, edge clamp)", () => {
      const out = resizeBilinear(Float32Array.from([0, 1, 2, 3]), 2, 2, 1, 4, 4);
      // x coords -0.25, 0.25, 0.75, 1.25 -> clamp, 1/4, 3/4, clamp; same for y.
      const expected = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3];
      assertClose(out, expected, 1e-6, "2x2->4x4");
    });

    it("4x4 -> 2x2 averages each 2x2 block (coords 0.5, 2.5)", () => {
      const src = Float32Array.from({ length: 16 }, (_, i) => i);
      assertClose(resizeBilinear(src, 4, 4, 1, 2, 2), [2.5, 4.5, 10.5, 12.5], 1e-6, "4x4->2x2");
    });

    it("3x1 -> 5x1 (coords -0.2, 0.4, 1.0, 1.6, 2.2)", () => {
      assertClose(resizeBilinear(Float32Array.from([0, 10, 20]), 3, 1, 1, 5, 1), [0, 4, 10, 16, 20], 1e-5, "3x1->5x1");
    });

    it("interpolates channels independently", () => {
      // 1x2 RGB image -> 1x4: each channel follows the 1-D pattern clamp, 1/4, 3/4, clamp.
      const out = resizeBilinear(Float32Array.from([0, 1, 0.5, 1, 0, 0.5]), 1, 2, 3, 1, 4);
      assertClose(out, [0, 1, 0.5, 0.25, 0.75, 0.5, 0.75, 0.25, 0.5, 1, 0, 0.5], 1e-6, "channels");
    });

    it("same size is a copy, and bad shapes are rejected", () => {
      const src = Float32Array.from([1, 2, 3, 4, 5, 6]);
      const out = resizeBilinear(src, 1, 2, 3, 1, 2);
      assert.deepEqual(out, src);
      assert.notEqual(out, src);
      assert.throws(() => resizeBilinear(src, 2, 2, 3, 4, 4), RangeError);
      assert.throws(() => resizeBilinear(src, 1, 2, 3, 0, 4), RangeError);
    });

    it("matches tf.image.resizeBilinear(halfPixelCenters) on the cpu backend for random inputs", () => {
      assert.equal(tf.getBackend(), "cpu");
      const next = rng(42);
      // tfjs computes source coordinates in float64, TF (and resizeBilinear) in float32. Where
      // in/out is exact in float32 (the real 300x150 -> 64x64 case) only the final rounding can
      // differ; for inexact scales like 64/31 the coordinates differ by ~1e-7 relative.
      const exact = 3e-7;
      const inexact = 1e-5;
      const shapes: Array<[number, number, number, number, number, number]> = [
        [300, 150, 3, 64, 64, exact], // the real poster case
        [4, 8, 3, 16, 2, exact],
        [5, 7, 3, 3, 11, inexact],
        [1, 1, 3, 4, 4, exact],
        [2, 9, 1, 13, 1, inexact],
        [17, 4, 2, 6, 9, inexact],
        [64, 64, 3, 31, 97, inexact],
      ];
      for (const [h, w, c, oh, ow, tol] of shapes) {
        const src = Float32Array.from({ length: h * w * c }, next);
        const ours = resizeBilinear(src, h, w, c, oh, ow);
        const theirs = tf.tidy(() =>
          tf.image.resizeBilinear(tf.tensor3d(src, [h, w, c]), [oh, ow], false, true).dataSync(),
        ) as Float32Array;
        assertClose(ours, theirs, tol, `${h}x${w}x${c} -> ${oh}x${ow}`);
      }
    });
  });

  describe("preparePoster", () => {
    it("returns size*size*3 floats equal to decode + resize", async () => {
      const out = await preparePoster(f("split.jpg"), 8);
      assert.equal(out.length, 8 * 8 * 3);
      const img = await decodePoster(f("split.jpg"));
      assert.deepEqual(out, resizeBilinear(img.data, img.height, img.width, 3, 8, 8));
      assertClose(out.subarray(0, 3), [1, 0, 0], 0.03, "top-left is red");
      assertClose(out.subarray(7 * 3, 8 * 3), [0, 0, 1], 0.03, "top-right is blue");
      assert.equal((await preparePoster(f("red.jpg"))).length, 64 * 64 * 3);
    });
  });

  describe("loadPosters", () => {
    let cacheDir: string;
    let sources: PosterSource[];

    beforeEach(() => {
      cacheDir = fs.mkdtempSync(path.join(dir, "cache-"));
      for (const name of ["red.jpg", "split.jpg", "exact.png"]) fs.copyFileSync(f(name), path.join(cacheDir, `in-${name}`));
      const inDir = (name: string): string => path.join(cacheDir, `in-${name}`);
      sources = [
        { id: "tt01", file: inDir("red.jpg") },
        { id: "tt02", file: f("missing.jpg") },
        { id: "tt03", file: inDir("split.jpg") },
        { id: "tt04", file: f("empty.jpg") },
        { id: "tt05", file: f("truncated.jpg") },
        { id: "tt06", file: f("text.jpg") },
        { id: "tt07", file: inDir("exact.png") },
      ];
    });

    it("keeps good posters in order and reports every bad one in skipped", async () => {
      const progress: Array<[number, number]> = [];
      const set = await loadPosters(sources, { size: 8, cacheDir, onProgress: (d, t) => progress.push([d, t]) });
      assert.deepEqual(set.ids, ["tt01", "tt03", "tt07"]);
      assert.equal(set.size, 8);
      assert.equal(set.fromCache, false);
      assert.equal(set.data.length, 3 * 8 * 8 * 3);
      assert.deepEqual(
        set.skipped.map((p) => [p.id, p.file]),
        [
          ["tt02", f("missing.jpg")],
          ["tt04", f("empty.jpg")],
          ["tt05", f("truncated.jpg")],
          ["tt06", f("text.jpg")],
        ],
      );
      set.skipped.forEach((p, i) => assert.match(p.reason, [/not found/, /empty/, /truncated/, /not a JPEG or PNG/][i]!));
      for (const [row, src] of [sources[0]!, sources[2]!, sources[6]!].entries()) {
        assert.deepEqual(posterBatch(set, [row]), await preparePoster(src.file, 8), `row ${row}`);
      }
      assert.deepEqual(progress.at(-1), [7, 7]);
      assert.match(path.basename(set.cacheFile), /^posters-8-[0-9a-f]{16}\.f32$/);
      assert.ok(fs.existsSync(set.cacheFile.replace(/\.f32$/, ".json")));
      assert.equal(fs.statSync(set.cacheFile).size, 3 * 8 * 8 * 3 * 4);
      assert.deepEqual(
        fs.readdirSync(cacheDir).filter((n) => n.includes(".tmp-")),
        [],
      );
    });

    it("reuses the cache for identical sources", async () => {
      const first = await loadPosters(sources, { size: 8, cacheDir });
      const second = await loadPosters(sources, { size: 8, cacheDir });
      assert.equal(second.fromCache, true);
      assert.equal(second.cacheFile, first.cacheFile);
      assert.deepEqual(second.ids, first.ids);
      assert.deepEqual(second.skipped, first.skipped);
      assert.deepEqual(second.data, first.data);
    });

    it("rebuilds when the size changes", async () => {
      const a = await loadPosters(sources, { size: 8, cacheDir });
      const b = await loadPosters(sources, { size: 6, cacheDir });
      assert.equal(b.fromCache, false);
      assert.notEqual(b.cacheFile, a.cacheFile);
      assert.equal(b.data.length, 3 * 6 * 6 * 3);
    });

    it("rebuilds when a poster is touched or replaced", async () => {
      const a = await loadPosters(sources, { size: 8, cacheDir });
      const file = sources[0]!.file;
      const later = new Date(Date.now() + 60_000);
      fs.utimesSync(file, later, later); // same bytes, new mtime
      const touched = await loadPosters(sources, { size: 8, cacheDir });
      assert.equal(touched.fromCache, false);
      assert.deepEqual(touched.data, a.data);

      fs.writeFileSync(file, await makeImage(16, 24, () => [0, 255, 0, 255], "image/jpeg"));
      const replaced = await loadPosters(sources, { size: 8, cacheDir });
      assert.equal(replaced.fromCache, false);
      assertClose(posterBatch(replaced, [0]).subarray(0, 3), [0, 1, 0], 0.03, "new poster is green");
      assert.deepEqual(posterBatch(replaced, [1, 2]), posterBatch(a, [1, 2]));
    });

    it("rebuilds with a warning when the cached data has the wrong length", async () => {
      const a = await loadPosters(sources, { size: 8, cacheDir });
      fs.truncateSync(a.cacheFile, 100);
      const warnings: string[] = [];
      const warn = console.warn;
      console.warn = (...args: unknown[]) => void warnings.push(args.join(" "));
      let b;
      try {
        b = await loadPosters(sources, { size: 8, cacheDir });
      } finally {
        console.warn = warn;
      }
      assert.equal(b.fromCache, false);
      assert.deepEqual(b.data, a.data);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /100 bytes, expected 2304/);
      assert.equal((await loadPosters(sources, { size: 8, cacheDir })).fromCache, true);
    });

    it("rejects duplicate ids", async () => {
      await assert.rejects(loadPosters([sources[0]!, sources[0]!], { size: 8, cacheDir }), /duplicate id tt01/);
    });
  });

  describe("posterBatch / posterIndex", () => {
    it("copies the requested rows contiguously and maps ids to rows", async () => {
      const cacheDir = fs.mkdtempSync(path.join(dir, "cache-"));
      const set = await loadPosters(
        [
          { id: "a", file: f("red.jpg") },
          { id: "b", file: f("split.jpg") },
          { id: "c", file: f("noisy.jpg") },
        ],
        { size: 4, cacheDir },
      );
      const stride = 4 * 4 * 3;
      const batch = posterBatch(set, [2, 0, 2]);
      assert.equal(batch.length, 3 * stride);
      assert.deepEqual(batch.subarray(0, stride), set.data.subarray(2 * stride, 3 * stride));
      assert.deepEqual(batch.subarray(stride, 2 * stride), set.data.subarray(0, stride));
      assert.deepEqual(batch.subarray(2 * stride), set.data.subarray(2 * stride, 3 * stride));
      batch[0] = -1; // a copy, not a view
      assert.notEqual(set.data[2 * stride], -1);
      assert.deepEqual(posterBatch(set, []), new Float32Array(0));
      assert.throws(() => posterBatch(set, [3]), RangeError);
      assert.throws(() => posterBatch(set, [-1]), RangeError);
      assert.deepEqual(
        [...posterIndex(set)],
        [
          ["a", 0],
          ["b", 1],
          ["c", 2],
        ],
      );
    });
  });
});
