/**
 * `npm run parity`: the workbook checked against Keras itself. The workbook computes each check's side here and
 * writes it to an exchange folder (out/parity/exchange); peers/keras_parity.py computes the same with Keras 3 and
 * TensorFlow (CPU) from its own pinned environment (.venv-peers, peers/setup.sh) and compares. The report, one row
 * per check with its tolerance and the measured difference, goes to docs/PARITY.md (and docs/parity.json, which
 * notebook 04 shows with the training curves).
 *
 *   npm run parity -- [--data DIR] [--preset quick] [--epochs N] [--seeds N] [--no-training] [--sample N]
 *
 * Checks: TextVectorization (vocabulary and every encoding), the poster pipeline (every poster; the decoder's and
 * the resize's shares on a sample), the metrics on a trained model's validation predictions (--preset's CNN and
 * LSTM), one step of the CNN and the BiLSTM from the same weights (outputs, loss, gradients, Adam), and training the
 * coursework's models in both on the same split (--seeds runs each, --epochs epochs; --no-training skips it).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { overviewTensor, TextVectorizer } from "../data/text";
import { CSV_FILE, Dataset, Film, labelMatrix, loadDataset } from "../data/dataset";
import { decodePoster, loadFilmPosters, posterBatch, posterIndex } from "../data/posters";
import { LoadedSplit, splitDataset } from "../data/split";
import { writeFixtureDataset } from "../data/fixture";
import { predictFilms } from "../eval/inference";
import { evaluate } from "../eval/metrics";
import { CNN_PRESETS, LSTM_PRESETS } from "../kinds/presets";
import { KindConfig, Trained, kindConfig, loadPresetModels, prepareRun } from "../kinds/registry";
import { buildCnn, buildLstm } from "../models/coursework";
import { binaryCrossentropyLoss } from "../models/losses";
import { describeBackend, selectBackend } from "../runtime/backend";
import { DEFAULT_DATA_DIR, ENV, PROJECT_DIR, PresetName, parsePreset, workbookPaths } from "../runtime/config";
import { WorkbookError } from "../runtime/errors";
import { sample, seededRandom, withSeededMathRandomSync } from "../runtime/random";
import { trainRun } from "../train/lifecycle";
import { silentProgress } from "../train/progress";
import { kerasAdam } from "../train/adam";
import { integerOption, parseArgs } from "./args";
import { ParityRow, PathRoots, datasetNote, parityReport, reportPath } from "./parity-report";

const USAGE =
  "usage: npm run parity -- [--data DIR] [--preset coursework|quick|smoke] [--epochs N] [--seeds N] [--no-training] [--sample N]";
const GENRES_FOR_BATCH = 16;

interface Options {
  dataDir: string;
  preset: PresetName;
  epochs: number;
  seeds: number;
  training: boolean;
  sample: number;
}

interface Manifest {
  text?: object;
  posters?: object;
  metrics: object[];
  models: object[];
  training: object[];
}

/** What the committed report's paths are written relative to: the project, and the dataset's setting. */
function reportRoots(): PathRoots {
  return { projectDir: PROJECT_DIR, settings: { [ENV.dataDir]: process.env[ENV.dataDir] } };
}

