import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Film } from "../lib/data/dataset";
import type { Comparison, ModelResult } from "../lib/eval/comparison";
import { leaderboardContenders } from "../lib/eval/leaderboard";
import { KIND_IDS, configSettings, howToTrain, kindConfig, kindSpec, loadPresetModel, loadPresetModels } from "../lib/kinds/registry";
import { CNN_PRESETS } from "../lib/kinds/presets";
import { startNotebook } from "../lib/workbook/notebook";
import { POSTER_EVIDENCE_MODELS, WORD_EVIDENCE_MODELS } from "../lib/eval/explain";
import { PRESET_NAMES, PROJECT_DIR } from "../lib/runtime/config";
import { validateSpace } from "../lib/tune/space";
import { DEFAULT_SPACES } from "../lib/tune/spaces";

describe("kinds: one registry of model kinds", () => {
  it("the registry holds the kinds docs/ARCHITECTURE.md promises", () => {
    const docs = fs.readFileSync(path.join(PROJECT_DIR, "docs", "ARCHITECTURE.md"), "utf8");
    const promised = /^kinds\/registry: (.+)$/m.exec(docs)?.[1]?.split(", ");
    assert.ok(promised && promised.length > 0, "ARCHITECTURE.md lists the kinds");
    assert.deepEqual([...KIND_IDS].sort(), [...promised].sort());
  });

  it("every kind is declared under its own id, with presets at every preset and what trains it", () => {
    for (const id of KIND_IDS) {
      const spec = kindSpec(id);
      assert.equal(spec.id, id);
      assert.deepEqual(Object.keys(spec.presets).sort(), ["coursework", "quick", "smoke"]);
      assert.ok(spec.reads.poster || spec.reads.overview, `${id} reads something`);
      const byCommand = `'npm run train -- ${spec.trainedBy.command} --preset quick'`;
      const notebook = spec.trainedBy.notebook;
      if (notebook === undefined) {
        assert.equal(howToTrain(id, "quick"), byCommand);
      } else {
        // the notebook it names is one of the workbook's
        assert.ok(fs.existsSync(path.join(PROJECT_DIR, "notebooks", `${notebook}.ipynb`)), `${id}: notebooks/${notebook}.ipynb`);
        assert.equal(howToTrain(id, "quick"), `notebook ${notebook}, or ${byCommand}`);
      }
    }
    assert.throws(() => kindSpec("rnn"), new RegExp(`unknown model kind 'rnn': use one of ${KIND_IDS.join(", ")}$`));
  });

  it("a kind's search space names its own settings at every preset; the default spaces are the kinds' own", () => {
    for (const id of KIND_IDS) {
      const space = kindSpec(id).tuneSpace;
      assert.equal(DEFAULT_SPACES[id], space, id);
      if (space) for (const preset of PRESET_NAMES) validateSpace(space, kindSpec(id).presets[preset], id);
    }
    // the kinds notebook 08 searches without being given a space
    assert.ok(DEFAULT_SPACES["pretrained"] && DEFAULT_SPACES["cnn"]);
  });

  it("the explanations across films use the kinds that read what they explain, in the order of their ranks", () => {
    for (const kind of WORD_EVIDENCE_MODELS) assert.ok(kindSpec(kind).reads.overview, `${kind} reads overviews`);
    for (const kind of POSTER_EVIDENCE_MODELS) assert.ok(kindSpec(kind).reads.poster, `${kind} reads posters`);
    const ranks = (kinds: readonly string[], of: "words" | "posters") => kinds.map((k) => kindSpec(k).evidence?.[of] as number);
    const isAscending = (xs: number[]) => xs.every((x, i) => i === 0 || (xs[i - 1] as number) < x);
    assert.ok(isAscending(ranks(WORD_EVIDENCE_MODELS, "words")) && isAscending(ranks(POSTER_EVIDENCE_MODELS, "posters")));
    // what eval/explain.ts documents: the strongest readers of overviews first, the coursework CNN first for posters
    assert.deepEqual(WORD_EVIDENCE_MODELS, ["pretrained", "text-head", "fusion", "lstm"]);
    assert.deepEqual(POSTER_EVIDENCE_MODELS, ["cnn", "fusion", "pretrained"]);
  });

  it("a kind's config is its preset's settings with the paths and its kind; configSettings gives back the settings", () => {
    const config = kindConfig("cnn", { preset: "smoke", env: { WORKBOOK_OUT_DIR: "/somewhere" } });
    assert.equal(config.kind, "cnn");
    assert.equal(config.epochs, CNN_PRESETS.smoke.epochs);
    assert.equal(config.outDir, "/somewhere");
    assert.deepEqual(configSettings(config), CNN_PRESETS.smoke);
    assert.deepEqual(configSettings({ ...config, epochs: 3 }), { ...CNN_PRESETS.smoke, epochs: 3 });
  });

  it("models that were never trained are listed at once, with what trains each; a required one is an error naming all", async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "kinds-empty-"));
    const config = { outDir, preset: "smoke" };
    const lines: string[] = [];
    const models = await loadPresetModels(config, ["cnn", "lstm"], { log: (line) => lines.push(line) });
    assert.deepEqual(models.found, []);
    assert.deepEqual(
      models.missing.map((m) => m.kind),
      ["cnn", "lstm"],
    );
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      /not trained yet at preset smoke, and left out: cnn \(.*smoke\/cnn\): train it with notebook 02-posters-cnn, or 'npm run train -- cnn --preset smoke'; lstm/,
    );
    await assert.rejects(
      loadPresetModels(config, ["cnn", "lstm", "fusion"], { required: ["fusion"] }),
      /not trained yet at preset smoke: cnn .*; lstm .*; fusion \(.*\): train it with notebook 05-fusion/,
    );
    await assert.rejects(loadPresetModels(config, ["cnn", "lstm"], { required: "one" }), /not trained yet at preset smoke: cnn .*; lstm/);
    await assert.rejects(
      loadPresetModel(config, "lstm"),
      /no LSTM \(overview\) trained at preset smoke .*: train it with notebook 03-overviews-lstm/,
    );
  });

  it("startNotebook takes the preset's settings, applies the notebook's changes and says what differs from the coursework", () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (line: string) => lines.push(line);
    const previous = process.env["WORKBOOK_PRESET"];
    process.env["WORKBOOK_PRESET"] = "smoke";
    try {
      const config = startNotebook("cnn", { learningRate: 0.01 });
      assert.equal(config.learningRate, 0.01);
      assert.equal(config.epochs, CNN_PRESETS.smoke.epochs);
      assert.equal(config.kind, "cnn");
    } finally {
      console.log = log;
      if (previous === undefined) delete process.env["WORKBOOK_PRESET"];
      else process.env["WORKBOOK_PRESET"] = previous;
    }
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      /^preset smoke \(cnn\): differs from the coursework: learningRate 0\.01 \(coursework: 0\.0001\); epochs 1 \(coursework: 40\); films 200 \(coursework: all\); changed in this notebook: learningRate$/,
    );
  });

  it("npm run train starts the same way: the preset and paths it is given, its options as the changes", () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (line: string) => lines.push(line);
    try {
      const config = startNotebook(
        "lstm",
        { epochs: 2 },
        { preset: "coursework", env: { WORKBOOK_OUT_DIR: "/elsewhere" }, changesMade: "on the command line" },
      );
      assert.equal(config.preset, "coursework");
      assert.equal(config.outDir, "/elsewhere");
      assert.equal(config.kind, "lstm");
    } finally {
      console.log = log;
    }
    assert.deepEqual(lines, [
      "preset coursework (lstm): differs from the coursework: epochs 2 (coursework: 20); changed on the command line: epochs",
    ]);
  });
});

