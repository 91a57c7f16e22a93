/**
 * The workbook's trainer: one custom loop for every model (poster CNN, overview LSTM, joint models,
 * baselines and heads), with the semantics of Keras `model.fit` as the coursework used it:
 *
 *   - Adam (beta1 0.9, beta2 0.999, epsilon 1e-7: Keras's default, not TF.js's 1e-8);
 *   - the learning rate of each epoch is set before the epoch (Keras LearningRateScheduler at epoch begin);
 *   - the training indices are shuffled every epoch (seeded), the last batch may be smaller;
 *   - a step = forward pass in training mode (dropout on), loss, gradient step on the trainable weights;
 *   - the epoch's `loss` is the mean of the batch losses weighted by batch size (Keras's Mean metric with
 *     sample_weight = batch size), precision/recall come from counts accumulated over the epoch from each
 *     step's training-mode predictions (see eval/metrics.ts);
 *   - validation after every epoch, in order, training mode off, same batch size, same weighting;
 *   - best val_loss (strict improvement) weights kept (ModelCheckpoint save_best_only) and, by default,
 *     put back into the model at the end.
 */
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { chunks, lengthBucketedBatches, orderByLength, type Batch, type MakeBatch, type TrainingData } from "../data/batches";
import { ConfusionCounts, addCounts, countsAtThreshold, emptyCounts, precision, recall } from "../eval/metrics";
import { fileSaveHandler } from "../models/checkpoint";
import { HISTORY_JSON } from "../models/model-folder";
import { saveJson } from "../runtime/files";
import { callModelAsGraph } from "../runtime/graph-function";
import { seededRandom, shuffled, withSeededMathRandom, type Random } from "../runtime/random";
import { ProgressReporter, defaultProgress } from "./progress";
import type { EpochRecord, TrainingHistory } from "../models/history";
import { LossFunction, binaryCrossentropyLoss } from "../models/losses";
import { kerasAdam } from "./adam";

export interface TrainOptions {
  epochs: number;
  /** Coursework: 64. Validation uses the same batch size. */
  batchSize: number;
  /** Adam's initial learning rate lr0 (coursework 1e-4). */
  learningRate: number;
  /** Learning rate of a 1-based epoch; default courseworkSchedule. */
  schedule?: (epoch: number, lr0: number) => number;
  /**
   * Seed of the per-epoch shuffling of the training indices (a different order every epoch) and of every
   * dropout mask: the same seed, data, backend and thread count give the same history.
   */
  seed: number;
  /**
   * Batch films of similar length together (data/batches.ts lengthBucketedBatches) when the data gives
   * lengths (overviews padded per batch); seeded like the shuffle. Validation batches are never bucketed.
   */
  bucketByLength?: boolean;
  /** Default binaryCrossentropyLoss. Must return a scalar averaged over the batch. */
  loss?: LossFunction;
  /**
   * The loss of the validation pass, whose value is val_loss and selects the best epoch. Default: the
   * training loss (Keras). A model trained with weighted BCE can be selected on the plain BCE of its
   * corrected probabilities instead (train/losses.ts correctedBinaryCrossentropy).
   */
  validationLoss?: LossFunction;
  /** Best-val_loss weights are saved here (models/checkpoint.ts), plus history.json after every epoch. */
  checkpointDir?: string;
  /** Default true: at the end (or when stopped) the model gets the best epoch's weights back. */
  restoreBest?: boolean;
  /** Stop after this many epochs in a row without a val_loss improvement (Keras EarlyStopping). */
  earlyStoppingPatience?: number;
  /** Default: ./progress.ts defaultProgress() (the terminal's view; in a notebook, the notebook's). */
  progress?: ProgressReporter;
  /** Checked after every batch; true interrupts training (the best weights are kept and restored). */
  shouldStop?: () => boolean;
  /** Stored in the userDefinedMetadata of checkpoints (with the epoch's record under `checkpoint`). */
  metadata?: Record<string, unknown>;
  /** Called after each checkpoint is written to checkpointDir (e.g. to put the run's folder in place). */
  onCheckpoint?: () => Promise<void>;
}

