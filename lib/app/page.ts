/**
 * The web page's script (bundled by ./bundle.ts): a trained model of the workbook in the browser, on TensorFlow.js
 * (WebGL where the browser has it, else WebAssembly; `?backend=wasm` or `?backend=webgl` chooses). Everything it
 * computes is the library's own code: the model folder read over HTTP and checked as on disk (kinds/registry.ts
 * loadModelFrom, ./http-folder.ts), the poster decoded as `npm run predict` decodes it off native TensorFlow (data/posters.ts
 * decodePosterBytes: jimp's JPEG decoder; native TensorFlow uses its own, a level apart on some pixels), the film checked and predicted as there (eval/inference.ts), explained as `npm run explain`
 * and notebook 07 explain it (eval/explain.ts explainFilm) and shown on the same card (workbook/explanations.ts). The
 * pretrained kinds' encoders (USE-lite, MobileNetV2) are the library's too, read from the installed packages' files that
 * the same server serves (./http-encoders.ts); an ensemble folder is read with its folds and averaged as on disk.
 * What it shows last is kept in window.genrePage for the browser test (test/ui/app.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { DecodedPoster, decodePosterBytes } from "../data/posters";
import { loadImageEncoder } from "../encoders/mobilenet";
import { loadSentenceEncoder } from "../encoders/use-lite";
import { explainFilm } from "../eval/explain";
import { gradCamApplies } from "../eval/attribution";
import { checkFilmGiven, overviewForModel, predictGivenFilm } from "../eval/inference";
import { topK } from "../eval/metrics";
import type { Encoders } from "../kinds/kind";
import { Trained, kindSpec, loadModelFrom, modelName } from "../kinds/registry";
import { cardScale, explanationCardHtml, modelView } from "../workbook/explanations";
import { escapeHtml } from "../workbook/html";
import { EncoderVersions, httpEncoderFiles } from "./http-encoders";
import { httpFolder } from "./http-folder";
import type { ModelList } from "./server";

/** What the page shows last, for the browser test. */
export interface PageState {
  backend?: string;
  /** Milliseconds from the script's start to the first model loaded and ready. */
  loadMs?: number;
  /** Milliseconds the last model's pretrained encoders took to load (absent: it needs none, or they were loaded). */
  encodersMs?: number;
  /** What the explanation does not show for this model, and why. */
  notShown?: string[];
  model?: string;
  modelError?: string;
  error?: string;
  warnings: string[];
  genres?: string[];
  probabilities?: number[];
  thresholds?: number[];
  predictMs?: number;
  explainMs?: number;
  /** Counts the predictions finished, so a test can wait for the next one. */
  runs: number;
}

declare global {
  interface Window {
    genrePage: PageState;
  }
}

const started = performance.now();
const state: PageState = { warnings: [], runs: 0 };
window.genrePage = state;

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const modelSelect = element<HTMLSelectElement>("model");
const posterInput = element<HTMLInputElement>("poster");
const overviewInput = element<HTMLTextAreaElement>("overview");
const predictButton = element<HTMLButtonElement>("predict");

let trained: Trained | undefined;
/** The pretrained encoders loaded so far: kept across models, since USE-lite alone weighs 27 MB. */
const encoders: Encoders = {};
let encoderVersions: EncoderVersions | undefined;
let poster: { bytes: Uint8Array; decoded: DecodedPoster; name: string } | undefined;
let posterError: string | undefined;

function showError(message: string | undefined): void {
  state.error = message;
  element("error").textContent = message ?? "";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** WebGL where it works, else WebAssembly (its .wasm files served beside the page); `wanted` forces one. */
async function chooseBackend(wanted: string | null): Promise<string> {
  setWasmPaths(new URL("tfjs-wasm/", window.location.href).href);
  const order = wanted === "wasm" || wanted === "webgl" ? [wanted] : ["webgl", "wasm"];
  for (const name of order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // this backend does not run here: try the next
    }
  }
  throw new Error(`no TensorFlow.js backend runs in this browser (tried ${order.join(", ")})`);
}

