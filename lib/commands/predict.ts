/**
 * `npm run predict -- --model DIR (--poster FILE | --overview TEXT | --data DATASET_DIR) [--top 3] [--json]`
 * prints each film's top genres with their probabilities.
 */
import * as path from "node:path";
import { Predictions, predictFilm, predictFilms, predictionRow } from "../eval/inference";
import { topK } from "../eval/metrics";
import { selectBackend } from "../runtime/backend";
import { workbookPaths } from "../runtime/config";
import { loadDataset, describeProblems } from "../data/dataset";
import { kindSpec, loadModel } from "../kinds/registry";
import { integerOption, parseArgs } from "./args";

const USAGE =
  "usage: npm run predict -- --model MODEL_DIR (--poster FILE | --overview TEXT | --poster FILE --overview TEXT | --data DATASET_DIR) [--top 3] [--json]";

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { values: ["model", "poster", "overview", "data", "top"], flags: ["json"] }, USAGE);
  const modelDirArg = args.values["model"];
  const inputs = ["poster", "overview", "data"].filter((k) => args.values[k] !== undefined);
  const posterAndOverview = inputs.length === 2 && inputs.includes("poster") && inputs.includes("overview");
  if (!modelDirArg || (inputs.length !== 1 && !posterAndOverview)) {
    throw new Error(`give --model and one of --poster, --overview, --data (a joint model: --poster and --overview)\n${USAGE}`);
  }
  const top = integerOption(args, "top", 1, USAGE) ?? 3;
  const log = args.flags["json"] ? (line: string) => console.error(line) : (line: string) => console.log(line);

  await selectBackend({ log: () => undefined });
  const trained = await loadModel(path.resolve(modelDirArg));
  const genres = trained.info.genres;
  const print = (id: string, probabilities: ArrayLike<number>) => {
    const ranked = topK(probabilities, genres, top);
    if (args.flags["json"])
      console.log(JSON.stringify({ id, top: ranked.map((r) => ({ genre: r.genre, probability: Number(r.probability.toFixed(6)) })) }));
    else console.log(`${id}: ${ranked.map((r) => `${r.genre} ${r.probability.toFixed(3)}`).join(", ")}`);
  };

  if (args.values["data"] === undefined) {
    const posterFile = args.values["poster"] === undefined ? undefined : path.resolve(args.values["poster"]);
    const overview = args.values["overview"];
    const film = { ...(posterFile !== undefined ? { posterFile } : {}), ...(overview !== undefined ? { overview } : {}) };
    print(posterFile ?? "overview", await predictFilm(trained, film, (l) => console.error(l)));
  } else {
    const dataset = loadDataset(path.resolve(args.values["data"] as string), { checkPosters: kindSpec(trained).reads.poster });
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

main().catch((e: unknown) => {
  console.error(`predict: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
