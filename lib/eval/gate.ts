/**
 * Reading a joint model's gate (notebooks 05 and 06): how much each film and each genre leans on the poster vs
 * the overview. workbook/gate.ts shows it.
 */
import * as tf from "@tensorflow/tfjs";
import type { MakeBatch } from "../data/batches";
import { labelMatrix } from "../data/dataset";
import { GMU_LAYER } from "../models/fusion";
import { GatedMultimodalUnit } from "../models/gmu";
import type { PreparedRun } from "../kinds/kind";
import { batchedOutputs, predictInOneCall } from "./inference";

type SymbolicTensor = tf.SymbolicTensor;

/** The model's GatedMultimodalUnit (the one named "gmu", else the only one). */
export function gmuLayer(model: tf.LayersModel): GatedMultimodalUnit {
  const gmus = model.layers.filter((l): l is GatedMultimodalUnit => l instanceof GatedMultimodalUnit);
  const layer = gmus.find((l) => l.name === GMU_LAYER) ?? (gmus.length === 1 ? gmus[0] : undefined);
  if (layer === undefined)
    throw new Error(
      `${model.name}: ${gmus.length === 0 ? "no GatedMultimodalUnit layer (a 'concat' fusion model has no gate)" : "several GMU layers"}`,
    );
  return layer;
}

const gateInputModels = new WeakMap<tf.LayersModel, tf.LayersModel>();

/** A model sharing `model`'s layers whose outputs are the GMU's two inputs [h_v, h_t]. */
function gateInputModel(model: tf.LayersModel): tf.LayersModel {
  let sub = gateInputModels.get(model);
  if (sub === undefined) {
    const gmu = gmuLayer(model);
    sub = tf.model({ inputs: model.inputs, outputs: gmu.input as SymbolicTensor[], name: `${model.name}_gate_inputs` });
    gateInputModels.set(model, sub);
  }
  return sub;
}

/**
 * The gate z (batch x units) for inputs [posters, overview ids], inference mode (dropout off): z[i][k] is
 * the weight of the poster in dimension k of film i's fused representation (1 - z that of the overview).
 * Works on built and on loaded models. The caller disposes the result.
 */
export function gateActivations(model: tf.LayersModel, inputs: tf.Tensor[]): tf.Tensor2D {
  const sub = gateInputModel(model);
  const gmu = gmuLayer(model);
  return tf.tidy(() => {
    const [hv, ht] = predictInOneCall(sub, inputs) as tf.Tensor[];
    return gmu.parts(hv as tf.Tensor, ht as tf.Tensor).gate;
  });
}

export interface GateMatrix {
  /** films x units, row-major. */
  values: Float32Array;
  films: number;
  units: number;
}

/**
 * gateActivations over many rows, batch by batch, with a joint model's MakeBatch (its inputs must be
 * [posters, overviews]; labels are ignored). Rows in the given order.
 */
export async function gateActivationsForRows(
  model: tf.LayersModel,
  rows: readonly number[],
  makeBatch: MakeBatch,
  batchSize = 64,
): Promise<GateMatrix> {
  const units = gmuLayer(model).units;
  const inputsOf = (start: number, end: number) => {
    const batch = makeBatch(rows.slice(start, end));
    return Array.isArray(batch.inputs) ? batch.inputs : [batch.inputs];
  };
  const values = await batchedOutputs(rows.length, units, inputsOf, (inputs) => gateActivations(model, inputs as tf.Tensor[]), batchSize);
  return { values, films: rows.length, units };
}

export interface GenreLean {
  genre: string;
  /** Films (of those given) having the genre. */
  films: number;
  /** Mean over those films of the film's poster share (mean z over units); NaN when films = 0. */
  posterShare: number;
  /**
   * Mean over those films of z averaged with the weights |Output kernel[k, genre]|: the poster share of
   * the dimensions this genre's output actually reads. NaN when films = 0 or no kernel was given.
   */
  outputWeightedPosterShare: number;
}

export interface GateSummary {
  films: number;
  units: number;
  /** Per film: mean of z over the units, in [0, 1] (1 = the fused vector comes from the poster only). */
  filmPosterShare: Float32Array;
  /** Per unit: mean of z over the films. */
  unitPosterShare: Float32Array;
  /** Mean of filmPosterShare. */
  overall: number;
  /** Per genre, in output order. */
  genres: GenreLean[];
}

