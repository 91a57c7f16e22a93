/**
 * Inline output for tslab notebooks: Plotly figures, images, tables, markdown.
 *
 * Plotly's library (~4.6 MB minified) is sent once per notebook; each figure is then a small output
 * holding both `application/vnd.plotly.v1+json` (rendered natively by JupyterLab's Plotly extension)
 * and an HTML fallback that draws it with the already loaded library (classic Notebook, nbconvert HTML).
 * Outside a notebook (a command, a test) these functions print a text summary instead.
 */
import * as fs from "node:fs";
import { randomBytes } from "node:crypto";
import { Jimp } from "jimp";
import type { TrainingHistory } from "../models/history";
import { Dataset, genreCounts } from "../data/dataset";
import type { Split } from "../data/split";
import type { PosterSet } from "../data/posters";
import { MOBILENET_CLASSES } from "../encoders/mobilenet";
import { TextVectorizer, tokenize } from "../data/text";
import { displayBundle, inNotebook, showHtml, showMarkdown } from "./display";
import { escapeHtml, htmlTable } from "./html";

let plotlyLoaded = false;

export interface Figure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/**
 * Loads Plotly into the notebook page once. Called by showFigure when needed; call it in a setup cell to
 * keep the large output in one predictable place.
 */
export function loadPlotly(): void {
  if (plotlyLoaded || !inNotebook()) return;
  const source = fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8");
  // The UMD bundle would register itself with require.js when the page has it (classic Notebook) and
  // then not be reachable as window.Plotly: hide define/module/exports so it always sets the global.
  const script = `<script type="text/javascript">if (!window.Plotly) { (function (define, module, exports) {\n${source}\n}).call(window); }</script>`;
  // No visible text: the script is the whole output (an empty text/plain keeps the headless copy quiet too).
  displayBundle({ "text/html": script, "text/plain": "" });
  plotlyLoaded = true;
}

/** Shows a Plotly figure inline. */
export function showFigure(figure: Figure, options: { height?: number; text?: string } = {}): void {
  const height = options.height ?? (figure.layout?.["height"] as number | undefined) ?? 420;
  const text = options.text ?? figureText(figure);
  if (!inNotebook()) {
    console.log(text);
    return;
  }
  loadPlotly();
  // automargin: long tick labels (rotated genre names, small learning rates) get the room they need.
  const layout = {
    height,
    margin: { t: 50, r: 20, b: 60, l: 60 },
    ...figure.layout,
    xaxis: { automargin: true, ...(figure.layout?.["xaxis"] as object | undefined) },
    yaxis: { automargin: true, ...(figure.layout?.["yaxis"] as object | undefined) },
  };
  // JupyterLab's Plotly renderer sizes its figures itself; `responsive` there makes the figure follow its output
  // box, whose height is auto, and a figure drawn again after a window resize collapsed to no height. The HTML
  // fallback's box has a fixed height, so there the figure may follow the window.
  const config = { displaylogo: false, ...figure.config };
  const json = JSON.stringify({ data: figure.data, layout, config });
  const htmlJson = JSON.stringify({ data: figure.data, layout, config: { responsive: true, ...config } });
  const id = `plot-${randomBytes(6).toString("hex")}`;
  const html =
    `<div id="${id}" style="width:100%;height:${height}px"></div>` +
    `<script type="text/javascript">(function () { var fig = ${escapeScript(htmlJson)};` +
    ` function draw() { window.Plotly.newPlot("${id}", fig.data, fig.layout, fig.config); }` +
    ` if (window.Plotly) { draw(); } else { var t = setInterval(function () { if (window.Plotly) { clearInterval(t); draw(); } }, 100); } })();</script>`;
  displayBundle({
    "application/vnd.plotly.v1+json": JSON.parse(json) as unknown,
    "text/html": html,
    "text/plain": text,
  });
}

