/**
 * The workbook's side of each parity check (lib/parity/run.ts): what it computes, written to the exchange folder
 * that peers/keras_parity.py reads.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { overviewTensor, TextVectorizer } from "../data/text";
import { Dataset, Film, labelMatrix } from "../data/dataset";
import { decodePoster, loadFilmPosters, posterBatch, posterIndex } from "../data/posters";
import { LoadedSplit } from "../data/split";
import { predictFilms } from "../eval/inference";
import { evaluate } from "../eval/metrics";
import { CNN_PRESETS, LSTM_PRESETS } from "../kinds/presets";
import { KindConfig, Trained, kindConfig, prepareRun } from "../kinds/registry";
import { buildCnn, buildLstm } from "../models/coursework";
import { binaryCrossentropyLoss } from "../models/losses";
import { ENV, PROJECT_DIR, PresetName, workbookPaths } from "../runtime/config";
import { WorkbookError } from "../runtime/errors";
import { sample, seededRandom, withSeededMathRandomSync } from "../runtime/random";
import { trainRun } from "../train/lifecycle";
import { silentProgress } from "../train/progress";
import { kerasAdam } from "../train/adam";
import { PathRoots, reportPath } from "./report";

const GENRES_FOR_BATCH = 16;

/** What `npm run parity` was asked for. */
export interface ParityOptions {
  dataDir: string;
  preset: PresetName;
  epochs: number;
  seeds: number;
  training: boolean;
  sample: number;
}

export interface Manifest {
  text?: object;
  posters?: object;
  metrics: object[];
  models: object[];
  training: object[];
}

/** What the committed report's paths are written relative to: the project, and the dataset's setting. */
export function reportRoots(): PathRoots {
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

/** The vocabulary adapted on the training overviews, and every overview's ids. */
export function textCheck(loaded: LoadedSplit, dir: string): object {
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

/**
 * Every poster through the workbook's pipeline (64x64, through the cache), and a sample decoded as bytes, by the
 * decoder the backend has (TensorFlow's on native TensorFlow, else jimp's): the spec says which.
 */
export async function posterCheck(dataset: Dataset, options: ParityOptions, dir: string): Promise<object> {
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
    const decoded = await decodePoster((dataset.films[i] as Film).posterFile, { decoder: posters.decoder });
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
    decoder: posters.decoder,
    workbook: "posters-64.f32",
    sample: { indices, shapes, decoded: "decoded-sample.u8" },
  };
}

/** The workbook's metrics on a trained model's validation predictions, with the labels and probabilities. */
export async function metricCheck(trained: Trained, loaded: LoadedSplit, dir: string): Promise<object> {
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

/** The model's inputs for these films: 64x64 posters (the CNN), or the overviews through a vocabulary adapted on the training films (the LSTM). */
async function checkInputs(
  kind: "cnn" | "lstm",
  loaded: LoadedSplit,
  films: readonly number[],
  vocabularySize: number,
): Promise<{ x: tf.Tensor; xRaw: Float32Array | Int32Array }> {
  if (kind === "cnn") {
    const posters = await loadFilmPosters(
      films.map((r) => loaded.dataset.films[r] as Film),
      { size: 64, cacheDir: workbookPaths().cacheDir, log: () => undefined },
    );
    const xRaw = posterBatch(
      posters,
      films.map((_, i) => i),
    );
    return { x: tf.tensor4d(xRaw, [films.length, 64, 64, 3]), xRaw };
  }
  const vectorizer = TextVectorizer.adapt(
    loaded.split.train.map((r) => (loaded.dataset.films[r] as Film).overview),
    { maxTokens: vocabularySize },
  );
  const x = overviewTensor(films.map((r) => vectorizer.encode((loaded.dataset.films[r] as Film).overview)));
  return { x, xRaw: x.dataSync() as Int32Array };
}

/** One step of a coursework model from its seeded initial weights, dropout off: outputs, loss, gradients, Adam. */
export async function modelCheck(kind: "cnn" | "lstm", loaded: LoadedSplit, dir: string): Promise<object> {
  const films = loaded.split.validation.slice(0, GENRES_FOR_BATCH);
  const vocabularySize = 10000;
  const { x, xRaw } = await checkInputs(kind, loaded, films, vocabularySize);
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
export async function workbookTraining(
  kind: "cnn" | "lstm",
  loaded: LoadedSplit,
  options: ParityOptions,
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
