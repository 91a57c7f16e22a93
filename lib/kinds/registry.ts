/**
 * Every model kind of the workbook, by id. Whatever depends on the kind of a model (preparing its run, its
 * folder's files, batched and single-film inputs, explanations, the commands) asks here. Adding a kind: one
 * module declaring its KindSpec (see ./kind.ts and docs/ARCHITECTURE.md), and one entry below.
 */
import * as fs from "node:fs";
import { MODEL_JSON } from "../models/model-json";
import { diskFolder, loadTrainedModel, modelFolder } from "../models/model-folder";
import { FolderSource, INFO_JSON, TrainedModel, readModelFolder } from "../models/folder-reader";
import { checkImageSize } from "../models/folder-schema";
import { NotebookConfig, PresetName, notebookConfig } from "../runtime/config";
import { WorkbookError } from "../runtime/errors";
import { linkNote } from "../runtime/files";
import { CNN_KIND, CnnInfo } from "./cnn";
import { FUSION_KIND, FusionInfo } from "./fusion";
import { HeadInfo, POSTER_HEAD_KIND, TEXT_HEAD_KIND } from "./heads";
import type { EvidenceRanks, KindSpec, RunContext } from "./kind";
import { ensembleSpec, isEnsembleFolder, loadEnsemble } from "./ensemble";
import { EnsembleModelInfo, checkFoldFolders, foldName } from "../models/ensemble-folder";
import { ensureBackend } from "../runtime/backend";
import type { RunSettings } from "./presets";
import { LSTM_KIND, LstmInfo } from "./lstm";
import { PRETRAINED_KIND, PretrainedInfo } from "./pretrained";
import { LINEAR_KIND, TEXT_BRANCH_KIND, TfidfBaselineInfo } from "./tfidf-baselines";

/** info.json of any kind: the kind's id tells which fields it has. */
export type ModelInfo = CnnInfo | LstmInfo | FusionInfo | PretrainedInfo | HeadInfo | TfidfBaselineInfo;
export type KindId = ModelInfo["kind"];

/** A loaded model folder of any kind. */
export type Trained = TrainedModel<ModelInfo>;

const KINDS = {
  cnn: CNN_KIND,
  lstm: LSTM_KIND,
  fusion: FUSION_KIND,
  pretrained: PRETRAINED_KIND,
  "text-head": TEXT_HEAD_KIND,
  "poster-head": POSTER_HEAD_KIND,
  linear: LINEAR_KIND,
  "text-branch": TEXT_BRANCH_KIND,
} as const satisfies Record<KindId, { id: KindId }>;

export const KIND_IDS = Object.keys(KINDS) as KindId[];

/** The settings type of a kind's presets (e.g. CnnSettings for "cnn"). */
export type SettingsOf<K extends KindId> = (typeof KINDS)[K]["presets"]["quick"];

/** What a kind's prepare gives (e.g. PretrainedRun, with the films' features, for "pretrained"). */
export type RunOf<K extends KindId> = Awaited<ReturnType<(typeof KINDS)[K]["prepare"]>>;

export function isKindId(id: string): id is KindId {
  return Object.prototype.hasOwnProperty.call(KINDS, id);
}

/** The kinds of the ensembles loaded: the kind of their folds, with inputs made by each fold (./ensemble.ts). */
const ensembleSpecs = new WeakMap<object, KindSpec<ModelInfo>>();

/** The kind of this id, or of this model (an ensemble's: its folds' kind, as an ensemble); an unknown id is an error listing the kinds. */
export function kindSpec(of: string | { info: { kind: string }; folds?: readonly TrainedModel[] }): KindSpec<ModelInfo> {
  const id = typeof of === "string" ? of : of.info.kind;
  if (!isKindId(id)) throw new WorkbookError(`unknown model kind '${id}': use one of ${KIND_IDS.join(", ")}`);
  const base = KINDS[id] as unknown as KindSpec<ModelInfo>;
  if (typeof of === "string" || of.folds === undefined) return base;
  let spec = ensembleSpecs.get(of);
  if (!spec) {
    spec = ensembleSpec(base as KindSpec<EnsembleOf>, of.folds as TrainedModel<EnsembleOf>[]) as unknown as KindSpec<ModelInfo>;
    ensembleSpecs.set(of, spec);
  }
  return spec;
}

type EnsembleOf = ModelInfo & EnsembleModelInfo;

