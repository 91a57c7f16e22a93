/**
 * The spaces `npm run tune` and notebook 08 search when none is given: the settings that moved the validation
 * loss most while the presets were chosen (docs/results.md, "How the defaults were chosen"), around the presets' values.
 */
import type { SearchSpace } from "./space";

export const DEFAULT_SPACES: Record<string, SearchSpace> = {
  pretrained: {
    learningRate: { logRange: [3e-4, 3e-3] },
    dropout: { range: [0.2, 0.6] },
    "text.units": { choice: [128, 256, 512] },
    "text.dropout": { range: [0.2, 0.6] },
    "poster.units": { choice: [32, 64, 128] },
    fusion: { choice: ["gmu", "concat"] },
    "loss.cap": { choice: [3, 10, 30] },
  },
  cnn: {
    learningRate: { logRange: [1e-4, 3e-3] },
    batchSize: { choice: [32, 64, 128] },
  },
  lstm: {
    learningRate: { logRange: [3e-4, 3e-3] },
    batchSize: { choice: [32, 64] },
    maxTokens: { choice: [5000, 10000, 20000] },
  },
  fusion: {
    learningRate: { logRange: [1e-4, 3e-3] },
    fusion: { choice: ["gmu", "concat"] },
    units: { choice: [64, 128, 256] },
  },
};
