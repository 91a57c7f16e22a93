/**
 * `npm run predict` (options: COMMAND below, `--help`) prints each film's top genres with their probabilities.
 */
import * as path from "node:path";
import { Predictions, predictFilm, predictFilms, predictionRow } from "../eval/inference";
import { topK } from "../eval/metrics";
import { selectBackend } from "../runtime/backend";
import { workbookPaths } from "../runtime/config";
import { loadDataset, describeProblems } from "../data/dataset";
import { kindSpec, loadModel } from "../kinds/registry";
import { CommandSpec, ParsedCommand, UsageError, runCommand } from "./args";
import { dataOption, MODEL_OPTION } from "./options";

const COMMAND = {
  name: "predict",
  summary:
    "Prints each film's top genres with their probabilities: one film given by its poster and/or overview, or every film of a dataset.",
  options: {
    model: MODEL_OPTION,
    poster: { type: "string", value: "FILE", description: "one film's poster (JPEG)" },
    overview: { type: "string", value: "TEXT", description: "one film's overview" },
    data: dataOption("every film of this dataset folder"),
    top: { type: "integer", min: 1, description: "genres printed per film (default 3)" },
    json: { type: "boolean", description: "one JSON line per film; the other lines go to stderr" },
  },
  notes: ["Give one of --poster, --overview, --data; a model that reads both (a joint model) takes --poster and --overview."],
} as const satisfies CommandSpec;

async function main({ values }: ParsedCommand<typeof COMMAND.options>): Promise<void> {
  const modelDirArg = values.model;
  const inputs = (["poster", "overview", "data"] as const).filter((k) => values[k] !== undefined);
  const posterAndOverview = inputs.length === 2 && inputs.includes("poster") && inputs.includes("overview");
  if (inputs.length !== 1 && !posterAndOverview) {
    throw new UsageError("give one of --poster, --overview, --data (a joint model: --poster and --overview)");
  }
  const top = values.top ?? 3;
  const log = values.json ? (line: string) => console.error(line) : (line: string) => console.log(line);

  await selectBackend({ log: () => undefined });
  const trained = await loadModel(path.resolve(modelDirArg));
  const genres = trained.info.genres;
  const print = (id: string, probabilities: ArrayLike<number>) => {
    const ranked = topK(probabilities, genres, top);
    if (values.json)
      console.log(JSON.stringify({ id, top: ranked.map((r) => ({ genre: r.genre, probability: Number(r.probability.toFixed(6)) })) }));
    else console.log(`${id}: ${ranked.map((r) => `${r.genre} ${r.probability.toFixed(3)}`).join(", ")}`);
  };

  if (values.data === undefined) {
    const posterFile = values.poster === undefined ? undefined : path.resolve(values.poster);
    const overview = values.overview;
    const film = { ...(posterFile !== undefined ? { posterFile } : {}), ...(overview !== undefined ? { overview } : {}) };
    print(posterFile ?? "overview", await predictFilm(trained, film, (l) => console.error(l)));
  } else {
    const dataset = loadDataset(path.resolve(values.data), { checkPosters: kindSpec(trained).reads.poster });
    log(describeProblems(dataset, 10));
    const predictions: Predictions = await predictFilms(
      trained,
      dataset,
      dataset.films.map((_, i) => i),
      { cacheDir: workbookPaths().cacheDir, log },
    );
    predictions.ids.forEach((id, i) => print(id, predictionRow(predictions, i)));
  }
}

void runCommand(COMMAND, main);
