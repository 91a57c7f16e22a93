/**
 * `npm run app -- [--model DIR] [--preset P] [--port N] [--export DIR]`: a trained model in a web page. Serves the page
 * on 127.0.0.1 (a free port unless --port) with the models of the preset (out/models/<preset>/<kind>) and the folder
 * given with --model, and prints its URL; the page predicts and explains in the browser, on TensorFlow.js (lib/app/).
 * --export DIR writes the page and the models' files into DIR for a static host, and prints what they weigh.
 */
import * as path from "node:path";
import { exportApp, servedModels, startApp } from "../app/server";
import { presetFromEnv, parsePreset, workbookPaths } from "../runtime/config";
import { WorkbookError } from "../runtime/errors";
import { howToTrain } from "../kinds/registry";
import { integerOption, parseArgs } from "./args";

const USAGE = "usage: npm run app -- [--model MODEL_DIR] [--preset coursework|quick|smoke] [--port N] [--export DIR]";

const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { values: ["model", "preset", "port", "export"] }, USAGE);
  if (args.help) return console.log(USAGE);
  const preset = args.values["preset"] === undefined ? presetFromEnv() : parsePreset(args.values["preset"], "--preset");
  const port = integerOption(args, "port", 0, USAGE);
  const model = args.values["model"];
  const { outDir } = workbookPaths();
  const models = servedModels({ outDir, preset, ...(model !== undefined ? { model } : {}) });
  if (models.length === 0) {
    throw new WorkbookError(
      `no trained model at preset ${preset} (${path.join(outDir, "models", preset)}) and no --model: train one (the CNN: ${howToTrain("cnn", preset)}), or give --model DIR\n${USAGE}`,
    );
  }
  const exportDir = args.values["export"];
  if (exportDir !== undefined) {
    const files = await exportApp(path.resolve(exportDir), models);
    const total = files.reduce((n, f) => n + f.bytes, 0);
    const part = (test: (file: string) => boolean) => megabytes(files.filter((f) => test(f.file)).reduce((n, f) => n + f.bytes, 0));
    console.log(`wrote ${files.length} files to ${path.resolve(exportDir)}: ${megabytes(total)}`);
    console.log(`  page and script: ${part((f) => !f.startsWith("models") && !f.startsWith("tfjs-wasm"))}`);
    console.log(`  TensorFlow.js WebAssembly: ${part((f) => f.startsWith("tfjs-wasm"))}`);
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

main().catch((e: unknown) => {
  console.error(`app: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