/** lr0 for epochs 1-10, then multiplied by exp(-0.01) per epoch: lr0 * exp(-0.01 * max(0, epoch - 10)). */
export function courseworkSchedule(epoch: number, lr0: number): number {
  return lr0 * Math.exp(-0.01 * Math.max(0, epoch - 10));
}

/**
 * A shouldStop for Ctrl-C / the notebook's interrupt: the first SIGINT asks the trainer to stop after the
 * current batch, keeping the best checkpoint, and the training call then returns normally.
 *
 * While it is in place, the process's other SIGINT listeners are set aside: in a notebook, tslab's own
 * listener would abandon the running cell with "Interrupted asynchronously" (a stack of the kernel's
 * internals, and no `history` for the cells after it) while training went on in the background. A second
 * SIGINT in a terminal (no other listener) ends the process, as Ctrl-C twice should; in a notebook it only
 * says that training is already stopping. Call release() when training is over: it puts them back.
 *
 * It waits for the event loop first: a notebook cell's synchronous part runs inside node:vm with
 * breakOnSigint, which takes every SIGINT listener away for its duration (and a listener added then leaves
 * the kernel dying on the next SIGINT).
 */
export async function stopOnSigint(log: (line: string) => void = console.log): Promise<{
  shouldStop: () => boolean;
  release: () => void;
}> {
  await new Promise((resolve) => setImmediate(resolve));
  let stop = false;
  const others = process.listeners("SIGINT");
  for (const listener of others) process.removeListener("SIGINT", listener);
  const handler = (): void => {
    if (!stop) {
      stop = true;
      log("interrupt: stopping after the current batch (the best checkpoint is kept)");
    } else if (others.length === 0) {
      process.removeListener("SIGINT", handler);
      process.kill(process.pid, "SIGINT");
    } else {
      log("interrupt: already stopping after the current batch");
    }
  };
  process.on("SIGINT", handler);
  return {
    shouldStop: () => stop,
    release: () => {
      process.removeListener("SIGINT", handler);
      for (const listener of others) process.on("SIGINT", listener as NodeJS.SignalsListener);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The loop

export interface StepResult {
  /** Mean loss of the batch. */
  loss: number;
  size: number;
  counts: ConfusionCounts;
}

interface WeightSnapshot {
  values: tf.TypedArray;
  shape: number[];
  dtype: tf.DataType;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Loss plus the model's regularization penalties (Keras adds them to the reported loss and val_loss). */
function totalLoss(model: tf.LayersModel, lossFn: LossFunction, labels: tf.Tensor, predictions: tf.Tensor): tf.Scalar {
  let loss = lossFn(labels, predictions);
  for (const penalty of model.calculateLosses()) loss = tf.add(loss, penalty);
  return loss;
}

function singleOutput(out: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(out)) {
    if (out.length !== 1) throw new Error(`trainModel: the model has ${out.length} outputs; one is supported`);
    return out[0] as tf.Tensor;
  }
  return out;
}

function makeBatchTidy(makeBatch: MakeBatch, indices: readonly number[]): Batch {
  const batch = tf.tidy(() => {
    const b = makeBatch(indices);
    return { inputs: b.inputs, labels: b.labels } as unknown as tf.TensorContainer;
  }) as unknown as Batch;
  const n = batch.labels.shape[0];
  if (n !== indices.length) {
    tf.dispose(batch as unknown as tf.TensorContainer);
    throw new Error(`makeBatch returned ${n} label rows for ${indices.length} indices`);
  }
  return batch;
}

async function readStep(loss: tf.Tensor, predictions: tf.Tensor, labels: tf.Tensor): Promise<StepResult> {
  const [lossValue, predValues, labelValues] = await Promise.all([loss.data(), predictions.data(), labels.data()]);
  return { loss: lossValue[0] as number, size: labels.shape[0] as number, counts: countsAtThreshold(labelValues, predValues) };
}

/** One optimisation step as the trainer runs it (exported so that `npm run bench` times exactly this). */
export async function trainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  variables: tf.Variable[],
  lossFn: LossFunction,
  batch: Batch,
): Promise<StepResult> {
  let cost: tf.Tensor | undefined;
  let predictions: tf.Tensor | undefined;
  try {
    [cost, predictions] = tf.tidy(() => {
      const [loss, out, ...grads] = trainingGradients(model, variables, lossFn, batch);
      optimizer.applyGradients(Object.fromEntries(variables.map((v, k) => [v.name, grads[k] as tf.Tensor])));
      return [loss, out];
    }) as [tf.Tensor, tf.Tensor];
    return await readStep(cost, predictions, batch.labels);
  } finally {
    cost?.dispose();
    predictions?.dispose();
  }
}

/**
 * A batch's loss, predictions and the loss's gradient with respect to each of `variables` (what the optimizer's
 * minimize computes); on native TensorFlow as one TensorFlow function per model, loss and batch shape where the
 * model allows it (runtime/graph-function.ts: its dropout masks drawn as the eager call draws them), the weights of
 * the moment its arguments.
 */
function trainingGradients(model: tf.LayersModel, variables: tf.Variable[], lossFn: LossFunction, batch: Batch): tf.Tensor[] {
  return callModelAsGraph(model, trainingPurpose(lossFn), batchArguments(batch), () => {
    let out: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      out = tf.keep(singleOutput(model.apply(batch.inputs, { training: true }) as tf.Tensor | tf.Tensor[]));
      return totalLoss(model, lossFn, batch.labels, out);
    }, variables);
    return [value, out as tf.Tensor, ...variables.map((v) => grads[v.name] as tf.Tensor)];
  });
}

