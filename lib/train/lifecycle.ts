/**
 * Training a prepared run (lib/kinds/: any kind) into its model folder: one lifecycle for every model of the
 * workbook. Each training run writes into its own folder beside the model folder, which switches to it at its
 * first checkpoint; the run's info, history and per-genre thresholds are saved with the weights.
 */
import { labelMatrix } from "../data/dataset";
import { orderByLength } from "../data/batches";
import { predictInOrder } from "../eval/inference";
import { tuneThresholds } from "../eval/metrics";
import { readModelJson, fileSaveHandler } from "../models/checkpoint";
import { saveInfo, saveThresholds, writeRunFiles } from "../models/model-folder";
import { finishRunFolder, publishRun, startRunFolder, unpublishRun } from "../models/run-folders";
import type { TrainingHistory } from "../models/history";
import { LossFunction, correctOutputLayer, correctedBinaryCrossentropy } from "../models/losses";
import type { PreparedRun } from "../kinds/kind";
import { WorkbookError } from "../runtime/errors";
import type { ProgressReporter } from "./progress";
import { courseworkSchedule, stopOnSigint, trainModel } from "./trainer";
import { trainingSeed } from "../kinds/presets";

/** trainModel's validationLoss for the run's settings (selection on the corrected probabilities' BCE). */
function selectionLoss(run: PreparedRun): { validationLoss?: LossFunction } {
  const selectOn = (run.settings as { selectOn?: string }).selectOn ?? "loss";
  if (selectOn !== "corrected-bce" || !run.loss.correction) return {};
  return { validationLoss: correctedBinaryCrossentropy(run.loss.correction) };
}

const trainedRuns = new WeakSet<PreparedRun>();

/** The settings of `prepared` whose values differ in `current` ("learningRate 0.001 -> 0.0001"). */
function changedSettings(prepared: object, current: object): string[] {
  const now = current as Record<string, unknown>;
  return Object.entries(prepared)
    .filter(([key, value]) => key in now && JSON.stringify(value) !== JSON.stringify(now[key]))
    .map(([key, value]) => `${key} ${JSON.stringify(value)} -> ${JSON.stringify(now[key])}`);
}

/**
 * Trains the run's model. Everything goes into the run's own folder, `<dir>.runs/<run id>/`: info.json (and
 * the vocabulary or TF-IDF) first, model.json + weights at each new best val_loss, history.json after every
 * epoch, info.json again at the end with the best epoch, and thresholds.json (per-genre thresholds tuned on
 * the validation split, for evaluation elsewhere). The model folder `dir` that later notebooks use is
 * switched to this run's folder, at once, when its first checkpoint is written: until then it holds the
 * previous model, whole, and a run that is interrupted before then leaves nothing behind. A lock refuses a
 * second run into the same model folder while this one trains.
 */
