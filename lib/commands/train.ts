/**
 * `npm run train -- <kind>` (options: COMMAND below, `--help`): trains a model of
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
import { KindId, kindConfig, prepareRun } from "../kinds/registry";
import { crossValidate } from "../train/cross-validate";
import { trainRun } from "../train/lifecycle";
import { ENV, presetFromEnv } from "../runtime/config";
import { summaryLines } from "../models/coursework";
import { formatEpochLine, terminalProgress } from "../train/progress";
import { startNotebook } from "../workbook/notebook";
import { CommandSpec, ParsedCommand, UsageError, runCommand } from "./args";
import { dataOption, KIND_ARGUMENT, modelFolderOption, presetOption } from "./options";

const COMMAND = {
  name: "train",
  summary:
    "Trains a model of any kind outside a notebook, into a model folder (default out/models/<preset>/<kind>). Ctrl-C stops after the current batch and keeps the best checkpoint.",
  positionals: KIND_ARGUMENT,
  options: {
    preset: presetOption("the preset's settings (default WORKBOOK_PRESET, else quick)"),
    epochs: { type: "integer", min: 1, description: "epochs instead of the preset's" },
    "training-seed": {
      type: "integer",
      min: 0,
      description: "changes the initial weights, shuffling, dropout and augmentation but not the split (a second run to compare with)",
    },
    out: modelFolderOption("the model folder (default out/models/<preset>/<kind>)"),
    data: dataOption(),
    cnn: { type: "string", value: "CNN_DIR", description: "fusion: the trained CNN to start from (default the preset's)" },
    lstm: { type: "string", value: "LSTM_DIR", description: "fusion: the trained LSTM to start from (default the preset's)" },
    folds: {
      type: "integer",
      value: "K",
      min: 2,
      description: "cross-validate instead: K models on K folds of the training films, kept as one ensemble model folder",
    },
    "accept-cost": {
      type: "boolean",
      description: "with --folds, for the CNN, the BiLSTM and the joint model: train them (the cost is said first)",
    },
  },
  notes: ["--folds does not go with --cnn or --lstm (each fold trains its own branches' weights from the preset's)."],
} as const satisfies CommandSpec;

async function main({ values, positionals }: ParsedCommand<typeof COMMAND.options>): Promise<void> {
  const kind = positionals[0] as KindId;
  const preset = values.preset ?? presetFromEnv();
  const epochs = values.epochs;
  const trainingSeed = values["training-seed"];
  const dir = values.out === undefined ? undefined : path.resolve(values.out);
  const env = { ...process.env, ...(values.data === undefined ? {} : { [ENV.dataDir]: path.resolve(values.data) }) };
  const folds = values.folds;
  if (folds === undefined && values["accept-cost"]) throw new UsageError("--accept-cost goes with --folds");
  if (folds !== undefined && (values.cnn !== undefined || values.lstm !== undefined))
    throw new UsageError("--cnn and --lstm do not go with --folds (each fold trains its own branches' weights from the preset's)");

  const backend = await selectBackend();
  console.log(describeBackend(backend));
  const override = { ...(epochs === undefined ? {} : { epochs }), ...(trainingSeed === undefined ? {} : { trainingSeed }) };
  if (folds !== undefined) {
    const config = { ...kindConfig(kind, { preset, env }), ...override };
    await crossValidate(config, {
      folds,
      acceptCost: values["accept-cost"],
      progress: terminalProgress,
      ...(dir === undefined ? {} : { dir }),
    });
    return;
  }
  const branchDirs = Object.fromEntries(
    (["cnn", "lstm"] as const).filter((k) => values[k] !== undefined).map((k) => [k, path.resolve(values[k] as string)]),
  );
  // the run starts as a notebook's does: the preset's settings with the options' changes, said in one line, then prepared
  const config = startNotebook(kind, override, { preset, env, changesMade: "on the command line" });
  const run = await prepareRun(config, { backend, branchDirs, ...(dir === undefined ? {} : { dir }) });
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

void runCommand(COMMAND, main);
