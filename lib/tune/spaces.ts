/**
 * The spaces `npm run tune` and notebook 08 search when none is given: each kind's own (KindSpec.tuneSpace), the
 * settings that moved the validation loss most while the presets were chosen (docs/results.md, "How the defaults
 * were chosen"), around the presets' values.
 */
import { KIND_IDS, kindSpec } from "../kinds/registry";
import type { SearchSpace } from "./space";

export const DEFAULT_SPACES: Record<string, SearchSpace> = Object.fromEntries(
  KIND_IDS.flatMap((kind) => {
    const space = kindSpec(kind).tuneSpace;
    return space ? [[kind, space]] : [];
  }),
);
