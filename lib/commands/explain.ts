/**
 * `npm run explain` (options: COMMAND below, `--help`): why the
 * model gives a film its genres. Writes one self-contained HTML page (the poster's heat map per genre, the
 * overview with each word shaded by its effect, every genre's probability) that opens in a browser without a
 * server. Without --genre: the model's two most probable genres.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { decodePoster } from "../data/posters";
import { explainFilm } from "../eval/explain";
import { freeEncoders, loadEncoders, overviewToRead, predictFilm } from "../eval/inference";
import { topK } from "../eval/metrics";
import { kindSpec, loadModel } from "../kinds/registry";
import { selectBackend } from "../runtime/backend";
import { WorkbookError } from "../runtime/errors";
import { cardScale, explanationCardHtml, explanationCardText, modelView } from "../workbook/explanations";
import { escapeHtml, htmlTable } from "../workbook/html";
import { CommandSpec, ParsedCommand, runCommand, usageLine } from "./args";
import { MODEL_OPTION } from "./options";

const COMMAND = {
  name: "explain",
  summary:
    "Why the model gives a film its genres: one self-contained HTML page (the poster's heat map per genre, the overview with each word shaded by its effect, every genre's probability) that opens in a browser without a server.",
  options: {
    model: MODEL_OPTION,
    poster: { type: "string", value: "FILE", description: "the film's poster (JPEG), for a model that reads posters" },
    overview: { type: "string", value: '"TEXT"', description: "the film's overview, for a model that reads overviews" },
    genre: { type: "string", value: "GENRE", description: "the genre to explain (default: the model's two most probable)" },
    out: { type: "string", value: "REPORT.html", required: true, description: "the page to write" },
  },
} as const satisfies CommandSpec;

/** The page: the card, every genre's probability, how the card was made. Self-contained: nothing loaded from elsewhere. */
function explanationPage(id: string, card: string, probabilities: ArrayLike<number>, genres: readonly string[], seconds: number): string {
  const probabilityTable = htmlTable({
    style: "font-size:13px",
    scroll: false,
    rows: topK(probabilities, genres, genres.length).map((r) => ({
      cells: [{ html: escapeHtml(r.genre) }, { html: r.probability.toFixed(3), style: "text-align:right" }],
    })),
  });
  return (
    `<!doctype html><html><head><meta charset="utf-8"><title>Why these genres? ${escapeHtml(id)}</title></head>` +
    `<body style="font-family:sans-serif;margin:20px"><h2>Why these genres?</h2>${card}` +
    `<h3>Every genre's probability</h3>${probabilityTable}` +
    `<p style="font-size:12px;color:#666">Poster: occlusion (a grey ${30}-pixel patch slid over the poster; red where hiding it lowers the genre). ` +
    `Overview: each word removed in turn (red words raise the genre, blue words lower it). One colour scale for the card. Explained in ${seconds.toFixed(1)} s.</p></body></html>`
  );
}

async function main({ values }: ParsedCommand<typeof COMMAND.options>): Promise<void> {
  const modelDir = values.model;
  const out = values.out;
  await selectBackend({ log: () => undefined });
  const trained = await loadModel(path.resolve(modelDir));
  const spec = kindSpec(trained);
  const posterFile = values.poster;
  const givenOverview = values.overview;
  const overview = givenOverview === undefined ? undefined : overviewToRead(givenOverview, (line) => console.error(`explain: ${line}`));
  if (spec.reads.poster && posterFile === undefined)
    throw new WorkbookError(
      `${trained.dir} holds a ${spec.id} model, which reads posters: give the film's poster with --poster\n${usageLine(COMMAND)}`,
    );
  if (spec.reads.overview && overview === undefined)
    throw new WorkbookError(
      `${trained.dir} holds a ${spec.id} model, which reads overviews: give the film's overview with --overview\n${usageLine(COMMAND)}`,
    );
  const genre = values.genre;
  if (genre !== undefined && !trained.info.genres.includes(genre)) {
    throw new WorkbookError(`unknown genre '${genre}': the model predicts ${trained.info.genres.join(", ")}`);
  }
  const started = performance.now();
  const poster = posterFile === undefined ? undefined : await decodePoster(path.resolve(posterFile));
  const model = { name: `${spec.id} (${trained.dir})`, trained };
  // the film's true genres are not given: the card says they are unknown and marks no genre right or wrong
  const film = {
    id: posterFile ? path.basename(posterFile) : "overview",
    overview: overview ?? "",
    ...(poster ? { poster } : {}),
  };
  const probabilities = await predictFilm(trained, {
    ...(posterFile !== undefined ? { posterFile: path.resolve(posterFile) } : {}),
    ...(overview !== undefined ? { overview } : {}),
  });
  const genres = genre !== undefined ? [genre] : topK(probabilities, trained.info.genres, 2).map((r) => r.genre);
  const encoders = await loadEncoders([trained]);
  const explanation = await explainFilm(model, film, { genres, maxGenres: genres.length }, encoders);
  const scale = cardScale([explanation], trained.info.genres);
  const view = await modelView(explanation, trained.info.genres, poster, scale);
  freeEncoders(encoders);
  const seconds = (performance.now() - started) / 1000;
  const card = explanationCardHtml(
    { id: film.id, overview: film.overview, ...(posterFile ? { posterPng: fs.readFileSync(path.resolve(posterFile)) } : {}) },
    trained.info.genres,
    [view],
    { scale },
  );
  fs.writeFileSync(path.resolve(out), explanationPage(film.id, card, view.probabilities, trained.info.genres, seconds));
  console.log(explanationCardText(film, trained.info.genres, [view]));
  console.log(
    `${film.id}: ${genres.map((g) => `${g} ${(view.probabilities[trained.info.genres.indexOf(g)] as number).toFixed(3)}`).join(", ")}`,
  );
  console.log(`wrote ${path.resolve(out)} (${seconds.toFixed(1)} s)`);
}

void runCommand(COMMAND, main);
