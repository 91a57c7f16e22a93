/**
 * `npm run tune -- <kind> [--preset P] --trials N [--minutes M] [--space FILE.json] [--name NAME] [--min-epochs N]
 * [--max-epochs N] [--eta N] [--seed N] [--random]`: a hyperparameter search (lib/tune/) from the terminal, with
 * a line per evaluation, the trials table at the end and the best settings as a config change. The search lives
 * in out/tune/<preset>/<kind>-<name>; running the same command again continues it (Ctrl-C stops after the
 * current batch and keeps every finished evaluation).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { KIND_IDS, isKindId, kindConfig } from "../kinds/registry";
import { describeBackend, selectBackend } from "../runtime/backend";
import { ENV, checkPathName, parsePreset, presetFromEnv } from "../runtime/config";
import { WorkbookError } from "../runtime/errors";
import { terminalProgress } from "../train/progress";
import { bestTrial, trialStatus } from "../tune/search";
import { SearchSpace, describeSettings } from "../tune/space";
import { DEFAULT_SPACES } from "../tune/spaces";
import { tune } from "../tune/tune";
import { bestChange, trialsTable } from "../workbook/tune";
import { integerOption, parseArgs } from "./args";

const USAGE = `usage: npm run tune -- <${KIND_IDS.join("|")}> [--preset coursework|quick|smoke] --trials N [--minutes M] [--space SPACE.json] [--name NAME] [--min-epochs N] [--max-epochs N] [--eta N] [--seed N] [--random] [--data DATASET_DIR]`;

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

async function main(): Promise<void> {
  const args = parseArgs(
    process.argv.slice(2),
    {
      values: ["preset", "trials", "minutes", "space", "name", "min-epochs", "max-epochs", "eta", "seed", "data"],
      flags: ["random"],
      positionals: true,
    },
    USAGE,
  );
  if (args.help) return console.log(USAGE);
  const [kind, ...extra] = args.positionals;
  if (kind === undefined || !isKindId(kind))
    throw new WorkbookError(`${kind === undefined ? "which model?" : `unknown model '${kind}'`}\n${USAGE}`);
  if (extra.length > 0) throw new WorkbookError(`unexpected argument ${extra[0]}\n${USAGE}`);
  // refused before the backend starts; searchDir checks it again for callers from a notebook
  if (args.values["name"] !== undefined) checkPathName(args.values["name"], "the search's name (--name)");
  const trials = integerOption(args, "trials", 1, USAGE);
  if (trials === undefined) throw new WorkbookError(`--trials is required\n${USAGE}`);
  const minutesText = args.values["minutes"];
  const minutes = minutesText === undefined ? undefined : Number(minutesText);
  if (minutes !== undefined && !(minutes > 0)) throw new WorkbookError(`--minutes must be a number above 0, got ${minutesText}\n${USAGE}`);
  const preset = args.values["preset"] === undefined ? presetFromEnv() : parsePreset(args.values["preset"], "--preset");
  const spaceFile = args.values["space"];
  const space = spaceFile === undefined ? DEFAULT_SPACES[kind] : readSpace(path.resolve(spaceFile));
  if (!space) throw new WorkbookError(`there is no default search space for ${kind}: give one with --space FILE.json`);
  const env = { ...process.env, ...(args.values["data"] === undefined ? {} : { [ENV.dataDir]: path.resolve(args.values["data"]) }) };

  console.log(describeBackend(await selectBackend()));
  const config = kindConfig(kind, { preset, env });
  const minEpochs = integerOption(args, "min-epochs", 1, USAGE);
  const maxEpochs = integerOption(args, "max-epochs", 1, USAGE);
  const eta = integerOption(args, "eta", 2, USAGE);
  const seed = integerOption(args, "seed", 0, USAGE);
  let running = "";
  const { dir, state } = await tune({
    config,
    space,
    trials,
    ...(minEpochs === undefined ? {} : { minEpochs }),
    ...(maxEpochs === undefined ? {} : { maxEpochs }),
    ...(eta === undefined ? {} : { eta }),
    ...(seed === undefined ? {} : { seed }),
    ...(minutes === undefined ? {} : { minutes }),
    ...(args.values["name"] === undefined ? {} : { name: args.values["name"] }),
    method: args.flags["random"] ? "random" : "halving",
    progress: () => terminalProgress(),
    events: {
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
    },
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

main().catch((e: unknown) => {
  console.error(`tune: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
