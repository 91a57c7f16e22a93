/**
 * The benchmark behind `npm run bench` (lib/commands/bench.ts): training and prediction throughput of the
 * coursework's two models on the active backend, and the pretrained encoders' feature extraction.
 *
 * - cnn: random 64x64x3 posters, 25 random binary labels;
 * - lstm: REAL overviews when the dataset is there (IMDB_DATA_DIR or --data), vectorized with the
 *   10,000-token vocabulary adapted on them, in batches of 64 bucketed by length as the trainer makes them
 *   (--batching padded: 64 consecutive films of a seeded shuffle), each padded to its longest overview;
 *   without the dataset, synthetic lengths drawn like the real ones ("texts":"synthetic", padded).
 * A training step is train/trainer.ts's: Adam (lr 1e-4, Keras epsilon 1e-7), Keras binary cross-entropy,
 * the trainer's own step (train/trainer.ts trainStep: its loss and gradients one TensorFlow function per model and
 * shape on native where the model allows it; `trainRoute` says which ran), loss, predictions and Keras counts read
 * back every step.
 * Prediction is the workbook's own (eval/inference.ts predictInOneCall: inference mode, one TensorFlow function per
 * model and shape on native where the model allows it, runtime/graph-function.ts) read back, batch 64; `predictRoute`
 * says which ran. `--profile` runs training and prediction op by op, so that each kernel is timed.
 * `--small` runs tiny variants (16x16 posters, a 200-word vocabulary, batch 4) for tests.
 * `--profile` prints the time per kernel (stderr, one JSON line per model) of the measured steps.
 * Then one line per pretrained encoder: feature extraction in films/s, end to end (USE-lite on overviews;
 * MobileNetV2 decoding JPEG posters and reading them at the quick preset's size and at 224), on a seeded
 * sample of the dataset's films (synthetic ones without it). Not with --small; --no-encoders skips them.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { describeBackend, selectBackend, type BackendCandidate, type BackendInfo } from "../runtime/backend";
import { CSV_FILE, loadDataset, labelRow } from "../data/dataset";
import { buildCnn, buildLstm } from "../models/coursework";
import { randomInt, seededRandom, shuffled } from "../runtime/random";
import { TextVectorizer, overviewTensor } from "../data/text";
import { chunks, lengthBucketedBatches } from "../data/batches";
import { stepFlops } from "./flops";
import { DecodedPoster, decodePoster } from "../data/posters";
import { imageFeatures, loadImageEncoder } from "../encoders/mobilenet";
import { embedTexts, loadSentenceEncoder } from "../encoders/use-lite";
import { PRETRAINED_PRESETS } from "../kinds/presets";
import { binaryCrossentropyLoss } from "../models/losses";
import { trainStep, trainingPurpose } from "../train/trainer";
import { kerasAdam } from "../train/adam";
import { profileKernels, topKernels } from "../runtime/kernel-profile";
import { predictInOneCall } from "../eval/inference";
import { graphFunctionCalls, graphFunctionRefusal, setGraphFunctions } from "../runtime/graph-function";
import { PeerResult, RoundResults, medianRatioLines, peerPlan, ratioLines, runPeers } from "./peers";
import type { BenchModel, BenchOptions, BenchResult, RecordedBatch, StepRoute } from "./results";

export type { BenchModel, BenchOptions, BenchResult, RecordedBatch } from "./results";

// ---------------------------------------------------------------------------------------------------
// Inputs

interface Batch {
  x: tf.Tensor;
  y: tf.Tensor2D;
}

/** Produces the next batch (tensors owned by the caller). */
type BatchSource = { next(): Batch; texts?: "real" | "synthetic"; lengths: number[]; tokens: number[] };

function randomLabels(random: () => number, rows: number, genres: number): tf.Tensor2D {
  const y = new Float32Array(rows * genres);
  for (let i = 0; i < y.length; i++) y[i] = random() < 0.1 ? 1 : 0;
  return tf.tensor2d(y, [rows, genres]);
}

