/**
 * The argument and the options several commands take, defined once: the same value name, choices and type
 * everywhere (`<kind>`, `--model MODEL_DIR`, `--preset coursework|quick|smoke`, `--data DATASET_DIR`); each command
 * says in its own words what the option means to it.
 */
import { KIND_IDS } from "../kinds/registry";
import { ENV, PRESET_NAMES } from "../runtime/config";

/** `<kind>`: one model kind of the registry. */
export const KIND_ARGUMENT = {
  name: "<kind>",
  description: `the model kind: ${KIND_IDS.join(", ")}`,
  count: "one",
  choices: KIND_IDS,
} as const;

/** `--model MODEL_DIR`, required: the model folder the command reads. */
export const MODEL_OPTION = { type: "string", value: "MODEL_DIR", required: true, description: "the model folder" } as const;

/** `--model MODEL_DIR` (or `--out`), optional: a model folder, as the command says. */
export function modelFolderOption(description: string) {
  return { type: "string", value: "MODEL_DIR", description } as const;
}

/** `--preset coursework|quick|smoke`: which preset, as the command says. */
export function presetOption(description: string) {
  return { type: "string", value: "PRESET", choices: PRESET_NAMES, description } as const;
}

/** `--data DATASET_DIR`: the dataset folder; by default, the one IMDB_DATA_DIR names. */
export function dataOption(description = `the dataset folder (default ${ENV.dataDir})`) {
  return { type: "string", value: "DATASET_DIR", description } as const;
}
