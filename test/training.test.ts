import * as assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { fileLoadHandler, readModelJson } from "../lib/models/checkpoint";
import { loadJson } from "../lib/runtime/files";
import { seededRandom } from "../lib/runtime/random";
import { EpochRecord, TrainingHistory } from "../lib/models/history";
import { ProgressReporter, silentProgress, terminalProgress } from "../lib/train/progress";
import { TextDisplay, notebookProgress } from "../lib/workbook/progress";
import { TrainingData, encodeOverviews, lengthBucketedBatches, overviewInputs, overviewTrainingData } from "../lib/data/batches";
import type { Dataset } from "../lib/data/dataset";
import { TextVectorizer } from "../lib/data/text";
import { binaryCrossentropyLoss } from "../lib/models/losses";
import { courseworkSchedule, trainModel } from "../lib/train/trainer";
import { kerasAdam } from "../lib/train/adam";
import { useBackend } from "./helpers";

// Expected values are worked out by hand or computed directly from the data in the test (plain JS
// arithmetic), never taken from the trainer's own output.

const RECORD_KEYS = ["epoch", "loss", "precision", "recall", "val_loss", "val_precision", "val_recall", "lr", "seconds"].sort();

interface Table {
  x: number[][];
  y: number[][];
}

/** TrainingData over a table; every makeBatch call's indices are appended to `calls`. */
function tableData(
  table: Table,
  train: number[],
  validation: number[],
  calls: number[][] = [],
  labelsOf?: (i: number) => number[],
): TrainingData {
  return {
    train,
    validation,
    makeBatch: (indices) => {
      calls.push([...indices]);
      return {
        inputs: tf.tensor2d(indices.map((i) => table.x[i] as number[])),
        labels: tf.tensor2d(indices.map((i) => (labelsOf ? labelsOf(i) : (table.y[i] as number[])))),
      };
    },
  };
}

/** Dense(units, sigmoid) on 2 inputs with a seeded initializer (the same initial weights every time). */
function denseModel(units: number, options: { dropout?: boolean } = {}): tf.LayersModel {
  const model = tf.sequential();
  if (options.dropout) {
    model.add(
      tf.layers.dense({ units: 4, inputShape: [2], activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }),
    );
    model.add(tf.layers.dropout({ rate: 0.5 }));
    model.add(tf.layers.dense({ units, activation: "sigmoid", kernelInitializer: tf.initializers.glorotUniform({ seed: 8 }) }));
  } else {
    model.add(
      tf.layers.dense({ units, inputShape: [2], activation: "sigmoid", kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }),
    );
  }
  return model;
}

/** Dense(2, sigmoid) with identity kernel and zero bias: p_j = sigmoid(x_j), positive iff x_j > 0. */
function identityModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 2, inputShape: [2], activation: "sigmoid" }));
  const weights = [
    tf.tensor2d([
      [1, 0],
      [0, 1],
    ]),
    tf.zeros([2]),
  ];
  model.setWeights(weights);
  tf.dispose(weights);
  return model;
}

/** 64 points in [-1, 1]^2; labels x0 > 0, x1 > 0, x0 + x1 > 0. */
function separable(n = 64): Table {
  const random = seededRandom(42);
  const x: number[][] = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const a = random() * 2 - 1;
    const b = random() * 2 - 1;
    x.push([a, b]);
    y.push([a > 0 ? 1 : 0, b > 0 ? 1 : 0, a + b > 0 ? 1 : 0]);
  }
  return { x, y };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

function weightValues(model: tf.LayersModel): number[][] {
  return model.getWeights().map((w) => Array.from(w.dataSync()));
}

function withoutSeconds(history: TrainingHistory): unknown {
  return { ...history, epochs: history.epochs.map(({ seconds: _seconds, ...rest }) => rest) };
}

/** A reporter that calls `onEpochEnd` (and records the epochs' isBest flags). */
function hookProgress(
  onEpochEnd: (record: EpochRecord, isBest: boolean) => void,
  onEpochStart?: (epoch: number) => void,
): ProgressReporter {
  return { ...silentProgress(), epochStart: (epoch) => onEpochStart?.(epoch), epochEnd: onEpochEnd };
}

