/**
 * `npm run prune` (options: COMMAND below, `--help`): deletes old training runs. Every run is
 * kept in `<model folder>.runs/`; this keeps the one the model folder points at and the newest N others that
 * hold a model (default 2), and deletes the rest, with the runs that never wrote a checkpoint and the links
 * that killed runs left. With --preset, every model folder of out/models/<preset>/. Only folders that a training
 * run of this workbook made (marked with .workbook-run, or an older version's run recognised by its files) are
 * deleted; any other folder in the runs folder is left alone and named.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { modelDir } from "../models/model-folder";
import { RUN_MARKER, pruneRuns } from "../models/run-folders";
import { KIND_IDS } from "../kinds/registry";
import { PRESET_NAMES, workbookPaths } from "../runtime/config";
import { linkNote } from "../runtime/files";
import { CommandSpec, ParsedCommand, UsageError, runCommand } from "./args";
import { modelFolderOption, presetOption } from "./options";

const COMMAND = {
  name: "prune",
  summary:
    "Deletes old training runs: keeps the run a model folder points at and the newest others that hold a model, deletes the rest, with the runs that never wrote a checkpoint and the links that killed runs left. Only folders a training run of this workbook made are deleted.",
  options: {
    model: modelFolderOption("the model folder whose runs to prune"),
    preset: presetOption("every model folder of out/models/<preset>/"),
    keep: { type: "integer", min: 0, description: "older runs with a model kept besides the current one (default 2)" },
  },
  notes: ["Give --model or --preset."],
} as const satisfies CommandSpec;

async function main({ values }: ParsedCommand<typeof COMMAND.options>): Promise<void> {
  const keep = values.keep ?? 2;
  const { model, preset } = values;
  if ((model === undefined) === (preset === undefined)) throw new UsageError("give --model or --preset");
  const targets =
    model !== undefined
      ? [path.resolve(model)]
      : KIND_IDS.map((kind) => modelDir(workbookPaths().outDir, preset as (typeof PRESET_NAMES)[number], kind)).filter((t) =>
          fs.existsSync(`${t}.runs`),
        );
  if (targets.length === 0) console.log("no training runs to prune");
  for (const target of targets) {
    const { runs, empty, links, unrecognised } = await pruneRuns(target, keep);
    const names = (dirs: string[]) => dirs.map((d) => path.basename(d)).join(", ");
    // a link among them is named with what it points at
    const named = (dirs: string[]) =>
      dirs
        .map((d) => {
          const link = linkNote(d);
          return link === undefined ? path.basename(d) : `${path.basename(d)} (${link})`;
        })
        .join(", ");
    const deleted = [
      ...(runs.length > 0 ? [`deleted ${runs.length} older run(s): ${names(runs)}`] : []),
      ...(empty.length > 0 ? [`deleted ${empty.length} run(s) that never wrote a checkpoint: ${names(empty)}`] : []),
      ...(links.length > 0 ? [`removed ${links.length} link(s) left by killed runs: ${names(links)}`] : []),
    ];
    const left =
      unrecognised.length === 0
        ? ""
        : `; left ${unrecognised.length} folder(s) that no training run of this workbook made (no ${RUN_MARKER}), delete them yourself if they are not needed: ${named(unrecognised)}`;
    console.log(`${target}: ${deleted.length === 0 ? "nothing to delete" : deleted.join("; ")}${left}`);
  }
}

void runCommand(COMMAND, main);
