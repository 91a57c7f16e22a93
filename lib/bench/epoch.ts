/**
 * `npm run bench -- --epoch`: one whole training epoch of each coursework model, at the coursework's settings, on
 * the real films, run as `npm run train -- <kind> --preset coursework --epochs 1` runs it: the data pipeline (the
 * CSV, the posters through the cache or the overviews' vocabulary), the training pass, the validation pass and the
 * checkpoint, then what the workbook does after the last epoch (probability correction, thresholds). That is the
 * time a user waits for, where the step benchmark (bench.ts) times the backend alone.
 *
 * With --peers, Keras `fit` and a PyTorch loop train the same films (the workbook's split; for the BiLSTM the same
 * length-bucketed batches, from the workbook's vocabulary), each reading the posters itself, with a validation pass
 * and a best-checkpoint save of its own kind (peers/keras_peer.py, peers/torch_peer.py, "epoch" plans).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BackendInfo } from "../runtime/backend";
import { ENV } from "../runtime/config";
import { seededRandom } from "../runtime/random";
import { labelRow, type Film } from "../data/dataset";
import { kindConfig, prepareRun, type KindId } from "../kinds/registry";
import { trainingSeed } from "../kinds/presets";
import type { PreparedRun } from "../kinds/kind";
import { trainRun } from "../train/lifecycle";
import { trainingBatches, validationBatches } from "../train/trainer";
import { silentProgress } from "../train/progress";
import { benchBackend } from "./bench";
import { runPeers } from "./peers";
import type { BenchOptions } from "./results";

/** One model's epoch on one backend (the workbook), or in one peer framework. */
export interface EpochResult {
  /** The model kind (kinds/registry.ts): the coursework's cnn and lstm, or any other with --kinds. */
  model: KindId;
  /** The workbook's backend; peers give `framework` instead. */
  backend?: string;
  framework?: string;
  threads: number | object;
  epoch: true;
  batchSize: number;
  trainFilms: number;
  validationFilms: number;
  /** Reading the data and building the model, before the first step. */
  prepareSeconds: number;
  /** The training pass, the validation pass and the checkpoint. */
  epochSeconds: number;
  /** The workbook only: what follows the last epoch (output correction, thresholds on the validation films, info). */
  afterSeconds?: number;
  /** Training films per second of the epoch (its validation pass and checkpoint included). */
  epochSamplesPerSec: number;
  loss: number;
  valLoss: number;
  /** The workbook's lines while preparing (posters from the cache or decoded, the vocabulary). */
  notes?: string[];
  loadAverage?: number;
}

