/**
 * `npm run train -- <kind> [--preset P] [--epochs N] [--training-seed N] [--out DIR] [--data DIR]`: trains a model of
 * any kind (lib/kinds/registry.ts) outside a notebook, into a model folder (default out/models/<preset>/<kind>).
 * --training-seed changes the initial weights, shuffling, dropout and augmentation but not the split (a second run
 * to compare with). Ctrl-C stops after the current batch and keeps the best checkpoint.
 *
 * `--folds K` cross-validates instead (train/cross-validate.ts): K models on K folds of the training films, kept as
 * one ensemble model folder (default out/cross-validation/<preset>/<kind>) whose thresholds come from the
 * out-of-fold probabilities; the validation films are scored with intervals. For the CNN, the BiLSTM and the joint
 * model that trains both it also needs --accept-cost, and says what it will cost first.
 */
import * as path from "node:path";
import { describeBackend, selectBackend } from "../runtime/backend";
import { presetDifferences } from "../kinds/presets";
import type { RunContext } from "../kinds/kind";
import { KIND_IDS, isKindId, kindConfig, kindSpec } from "../kinds/registry";
import { checkFolds, crossValidate } from "../train/cross-validate";
import { trainRun } from "../train/lifecycle";
import { WorkbookError } from "../runtime/errors";
import { ENV, parsePreset, presetFromEnv, workbookPaths } from "../runtime/config";
import { summaryLines } from "../models/coursework";
import { formatEpochLine, terminalProgress } from "../train/progress";
import { integerOption, parseArgs } from "./args";

const USAGE = `usage: npm run train -- <${KIND_IDS.join("|")}> [--preset coursework|quick|smoke] [--epochs N] [--training-seed N] [--out MODEL_DIR] [--data DATASET_DIR] [--cnn CNN_DIR] [--lstm LSTM_DIR] [--folds K [--accept-cost]]`;

async function main(): Promise<void> {
  const options = parseArgs(
    process.argv.slice(2),
    { values: ["preset", "epochs", "training-seed", "out", "data", "cnn", "lstm", "folds"], flags: ["accept-cost"], positionals: true },
    USAGE,
  );
  if (options.help) return console.log(USAGE);
  const [kind, ...extra] = options.positionals;
  if (kind === undefined || !isKindId(kind))
    throw new WorkbookError(`${kind === undefined ? "which model?" : `unknown model '${kind}'`}\n${USAGE}`);
  if (extra.length > 0) throw new WorkbookError(`unexpected argument ${extra[0]}\n${USAGE}`);
  const preset = options.values["preset"] === undefined ? presetFromEnv() : parsePreset(options.values["preset"], "--preset");
  const epochs = integerOption(options, "epochs", 1, USAGE);
  const trainingSeed = integerOption(options, "training-seed", 0, USAGE);
  const dir = options.values["out"] === undefined ? undefined : path.resolve(options.values["out"]);
  const env = { ...process.env, ...(options.values["data"] === undefined ? {} : { [ENV.dataDir]: path.resolve(options.values["data"]) }) };

  const folds = options.values["folds"];
  if (folds === undefined && options.flags["accept-cost"]) throw new WorkbookError(`--accept-cost goes with --folds\n${USAGE}`);

  const backend = await selectBackend();
  console.log(describeBackend(backend));
  const override = { ...(epochs === undefined ? {} : { epochs }), ...(trainingSeed === undefined ? {} : { trainingSeed }) };
  if (folds !== undefined) {
    if (options.values["cnn"] !== undefined || options.values["lstm"] !== undefined)
      throw new WorkbookError(
        `--cnn and --lstm do not go with --folds (each fold trains its own branches' weights from the preset's)\n${USAGE}`,
      );
    // a number such as 2.5, 1 or "five" is refused with the reason (checkFolds), before any data is read
    const k = checkFolds(/^\s*-?\d+(\.\d*)?\s*$/.test(folds) ? Number(folds) : folds);
    const config = { ...kindConfig(kind, { preset, env }), ...override };
    await crossValidate(config, {
      folds: k,
      acceptCost: options.flags["accept-cost"] === true,
      progress: terminalProgress,
      ...(dir === undefined ? {} : { dir }),
    });
    return;
  }
  const branchDirs = Object.fromEntries(
    (["cnn", "lstm"] as const).filter((k) => options.values[k] !== undefined).map((k) => [k, path.resolve(options.values[k] as string)]),
  );
  const context: RunContext = { paths: workbookPaths(env), preset, backend, branchDirs, ...(dir === undefined ? {} : { dir }) };
  const spec = kindSpec(kind);
  const settings = { ...spec.presets[preset], ...override };
  const differences = presetDifferences(settings, spec.presets.coursework);
  console.log(`${kind}, preset ${preset}: ${differences.length === 0 ? "the preset's coursework settings" : differences.join("; ")}`);
  const run = await spec.prepare(settings, context);
  console.log(summaryLines(run.model).join("\n"));
  console.log(`model folder: ${run.dir}`);

  // trainRun stops after the current batch on Ctrl-C (SIGINT) and keeps the best checkpoint.
  const history = await trainRun(run, { progress: terminalProgress() });
  const best = history.epochs.find((e) => e.epoch === history.bestEpoch);
  if (!best) return; // trainRun said that nothing was kept
  if (history.interrupted) console.log("interrupted: the best checkpoint so far is kept");
  console.log(`best ${formatEpochLine(best, history.epochs.length, true)}`);
  const encoderFile = run.vectorizer ? ", vocabulary.json" : run.tfidf ? ", tfidf.json" : "";
  console.log(
    `wrote ${run.runDir} (model.json + weights of epoch ${history.bestEpoch}, history.json, info.json, thresholds.json${encoderFile}); ${run.dir} points at it`,
  );
}

main().catch((e: unknown) => {
  console.error(`train: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
