/**
 * Posters as 1,285 features: MobileNetV2 as bundled in the npm package nsfwjs (MIT). Its weights were
 * initialised on ImageNet and then fine-tuned to sort images into five content-safety classes (Drawing,
 * Hentai, Neutral, Porn, Sexy): the features describe what such a model looks at, not film genres. We take
 * the 1,280 pooled features (layer flatten_1) and the five class scores (softmax), read in one pass.
 *
 * The Keras layers model and its (uint8-quantised) weights ship as JavaScript modules in the package;
 * they are read from their files (./encoder-files.ts: the package folder in Node, the same files over HTTP in the web
 * page) and evaluated as require would, so nothing is fetched from elsewhere. Preprocessing is nsfwjs's: RGB in [0, 1],
 * bilinear resize with aligned corners to the input size (224, or a smaller multiple of 32: the input
 * layer and the final average pooling are resized to fit; nothing else depends on the size).
 */
import * as tf from "@tensorflow/tfjs";
import type { DecodedPoster } from "../data/posters";
import { ENCODER_PACKAGES, EncoderFiles, PackageFiles, diskEncoderFiles, umdExports } from "./encoder-files";
import type { EncoderInfo } from "./provenance";

export const MOBILENET_PACKAGE = ENCODER_PACKAGES["mobilenet-v2"].package;
const MODEL_MODULE = "model.min.js";
/** The class order of the model's softmax output. */
export const MOBILENET_CLASSES = ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"] as const;
export const MOBILENET_FEATURES = 1280;
/** The pooled features followed by the class scores. */
export const MOBILENET_DIMS = MOBILENET_FEATURES + MOBILENET_CLASSES.length;
export const MOBILENET_INPUT_SIZES = [224, 192, 160, 128, 96] as const;

export interface ImageEncoder {
  info: EncoderInfo;
  /** Outputs [pooled features (n x 1280), class scores (n x 5)]. */
  model: tf.LayersModel;
}

interface KerasLayerJson {
  class_name: string;
  config: Record<string, unknown>;
}

/** The model's JSON (topology and weights manifest), from its module. */
async function bundledModelJson(files: PackageFiles): Promise<tf.io.ModelJSON> {
  return umdExports(await files.text(MODEL_MODULE), files.where(MODEL_MODULE)) as tf.io.ModelJSON;
}

/** Each weights shard's module: the manifest's path with ".min.js". */
const shardModule = (p: string) => `${p}.min.js`;

/** The files MobileNetV2 is read from, by their names in its package folder: the model's module and its shards'. */
export async function imageEncoderFiles(files: PackageFiles = diskEncoderFiles("mobilenet-v2")): Promise<string[]> {
  const json = await bundledModelJson(files);
  return [MODEL_MODULE, ...json.weightsManifest.flatMap((group) => group.paths.map(shardModule))];
}

/** The model's artifacts, read from the package's JavaScript modules, with the input resized to `size`. */
function bundledArtifacts(files: PackageFiles, size: number): tf.io.IOHandler {
  return {
    load: async () => {
      const json = await bundledModelJson(files);
      const shards: Buffer[] = [];
      for (const group of json.weightsManifest) {
        // each shard is a module exporting its bytes in base64
        for (const p of group.paths) {
          const name = shardModule(p);
          shards.push(Buffer.from(umdExports(await files.text(name), files.where(name)) as string, "base64"));
        }
      }
      const weights = Buffer.concat(shards);
      const topology = JSON.parse(JSON.stringify(json.modelTopology)) as { model_config: { config: { layers: KerasLayerJson[] } } };
      if (size !== 224) {
        for (const layer of topology.model_config.config.layers) {
          if (layer.class_name === "InputLayer") layer.config["batch_input_shape"] = [null, size, size, 3];
          if (layer.class_name === "AveragePooling2D") layer.config["pool_size"] = layer.config["strides"] = [size / 32, size / 32];
        }
      }
      return {
        modelTopology: topology,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
      };
    },
  };
}

/**
 * Loads MobileNetV2 from nsfwjs's files (`files`: the disk's by default; no network), reading posters at size x size
 * (default 224).
 */
export async function loadImageEncoder(size = 224, files: EncoderFiles = diskEncoderFiles): Promise<ImageEncoder> {
  if (!(MOBILENET_INPUT_SIZES as readonly number[]).includes(size)) {
    throw new Error(`MobileNetV2 input size must be one of ${MOBILENET_INPUT_SIZES.join(", ")}, got ${size}`);
  }
  const own = files("mobilenet-v2");
  const full = await tf.loadLayersModel(bundledArtifacts(own, size));
  const pooled = full.getLayer("flatten_1").output as tf.SymbolicTensor;
  const model = tf.model({ inputs: full.inputs, outputs: [pooled, full.outputs[0] as tf.SymbolicTensor], name: "mobilenet_v2_features" });
  return {
    info: { name: "mobilenet-v2", package: MOBILENET_PACKAGE, version: await own.version(), dims: MOBILENET_DIMS, inputSize: size },
    model,
  };
}

/**
 * The features of decoded posters (RGB in [0, 1], any size), row-major [posters.length, 1285]: 1,280
 * pooled features, then the five class scores (which sum to 1).
 */
export async function imageFeatures(encoder: ImageEncoder, posters: readonly DecodedPoster[]): Promise<Float32Array> {
  const size = encoder.info.inputSize as number;
  const out = tf.tidy(() => {
    const inputs = posters.map((p) => tf.image.resizeBilinear(tf.tensor3d(p.data, [p.height, p.width, 3]), [size, size], true));
    const [pooled, scores] = encoder.model.predict(tf.stack(inputs)) as tf.Tensor[];
    return tf.concat([pooled as tf.Tensor, scores as tf.Tensor], 1);
  });
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}