function cnnSource(options: BenchOptions, imageSize: number): BatchSource {
  const random = seededRandom(options.seed);
  const n = options.batchSize;
  return {
    lengths: [],
    tokens: [],
    next() {
      const x = new Float32Array(n * imageSize * imageSize * 3);
      for (let i = 0; i < x.length; i++) x[i] = random();
      return { x: tf.tensor4d(x, [n, imageSize, imageSize, 3]), y: randomLabels(random, n, 25) };
    },
  };
}

/** Word counts of overviews (1-68 words, mean ~26) when the dataset is not there. */
function syntheticLength(random: () => number): number {
  // Roughly the real distribution: a bell around 26 words with a long right tail, within 1..68.
  const u = random() + random() + random() - 1.5; // ~N(0, 0.5)
  const len = Math.round(26 + 20 * u + (random() < 0.1 ? 15 * random() : 0));
  return Math.max(1, Math.min(68, len));
}

function lstmSource(options: BenchOptions, vocabularySize: number, record?: (batch: RecordedBatch) => void): BatchSource {
  const random = seededRandom(options.seed);
  const n = options.batchSize;
  const csv = path.join(options.dataDir, CSV_FILE);
  if (!options.small && fs.existsSync(csv)) {
    const dataset = loadDataset(options.dataDir, { checkPosters: false });
    const overviews = dataset.films.map((f) => f.overview);
    const vectorizer = TextVectorizer.adapt(overviews, { maxTokens: vocabularySize });
    const ids = overviews.map((o) => vectorizer.encode(o));
    const films = dataset.films.map((_, i) => i);
    // As the trainer batches (bucketed by length), or 64 consecutive films of a shuffle (padded); whole batches only.
    const lengthOf = (r: number) => Math.max(1, (ids[r] as Int32Array).length);
    const batches = (
      options.batching === "bucketed" ? lengthBucketedBatches(films, n, lengthOf, random) : chunks(shuffled(films, random), n)
    ).filter((b) => b.length === n);
    if (batches.length === 0) throw new Error(`bench: ${csv} has ${films.length} films, fewer than one batch of ${n}`);
    let at = 0;
    const lengths: number[] = [];
    const tokens: number[] = [];
    return {
      texts: "real",
      lengths,
      tokens,
      next() {
        const rows = batches[at++ % batches.length] as number[];
        const encoded = rows.map((i) => ids[i] as Int32Array);
        const x = overviewTensor(encoded);
        lengths.push(x.shape[1]);
        for (const e of encoded) tokens.push(e.length);
        const genres = dataset.genres.length;
        const y = new Float32Array(n * genres);
        rows.forEach((r, i) => y.set(labelRow(dataset, r), i * genres));
        record?.({ ids: encoded.map((e) => Array.from(e)), labels: rows.map((r) => Array.from(labelRow(dataset, r))) });
        return { x, y: tf.tensor2d(y, [n, genres]) };
      },
    };
  }
  const lengths: number[] = [];
  const tokens: number[] = [];
  const maxLen = options.small ? 8 : 68;
  return {
    texts: "synthetic",
    lengths,
    tokens,
    next() {
      const rows = Array.from({ length: n }, () => {
        const len = Math.min(maxLen, syntheticLength(random));
        const r = new Int32Array(len);
        // Zipf-like ids: frequent words have small ids (never 0, the padding id).
        for (let j = 0; j < len; j++)
          r[j] = 1 + Math.min(vocabularySize - 2, Math.floor(Math.exp(random() * Math.log(vocabularySize - 1))));
        return r;
      });
      const x = overviewTensor(rows);
      lengths.push(x.shape[1]);
      for (const r of rows) tokens.push(r.length);
      return { x, y: randomLabels(random, n, 25) };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The measurement

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The trainer's own step (train/trainer.ts), so that the figure is what training does. */
async function benchStep(model: tf.LayersModel, optimizer: tf.Optimizer, variables: tf.Variable[], batch: Batch): Promise<number> {
  return (await trainStep(model, optimizer, variables, binaryCrossentropyLoss, { inputs: batch.x, labels: batch.y as tf.Tensor2D })).loss;
}

async function predictStep(model: tf.LayersModel, batch: Batch): Promise<void> {
  const out = tf.tidy(() => predictInOneCall(model, batch.x) as tf.Tensor);
  try {
    await out.data();
  } finally {
    out.dispose();
  }
}

/** How `steps` timed steps ran, of which `functionSteps` as a TensorFlow function. */
function route(functionSteps: number, steps: number): StepRoute {
  return functionSteps === 0 ? "op by op" : functionSteps === steps ? "graph function" : "mixed";
}

function machine(): { cpu: string; cores: number; node: string } {
  const cpus = os.cpus();
  return {
    cpu: (cpus[0]?.model ?? "unknown").trim(),
    cores: typeof os.availableParallelism === "function" ? os.availableParallelism() : cpus.length,
    node: process.version,
  };
}

export async function benchModel(
  kind: BenchModel,
  options: BenchOptions,
  backend: BackendInfo,
  log: (line: string) => void = () => undefined,
  record?: (batch: RecordedBatch) => void,
): Promise<BenchResult> {
  const loadAverage = round(os.loadavg()[0] ?? 0, 2);
  const small = options.small;
  const imageSize = small ? 16 : 64;
  const vocabularySize = small ? 200 : 10000;
  const model =
    kind === "cnn"
      ? buildCnn({ imageSize, seed: options.seed })
      : buildLstm({ vocabularySize, seed: options.seed, ...(small ? { embeddingSize: 16 } : {}) });
  const source = kind === "cnn" ? cnnSource(options, imageSize) : lstmSource(options, vocabularySize, record);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = kerasAdam(1e-4);
  const profiler = options.profile ? profileKernels(tf.getBackend()) : undefined;
  // a graph function is one kernel call to the profiler: op by op, each kernel is timed
  const graphFunctionsWere = profiler ? setGraphFunctions(false) : undefined;
  try {
    const withBatch = async <T>(f: (b: Batch) => Promise<T>): Promise<T> => {
      const b = source.next();
      try {
        return await f(b);
      } finally {
        tf.dispose([b.x, b.y]);
      }
    };
    // Milliseconds spent in `step` over `steps` fresh batches. Batch creation is outside the timing (the trainer
    // builds batches in JS too, but that is not the backend).
    const timedSteps = async (steps: number, step: (b: Batch) => Promise<unknown>): Promise<number> => {
      let ms = 0;
      for (let i = 0; i < steps; i++) {
        ms += await withBatch(async (b) => {
          const t0 = performance.now();
          await step(b);
          return performance.now() - t0;
        });
      }
      return ms;
    };
    for (let i = 0; i < options.warmup; i++) await withBatch((b) => benchStep(model, optimizer, variables, b));
    const liveTensorsAfterWarmup = tf.memory().numTensors;
    source.lengths.length = 0;
    source.tokens.length = 0;
    profiler?.reset();
    const trainFunctions = graphFunctionCalls.function;
    const trainMs = await timedSteps(options.steps, (b) => benchStep(model, optimizer, variables, b));
    const trainRoute = route(graphFunctionCalls.function - trainFunctions, options.steps);
    const trainRefusal = graphFunctionRefusal(model, trainingPurpose(binaryCrossentropyLoss));
    const mean = (xs: number[]): number | undefined => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);
    const meanLength = mean(source.lengths);
    const meanTokens = mean(source.tokens);
    const trainProfile = profiler ? topKernels(profiler.times, options.steps, trainMs) : undefined;

    for (let i = 0; i < Math.min(3, options.warmup); i++) await withBatch((b) => predictStep(model, b));
    profiler?.reset();
    source.lengths.length = 0;
    const predictFunctions = graphFunctionCalls.function;
    const predictMs = await timedSteps(options.predictSteps, (b) => predictStep(model, b));
    const predictRoute = route(graphFunctionCalls.function - predictFunctions, options.predictSteps);
    const predictRefusal = graphFunctionRefusal(model, "predict");
    const trainFlops = stepFlops(model, meanLength).training;
    const predictFlops = stepFlops(model, mean(source.lengths)).forward;
    const liveTensors = tf.memory().numTensors;
    const predictProfile = profiler ? topKernels(profiler.times, options.predictSteps, predictMs) : undefined;
    if (profiler) log(JSON.stringify({ model: kind, profile: { train: trainProfile, predict: predictProfile } }));

    const result: BenchResult = {
      model: kind,
      backend: backend.name,
      threads: backend.threads,
      ...(backend.simd !== undefined ? { simd: backend.simd } : {}),
      batchSize: options.batchSize,
      trainSamplesPerSec: round((options.steps * options.batchSize) / (trainMs / 1000)),
      predictSamplesPerSec: round((options.predictSteps * options.batchSize) / (predictMs / 1000)),
      trainGflopsPerSec: round((options.steps * options.batchSize * trainFlops) / (trainMs * 1e6)),
      predictGflopsPerSec: round((options.predictSteps * options.batchSize * predictFlops) / (predictMs * 1e6)),
      stepsPerSecond: round(options.steps / (trainMs / 1000), 2),
      predictStepsPerSecond: round(options.predictSteps / (predictMs / 1000), 2),
      trainSteps: options.steps,
      trainSeconds: round(trainMs / 1000, 3),
      predictSteps: options.predictSteps,
      predictSeconds: round(predictMs / 1000, 3),
      trainRoute,
      ...(trainRefusal !== undefined ? { trainRouteWhy: trainRefusal } : {}),
      predictRoute,
      ...(predictRefusal !== undefined ? { predictRouteWhy: predictRefusal } : {}),
      warmupSteps: options.warmup,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      liveTensors,
      liveTensorsAfterWarmup,
      ...(kind === "lstm"
        ? {
            texts: source.texts ?? "synthetic",
            batching: source.texts === "real" ? options.batching : "padded",
            ...(meanLength !== undefined ? { meanSequenceLength: round(meanLength, 1) } : {}),
            ...(meanTokens !== undefined ? { meanTokens: round(meanTokens, 1) } : {}),
          }
        : {}),
      ...(small ? { small: true } : {}),
      ...machine(),
      loadAverage,
    };
    return result;
  } finally {
    profiler?.restore();
    if (graphFunctionsWere !== undefined) setGraphFunctions(graphFunctionsWere);
    optimizer.dispose();
    model.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------
// Pretrained encoders: feature extraction speed

export interface EncoderBenchResult {
  /** "use-lite" or "mobilenet-v2". */
  model: string;
  backend: string;
  threads: number;
  /** Posters: the encoder's input size. */
  inputSize?: number;
  films: number;
  /** End to end: tokenising and embedding overviews; decoding JPEGs and extracting poster features. */
  filmsPerSec: number;
  seconds: number;
  inputs: "real" | "synthetic";
  peakRssMB: number;
  cpu: string;
  cores: number;
  node: string;
  loadAverage: number;
}

/** Films for the encoder timings: a seeded sample of the dataset's when it is there. */
function encoderFilms(options: BenchOptions): {
  overviews: string[];
  posters: (() => Promise<DecodedPoster>)[];
  inputs: "real" | "synthetic";
} {
  const random = seededRandom(options.seed);
  const n = options.encoderFilms;
  if (fs.existsSync(path.join(options.dataDir, CSV_FILE))) {
    const films = shuffled(loadDataset(options.dataDir).films, random).slice(0, n);
    return { overviews: films.map((f) => f.overview), posters: films.map((f) => () => decodePoster(f.posterFile)), inputs: "real" };
  }
  const words = ["a", "young", "detective", "hunts", "killer", "in", "the", "city", "family", "love", "war", "space", "haunted", "house"];
  const overviews = Array.from({ length: n }, () => Array.from({ length: 26 }, () => words[randomInt(random, words.length)]).join(" "));
  const poster = (): DecodedPoster => ({ width: 150, height: 300, data: Float32Array.from({ length: 150 * 300 * 3 }, () => random()) });
  return { overviews, posters: Array.from({ length: n }, () => async () => poster()), inputs: "synthetic" };
}

export async function benchEncoders(options: BenchOptions, backend: BackendInfo, sizes: readonly number[]): Promise<EncoderBenchResult[]> {
  const films = encoderFilms(options);
  const base = (model: string, seconds: number, loadAverage: number) => ({
    model,
    backend: backend.name,
    threads: backend.threads,
    films: films.overviews.length,
    filmsPerSec: round(films.overviews.length / seconds),
    seconds: round(seconds, 2),
    inputs: films.inputs,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    ...machine(),
    loadAverage,
  });
  const results: EncoderBenchResult[] = [];
  const sentences = await loadSentenceEncoder();
  try {
    await embedTexts(sentences, films.overviews.slice(0, 8)); // warm-up
    const loadAverage = round(os.loadavg()[0] ?? 0, 2);
    const t0 = performance.now();
    await embedTexts(sentences, films.overviews);
    results.push(base("use-lite", (performance.now() - t0) / 1000, loadAverage));
  } finally {
    sentences.model.dispose();
  }
  for (const size of sizes) {
    const images = await loadImageEncoder(size);
    try {
      await imageFeatures(images, [await (films.posters[0] as () => Promise<DecodedPoster>)()]); // warm-up
      const loadAverage = round(os.loadavg()[0] ?? 0, 2);
      const t0 = performance.now();
      for (let i = 0; i < films.posters.length; i += 8) {
        const batch = await Promise.all(films.posters.slice(i, i + 8).map((decode) => decode()));
        await imageFeatures(images, batch);
      }
      results.push({ ...base("mobilenet-v2", (performance.now() - t0) / 1000, loadAverage), inputSize: size });
    } finally {
      images.model.dispose();
    }
  }
  return results;
}

/** Selects the backend (threads from options.threads when given) and benchmarks each model. */
/**
 * Activates one of the backends a benchmark measures (`force`, else the one selectBackend picks) with the bench's
 * wasm threads, and says which (with the wasm threads line, where there is one).
 */
export async function benchBackend(
  force: BackendCandidate | undefined,
  options: Pick<BenchOptions, "threads">,
  log: (line: string) => void,
): Promise<BackendInfo> {
  const lines: string[] = [];
  const backend = await selectBackend({
    ...(force !== undefined ? { force } : {}),
    ...(options.threads !== undefined ? { wasmThreads: options.threads } : {}),
    log: (l) => lines.push(l),
  });
  for (const l of lines) if (l.startsWith("wasm threads:")) log(l);
  log(describeBackend(backend));
  return backend;
}

export async function runBench(
  options: BenchOptions,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<(BenchResult | EncoderBenchResult | PeerResult)[]> {
  const results: (BenchResult | EncoderBenchResult | PeerResult)[] = [];
  const recorded: RecordedBatch[] = [];
  const rounds: RoundResults[] = [];
  for (let round = 0; round < options.rounds; round++) {
    if (options.rounds > 1) log(`round ${round + 1} of ${options.rounds}`);
    const tag = options.rounds > 1 ? { round } : {};
    const measured: BenchResult[][] = [];
    for (const [i, force] of (options.backends ?? [undefined]).entries()) {
      const backend = await benchBackend(force, options, log);
      const models: BenchResult[] = [];
      // Every round draws the same seeded batches; the peers replay the first round's.
      const record = round === 0 && i === 0 ? (b: RecordedBatch) => recorded.push(b) : () => undefined;
      for (const kind of options.models) models.push({ ...(await benchModel(kind, options, backend, log, record)), ...tag });
      results.push(...models);
      measured.push(models);
      if (round === 0 && i === 0 && options.encoders)
        results.push(...(await benchEncoders(options, backend, [PRETRAINED_PRESETS.quick.posterSize, 224])));
    }
    const peers: PeerResult[] = [];
    if (options.peers) {
      const plan = peerPlan(options, measured[0] as BenchResult[], recorded);
      peers.push(...(await runPeers(plan, measured[0]?.[0]?.threads ?? 1, log)).map((p) => ({ ...p, ...tag })));
      results.push(...peers);
      for (const models of measured) for (const line of ratioLines(models, peers)) log(line);
    }
    rounds.push({ workbook: measured.flat(), peers });
  }
  if (options.rounds > 1) for (const line of medianRatioLines(rounds)) log(line);
  return results;
}