async function loadChosenModel(): Promise<void> {
  const id = modelSelect.value;
  trained?.model.dispose();
  trained = undefined;
  state.model = id;
  state.modelError = undefined;
  predictButton.disabled = true;
  element("model-info").textContent = `loading ${id}...`;
  element("result").innerHTML = "";
  element("card").innerHTML = "";
  showError(undefined);
  try {
    trained = await loadModelFrom(httpFolder(new URL(`models/${encodeURIComponent(id)}/`, window.location.href).href));
    const spec = kindSpec(trained);
    state.encodersMs = undefined;
    const need = spec.encoders?.(trained.info);
    if (need !== undefined) {
      element("model-info").textContent = `loading ${id}'s pretrained encoders...`;
      const t0 = performance.now();
      if (await loadNeededEncoders(need)) state.encodersMs = performance.now() - t0;
    }
    const reads = [spec.reads.poster ? "a poster" : "", spec.reads.overview ? "an overview" : ""].filter(Boolean).join(" and ");
    element("model-info").textContent =
      `${modelName(trained)}: reads ${reads}; ${trained.info.genres.length} genres; preset ${trained.info.preset}` +
      (trained.thresholds ? `; thresholds tuned on ${trained.thresholds.films} validation films` : "; no tuned thresholds (0.5)");
    predictButton.disabled = false;
    state.loadMs ??= performance.now() - started;
  } catch (error) {
    state.modelError = messageOf(error);
    element("model-info").textContent = "";
    showError(`This model folder cannot be used: ${messageOf(error)}`);
  }
}

/**
 * Loads the pretrained encoders a model needs that are not loaded yet (MobileNetV2 again at another input size), from
 * the packages' files the server serves; says whether it loaded any.
 */
async function loadNeededEncoders(need: { image?: number; sentence?: boolean }): Promise<boolean> {
  if (!encoderVersions) throw new Error("models.json does not say which encoder packages the server has");
  const files = httpEncoderFiles(new URL("encoders/", window.location.href).href, encoderVersions);
  let loaded = false;
  if (need.image !== undefined && encoders.image?.info.inputSize !== need.image) {
    encoders.image?.model.dispose();
    delete encoders.image;
    encoders.image = await loadImageEncoder(need.image, files);
    loaded = true;
  }
  if (need.sentence === true && !encoders.sentence) {
    encoders.sentence = await loadSentenceEncoder(files);
    loaded = true;
  }
  return loaded;
}

/** What the page's explanation of this model does not show, and why (what it does show is on the card). */
function notShownFor(model: Trained): string[] {
  const spec = kindSpec(model);
  const notes: string[] = [];
  if (spec.reads.poster && !gradCamApplies(model.model))
    notes.push(
      model.folds
        ? "Grad-CAM: an ensemble has one CNN per fold, not one to take the gradient of (the occlusion map is the ensemble's)"
        : spec.encoders?.(model.info)?.image !== undefined
          ? "Grad-CAM: the poster goes through MobileNetV2's features, not through a convolution of this model (the occlusion map is shown)"
          : "Grad-CAM: it applies to the coursework CNN only (the occlusion map is shown)",
    );
  if (model.folds && spec.reads.poster && spec.reads.overview)
    notes.push("the gate's poster share: an ensemble has one gated unit per fold, and npm run explain does not average them");
  return notes;
}

async function takePoster(file: File): Promise<void> {
  poster = undefined;
  posterError = undefined;
  element("poster-preview").innerHTML = "";
  showError(undefined);
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    poster = { bytes, decoded: await decodePosterBytes(bytes, file.name), name: file.name };
    const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: file.type || "image/jpeg" }));
    element("poster-preview").innerHTML = `<img alt="the poster" src="${url}">`;
  } catch (error) {
    posterError = messageOf(error);
    showError(posterError);
  }
}

