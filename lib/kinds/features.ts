/**
 * What the kinds on pretrained features share (./pretrained.ts, ./heads.ts): the films' USE-lite and
 * MobileNetV2 features from the feature cache, the check that the installed encoders are the ones a model was
 * trained on, and the encoders run on films given as raw data.
 */
import * as tf from "@tensorflow/tfjs";
import { FeatureRows, TrainingData, featureInputs, featureTrainingData } from "../data/batches";
import type { Dataset, Film } from "../data/dataset";
import type { DecodedPoster } from "../data/posters";
import type { LoadedSplit } from "../data/split";
import type { TfidfVectorizer } from "../data/tfidf";
import { FilmFeatures, overviewFeatures, posterFeatures } from "../encoders/features";
import { imageFeatures } from "../encoders/mobilenet";
import { EncoderInfo, describeEncoder, installedPackage } from "../encoders/provenance";
import { embedTexts } from "../encoders/use-lite";
import type { ModelInfoBase, TrainedModel } from "../models/model-folder";
import { WorkbookError } from "../runtime/errors";
import { Encoders, RawFilm, RowInputOptions, RowInputs, filmOverview, filmPoster } from "./kind";

/** Which encoders' features a model reads, with their packages' versions; the TF-IDF beside USE-lite when `tfidf`. */
export interface FeatureInfo extends ModelInfoBase {
  encoders: { overview?: EncoderInfo; poster?: EncoderInfo };
  /** The text side also reads the overview's TF-IDF (tfidf.json). */
  tfidf?: boolean;
}

/** The sides a model reads, in its input order: poster features, then USE-lite (then the TF-IDF). */
export interface FeatureSides {
  poster: boolean;
  overview: boolean;
}

export interface PretrainedFeatures {
  overview: FilmFeatures;
  poster: FilmFeatures;
}

/** Every film's USE-lite and MobileNetV2 (at posterSize) features, from the cache (extracted now, once, when missing). */
export async function pretrainedFeatures(
  films: readonly Film[],
  options: { cacheDir: string; posterSize: number; log: (line: string) => void },
): Promise<PretrainedFeatures> {
  return {
    overview: await overviewFeatures(films, { cacheDir: options.cacheDir, log: options.log }),
    poster: await posterFeatures(films, { cacheDir: options.cacheDir, size: options.posterSize, log: options.log }),
  };
}

/** The feature sets a model of these sides reads, in its input order. */
export function featureSets(features: PretrainedFeatures, sides: FeatureSides): FeatureRows[] {
  return [...(sides.poster ? [features.poster] : []), ...(sides.overview ? [features.overview] : [])];
}

/** Training data on the films that have every feature (of both sides: heads train on the joint model's films). */
export function pretrainedTrainingData(
  loaded: LoadedSplit,
  features: PretrainedFeatures,
  tfidf: TfidfVectorizer | undefined,
  log: (line: string) => void,
): TrainingData {
  const data = featureTrainingData(loaded.dataset, loaded.split, [features.poster, features.overview], tfidf);
  if (data.excluded.length > 0)
    log(`${data.excluded.length} film(s) without poster features left out: ${data.excluded.slice(0, 10).join(", ")}`);
  return data;
}

/** Checks that the installed encoder packages are the versions the model was trained on (other features otherwise). */
export function checkEncoderVersions(trained: TrainedModel<FeatureInfo>): void {
  for (const info of [trained.info.encoders.overview, trained.info.encoders.poster]) {
    if (!info) continue;
    const installed = installedPackage(info.package).version;
    if (installed !== info.version) {
      throw new WorkbookError(
        `${trained.dir} was trained on ${describeEncoder(info)} features, but ${info.package} ${installed} is installed: ` +
          "install the version the model was trained with, or retrain it",
      );
    }
  }
}

/**
 * Checks that the encoders loaded for a film (from the installed packages, or the files the page's server serves from
 * them) are the versions the model was trained on: what checkEncoderVersions checks, without asking the disk.
 */
export function checkLoadedEncoders(trained: TrainedModel<FeatureInfo>, encoders: Encoders, sides: FeatureSides): void {
  const pairs = [
    ...(sides.poster ? [{ trainedOn: trained.info.encoders.poster, loaded: encoders.image?.info }] : []),
    ...(sides.overview ? [{ trainedOn: trained.info.encoders.overview, loaded: encoders.sentence?.info }] : []),
  ];
  for (const { trainedOn, loaded } of pairs) {
    if (!trainedOn || !loaded) continue;
    if (loaded.version !== trainedOn.version) {
      throw new WorkbookError(
        `${trained.dir} was trained on ${describeEncoder(trainedOn)} features, but ${loaded.package} ${loaded.version} is loaded: ` +
          "install the version the model was trained with, or retrain it",
      );
    }
  }
}