/**
 * Summarises a gate matrix (gateActivationsForRows) per film and per genre.
 *
 *   film poster share  s_f = mean_k z[f][k]
 *   genre lean         L_g = mean of s_f over the films f whose TRUE labels include g
 *   output-weighted    W_g = mean over the same films of sum_k |w_kg| z[f][k] / sum_k |w_kg|, w = the Output
 *                            layer's kernel (units x genres): the output of genre g reads dimension k with
 *                            weight w_kg, so dimensions that matter to g count more.
 *
 * 0.5 means "even"; above, the genre's films lean on the poster, below, on the overview. The gate is an
 * input-dependent mixing weight, not an attribution: tanh(h_v') and tanh(h_t') also differ in size.
 *
 * labels: films x genres (0/1), row-major, rows in the gate's order. outputKernel: optional, units x
 * genres, row-major (outputKernelOf(model)).
 */
export function summariseGate(
  gate: GateMatrix,
  labels: ArrayLike<number>,
  genreNames: readonly string[],
  outputKernel?: ArrayLike<number>,
): GateSummary {
  const { films, units, values } = gate;
  const g = genreNames.length;
  if (labels.length !== films * g) throw new Error(`summariseGate: ${labels.length} labels for ${films} films x ${g} genres`);
  if (outputKernel !== undefined && outputKernel.length !== units * g)
    throw new Error(`summariseGate: output kernel has ${outputKernel.length} values, expected ${units} x ${g}`);
  const filmPosterShare = new Float32Array(films);
  const unitPosterShare = new Float32Array(units);
  let overall = 0;
  for (let f = 0; f < films; f++) {
    let s = 0;
    for (let k = 0; k < units; k++) {
      const z = values[f * units + k] as number;
      s += z;
      unitPosterShare[k] = (unitPosterShare[k] as number) + z / films;
    }
    filmPosterShare[f] = s / units;
    overall += s / units / films;
  }
  const genres: GenreLean[] = genreNames.map((genre, j) => {
    let weights: Float64Array | undefined;
    if (outputKernel !== undefined) {
      weights = new Float64Array(units);
      let total = 0;
      for (let k = 0; k < units; k++) total += Math.abs(outputKernel[k * g + j] as number);
      for (let k = 0; k < units; k++) weights[k] = total > 0 ? Math.abs(outputKernel[k * g + j] as number) / total : 1 / units;
    }
    let n = 0;
    let share = 0;
    let weighted = 0;
    for (let f = 0; f < films; f++) {
      if (!labels[f * g + j]) continue;
      n++;
      share += filmPosterShare[f] as number;
      if (weights !== undefined) {
        let w = 0;
        for (let k = 0; k < units; k++) w += (weights[k] as number) * (values[f * units + k] as number);
        weighted += w;
      }
    }
    return {
      genre,
      films: n,
      posterShare: n > 0 ? share / n : NaN,
      outputWeightedPosterShare: n > 0 && weights !== undefined ? weighted / n : NaN,
    };
  });
  return { films, units, filmPosterShare, unitPosterShare, overall: films > 0 ? overall : NaN, genres };
}

/** The "Output" layer's kernel (units x genres, row-major), for summariseGate's output-weighted lean. */
export function outputKernelOf(model: tf.LayersModel): Float32Array {
  const kernel = model.getLayer("Output").getWeights()[0];
  if (kernel === undefined) throw new Error(`${model.name}: the Output layer has no kernel`);
  return kernel.dataSync() as Float32Array;
}

/** summariseGate over a joint model run's validation films, with the films' Ids in the gate's order. */
export async function gateSummary(run: PreparedRun): Promise<GateSummary & { ids: string[] }> {
  const rows = run.data.validation;
  const gate = await gateActivationsForRows(run.model, rows, run.data.makeBatch);
  const summary = summariseGate(gate, labelMatrix(run.dataset, rows), run.dataset.genres, outputKernelOf(run.model));
  return { ...summary, ids: rows.map((r) => (run.dataset.films[r] as { id: string }).id) };
}

/** The ids of the k films leaning most on the poster and the k leaning most on the overview. */
export function leaningFilms(summary: GateSummary & { ids: readonly string[] }, k: number): { poster: string[]; overview: string[] } {
  const ids = summary.ids;
  const order = Array.from(summary.filmPosterShare, (share, i) => ({ share, id: ids[i] as string })).sort((a, b) => b.share - a.share);
  return {
    poster: order.slice(0, k).map((f) => f.id),
    overview: order
      .slice(-k)
      .reverse()
      .map((f) => f.id),
  };
}