/** Keeps "</script>" inside JSON from closing the script element. */
function escapeScript(json: string): string {
  return json.replace(/<\//g, "<\\/");
}

function figureText(figure: Figure): string {
  const title = figure.layout?.["title"];
  const titleText = typeof title === "string" ? title : ((title as { text?: string } | undefined)?.text ?? "figure");
  return `[Plotly figure: ${titleText}; ${figure.data.length} trace(s)]`;
}

export interface ImageTile {
  /** Encoded image bytes (JPEG or PNG). */
  bytes: Uint8Array;
  caption?: string;
}

/** A grid of images with captions (e.g. posters with their genres), as one HTML output. */
export function showImageGrid(tiles: readonly ImageTile[], options: { columns?: number; width?: number } = {}): void {
  const columns = options.columns ?? 6;
  const width = options.width ?? 120;
  const cells = tiles
    .map(
      (t) =>
        `<figure style="margin:4px;text-align:center;width:${width}px">` +
        `<img src="${dataUri(t.bytes)}" style="width:${width}px;height:auto;border:1px solid #ccc"/>` +
        `<figcaption style="font-size:11px;line-height:1.2">${escapeHtml(t.caption ?? "")}</figcaption></figure>`,
    )
    .join("");
  const html = `<div style="display:grid;grid-template-columns:repeat(${columns},${width + 8}px);gap:4px">${cells}</div>`;
  showHtml(html, tiles.map((t) => `[image] ${t.caption ?? ""}`).join("\n"));
}

export function dataUri(bytes: Uint8Array): string {
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50;
  return `data:${isPng ? "image/png" : "image/jpeg"};base64,${Buffer.from(bytes).toString("base64")}`;
}

/**
 * A table from rows of cells, as HTML with a plain-text fallback. Cells stay on one line and a wide table
 * scrolls sideways; the columns named in `wrap` (long text, such as overviews) wrap instead, in a column
 * wide enough to read. The styles are on each cell, where the Notebook's own table CSS cannot override them.
 */
export function showTable(
  columns: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  caption?: string,
  options: { wrap?: readonly string[] } = {},
): void {
  showHtml(tableHtml(columns, rows, caption, options), textTable(columns, rows));
}

/** showTable's HTML: also what a view that redraws a table in place shows (the live trials table of a search). */
export function tableHtml(
  columns: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  caption?: string,
  options: { wrap?: readonly string[] } = {},
): string {
  const wrapped = columns.map((c) => options.wrap?.includes(c) ?? false);
  const style = (j: number) =>
    wrapped[j]
      ? "text-align:left;white-space:normal;min-width:24em;max-width:40em;vertical-align:top"
      : "text-align:left;white-space:nowrap;vertical-align:top";
  // The first column (what a row is) stays in view while a wide table scrolls sideways.
  const sticky = (j: number) => (j === 0 ? ";position:sticky;left:0;z-index:1;background:var(--jp-layout-color0, #fff)" : "");
  return htmlTable({
    style: "font-size:12px;line-height:1.3",
    ...(caption ? { caption: { html: escapeHtml(caption) } } : {}),
    head: columns.map((c, j) => ({ html: escapeHtml(c), style: `${style(j)}${sticky(j)}` })),
    rows: rows.map((r) => ({
      cells: r.map((c, j) => ({ html: escapeHtml(formatCell(c)), style: `${style(j)};padding:2px 6px${sticky(j)}` })),
    })),
  });
}

/** The first rows of a danfo.js DataFrame as a table; columns of long text (the overviews) wrap. */
export function showDataFrame(df: { columns: string[]; values: unknown[]; shape: number[] }, maxRows = 10): void {
  const rows = (df.values as unknown[][]).slice(0, maxRows).map((r) => r.map((c) => (typeof c === "number" ? c : String(c))));
  const long = df.columns.filter((_, j) => rows.some((r) => String(r[j]).length > 60));
  showTable(df.columns, rows, `${df.shape[0]} rows x ${df.shape[1]} columns${df.shape[0]! > maxRows ? ` (first ${maxRows} shown)` : ""}`, {
    wrap: long,
  });
}

function formatCell(c: string | number): string {
  return typeof c === "number" && !Number.isInteger(c) ? c.toFixed(4) : String(c);
}

function textTable(columns: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const all = [columns.map(String), ...rows.map((r) => r.map(formatCell))];
  const widths = columns.map((_, j) => Math.max(...all.map((r) => (r[j] ?? "").length)));
  return all.map((r) => r.map((c, j) => c.padEnd(widths[j] as number)).join("  ")).join("\n");
}

/**
 * What MobileNetV2's own head (five content-safety classes) says of the posters of each genre: the mean
 * class score over the genre's films, as a heat map. `features` rows are 1,280 pooled features then the
 * five scores.
 */
export function posterClassFigure(dataset: Dataset, features: { ids: readonly string[]; dims: number; data: Float32Array }): Figure {
  const classes = MOBILENET_CLASSES.length;
  const row = new Map(features.ids.map((id, i) => [id, i]));
  const g = dataset.genres.length;
  const sums = Array.from({ length: g }, () => new Float64Array(classes));
  const counts = new Array<number>(g).fill(0);
  dataset.films.forEach((film, f) => {
    const r = row.get(film.id);
    if (r === undefined) return;
    const scores = features.data.subarray(r * features.dims + features.dims - classes, (r + 1) * features.dims);
    for (let j = 0; j < g; j++) {
      if (!dataset.labels[f * g + j]) continue;
      counts[j] = (counts[j] as number) + 1;
      scores.forEach((s, c) => ((sums[j] as Float64Array)[c] += s));
    }
  });
  const shown = dataset.genres.map((_, j) => j).filter((j) => (counts[j] as number) > 0);
  return {
    data: [
      {
        type: "heatmap",
        x: [...MOBILENET_CLASSES],
        y: shown.map((j) => `${dataset.genres[j]} (${counts[j]})`),
        z: shown.map((j) => Array.from(sums[j] as Float64Array, (s) => s / (counts[j] as number))),
        colorscale: "Blues",
        zmin: 0,
        zmax: 1,
      },
    ],
    layout: {
      title: { text: "MobileNetV2's own classes: mean score of each genre's posters" },
      height: 640,
      margin: { l: 150 },
      yaxis: { autorange: "reversed" },
    },
  };
}

/** Films per genre in the training and validation parts of a split, with their shares. */
export function showSplitTable(dataset: Dataset, split: Split): void {
  const train = genreCounts(dataset, split.train);
  const validation = genreCounts(dataset, split.validation);
  const share = (n: number, of: number) => `${((100 * n) / of).toFixed(1)}%`;
  showTable(
    ["genre", "train films", "train share", "validation films", "validation share"],
    dataset.genres.map((g, i) => [
      g,
      train[i] as number,
      share(train[i] as number, split.train.length),
      validation[i] as number,
      share(validation[i] as number, split.validation.length),
    ]),
    `${split.train.length} training films, ${split.validation.length} validation films (seed ${split.seed})`,
  );
}

/** The first `count` vocabulary entries as a table of `columns` (id, word) pairs per row, ids ascending down the rows. */
export function showVocabulary(vectorizer: TextVectorizer, count = 200, columns = 8): void {
  const entries = vectorizer.vocabulary.slice(0, count);
  const rowsNeeded = Math.ceil(entries.length / columns);
  const rows = Array.from({ length: rowsNeeded }, (_, r) =>
    Array.from({ length: columns }, (_, c) => {
      const id = c * rowsNeeded + r;
      return id < entries.length ? [id, JSON.stringify(entries[id])] : ["", ""];
    }).flat(),
  );
  const header = Array.from({ length: columns }, () => ["id", "word"]).flat();
  showTable(
    header,
    rows,
    `the first ${entries.length} of ${vectorizer.vocabularySize()} vocabulary entries (0: padding, 1: out of vocabulary)`,
  );
}

/** An overview as the LSTM reads it: the text, its tokens, and their ids (1 = not in the vocabulary). */
export function showOverviewEncoding(vectorizer: TextVectorizer, overview: string): void {
  const tokens = tokenize(overview);
  const ids = Array.from(vectorizer.encode(overview));
  showTable(
    ["token", ...tokens.map((_, i) => String(i + 1))],
    [
      ["word", ...tokens],
      ["id", ...ids],
    ],
    overview,
  );
}

/** A bar chart of films per genre, sorted by count, with each bar's share of the films. */
export function genreFrequencyFigure(
  genres: readonly string[],
  counts: readonly number[],
  films: number,
  title = "Films per genre",
): Figure {
  const order = genres.map((_, i) => i).sort((a, b) => (counts[b] as number) - (counts[a] as number));
  return {
    data: [
      {
        type: "bar",
        x: order.map((i) => genres[i]),
        y: order.map((i) => counts[i]),
        text: order.map((i) => `${((100 * (counts[i] as number)) / films).toFixed(1)}%`),
        textposition: "outside",
        hovertemplate: "%{x}: %{y} films (%{text})<extra></extra>",
      },
    ],
    layout: { title: { text: title }, xaxis: { tickangle: -45 }, yaxis: { title: { text: "films" } } },
  };
}

/** A histogram of integer values (one bar per value), e.g. genres per film or words per overview. */
export function countHistogramFigure(values: readonly number[], title: string, xTitle: string): Figure {
  const max = values.reduce((m, v) => Math.max(m, v), 0);
  const counts = new Array<number>(max + 1).fill(0);
  for (const v of values) counts[v] += 1;
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  return {
    data: [{ type: "bar", x: counts.map((_, v) => v), y: counts, hovertemplate: "%{x}: %{y} films<extra></extra>" }],
    layout: {
      title: { text: `${title} (mean ${mean.toFixed(2)})` },
      xaxis: { title: { text: xTitle } },
      yaxis: { title: { text: "films" } },
      bargap: 0.05,
      shapes: [{ type: "line", x0: mean, x1: mean, yref: "paper", y0: 0, y1: 1, line: { dash: "dot", color: "#d62728" } }],
    },
  };
}

/** Posters (the original JPEG files) with a caption each, e.g. the film's genres. */
export function showPosterFiles(
  posters: readonly { file: string; caption: string }[],
  options: { columns?: number; width?: number } = {},
): void {
  showImageGrid(
    posters.map((p) => ({ bytes: fs.readFileSync(p.file), caption: p.caption })),
    options,
  );
}

/** PNG bytes of a float RGB image in [0,1] (row-major HWC), e.g. a preprocessed 64x64 poster. */
export async function floatImageToPng(data: Float32Array, height: number, width: number): Promise<Uint8Array> {
  const image = new Jimp({ width, height });
  const rgba = image.bitmap.data;
  for (let p = 0; p < height * width; p++) {
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = Math.round(Math.min(1, Math.max(0, data[p * 3 + c] as number)) * 255);
    rgba[p * 4 + 3] = 255;
  }
  return image.getBuffer("image/png");
}

type HistoryMetric = "loss" | "precision" | "recall";

/** Training vs validation curve of one metric over the epochs, with the best-val_loss epoch marked. */
export function trainingCurveFigure(history: TrainingHistory, metric: HistoryMetric, title?: string): Figure {
  const epochs = history.epochs.map((e) => e.epoch);
  const train = history.epochs.map((e) => e[metric]);
  const validation = history.epochs.map((e) => e[`val_${metric}`]);
  const best = history.epochs.find((e) => e.epoch === history.bestEpoch);
  const data: Record<string, unknown>[] = [
    { type: "scatter", mode: "lines+markers", name: `training ${metric}`, x: epochs, y: train },
    { type: "scatter", mode: "lines+markers", name: `validation ${metric}`, x: epochs, y: validation },
  ];
  if (best) {
    data.push({
      type: "scatter",
      mode: "markers",
      name: `best epoch (${best.epoch})`,
      x: [best.epoch],
      y: [best[`val_${metric}`]],
      marker: { size: 14, symbol: "star", color: "#d62728" },
    });
  }
  return {
    data,
    layout: {
      title: { text: title ?? `${metric}: training vs validation` },
      xaxis: { title: { text: "epoch" }, dtick: epochTick(epochs.length) },
      yaxis: { title: { text: metric } },
      shapes: best
        ? [{ type: "line", x0: best.epoch, x1: best.epoch, yref: "paper", y0: 0, y1: 1, line: { dash: "dot", color: "#d62728" } }]
        : [],
    },
  };
}

/** The step between epoch ticks: whole epochs (Plotly would tick 1.5, 2.5 on a short run), every fifth past 20. */
export function epochTick(epochs: number): number {
  return epochs > 20 ? 5 : 1;
}

/** The learning rate of each epoch (the coursework's schedule: constant, then exp(-0.01) per epoch). */
export function learningRateFigure(history: TrainingHistory): Figure {
  return {
    data: [
      {
        type: "scatter",
        mode: "lines+markers",
        name: "learning rate",
        x: history.epochs.map((e) => e.epoch),
        y: history.epochs.map((e) => e.lr),
      },
    ],
    // An explicit range from 0: Plotly pads a constant series by +-1, which flattens a rate of 1e-4 onto zero.
    layout: {
      title: { text: "Learning rate per epoch" },
      xaxis: { title: { text: "epoch" }, dtick: epochTick(history.epochs.length) },
      yaxis: { title: { text: "learning rate" }, exponentformat: "e", range: [0, 1.15 * Math.max(0, ...history.epochs.map((e) => e.lr))] },
    },
  };
}

/** The best epoch's figures (the checkpoint kept), as a small table. */
export function showBestEpoch(history: TrainingHistory, label: string): void {
  const best = history.epochs.find((e) => e.epoch === history.bestEpoch);
  if (!best) {
    showMarkdown(`**${label}**: no epoch finished, so there is no best epoch.`);
    return;
  }
  const f1 = (p: number, r: number) => (p + r > 0 ? (2 * p * r) / (p + r) : 0);
  showTable(
    ["", "loss", "precision", "recall", "F1 (micro)"],
    [
      ["training", best.loss, best.precision, best.recall, f1(best.precision, best.recall)],
      ["validation", best.val_loss, best.val_precision, best.val_recall, f1(best.val_precision, best.val_recall)],
    ],
    `${label}: best epoch ${best.epoch} of ${history.epochs.length} (lowest val_loss; its weights are the ones kept)`,
  );
}

/** The first `count` preprocessed posters of a poster set, as the CNN sees them (size x size). */
export async function showPreprocessedPosters(posters: PosterSet, count = 6): Promise<void> {
  const pixels = posters.size * posters.size * 3;
  const rows = posters.ids.slice(0, count).map((_, r) => r);
  const tiles = await Promise.all(
    rows.map(async (r) => ({
      bytes: await floatImageToPng(posters.data.subarray(r * pixels, (r + 1) * pixels), posters.size, posters.size),
      caption: `${posters.ids[r]} (${posters.size}x${posters.size})`,
    })),
  );
  showImageGrid(tiles, { width: 96 });
}
