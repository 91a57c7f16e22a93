/**
 * The coursework CNN (notebook 02): genres from the poster alone, 64x64 RGB posters in [0, 1].
 */
import * as tf from "@tensorflow/tfjs";
import { augmentTrainingData } from "../data/augment";
import { decodedPosterTensor, posterTrainingData } from "../data/batches";
import type { Dataset, Film } from "../data/dataset";
import { loadFilmPosters, posterBatch, posterIndex } from "../data/posters";
import { buildCnn } from "../models/coursework";
import { ModelInfoBase } from "../models/model-folder";
import { KindSpec, RowInputOptions, RowInputs, filmPoster } from "./kind";
import { CNN_PRESETS, CnnSettings, trainingSeed } from "./presets";
import { configuredLoss, preparedRun, runInfo, startRun } from "./runs";

/** The coursework's poster size, for folders written before info.json recorded it. */
export const DEFAULT_IMAGE_SIZE = 64;

export interface CnnInfo extends ModelInfoBase {
  kind: "cnn";
  /** Posters are imageSize x imageSize. */
  imageSize: number;
}

/**
 * The preprocessed posters (through the cache) of dataset rows as a model input; films whose poster cannot be
 * read are left out and reported in `skipped`.
 */
export async function posterRowInputs(
  dataset: Dataset,
  rows: readonly number[],
  size: number,
  options: RowInputOptions,
): Promise<Omit<RowInputs, "inputs"> & { inputs: (indices: readonly number[]) => tf.Tensor4D }> {
  const posters = await loadFilmPosters(
    rows.map((r) => dataset.films[r] as Film),
    { size, cacheDir: options.cacheDir, log: options.log },
  );
  const index = posterIndex(posters);
  const kept = rows.filter((r) => index.has((dataset.films[r] as Film).id));
  return {
    rows: kept,
    inputs: (indices) =>
      tf.tensor4d(
        posterBatch(
          posters,
          indices.map((i) => index.get((dataset.films[kept[i] as number] as Film).id) as number),
        ),
        [indices.length, size, size, 3],
      ),
    skipped: posters.skipped,
  };
}

export const CNN_KIND: KindSpec<CnnInfo, CnnSettings> = {
  id: "cnn",
  title: "CNN (poster)",
  reads: { poster: true, overview: false },
  role: "poster",
  trainedBy: { notebook: "02-posters-cnn", command: "cnn" },
  presets: CNN_PRESETS,
  // the settings that moved the validation loss most while the presets were chosen (docs/results.md), around them
  tuneSpace: {
    learningRate: { logRange: [1e-4, 3e-3] },
    batchSize: { choice: [32, 64, 128] },
  },
  // the coursework CNN is the poster evidence's first choice: the poster alone decides its genres
  evidence: { posters: 1 },
  // a poster CNN per fold
  costlyToCrossValidate: true,

  async prepare(settings, context) {
    const start = await startRun(settings, context, "cnn");
    const { loaded, log } = start;
    const posters = await loadFilmPosters(loaded.dataset.films, { size: settings.imageSize, cacheDir: context.paths.cacheDir, log });
    const posterData = posterTrainingData(loaded.dataset, posters, loaded.split);
    if (posterData.excluded.length > 0)
      log(`${posterData.excluded.length} film(s) without a usable poster left out: ${posterData.excluded.slice(0, 10).join(", ")}`);
    const data = settings.augment ? augmentTrainingData(posterData, { seed: trainingSeed(settings) }) : posterData;
    if (settings.augment)
      log("training posters augmented: random horizontal flip, brightness and contrast jitter (seeded; validation untouched)");
    const model = buildCnn({ imageSize: settings.imageSize, genres: loaded.dataset.genres.length, seed: trainingSeed(settings) });
    const info: CnnInfo = { ...runInfo("cnn", settings, start, context), imageSize: settings.imageSize };
    const loss = configuredLoss(settings, loaded, log);
    return preparedRun(start, "cnn", { model, data, settings, info, loss });
  },

  requiredFiles: () => [],

  checkInfo(info) {
    info.imageSize ??= DEFAULT_IMAGE_SIZE;
  },

  rowInputs: (trained, dataset, rows, options) => posterRowInputs(dataset, rows, trained.info.imageSize, options),

  async filmInputs(trained, films) {
    return decodedPosterTensor(films.map(filmPoster), trained.info.imageSize);
  },
};
