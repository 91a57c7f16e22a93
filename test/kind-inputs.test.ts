import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { loadDataset } from "../lib/data/dataset";
import type { Film } from "../lib/data/dataset";
import { writeFixtureDataset } from "../lib/data/fixture";
import { decodePoster } from "../lib/data/posters";
import { freeEncoders, loadEncoders, predictFilms, predictionRow } from "../lib/eval/inference";
import type { RawFilm } from "../lib/kinds/kind";
import { KIND_IDS, kindConfig, kindSpec, loadModel, prepareRun } from "../lib/kinds/registry";
import { selectBackend } from "../lib/runtime/backend";
import { trainRun } from "../lib/train/lifecycle";
import { silentProgress } from "../lib/train/progress";

/**
 * Every kind of the registry reads a film two ways: as dataset rows (rowInputs: batched prediction, evaluate,
 * the leaderboards, from the caches) and as a raw film (filmInputs: predict, explain, from a decoded poster and
 * an overview). Both must give the model the same inputs, so the same prediction. Each kind is prepared on a
 * fixture dataset at the smoke preset and trained for its smoke epochs into its preset's folder (in the
 * registry's order, so the joint model finds the CNN it starts from), then loaded from disk as the commands do.
 */
describe("kinds: a film's prediction is the same from dataset rows and as a raw film, for every kind", function () {
  this.timeout(900000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kind-inputs-"));
  const env = {
    IMDB_DATA_DIR: path.join(dir, "dataset"),
    WORKBOOK_CACHE_DIR: path.join(dir, "cache"),
    WORKBOOK_OUT_DIR: path.join(dir, "out"),
  };

  let previous: string | undefined;
  before(async () => {
    // the backend the commands would use (WORKBOOK_BACKEND respected), whatever an earlier test left active (cpu: 70x slower)
    previous = tf.getBackend();
    await selectBackend();
    await writeFixtureDataset(env.IMDB_DATA_DIR, { films: 30, seed: 5 });
  });
  after(async () => {
    if (previous !== undefined) await tf.setBackend(previous);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const kind of KIND_IDS) {
    it(`${kind}: rowInputs and filmInputs give the same probabilities to 1e-5`, async () => {
      const spec = kindSpec(kind);
      const run = await prepareRun(kindConfig(kind, { preset: "smoke", env }), { log: () => undefined });
      await trainRun(run, { progress: silentProgress(), log: () => undefined });
      const trained = await loadModel(run.dir);
      const dataset = loadDataset(env.IMDB_DATA_DIR);
      const rows = dataset.films.map((_, i) => i);

      const byRows = await predictFilms(trained, dataset, rows, { cacheDir: env.WORKBOOK_CACHE_DIR, log: () => undefined });
      assert.equal(byRows.ids.length, dataset.films.length, "every fixture film is predicted from its row");

      const raw: RawFilm[] = [];
      for (const film of dataset.films as Film[]) {
        raw.push({
          ...(spec.reads.poster ? { poster: await decodePoster(film.posterFile) } : {}),
          ...(spec.reads.overview ? { overview: film.overview } : {}),
        });
      }
      const encoders = await loadEncoders([trained]);
      let asFilms: Float32Array;
      try {
        const inputs = await spec.filmInputs(trained, raw, encoders);
        const output = trained.model.predict(inputs) as tf.Tensor;
        asFilms = (await output.data()) as Float32Array;
        tf.dispose([output, ...(Array.isArray(inputs) ? inputs : [inputs])]);
      } finally {
        freeEncoders(encoders);
      }

      const g = trained.info.genres.length;
      const ids = (dataset.films as Film[]).map((f) => f.id);
      let largest = 0;
      byRows.ids.forEach((id, i) => {
        const fromRow = predictionRow(byRows, i);
        const fromFilm = asFilms.subarray(ids.indexOf(id) * g, (ids.indexOf(id) + 1) * g);
        for (let j = 0; j < g; j++) largest = Math.max(largest, Math.abs((fromRow[j] as number) - (fromFilm[j] as number)));
      });
      assert.ok(largest <= 1e-5, `${kind}: the two paths differ by up to ${largest}`);
      // the model is not a constant: the films' probabilities differ, so equal paths are a real check
      const spread = Math.max(...Array.from(asFilms.subarray(0, g), (p, j) => Math.abs(p - (asFilms[g + j] as number))));
      assert.ok(spread > 1e-6, `${kind}: two films get different probabilities`);
    });
  }
});
