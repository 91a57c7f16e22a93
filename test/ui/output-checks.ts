/**
 * What a reader must see in a notebook's outputs, read off the page: every Plotly figure drawn with data,
 * every image loaded, every table visible and no wider than the notebook (or scrolling in its own box).
 * Each check returns the problems it found, naming the cell; an empty list means the page is right.
 */
import { LabNotebook, savedFigureCounts } from "./lab-notebook";

/**
 * Compares the figures the saved notebook holds (its application/vnd.plotly.v1+json outputs) with those
 * drawn on the page: an output counts as drawn when it holds Plotly's svg.main-svg with at least one trace
 * (or heat map) in it and takes room on the page, whichever renderer drew it.
 */
export async function figureProblems(
  notebook: LabNotebook,
): Promise<{ expected: number; drawn: number; snapshots: number; problems: string[] }> {
  const expected = savedFigureCounts(await notebook.saved());
  const problems: string[] = [];
  // jupyterlab-plotly stores a PNG snapshot of each figure it draws, shows that snapshot when a saved notebook is
  // opened again, and draws the live figure when the pointer enters it: hover each one, as a reader would.
  const figures = notebook.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedPlotly");
  let snapshots = 0;
  for (let i = 0; i < (await figures.count()); i++) {
    const figure = figures.nth(i);
    if ((await figure.locator(".plot-container").count()) > 0) continue;
    snapshots++;
    const image = figure.locator("img.plot-img");
    await image.scrollIntoViewIfNeeded();
    const box = await image.boundingBox();
    await notebook.page.mouse.move(0, 0);
    if (box) await notebook.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 3 });
    const live = await figure
      .locator(".plot-container")
      .waitFor({ state: "attached", timeout: 10_000 })
      .then(() => true)
      .catch(() => false);
    if (!live) problems.push(`figure ${i} stays a snapshot after the pointer enters it`);
  }
  await notebook.page.mouse.move(0, 0);
  const drawn = await notebook.page
    .locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    .evaluateAll((cells) =>
      cells.map(
        (cell) =>
          Array.from(cell.querySelectorAll(".jp-OutputArea-output")).filter(
            (output) =>
              output.querySelector("svg.main-svg") !== null &&
              output.querySelectorAll("svg.main-svg .trace, svg.main-svg .hm, .heatmaplayer image").length > 0 &&
              output.getBoundingClientRect().height > 0,
          ).length,
      ),
    );
  if (drawn.length !== expected.length) problems.push(`the page shows ${drawn.length} cells, the saved notebook has ${expected.length}`);
  expected.forEach((n, i) => {
    if ((drawn[i] ?? 0) < n) problems.push(`cell ${i}: ${n} figure(s) saved, ${drawn[i] ?? 0} drawn with data and a height`);
  });
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return { expected: sum(expected), drawn: sum(drawn), snapshots, problems };
}

/** Every image in an output (posters, heat maps; not Plotly's own) has loaded: natural width > 0. */
export async function imageProblems(notebook: LabNotebook): Promise<{ images: number; problems: string[] }> {
  const images = notebook.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img:not(.jp-RenderedPlotly img)");
  const count = await images.count();
  const problems: string[] = [];
  for (let i = 0; i < count; i++) {
    const image = images.nth(i);
    await image.scrollIntoViewIfNeeded();
    const state = await image.evaluate(async (img: HTMLImageElement) => {
      if (!img.complete) {
        await new Promise((done) => {
          img.addEventListener("load", done, { once: true });
          img.addEventListener("error", done, { once: true });
          setTimeout(done, 5000);
        });
      }
      const cell = img.closest(".jp-Cell");
      const index = cell ? Array.from(cell.parentElement!.querySelectorAll(".jp-Cell")).indexOf(cell) : -1;
      return { width: img.naturalWidth, cell: index, alt: img.alt || img.src.slice(0, 40) };
    });
    if (state.width === 0) problems.push(`cell ${state.cell}: image ${i} (${state.alt}) did not load`);
  }
  return { images: count, problems };
}

/**
 * Every table in an output is visible and fits the notebook: either no wider than its output area, or inside
 * a box of its own that scrolls sideways and itself fits.
 */
export async function tableProblems(notebook: LabNotebook): Promise<{ tables: number; problems: string[] }> {
  const found = await notebook.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output table").evaluateAll((tables) =>
    tables.map((table) => {
      const output = table.closest(".jp-OutputArea-output") as HTMLElement;
      const cell = table.closest(".jp-Cell")!;
      const index = Array.from(cell.parentElement!.querySelectorAll(".jp-Cell")).indexOf(cell);
      const limit = output.getBoundingClientRect().right + 1;
      const rows = table.querySelectorAll("tr").length;
      const box = table.getBoundingClientRect();
      let scroller: HTMLElement | null = null;
      for (let el = table.parentElement; el && el !== output.parentElement; el = el.parentElement) {
        const overflow = getComputedStyle(el).overflowX;
        if (overflow === "auto" || overflow === "scroll") {
          scroller = el;
          break;
        }
      }
      return {
        cell: index,
        caption: table.querySelector("caption")?.textContent?.slice(0, 60) ?? "",
        visible: box.height > 0 && box.width > 0 && rows > 0,
        fits: box.right <= limit,
        scrollerFits: scroller !== null && scroller.getBoundingClientRect().right <= limit,
        outputFits:
          output.getBoundingClientRect().right <=
          (output.closest(".jp-WindowedPanel-outer")?.getBoundingClientRect().right ?? Infinity) + 1,
      };
    }),
  );
  const problems: string[] = [];
  for (const t of found) {
    const name = `cell ${t.cell}: table '${t.caption}'`;
    if (!t.visible) problems.push(`${name} is not visible`);
    if (!t.outputFits) problems.push(`${name}: its output is wider than the notebook`);
    if (!t.fits && !t.scrollerFits) problems.push(`${name} is wider than the notebook and not in a box of its own that scrolls`);
  }
  return { tables: found.length, problems };
}