/** info.json's encoders, checked for the sides the kind reads. */
export function checkEncoderInfo(info: FeatureInfo, file: string, sides: FeatureSides): void {
  const encoders = info.encoders as FeatureInfo["encoders"] | undefined;
  if (typeof encoders !== "object" || encoders === null)
    throw new WorkbookError(`${file}: a model on pretrained features needs "encoders"`);
  if (sides.overview && typeof encoders.overview !== "object") throw new WorkbookError(`${file}: "encoders" needs "overview"`);
  if (sides.poster && typeof encoders.poster !== "object") throw new WorkbookError(`${file}: "encoders" needs "poster"`);
}

/** The encoders a model of these sides needs for films given as raw data. */
export function encodersNeeded(info: FeatureInfo, sides: FeatureSides): { image?: number; sentence?: boolean } {
  return {
    ...(sides.poster ? { image: info.encoders.poster?.inputSize ?? 224 } : {}),
    ...(sides.overview ? { sentence: true } : {}),
  };
}

/** Batched prediction inputs: the features of every film of the dataset (the cache its training run wrote), for `rows`. */
export async function featureRowInputs(
  trained: TrainedModel<FeatureInfo>,
  dataset: Dataset,
  rows: readonly number[],
  options: RowInputOptions,
  sides: FeatureSides,
): Promise<RowInputs> {
  checkEncoderVersions(trained);
  const log = options.log;
  const overview = sides.overview ? await overviewFeatures(dataset.films, { cacheDir: options.cacheDir, log }) : undefined;
  const poster = sides.poster
    ? await posterFeatures(dataset.films, { cacheDir: options.cacheDir, size: trained.info.encoders.poster?.inputSize ?? 224, log })
    : undefined;
  const sets = [...(poster ? [poster] : []), ...(overview ? [overview] : [])];
  const features = featureInputs(dataset, sets, sides.overview ? trained.tfidf : undefined);
  const kept = rows.filter((r) => features.has(r));
  const wanted = new Set(rows.map((r) => (dataset.films[r] as Film).id));
  const inputs = (indices: readonly number[]) => {
    const x = features.inputs(indices.map((i) => kept[i] as number));
    return x.length === 1 ? (x[0] as tf.Tensor) : x;
  };
  return { rows: kept, inputs, skipped: (poster?.skipped ?? []).filter((p) => wanted.has(p.id)) };
}

/**
 * The model's inputs for films given as raw data: each distinct poster and overview goes through its encoder
 * once (an explanation's variants share the other side), in the model's input order.
 */
export async function featureFilmInputs(
  trained: TrainedModel<FeatureInfo>,
  films: readonly RawFilm[],
  encoders: Encoders,
  sides: FeatureSides,
): Promise<tf.Tensor | tf.Tensor[]> {
  checkLoadedEncoders(trained, encoders, sides);
  const inputs: tf.Tensor[] = [];
  if (sides.poster) {
    if (!encoders.image) throw new WorkbookError(`${trained.dir} reads posters through MobileNetV2: load it first (encoders.image)`);
    const posters = films.map(filmPoster);
    const unique = [...new Set(posters)];
    const rows = await imageFeatures(encoders.image, unique);
    inputs.push(expandRows(rows, unique, posters));
  }
  if (sides.overview) {
    if (!encoders.sentence) throw new WorkbookError(`${trained.dir} reads overviews through USE-lite: load it first (encoders.sentence)`);
    const texts = films.map(filmOverview);
    const unique = [...new Set(texts)];
    inputs.push(expandRows(await embedTexts(encoders.sentence, unique), unique, texts));
    if (trained.tfidf) inputs.push(tf.tensor2d(trained.tfidf.transform(texts).toDense(), [texts.length, trained.tfidf.features]));
  }
  return inputs.length === 1 ? (inputs[0] as tf.Tensor) : inputs;
}

/** Rows computed once per distinct item, laid out for every item of `all` (row-major). */
function expandRows<T extends DecodedPoster | string>(rows: Float32Array, unique: readonly T[], all: readonly T[]): tf.Tensor2D {
  const dims = rows.length / Math.max(1, unique.length);
  const index = new Map(unique.map((u, i) => [u, i]));
  const out = new Float32Array(all.length * dims);
  all.forEach((item, i) => {
    const r = index.get(item) as number;
    out.set(rows.subarray(r * dims, (r + 1) * dims), i * dims);
  });
  return tf.tensor2d(out, [all.length, dims]);
}
