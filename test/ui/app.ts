/**
 * `npm run app-test`: the web page of `npm run app` in a real browser (Debian's Chromium, headless, driven by
 * playwright-core), on smoke models trained here on the generated fixture dataset (the CNN, the LSTM, the joint model
 * and the joint model on pretrained features, each `npm run train -- <kind> --preset smoke`, and an ensemble, `npm run
 * train -- linear --preset smoke --folds 2`). For each model it drops 3 fixture posters onto the page with their
 * overviews and checks:
 *   - the page's probabilities equal `npm run predict`'s for the same poster and overview (predict's --json, on
 *     WebAssembly in Node), within 1e-4 on the page's WebAssembly backend; on WebGL it reports the largest difference;
 *   - the explanation card draws a heat map (a poster model: occlusion images that loaded) and shades words (an
 *     overview model: words with a tinted background);
 * then each bad input shows its message: a file that is not an image, an empty overview, an overview with no word
 * the model knows, and a model folder that fails validation (the same message as loading it from disk, naming the
 * file by its URL). It prints the page's load time (and the pretrained encoders'), its script's size and one prediction
 * with explanations per model, and the largest difference from predict on WebAssembly over every model and film.
 * Screenshots go to out/ui-test/app-*.png. Exit status 0 when every check passed.
 */
import type { PageState } from "../../lib/app/page";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Page, chromium } from "playwright-core";
import { PROJECT_DIR } from "../../lib/runtime/config";
import { IMAGES_DIR } from "../../lib/data/dataset";
import { FixtureFilm, writeFixtureDataset } from "../../lib/data/fixture";
import { kindSpec, loadModel } from "../../lib/kinds/registry";
import { ServedModel, servedModels, startApp } from "../../lib/app/server";
import { findChromium } from "./chromium";

const OUT = path.join(PROJECT_DIR, "out", "ui-test");
const WORK = path.join(OUT, "app");
/** The smoke models: the preset's of these kinds (out/models/smoke/<kind>), and an ensemble of two linear folds. */
const KINDS = ["cnn", "lstm", "fusion", "pretrained"] as const;
const ENSEMBLE = { id: "ensemble", kind: "linear", folds: 2 } as const;
/** Models whose explanation on SwiftShader's WebGL would take minutes (USE-lite on every word left out, MobileNetV2 on 171 posters). */
const NO_WEBGL = new Set(["pretrained"]);
/** The page on WebAssembly against `npm run predict` on WebAssembly in Node. */
const WASM_TOLERANCE = 1e-4;

let failures = 0;

function check(ok: boolean, what: string, detail = ""): void {
  console.log(`  ${ok ? "ok  " : "FAIL"} ${what}${detail ? `: ${detail}` : ""}`);
  if (!ok) failures++;
}