/** A batch's tensors as a graph function's data arguments: its inputs, then its labels. */
function batchArguments(batch: Batch): tf.Tensor[] {
  return [...(Array.isArray(batch.inputs) ? batch.inputs : [batch.inputs]), batch.labels];
}

/** The graph function purpose of training steps with `lossFn` (runtime/graph-function.ts graphFunctionRefusal). */
export function trainingPurpose(lossFn: LossFunction): string {
  return `train with loss ${lossId(lossFn)}`;
}

/** A number per loss function, so that a model's evaluation function is never one made with another loss. */
const lossIds = new WeakMap<LossFunction, number>();

let nextLossId = 0;

function lossId(lossFn: LossFunction): number {
  let id = lossIds.get(lossFn);
  if (id === undefined) {
    id = nextLossId++;
    lossIds.set(lossFn, id);
  }
  return id;
}

/**
 * A validation batch's loss and predictions; on native TensorFlow as one TensorFlow function per model and batch
 * shape where the model allows it (runtime/graph-function.ts), the weights of the moment its arguments.
 */
async function evalStep(model: tf.LayersModel, lossFn: LossFunction, batch: Batch): Promise<StepResult> {
  const [loss, predictions] = tf.tidy(() =>
    callModelAsGraph(model, `evaluate with loss ${lossId(lossFn)}`, batchArguments(batch), () => {
      const out = singleOutput(model.apply(batch.inputs, { training: false }) as tf.Tensor | tf.Tensor[]);
      return [totalLoss(model, lossFn, batch.labels, out), out];
    }),
  ) as [tf.Scalar, tf.Tensor];
  try {
    return await readStep(loss, predictions, batch.labels);
  } finally {
    loss.dispose();
    predictions.dispose();
  }
}

/** A pass's batch-size-weighted mean loss and its confusion counts. */
interface PassResult {
  loss: number;
  counts: ConfusionCounts;
  interrupted: boolean;
}

/**
 * One pass over `batches` (lists of dataset rows): each batch is built, given to `step` (a training step
 * or a loss evaluation) and freed. Stops after the current batch when `stopRequested` says so.
 */
async function runPass(
  batches: readonly (readonly number[])[],
  makeBatch: MakeBatch,
  step: (batch: Batch) => Promise<StepResult>,
  stopRequested: () => boolean,
  onBatch?: (batch: number, batches: number, runningLoss: number) => void,
): Promise<PassResult> {
  let lossSum = 0;
  let seen = 0;
  let counts = emptyCounts();
  for (let b = 0; b < batches.length; b++) {
    const batch = makeBatchTidy(makeBatch, batches[b] as readonly number[]);
    let result: StepResult;
    try {
      result = await step(batch);
    } finally {
      tf.dispose(batch as unknown as tf.TensorContainer);
    }
    lossSum += result.loss * result.size;
    seen += result.size;
    counts = addCounts(counts, result.counts);
    onBatch?.(b + 1, batches.length, lossSum / seen);
    await yieldToEventLoop();
    if (stopRequested()) return { loss: lossSum / seen, counts, interrupted: true };
  }
  return { loss: lossSum / seen, counts, interrupted: false };
}

