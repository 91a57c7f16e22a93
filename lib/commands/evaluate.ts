/**
 * `npm run evaluate` (options: COMMAND below, `--help`) evaluates a trained model folder on
 * every film of a dataset in the coursework layout (not a split), at threshold 0.5 and at the per-genre
 * thresholds that training tuned on its own validation split (never tuned on the data evaluated here), each headline
 * figure with its 95% bootstrap interval over films (eval/bootstrap.ts; seeded, so reruns print the same).
 */
import * as path from "node:path";
import { Predictions, predictFilms } from "../eval/inference";
import { describeBackend, selectBackend } from "../runtime/backend";
import { saveJson } from "../runtime/files";
import { workbookPaths } from "../runtime/config";
import { Dataset, describeProblems, labelRow, loadDataset } from "../data/dataset";
import { Evaluation, Thresholds, evaluate } from "../eval/metrics";
import { HEADLINE_METRICS, Intervals, bootstrapIntervals } from "../eval/bootstrap";
import { kindSpec, loadModel } from "../kinds/registry";
import { CommandSpec, ParsedCommand, runCommand } from "./args";
import { dataOption, MODEL_OPTION } from "./options";

const COMMAND = {
  name: "evaluate",
  summary:
    "Evaluates a trained model folder on every film of a dataset (not a split), at threshold 0.5 and at the per-genre thresholds its training tuned, each headline figure with its 95% bootstrap interval over films.",
  options: {
    model: MODEL_OPTION,
    data: { ...dataOption("the dataset folder (IMDB_overview_genres.csv and Images/)"), required: true },
    json: { type: "string", value: "OUT_FILE", description: "also write the figures to this JSON file" },
  },
} as const satisfies CommandSpec;

const fmt = (v: number | null | undefined, digits = 4) => (v === null || v === undefined ? "n/a" : v.toFixed(digits));

const RESAMPLES = 2000;

function printIntervals(intervals: Intervals): void {
  const line = HEADLINE_METRICS.map((m) => `${m} ${fmt(intervals[m].estimate)} [${fmt(intervals[m].low)}, ${fmt(intervals[m].high)}]`);
  console.log(`  95% intervals over films (bootstrap, ${RESAMPLES} resamples, seed 0): ${line.join("  ")}`);
}

function printEvaluation(title: string, e: Evaluation): void {
  console.log(`\n${title}`);
  console.log(
    `  films ${e.films}  bce ${fmt(e.bce)}  hamming ${fmt(e.hammingLoss)}  micro P/R/F1 ${fmt(e.microPrecision)}/${fmt(e.microRecall)}/${fmt(e.microF1)}`,
  );
  console.log(
    `  macro F1 ${fmt(e.macroF1)}  weighted F1 ${fmt(e.weightedF1)}  samples F1 ${fmt(e.samplesF1)}  top-1 hit ${fmt(e.top1HitRate)}  top-3 hit ${fmt(e.top3HitRate)}`,
  );
  console.log("  genre          threshold precision recall  f1      support predicted");
  for (const [genre, m] of Object.entries(e.perGenre)) {
    const note = m.noPositives ? "  (no positive film: not in macro)" : "";
    console.log(
      `  ${genre.padEnd(14)} ${fmt(m.threshold, 2).padStart(9)} ${fmt(m.precision).padStart(9)} ${fmt(m.recall).padStart(6)} ${fmt(m.f1).padStart(6)} ${String(m.support).padStart(7)} ${String(m.predicted).padStart(9)}${note}`,
    );
  }
}

/** Every figure at these thresholds, printed with its 95% interval over films; what the JSON report holds for them. */
function scoreAt(
  title: string,
  yTrue: Float32Array,
  yProb: Float32Array,
  genres: readonly string[],
  thresholds: Thresholds,
): Evaluation & { intervals: Intervals } {
  const figures = evaluate(yTrue, yProb, genres, thresholds);
  printEvaluation(title, figures);
  const intervals = bootstrapIntervals(yTrue, yProb, genres.length, thresholds, { resamples: RESAMPLES });
  printIntervals(intervals);
  return { ...figures, intervals };
}

/** The dataset's films that are not in the figures: rows skipped when the CSV was read, films the model could not read. */
function filmsLeftOut(dataset: Dataset, predictions: Predictions): { id: string; file: string; reason: string }[] {
  return [
    ...dataset.problems
      .filter((p) => p.severity === "skip")
      .map((p) => ({ id: p.id ?? `line ${p.line}`, file: p.file, reason: p.message })),
    ...predictions.skipped,
  ];
}

async function main({ values }: ParsedCommand<typeof COMMAND.options>): Promise<void> {
  const backend = await selectBackend({ log: () => undefined });
  console.log(describeBackend(backend));
  const trained = await loadModel(path.resolve(values.model));
  const ensemble = (trained.info as { ensemble?: { folds: number; members: { bestEpoch: number }[] } }).ensemble;
  const kept = ensemble
    ? `an ensemble of ${ensemble.folds} folds, epochs kept ${ensemble.members.map((m) => m.bestEpoch).join(", ")}`
    : `best epoch ${trained.info.bestEpoch ?? "?"}`;
  console.log(`model: ${trained.dir} (${trained.info.kind}, preset ${trained.info.preset}, ${kept})`);
  const dataset = loadDataset(path.resolve(values.data), { checkPosters: kindSpec(trained).reads.poster });
  console.log(describeProblems(dataset, 10));

  const predictions = await predictFilms(
    trained,
    dataset,
    dataset.films.map((_, i) => i),
    { cacheDir: workbookPaths().cacheDir },
  );
  const skippedFilms = filmsLeftOut(dataset, predictions);
  if (skippedFilms.length > 0) {
    console.log(`\n${skippedFilms.length} film(s) of the dataset are not in these figures:`);
    for (const f of skippedFilms) console.log(`  skipped ${f.id}: ${f.reason}`);
  }
  const rowOf = new Map(dataset.films.map((f, i) => [f.id, i]));
  const genres = trained.info.genres;
  const yTrue = new Float32Array(predictions.ids.length * genres.length);
  predictions.ids.forEach((id, i) => yTrue.set(labelRow(dataset, rowOf.get(id) as number), i * genres.length));

  const atHalf = scoreAt("at threshold 0.5", yTrue, predictions.probabilities, genres, 0.5);
  const report: Record<string, unknown> = {
    model: trained.dir,
    kind: trained.info.kind,
    dataset: dataset.dir,
    ...atHalf,
    skipped: skippedFilms,
  };
  if (trained.thresholds) {
    const { tunedOn, films, thresholds } = trained.thresholds;
    const title = `at the per-genre thresholds tuned on the training run's ${tunedOn} (${films} films)`;
    report["tuned"] = scoreAt(title, yTrue, predictions.probabilities, genres, thresholds);
  } else {
    console.log(`\nno thresholds.json in ${trained.dir}: tuned-threshold figures not available (retrain to create it)`);
  }
  if (values.json) {
    await saveJson(path.resolve(values.json), report);
    console.log(`\nwrote ${path.resolve(values.json)}`);
  }
}

void runCommand(COMMAND, main);
