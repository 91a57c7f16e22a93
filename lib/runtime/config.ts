/**
 * Presets and paths. Each notebook declares one typed configuration object with a value per preset;
 * the preset and the dataset location come from the environment, so `npm run workbook` and CI can set
 * them for every notebook while a user in JupyterLab simply gets the defaults.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WorkbookError } from "./errors";

export const PRESET_NAMES = ["coursework", "quick", "smoke"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/**
 * - coursework: the template's exact settings (full data, 40/20 epochs);
 * - quick: the default, the whole workbook in about 20 minutes on a 2-core laptop without a GPU;
 * - smoke: seconds per notebook, for tests.
 */
export const DEFAULT_PRESET: PresetName = "quick";

/** Environment variables the workbook reads (set by `npm run workbook`, or by hand). */
export const ENV = {
  dataDir: "IMDB_DATA_DIR",
  preset: "WORKBOOK_PRESET",
  outDir: "WORKBOOK_OUT_DIR",
  cacheDir: "WORKBOOK_CACHE_DIR",
} as const;

/** The project root: this file is compiled to dist/lib/config.js. */
export const PROJECT_DIR = findProjectDir(__dirname);

function findProjectDir(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "notebooks"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(start, "..", "..");
    dir = parent;
  }
}

export const DEFAULT_DATA_DIR = path.join(PROJECT_DIR, "data", "Multimodal_IMDB_dataset");

/** The project's Jupyter environment (JupyterLab, nbclient, nbconvert), made by jupyter/setup.sh with pip. */
export const JUPYTER_VENV_DIR = path.join(PROJECT_DIR, ".venv");

/** The Python of that environment: the headless runner and the JupyterLab test run with it. */
export function jupyterPython(): string {
  return path.join(JUPYTER_VENV_DIR, "bin", "python");
}

export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(name);
}

export function parsePreset(name: string, source = "preset"): PresetName {
  if (!isPresetName(name)) {
    throw new WorkbookError(`Unknown ${source} '${name}': use one of ${PRESET_NAMES.join(", ")}.`);
  }
  return name;
}

/**
 * The one pattern for names that become part of a path (tune's --name, presets, kinds): 1 to 64 letters, digits,
 * '.', '_' or '-', starting with a letter or digit, and no "..". A name is a single folder name, so it can never
 * climb out of the folder it is put in, name an absolute path or hide as a dot file.
 */
export const PATH_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `name` when it matches PATH_NAME and holds no ".."; else a refusal saying what `what` must look like. */
export function checkPathName(name: string, what: string): string {
  if (PATH_NAME.test(name) && !name.includes("..")) return name;
  throw new WorkbookError(
    `${what} ${JSON.stringify(name)} cannot be used as a folder name: expected 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'`,
  );
}

/** The preset named by WORKBOOK_PRESET, or the default. */
export function presetFromEnv(env: NodeJS.ProcessEnv = process.env): PresetName {
  const name = env[ENV.preset];
  return name ? parsePreset(name, `${ENV.preset} value`) : DEFAULT_PRESET;
}

export interface WorkbookPaths {
  /** Folder with IMDB_overview_genres.csv and Images/ (IMDB_DATA_DIR). */
  dataDir: string;
  /** Preprocessed posters and other derived data, reused across runs (WORKBOOK_CACHE_DIR). */
  cacheDir: string;
  /** Trained models, executed notebooks, reports (WORKBOOK_OUT_DIR). */
  outDir: string;
}

export function workbookPaths(env: NodeJS.ProcessEnv = process.env): WorkbookPaths {
  return {
    dataDir: path.resolve(env[ENV.dataDir] || DEFAULT_DATA_DIR),
    cacheDir: path.resolve(env[ENV.cacheDir] || path.join(PROJECT_DIR, "cache")),
    outDir: path.resolve(env[ENV.outDir] || path.join(PROJECT_DIR, "out")),
  };
}

/** A notebook's configuration: its settings for the active preset, plus the preset and the paths. */
export type NotebookConfig<T> = T & WorkbookPaths & { preset: PresetName };

/**
 * Picks the settings of the active preset (WORKBOOK_PRESET, default 'quick') from a notebook's
 * per-preset table. Pass `preset` to choose one by hand in a notebook.
 */
export function notebookConfig<T extends object>(
  presets: Record<PresetName, T>,
  options: { preset?: PresetName; env?: NodeJS.ProcessEnv } = {},
): NotebookConfig<T> {
  const env = options.env ?? process.env;
  const preset = options.preset ?? presetFromEnv(env);
  return { ...presets[preset], ...workbookPaths(env), preset };
}
