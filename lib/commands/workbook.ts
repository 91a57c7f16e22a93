/**
 * `npm run workbook`: executes every notebook in notebooks/ in order, headless, on the project's tslab
 * kernel, and writes each executed notebook (signed) and its HTML export to the output folder (options: COMMAND
 * below, `--help`).
 *
 * NAME filters notebooks by prefix (e.g. `01`). The dataset and preset reach the notebooks through
 * IMDB_DATA_DIR and WORKBOOK_PRESET, read in each notebook's first cell. While a cell runs, its latest
 * progress line is echoed (jupyter/run_notebook.py). --interrupt-at interrupts the kernel, as the interrupt
 * button does, the first time a cell's output matches PATTERN (a regular expression), and goes on with the
 * next cells: it rehearses an interrupted training cell. --cells LIST runs only those code cells (numbered as the
 * runner prints them, e.g. 1,10,12-15) of each notebook in a fresh kernel, as a user does after a restart.
 * --entry-points runs, after the notebooks, every entry point they document (./entry-points.ts) in a fresh kernel.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_DATA_DIR, ENV, PROJECT_DIR, PresetName, jupyterPython, presetFromEnv, workbookPaths } from "../runtime/config";
import { CSV_FILE } from "../data/dataset";
import { writeFixtureDataset } from "../data/fixture";
import { CommandSpec, ParsedCommand, UsageError, runCommand } from "./args";
import { dataOption, presetOption } from "./options";
import { cellList, entryPoints } from "./entry-points";

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
  /** Run only these code cells, in a fresh kernel (the runner's --cells syntax). */
  cells?: string;
  /** After the notebooks, run each documented entry point in a fresh kernel. */
  entryPoints: boolean;
}

const COMMAND = {
  name: "workbook",
  summary:
    "Executes every notebook in notebooks/ in order, headless, on the project's tslab kernel, and writes each executed notebook (signed) and its HTML export to the output folder. The dataset and preset reach the notebooks through IMDB_DATA_DIR and WORKBOOK_PRESET.",
  positionals: {
    name: "NOTEBOOK_PREFIX",
    description: "run only the notebooks whose names start with one of these (e.g. 01)",
    count: "any",
  },
  options: {
    preset: presetOption("the notebooks' preset (default WORKBOOK_PRESET, else quick)"),
    data: dataOption(`the dataset folder (default ${ENV.dataDir}, else ${DEFAULT_DATA_DIR})`),
    out: { type: "string", value: "DIR", description: "the output folder (default WORKBOOK_OUT_DIR, else out/)" },
    "fixture-if-missing": { type: "boolean", description: "without the dataset, a generated fixture dataset instead of an error" },
    notebooks: { type: "string", value: "DIR", description: "the notebooks' folder (default notebooks/)" },
    "interrupt-at": {
      type: "string",
      value: "PATTERN",
      description:
        "interrupt the kernel the first time a cell's output matches this regular expression, and go on (rehearses an interrupted cell)",
    },
    cells: {
      type: "string",
      value: "LIST",
      description: "run only these code cells (e.g. 1,10,12-15) of each notebook, in a fresh kernel",
    },
    "entry-points": { type: "boolean", description: "after the notebooks, run every entry point they document, each in a fresh kernel" },
  },
  notes: ["--cells and --entry-points do not go together."],
} as const satisfies CommandSpec;

