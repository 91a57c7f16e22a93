/**
 * `npm run bench`: the options of lib/bench/bench.ts's benchmark, its JSON lines on stdout (one per model, encoder
 * and peer), the ratios to the peers on stderr.
 *
 *   npm run bench -- [--model cnn|lstm|both] [--steps N] [--warmup N] [--predict-steps N]
 *                    [--threads N|auto] [--batch N] [--small] [--profile] [--data DIR]
 *                    [--no-encoders] [--encoder-films N] [--batching bucketed|padded] [--peers] [--backends LIST]
 */
import * as path from "node:path";
import { BACKEND_CANDIDATES, type BackendCandidate } from "../runtime/backend";
import { DEFAULT_DATA_DIR, ENV } from "../runtime/config";
import { runBench, type BenchOptions } from "../bench/bench";
import { integerOption, parseArgs } from "./args";

export type { BenchModel, BenchOptions, BenchResult, RecordedBatch } from "../bench/bench";

export const BENCH_USAGE =
  "usage: npm run bench -- [--model cnn|lstm|both] [--steps N] [--warmup N] [--predict-steps N] [--threads N|auto] [--batch N] [--small] [--profile] [--data DIR] [--no-encoders] [--encoder-films N] [--batching bucketed|padded] [--peers] [--backends wasm,tensorflow]";

export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const args = parseArgs(
    argv,
    {
      values: ["model", "steps", "warmup", "predict-steps", "batch", "threads", "data", "seed", "encoder-films", "batching", "backends"],
      flags: ["small", "profile", "no-encoders", "peers"],
    },
    BENCH_USAGE,
  );
  if (args.help) throw new Error(BENCH_USAGE);
  const model = args.values["model"] ?? "both";
  if (model !== "both" && model !== "cnn" && model !== "lstm")
    throw new Error(`--model must be cnn, lstm or both, got '${model}'\n${BENCH_USAGE}`);
  const batching = args.values["batching"] ?? "bucketed";
  if (batching !== "bucketed" && batching !== "padded")
    throw new Error(`--batching must be bucketed or padded, got '${batching}'\n${BENCH_USAGE}`);
  const threads = args.values["threads"];
  const small = args.flags["small"] === true;
  const steps = integerOption(args, "steps", 1, BENCH_USAGE) ?? 12;
  const backends = args.values["backends"]?.split(",").map((b) => b.trim());
  const unknown = backends?.filter((b) => !(BACKEND_CANDIDATES as readonly string[]).includes(b)) ?? [];
  if (unknown.length > 0 || backends?.length === 0) {
    throw new Error(`--backends takes a list of ${BACKEND_CANDIDATES.join(", ")}; got '${args.values["backends"]}'\n${BENCH_USAGE}`);
  }
  return {
    ...(backends ? { backends: backends as BackendCandidate[] } : {}),
    models: model === "both" ? ["cnn", "lstm"] : [model],
    steps,
    warmup: integerOption(args, "warmup", 0, BENCH_USAGE) ?? 3,
    predictSteps: integerOption(args, "predict-steps", 1, BENCH_USAGE) ?? Math.max(30, steps),
    batchSize: integerOption(args, "batch", 1, BENCH_USAGE) ?? (small ? 4 : 64),
    ...(threads === undefined
      ? {}
      : { threads: threads === "auto" ? ("auto" as const) : (integerOption(args, "threads", 1, BENCH_USAGE) as number) }),
    small,
    profile: args.flags["profile"] === true,
    dataDir: args.values["data"] !== undefined ? path.resolve(args.values["data"]) : env[ENV.dataDir] || DEFAULT_DATA_DIR,
    seed: integerOption(args, "seed", 0, BENCH_USAGE) ?? 1,
    encoders: !small && args.flags["no-encoders"] !== true,
    encoderFilms: integerOption(args, "encoder-films", 8, BENCH_USAGE) ?? 256,
    batching,
    peers: args.flags["peers"] === true,
  };
}

async function main(): Promise<void> {
  const options = parseBenchArgs(process.argv.slice(2));
  const results = await runBench(options);
  for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
}

if (require.main === module) {
  main().then(
    // Pthread workers of the threaded wasm binary are unref'd, but exit explicitly all the same.
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
