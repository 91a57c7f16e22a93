/**
 * Untrusted input, case by case, each with its expected outcome (issue 30):
 *   - generated CSV files (csv-generator.ts, seeded) read by the workbook's loader and by papaparse with strict settings:
 *     both must give back every record as it was written, field by field, on the line where it starts;
 *   - hostile model folders: each is refused with the message written out below, by the loader and by `npm run predict`
 *     (which prints it, exits 1, and shows no stack trace); the valid folders they are made from load.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Papa from "papaparse";
import { CSV_FILE, loadDataset } from "../lib/data/dataset";
import { loadModel } from "../lib/kinds/registry";
import { PROJECT_DIR } from "../lib/runtime/config";
import { generateCsv } from "./csv-generator";
import { useBackend } from "./helpers";
import { TinyKind, editJson, tinyWords, writeTinyFolder } from "./model-folders";

/** How many CSV files are generated (seeds 1..N). */
const CSV_FILES = 200;

describe("hostile input: generated CSV files read by the workbook and by papaparse agree with what was written", function () {
  this.timeout(60000);
  let root: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "csv-generated-"));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it(`${CSV_FILES} files: every record, field by field, on its line; no problem reported`, () => {
    const seen = new Map<string, number>();
    let records = 0;
    for (let seed = 1; seed <= CSV_FILES; seed++) {
      const csv = generateCsv(seed);
      const what = `seed ${seed} (${[...csv.features].join(", ")})`;
      for (const f of csv.features) seen.set(f, (seen.get(f) ?? 0) + 1);
      records += csv.records.length;

      // papaparse, strict: the file's own line end, RFC 4180 quotes, no empty line skipped, no error tolerated
      const body = csv.bom ? csv.text.slice(1) : csv.text;
      const parsed = Papa.parse<string[]>(body, {
        delimiter: ",",
        newline: csv.eol,
        quoteChar: '"',
        escapeChar: '"',
        skipEmptyLines: false,
      });
      assert.deepEqual(parsed.errors, [], what);
      const rows = body.endsWith(csv.eol) ? parsed.data.slice(0, -1) : parsed.data;
      assert.deepEqual(rows, [csv.header, ...csv.records.map((r) => r.fields)], what);

      // the workbook's loader
      const dir = path.join(root, `seed-${seed}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, CSV_FILE), csv.text);
      const dataset = loadDataset(dir, { checkPosters: false });
      assert.deepEqual(dataset.problems, [], what);
      assert.equal(dataset.rowsRead, csv.records.length, what);
      assert.deepEqual(
        dataset.films.map((f) => ({ id: f.id, line: f.line, genres: f.genres, overview: f.overview })),
        csv.records.map((r) => ({ id: r.id, line: r.line, genres: r.genres, overview: r.overview })),
        what,
      );
    }
    // the generator made every hard case many times
    for (const feature of [
      "BOM",
      "CRLF",
      "comma",
      "quote",
      "doubled quote",
      "line break in a field",
      "line that looks like a record",
      "quoted Id",
      "no newline at the end",
    ])
      assert.ok((seen.get(feature) ?? 0) >= 10, `only ${seen.get(feature) ?? 0} files with: ${feature}`);
    console.log(
      `      ${CSV_FILES} files, ${records} records; files with each feature: ${[...seen].map(([f, n]) => `${f} ${n}`).join(", ")}`,
    );
  });
});

/** A hostile folder: made from a valid one of `kind`, and the message it must be refused with ({dir}: the folder). */
interface HostileFolder {
  name: string;
  kind: TinyKind;
  make: (dir: string) => void;
  refused: string;
}

const json = (dir: string, file: string, change: (j: Record<string, unknown>) => void) => editJson(path.join(dir, file), change);
const replaceIn = (dir: string, file: string, from: string, to: string) =>
  fs.writeFileSync(path.join(dir, file), fs.readFileSync(path.join(dir, file), "utf8").replace(from, to));
const manifest = (m: Record<string, unknown>) => (m["weightsManifest"] as { paths: string[] }[])[0]!;

const HOSTILE: HostileFolder[] = [
  {
    name: "a weights path that climbs out of the folder (../x)",
    kind: "cnn",
    make: (dir) => json(dir, "model.json", (m) => (manifest(m).paths = ["../x"])),
    refused: `{dir}/model.json: weightsManifest[0].paths[0] is "../x": expected the plain name of a file inside the model folder (no /, \\, .. or absolute path)`,
  },
  {
    name: "an absolute weights path (/etc/passwd)",
    kind: "lstm",
    make: (dir) => json(dir, "model.json", (m) => (manifest(m).paths = ["/etc/passwd"])),
    refused: `{dir}/model.json: weightsManifest[0].paths[0] is "/etc/passwd": expected the plain name of a file inside the model folder (no /, \\, .. or absolute path)`,
  },
  {
    name: "imageSize -64",
    kind: "cnn",
    make: (dir) => json(dir, "info.json", (i) => (i["imageSize"] = -64)),
    refused: "{dir}/info.json: imageSize is -64; expected an integer from 1 to 1024",
  },
  {
    name: "imageSize 100000",
    kind: "cnn",
    make: (dir) => json(dir, "info.json", (i) => (i["imageSize"] = 100000)),
    refused: "{dir}/info.json: imageSize is 100000; expected an integer from 1 to 1024",
  },
  {
    name: "a threshold of -1",
    kind: "cnn",
    make: (dir) => replaceIn(dir, "thresholds.json", "[0.3,0.5,0.7]", "[-1,0.5,0.7]"),
    refused: "{dir}/thresholds.json: thresholds[0] is -1; expected a number from 0 to 1",
  },
  {
    name: "a threshold of 1e999 (Infinity once parsed)",
    kind: "lstm",
    make: (dir) => replaceIn(dir, "thresholds.json", "[0.3,0.5,0.7]", "[0.3,0.5,1e999]"),
    refused: "{dir}/thresholds.json: thresholds[2] is Infinity; expected a number from 0 to 1",
  },
  {
    name: "a vocabulary cut to 100 of 835 words",
    kind: "lstm",
    make: (dir) => json(dir, "vocabulary.json", (v) => (v["vocabulary"] = ["", "[UNK]", ...tinyWords().slice(0, 98)])),
    refused: `{dir}/vocabulary.json: vocabulary is a list of 100; expected 835 words, one per row of the embedding layer "embedding" in {dir}/model.json`,
  },
  {
    name: "four genres for a model with three outputs",
    kind: "linear",
    make: (dir) => json(dir, "info.json", (i) => (i["genres"] = ["Action", "Comedy", "Drama", "Western"])),
    refused:
      "{dir}/info.json: genres is a list of 4; expected 3 genres, one per output of the model in {dir}/model.json (files of two runs?)",
  },
  {
    name: "two genres, and thresholds for three",
    kind: "cnn",
    make: (dir) => json(dir, "info.json", (i) => (i["genres"] = ["Action", "Comedy"])),
    refused:
      "{dir}/info.json: genres is a list of 2; expected 3 genres, one per output of the model in {dir}/model.json (files of two runs?)",
  },
  {
    name: "a weight whose shape has a negative size",
    kind: "linear",
    make: (dir) =>
      json(dir, "model.json", (m) => ((m["weightsManifest"] as { weights: { shape: number[] }[] }[])[0]!.weights[0]!.shape[0] = -1)),
    refused: "{dir}/model.json: weightsManifest[0].weights[0].shape[0] is -1; expected an integer from 0 to 1073741824",
  },
  {
    name: "info.json a link to nothing",
    kind: "cnn",
    make: (dir) => {
      fs.rmSync(path.join(dir, "info.json"));
      fs.symlinkSync("../nowhere/info.json", path.join(dir, "info.json"));
    },
    refused:
      "{dir}/info.json is a link to ../nowhere/info.json, which is not there: {dir} is not a trained model folder (model description missing). " +
      "Train one with notebook 02/03 or 'npm run train'.",
  },
];

describe("hostile input: model folders that must be refused, each with its message", function () {
  this.timeout(120000);
  useBackend("cpu");
  let root: string;
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-folders-"));
    for (const kind of ["cnn", "lstm", "linear"] as const) await writeTinyFolder(path.join(root, `valid-${kind}`), kind);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("the valid folders they are made from load", async () => {
    for (const kind of ["cnn", "lstm", "linear"] as const)
      assert.equal((await loadModel(path.join(root, `valid-${kind}`))).info.kind, kind);
  });

  HOSTILE.forEach((c, i) => {
    it(`${c.name}: refused by the loader and by npm run predict`, async () => {
      const dir = path.join(root, `hostile-${i}`);
      fs.cpSync(path.join(root, `valid-${c.kind}`), dir, { recursive: true, verbatimSymlinks: true });
      c.make(dir);
      const expected = c.refused.replaceAll("{dir}", dir);
      await assert.rejects(loadModel(dir), (e: Error) => {
        assert.equal(e.name, "WorkbookError", e.stack);
        assert.equal(e.message, expected);
        return true;
      });
      const predict = spawnSync(
        process.execPath,
        [path.join(PROJECT_DIR, "dist", "lib", "commands", "predict.js"), "--model", dir, "--overview", "A ghost in the house."],
        { encoding: "utf8", env: { ...process.env, WORKBOOK_BACKEND: "cpu" } },
      );
      assert.equal(predict.status, 1, predict.stdout + predict.stderr);
      assert.ok(predict.stderr.split("\n").includes(`predict: ${expected}`), predict.stderr);
      assert.doesNotMatch(predict.stderr, /^\s+at /m, "no stack trace");
    });
  });
});