function assertClose(actual: number, expected: number, tolerance: number, message?: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${message ?? ""} expected ${expected}, got ${actual}`);
}

/** Runs the enclosing describe's tests on the cpu backend and puts the previous backend back after. */
function useCpuBackend(): void {
  useBackend("cpu");
}

describe("training: courseworkSchedule", () => {
  it("is lr0 for epochs 1-10, then lr0 * exp(-0.01 * (epoch - 10))", () => {
    assert.equal(courseworkSchedule(1, 1e-4), 1e-4);
    assert.equal(courseworkSchedule(10, 1e-4), 1e-4);
    assertClose(courseworkSchedule(11, 1e-4), 1e-4 * Math.exp(-0.01), 1e-18);
    assertClose(courseworkSchedule(15, 2e-3), 2e-3 * Math.exp(-0.05), 1e-17);
  });

  it("matches the coursework (docs/COURSEWORK.md): 9.0484e-05 at epoch 20 and 7.4082e-05 at epoch 40 for lr0 1e-4", () => {
    assert.equal(courseworkSchedule(20, 1e-4).toExponential(4), "9.0484e-5");
    assert.equal(courseworkSchedule(40, 1e-4).toExponential(4), "7.4082e-5");
  });

  it("equals Keras's recursive form (x exp(-0.01) per epoch from the 11th)", () => {
    let lr = 1e-4;
    for (let epoch = 1; epoch <= 40; epoch++) {
      if (epoch > 10) lr *= Math.exp(-0.01);
      assertClose(courseworkSchedule(epoch, 1e-4), lr, 1e-15);
    }
  });
});

describe("training: binaryCrossentropyLoss", () => {
  useCpuBackend();
  it("equals the hand-computed mean over a 2x2 example", () => {
    const loss = binaryCrossentropyLoss(
      tf.tensor2d([
        [1, 0],
        [0, 1],
      ]),
      tf.tensor2d([
        [0.9, 0.2],
        [0.3, 0.6],
      ]),
    );
    // -(ln 0.9 + ln 0.8 + ln 0.7 + ln 0.6) / 4 = (0.1053605 + 0.2231436 + 0.3566749 + 0.5108256) / 4
    assertClose(loss.dataSync()[0] as number, 0.2990012, 1e-6);
    assert.equal(loss.rank, 0);
  });

  it("clips probabilities to [1e-7, 1 - 1e-7] (float32) so 0 and 1 give finite losses", () => {
    // p = 0 with label 1: -ln(1e-7) = 16.1181
    assertClose(binaryCrossentropyLoss(tf.tensor2d([[1]]), tf.tensor2d([[0]])).dataSync()[0] as number, 16.1181, 1e-3);
    // p = 1 with label 0: 1 - 1e-7 rounds to 1 - 2^-23 in float32 (as in Keras): -ln(2^-23) = 23 ln 2 = 15.9424
    assertClose(binaryCrossentropyLoss(tf.tensor2d([[0]]), tf.tensor2d([[1]])).dataSync()[0] as number, 15.9424, 1e-3);
    // right answers with certainty: ~0 (clipped, not exactly 0)
    const perfect = binaryCrossentropyLoss(tf.tensor2d([[1, 0]]), tf.tensor2d([[1, 0]])).dataSync()[0] as number;
    assert.ok(perfect >= 0 && perfect < 2e-7, String(perfect));
  });

  it("has finite gradients at p = 0 and p = 1", () => {
    const g = tf.grad((p: tf.Tensor) => binaryCrossentropyLoss(tf.tensor2d([[1, 0]]), p))(tf.tensor2d([[0, 1]]));
    assert.ok(Array.from(g.dataSync()).every(Number.isFinite));
  });
});

describe("training: length-bucketed batches", () => {
  it("cuts pools of poolBatches batches, each sorted by length; a partial batch only at a pool's end", () => {
    const rows = range(0, 100);
    const lengthOf = (row: number) => 1 + ((row * 7) % 30);
    const batches = lengthBucketedBatches(rows, 8, lengthOf, seededRandom(1), 4);
    assert.deepEqual(
      batches.flat().sort((a, b) => a - b),
      rows,
    );
    // pools of 32 rows: 32, 32, 32, 4 -> 4 + 4 + 4 + 1 batches; sizes 8 except the last pool's 4
    assert.equal(batches.length, 13);
    assert.deepEqual(
      batches.map((b) => b.length).sort((a, b) => a - b),
      [4, ...Array(12).fill(8)],
    );
    const spread = batches.reduce((sum, b) => sum + Math.max(...b.map(lengthOf)) - Math.min(...b.map(lengthOf)), 0) / batches.length;
    assert.ok(spread < 10, `mean length spread per batch ${spread} (a random batch of 8 spans ~23)`);
  });

  it("overviewTrainingData gives each film's token count (at least 1) when batches are padded to their longest, batches of 2 steps or more", () => {
    const overviews = ["the cat sat", "a dog", "...", "the dog ran far away"];
    const dataset = { films: overviews.map((overview, i) => ({ id: `tt000000${i}`, overview })) } as unknown as Dataset;
    const vectorizer = TextVectorizer.adapt(overviews);
    const split = { train: [0, 1, 2], validation: [3] };
    const data = overviewTrainingData(dataset, vectorizer, split as never);
    assert.deepEqual(
      [0, 1, 2, 3].map((r) => data.lengthOf?.(r)),
      [3, 2, 1, 5],
    );
    assert.equal(overviewTrainingData(dataset, vectorizer, split as never, 10).lengthOf, undefined, "fixed length: nothing to bucket");
    // Training batches are at least two steps long (tfjs-layers' LSTM has no gradient over one step): masked padding.
    const batchOf = encodeOverviews(vectorizer, overviews, undefined, 2).inputs;
    assert.deepEqual(batchOf([2]).shape, [1, 2]);
    assert.deepEqual(batchOf([1, 2]).shape, [2, 2]);
    assert.deepEqual(batchOf([0, 3]).shape, [2, 5]);
    assert.deepEqual(overviewInputs(vectorizer, overviews)([2]).shape, [1, 1], "prediction batches: one step is enough");
  });
});

describe("training: trainModel", () => {
  useCpuBackend();
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "training-test-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("(a) lowers the loss on a separable problem; every epoch has all keys and the scheduled lr", async () => {
    const table = separable();
    const model = denseModel(3);
    const history = await trainModel(model, tableData(table, range(0, 48), range(48, 64)), {
      epochs: 12,
      batchSize: 16,
      learningRate: 0.05,
      seed: 1,
      progress: silentProgress(),
    });
    assert.equal(history.epochs.length, 12);
    history.epochs.forEach((record, i) => {
      assert.deepEqual(Object.keys(record).sort(), RECORD_KEYS);
      assert.equal(record.epoch, i + 1);
      for (const key of RECORD_KEYS) assert.ok(Number.isFinite(record[key as keyof EpochRecord]), key);
      assert.ok(record.seconds >= 0);
    });
    assert.deepEqual(
      history.epochs.map((r) => r.lr),
      [...Array(10).fill(0.05), 0.05 * Math.exp(-0.01), 0.05 * Math.exp(-0.02)],
    );
    const first = history.epochs[0] as EpochRecord;
    const last = history.epochs[11] as EpochRecord;
    assert.ok(last.loss < 0.75 * first.loss, `loss ${first.loss} -> ${last.loss}`);
    assert.ok(last.val_loss < 0.75 * first.val_loss, `val_loss ${first.val_loss} -> ${last.val_loss}`);
    assert.equal(history.stoppedEarly, false);
    assert.equal(history.interrupted, false);
    model.dispose();
  });

  // p_j = sigmoid(x_j) (identity model, lr 0 so it never changes); positive iff x_j > 0.
  const HAND: Table = {
    x: [
      [1, -1], // train 0  y (1,0): tp, tn
      [2, 3], //  train 1  y (0,1): fp, tp
      [-1, -2], // train 2 y (1,0): fn, tn
      [0, 0.5], // train 3 y (0,0): p = 0.5 exactly -> negative: tn; fp
      [3, -3], // train 4  y (1,0): tp, tn
      [1, 1], // val 5     y (1,0): tp, fp
      [-1, 1], // val 6    y (0,1): tn, tp
      [-0.5, -0.5], // val 7 y (1,1): fn, fn
    ],
    y: [
      [1, 0],
      [0, 1],
      [1, 0],
      [0, 0],
      [1, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ],
  };
  /** -mean over samples and outputs of y ln p + (1-y) ln(1-p), computed directly. */
  function directLoss(indices: number[]): number {
    let sum = 0;
    for (const i of indices) {
      (HAND.x[i] as number[]).forEach((x, j) => {
        const y = (HAND.y[i] as number[])[j] as number;
        const p = sigmoid(x);
        sum -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
      });
    }
    return sum / (indices.length * 2);
  }

  it("(b) the epoch loss is the batch-size-weighted mean of batch losses (= the loss over all samples)", async () => {
    const model = identityModel();
    const calls: number[][] = [];
    const history = await trainModel(model, tableData(HAND, range(0, 5), range(5, 8), calls), {
      epochs: 2,
      batchSize: 2, // batches of 2, 2, 1
      learningRate: 0,
      seed: 3,
      progress: silentProgress(),
    });
    assert.deepEqual(weightValues(model), [
      [1, 0, 0, 1],
      [0, 0],
    ]);
    for (const record of history.epochs) {
      assertClose(record.loss, directLoss(range(0, 5)), 1e-6, "loss");
      assertClose(record.val_loss, directLoss(range(5, 8)), 1e-6, "val_loss");
    }
    // The unweighted mean of the epoch's 3 batch losses is a different number (so weighting is tested).
    const epoch1 = calls.slice(0, 3);
    assert.deepEqual(
      epoch1.map((b) => b.length),
      [2, 2, 1],
    );
    const unweighted = epoch1.reduce((s, b) => s + directLoss(b), 0) / 3;
    assert.ok(Math.abs(unweighted - directLoss(range(0, 5))) > 1e-3);
    // Validation batches in order, unshuffled: [5, 6], [7].
    assert.deepEqual(calls.slice(3, 5), [[5, 6], [7]]);
    model.dispose();
  });

  it("(c) precision/recall are computed from counts accumulated over the epoch", async () => {
    const model = identityModel();
    const history = await trainModel(model, tableData(HAND, range(0, 5), range(5, 8)), {
      epochs: 2,
      batchSize: 2,
      learningRate: 0,
      seed: 4,
      progress: silentProgress(),
    });
    for (const record of history.epochs) {
      // train: tp 3 (0a, 1b, 4a), fp 2 (1a, 3b), fn 1 (2a), tn 4
      assertClose(record.precision, 3 / 5, 1e-12);
      assertClose(record.recall, 3 / 4, 1e-12);
      // validation: tp 2 (5a, 6b), fp 1 (5b), fn 2 (7a, 7b), tn 1
      assertClose(record.val_precision, 2 / 3, 1e-12);
      assertClose(record.val_recall, 2 / 4, 1e-12);
    }
    model.dispose();
  });

  it("(d) the same seed gives the same history; each epoch reshuffles; another seed another order", async () => {
    const table = separable();
    const run = async (seed: number): Promise<{ history: TrainingHistory; calls: number[][] }> => {
      const calls: number[][] = [];
      const model = denseModel(3);
      const history = await trainModel(model, tableData(table, range(0, 48), range(48, 64), calls), {
        epochs: 3,
        batchSize: 16,
        learningRate: 0.01,
        seed,
        progress: silentProgress(),
      });
      model.dispose();
      return { history, calls };
    };
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    assert.deepEqual(withoutSeconds(a.history), withoutSeconds(b.history));
    assert.deepEqual(a.calls, b.calls);

    // 3 training batches then 1 validation batch per epoch.
    const trainOrder = (calls: number[][], epoch: number): number[] => calls.slice(epoch * 4, epoch * 4 + 3).flat();
    for (let e = 0; e < 3; e++) {
      assert.deepEqual(
        [...trainOrder(a.calls, e)].sort((p, q) => p - q),
        range(0, 48),
        "every training index once per epoch",
      );
      assert.deepEqual(a.calls[e * 4 + 3], range(48, 64), "validation in order");
    }
    assert.notDeepEqual(trainOrder(a.calls, 0), range(0, 48));
    assert.notDeepEqual(trainOrder(a.calls, 0), trainOrder(a.calls, 1));
    assert.notDeepEqual(trainOrder(a.calls, 1), trainOrder(a.calls, 2));
    assert.notDeepEqual(trainOrder(a.calls, 0), trainOrder(c.calls, 0));
  });

  it("(d*) bucketByLength: seeded; each epoch every training film once, in batches of similar length; validation in length order", async () => {
    const table = separable();
    // Lengths 1..64 spread over the rows (row i has length 1 + (i * 37) % 64): like overviews padded per batch.
    const lengthOf = (row: number) => 1 + ((row * 37) % 64);
    const run = async (seed: number): Promise<number[][]> => {
      const calls: number[][] = [];
      const model = denseModel(3);
      await trainModel(
        model,
        { ...tableData(table, range(0, 48), range(48, 64), calls), lengthOf },
        {
          epochs: 3,
          batchSize: 4,
          learningRate: 0.01,
          seed,
          bucketByLength: true,
          progress: silentProgress(),
        },
      );
      model.dispose();
      return calls;
    };
    const a = await run(11);
    assert.deepEqual(await run(11), a, "same seed, same batches");
    assert.notDeepEqual(await run(12), a, "another seed, other batches");
    // 12 training batches then 4 validation batches per epoch.
    const epochBatches = (e: number) => a.slice(e * 16, e * 16 + 12);
    let bucketedPadding = 0;
    for (let e = 0; e < 3; e++) {
      assert.deepEqual(
        epochBatches(e)
          .flat()
          .sort((p, q) => p - q),
        range(0, 48),
        "every training film once per epoch",
      );
      // rows 48..63 have lengths 49, 22, 59, 32, 5, 42, 15, 52, 25, 62, 35, 8, 45, 18, 55, 28: shortest first
      assert.deepEqual(
        a.slice(e * 16 + 12, e * 16 + 16),
        [
          [52, 59, 54, 61],
          [49, 56, 63, 51],
          [58, 53, 60, 48],
          [55, 62, 50, 57],
        ],
        "validation in length order",
      );
      for (const batch of epochBatches(e)) bucketedPadding += Math.max(...batch.map(lengthOf)) * batch.length;
    }
    assert.notDeepEqual(epochBatches(0), epochBatches(1), "each epoch another order");
    // Padded steps of a plain shuffle of the same rows, for comparison (hand-made: chunks of a shuffle).
    const r = seededRandom(5);
    let plainPadding = 0;
    for (let e = 0; e < 3; e++) {
      const order = range(0, 48).sort(() => r() - 0.5);
      for (let i = 0; i < 48; i += 4) plainPadding += Math.max(...order.slice(i, i + 4).map(lengthOf)) * 4;
    }
    const steps = 3 * range(0, 48).reduce((sum, row) => sum + lengthOf(row), 0);
    assert.ok(bucketedPadding < 1.1 * steps, `bucketed batches pad little: ${bucketedPadding} steps for ${steps} tokens`);
    assert.ok(plainPadding > 1.3 * steps, `a plain shuffle pads much more: ${plainPadding}`);
  });

  it("(d') dropout is seeded too: with dropout the same seed gives the same losses, another seed other losses", async () => {
    const table = separable();
    const run = async (seed: number): Promise<TrainingHistory> => {
      const model = denseModel(3, { dropout: true });
      const history = await trainModel(model, tableData(table, range(0, 48), range(48, 64)), {
        epochs: 3,
        batchSize: 16,
        learningRate: 0.01,
        seed,
        progress: silentProgress(),
      });
      model.dispose();
      return history;
    };
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    assert.deepEqual(withoutSeconds(a), withoutSeconds(b));
    assert.notDeepEqual(
      a.epochs.map((e) => e.loss),
      c.epochs.map((e) => e.loss),
    );
    // Math.random is the caller's again afterwards
    assert.notEqual(Math.random(), Math.random());
  });

  it("(d'') validationLoss gives val_loss (and the kept epoch) while the training loss trains", async () => {
    const table = separable();
    const model = denseModel(3);
    const halfBce = (y: tf.Tensor, p: tf.Tensor) => tf.mul(binaryCrossentropyLoss(y, p), 0.5) as tf.Scalar;
    const history = await trainModel(model, tableData(table, range(0, 48), range(48, 64)), {
      epochs: 2,
      batchSize: 16,
      learningRate: 0.01,
      seed: 3,
      validationLoss: halfBce,
      progress: silentProgress(),
    });
    const reference = denseModel(3);
    reference.setWeights(model.getWeights());
    const x = tf.tensor2d(range(48, 64).map((i) => table.x[i] as number[]));
    const y = tf.tensor2d(range(48, 64).map((i) => table.y[i] as number[]));
    const bce = binaryCrossentropyLoss(y, reference.predict(x) as tf.Tensor).dataSync()[0] as number;
    assertClose(history.bestValLoss, bce / 2, 1e-6, "val_loss is half the BCE of the kept weights");
    tf.dispose([x, y]);
    model.dispose();
    reference.dispose();
  });

  /**
   * Validation labels that depend on the epoch: "good" ones (the labels the identity model predicts
   * well) in the epochs listed, flipped ones otherwise, so val_loss is low exactly in those epochs.
   */
  function epochControlledData(
    goodEpochs: number[],
    calls?: number[][],
  ): { data: TrainingData; progress: (onEnd?: (r: EpochRecord) => void) => ProgressReporter } {
    let epoch = 0;
    const table = separable();
    const labelsOf = (i: number): number[] => {
      const good = [(table.x[i] as number[])[0]! > 0 ? 1 : 0, (table.x[i] as number[])[1]! > 0 ? 1 : 0];
      return i < 48 || goodEpochs.includes(epoch) ? good : good.map((v) => 1 - v);
    };
    return {
      data: tableData(table, range(0, 48), range(48, 64), calls, labelsOf),
      progress: (onEnd) =>
        hookProgress(
          (record) => onEnd?.(record),
          (e) => {
            epoch = e;
          },
        ),
    };
  }

  it("(e) checkpoints the best val_loss epoch, restores it at the end, and writes history.json", async () => {
    const model = identityModel();
    const { data, progress } = epochControlledData([2]);
    const atEpochEnd: number[][][] = [];
    const checkpointDir = path.join(dir, "ckpt");
    const history = await trainModel(model, data, {
      epochs: 4,
      batchSize: 16,
      learningRate: 0.01,
      seed: 5,
      checkpointDir,
      metadata: { model: "identity" },
      progress: progress(() => atEpochEnd.push(weightValues(model))),
    });
    const valLosses = history.epochs.map((r) => r.val_loss);
    assert.equal(history.bestEpoch, 2);
    assert.equal(Math.min(...valLosses), valLosses[1]);
    assert.equal(history.bestValLoss, valLosses[1]);

    // The weights changed every epoch; the model ends with epoch 2's, which are also on disk.
    assert.notDeepEqual(atEpochEnd[1], atEpochEnd[3]);
    assert.deepEqual(weightValues(model), atEpochEnd[1]);
    const saved = await tf.loadLayersModel(fileLoadHandler(checkpointDir));
    assert.deepEqual(weightValues(saved), atEpochEnd[1]);
    saved.dispose();
    const meta = (await readModelJson(checkpointDir)).userDefinedMetadata as { model: string; checkpoint: EpochRecord };
    assert.equal(meta.model, "identity");
    assert.equal(meta.checkpoint.epoch, 2);
    assert.equal(meta.checkpoint.val_loss, valLosses[1]);

    const onDisk = await loadJson<TrainingHistory>(path.join(checkpointDir, "history.json"));
    assert.deepEqual(onDisk, history);
    assert.deepEqual(
      onDisk.epochs.map((r) => r.epoch),
      [1, 2, 3, 4],
    );
    assert.deepEqual((await fs.readdir(checkpointDir)).filter((f) => f.endsWith(".bin")).length, 1);
    model.dispose();
  });

  it("(e') restoreBest false keeps the last epoch's weights", async () => {
    const model = identityModel();
    const { data, progress } = epochControlledData([2]);
    const atEpochEnd: number[][][] = [];
    await trainModel(model, data, {
      epochs: 3,
      batchSize: 16,
      learningRate: 0.01,
      seed: 5,
      restoreBest: false,
      progress: progress(() => atEpochEnd.push(weightValues(model))),
    });
    assert.deepEqual(weightValues(model), atEpochEnd[2]);
    model.dispose();
  });

  it("(f) stops early after `patience` epochs without improvement", async () => {
    const model = identityModel();
    // val_loss: epoch 1 bad, 2 good (best), 3 and 4 bad -> with patience 2, stops after epoch 4.
    const { data, progress } = epochControlledData([2]);
    const history = await trainModel(model, data, {
      epochs: 10,
      batchSize: 16,
      learningRate: 0.001,
      seed: 6,
      earlyStoppingPatience: 2,
      progress: progress(),
    });
    assert.deepEqual(
      history.epochs.map((r) => r.epoch),
      [1, 2, 3, 4],
    );
    assert.equal(history.stoppedEarly, true);
    assert.equal(history.interrupted, false);
    assert.equal(history.bestEpoch, 2);
    model.dispose();
  });

  it("(g) shouldStop interrupts after the current batch, keeps the best checkpoint and restores it", async () => {
    const model = identityModel();
    const calls: number[][] = [];
    const { data, progress } = epochControlledData([1, 2], calls);
    const atEpochEnd: number[][][] = [];
    const checkpointDir = path.join(dir, "ckpt");
    let trainBatches = 0;
    const history = await trainModel(model, data, {
      epochs: 5,
      batchSize: 8, // 6 training batches per epoch
      learningRate: 0.01,
      seed: 7,
      checkpointDir,
      progress: { ...progress(() => atEpochEnd.push(weightValues(model))), batchEnd: () => void trainBatches++ },
      shouldStop: () => trainBatches >= 6 * 2 + 3, // 3 batches into epoch 3
    });
    assert.equal(history.interrupted, true);
    assert.equal(history.stoppedEarly, false);
    assert.deepEqual(
      history.epochs.map((r) => r.epoch),
      [1, 2],
    );
    assert.equal(trainBatches, 15);
    // epoch 1: 6 + 2 validation batches, epoch 2 the same, epoch 3: 3 training batches then stop.
    assert.equal(calls.length, 8 + 8 + 3);
    const best = atEpochEnd[history.bestEpoch - 1];
    assert.deepEqual(weightValues(model), best);
    const saved = await tf.loadLayersModel(fileLoadHandler(checkpointDir));
    assert.deepEqual(weightValues(saved), best);
    saved.dispose();
    const onDisk = await loadJson<TrainingHistory>(path.join(checkpointDir, "history.json"));
    assert.equal(onDisk.interrupted, true);
    assert.equal(onDisk.epochs.length, 2);
    model.dispose();
  });

  it("(h) leaks no tensors: the count is the same after every epoch, and back to the start at the end", async () => {
    const table = separable();
    const model = denseModel(3, { dropout: true });
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const history = await trainModel(model, tableData(table, range(0, 40), range(40, 64)), {
      epochs: 3,
      batchSize: 16, // uneven last batches
      learningRate: 0.01,
      seed: 8,
      checkpointDir: path.join(dir, "ckpt"),
      progress: hookProgress(() => counts.push(tf.memory().numTensors)),
    });
    assert.equal(history.epochs.length, 3);
    assert.equal(counts[1], counts[0]);
    assert.equal(counts[2], counts[0]);
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });

  it("rejects bad options and empty data", async () => {
    const model = identityModel();
    const data = tableData(HAND, range(0, 5), range(5, 8));
    const base = { epochs: 1, batchSize: 2, learningRate: 0.01, seed: 1, progress: silentProgress() };
    await assert.rejects(trainModel(model, data, { ...base, batchSize: 0 }), /batchSize/);
    await assert.rejects(trainModel(model, data, { ...base, epochs: 1.5 }), /epochs/);
    await assert.rejects(trainModel(model, { ...data, train: [] }, base), /no training samples/);
    await assert.rejects(trainModel(model, { ...data, validation: [] }, base), /no validation samples/);
    model.dispose();
  });
});

describe("training: progress reporters", () => {
  const record: EpochRecord = {
    epoch: 3,
    loss: 0.24314,
    precision: 0.6,
    recall: 0.25,
    val_loss: 0.25,
    val_precision: 0.5,
    val_recall: 0.2,
    lr: 1e-4,
    seconds: 21,
  };

  it("terminalProgress redraws one line with \\r at most every 100 ms, then a summary line with '*' for a new best", () => {
    let out = "";
    let clock = 0;
    const p = terminalProgress({ write: (s: string) => (out += s), isTTY: true }, { now: () => clock });
    p.epochStart(3, 20, 1e-4, 72);
    clock = 12000;
    p.batchEnd(41, 72, 0.24314);
    clock = 12050;
    p.batchEnd(42, 72, 0.24);
    assert.equal(out, "\repoch 3/20 [#####.....] 41/72 loss 0.2431 elapsed 12s eta 9s\x1b[K");
    out = "";
    p.epochEnd(record, true);
    // eslint-disable-next-line no-control-regex -- the terminal's erase-line sequence
    assert.match(out, /^\r\x1b\[Kepoch 3\/20 21s - loss 0\.2431 .*val_loss 0\.2500 .*lr 1\.0000e-4 \*\n$/);
    out = "";
    p.done({ epochs: [record], bestEpoch: 3, bestValLoss: 0.25, stoppedEarly: false, interrupted: false });
    assert.match(out, /best epoch 3: val_loss 0\.2500/);
  });

  it("terminalProgress writes only summary lines to a stream that is not a TTY", () => {
    const lines: string[] = [];
    const p = terminalProgress({ write: (s: string) => lines.push(s) });
    p.epochStart(1, 2, 1e-4, 3);
    p.batchEnd(1, 3, 0.5);
    p.batchEnd(3, 3, 0.5);
    p.epochEnd({ ...record, epoch: 1 }, false);
    assert.equal(lines.length, 1);
    assert.ok(!(lines[0] as string).includes("\r"));
    assert.ok(!(lines[0] as string).includes("*"));
  });

  it("notebookProgress keeps one display per epoch, throttled to every 500 ms", () => {
    const displays: string[][] = [];
    const factory = (): TextDisplay => {
      const texts: string[] = [];
      displays.push(texts);
      return { text: (s) => texts.push(s) };
    };
    let clock = 0;
    const p = notebookProgress({ newDisplay: factory, now: () => clock });
    p.epochStart(1, 2, 1e-4, 100);
    for (let b = 1; b <= 100; b++) {
      clock += 20; // 2 s per epoch -> ~4 updates
      p.batchEnd(b, 100, 0.3);
    }
    p.epochEnd({ ...record, epoch: 1 }, true);
    p.epochStart(2, 2, 1e-4, 100);
    p.epochEnd({ ...record, epoch: 2 }, false);
    assert.equal(displays.length, 2);
    const first = displays[0] as string[];
    assert.equal(first.length, 1 + 4 + 1); // start, 4 throttled updates, final figures
    assert.match(first[2] as string, /^epoch 1\/2 \[\S+\] 50\/100 loss 0\.3000 elapsed 1s eta 1s$/);
    assert.match(first[5] as string, /val_loss 0\.2500.*\*$/);
  });

  it("notebookProgress falls back to the terminal outside a notebook", () => {
    const fallback = silentProgress();
    assert.equal(notebookProgress({ fallback }), fallback);
  });
});

describe("kerasAdam: Keras 3's update (epsilon added to sqrt(v), not to sqrt(v-hat))", () => {
  useBackend("cpu");

  it("matches the hand-computed Keras update for a gradient near epsilon and for a large one, over two steps", () => {
    // Keras 3: alpha_t = lr * sqrt(1 - 0.999^t) / (1 - 0.9^t); w -= alpha_t * m_t / (sqrt(v_t) + 1e-7).
    // Gradient 1e-6, lr 1e-3. Step 1: m = 1e-7, v = 1e-15, alpha = 3.16227766e-4, update = alpha * 1e-7 / (3.16227766e-8 + 1e-7)
    // = 2.40253e-4. Step 2: m = 1.9e-7, v = 1.999e-15, alpha = 1e-3 * sqrt(0.001999) / 0.19 = 2.35316726e-4,
    // update = alpha * 1.9e-7 / (4.47101778e-8 + 1e-7) = 3.08963e-4. (TF.js's own Adam moves it 9.09e-4 in step 1.)
    // Gradient 1: every step moves lr * sqrt(1 - 0.999^t) / (1 - 0.9^t) * m / sqrt(v) ~ 1e-3.
    const small = tf.variable(tf.scalar(1), true, "small");
    const large = tf.variable(tf.scalar(1), true, "large");
    const optimizer = kerasAdam(1e-3);
    const step = () =>
      optimizer.applyGradients([
        { name: "small", tensor: tf.scalar(1e-6) },
        { name: "large", tensor: tf.scalar(1) },
      ]);
    step();
    assert.ok(Math.abs(small.dataSync()[0]! - (1 - 2.40253e-4)) < 2e-7, `step 1: ${small.dataSync()[0]}`);
    assert.ok(Math.abs(large.dataSync()[0]! - (1 - 1e-3)) < 2e-7, `step 1: ${large.dataSync()[0]}`);
    step();
    assert.ok(Math.abs(small.dataSync()[0]! - (1 - 2.40253e-4 - 3.08963e-4)) < 3e-7, `step 2: ${small.dataSync()[0]}`);
    assert.ok(Math.abs(large.dataSync()[0]! - (1 - 2e-3)) < 3e-7, `step 2: ${large.dataSync()[0]}`);
    optimizer.dispose();
    tf.dispose([small, large]);
  });
});