describe("leaderboard: contenders by role, not by position", () => {
  const genres = ["A", "B"];
  const films: Film[] = [1, 2, 3, 4].map((i) => ({ id: `f${i}`, line: i + 1, overview: "x", genres: [], posterFile: "" }));
  const model = (kind: string, name: string, p: number): ModelResult =>
    ({ id: kind, name, trained: { info: { kind } }, probabilities: new Float32Array(8).fill(p) }) as unknown as ModelResult;
  const dataset = { genres, labels: Uint8Array.from([1, 0, 0, 1, 1, 1, 0, 0]), films } as unknown as Parameters<
    typeof leaderboardContenders
  >[1];
  const split = { train: [0, 1, 2, 3], validation: [0, 1, 2, 3], seed: 1 };
  const comparison = (models: ModelResult[]): Comparison => ({ genres, films, yTrue: new Float32Array(8), models });

  it("orders rows by role whatever the order the models come in; late fusion where both single models are there", () => {
    const rows = leaderboardContenders(
      comparison([model("fusion", "joint", 0.3), model("lstm", "LSTM", 0.4), model("linear", "LR", 0.1), model("cnn", "CNN", 0.2)]),
      dataset,
      split,
      7,
    );
    assert.deepEqual(
      rows.map((r) => r.role),
      ["prior", "linear", "poster", "overview", "late", "late", "joint"],
    );
    assert.deepEqual(rows.map((r) => r.name).slice(0, 5), ["genre-frequency prior", "LR", "CNN", "LSTM", "late fusion: average"]);
    // the prior: each genre's share of positives among the training films (A: 2 of 4, B: 2 of 4), for every film
    assert.deepEqual(Array.from(rows[0]!.probabilities), [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    // the average of 0.2 and 0.4
    rows[4]!.probabilities.forEach((p) => assert.ok(Math.abs(p - 0.3) < 1e-6));
  });

  it("without the LSTM there is no late fusion of the single models; the heads' late fusion needs both heads", () => {
    const roles = (models: ModelResult[]) => leaderboardContenders(comparison(models), dataset, split, 7).map((r) => r.role);
    assert.deepEqual(roles([model("cnn", "CNN", 0.2), model("fusion", "joint", 0.3)]), ["prior", "poster", "joint"]);
    assert.deepEqual(roles([model("pretrained", "P", 0.2), model("text-head", "T", 0.3), model("poster-head", "V", 0.4)]), [
      "prior",
      "text-head",
      "poster-head",
      "late-heads",
      "pretrained",
    ]);
    assert.deepEqual(roles([model("pretrained", "P", 0.2), model("text-head", "T", 0.3)]), ["prior", "text-head", "pretrained"]);
  });
});
