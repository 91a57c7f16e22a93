/**
 * `npm run prune -- (--model MODEL_DIR | --preset P) [--keep N]`: deletes old training runs. Every run is
 * kept in `<model folder>.runs/`; this keeps the one the model folder points at and the newest N others
 * (default 2), and deletes the rest. With --preset, every model folder of out/models/<preset>/.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { modelDir, pruneRuns } from "../models/folder";
import { KIND_IDS } from "../kinds/registry";
import { parsePreset, workbookPaths } from "../runtime/config";
import { integerOption, parseArgs } from "./args";

const USAGE = "usage: npm run prune -- (--model MODEL_DIR | --preset coursework|quick|smoke) [--keep N]";

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { values: ["model", "preset", "keep"] }, USAGE);
  if (args.help) return console.log(USAGE);
  const keep = integerOption(args, "keep", 0, USAGE) ?? 2;
  const model = args.values["model"];
  const preset = args.values["preset"];
  if ((model === undefined) === (preset === undefined)) throw new Error(`give --model or --preset\n${USAGE}`);
  const targets =
    model !== undefined
      ? [path.resolve(model)]
      : KIND_IDS.map((kind) => modelDir(workbookPaths().outDir, parsePreset(preset as string, "--preset"), kind)).filter((t) =>
          fs.existsSync(`${t}.runs`),
        );
  if (targets.length === 0) console.log("no training runs to prune");
  for (const target of targets) {
    const deleted = await pruneRuns(target, keep);
    console.log(
      `${target}: ${deleted.length === 0 ? "nothing to delete" : `deleted ${deleted.length} run(s): ${deleted.map((d) => path.basename(d)).join(", ")}`}`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(`prune: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
