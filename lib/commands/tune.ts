/**
 * `npm run tune -- <kind> --trials N` (options: COMMAND below, `--help`): a hyperparameter search (lib/tune/) from the terminal, with
 * a line per evaluation, the trials table at the end and the best settings as a config change. The search lives
 * in out/tune/<preset>/<kind>-<name>; running the same command again continues it (Ctrl-C stops after the
 * current batch and keeps every finished evaluation).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { KindId, kindConfig } from "../kinds/registry";
import { describeBackend, selectBackend } from "../runtime/backend";
import { ENV, checkPathName, presetFromEnv } from "../runtime/config";
import { WorkbookError } from "../runtime/errors";
import { terminalProgress } from "../train/progress";
import { SearchEvents, bestTrial, trialStatus } from "../tune/search";
import { SearchSpace, describeSettings } from "../tune/space";
import { DEFAULT_SPACES } from "../tune/spaces";
import { tune } from "../tune/tune";
import { bestChange, trialsTable } from "../workbook/tune";
import { CommandSpec, ParsedCommand, UsageError, runCommand } from "./args";
import { dataOption, KIND_ARGUMENT, presetOption } from "./options";

const COMMAND = {
  name: "tune",
  summary:
    "A hyperparameter search from the terminal: a line per evaluation, the trials table at the end and the best settings as a change to the config cell. The search lives in out/tune/<preset>/<kind>-<name>; the same command again continues it (Ctrl-C stops after the current batch and keeps every finished evaluation).",
  positionals: KIND_ARGUMENT,
  options: {
    preset: presetOption("the preset searched around (default WORKBOOK_PRESET, else quick)"),
    trials: { type: "integer", min: 1, required: true, description: "trials drawn from the space" },
    minutes: { type: "string", value: "M", description: "stop after this many minutes (a number above 0)" },
    space: { type: "string", value: "SPACE.json", description: "the search space (default: the kind's own, where it has one)" },
    name: { type: "string", value: "NAME", description: "the search's name, part of its folder (default search)" },
    "min-epochs": { type: "integer", min: 1, description: "epochs of the first rung" },
    "max-epochs": { type: "integer", min: 1, description: "epochs of the last rung (default the preset's)" },
    eta: { type: "integer", min: 2, description: "each rung keeps the best 1/eta of the trials, at eta times the epochs (default 3)" },
    seed: { type: "integer", min: 0, description: "seed of the trials drawn (default the preset's)" },
    random: { type: "boolean", description: "random search: every trial at the most epochs, no halving" },
    data: dataOption(),
  },
} as const satisfies CommandSpec;

function readSpace(file: string): SearchSpace {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new WorkbookError(`--space ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text) as SearchSpace;
  } catch (e) {
    throw new WorkbookError(`--space ${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** A line when a trial starts a rung, and one with its figures when it is evaluated. */
function printedEvents(): SearchEvents {
  let running = "";
  return {
    onStart(trial, rung, epochs) {
      running = trial.id;
      console.log(`tune: ${trial.id}, rung ${rung + 1}, ${epochs} epoch(s): ${describeSettings(trial.settings)}`);
    },
    onEvaluation(s) {
      const trial = s.trials.find((t) => t.id === running);
      const e = trial?.evaluations.at(-1);
      if (trial && e) {
        console.log(
          `tune: ${trial.id}: best val_loss ${e.bestValLoss.toFixed(4)} (epoch ${e.bestEpoch}), micro F1 ${e.microF1?.toFixed(4)}, macro F1 ${e.macroF1?.toFixed(4)}, ${e.minutes.toFixed(1)} min; ${trialStatus(s, trial)}`,
        );
      }
    },
  };
}

async function main({ values, positionals }: ParsedCommand<typeof COMMAND.options>): Promise<void> {
  const kind = positionals[0] as KindId;
  // refused before the backend starts; searchDir checks it again for callers from a notebook
  if (values.name !== undefined) checkPathName(values.name, "the search's name (--name)");
  const trials = values.trials;
  const minutesText = values.minutes;
  const minutes = minutesText === undefined ? undefined : Number(minutesText);
  if (minutes !== undefined && !(minutes > 0)) throw new UsageError(`--minutes must be a number above 0, got '${minutesText}'`);
  const preset = values.preset ?? presetFromEnv();
  const spaceFile = values.space;
  const space = spaceFile === undefined ? DEFAULT_SPACES[kind] : readSpace(path.resolve(spaceFile));
  if (!space) throw new WorkbookError(`there is no default search space for ${kind}: give one with --space FILE.json`);
  const env = { ...process.env, ...(values.data === undefined ? {} : { [ENV.dataDir]: path.resolve(values.data) }) };

  console.log(describeBackend(await selectBackend()));
  const config = kindConfig(kind, { preset, env });
  const minEpochs = values["min-epochs"];
  const maxEpochs = values["max-epochs"];
  const eta = values.eta;
  const seed = values.seed;
  const { dir, state } = await tune({
    config,
    space,
    trials,
    ...(minEpochs === undefined ? {} : { minEpochs }),
    ...(maxEpochs === undefined ? {} : { maxEpochs }),
    ...(eta === undefined ? {} : { eta }),
    ...(seed === undefined ? {} : { seed }),
    ...(minutes === undefined ? {} : { minutes }),
    ...(values.name === undefined ? {} : { name: values.name }),
    method: values.random ? "random" : "halving",
    progress: () => terminalProgress(),
    events: printedEvents(),
  });
  const { columns, rows } = trialsTable(state);
  console.log(`\n${columns.join(" | ")}\n${rows.map((r) => r.join(" | ")).join("\n")}`);
  const best = bestTrial(state);
  const change = bestChange(state, config);
  if (best && change) {
    console.log(
      `\nbest: ${best.trial.id} (${describeSettings(best.trial.settings)}): val_loss ${best.evaluation.bestValLoss.toFixed(4)} after ${best.evaluation.epochs} epoch(s); its model: ${best.evaluation.dir}`,
    );
    console.log(`as a change to the config cell:\n${change.text}`);
  }
  console.log(`the search is in ${dir}${state.stopped ? `; stopped: ${state.stopped}` : ""}`);
}

void runCommand(COMMAND, main);
