/**
 * `npm run parity`: the workbook checked against Keras itself (lib/parity/run.ts), its options parsed here.
 *
 *   npm run parity -- [--data DIR] [--preset quick] [--epochs N] [--seeds N] [--no-training] [--sample N]
 */
import * as path from "node:path";
import { DEFAULT_DATA_DIR, ENV, parsePreset } from "../runtime/config";
import type { ParityOptions } from "../parity/checks";
import { runParity } from "../parity/run";
import { integerOption, parseArgs } from "./args";

const USAGE =
  "usage: npm run parity -- [--data DIR] [--preset coursework|quick|smoke] [--epochs N] [--seeds N] [--no-training] [--sample N]";
function parseOptions(argv: string[]): ParityOptions {
  const args = parseArgs(argv, { values: ["data", "preset", "epochs", "seeds", "sample"], flags: ["no-training"] }, USAGE);
  if (args.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    dataDir: args.values["data"] !== undefined ? path.resolve(args.values["data"]) : process.env[ENV.dataDir] || DEFAULT_DATA_DIR,
    preset: args.values["preset"] !== undefined ? parsePreset(args.values["preset"], "--preset") : "quick",
    epochs: integerOption(args, "epochs", 1, USAGE) ?? 5,
    seeds: integerOption(args, "seeds", 2, USAGE) ?? 3,
    training: args.flags["no-training"] !== true,
    sample: integerOption(args, "sample", 1, USAGE) ?? 500,
  };
}

runParity(parseOptions(process.argv.slice(2))).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    console.error(`parity: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 2;
  },
);