async function snapshotWeights(model: tf.LayersModel): Promise<WeightSnapshot[]> {
  // getWeights() returns the variables themselves: copy their values out (no tensors kept).
  const weights = model.getWeights();
  const values = await Promise.all(weights.map((w) => w.data()));
  return weights.map((w, i) => ({ values: (values[i] as tf.TypedArray).slice(), shape: w.shape.slice(), dtype: w.dtype }));
}

function restoreWeights(model: tf.LayersModel, snapshot: WeightSnapshot[]): void {
  const tensors = snapshot.map((s) => tf.tensor(s.values, s.shape, s.dtype));
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}

function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

function checkOptions(data: TrainingData, options: TrainOptions): void {
  const positiveInt = (x: number): boolean => Number.isInteger(x) && x > 0;
  if (!Number.isInteger(options.epochs) || options.epochs < 0)
    throw new Error(`trainModel: epochs must be a non-negative integer, got ${options.epochs}`);
  if (!positiveInt(options.batchSize)) throw new Error(`trainModel: batchSize must be a positive integer, got ${options.batchSize}`);
  if (!(options.learningRate >= 0) || !Number.isFinite(options.learningRate))
    throw new Error(`trainModel: learningRate must be finite and >= 0, got ${options.learningRate}`);
  if (options.earlyStoppingPatience !== undefined && !positiveInt(options.earlyStoppingPatience))
    throw new Error(`trainModel: earlyStoppingPatience must be a positive integer, got ${options.earlyStoppingPatience}`);
  if (data.train.length === 0) throw new Error("trainModel: no training samples");
  if (data.validation.length === 0) throw new Error("trainModel: no validation samples (val_loss drives checkpoints)");
}

/**
 * Trains `model` in place (see the module comment for the exact semantics) and returns the history.
 * The model's weights at the end are the best epoch's when restoreBest (default) is on.
 */
export async function trainModel(model: tf.LayersModel, data: TrainingData, options: TrainOptions): Promise<TrainingHistory> {
  checkOptions(data, options);
  // Dropout draws its masks through Math.random: seeded, the same seed gives the same training.
  return withSeededMathRandom(options.seed, () => trainLoop(model, data, options));
}

/** What the epochs of one training share: the model's weights, the optimizer, the losses, the shuffling's random source. */
interface TrainingState {
  variables: tf.Variable[];
  optimizer: ReturnType<typeof kerasAdam>;
  lossFn: LossFunction;
  validationLossFn: LossFunction;
  random: () => number;
  progress: ProgressReporter;
  stopRequested: () => boolean;
}

/** One epoch's training batches: length-bucketed where asked and the data has lengths, else chunks of a shuffle. */
export function trainingBatches(
  data: Pick<TrainingData, "train" | "lengthOf">,
  options: Pick<TrainOptions, "batchSize" | "bucketByLength">,
  random: Random,
): number[][] {
  return options.bucketByLength === true && data.lengthOf !== undefined
    ? lengthBucketedBatches(data.train, options.batchSize, data.lengthOf, random)
    : chunks(shuffled(data.train, random), options.batchSize);
}

/**
 * The validation pass's batches. Where batches pad to their longest overview (the BiLSTM), the films in length
 * order, as the training batches are bucketed and validationPredictions orders them: batches of consecutive films
 * ran 46 steps on average over the coursework's 1,139 validation overviews, 28 in length order (their mean length 26).
 * The figures are the same (the loss is a mean over films, the counts are sums) up to float rounding.
 */
export function validationBatches(data: Pick<TrainingData, "validation" | "lengthOf">, batchSize: number): number[][] {
  const { validation, lengthOf } = data;
  const rows = lengthOf ? orderByLength(validation.map((r) => lengthOf(r))).map((i) => validation[i] as number) : validation;
  return chunks(rows, batchSize);
}