function run(args: string[], env: NodeJS.ProcessEnv): string {
  const result = spawnSync(process.execPath, args, { cwd: PROJECT_DIR, env: { ...process.env, ...env }, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`node ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/**
 * Smoke models of KINDS trained on the fixture into WORK/out/models/smoke/<kind>, and the ENSEMBLE into `ensembleDir`,
 * as `npm run train` trains them.
 */
function trainSmokeModels(dataDir: string, ensembleDir: string, env: NodeJS.ProcessEnv): void {
  const train = (what: string, args: string[]) => {
    const started = Date.now();
    run([path.join(PROJECT_DIR, "dist", "lib", "commands", "train.js"), ...args, "--preset", "smoke", "--data", dataDir], env);
    console.log(`  trained the smoke ${what} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  };
  for (const kind of KINDS) train(kind, [kind]);
  train(`${ENSEMBLE.kind} ensemble`, [ENSEMBLE.kind, "--folds", String(ENSEMBLE.folds), "--out", ensembleDir]);
}

/** `npm run predict`'s probabilities of every genre for one film, by genre. */
function predicted(modelDir: string, film: { poster?: string; overview?: string }, env: NodeJS.ProcessEnv): Map<string, number> {
  const args = [path.join(PROJECT_DIR, "dist", "lib", "commands", "predict.js"), "--model", modelDir, "--top", "1000", "--json"];
  if (film.poster !== undefined) args.push("--poster", film.poster);
  if (film.overview !== undefined) args.push("--overview", film.overview);
  const line = run(args, env).trim().split("\n").pop() as string;
  const json = JSON.parse(line) as { top: { genre: string; probability: number }[] };
  return new Map(json.top.map((r) => [r.genre, r.probability]));
}

const pageState = (page: Page) => page.evaluate(() => (window as unknown as { genrePage: PageState }).genrePage);

async function openPage(page: Page, url: string): Promise<PageState> {
  await page.goto(url);
  await page.waitForFunction(
    () => {
      const s = (window as unknown as { genrePage?: PageState }).genrePage;
      return s !== undefined && (s.loadMs !== undefined || s.modelError !== undefined || s.error !== undefined);
    },
    null,
    { timeout: 120_000 },
  );
  return pageState(page);
}

/** Drops a file onto the page's drop zone, as a reader drags one there. */
async function dropFile(page: Page, name: string, bytes: Buffer, type: string): Promise<void> {
  await page.evaluate(
    ({ name, data, type }) => {
      const file = new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], name, { type });
      const transfer = new DataTransfer();
      transfer.items.add(file);
      document.getElementById("drop")?.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    },
    { name, data: bytes.toString("base64"), type },
  );
  // decoding the poster is asynchronous: wait until its preview or its message is there
  await page.waitForFunction(
    () => document.querySelector("#poster-preview img") !== null || (document.getElementById("error")?.textContent ?? "") !== "",
  );
}

/** Presses the button and waits for the page's prediction (and explanation) to finish. */
async function predictOnPage(page: Page, overview: string): Promise<PageState> {
  await page.fill("#overview", overview);
  const runs = (await pageState(page)).runs;
  await page.click("#predict");
  await page.waitForFunction((before) => (window as unknown as { genrePage: PageState }).genrePage.runs > before, runs, {
    timeout: 300_000,
  });
  return pageState(page);
}

/** The largest |page - predict| over the genres. */
function largestDifference(state: PageState, reference: Map<string, number>): number {
  let worst = 0;
  state.genres?.forEach((genre, j) => {
    const expected = reference.get(genre);
    worst = Math.max(worst, expected === undefined ? Infinity : Math.abs((state.probabilities?.[j] as number) - expected));
  });
  return state.genres ? worst : Infinity;
}

/** What the card drew: heat-map images that loaded, and words with a tinted background. */
async function cardDrawn(page: Page): Promise<{ heatMaps: number; shadedWords: number }> {
  return page.evaluate(() => {
    const card = document.getElementById("card");
    const images = card ? (Array.from(card.querySelectorAll("figure img")) as HTMLImageElement[]) : [];
    const spans = card ? (Array.from(card.querySelectorAll("span[title]")) as HTMLSpanElement[]) : [];
    const tinted = spans.filter((s) => {
      const alpha = /rgba\([^)]*,\s*([\d.]+)\)/.exec(s.style.background)?.[1];
      return alpha !== undefined && Number(alpha) > 0;
    });
    return { heatMaps: images.filter((i) => i.complete && i.naturalWidth > 0).length, shadedWords: tinted.length };
  });
}

