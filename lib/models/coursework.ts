/**
 * The coursework's two models, layer for layer: the poster CNN (functional API, 3,464,601 parameters) and
 * the overview BiLSTM (sequential, 4,303,129 parameters with a 10,000-word vocabulary), each a trunk of
 * ./branches.ts plus the template's head. Layer names follow the template so that summaries read the same.
 */
import * as tf from "@tensorflow/tfjs";
import { BRANCH_SIZES, applyLayers, lstmOverviewTrunk, posterTrunk } from "./branches";
import { seededKernels } from "./initializers";

export interface CnnOptions {
  /** Posters are size x size x 3 (coursework: 64). */
  imageSize?: number;
  genres?: number;
  /** Seed of the weight initialisers, for reproducible runs. */
  seed?: number;
}

/** The poster trunk, then Dense(genres, sigmoid) "Output". */
export function buildCnn(options: CnnOptions = {}): tf.LayersModel {
  const size = options.imageSize ?? 64;
  const kernel = seededKernels(options.seed);
  const input = tf.input({ shape: [size, size, 3], name: "Input" });
  const features = applyLayers(input, posterTrunk(BRANCH_SIZES.coursework, { kernel }));
  const output = tf.layers
    .dense({ name: "Output", units: options.genres ?? 25, activation: "sigmoid", kernelInitializer: kernel() })
    .apply(features) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: "poster_cnn" });
}

export interface LstmOptions {
  /** Vocabulary size including '' and '[UNK]' (coursework: 10,000). */
  vocabularySize?: number;
  embeddingSize?: number;
  genres?: number;
  /**
   * Fixed sequence length, or undefined for batches padded to their longest overview (the coursework's
   * default). Masking (mask_zero) makes the two give the same result for the same text.
   */
  sequenceLength?: number;
  seed?: number;
}

/** The BiLSTM trunk, then dropout 0.8 and Dense(genres, sigmoid). */
export function buildLstm(options: LstmOptions = {}): tf.Sequential {
  const kernel = seededKernels(options.seed);
  const sizes = { ...BRANCH_SIZES.coursework, embedding: options.embeddingSize ?? BRANCH_SIZES.coursework.embedding };
  const trunk = lstmOverviewTrunk(sizes, {
    vocabularySize: options.vocabularySize ?? 10000,
    kernel,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    sequential: options.sequenceLength === undefined ? {} : { sequenceLength: options.sequenceLength },
  });
  return tf.sequential({
    name: "overview_lstm",
    layers: [
      ...trunk,
      tf.layers.dropout({ name: "dropout", rate: 0.8 }),
      tf.layers.dense({ name: "dense_1", units: options.genres ?? 25, activation: "sigmoid", kernelInitializer: kernel() }),
    ],
  });
}

/** model.summary() as text lines (tfjs prints it; notebooks and commands capture it). */
export function summaryLines(model: tf.LayersModel): string[] {
  const lines: string[] = [];
  model.summary(110, undefined, (line: string) => lines.push(line));
  return lines;
}
