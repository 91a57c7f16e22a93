/**
 * `npm run app` (options: COMMAND below, `--help`): a trained model in a web page. Serves the page
 * on 127.0.0.1 (a free port unless --port) with the models of the preset (out/models/<preset>/<kind>) and the folder
 * given with --model, and prints its URL; the page predicts and explains in the browser, on TensorFlow.js (lib/app/).
 * --export DIR writes the page and the models' files into DIR for a static host, and prints what they weigh.
 */
import * as path from "node:path";
import { exportApp, servedModels, startApp } from "../app/server";
import { presetFromEnv, workbookPaths } from "../runtime/config";
import { WorkbookError } from "../runtime/errors";
import { howToTrain } from "../kinds/registry";
import { CommandSpec, ParsedCommand, runCommand, usageLine } from "./args";
import { modelFolderOption, presetOption } from "./options";

const COMMAND = {
  name: "app",
  summary:
    "A trained model in a web page: serves the page on 127.0.0.1 with the models of the preset and the folder given with --model, and prints its URL; the page predicts and explains in the browser, on TensorFlow.js. --export writes the page and the models' files into a folder for a static host instead.",
  options: {
    model: modelFolderOption("a model folder to serve besides the preset's models"),
    preset: presetOption("serve the models of out/models/<preset>/ (default WORKBOOK_PRESET, else quick)"),
    port: { type: "integer", min: 0, description: "the port (default: a free one)" },
    export: { type: "string", value: "DIR", description: "write the page and the models' files into DIR, and say what they weigh" },
  },
} as const satisfies CommandSpec;

const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;

async function main({ values }: ParsedCommand<typeof COMMAND.options>): Promise<void> {
  const preset = values.preset ?? presetFromEnv();
  const port = values.port;
  const model = values.model;
  const { outDir } = workbookPaths();
  const models = servedModels({ outDir, preset, ...(model !== undefined ? { model } : {}) });
  if (models.length === 0) {
    throw new WorkbookError(
      `no trained model at preset ${preset} (${path.join(outDir, "models", preset)}) and no --model: train one (the CNN: ${howToTrain("cnn", preset)}), or give --model DIR\n${usageLine(COMMAND)}`,
    );
  }
  const exportDir = values.export;
  if (exportDir !== undefined) {
    const files = await exportApp(path.resolve(exportDir), models);
    const total = files.reduce((n, f) => n + f.bytes, 0);
    const part = (test: (file: string) => boolean) => megabytes(files.filter((f) => test(f.file)).reduce((n, f) => n + f.bytes, 0));
    console.log(`wrote ${files.length} files to ${path.resolve(exportDir)}: ${megabytes(total)}`);
    console.log(`  page and script: ${part((f) => !f.startsWith("models") && !f.startsWith("tfjs-wasm") && !f.startsWith("encoders"))}`);
    console.log(`  TensorFlow.js WebAssembly: ${part((f) => f.startsWith("tfjs-wasm"))}`);
    for (const encoder of ["use-lite", "mobilenet-v2"]) {
      const inside = (f: string) => f.startsWith(path.join("encoders", encoder) + path.sep);
      if (files.some((f) => inside(f.file))) console.log(`  pretrained encoder ${encoder}: ${part(inside)}`);
    }
    for (const m of models) console.log(`  ${m.id}: ${part((f) => f.startsWith(path.join("models", m.id) + path.sep))} (${m.dir})`);
    console.log("serve the folder with any static host (its URLs are relative), e.g. python3 -m http.server -d " + path.resolve(exportDir));
    return;
  }
  const app = await startApp(models, port === undefined ? {} : { port });
  console.log(`models: ${models.map((m) => `${m.id} (${m.dir})`).join(", ")}`);
  console.log(`page script: ${megabytes(app.bundle.bytes)} (bundled from lib/ by esbuild)`);
  console.log(`open ${app.url}   (Ctrl-C stops the server)`);
  process.once("SIGINT", () => void app.close().then(() => process.exit(0)));
}

void runCommand(COMMAND, main);
