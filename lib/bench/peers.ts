/**
 * `npm run bench -- --peers`: the same two models in Keras (TensorFlow CPU) and PyTorch, on this machine, right
 * after the workbook's benchmark and on the very batches it used (the LSTM's real overviews, bucketed as the
 * trainer makes them), with the same number of threads. The peers live in peers/ with their own pinned
 * requirements, installed into .venv-peers by peers/setup.sh the first time (never by npm ci).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR, workbookPaths } from "../runtime/config";
import { WorkbookError } from "../runtime/errors";
import { percentile } from "../eval/bootstrap";
import type { BenchOptions, BenchResult, RecordedBatch } from "./results";

/** What the peers replay: the batch size, the step counts, and the LSTM's batches in the order they were used. */
export interface PeerPlan {
  batchSize: number;
  warmup: number;
  steps: number;
  predictWarmup: number;
  predictSteps: number;
  cnn?: { imageSize: number };
  lstm?: { vocabularySize: number; batching: string; batches: RecordedBatch[] };
}

export interface PeerResult {
  model: string;
  framework: string;
  trainSamplesPerSec: number;
  predictSamplesPerSec: number;
  [key: string]: unknown;
}

export const PEERS = ["keras_peer.py", "torch_peer.py"] as const;

export function peerPlan(options: BenchOptions, results: readonly BenchResult[], recorded: RecordedBatch[]): PeerPlan {
  const lstm = results.find((r) => r.model === "lstm");
  if (lstm && lstm.texts !== "real") {
    throw new WorkbookError(`--peers needs the dataset's overviews (the LSTM's batches); none at ${options.dataDir}: set IMDB_DATA_DIR`);
  }
  return {
    batchSize: options.batchSize,
    warmup: options.warmup,
    steps: options.steps,
    predictWarmup: Math.min(3, options.warmup),
    predictSteps: options.predictSteps,
    ...(results.some((r) => r.model === "cnn") ? { cnn: { imageSize: options.small ? 16 : 64 } } : {}),
    ...(lstm ? { lstm: { vocabularySize: options.small ? 200 : 10000, batching: options.batching, batches: recorded } } : {}),
  };
}

/**
 * Installs the peers' environment when needed (peers/setup.sh), then runs each peer on the plan, one after another;
 * their JSON lines parsed (a step plan gives PeerResults; an epoch plan, bench/epoch.ts, EpochResults).
 */
export async function runPeers<R = PeerResult>(plan: object, threads: number, log: (line: string) => void): Promise<R[]> {
  const dir = path.join(workbookPaths().outDir, "bench");
  fs.mkdirSync(dir, { recursive: true });
  const planFile = path.join(dir, "peer-plan.json");
  fs.writeFileSync(planFile, JSON.stringify(plan));
  const setup = spawnSync("bash", [path.join(PROJECT_DIR, "peers", "setup.sh")], { stdio: ["ignore", "inherit", "inherit"] });
  if (setup.status !== 0) throw new WorkbookError(`peers/setup.sh failed (exit ${setup.status}): the peers' environment is not ready`);
  const python = path.join(PROJECT_DIR, ".venv-peers", "bin", "python");
  const results: R[] = [];
  for (const peer of PEERS) {
    log(`peer: ${peer}, ${threads} thread(s)`);
    const run = spawnSync(python, [path.join(PROJECT_DIR, "peers", peer), planFile, String(threads)], {
      cwd: path.join(PROJECT_DIR, "peers"),
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    if (run.status !== 0) throw new WorkbookError(`${peer} failed (exit ${run.status}):\n${run.stderr.slice(-2000)}`);
    for (const line of run.stdout.split("\n").filter((l) => l.startsWith("{"))) results.push(JSON.parse(line) as R);
  }
  return results;
}

/**
 * The workbook's figures against each peer's, as ratios (workbook / peer: above 1, the workbook is faster), each
 * with its GFLOP/s: the peers ran the same batches, so a sample asks the same flops of them (bench/flops.ts).
 */
export function ratioLines(workbook: readonly BenchResult[], all: readonly { model: string; framework?: string }[]): string[] {
  const peers = all.filter((r): r is PeerResult => typeof (r as PeerResult).framework === "string");
  const lines = [
    `model  peer (workbook on ${workbook[0]?.backend ?? "?"})`.padEnd(53) +
      "train samples/s (workbook / peer), GFLOP/s".padEnd(56) +
      "predict samples/s, GFLOP/s",
  ];
  for (const w of workbook) {
    for (const p of peers.filter((x) => x.model === w.model)) {
      const ratio = (a: number, b: number, gflopsA: number) => {
        const gflopsB = (gflopsA / a) * b;
        return `${a.toFixed(1)} / ${b.toFixed(1)} = ${(a / b).toFixed(2)}x, ${gflopsA.toFixed(1)} / ${gflopsB.toFixed(1)}`;
      };
      lines.push(
        `${w.model.padEnd(6)} ${p.framework.padEnd(45)} ${ratio(w.trainSamplesPerSec, p.trainSamplesPerSec, w.trainGflopsPerSec).padEnd(55)} ${ratio(w.predictSamplesPerSec, p.predictSamplesPerSec, w.predictGflopsPerSec)}`,
      );
    }
  }
  return lines;
}

/** What one round of `npm run bench -- --rounds N` measured: each backend's models, then the peers. */
export interface RoundResults {
  workbook: readonly BenchResult[];
  peers: readonly PeerResult[];
}

/**
 * The ratio of each backend's model to each peer (workbook / peer), per round and their median over the rounds, in
 * training and in prediction: one line per backend, model and peer.
 */
export function medianRatioLines(rounds: readonly RoundResults[]): string[] {
  const rows = new Map<string, { train: number[]; predict: number[] }>();
  for (const { workbook, peers } of rounds) {
    for (const w of workbook) {
      for (const p of peers.filter((x) => x.model === w.model)) {
        const key = `${w.model.padEnd(6)} ${w.backend} / ${p.framework}`;
        const row = rows.get(key) ?? { train: [], predict: [] };
        row.train.push(w.trainSamplesPerSec / p.trainSamplesPerSec);
        row.predict.push(w.predictSamplesPerSec / p.predictSamplesPerSec);
        rows.set(key, row);
      }
    }
  }
  const each = (xs: number[]) => `${xs.map((x) => x.toFixed(2)).join(", ")} (median ${median(xs).toFixed(2)}x)`;
  return [
    `ratios over ${rounds.length} rounds (workbook / peer: above 1, the workbook is faster)`,
    ...[...rows].map(([key, r]) => `${key}: train ${each(r.train)}; predict ${each(r.predict)}`),
  ];
}

/** The middle value (the mean of the two middle ones for an even count): the 50th percentile. */
export function median(xs: readonly number[]): number {
  return percentile(Float64Array.from(xs).sort(), 0.5);
}
