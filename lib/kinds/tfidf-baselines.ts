/**
 * The text baselines of notebook 05, on the TF-IDF of the overview (unigrams and bigrams, fitted on the training
 * overviews): a logistic regression (the bar a deep text model has to clear), and the joint model's TF-IDF
 * trunk with its own output (what the joint model is without the poster). Trained by the same lifecycle as
 * every model, so their figures are comparable with every other model's.
 */
import { overviewInputs, overviewTrainingData } from "../data/batches";
import type { Film } from "../data/dataset";
import { TfidfVectorizer } from "../data/tfidf";
import { buildLogisticRegression, buildTfidfMlp } from "../models/baselines";
import { ModelInfoBase, TFIDF_JSON, overviewEncoder } from "../models/model-folder";
import { KindSpec, filmOverview } from "./kind";
import { LINEAR_PRESETS, TEXT_BRANCH_PRESETS, TfidfBaselineSettings, trainingSeed } from "./presets";
import { configuredLoss, preparedRun, runInfo, startRun, trainingOverviews } from "./runs";

export interface TfidfBaselineInfo extends ModelInfoBase {
  kind: "linear" | "text-branch";
}

function tfidfBaseline(id: "linear" | "text-branch"): KindSpec<TfidfBaselineInfo, TfidfBaselineSettings> {
  return {
    id,
    title: id === "linear" ? "TF-IDF + logistic regression" : "TF-IDF MLP (the joint model's text branch, no poster)",
    reads: { poster: false, overview: true },
    role: id,
    trainedBy: { notebook: "05-fusion", command: id },
    presets: id === "linear" ? LINEAR_PRESETS : TEXT_BRANCH_PRESETS,

    async prepare(settings, context) {
      const start = await startRun(settings, context, id);
      const { loaded, log } = start;
      const tfidf = TfidfVectorizer.fit(trainingOverviews(loaded), {
        minDf: settings.minDf,
        maxFeatures: settings.maxFeatures,
        bigrams: settings.bigrams,
      });
      log(`TF-IDF: ${tfidf.features} terms (in >= ${tfidf.minDf} training overviews)`);
      const genres = loaded.dataset.genres.length;
      const model =
        settings.hidden > 0
          ? buildTfidfMlp(tfidf.features, genres, { hidden: settings.hidden, l2: settings.l2, seed: trainingSeed(settings) })
          : buildLogisticRegression(tfidf.features, genres, { l2: settings.l2 });
      const data = overviewTrainingData(loaded.dataset, tfidf, loaded.split);
      const loss = configuredLoss(settings, loaded, log);
      const info: TfidfBaselineInfo = runInfo(id, settings, start, context);
      return preparedRun(start, id, { model, data, settings, info, loss, tfidf });
    },

    requiredFiles: () => [{ file: TFIDF_JSON, what: "TF-IDF vocabulary" }],
    checkInfo() {},

    async rowInputs(trained, dataset, rows) {
      return {
        rows: [...rows],
        inputs: overviewInputs(
          overviewEncoder(trained),
          rows.map((r) => (dataset.films[r] as Film).overview),
        ),
        skipped: [],
      };
    },

    async filmInputs(trained, films) {
      const texts = films.map(filmOverview);
      return overviewInputs(overviewEncoder(trained), texts)(texts.map((_, i) => i));
    },
  };
}

export const LINEAR_KIND = tfidfBaseline("linear");
export const TEXT_BRANCH_KIND = tfidfBaseline("text-branch");