/** One epoch: its training pass (shuffled or length-bucketed batches) and validation pass; undefined when stopped. */
async function runEpoch(
  model: tf.LayersModel,
  data: TrainingData,
  options: TrainOptions,
  state: TrainingState,
  epoch: number,
  lr: number,
): Promise<EpochRecord | undefined> {
  const { progress, stopRequested } = state;
  const batches = trainingBatches(data, options, state.random);
  progress.epochStart(epoch, options.epochs, lr, batches.length);
  const train = await runPass(
    batches,
    data.makeBatch,
    (batch) => trainStep(model, state.optimizer, state.variables, state.lossFn, batch),
    stopRequested,
    (b, n, loss) => progress.batchEnd(b, n, loss),
  );
  if (train.interrupted) return undefined;
  const validation = await runPass(
    validationBatches(data, options.batchSize),
    data.makeBatch,
    (batch) => evalStep(model, state.validationLossFn, batch),
    stopRequested,
  );
  if (validation.interrupted) return undefined;
  return {
    epoch,
    loss: train.loss,
    precision: precision(train.counts),
    recall: recall(train.counts),
    val_loss: validation.loss,
    val_precision: precision(validation.counts),
    val_recall: recall(validation.counts),
    lr,
    seconds: 0,
  };
}

/** A new best epoch's weights: kept in memory, and written as the checkpoint (with the epoch's record) where asked. */
async function keepBest(model: tf.LayersModel, options: TrainOptions, record: EpochRecord): Promise<WeightSnapshot[]> {
  const best = await snapshotWeights(model);
  if (options.checkpointDir !== undefined) {
    const metadata = { ...(options.metadata ?? {}), checkpoint: { ...record, seconds: undefined } };
    await model.save(fileSaveHandler(options.checkpointDir, { userDefinedMetadata: metadata }));
    await options.onCheckpoint?.();
  }
  return best;
}

async function trainLoop(model: tf.LayersModel, data: TrainingData, options: TrainOptions): Promise<TrainingHistory> {
  const schedule = options.schedule ?? courseworkSchedule;
  const lossFn = options.loss ?? binaryCrossentropyLoss;
  const restoreBest = options.restoreBest ?? true;
  const progress = options.progress ?? defaultProgress();
  const historyFile = options.checkpointDir !== undefined ? path.join(options.checkpointDir, HISTORY_JSON) : undefined;
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  if (variables.length === 0) throw new Error("trainModel: the model has no trainable weights (is it built?)");

  const history: TrainingHistory = { epochs: [], bestEpoch: 0, bestValLoss: Infinity, stoppedEarly: false, interrupted: false };
  const stopRequested = (): boolean => options.shouldStop?.() === true;
  let best: WeightSnapshot[] | undefined;
  let sinceBest = 0;

  const optimizer = kerasAdam(options.learningRate);
  const state: TrainingState = {
    variables,
    optimizer,
    lossFn,
    validationLossFn: options.validationLoss ?? lossFn,
    random: seededRandom(options.seed),
    progress,
    stopRequested,
  };
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      if (epoch > 1 && stopRequested()) {
        history.interrupted = true;
        break;
      }
      const started = performance.now();
      const lr = schedule(epoch, options.learningRate);
      setLearningRate(optimizer, lr);
      const record = await runEpoch(model, data, options, state, epoch, lr);
      if (!record) {
        history.interrupted = true;
        break;
      }
      const isBest = record.val_loss < history.bestValLoss; // NaN never improves (Keras np.less)
      if (isBest) {
        history.bestEpoch = epoch;
        history.bestValLoss = record.val_loss;
        sinceBest = 0;
        best = await keepBest(model, options, record);
      } else {
        sinceBest++;
      }
      record.seconds = (performance.now() - started) / 1000;
      history.epochs.push(record);
      if (historyFile !== undefined) await saveJson(historyFile, history);
      progress.epochEnd(record, isBest);
      await yieldToEventLoop();

      if (options.earlyStoppingPatience !== undefined && sinceBest >= options.earlyStoppingPatience && epoch < options.epochs) {
        history.stoppedEarly = true;
        break;
      }
    }
  } finally {
    optimizer.dispose();
  }

  if (restoreBest && best !== undefined) restoreWeights(model, best);
  if (historyFile !== undefined) await saveJson(historyFile, history);
  progress.done(history);
  await yieldToEventLoop();
  return history;
}
