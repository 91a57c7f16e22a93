/**
 * A model folder is checked like a dataset (issue 30): every JSON file field by field, bounded, and against the other
 * files and the model itself. Each refusal is compared with the whole message written out by hand: the file, the field,
 * what it holds and what was expected.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadModel } from "../lib/kinds/registry";
import { useBackend } from "./helpers";
import { TINY_GENRES, TinyKind, editJson, refused, tinyWords, writeTinyFolder } from "./model-folders";

describe("model folders are checked like a dataset: sizes, counts, and the files against each other and the model", function () {
  this.timeout(30000);
  useBackend("cpu");
  let root: string;
  const folders: Partial<Record<TinyKind, string>> = {};
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "folder-schema-"));
    for (const kind of ["cnn", "lstm", "linear"] as const) {
      folders[kind] = path.join(root, `${kind}-valid`);
      await writeTinyFolder(folders[kind] as string, kind);
    }
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  let copies = 0;
  /** A copy of the valid folder of `kind`, to damage. */
  function copyOf(kind: TinyKind): string {
    const dir = path.join(root, `${kind}-${++copies}`);
    fs.cpSync(folders[kind] as string, dir, { recursive: true });
    return dir;
  }

  it("valid folders of the three shapes load: a poster input, an embedding, a TF-IDF input", async () => {
    for (const kind of ["cnn", "lstm", "linear"] as const) {
      const trained = await loadModel(folders[kind] as string);
      assert.deepEqual(trained.info.genres, TINY_GENRES);
      assert.deepEqual(trained.thresholds?.thresholds, [0.3, 0.5, 0.7]);
      assert.equal(trained.history?.epochs.length, 2);
    }
  });

  it("info.json: imageSize must be an integer from 1 to 1024, and the size of the posters the model reads", async () => {
    for (const [value, shown] of [
      [-64, "-64"],
      [100000, "100000"],
      [0, "0"],
      [8.5, "8.5"],
      ["8", '"8"'],
    ] as const) {
      const dir = copyOf("cnn");
      editJson(path.join(dir, "info.json"), (info) => (info["imageSize"] = value));
      await refused(dir, `${dir}/info.json: imageSize is ${shown}; expected an integer from 1 to 1024`);
    }
    const dir = copyOf("cnn");
    editJson(path.join(dir, "info.json"), (info) => (info["imageSize"] = 16));
    await refused(
      dir,
      `${dir}/info.json: imageSize is 16; expected 8, the side of the posters the model in ${dir}/model.json reads (its input "Input" is 8x8x3)`,
    );
  });

  it("info.json: one genre per output, each named once; film counts that add up", async () => {
    let dir = copyOf("cnn");
    editJson(path.join(dir, "info.json"), (info) => (info["genres"] = [...TINY_GENRES, "Western"]));
    await refused(
      dir,
      `${dir}/info.json: genres is a list of 4; expected 3 genres, one per output of the model in ${dir}/model.json (files of two runs?)`,
    );
    dir = copyOf("cnn");
    editJson(path.join(dir, "info.json"), (info) => (info["genres"] = ["Action", "Comedy", "Action"]));
    await refused(dir, `${dir}/info.json: genres[2] is "Action"; expected a genre name not already listed (genres[0])`);
    dir = copyOf("cnn");
    editJson(path.join(dir, "info.json"), (info) => ((info["dataset"] as Record<string, unknown>)["trainFilms"] = 9));
    await refused(
      dir,
      `${dir}/info.json: dataset.validationFilms is 2; expected an integer from 0 to 1 (dataset.films less dataset.trainFilms)`,
    );
    dir = copyOf("cnn");
    editJson(path.join(dir, "info.json"), (info) => ((info["dataset"] as Record<string, unknown>)["films"] = -1));
    await refused(dir, `${dir}/info.json: dataset.films is -1; expected an integer from 0 to 10000000`);
    dir = copyOf("cnn");
    editJson(path.join(dir, "info.json"), (info) => ((info["dataset"] as Record<string, unknown>)["validationIds"] = ["tt0000009"]));
    await refused(dir, `${dir}/info.json: dataset.validationIds is a list of 1; expected 2 film Ids (dataset.validationFilms)`);
  });

  it("thresholds.json: one finite number from 0 to 1 per genre", async () => {
    for (const [text, field, shown] of [
      ["[-1, 0.5, 0.7]", "thresholds[0]", "-1"],
      ["[0.3, 1e999, 0.7]", "thresholds[1]", "Infinity"],
      ["[0.3, 0.5, 1.5]", "thresholds[2]", "1.5"],
      ['[0.3, "0.5", 0.7]', "thresholds[1]", '"0.5"'],
    ] as const) {
      const dir = copyOf("cnn");
      const file = path.join(dir, "thresholds.json");
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("[0.3,0.5,0.7]", text));
      await refused(dir, `${file}: ${field} is ${shown}; expected a number from 0 to 1`);
    }
    const dir = copyOf("cnn");
    editJson(path.join(dir, "thresholds.json"), (t) => (t["thresholds"] = [0.5, 0.5]));
    await refused(
      dir,
      `${dir}/thresholds.json: thresholds is a list of 2; expected 3 numbers from 0 to 1, one per genre of ${dir}/info.json`,
    );
  });

  it("vocabulary.json: as many words as the embedding has rows (one cut to 100 of 835 words is refused, not used)", async () => {
    const dir = copyOf("lstm");
    editJson(path.join(dir, "vocabulary.json"), (v) => (v["vocabulary"] = ["", "[UNK]", ...tinyWords().slice(0, 98)]));
    await refused(
      dir,
      `${dir}/vocabulary.json: vocabulary is a list of 100; expected 835 words, one per row of the embedding layer "embedding" in ${dir}/model.json`,
    );
  });

  it("tfidf.json: as many terms as the model reads TF-IDF features", async () => {
    const dir = copyOf("linear");
    let terms = 0;
    editJson(path.join(dir, "tfidf.json"), (t) => {
      terms = (t["vocabulary"] as string[]).length;
      t["vocabulary"] = (t["vocabulary"] as string[]).slice(0, -1);
      t["documentFrequency"] = (t["documentFrequency"] as number[]).slice(0, -1);
    });
    await refused(
      dir,
      `${dir}/tfidf.json: vocabulary is a list of ${terms - 1}; expected ${terms} terms, one per feature the model in ${dir}/model.json reads`,
    );
  });

  it("model.json: each weight's shape is a list of sizes and its dtype one TF.js stores", async () => {
    const cases: [(w: Record<string, unknown>) => void, string][] = [
      [(w) => (w["shape"] = [-8, 3]), "weightsManifest[0].weights[0].shape[0] is -8; expected an integer from 0 to 1073741824"],
      [(w) => (w["shape"] = "8x3"), 'weightsManifest[0].weights[0].shape is "8x3"; expected a list of at most 8 sizes'],
      [
        (w) => (w["dtype"] = "float64"),
        'weightsManifest[0].weights[0].dtype is "float64"; expected one of float32, int32, bool, uint8, uint16, float16',
      ],
    ];
    for (const [change, problem] of cases) {
      const dir = copyOf("linear");
      editJson(path.join(dir, "model.json"), (m) =>
        change((m["weightsManifest"] as { weights: Record<string, unknown>[] }[])[0]!.weights[0]!),
      );
      await refused(dir, `${dir}/model.json: ${problem}`);
    }
  });

  it("history.json: epochs numbered from 1, numbers where numbers belong, the best epoch among them", async () => {
    const cases: [(h: Record<string, unknown>) => void, string][] = [
      [(h) => delete h["epochs"], "epochs is missing; expected a list of at most 100000 epoch records"],
      [
        (h) => ((h["epochs"] as Record<string, unknown>[])[1]!["epoch"] = 5),
        "epochs[1].epoch is 5; expected 2 (epochs are numbered from 1, in order)",
      ],
      [(h) => ((h["epochs"] as Record<string, unknown>[])[0]!["loss"] = "low"), 'epochs[0].loss is "low"; expected a number (or null)'],
      [(h) => (h["bestEpoch"] = 3), "bestEpoch is 3; expected an integer from 0 to 2 (the epochs recorded)"],
    ];
    for (const [change, problem] of cases) {
      const dir = copyOf("cnn");
      editJson(path.join(dir, "history.json"), change);
      await refused(dir, `${dir}/history.json: ${problem}`);
    }
  });
});
