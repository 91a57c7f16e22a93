/** `npm run parity`: the workbook checked against Keras itself (lib/parity/run.ts), its options (COMMAND, `--help`) parsed here. */
import * as path from "node:path";
import { DEFAULT_DATA_DIR, ENV } from "../runtime/config";
import type { ParityOptions } from "../parity/checks";
import { runParity } from "../parity/run";
import { CommandSpec, ParsedCommand, runCommand } from "./args";
import { presetOption } from "./options";

const COMMAND = {
  name: "parity",
  summary:
    "The workbook checked against Keras itself: the same layers, losses, metrics and training runs on both sides (peers/keras_parity.py), with a report of every difference.",
  options: {
    data: { type: "string", value: "DIR", description: `the dataset folder (default ${ENV.dataDir}, else ${DEFAULT_DATA_DIR})` },
    preset: presetOption("the preset of the trained models compared (default quick)"),
    epochs: { type: "integer", min: 1, description: "epochs of each training run compared (default 5)" },
    seeds: { type: "integer", min: 2, description: "seeds per side, for the spread between runs (default 3)" },
    "no-training": { type: "boolean", description: "leave out the training runs" },
    sample: { type: "integer", min: 1, description: "posters whose decoding is compared with TensorFlow's, byte for byte (default 500)" },
  },
} as const satisfies CommandSpec;

function parityOptions({ values }: ParsedCommand<typeof COMMAND.options>): ParityOptions {
  return {
    dataDir: values.data !== undefined ? path.resolve(values.data) : process.env[ENV.dataDir] || DEFAULT_DATA_DIR,
    preset: values.preset ?? "quick",
    epochs: values.epochs ?? 5,
    seeds: values.seeds ?? 3,
    training: !values["no-training"],
    sample: values.sample ?? 500,
  };
}

void runCommand(COMMAND, (args) => runParity(parityOptions(args)), { failureCode: 2 });
