/**
 * `npm run layout-check`: every notebook's executed output as a reader sees it. It opens the runner's HTML exports
 * (out/notebooks/NN-*.html, written by `npm run workbook` or `npm test`) in Debian's Chromium, headless, at
 * 1280x900, and checks that:
 *   - every image keeps its natural aspect ratio (within 2%);
 *   - no output is wider than the notebook's content area, unless it sits in a box of its own that scrolls sideways;
 *   - every Plotly figure has drawn data;
 *   - a table wider than its box keeps its first column in view when scrolled sideways;
 *   - no output is taller than 3 screens (2,700 px), unless a reason for it is listed below.
 * A full-page PNG of each notebook goes to out/layout/. Exit status 0 when every check passed.
 *   npm run layout-check -- [--dir DIR] [NOTEBOOK_PREFIX...]
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium } from "playwright-core";
import { PROJECT_DIR } from "../../lib/runtime/config";
import { findChromium } from "./chromium";

const SCREEN = { width: 1280, height: 900 };
const MAX_OUTPUT_HEIGHT = 3 * SCREEN.height;

/** Outputs allowed to be taller than 3 screens, by a fragment of their text: and why. */
const TALL_OUTPUT_REASONS: { notebook: string; text: RegExp; why: string }[] = [];

interface Problems {
  notebook: string;
  images: number;
  figures: number;
  outputs: number;
  problems: string[];
}