/** What the peers replay: the workbook's films in its split, and for the BiLSTM its token ids and epoch batches. */
export interface EpochPlan {
  epoch: true;
  batchSize: number;
  learningRate: number;
  seed: number;
  genres: number;
  cnn?: { imageSize: number; files: string[]; labels: number[][]; trainFilms: number };
  lstm?: { vocabularySize: number; ids: number[][]; labels: number[][]; trainBatches: number[][]; validationBatches: number[][] };
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The CNN's part of the peers' plan: each training then validation film's poster file and labels. */
function cnnPlan(run: PreparedRun, imageSize: number): NonNullable<EpochPlan["cnn"]> {
  const rows = [...run.data.train, ...run.data.validation];
  return {
    imageSize,
    files: rows.map((r) => (run.dataset.films[r] as Film).posterFile),
    labels: rows.map((r) => Array.from(labelRow(run.dataset, r))),
    trainFilms: run.data.train.length,
  };
}

/**
 * The BiLSTM's part: every training and validation film's token ids (the workbook's vocabulary), the epoch's
 * training batches as the trainer makes them (length-bucketed, the run's seed) and its validation batches (in
 * length order).
 */
function lstmPlan(run: PreparedRun): NonNullable<EpochPlan["lstm"]> {
  const vectorizer = run.vectorizer;
  if (!vectorizer) throw new Error("bench --epoch: the BiLSTM's run has no vocabulary");
  const rows = [...run.data.train, ...run.data.validation];
  const position = new Map(rows.map((r, i) => [r, i]));
  const at = (batch: readonly number[]) => batch.map((r) => position.get(r) as number);
  // the first epoch's batches: the trainer's, from the same seed (train/lifecycle.ts trainerSettings)
  const train = trainingBatches(run.data, run.settings, seededRandom(trainingSeed(run.settings)));
  return {
    vocabularySize: vectorizer.vocabularySize(),
    ids: rows.map((r) => Array.from(vectorizer.encode((run.dataset.films[r] as Film).overview))),
    labels: rows.map((r) => Array.from(labelRow(run.dataset, r))),
    trainBatches: train.map(at),
    validationBatches: validationBatches(run.data, run.settings.batchSize).map(at),
  };
}

/**
 * One epoch of `kind` on the active backend, into a model folder under `workDir` (removed by the caller); `env` gives
 * the cache folder (WORKBOOK_CACHE_DIR) as for training.
 */
export async function benchEpoch(
  kind: KindId,
  options: Pick<BenchOptions, "dataDir">,
  backend: BackendInfo,
  workDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ result: EpochResult; plan: Partial<EpochPlan> }> {
  const loadAverage = round(os.loadavg()[0] ?? 0);
  const config = { ...kindConfig(kind, { preset: "coursework", env: { ...env, [ENV.dataDir]: options.dataDir } }), epochs: 1 };
  const notes: string[] = [];
  const folder = (k: KindId) => path.join(workDir, `${k}-${backend.name}`);
  // the joint model starts from a trained CNN: the one this run trained on the same backend, when it did
  const cnnFolder = fs.existsSync(folder("cnn")) ? { branchDirs: { cnn: folder("cnn") } } : {};
  const started = performance.now();
  const run = await prepareRun(config, { backend, dir: folder(kind), log: (l) => notes.push(l), ...cnnFolder });
  const prepared = performance.now();
  try {
    const history = await trainRun(run, { progress: silentProgress(), log: () => undefined });
    const finished = performance.now();
    const epoch = history.epochs[0];
    if (!epoch) throw new Error(`bench --epoch: the ${kind}'s epoch did not complete`);
    const result: EpochResult = {
      model: kind,
      backend: backend.name,
      threads: backend.threads,
      epoch: true,
      batchSize: run.settings.batchSize,
      trainFilms: run.data.train.length,
      validationFilms: run.data.validation.length,
      prepareSeconds: round((prepared - started) / 1000),
      epochSeconds: round(epoch.seconds),
      afterSeconds: round((finished - prepared) / 1000 - epoch.seconds),
      epochSamplesPerSec: round(run.data.train.length / epoch.seconds, 1),
      loss: round(epoch.loss, 4),
      valLoss: round(epoch.val_loss, 4),
      // what the data pipeline did: posters from the cache or decoded, the vocabulary, films left out (not its progress lines)
      notes: notes.filter((l) => /^\d+ posters (loaded|preprocessed)|^vocabulary:|left out|skipped:/.test(l)),
      loadAverage,
    };
    const plan: Partial<EpochPlan> = {
      batchSize: run.settings.batchSize,
      learningRate: run.settings.learningRate,
      seed: trainingSeed(run.settings),
      genres: run.dataset.genres.length,
      ...(kind === "cnn" ? { cnn: cnnPlan(run, (run.settings as { imageSize: number }).imageSize) } : {}),
      ...(kind === "lstm" ? { lstm: lstmPlan(run) } : {}),
    };
    return { result, plan };
  } finally {
    run.model.dispose();
  }
}

/** The workbook's epoch against each peer's: seconds, and the ratio peer / workbook (above 1, the workbook is faster). */
export function epochRatioLines(workbook: readonly EpochResult[], peers: readonly EpochResult[]): string[] {
  const lines = ["model  workbook backend  peer".padEnd(64) + "epoch s (workbook / peer)      prepare + epoch s"];
  const ratio = (w: number, p: number) => `${w.toFixed(1)} / ${p.toFixed(1)} = ${(p / w).toFixed(2)}x`;
  for (const w of workbook) {
    for (const p of peers.filter((x) => x.model === w.model)) {
      lines.push(
        `${w.model.padEnd(6)} ${String(w.backend).padEnd(17)} ${String(p.framework).padEnd(39)} ${ratio(w.epochSeconds, p.epochSeconds).padEnd(30)} ${ratio(w.prepareSeconds + w.epochSeconds, p.prepareSeconds + p.epochSeconds)}`,
      );
    }
  }
  return lines;
}

/**
 * The epoch benchmark: each backend (--backends, else the one selectBackend picks) trains each model for one
 * epoch; then, with --peers, Keras and PyTorch on the first backend's films and batches. Model folders go to a
 * temporary folder, removed at the end; the poster cache is the project's (WORKBOOK_CACHE_DIR), as for training.
 */
export async function runEpochBench(
  options: BenchOptions,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<EpochResult[]> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "workbook-epoch-bench-"));
  const results: EpochResult[] = [];
  let plan: EpochPlan | undefined;
  try {
    for (const force of options.backends ?? [undefined]) {
      const backend = await benchBackend(force, options, log);
      for (const kind of options.epochKinds ?? options.models) {
        const { result, plan: part } = await benchEpoch(kind, options, backend, workDir);
        log(
          `${kind} on ${backend.name}: prepare ${result.prepareSeconds} s, epoch ${result.epochSeconds} s (${result.epochSamplesPerSec} films/s), after ${result.afterSeconds} s`,
        );
        results.push(result);
        if ((kind === "cnn" || kind === "lstm") && !plan?.[kind]) plan = { ...(plan ?? {}), ...part, epoch: true } as EpochPlan;
      }
    }
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  if (!options.peers || plan === undefined) return results;
  const threads = typeof results[0]?.threads === "number" ? results[0].threads : 1;
  const peers = await runPeers<EpochResult>(plan, threads, log);
  for (const line of epochRatioLines(results, peers)) log(line);
  return [...results, ...peers];
}
