/**
 * An ensemble of fold models (models/ensemble-folder.ts) used like any model of its kind: loading it gives a
 * TrainedModel whose `model` is one tf.LayersModel that takes every fold's inputs and outputs the mean of the folds'
 * probabilities, and whose kind (./registry.ts kindSpec) builds those inputs from each fold's own files (each fold
 * fitted its own vocabulary or TF-IDF on its own training films, so the folds' inputs for the same film differ).
 * Batched prediction, one film's prediction, the leaderboards and explanations (occlusion, leaving a word out: they
 * only need probabilities) therefore use the mean model unchanged. Grad-CAM and the gate's share do not apply: they
 * need one CNN or one gated unit, and an ensemble has k.
 */
import * as tf from "@tensorflow/tfjs";
import { checkFoldInfo, checkEnsembleInfo, describesEnsemble, EnsembleModelInfo } from "../models/ensemble-folder";
import { FolderSource, INFO_JSON, THRESHOLDS_JSON, TrainedModel } from "../models/folder-reader";
import { checkInfoJson, checkThresholdsJson } from "../models/folder-schema";
import { WorkbookError } from "../runtime/errors";
import type { KindSpec, RowInputs } from "./kind";

/** Whether `source` holds an ensemble model folder: its info.json has an "ensemble" field (an unreadable one: not). */
export async function isEnsembleFolder(source: FolderSource): Promise<boolean> {
  if (!(await source.has(INFO_JSON))) return false;
  return describesEnsemble(await source.json(INFO_JSON, "model description").catch(() => undefined));
}

/**
 * One model taking the folds' inputs one after the other (fold 1's, then fold 2's, ...) and giving the mean of their
 * outputs. The fold models are its layers (their weights are shared, not copied), renamed fold_<i> since a model's
 * layers need distinct names.
 */
export function averagingModel(folds: readonly tf.LayersModel[]): tf.LayersModel {
  const inputs = folds.map((model, i) =>
    model.inputs.map((input) =>
      tf.input({ shape: input.shape.slice(1), dtype: input.dtype, name: `fold_${i + 1}_${input.sourceLayer.name}` }),
    ),
  );
  const outputs = folds.map((model, i) => {
    model.name = `fold_${i + 1}`;
    const own = inputs[i] as tf.SymbolicTensor[];
    return model.apply(own.length === 1 ? (own[0] as tf.SymbolicTensor) : own) as tf.SymbolicTensor;
  });
  const mean = tf.layers.average({ name: "mean_of_folds" }).apply(outputs) as tf.SymbolicTensor;
  return tf.model({ inputs: inputs.flat(), outputs: mean, name: `ensemble_of_${folds.length}` });
}

/** The inputs of each fold, one after the other: what averagingModel takes. */
function flatInputs(each: readonly (tf.Tensor | tf.Tensor[])[]): tf.Tensor[] {
  return each.flatMap((x) => (Array.isArray(x) ? x : [x]));
}

/**
 * The kind of an ensemble of `folds` of kind `base`: the same kind (what it reads, its role, its presets), named as
 * an ensemble, with its inputs made by each fold from its own files. It cannot prepare a run: cross-validation
 * (train/cross-validate.ts) trains its folds.
 */
export function ensembleSpec<I extends EnsembleModelInfo>(base: KindSpec<I>, folds: readonly TrainedModel<I>[]): KindSpec<I> {
  const k = folds.length;
  const first = folds[0] as TrainedModel<I>;
  const named = (info: I) => `${base.describe?.(info) ?? base.title}, ${k}-fold ensemble`;
  return {
    ...base,
    title: `${base.title}, ${k}-fold ensemble`,
    describe: named,
    prepare: () =>
      Promise.reject(
        new WorkbookError(
          `an ensemble is trained by cross-validation: crossValidate(kind, { folds }) or 'npm run train -- ${base.id} --folds K'`,
        ),
      ),
    // every fold reads the same encoders (checked on loading)
    ...(base.encoders ? { encoders: () => base.encoders?.(first.info) ?? {} } : {}),
    rowInputs: async (_ensemble, dataset, rows, options): Promise<RowInputs> => {
      const each: RowInputs[] = [];
      for (const fold of folds) each.push(await base.rowInputs(fold, dataset, rows, options));
      const [one] = each as [RowInputs];
      // the folds read the same films from the same files (posters, features): a film one cannot predict, none can
      each.forEach((e, i) => {
        if (e.rows.join() !== one.rows.join())
          throw new WorkbookError(
            `${folds[i]?.dir}: fold ${i + 1} can predict other films than fold 1 (${e.rows.length} against ${one.rows.length})`,
          );
      });
      return {
        rows: one.rows,
        skipped: one.skipped,
        ...(one.order ? { order: one.order } : {}),
        inputs: (indices) => flatInputs(each.map((e) => e.inputs(indices))),
      };
    },
    filmInputs: async (_ensemble, films, encoders) => {
      const each: (tf.Tensor | tf.Tensor[])[] = [];
      for (const fold of folds) each.push(await base.filmInputs(fold, films, encoders));
      return flatInputs(each);
    },
  };
}

/**
 * Loads an ensemble model folder read through `source` (the disk's, or the web page's over HTTP): its info.json (the
 * kind's fields, checked by the kind, and the "ensemble" field), its fold folders (`foldSources`: fixed names, as many as
 * it counts, each loaded by `loadFold` as the model folder it is, and checked against the ensemble), thresholds.json,
 * and the mean model of the folds.
 */
export async function loadEnsemble<I extends EnsembleModelInfo>(
  source: FolderSource,
  kinds: {
    spec: (kind: string) => KindSpec<I>;
    /** The folds' folders, fold-1 ... fold-k, checked as far as the source can (the disk's: no link, no stray fold). */
    foldSources: (folds: number, infoFile: string) => FolderSource[];
    loadFold: (fold: FolderSource) => Promise<TrainedModel<I>>;
  },
): Promise<TrainedModel<I>> {
  const infoFile = source.where(INFO_JSON);
  const info = checkInfoJson(await source.json(INFO_JSON, "model description"), infoFile) as I;
  const spec = kinds.spec(info.kind);
  spec.checkInfo(info, infoFile);
  const ensemble = checkEnsembleInfo(info, infoFile);
  const folds: TrainedModel<I>[] = [];
  try {
    for (const [i, folder] of kinds.foldSources(ensemble.folds, infoFile).entries()) {
      const fold = await kinds.loadFold(folder);
      folds.push(fold);
      checkFoldInfo(info, i + 1, fold.info, folder.where(INFO_JSON), infoFile);
      const encoders = (trained: TrainedModel<I>) => JSON.stringify(spec.encoders?.(trained.info) ?? {});
      if (encoders(fold) !== encoders(folds[0] as TrainedModel<I>))
        throw new WorkbookError(
          `${folder.where(INFO_JSON)}: fold ${i + 1} reads other pretrained features than fold 1 (${encoders(fold)})`,
        );
    }
  } catch (error) {
    for (const fold of folds) fold.model.dispose();
    throw error;
  }
  const trained: TrainedModel<I> = { dir: source.dir, info, model: averagingModel(folds.map((f) => f.model)), folds };
  if (await source.has(THRESHOLDS_JSON)) {
    const thresholdsFile = source.where(THRESHOLDS_JSON);
    trained.thresholds = checkThresholdsJson(await source.json(THRESHOLDS_JSON, "thresholds"), thresholdsFile, info.genres, infoFile);
  }
  return trained;
}
