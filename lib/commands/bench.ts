/**
 * `npm run bench`: the options of lib/bench/bench.ts's benchmark (BENCH_COMMAND; `npm run bench -- --help`), its
 * JSON lines on stdout (one per model, encoder and peer), the ratios to the peers on stderr.
 */
import * as path from "node:path";
import { BACKEND_CANDIDATES, type BackendCandidate } from "../runtime/backend";
import { KIND_IDS, type KindId } from "../kinds/registry";
import { DEFAULT_DATA_DIR, ENV } from "../runtime/config";
import { runBench, type BenchOptions } from "../bench/bench";
import { runEpochBench } from "../bench/epoch";
import { CommandSpec, ParsedCommand, UsageError, parseCommand, runCommand, usageLine } from "./args";

export type { BenchModel, BenchOptions, BenchResult, RecordedBatch } from "../bench/bench";

export const BENCH_COMMAND = {
  name: "bench",
  summary:
    "The speed benchmark: the coursework models' training and prediction steps on each backend, the encoders and, with --peers, Keras and PyTorch on the same batches. One JSON line per model, encoder and peer on stdout; the ratios to the peers on stderr.",
  options: {
    model: { type: "string", value: "MODEL", choices: ["cnn", "lstm", "both"], description: "which model to time (default both)" },
    steps: {
      type: "integer",
      min: 1,
      description: "timed training steps (default 30: shorter runs read 10-20% apart from round to round)",
    },
    warmup: { type: "integer", min: 0, description: "untimed steps first (default 3)" },
    "predict-steps": { type: "integer", min: 1, description: "timed prediction steps (default 60, or --steps if more)" },
    threads: { type: "string", value: "N|auto", description: "WebAssembly threads (default: the backend's own)" },
    batch: { type: "integer", min: 1, description: "batch size (default 64; 4 with --small)" },
    small: { type: "boolean", description: "tiny models and synthetic data: checks that the benchmark runs, times nothing real" },
    profile: { type: "boolean", description: "time per kernel as well" },
    data: { type: "string", value: "DIR", description: `the dataset folder (default ${ENV.dataDir}, else ${DEFAULT_DATA_DIR})` },
    seed: { type: "integer", min: 0, description: "seed of the batches and weights (default 1)" },
    "no-encoders": { type: "boolean", description: "leave out the pretrained encoders" },
    "encoder-films": { type: "integer", min: 8, description: "films the encoders are timed on (default 256)" },
    batching: { type: "string", value: "MODE", choices: ["bucketed", "padded"], description: "the BiLSTM's batches (default bucketed)" },
    peers: { type: "boolean", description: "also run Keras and PyTorch on the same batches (.venv-peers)" },
    rounds: {
      type: "integer",
      min: 1,
      description: "measure the backends (and the peers) this many times in turn, then print the median of each ratio (default 1)",
    },
    backends: { type: "string", value: "LIST", description: `backends to time, comma-separated, of ${BACKEND_CANDIDATES.join(", ")}` },
    epoch: {
      type: "boolean",
      description:
        "time one whole training epoch of each model instead, at the coursework's settings on the real films (data, validation pass and checkpoint included; with --peers, Keras fit and a PyTorch loop on the same films)",
    },
    kinds: {
      type: "string",
      value: "LIST|all",
      description: `with --epoch: the model kinds to time, comma-separated, of ${KIND_IDS.join(", ")} (default: --model's); the joint model starts from the CNN this run trained, when it trained one`,
    },
  },
} as const satisfies CommandSpec;

export const BENCH_USAGE = usageLine(BENCH_COMMAND);

/** The benchmark's options from the parsed command line (defaults filled in; a bad --threads or --backends is a usage error). */
export function benchOptions(args: ParsedCommand<typeof BENCH_COMMAND.options>, env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const { values } = args;
  const model = values.model ?? "both";
  const small = values.small;
  const steps = values.steps ?? 30;
  const threadsText = values.threads;
  const threads = threadsText === undefined ? undefined : threadsText === "auto" ? ("auto" as const) : Number(threadsText);
  if (typeof threads === "number" && !(Number.isInteger(threads) && threads >= 1))
    throw new UsageError(`--threads needs an integer >= 1 or auto, got '${threadsText}'`);
  const backends = values.backends?.split(",").map((b) => b.trim());
  const unknown = backends?.filter((b) => !(BACKEND_CANDIDATES as readonly string[]).includes(b)) ?? [];
  if (unknown.length > 0 || backends?.length === 0) {
    throw new UsageError(`--backends takes a list of ${BACKEND_CANDIDATES.join(", ")}; got '${values.backends}'`);
  }
  if (values.epoch) {
    // the epoch runs the coursework's own settings: the step benchmark's knobs would be silently ignored
    const stepOnly = (
      ["steps", "warmup", "predict-steps", "batch", "small", "profile", "batching", "encoder-films", "rounds"] as const
    ).filter((k) => values[k] !== undefined && values[k] !== false);
    if (stepOnly.length > 0) throw new UsageError(`--epoch runs the coursework's settings; it does not take --${stepOnly.join(", --")}`);
  }
  const kinds = values.kinds === "all" ? [...KIND_IDS] : values.kinds?.split(",").map((k) => k.trim());
  const unknownKinds = kinds?.filter((k) => !(KIND_IDS as readonly string[]).includes(k)) ?? [];
  if (kinds !== undefined && (!values.epoch || unknownKinds.length > 0 || kinds.length === 0)) {
    throw new UsageError(
      values.epoch ? `--kinds takes all or a list of ${KIND_IDS.join(", ")}; got '${values.kinds}'` : "--kinds goes with --epoch",
    );
  }
  return {
    ...(backends ? { backends: backends as BackendCandidate[] } : {}),
    models: model === "both" ? ["cnn", "lstm"] : [model],
    steps,
    warmup: values.warmup ?? 3,
    predictSteps: values["predict-steps"] ?? Math.max(60, steps),
    batchSize: values.batch ?? (small ? 4 : 64),
    ...(threads === undefined ? {} : { threads }),
    small,
    profile: values.profile,
    dataDir: values.data !== undefined ? path.resolve(values.data) : env[ENV.dataDir] || DEFAULT_DATA_DIR,
    seed: values.seed ?? 1,
    encoders: !small && !values["no-encoders"],
    encoderFilms: values["encoder-films"] ?? 256,
    batching: values.batching ?? "bucketed",
    peers: values.peers,
    rounds: values.rounds ?? 1,
    epoch: values.epoch,
    ...(kinds ? { epochKinds: kinds as KindId[] } : {}),
  };
}

/** The benchmark's options from a command line (what the tests call); --help here is a usage error. */
export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const parsed = parseCommand(BENCH_COMMAND, argv);
  if (parsed === undefined) throw new UsageError("--help is answered by the command, not by parseBenchArgs");
  return benchOptions(parsed, env);
}

if (require.main === module) {
  // Pthread workers of the threaded wasm binary are unref'd, but exit explicitly all the same.
  void runCommand(
    BENCH_COMMAND,
    async (args) => {
      const options = benchOptions(args);
      const results = options.epoch ? await runEpochBench(options) : await runBench(options);
      for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
    },
    { exit: true },
  );
}