function parseOptions({ values, positionals }: ParsedCommand<typeof COMMAND.options>): Options {
  const paths = workbookPaths();
  const data = values.data;
  const cells = values.cells;
  if (cells !== undefined && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(cells)) {
    throw new UsageError(`--cells ${cells}: expected code cell numbers such as 1,10 or 12-15`);
  }
  if (cells !== undefined && values["entry-points"]) throw new UsageError("--cells and --entry-points do not go together");
  return {
    preset: values.preset ?? presetFromEnv(),
    dataDir: data !== undefined ? path.resolve(data) : paths.dataDir,
    dataDirGiven: data !== undefined || Boolean(process.env[ENV.dataDir]),
    outDir: values.out !== undefined ? path.resolve(values.out) : paths.outDir,
    fixtureIfMissing: values["fixture-if-missing"],
    notebooksDir: values.notebooks !== undefined ? path.resolve(values.notebooks) : path.join(PROJECT_DIR, "notebooks"),
    filters: positionals,
    ...(values["interrupt-at"] !== undefined ? { interruptAt: values["interrupt-at"] } : {}),
    ...(cells !== undefined ? { cells } : {}),
    entryPoints: values["entry-points"],
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

function runNotebook(
  python: string,
  notebook: string,
  outDir: string,
  env: NodeJS.ProcessEnv,
  options: { interruptAt?: string; cells?: string; saveAs?: string } = {},
): Promise<number> {
  return new Promise((resolve) => {
    const extra = [
      ...(options.interruptAt === undefined ? [] : ["--interrupt-at", options.interruptAt]),
      ...(options.cells === undefined ? [] : ["--cells", options.cells, "--save-as", options.saveAs ?? "cells"]),
    ];
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

/** How the notebooks run: the runner's Python, the notebooks' folder, where executed notebooks go, their environment. */
interface Runner {
  python: string;
  notebooksDir: string;
  executedDir: string;
  env: NodeJS.ProcessEnv;
}

/** Runs each notebook (whole, or the chosen cells in a fresh kernel); the names of those that passed, and how many failed. */
async function runNotebooks(runner: Runner, notebooks: string[], options: Options): Promise<{ passed: string[]; failed: number }> {
  const passed: string[] = [];
  let failed = 0;
  for (const name of notebooks) {
    const stem = name.replace(/\.ipynb$/, "");
    const cells = options.cells;
    console.log(`\n== ${name}${cells !== undefined ? `, code cells ${cells} in a fresh kernel` : ""}`);
    const status = await runNotebook(runner.python, path.join(runner.notebooksDir, name), runner.executedDir, runner.env, {
      ...(options.interruptAt !== undefined ? { interruptAt: options.interruptAt } : {}),
      ...(cells !== undefined ? { cells, saveAs: `${stem}.cells-${cells.replace(/,/g, "_")}` } : {}),
    });
    if (status === 0) passed.push(name);
    else {
      failed++;
      console.log(`== ${name} FAILED`);
    }
  }
  console.log(`\n${passed.length} passed, ${failed} failed`);
  return { passed, failed };
}

/** Runs every entry point the notebooks document, each in a fresh kernel; how many failed. */
async function runEntryPoints(runner: Runner, notebooks: string[]): Promise<number> {
  let entryPassed = 0;
  let entryFailed = 0;
  for (const name of notebooks) {
    for (const [entry, cells] of entryPoints(path.join(runner.notebooksDir, name))) {
      const list = cellList(cells);
      console.log(`\n== ${name}, entry point '${entry}': code cells ${list} in a fresh kernel`);
      const stem = name.replace(/\.ipynb$/, "");
      const status = await runNotebook(runner.python, path.join(runner.notebooksDir, name), runner.executedDir, runner.env, {
        cells: list,
        saveAs: `${stem}.entry-${entry}`,
      });
      if (status === 0) entryPassed++;
      else {
        entryFailed++;
        console.log(`== ${name}, entry point '${entry}' FAILED`);
      }
    }
  }
  console.log(`\nentry points: ${entryPassed} passed, ${entryFailed} failed`);
  return entryFailed;
}

async function main(args: ParsedCommand<typeof COMMAND.options>): Promise<number> {
  const options = parseOptions(args);
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

  const runner: Runner = { python, notebooksDir, executedDir, env };
  const { passed, failed } = await runNotebooks(runner, notebooks, options);
  const entryFailed = options.entryPoints ? await runEntryPoints(runner, passed) : 0;
  return failed > 0 || entryFailed > 0 ? 1 : 0;
}

void runCommand(COMMAND, main, { failureCode: 2 });
