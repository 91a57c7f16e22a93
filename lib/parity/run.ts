/**
 * What `npm run parity` runs: the workbook checked against Keras itself. The workbook computes each check's side here and
 * writes it to an exchange folder (out/parity/exchange); peers/keras_parity.py computes the same with Keras 3 and
 * TensorFlow (CPU) from its own pinned environment (.venv-peers, peers/setup.sh) and compares. The report, one row
 * per check with its tolerance and the measured difference, goes to docs/PARITY.md (and docs/parity.json, which
 * notebook 04 shows with the training curves).
 *
 *   npm run parity -- [--data DIR] [--preset quick] [--epochs N] [--seeds N] [--no-training] [--sample N]
 *
 * Checks: TextVectorization (vocabulary and every encoding), the poster pipeline (every poster; the decoder's and
 * the resize's shares on a sample), the metrics on a trained model's validation predictions (--preset's CNN and
 * LSTM), one step of the CNN and the BiLSTM from the same weights (outputs, loss, gradients, Adam), and training the
 * coursework's models in both on the same split (--seeds runs each, --epochs epochs; --no-training skips it).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CSV_FILE, loadDataset } from "../data/dataset";
import { LoadedSplit, splitDataset } from "../data/split";
import { writeFixtureDataset } from "../data/fixture";
import { loadPresetModels } from "../kinds/registry";
import { describeBackend, selectBackend } from "../runtime/backend";
import { PROJECT_DIR, workbookPaths } from "../runtime/config";
import { WorkbookError } from "../runtime/errors";
import { ParityRow, datasetNote, parityReport } from "./report";
import { Manifest, ParityOptions, metricCheck, modelCheck, posterCheck, reportRoots, textCheck, workbookTraining } from "./checks";

/** The seed-42 split of the dataset (a generated fixture when it is missing), and how the report names it. */
async function parityData(options: ParityOptions): Promise<{ loaded: LoadedSplit; dataset: string }> {
  let dataDir = options.dataDir;
  let dataset = datasetNote({ dir: dataDir, fixture: false }, reportRoots());
  if (!fs.existsSync(path.join(dataDir, CSV_FILE))) {
    dataDir = path.join(workbookPaths().outDir, "parity", "fixture-dataset");
    await writeFixtureDataset(dataDir);
    dataset = datasetNote({ dir: dataDir, fixture: true, missing: options.dataDir }, reportRoots());
  }
  const loaded = splitDataset(loadDataset(dataDir), { seed: 42, validationFraction: 0.2 }, () => undefined);
  console.log(
    `parity: ${dataset}: ${loaded.dataset.films.length} films, ${loaded.split.train.length} training, ${loaded.split.validation.length} validation`,
  );
  return { loaded, dataset };
}

/** The workbook's side of every check, written to `dir` with its manifest; the training curves by kind. */
async function workbookSide(
  options: ParityOptions,
  loaded: LoadedSplit,
  dir: string,
): Promise<{ kinds: string[]; curves: Record<string, object> }> {
  const manifest: Manifest = { metrics: [], models: [], training: [] };
  manifest.text = textCheck(loaded, dir);
  manifest.posters = await posterCheck(loaded.dataset, options, dir);
  const trained = await loadPresetModels({ outDir: workbookPaths().outDir, preset: options.preset }, ["cnn", "lstm"], {
    log: (l) => console.log(`parity: ${l}`),
  });
  for (const model of trained.found) manifest.metrics.push(await metricCheck(model, loaded, dir));
  for (const kind of ["cnn", "lstm"] as const) manifest.models.push(await modelCheck(kind, loaded, dir));
  const curves: Record<string, object> = {};
  if (options.training) {
    for (const kind of ["cnn", "lstm"] as const) {
      const { spec, histories } = await workbookTraining(kind, loaded, options, dir);
      manifest.training.push(spec);
      curves[kind] = { workbook: histories };
    }
  }
  fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest));
  return { kinds: trained.found.map((m) => m.info.kind), curves };
}

/** Keras's side (peers/keras_parity.py in .venv-peers, set up first) and its comparison rows. */
function kerasSide(dir: string, threads: number): KerasResults {
  const setup = spawnSync("bash", [path.join(PROJECT_DIR, "peers", "setup.sh")], { stdio: "inherit" });
  if (setup.status !== 0) throw new WorkbookError(`peers/setup.sh failed (exit ${setup.status})`);
  const python = path.join(PROJECT_DIR, ".venv-peers", "bin", "python");
  const peer = spawnSync(python, [path.join(PROJECT_DIR, "peers", "keras_parity.py"), dir, String(threads)], {
    cwd: path.join(PROJECT_DIR, "peers"),
    stdio: "inherit",
  });
  if (peer.status !== 0) throw new WorkbookError(`peers/keras_parity.py failed (exit ${peer.status})`);
  return JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8")) as KerasResults;
}

interface KerasResults {
  environment: Record<string, unknown>;
  rows: ParityRow[];
}

/**
 * Runs every parity check: the workbook's side here, Keras's in peers/keras_parity.py, and writes docs/PARITY.md and
 * docs/parity.json. Returns the exit code: 1 when a check differs.
 */
export async function runParity(options: ParityOptions): Promise<number> {
  const started = Date.now();
  const backend = await selectBackend();
  console.log(`parity: ${describeBackend(backend)}`);
  const { loaded, dataset } = await parityData(options);
  const dir = path.join(workbookPaths().outDir, "parity", "exchange");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const { kinds, curves } = await workbookSide(options, loaded, dir);
  const results = kerasSide(dir, backend.threads);
  for (const kind of Object.keys(curves)) {
    const file = path.join(dir, `keras-training-${kind}.json`);
    if (fs.existsSync(file)) curves[kind] = { ...curves[kind], keras: JSON.parse(fs.readFileSync(file, "utf8")) as object };
  }
  const env = results.environment;
  const header = [
    `Written by \`npm run parity\` on ${new Date().toISOString().slice(0, 10)} (${((Date.now() - started) / 60000).toFixed(0)} minutes), on ${dataset}.`,
    `Workbook: ${describeBackend(backend)}. Keras ${String(env["keras"])} on TensorFlow ${String(env["tensorflow"])} (CPU), ${String(env["threads"])} threads.`,
    `Metrics on the validation predictions of the \`${options.preset}\` preset's models (${kinds.join(", ") || "none trained"}); ` +
      (options.training
        ? `training: ${options.seeds} seeds of each model, ${options.epochs} epochs at the coursework's settings otherwise, on the seed-42 split.`
        : "training not run (--no-training)."),
  ];
  const failed = results.rows.filter((r) => r.status === "differs");
  fs.writeFileSync(path.join(PROJECT_DIR, "docs", "PARITY.md"), parityReport(results.rows, header));
  fs.writeFileSync(
    path.join(PROJECT_DIR, "docs", "parity.json"),
    JSON.stringify({ written: new Date().toISOString(), header, environment: env, rows: results.rows, curves }, null, 1),
  );
  const explained = results.rows.filter((r) => r.status === "explained").length;
  console.log(
    `parity: ${results.rows.length - failed.length - explained} of ${results.rows.length} checks within tolerance, ${explained} explained, ${failed.length} differ; wrote docs/PARITY.md and docs/parity.json`,
  );
  return failed.length > 0 ? 1 : 0;
}
