/**
 * The coursework BiLSTM (notebook 03): genres from the overview alone, through a vocabulary adapted on the
 * training overviews (Keras TextVectorization).
 */
import { encodeOverviews, orderByLength, overviewInputs, overviewTrainingData } from "../data/batches";
import type { Film } from "../data/dataset";
import { TextVectorizer } from "../data/text";
import { buildLstm } from "../models/coursework";
import { ModelInfoBase, VOCABULARY_JSON, overviewEncoder } from "../models/model-folder";
import { withSeededMathRandomSync } from "../runtime/random";
import { KindSpec, PreparedRun, RunContext, filmOverview } from "./kind";
import { LSTM_PRESETS, LstmSettings, trainingSeed } from "./presets";
import { configuredLoss, preparedRun, runInfo, startRun, trainingOverviews } from "./runs";

export interface LstmInfo extends ModelInfoBase {
  kind: "lstm";
  /** A fixed sequence length, or undefined for batches padded to their longest overview. */
  sequenceLength?: number;
}

/** A prepared LSTM run, with its vocabulary. */
export interface LstmRun extends PreparedRun<LstmSettings, LstmInfo> {
  vectorizer: TextVectorizer;
}

export const LSTM_KIND = {
  id: "lstm",
  title: "LSTM (overview)",
  reads: { poster: false, overview: true },
  role: "overview",
  trainedBy: { notebook: "03-overviews-lstm", command: "lstm" },
  presets: LSTM_PRESETS,
  // the settings that moved the validation loss most while the presets were chosen (docs/results.md), around them
  tuneSpace: {
    learningRate: { logRange: [3e-4, 3e-3] },
    batchSize: { choice: [32, 64] },
    maxTokens: { choice: [5000, 10000, 20000] },
  },
  // the weakest reader of overviews of those that explain words: the word evidence's last choice
  evidence: { words: 4 },
  // a BiLSTM per fold
  costlyToCrossValidate: true,

  async prepare(settings: LstmSettings, context: RunContext): Promise<LstmRun> {
    const start = await startRun(settings, context, "lstm");
    const { loaded, log } = start;
    const config =
      settings.sequenceLength === undefined
        ? { maxTokens: settings.maxTokens }
        : { maxTokens: settings.maxTokens, sequenceLength: settings.sequenceLength };
    const vectorizer = TextVectorizer.adapt(trainingOverviews(loaded), config);
    log(`vocabulary: ${vectorizer.vocabularySize()} entries (max ${settings.maxTokens}), adapted on the training overviews`);
    const data = overviewTrainingData(loaded.dataset, vectorizer, loaded.split, settings.sequenceLength);
    // The LSTM kernels are unseeded (see models/branches.ts): a seeded Math.random makes them reproducible.
    const model = withSeededMathRandomSync(trainingSeed(settings), () =>
      buildLstm({
        vocabularySize: vectorizer.vocabularySize(),
        genres: loaded.dataset.genres.length,
        sequenceLength: settings.sequenceLength,
      }),
    );
    const info: LstmInfo = { ...runInfo("lstm", settings, start, context) };
    if (settings.sequenceLength !== undefined) info.sequenceLength = settings.sequenceLength;
    const loss = configuredLoss(settings, loaded, log);
    return preparedRun(start, "lstm", { model, data, settings, info, loss, vectorizer });
  },

  requiredFiles: () => [{ file: VOCABULARY_JSON, what: "vocabulary" }],

  checkInfo() {},

  async rowInputs(trained, dataset, rows) {
    const overviews = encodeOverviews(
      overviewEncoder(trained),
      rows.map((r) => (dataset.films[r] as Film).overview),
      trained.info.sequenceLength,
    );
    // Overviews in length order: each batch pads to its longest, so similar lengths together pad little.
    const lengthOf = overviews.lengthOf;
    return {
      rows: [...rows],
      inputs: overviews.inputs,
      ...(lengthOf ? { order: orderByLength(rows.map((_, i) => lengthOf(i))) } : {}),
      skipped: [],
    };
  },

  async filmInputs(trained, films) {
    const texts = films.map(filmOverview);
    return overviewInputs(overviewEncoder(trained), texts, trained.info.sequenceLength)(texts.map((_, i) => i));
  },
} satisfies KindSpec<LstmInfo, LstmSettings>;
