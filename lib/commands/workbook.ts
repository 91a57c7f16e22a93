/**
 * `npm run workbook`: executes every notebook in notebooks/ in order, headless, on the project's tslab
 * kernel, and writes each executed notebook (signed) and its HTML export to the output folder.
 *
 *   npm run workbook -- [--preset coursework|quick|smoke] [--data DIR] [--out DIR] [--fixture-if-missing]
 *                       [--notebooks DIR] [--interrupt-at PATTERN] [NAME...]
 *
 * NAME filters notebooks by prefix (e.g. `01`). The dataset and preset reach the notebooks through
 * IMDB_DATA_DIR and WORKBOOK_PRESET, read in each notebook's first cell. While a cell runs, its latest
 * progress line is echoed (jupyter/run_notebook.py). --interrupt-at interrupts the kernel, as the interrupt
 * button does, the first time a cell's output matches PATTERN (a regular expression), and goes on with the
 * next cells: it rehearses an interrupted training cell.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  DEFAULT_DATA_DIR,
  ENV,
  PROJECT_DIR,
  PresetName,
  jupyterPython,
  parsePreset,
  presetFromEnv,
  workbookPaths,
} from "../runtime/config";
import { CSV_FILE } from "../data/dataset";
import { writeFixtureDataset } from "../data/fixture";
import { parseArgs } from "./args";

interface Options {
  preset: PresetName;
  dataDir: string;
  dataDirGiven: boolean;
  outDir: string;
  fixtureIfMissing: boolean;
  notebooksDir: string;
  filters: string[];
  /** Interrupt the kernel the first time a cell's output matches this pattern (rehearses an interrupt). */
  interruptAt?: string;
}

const USAGE =
  "usage: npm run workbook -- [--preset coursework|quick|smoke] [--data DATASET_DIR] [--out DIR] [--fixture-if-missing] [--notebooks DIR] [--interrupt-at PATTERN] [NOTEBOOK_PREFIX...]";

function parseOptions(argv: string[]): Options {
  const args = parseArgs(
    argv,
    { values: ["preset", "data", "out", "notebooks", "interrupt-at"], flags: ["fixture-if-missing"], positionals: true },
    USAGE,
  );
  if (args.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const paths = workbookPaths();
  const data = args.values["data"];
  return {
    preset: args.values["preset"] !== undefined ? parsePreset(args.values["preset"], "--preset") : presetFromEnv(),
    dataDir: data !== undefined ? path.resolve(data) : paths.dataDir,
    dataDirGiven: data !== undefined || Boolean(process.env[ENV.dataDir]),
    outDir: args.values["out"] !== undefined ? path.resolve(args.values["out"]) : paths.outDir,
    fixtureIfMissing: args.flags["fixture-if-missing"] === true,
    notebooksDir: args.values["notebooks"] !== undefined ? path.resolve(args.values["notebooks"]) : path.join(PROJECT_DIR, "notebooks"),
    filters: args.positionals,
    ...(args.values["interrupt-at"] !== undefined ? { interruptAt: args.values["interrupt-at"] } : {}),
  };
}

/** The Python of the project's Jupyter environment (.venv, made by jupyter/setup.sh), which has nbclient and nbconvert. */
function findJupyterPython(): string {
  const python = jupyterPython();
  if (fs.existsSync(python)) return python;
  throw new Error(
    `No Jupyter environment: ${python} is missing. Run 'bash jupyter/setup.sh --runner-only' (or 'npm start' or 'npm test'), ` +
      "which creates .venv and installs Jupyter into it with pip.",
  );
}

/** Uses the real dataset when present; otherwise, if allowed, a generated fixture dataset. */
async function resolveDataset(options: Options): Promise<{ dataDir: string; description: string }> {
  if (fs.existsSync(path.join(options.dataDir, CSV_FILE))) {
    return { dataDir: options.dataDir, description: `dataset: real, ${options.dataDir}` };
  }
  if (!options.fixtureIfMissing) {
    const hint = options.dataDirGiven ? "" : ` (the default; set ${ENV.dataDir} or pass --data)`;
    throw new Error(`Dataset not found: no ${CSV_FILE} in ${options.dataDir}${hint}.`);
  }
  const fixtureDir = path.join(options.outDir, "fixture-dataset");
  const films = await writeFixtureDataset(fixtureDir);
  return {
    dataDir: fixtureDir,
    description: `dataset: FIXTURE (${films.length} generated films in ${fixtureDir}); the real dataset was not found at ${options.dataDir}`,
  };
}

function runNotebook(python: string, notebook: string, outDir: string, env: NodeJS.ProcessEnv, interruptAt?: string): Promise<number> {
  return new Promise((resolve) => {
    const extra = interruptAt === undefined ? [] : ["--interrupt-at", interruptAt];
    const child = spawn(python, [path.join(PROJECT_DIR, "jupyter", "run_notebook.py"), notebook, outDir, ...extra], {
      env,
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.on("close", (code) => resolve(code ?? 1));
    child.on("error", (e) => {
      console.error(`  could not start ${python}: ${e.message}`);
      resolve(2);
    });
  });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const python = findJupyterPython();
  const dataset = await resolveDataset(options);
  const notebooksDir = options.notebooksDir;
  const notebooks = fs
    .readdirSync(notebooksDir)
    .filter((f) => f.endsWith(".ipynb") && !f.startsWith("."))
    .filter((f) => options.filters.length === 0 || options.filters.some((p) => f.startsWith(p)))
    .sort();
  if (notebooks.length === 0) throw new Error(`No notebook in ${notebooksDir} matches ${options.filters.join(", ")}`);

  const executedDir = path.join(options.outDir, "notebooks");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: [path.join(PROJECT_DIR, "jupyter"), process.env["JUPYTER_PATH"]].filter(Boolean).join(path.delimiter),
    [ENV.dataDir]: dataset.dataDir,
    [ENV.preset]: options.preset,
    [ENV.outDir]: options.outDir,
  };
  console.log(`workbook: ${notebooks.length} notebook(s), preset ${options.preset}; ${dataset.description}`);
  console.log(`executed notebooks and HTML go to ${executedDir}`);
  if (dataset.dataDir !== DEFAULT_DATA_DIR) console.log(`(${ENV.dataDir}=${dataset.dataDir})`);

  let passed = 0;
  let failed = 0;
  for (const name of notebooks) {
    console.log(`\n== ${name}`);
    const status = await runNotebook(python, path.join(notebooksDir, name), executedDir, env, options.interruptAt);
    if (status === 0) passed++;
    else {
      failed++;
      console.log(`== ${name} FAILED`);
    }
  }
  console.log(`\n${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((e: unknown) => {
  console.error(`workbook: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 2;
});
