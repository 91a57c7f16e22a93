/**
 * The types that `npm run bench` (bench.ts) and its peers (bench-peers.ts) share: the options, one model's
 * result, and an LSTM batch as the peers replay it. Apart so that neither command module imports the other back.
 */

import type { BackendCandidate } from "../runtime/backend";
import type { KindId } from "../kinds/registry";

export type BenchModel = "cnn" | "lstm";

export interface BenchOptions {
  models: BenchModel[];
  /** Measured training steps. */
  steps: number;
  /** Training steps before measuring (and before the first liveTensors reading). */
  warmup: number;
  /** Measured prediction batches (after `warmup` unmeasured ones). */
  predictSteps: number;
  batchSize: number;
  /** wasm threads (undefined: WORKBOOK_WASM_THREADS or the backend's default). */
  threads?: number | "auto";
  small: boolean;
  profile: boolean;
  dataDir: string;
  seed: number;
  /** Also time the pretrained encoders' feature extraction (films/s); off with --small or --no-encoders. */
  encoders: boolean;
  /** Films per encoder timing. */
  encoderFilms: number;
  /** LSTM batches on real overviews: bucketed by length as the trainer makes them, or consecutive films of a shuffle. */
  batching: "bucketed" | "padded";
  /** Then run the same models in Keras and PyTorch on the same batches (peers/), and print the ratios. */
  peers: boolean;
  /**
   * How many times the backends (and the peers, with `peers`) are measured, one after the other in turn: the ratios of
   * each round, then their median (the figures of one round move by a quarter on this project's machine).
   */
  rounds: number;
  /** Time one whole training epoch of each model at the coursework's settings instead (bench/epoch.ts). */
  epoch?: boolean;
  /** With `epoch`: the model kinds to time (kinds/registry.ts ids; undefined: `models`, the coursework's two). */
  epochKinds?: KindId[];
  /**
   * The backends to measure, one after the other in this process (--backends wasm,tensorflow); undefined: the
   * one selectBackend chooses. The encoders are timed on the first only; the peers replay the first one's batches
   * (every backend gets the same seeded batches).
   */
  backends?: BackendCandidate[];
}

/** How a bench's timed steps ran: each as one TensorFlow function (native), each op by op, or some of each. */
export type StepRoute = "graph function" | "op by op" | "mixed";

export interface BenchResult {
  model: BenchModel;
  backend: string;
  threads: number;
  simd?: boolean;
  batchSize: number;
  trainSamplesPerSec: number;
  predictSamplesPerSec: number;
  /** The flops a step asks for (bench/flops.ts, the LSTM at the batches' mean padded length) per second, in GFLOP/s. */
  trainGflopsPerSec: number;
  predictGflopsPerSec: number;
  /** Training steps (batches) per second. */
  stepsPerSecond: number;
  /** Prediction batches per second. */
  predictStepsPerSecond: number;
  trainSteps: number;
  trainSeconds: number;
  predictSteps: number;
  predictSeconds: number;
  /** How the measured training steps ran: loss and gradients as one TensorFlow function each (native), op by op, or both. */
  trainRoute: StepRoute;
  /** Why the training step was not made a function (runtime/graph-function.ts), where it was refused. */
  trainRouteWhy?: string;
  /** How the measured prediction steps ran: as one TensorFlow function each (native), op by op, or both. */
  predictRoute: StepRoute;
  /** Why the prediction was not made a function (runtime/graph-function.ts), where it was refused. */
  predictRouteWhy?: string;
  warmupSteps: number;
  /** process.resourceUsage().maxRSS, MB (peak of the whole process so far). */
  peakRssMB: number;
  /**
   * tf.memory().numTensors at the end of the run, after the measured training and prediction steps (model
   * weights and optimizer state included; liveTensorsAfterWarmup: the same after the training warm-up,
   * equal when nothing leaks).
   */
  liveTensors: number;
  liveTensorsAfterWarmup: number;
  /**
   * lstm: whether the overviews are the dataset's or synthetic; the mean padded batch length (time steps
   * the RNN runs) and the mean overview length in tokens, over the measured training steps.
   */
  texts?: "real" | "synthetic";
  /** How the LSTM's batches were made (real overviews only; synthetic batches are padded). */
  batching?: "bucketed" | "padded";
  meanSequenceLength?: number;
  meanTokens?: number;
  small?: boolean;
  cpu: string;
  cores: number;
  node: string;
  /** 1-minute load average when this model's benchmark started (other processes skew the figures). */
  loadAverage: number;
  /** With --rounds: which round measured it (0-based). */
  round?: number;
}

/** An LSTM batch as the peers replay it: each film's token ids and labels. */
export interface RecordedBatch {
  ids: number[][];
  labels: number[][];
}
