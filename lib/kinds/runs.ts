/**
 * What every kind's run shares while it is prepared: its dataset and split, the base of its info.json, its loss.
 */
import { Dataset, Film } from "../data/dataset";
import { LoadedSplit, Split, loadSplitDataset, sameSplit } from "../data/split";
import { ModelInfoBase, modelDir } from "../models/model-folder";
import { checkOutputFolder } from "../models/run-folders";
import { ConfiguredLoss, lossFromConfig } from "../models/losses";
import { BackendInfo, describeBackend, ensureBackend } from "../runtime/backend";
import { WorkbookError } from "../runtime/errors";
import type { RunContext } from "./kind";
import type { RunSettings } from "./presets";

export interface RunStart {
  /** The model folder the run will train into (checked writable, with room, and not locked). */
  dir: string;
  loaded: LoadedSplit;
  backend: BackendInfo;
  log: (line: string) => void;
}

/**
 * The model folder checked first (see checkOutputFolder: a doomed run fails before minutes of preparation), then
 * the backend (activated when none is yet) and the run's dataset and split: the context's, when it brings them
 * (they must follow the settings' split), else loaded from the data folder.
 */
export async function startRun(settings: RunSettings, context: RunContext, kind: string): Promise<RunStart> {
  const dir = context.dir ?? modelDir(context.paths.outDir, context.preset, kind);
  await checkOutputFolder(dir);
  const backend = context.backend ?? (await ensureBackend());
  const log = context.log ?? console.log;
  if (context.loaded && !sameSplit(context.loaded.settings, settings)) {
    throw new WorkbookError(
      `the dataset given to the run was split with other settings (${JSON.stringify(context.loaded.settings)}) than the run's: its validation films would differ`,
    );
  }
  const loaded = context.loaded ?? loadSplitDataset(context.paths.dataDir, settings, log);
  return { dir, loaded, backend, log };
}

/** A prepared run: the kind's own parts, with what startRun began (the model folder, the dataset and its split). */
export function preparedRun<K extends string, P extends object>(
  start: RunStart,
  kind: K,
  parts: P,
): P & { kind: K; dir: string; dataset: Dataset; split: Split } {
  return { kind, ...parts, dir: start.dir, dataset: start.loaded.dataset, split: start.loaded.split };
}

/** A run's films as info.json records them: the counts, the split's seed and the films of each side by Id. */
export function splitInfo({ dataset, split }: LoadedSplit): {
  films: number;
  trainFilms: number;
  validationFilms: number;
  seed: number;
  trainIds: string[];
  validationIds: string[];
} {
  return {
    films: dataset.films.length,
    trainFilms: split.train.length,
    validationFilms: split.validation.length,
    seed: split.seed,
    trainIds: rowIds(dataset, split.train),
    validationIds: rowIds(dataset, split.validation),
  };
}

/** The info.json fields every run has, before training adds the best epoch. */
export function runInfo<K extends string>(
  kind: K,
  settings: RunSettings,
  start: RunStart,
  context: RunContext,
): ModelInfoBase & { kind: K } {
  const { dataset } = start.loaded;
  return {
    kind,
    genres: dataset.genres,
    preset: context.preset,
    settings: { ...settings },
    dataset: { dir: context.paths.dataDir, ...splitInfo(start.loaded) },
    backend: describeBackend(start.backend),
    started: new Date().toISOString(),
  };
}

/** The settings' loss on the training films (the coursework's plain BCE when unset), with its one-line description logged. */
export function configuredLoss(settings: RunSettings, loaded: LoadedSplit, log: (line: string) => void): ConfiguredLoss {
  const loss = lossFromConfig(settings.loss ?? { kind: "bce" }, loaded.dataset.labels, loaded.dataset.genres, loaded.split.train);
  log(`loss: ${loss.description}`);
  return loss;
}

/** The overviews of the training films (what vocabularies and TF-IDFs are fitted on). */
export function trainingOverviews(loaded: LoadedSplit): string[] {
  return loaded.split.train.map((r) => (loaded.dataset.films[r] as Film).overview);
}

/** The Ids of dataset rows. */
export function rowIds(dataset: Dataset, rows: readonly number[]): string[] {
  return rows.map((r) => (dataset.films[r] as Film).id);
}