/** Raw little-endian float32 (or int32, uint8) values, what numpy.fromfile reads. */
function writeRaw(file: string, values: Float32Array | Int32Array | Uint8Array): void {
  fs.writeFileSync(file, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function parseOptions(argv: string[]): Options {
  const args = parseArgs(argv, { values: ["data", "preset", "epochs", "seeds", "sample"], flags: ["no-training"] }, USAGE);
  if (args.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    dataDir: args.values["data"] !== undefined ? path.resolve(args.values["data"]) : process.env[ENV.dataDir] || DEFAULT_DATA_DIR,
    preset: args.values["preset"] !== undefined ? parsePreset(args.values["preset"], "--preset") : "quick",
    epochs: integerOption(args, "epochs", 1, USAGE) ?? 5,
    seeds: integerOption(args, "seeds", 2, USAGE) ?? 3,
    training: args.flags["no-training"] !== true,
    sample: integerOption(args, "sample", 1, USAGE) ?? 500,
  };
}

/** The vocabulary adapted on the training overviews, and every overview's ids. */
function textCheck(loaded: LoadedSplit, dir: string): object {
  const train = loaded.split.train.map((r) => (loaded.dataset.films[r] as Film).overview);
  const all = loaded.dataset.films.map((f) => f.overview);
  const vectorizer = TextVectorizer.adapt(train, { maxTokens: 10000 });
  const file = "text.json";
  fs.writeFileSync(
    path.join(dir, file),
    JSON.stringify({ train, all, vocabulary: vectorizer.vocabulary, encoded: all.map((o) => Array.from(vectorizer.encode(o))) }),
  );
  return { file, maxTokens: 10000 };
}

/** Every poster through the workbook's pipeline (64x64, through the cache), and a sample decoded by jimp as bytes. */
async function posterCheck(dataset: Dataset, options: Options, dir: string): Promise<object> {
  const size = 64;
  const posters = await loadFilmPosters(dataset.films, { size, cacheDir: workbookPaths().cacheDir });
  if (posters.skipped.length > 0)
    throw new WorkbookError(`parity: ${posters.skipped.length} poster(s) cannot be read; fix the dataset first (npm run validate)`);
  const index = posterIndex(posters);
  writeRaw(
    path.join(dir, "posters-64.f32"),
    posterBatch(
      posters,
      dataset.films.map((f) => index.get(f.id) as number),
    ),
  );
  const indices = sample(
    dataset.films.map((_, i) => i),
    Math.min(options.sample, dataset.films.length),
    seededRandom(3),
  ).sort((a, b) => a - b);
  const shapes: [number, number][] = [];
  const bytes: Uint8Array[] = [];
  for (const i of indices) {
    const decoded = await decodePoster((dataset.films[i] as Film).posterFile);
    shapes.push([decoded.height, decoded.width]);
    bytes.push(Uint8Array.from(decoded.data, (v) => Math.round(v * 255)));
  }
  const all = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const b of bytes) {
    all.set(b, offset);
    offset += b.length;
  }
  writeRaw(path.join(dir, "decoded-sample.u8"), all);
  return {
    size,
    files: dataset.films.map((f) => f.posterFile),
    workbook: "posters-64.f32",
    sample: { indices, shapes, decoded: "decoded-sample.u8" },
  };
}

/** The workbook's metrics on a trained model's validation predictions, with the labels and probabilities. */
async function metricCheck(trained: Trained, loaded: LoadedSplit, dir: string): Promise<object> {
  const predictions = await predictFilms(trained, loaded.dataset, loaded.split.validation, {
    cacheDir: workbookPaths().cacheDir,
    log: () => undefined,
  });
  const rowOf = new Map(loaded.dataset.films.map((f, i) => [f.id, i]));
  const rows = predictions.ids.map((id) => rowOf.get(id) as number);
  const yTrue = Float32Array.from(labelMatrix(loaded.dataset, rows));
  const genres = loaded.dataset.genres;
  const e = evaluate(yTrue, predictions.probabilities, genres, 0.5);
  const name = trained.info.kind;
  writeRaw(path.join(dir, `${name}-ytrue.f32`), yTrue);
  writeRaw(path.join(dir, `${name}-yprob.f32`), predictions.probabilities);
  const allGenres = genres.reduce((sum, g) => sum + (e.perGenre[g]?.f1 ?? 0), 0) / genres.length;
  return {
    name: `${name} (${reportPath(trained.dir, reportRoots())})`,
    films: rows.length,
    genres: genres.length,
    yTrue: `${name}-ytrue.f32`,
    yProb: `${name}-yprob.f32`,
    workbook: {
      bce: e.bce,
      precision: e.kerasPrecision,
      recall: e.kerasRecall,
      microF1: e.microF1,
      macroF1: e.macroF1,
      macroF1AllGenres: allGenres,
      genresWithoutPositives: e.genresWithoutPositives,
    },
  };
}

/** One step of a coursework model from its seeded initial weights, dropout off: outputs, loss, gradients, Adam. */
async function modelCheck(kind: "cnn" | "lstm", loaded: LoadedSplit, dir: string): Promise<object> {
  const films = loaded.split.validation.slice(0, GENRES_FOR_BATCH);
  const vocabularySize = 10000;
  let x: tf.Tensor;
  let xRaw: Float32Array | Int32Array;
  if (kind === "cnn") {
    const posters = await loadFilmPosters(
      films.map((r) => loaded.dataset.films[r] as Film),
      { size: 64, cacheDir: workbookPaths().cacheDir, log: () => undefined },
    );
    xRaw = posterBatch(
      posters,
      films.map((_, i) => i),
    );
    x = tf.tensor4d(xRaw, [films.length, 64, 64, 3]);
  } else {
    const vectorizer = TextVectorizer.adapt(
      loaded.split.train.map((r) => (loaded.dataset.films[r] as Film).overview),
      { maxTokens: vocabularySize },
    );
    x = overviewTensor(films.map((r) => vectorizer.encode((loaded.dataset.films[r] as Film).overview)));
    xRaw = x.dataSync() as Int32Array;
  }
  const yRaw = Float32Array.from(labelMatrix(loaded.dataset, films));
  const y = tf.tensor2d(yRaw, [films.length, loaded.dataset.genres.length]);
  // The LSTM's kernels draw from Math.random (models/branches.ts): seeded, so that every run checks the same weights.
  const model = withSeededMathRandomSync(1, () => (kind === "cnn" ? buildCnn({ seed: 1 }) : buildLstm({ seed: 1, vocabularySize })));
  const weights = model.trainableWeights;
  const weightList = model.layers.flatMap((layer) =>
    layer.trainableWeights.map((w) => ({ layer: layer.name, name: w.name, shape: w.shape })),
  );
  writeRaw(path.join(dir, `${kind}-weights.f32`), concat(weights.map((w) => w.read().dataSync() as Float32Array)));
  const outputs = tf.tidy(() => (model.apply(x, { training: false }) as tf.Tensor).dataSync() as Float32Array);
  const variables = weights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => binaryCrossentropyLoss(y, model.apply(x, { training: false }) as tf.Tensor), variables);
  const loss = (await value.data())[0] as number;
  writeRaw(path.join(dir, `${kind}-grads.f32`), concat(variables.map((v) => grads[v.name]!.dataSync() as Float32Array)));
  const optimizer = kerasAdam(1e-4);
  optimizer.applyGradients(variables.map((v) => ({ name: v.name, tensor: grads[v.name] as tf.Tensor })));
  writeRaw(path.join(dir, `${kind}-after.f32`), concat(weights.map((w) => w.read().dataSync() as Float32Array)));
  writeRaw(path.join(dir, `${kind}-x.${kind === "lstm" ? "i32" : "f32"}`), xRaw);
  writeRaw(path.join(dir, `${kind}-y.f32`), yRaw);
  writeRaw(path.join(dir, `${kind}-outputs.f32`), outputs);
  const spec = {
    kind,
    vocabularySize,
    paramCounts: model.layers.filter((l) => l.countParams() > 0).map((l) => ({ layer: l.name, params: l.countParams() })),
    weights: `${kind}-weights.f32`,
    weightList,
    x: `${kind}-x.${kind === "lstm" ? "i32" : "f32"}`,
    xShape: x.shape,
    y: `${kind}-y.f32`,
    yShape: y.shape,
    outputs: `${kind}-outputs.f32`,
    loss,
    grads: `${kind}-grads.f32`,
    weightsAfter: `${kind}-after.f32`,
  };
  tf.dispose([x, y, value, ...Object.values(grads)]);
  optimizer.dispose();
  model.dispose();
  return spec;
}

