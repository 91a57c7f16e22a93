/**
 * `npm run validate` (options: COMMAND below, `--help`): checks a dataset folder before training on it:
 * the CSV (columns, every row, its encoding, its quoting), the genre columns, and that every poster decodes.
 * Prints the same report the notebooks print, every problem on its own line with its file, line and Id.
 * Exits 1 when something is fatal (the dataset cannot be used), 0 otherwise.
 */
import * as path from "node:path";
import { DatasetError, describeProblems, loadDataset } from "../data/dataset";
import { PosterError, decodePoster } from "../data/posters";
import { ENV } from "../runtime/config";
import { progressPrinter } from "../runtime/progress";
import { CommandSpec, ParsedCommand, UsageError, runCommand } from "./args";
import { dataOption } from "./options";

const COMMAND = {
  name: "validate",
  summary:
    "Checks a dataset folder before training on it: the CSV (columns, every row, its encoding, its quoting), the genre columns, and that every poster decodes. Every problem on its own line with its file, line and Id; status 1 when the dataset cannot be used.",
  options: {
    data: dataOption(),
    "skip-posters": { type: "boolean", description: "check the CSV only" },
  },
} as const satisfies CommandSpec;

async function main({ values }: ParsedCommand<typeof COMMAND.options>): Promise<number> {
  const dir = values.data ?? process.env[ENV.dataDir];
  if (!dir) throw new UsageError(`give the dataset folder with --data (or set ${ENV.dataDir})`);
  let dataset;
  try {
    dataset = loadDataset(path.resolve(dir));
  } catch (error) {
    if (error instanceof DatasetError) {
      console.log(error.message);
      return 1;
    }
    throw error;
  }
  console.log(describeProblems(dataset, Infinity));
  if (values["skip-posters"]) return 0;

  const progress = progressPrinter("decoding posters", 0.1);
  const unreadable: { id: string; reason: string }[] = [];
  for (let i = 0; i < dataset.films.length; i++) {
    const film = dataset.films[i] as { id: string; posterFile: string };
    try {
      await decodePoster(film.posterFile);
    } catch (error) {
      if (!(error instanceof PosterError)) throw error;
      unreadable.push({ id: film.id, reason: `${film.posterFile}: ${error.reason}` });
    }
    progress(i + 1, dataset.films.length);
  }
  for (const p of unreadable) console.log(`  skip: poster of ${p.id} cannot be read (${p.reason}); the film is left out of poster models`);
  const usable = dataset.films.length - unreadable.length;
  console.log(
    `${usable} of the ${dataset.rowsRead} films are usable for every model` +
      (unreadable.length > 0 ? `; ${unreadable.length} have an unreadable poster (usable for overview models only)` : ""),
  );
  return 0;
}

void runCommand(COMMAND, main);