export async function trainRun(
  run: PreparedRun,
  options: {
    progress?: ProgressReporter;
    shouldStop?: () => boolean;
    log?: (line: string) => void;
    /**
     * The settings as they are now (a notebook's config): training is refused when they differ from those
     * the run was prepared with, since the model, the data and the loss were built from those.
     */
    config?: object;
  } = {},
): Promise<TrainingHistory> {
  const log = options.log ?? console.log;
  if (options.config) {
    const changed = changedSettings(run.settings, options.config);
    if (changed.length > 0) {
      throw new WorkbookError(
        `the configuration changed since the run was prepared (${changed.join("; ")}): run the cell that prepares it ` +
          `(prepareRun) again, so that the model, the data and the loss follow the new settings`,
      );
    }
  }
  if (trainedRuns.has(run)) {
    throw new WorkbookError(
      `this run has been trained already, and its model holds the trained weights: to train again from fresh weights, run the cell that prepares it (prepareRun) first`,
    );
  }
  trainedRuns.add(run);
  // Without a caller's own stop signal, an interrupt (Ctrl-C, or the notebook's interrupt button, which sends
  // SIGINT to the kernel) stops after the current batch and keeps the best checkpoint.
  const interrupt = options.shouldStop ? undefined : await stopOnSigint(log);
  const folder = await startRunFolder(run.dir, log).catch((error: unknown) => {
    interrupt?.release();
    throw error;
  });
  log(`training run ${folder.id}, in ${folder.dir}`);
  let published = false;
  try {
    await writeRunFiles(folder.dir, {
      info: run.info,
      ...(run.vectorizer ? { vectorizer: run.vectorizer } : {}),
      ...(run.tfidf ? { tfidf: run.tfidf } : {}),
    });
    const history = await trainModel(run.model, run.data, {
      epochs: run.settings.epochs,
      batchSize: run.settings.batchSize,
      bucketByLength: (run.settings as { bucketByLength?: boolean }).bucketByLength === true,
      learningRate: run.settings.learningRate,
      schedule: run.settings.learningRateSchedule === "constant" ? (_epoch: number, lr0: number) => lr0 : courseworkSchedule,
      seed: trainingSeed(run.settings),
      loss: run.loss.loss,
      ...selectionLoss(run),
      checkpointDir: folder.dir,
      onCheckpoint: async () => {
        if (published) return;
        await publishRun(folder, log);
        published = true;
      },
      ...(run.settings.earlyStoppingPatience === undefined ? {} : { earlyStoppingPatience: run.settings.earlyStoppingPatience }),
      ...(options.progress ? { progress: options.progress } : {}),
      shouldStop: options.shouldStop ?? interrupt?.shouldStop ?? (() => false),
      metadata: { kind: run.kind, preset: run.info.preset, genres: run.info.genres, run: folder.id },
    });
    run.info = {
      ...run.info,
      finished: new Date().toISOString(),
      bestEpoch: history.bestEpoch,
      bestValLoss: history.bestValLoss,
      interrupted: history.interrupted,
    };
    if (!published) {
      log(`no epoch completed: nothing was kept, and ${run.dir} is unchanged`);
      return history;
    }
    if (history.interrupted) {
      log(
        `interrupted: ${run.dir} keeps the weights of epoch ${history.bestEpoch} (val_loss ${history.bestValLoss.toFixed(4)}), its history and thresholds`,
      );
    }
    if (run.loss.correction && history.bestEpoch > 0) {
      // The (restored, best) weights get their probabilities corrected (for a weighted loss; genres left out of the
      // loss predict a tiny constant instead of an untrained 0.5), and are saved again under the same checkpoint
      // metadata; info.json says so.
      correctOutputLayer(run.model, run.loss.correction);
      const { userDefinedMetadata } = await readModelJson(folder.dir);
      await run.model.save(fileSaveHandler(folder.dir, userDefinedMetadata ? { userDefinedMetadata } : {}));
      run.info.outputCorrection = run.loss.correction.description;
    }
    await saveInfo(folder.dir, run.info);
    const { yTrue, yProb } = await validationPredictions(run);
    const tuning = tuneThresholds(yTrue, yProb, run.dataset.genres);
    await saveThresholds(folder.dir, {
      genres: run.dataset.genres,
      thresholds: tuning.thresholds,
      tunedOn: "validation split",
      films: run.data.validation.length,
      perGenre: tuning.perGenre,
    });
    run.runDir = folder.dir;
    return history;
  } catch (error) {
    if (published) {
      // A run that fails after its first checkpoint (while training, or tuning thresholds) is not left as the
      // model: the folder goes back to what it was, and the run's files stay where they are for a look.
      await unpublishRun(folder);
      log(
        `training failed after its first checkpoint: ${run.dir} ${folder.previous ? "points again at the model it held before" : "is left as it was (no model)"}; this run's files are kept in ${folder.dir}`,
      );
    }
    throw error;
  } finally {
    interrupt?.release();
    await finishRunFolder(folder, published);
  }
}

/** The (restored, best) model's probabilities and the labels of the run's validation films, row-major. */
export async function validationPredictions(run: PreparedRun): Promise<{ yTrue: Float32Array; yProb: Float32Array }> {
  const rows = run.data.validation;
  const lengthOf = run.data.lengthOf;
  // In length order where batches pad to their longest overview (see predictInOrder).
  const order = lengthOf ? orderByLength(rows.map((r) => lengthOf(r))) : rows.map((_, i) => i);
  const yProb = await predictInOrder(run.model, order, (samples) => run.data.makeBatch(samples.map((k) => rows[k] as number)).inputs);
  return { yTrue: Float32Array.from(labelMatrix(run.dataset, rows)), yProb };
}