/** The workbook trained --seeds times at the coursework's settings (but --epochs) on one split; the histories. */
async function workbookTraining(
  kind: "cnn" | "lstm",
  loaded: LoadedSplit,
  options: Options,
  dir: string,
): Promise<{ spec: object; histories: object[] }> {
  const histories: object[] = [];
  const best: number[] = [];
  const seeds = Array.from({ length: options.seeds }, (_, i) => i + 1);
  for (const seed of seeds) {
    const base = kindConfig(kind, { preset: "coursework" });
    const config = {
      ...base,
      epochs: options.epochs,
      trainingSeed: seed,
      outDir: path.join(workbookPaths().outDir, "parity"),
    } as KindConfig<typeof kind>;
    const started = performance.now();
    const run = await prepareRun(config, {
      loaded,
      dir: path.join(workbookPaths().outDir, "parity", "models", `${kind}-seed${seed}`),
      log: () => undefined,
    });
    const history = await trainRun(run, { progress: silentProgress(), log: () => undefined });
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `parity: workbook ${kind}, seed ${seed}: best val_loss ${history.bestValLoss.toFixed(4)} (epoch ${history.bestEpoch}) in ${seconds.toFixed(0)} s`,
    );
    best.push(history.bestValLoss);
    histories.push({ seed, seconds, epochs: history.epochs });
  }
  const labels = "labels.f32";
  if (!fs.existsSync(path.join(dir, labels))) writeRaw(path.join(dir, labels), Float32Array.from(loaded.dataset.labels));
  if (!fs.existsSync(path.join(dir, "overviews.json")))
    fs.writeFileSync(path.join(dir, "overviews.json"), JSON.stringify(loaded.dataset.films.map((f) => f.overview)));
  return {
    spec: {
      kind,
      epochs: options.epochs,
      learningRate: (kind === "cnn" ? CNN_PRESETS : LSTM_PRESETS).coursework.learningRate,
      seeds,
      films: loaded.dataset.films.length,
      genres: loaded.dataset.genres.length,
      labels,
      train: loaded.split.train,
      validation: loaded.split.validation,
      files: loaded.dataset.films.map((f) => f.posterFile),
      overviews: "overviews.json",
      workbookBest: best,
    },
    histories,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const backend = await selectBackend();
  console.log(`parity: ${describeBackend(backend)}`);
  let dataDir = options.dataDir;
  let dataset = datasetNote({ dir: dataDir, fixture: false }, reportRoots());
  if (!fs.existsSync(path.join(dataDir, CSV_FILE))) {
    dataDir = path.join(workbookPaths().outDir, "parity", "fixture-dataset");
    await writeFixtureDataset(dataDir);
    dataset = datasetNote({ dir: dataDir, fixture: true, missing: options.dataDir }, reportRoots());
  }
  const loaded = splitDataset(loadDataset(dataDir), { seed: 42, validationFraction: 0.2 }, () => undefined);
  console.log(
    `parity: ${dataset}: ${loaded.dataset.films.length} films, ${loaded.split.train.length} training, ${loaded.split.validation.length} validation`,
  );
  const dir = path.join(workbookPaths().outDir, "parity", "exchange");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });

  const manifest: Manifest = { metrics: [], models: [], training: [] };
  manifest.text = textCheck(loaded, dir);
  manifest.posters = await posterCheck(loaded.dataset, options, dir);
  const trained = await loadPresetModels({ outDir: workbookPaths().outDir, preset: options.preset }, ["cnn", "lstm"], {
    log: (l) => console.log(`parity: ${l}`),
  });
  for (const model of trained.found) manifest.metrics.push(await metricCheck(model, loaded, dir));
  for (const kind of ["cnn", "lstm"] as const) manifest.models.push(await modelCheck(kind, loaded, dir));
  const curves: Record<string, object> = {};
  if (options.training) {
    for (const kind of ["cnn", "lstm"] as const) {
      const { spec, histories } = await workbookTraining(kind, loaded, options, dir);
      manifest.training.push(spec);
      curves[kind] = { workbook: histories };
    }
  }
  fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest));

  const setup = spawnSync("bash", [path.join(PROJECT_DIR, "peers", "setup.sh")], { stdio: "inherit" });
  if (setup.status !== 0) throw new WorkbookError(`peers/setup.sh failed (exit ${setup.status})`);
  const python = path.join(PROJECT_DIR, ".venv-peers", "bin", "python");
  const peer = spawnSync(python, [path.join(PROJECT_DIR, "peers", "keras_parity.py"), dir, String(backend.threads)], {
    cwd: path.join(PROJECT_DIR, "peers"),
    stdio: "inherit",
  });
  if (peer.status !== 0) throw new WorkbookError(`peers/keras_parity.py failed (exit ${peer.status})`);
  const results = JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8")) as {
    environment: Record<string, unknown>;
    rows: ParityRow[];
  };
  for (const kind of Object.keys(curves)) {
    const file = path.join(dir, `keras-training-${kind}.json`);
    if (fs.existsSync(file)) curves[kind] = { ...curves[kind], keras: JSON.parse(fs.readFileSync(file, "utf8")) as object };
  }
  const env = results.environment;
  const header = [
    `Written by \`npm run parity\` on ${new Date().toISOString().slice(0, 10)} (${((Date.now() - started) / 60000).toFixed(0)} minutes), on ${dataset}.`,
    `Workbook: ${describeBackend(backend)}. Keras ${String(env["keras"])} on TensorFlow ${String(env["tensorflow"])} (CPU), ${String(env["threads"])} threads.`,
    `Metrics on the validation predictions of the \`${options.preset}\` preset's models (${trained.found.map((m) => m.info.kind).join(", ") || "none trained"}); ` +
      (options.training
        ? `training: ${options.seeds} seeds of each model, ${options.epochs} epochs at the coursework's settings otherwise, on the seed-42 split.`
        : "training not run (--no-training)."),
  ];
  const failed = results.rows.filter((r) => r.status === "differs");
  fs.writeFileSync(path.join(PROJECT_DIR, "docs", "PARITY.md"), parityReport(results.rows, header));
  fs.writeFileSync(
    path.join(PROJECT_DIR, "docs", "parity.json"),
    JSON.stringify({ written: new Date().toISOString(), header, environment: env, rows: results.rows, curves }, null, 1),
  );
  const explained = results.rows.filter((r) => r.status === "explained").length;
  console.log(
    `parity: ${results.rows.length - failed.length - explained} of ${results.rows.length} checks within tolerance, ${explained} explained, ${failed.length} differ; wrote docs/PARITY.md and docs/parity.json`,
  );
  process.exitCode = failed.length > 0 ? 1 : 0;
}

main().catch((e: unknown) => {
  console.error(`parity: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 2;
});