/**
 * Loads a model folder of any kind from the disk (models/model-folder.ts loadTrainedModel), then checks what its kind
 * needs (checkKind): its info fields and its files (vocabulary, TF-IDF). Errors name the file and what to do. An
 * ensemble folder (its info.json has an "ensemble" field) loads its folds so, and gives their mean model (./ensemble.ts).
 */
export async function loadModel(dir: string): Promise<Trained> {
  if (fs.existsSync(dir) && (await isEnsembleFolder(diskFolder(dir)))) {
    await ensureBackend();
    const ensemble = await loadEnsemble<EnsembleOf>(diskFolder(dir), {
      spec: (kind) => kindSpec(kind) as unknown as KindSpec<EnsembleOf>,
      // on the disk the folders themselves are checked too: folders, not links, and no fold beyond the count
      foldSources: (folds, infoFile) => checkFoldFolders(dir, folds, infoFile).map(diskFolder),
      loadFold: async (fold) => (await loadSingleModel(fold.dir)) as TrainedModel<EnsembleOf>,
    });
    return ensemble as Trained;
  }
  return loadSingleModel(dir);
}

/** One model folder (not an ensemble) from the disk, checked as its kind requires. */
async function loadSingleModel(dir: string): Promise<Trained> {
  return checkKind(await loadTrainedModel(dir), diskFolder(dir));
}

/**
 * A model folder of any kind read through a FolderSource (the web page's: over HTTP), checked as loadModel checks
 * it. An ensemble folder's folds are read through the same source (its folders fold-1 ... fold-k; whoever serves them
 * serves folders, not links: app/server.ts checks them on the disk as loadModel does).
 */
export async function loadModelFrom(source: FolderSource): Promise<Trained> {
  if (await isEnsembleFolder(source)) {
    const ensemble = await loadEnsemble<EnsembleOf>(source, {
      spec: (kind) => kindSpec(kind) as unknown as KindSpec<EnsembleOf>,
      foldSources: (folds) => Array.from({ length: folds }, (_, i) => source.folder(foldName(i + 1))),
      loadFold: async (fold) => (await checkKind(await readModelFolder(fold), fold)) as TrainedModel<EnsembleOf>,
    });
    return ensemble as Trained;
  }
  return checkKind(await readModelFolder(source), source);
}

/** What a loaded folder's kind needs: its info fields, its poster size against the model, and its files (vocabulary, TF-IDF). */
async function checkKind(trained: TrainedModel, source: FolderSource): Promise<Trained> {
  const file = source.where(INFO_JSON);
  if (!isKindId(trained.info.kind)) {
    throw new WorkbookError(`${file}: "kind" must be one of ${KIND_IDS.join(", ")}, got ${JSON.stringify(trained.info.kind)}`);
  }
  const spec = kindSpec(trained);
  const info = trained.info as ModelInfo;
  spec.checkInfo(info, file);
  // a poster model's imageSize (the kind's default filled in by checkInfo) is the side of the posters its model reads
  if ("imageSize" in info) checkImageSize(trained.model, info.imageSize, file, source.where(MODEL_JSON));
  for (const required of spec.requiredFiles(info)) await source.need(required.file, required.what);
  return trained as Trained;
}

/**
 * The kinds whose models an explanation across films may use (KindSpec.evidence): `words`, leaving words out;
 * `posters`, occlusion. In order of preference, the first trained one is used.
 */
export function evidenceKinds(evidence: keyof EvidenceRanks): KindId[] {
  const ranked = KIND_IDS.flatMap((kind) => {
    const rank = kindSpec(kind).evidence?.[evidence];
    return rank === undefined ? [] : [{ kind, rank }];
  });
  return ranked.sort((a, b) => a.rank - b.rank).map((r) => r.kind);
}

/** How tables name a trained model: its kind's description of it, or the kind's title. */
export function modelName(trained: Trained): string {
  const spec = kindSpec(trained);
  return spec.describe?.(trained.info) ?? spec.title;
}

/** What trains a missing model of this kind at a preset: its notebook, or the command. */
export function howToTrain(kind: KindId, preset: PresetName | string): string {
  const { notebook, command } = kindSpec(kind).trainedBy;
  const byCommand = `'npm run train -- ${command} --preset ${preset}'`;
  return notebook === undefined ? byCommand : `notebook ${notebook}, or ${byCommand}`;
}

/** Whether a preset's model folder is there: a link whose run is gone is (loading it says where it points), nothing is not. */
function trainedThere(dir: string): boolean {
  return fs.existsSync(dir) || linkNote(dir) !== undefined;
}