/** The genres table: every genre by probability, its tuned threshold, and whether the model gives the film the genre. */
function genresTable(model: Trained, probabilities: Float32Array): string {
  const { genres } = model.info;
  const thresholds = model.thresholds?.thresholds ?? genres.map(() => 0.5);
  const rows = topK(probabilities, genres, genres.length)
    .map((r) => {
      const j = genres.indexOf(r.genre);
      const threshold = thresholds[j] as number;
      const above = r.probability >= threshold;
      return (
        `<tr class="${above ? "above" : ""}" data-genre="${escapeHtml(r.genre)}" data-probability="${r.probability}">` +
        `<td>${escapeHtml(r.genre)}</td><td class="num">${r.probability.toFixed(3)}</td><td class="num">${threshold.toFixed(3)}</td>` +
        `<td>${above ? "yes" : ""}</td></tr>`
      );
    })
    .join("");
  const top = topK(probabilities, genres, 3)
    .map((r) => `${escapeHtml(r.genre)} ${r.probability.toFixed(3)}`)
    .join(", ");
  return (
    `<p><b>Top genres:</b> ${top}</p>` +
    `<table class="genres"><thead><tr><th>genre</th><th>probability</th><th>threshold${model.thresholds ? " (tuned)" : ""}</th><th>given</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

async function predictAndExplain(): Promise<void> {
  const model = trained;
  if (!model) return;
  predictButton.disabled = true;
  showError(undefined);
  state.warnings = [];
  element("warnings").textContent = "";
  element("result").innerHTML = "";
  element("timing").textContent = "";
  element("card").innerHTML = "";
  const warn = (line: string) => {
    state.warnings.push(line);
    element("warnings").textContent = state.warnings.join("\n");
  };
  try {
    if (posterError !== undefined && kindSpec(model).reads.poster) throw new Error(posterError);
    // a model that reads overviews always has one: an empty box is an empty overview, refused as the command refuses it
    const given = kindSpec(model).reads.overview ? overviewInput.value : undefined;
    const names = { poster: "its poster (pick or drop a JPEG or PNG)", overview: "its overview" };
    checkFilmGiven(model, { poster: poster !== undefined, overview: given !== undefined }, names);
    const overview = overviewForModel(model, given, warn);
    const shownPoster = kindSpec(model).reads.poster ? poster?.decoded : undefined;
    const film = { ...(shownPoster ? { poster: shownPoster } : {}), ...(overview !== undefined ? { overview } : {}) };
    const t0 = performance.now();
    const probabilities = await predictGivenFilm(model, film, encoders);
    const t1 = performance.now();
    state.genres = model.info.genres;
    state.probabilities = Array.from(probabilities);
    state.thresholds = model.thresholds?.thresholds;
    state.predictMs = t1 - t0;
    element("result").innerHTML = genresTable(model, probabilities);
    // as npm run explain: the two most probable genres, each with its heat maps and shaded words
    const genres = topK(probabilities, model.info.genres, 2).map((r) => r.genre);
    const explanation = await explainFilm(
      { name: modelName(model), trained: model },
      { overview: overview ?? "", ...(shownPoster ? { poster: shownPoster } : {}) },
      { genres, maxGenres: genres.length },
      encoders,
    );
    const scale = cardScale([explanation], model.info.genres);
    const view = await modelView(explanation, model.info.genres, shownPoster, scale);
    element("card").innerHTML = explanationCardHtml(
      { id: poster?.name ?? "your film", overview: overview ?? "", ...(poster && shownPoster ? { posterPng: poster.bytes } : {}) },
      model.info.genres,
      [view],
      { scale },
    );
    state.explainMs = performance.now() - t1;
    state.notShown = notShownFor(model);
    element("timing").textContent =
      `predicted in ${state.predictMs.toFixed(0)} ms, explained in ${state.explainMs.toFixed(0)} ms (${state.backend})` +
      state.notShown.map((note) => `\nNot shown for this model: ${note}`).join("");
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    showError(messageOf(error));
  } finally {
    state.runs++;
    predictButton.disabled = trained === undefined;
  }
}

async function start(): Promise<void> {
  const wanted = new URLSearchParams(window.location.search).get("backend");
  state.backend = await chooseBackend(wanted);
  element("status").textContent =
    `TensorFlow.js ${tf.version.tfjs} on ${state.backend === "webgl" ? "WebGL (the GPU)" : "WebAssembly (the CPU)"}` +
    (wanted ? " (chosen with ?backend=)" : state.backend === "wasm" ? " (this browser has no WebGL)" : "");
  const list = (await (await fetch("models.json")).json()) as ModelList;
  encoderVersions = list.encoders;
  modelSelect.innerHTML = list.models.map((m) => `<option value="${escapeHtml(m.id)}">${escapeHtml(m.label)}</option>`).join("");
  const chosen = new URLSearchParams(window.location.search).get("model");
  if (chosen && list.models.some((m) => m.id === chosen)) modelSelect.value = chosen;
  modelSelect.addEventListener("change", () => void loadChosenModel());
  posterInput.addEventListener("change", () => {
    const file = posterInput.files?.[0];
    if (file) void takePoster(file);
  });
  const drop = element("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer?.files[0];
    if (file) void takePoster(file);
  });
  predictButton.addEventListener("click", () => void predictAndExplain());
  await loadChosenModel();
}

start().catch((error: unknown) => {
  element("status").textContent = "";
  showError(messageOf(error));
});