async function main(): Promise<void> {
  // the disk's side of the broken folder's message is loaded here too: on WebAssembly, as the commands below run
  process.env["WORKBOOK_BACKEND"] ??= "wasm";
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  const dataDir = path.join(WORK, "fixture-dataset");
  const films = (await writeFixtureDataset(dataDir)).slice(0, 3);
  const outDir = path.join(WORK, "out");
  const env = { WORKBOOK_OUT_DIR: outDir, WORKBOOK_CACHE_DIR: path.join(WORK, "cache"), WORKBOOK_BACKEND: "wasm" };
  console.log("smoke models on the fixture dataset:");
  const ensembleDir = path.join(WORK, "ensemble");
  trainSmokeModels(dataDir, ensembleDir, env);

  // a model folder that fails validation: the CNN's, with a threshold above 1
  const broken = path.join(WORK, "broken-model");
  fs.cpSync(path.join(outDir, "models", "smoke", "cnn"), broken, { recursive: true, dereference: true });
  const thresholdsFile = path.join(broken, "thresholds.json");
  const thresholds = JSON.parse(fs.readFileSync(thresholdsFile, "utf8")) as { thresholds: number[] };
  thresholds.thresholds[0] = 2;
  fs.writeFileSync(thresholdsFile, JSON.stringify(thresholds));
  const diskMessage = await loadModel(broken).then(
    () => "",
    (error: unknown) => (error as Error).message,
  );

  const models: ServedModel[] = [
    ...servedModels({ outDir, preset: "smoke" }),
    { id: ENSEMBLE.id, label: `${ENSEMBLE.folds}-fold ${ENSEMBLE.kind} ensemble`, dir: ensembleDir },
    { id: "broken", label: "a broken folder", dir: broken },
  ];
  const pageModels = [
    ...KINDS.map((kind) => ({ id: kind as string, dir: path.join(outDir, "models", "smoke", kind) })),
    { id: ENSEMBLE.id, dir: ensembleDir },
  ];
  let largestWasm = 0;
  const app = await startApp(models);
  console.log(`page at ${app.url}; its script: ${(app.bundle.bytes / 2 ** 20).toFixed(2)} MB`);
  const browser = await chromium.launch({ executablePath: findChromium(), args: ["--no-sandbox"] });
  const timings: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on("pageerror", (error) => check(false, "no uncaught error in the page", error.message));
    const poster = (film: FixtureFilm) => path.join(dataDir, IMAGES_DIR, `${film.id}.jpg`);

    for (const { id: kind, dir } of pageModels) {
      console.log(`${kind} (${dir}), WebAssembly:`);
      // what the model reads, as loading it from disk says
      const onDisk = await loadModel(dir);
      const reads = kindSpec(onDisk).reads;
      onDisk.model.dispose();
      // the film dropped and typed into the page as the model reads it, and npm run predict's answer for the same inputs
      const predictBothWays = async (film: FixtureFilm) => {
        if (reads.poster) await dropFile(page, `${film.id}.jpg`, fs.readFileSync(poster(film)), "image/jpeg");
        const state = await predictOnPage(page, film.overview);
        const reference = predicted(
          dir,
          { ...(reads.poster ? { poster: poster(film) } : {}), ...(reads.overview ? { overview: film.overview } : {}) },
          env,
        );
        return { state, reference };
      };
      const opened = await openPage(page, `${app.url}?backend=wasm&model=${kind}`);
      check(
        opened.backend === "wasm" && opened.modelError === undefined,
        "the page loads the model on WebAssembly",
        opened.modelError ?? "",
      );
      timings.push(
        `${kind}: page ready (backend and model) in ${opened.loadMs?.toFixed(0)} ms` +
          (opened.encodersMs !== undefined ? `, of which the pretrained encoders ${opened.encodersMs.toFixed(0)} ms` : ""),
      );
      for (const film of films) {
        const { state, reference } = await predictBothWays(film);
        const difference = largestDifference(state, reference);
        largestWasm = Math.max(largestWasm, difference);
        check(
          state.error === undefined && difference <= WASM_TOLERANCE,
          `${film.id}: the page's probabilities equal npm run predict's within ${WASM_TOLERANCE}`,
          state.error ?? `largest difference ${difference.toExponential(2)} over ${state.genres?.length} genres`,
        );
        const drawn = await cardDrawn(page);
        if (reads.poster) check(drawn.heatMaps > 0, `${film.id}: a heat map is drawn`, `${drawn.heatMaps} image(s)`);
        if (reads.overview) check(drawn.shadedWords > 0, `${film.id}: the overview's words are shaded`, `${drawn.shadedWords} word(s)`);
        timings.push(
          `${kind} ${film.id}: predicted in ${state.predictMs?.toFixed(0)} ms, explained in ${state.explainMs?.toFixed(0)} ms (wasm)`,
        );
      }
      const shown = await pageState(page);
      if (reads.poster && kind !== "cnn")
        check(
          shown.notShown?.some((note) => note.startsWith("Grad-CAM")) === true,
          "the page says why Grad-CAM is not shown",
          shown.notShown?.join(" | ") ?? "",
        );
      await page.screenshot({ path: path.join(OUT, `app-${kind}.png`), fullPage: true });

      // WebGL, where this browser has it: the largest difference from predict on the first film
      if (NO_WEBGL.has(kind)) {
        console.log("  WebGL: not run for this model (its explanation takes minutes on software WebGL)");
        continue;
      }
      const webgl = await openPage(page, `${app.url}?backend=webgl&model=${kind}`);
      if (webgl.backend === "webgl" && webgl.modelError === undefined) {
        const film = films[0] as FixtureFilm;
        const { state, reference } = await predictBothWays(film);
        console.log(
          `  WebGL: largest difference from npm run predict ${largestDifference(state, reference).toExponential(2)} (reported, not checked)`,
        );
        timings.push(
          `${kind} ${film.id}: predicted in ${state.predictMs?.toFixed(0)} ms, explained in ${state.explainMs?.toFixed(0)} ms (webgl)`,
        );
      } else console.log(`  WebGL: not available in this browser (${webgl.error ?? webgl.backend})`);
    }

    console.log("bad input:");
    await openPage(page, `${app.url}?backend=wasm&model=cnn`);
    await dropFile(page, "notes.txt", Buffer.from("not a poster\n"), "text/plain");
    const notImage = (await pageState(page)).error ?? "";
    check(/notes\.txt: not a JPEG or PNG image/.test(notImage), "a file that is not an image is refused, named", notImage);
    await page.screenshot({ path: path.join(OUT, "app-not-an-image.png"), fullPage: true });

    await openPage(page, `${app.url}?backend=wasm&model=lstm`);
    const empty = await predictOnPage(page, "");
    check(
      empty.error === 'the overview "" has no words to read',
      "an empty overview is refused as npm run predict refuses it",
      empty.error ?? "",
    );
    const unknown = await predictOnPage(page, "zzqxv blorptang");
    check(
      unknown.warnings.some((w) => /have no word the model knows/.test(w)) && unknown.error === undefined,
      "an overview with no known word is predicted, with predict's warning shown",
      unknown.warnings.join(" | "),
    );
    await page.screenshot({ path: path.join(OUT, "app-unknown-words.png"), fullPage: true });

    const refused = await openPage(page, `${app.url}?backend=wasm&model=broken`);
    const brokenUrl = `${app.url}models/broken/`;
    const expected = diskMessage.split(`${broken}/`).join(brokenUrl).split(broken).join(brokenUrl);
    check(
      diskMessage !== "" && refused.modelError === expected,
      "a model folder that fails validation shows the message loading it from disk gives, naming the file by its URL",
      refused.modelError ?? "(loaded)",
    );
    await page.screenshot({ path: path.join(OUT, "app-broken-model.png"), fullPage: true });
  } finally {
    await browser.close();
    await app.close();
  }
  console.log("measured (this machine, shared with other work):");
  console.log(`  page script ${(app.bundle.bytes / 2 ** 20).toFixed(2)} MB`);
  console.log(`  largest difference from npm run predict on WebAssembly, over every model and film: ${largestWasm.toExponential(2)}`);
  for (const line of timings) console.log(`  ${line}`);
  console.log(failures === 0 ? "app-test: every check passed" : `app-test: ${failures} check(s) failed`);
  process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