/** The model of this kind that the notebooks (or `npm run train`) trained at the config's preset, loaded. */
export async function loadPresetModel(config: { outDir: string; preset: string }, kind: KindId): Promise<Trained> {
  const dir = modelFolder(config, kind);
  if (!trainedThere(dir)) {
    throw new WorkbookError(
      `no ${kindSpec(kind).title} trained at preset ${config.preset} (${dir}): train it with ${howToTrain(kind, config.preset)}`,
    );
  }
  return loadModel(dir);
}

/** The models of some kinds at a preset: those that are trained (in the order asked), and those that are not. */
export interface PresetModels {
  found: Trained[];
  missing: { kind: KindId; dir: string; how: string }[];
}

/**
 * Loads every model of `kinds` trained at the config's preset. Models that were never trained are listed in
 * `missing`, each with what trains it, and said in one line (`log`); when one of `required` is among them, that
 * is an error naming every missing model at once. A folder that exists but cannot be loaded is an error.
 */
export async function loadPresetModels(
  config: { outDir: string; preset: string },
  kinds: readonly KindId[],
  options: { required?: readonly KindId[] | "all" | "one"; log?: (line: string) => void } = {},
): Promise<PresetModels> {
  const result: PresetModels = { found: [], missing: [] };
  for (const kind of kinds) {
    const dir = modelFolder(config, kind);
    if (!trainedThere(dir)) result.missing.push({ kind, dir, how: howToTrain(kind, config.preset) });
    else result.found.push(await loadModel(dir));
  }
  const required = options.required === "all" ? kinds : options.required === "one" ? [] : (options.required ?? []);
  const list = result.missing.map((m) => `${m.kind} (${m.dir}): train it with ${m.how}`).join("; ");
  if (result.missing.some((m) => required.includes(m.kind)) || (options.required === "one" && result.found.length === 0)) {
    throw new WorkbookError(`not trained yet at preset ${config.preset}: ${list}`);
  }
  if (result.missing.length > 0) {
    (options.log ?? console.log)(
      `going on with ${result.found.map((m) => m.info.kind).join(", ")}; not trained yet at preset ${config.preset}, and left out: ${list}`,
    );
  }
  return result;
}

/** The model of this kind among loaded ones, or undefined. */
export function modelOfKind(models: readonly Trained[], kind: KindId): Trained | undefined {
  return models.find((m) => m.info.kind === kind);
}

/** A kind's settings at the active preset (WORKBOOK_PRESET), with the paths and its kind: what prepareRun takes. */
export function kindConfig<K extends KindId>(kind: K, options: { preset?: PresetName; env?: NodeJS.ProcessEnv } = {}): KindConfig<K> {
  return { ...notebookConfig(KINDS[kind].presets as Record<PresetName, SettingsOf<K>>, options), kind } as unknown as KindConfig<K>;
}

/** A notebook's settings for one kind of model: the preset's settings (changed as the notebook says), the paths, the kind. */
export type KindConfig<K extends KindId = KindId> = NotebookConfig<SettingsOf<K>> & { kind: K };

/** The keys a config adds to a kind's settings: its paths, its preset, its kind. */
const CONFIG_KEYS = ["dataDir", "cacheDir", "outDir", "preset", "kind"] as const;

/** The settings in a config (a notebook's, a kind's): the config without its paths, preset and kind. What a kind's prepare takes. */
export function configSettings<C extends object>(config: C): Omit<C, (typeof CONFIG_KEYS)[number]> {
  return Object.fromEntries(Object.entries(config).filter(([key]) => !(CONFIG_KEYS as readonly string[]).includes(key))) as Omit<
    C,
    (typeof CONFIG_KEYS)[number]
  >;
}

/**
 * Prepares a run of the config's kind (its dataset and split, inputs, model and loss): what the notebooks'
 * "Data and model" cells and `npm run train` call. `loaded` reuses a dataset and split already loaded (they must
 * follow the split settings); `dir`, `branchDirs`, `backend` and `log` as in RunContext.
 */
export async function prepareRun<K extends KindId>(
  config: KindConfig<K>,
  options: Omit<RunContext, "paths" | "preset"> = {},
): Promise<RunOf<K>> {
  const spec = kindSpec(config.kind) as unknown as KindSpec<ModelInfo, RunSettings>;
  const context: RunContext = {
    ...options,
    paths: { dataDir: config.dataDir, cacheDir: config.cacheDir, outDir: config.outDir },
    preset: config.preset,
  };
  return (await spec.prepare(configSettings(config) as unknown as RunSettings, context)) as unknown as RunOf<K>;
}