async function checkNotebook(file: string, page: import("playwright-core").Page, out: string): Promise<Problems> {
  const notebook = path.basename(file, ".html");
  await page.setViewportSize(SCREEN);
  await page.goto(`file://${file}`, { waitUntil: "load" });
  // Plotly draws from the page's scripts (the HTML fallback of each figure): wait until every figure has its svg.
  await page
    .waitForFunction(
      () => Array.from(document.querySelectorAll('div[id^="plot-"]')).every((d) => d.querySelector("svg.main-svg") !== null),
      undefined,
      { timeout: 30_000 },
    )
    .catch(() => undefined);
  await page.waitForTimeout(500);
  const found = await page.evaluate(
    ({ maxHeight }) => {
      const problems: string[] = [];
      const cellOf = (el: Element) => {
        const cell = el.closest(".jp-Cell");
        const cells = Array.from(document.querySelectorAll(".jp-Cell"));
        return cell ? `cell ${cells.indexOf(cell)}` : "?";
      };
      const outputs = Array.from(document.querySelectorAll(".jp-OutputArea-output"));
      const images = Array.from(document.querySelectorAll(".jp-OutputArea-output img"));
      for (const img of images as HTMLImageElement[]) {
        if (!img.naturalWidth || !img.naturalHeight || !img.clientWidth || !img.clientHeight) continue;
        const natural = img.naturalWidth / img.naturalHeight;
        const shown = img.clientWidth / img.clientHeight;
        if (Math.abs(shown - natural) / natural > 0.02) {
          problems.push(
            `${cellOf(img)}: an image ${img.naturalWidth}x${img.naturalHeight} is shown ${img.clientWidth}x${img.clientHeight} (aspect ratio ${natural.toFixed(3)} -> ${shown.toFixed(3)})`,
          );
        }
      }
      const figures = Array.from(document.querySelectorAll('div[id^="plot-"], .js-plotly-plot'));
      for (const figure of figures) {
        const drawn =
          figure.querySelector("svg.main-svg") !== null &&
          figure.querySelectorAll("svg.main-svg .trace, .heatmaplayer image, svg.main-svg .parcoords .y-axis").length > 0;
        if (!drawn) problems.push(`${cellOf(figure)}: a Plotly figure has no drawn data`);
      }
      for (const output of outputs as HTMLElement[]) {
        const area = output.closest(".jp-OutputArea") as HTMLElement | null;
        const limit = (area ?? output).getBoundingClientRect().right + 1;
        let reported = false;
        for (const el of Array.from(output.querySelectorAll("*"))) {
          if (reported || el.getBoundingClientRect().right <= limit || el.getBoundingClientRect().width === 0) continue;
          let scroller: HTMLElement | null = null;
          for (let p = el.parentElement; p && p !== output.parentElement; p = p.parentElement) {
            const overflow = getComputedStyle(p).overflowX;
            if (overflow === "auto" || overflow === "scroll" || overflow === "hidden") {
              scroller = p;
              break;
            }
          }
          if (!scroller || scroller.getBoundingClientRect().right > limit) {
            problems.push(
              `${cellOf(output)}: an output is wider than the notebook (${Math.round(el.getBoundingClientRect().right - limit)} px past it) and does not scroll in a box of its own`,
            );
            reported = true;
          }
        }
        const height = output.getBoundingClientRect().height;
        if (height > maxHeight) {
          problems.push(
            `${cellOf(output)}: an output is ${Math.round(height)} px tall, more than 3 screens: ${(output.textContent ?? "").trim().slice(0, 80)}`,
          );
        }
      }
      // A table wider than its box: scrolled to its right end, each row's first cell (what the row is) stays in view.
      for (const table of Array.from(document.querySelectorAll(".jp-OutputArea-output table"))) {
        const box = table.parentElement;
        if (!box || box.scrollWidth <= box.clientWidth + 1) continue;
        box.scrollLeft = box.scrollWidth;
        const left = box.getBoundingClientRect().left;
        const hidden = Array.from(table.querySelectorAll("tr"))
          .map((row) => row.firstElementChild)
          .filter((cell): cell is Element => cell !== null && cell.getBoundingClientRect().left < left - 1);
        if (hidden.length > 0) {
          problems.push(
            `${cellOf(table)}: a table wider than its box loses its first column when scrolled sideways (${hidden.length} rows)`,
          );
        }
        box.scrollLeft = 0;
      }
      return { problems, images: images.length, figures: figures.length, outputs: outputs.length };
    },
    { maxHeight: MAX_OUTPUT_HEIGHT },
  );
  const problems = found.problems.filter(
    (p) => !TALL_OUTPUT_REASONS.some((r) => r.notebook === notebook.slice(0, r.notebook.length) && r.text.test(p)),
  );
  await page.screenshot({ path: path.join(out, `${notebook}.png`), fullPage: true });
  return { notebook, images: found.images, figures: found.figures, outputs: found.outputs, problems };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dirAt = args.indexOf("--dir");
  const dir = dirAt >= 0 ? path.resolve(args[dirAt + 1] ?? ".") : path.join(PROJECT_DIR, "out", "notebooks");
  const filters = args.filter((a, i) => a !== "--dir" && i !== dirAt + 1);
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d\d-[a-z0-9-]+\.html$/.test(f))
    .filter((f) => filters.length === 0 || filters.some((p) => f.startsWith(p)))
    .sort()
    .map((f) => path.join(dir, f));
  if (files.length === 0) throw new Error(`no executed notebooks (NN-name.html) in ${dir}: run 'npm run workbook' (or npm test) first`);
  const out = path.join(PROJECT_DIR, "out", "layout");
  fs.mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: findChromium(),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  let failures = 0;
  try {
    const page = await browser.newPage({ viewport: SCREEN });
    for (const file of files) {
      const r = await checkNotebook(file, page, out);
      failures += r.problems.length;
      console.log(
        `${r.problems.length === 0 ? "ok  " : "FAIL"} ${r.notebook}: ${r.outputs} outputs, ${r.images} images, ${r.figures} figures` +
          r.problems.map((p) => `\n       ${p}`).join(""),
      );
    }
  } finally {
    await browser.close();
  }
  console.log(`layout-check: ${failures === 0 ? "passed" : `${failures} problem(s)`}; screenshots in ${out}`);
  process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((e: unknown) => {
  console.error(`layout-check: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 2;
});
