/**
 * One notebook open in JupyterLab, driven as a user drives it: the Run menu, Shift+Enter, the toolbar's
 * interrupt button, Ctrl+S, a page reload. What it reads back comes from the page (prompts, rendered outputs)
 * and from the saved file (through Jupyter's contents API), so the checks compare the two.
 */
import type { Locator, Page } from "playwright-core";
import type { LabServer } from "./lab-server";

export interface CellState {
  /** Position among all cells (markdown included), as in the .ipynb. */
  index: number;
  prompt: string;
  source: string;
  text: string;
  /** What the cell wrote to stderr (where tslab prints a cell's error). */
  stderr: string;
}

interface SavedOutput {
  output_type: string;
  data?: Record<string, unknown>;
  name?: string;
  text?: string | string[];
}

interface SavedNotebook {
  cells: { cell_type: string; source: string | string[]; outputs?: SavedOutput[] }[];
}

const PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)";

export class LabNotebook {
  constructor(
    readonly page: Page,
    readonly server: LabServer,
    /** Path relative to the server's root, e.g. out/ui-test/notebooks/01-data.ipynb */
    readonly path: string,
  ) {}

  get name(): string {
    return this.path.split("/").pop()!;
  }

  /** Opens the notebook (a fresh page load) and waits for its kernel to be ready. */
  async open(): Promise<void> {
    await this.page.goto(`${this.server.base}/lab/tree/${this.path}?token=${this.server.token}`);
    await this.waitForCells();
  }

  /** The page reloaded: JupyterLab restores its workspace, and the notebook reconnects to its kernel. */
  async reload(): Promise<void> {
    await this.page.reload();
    await this.waitForCells();
  }

  /** Waits until every cell of the saved notebook is on the page and the kernel is ready. */
  private async waitForCells(): Promise<void> {
    const expected = (await this.saved()).cells.length;
    const started = Date.now();
    while ((await this.page.locator(`${PANEL} .jp-Notebook .jp-Cell`).count()) < expected) {
      if (Date.now() - started > 120_000) throw new Error(`${this.name}: the page shows fewer than its ${expected} cells after 2 minutes`);
      await this.page.waitForTimeout(250);
    }
    await this.waitForKernel("idle", 120_000);
    // The toolbar's indicator can say idle before the kernel's connection is up: wait for the server's word too.
    while ((await this.kernel().catch(() => undefined))?.execution_state !== "idle") {
      if (Date.now() - started > 120_000) throw new Error(`${this.name}: its kernel is not ready after 2 minutes`);
      await this.page.waitForTimeout(250);
    }
  }

  cell(index: number): Locator {
    return this.page.locator(`${PANEL} .jp-Notebook .jp-Cell`).nth(index);
  }

  async cells(): Promise<CellState[]> {
    return this.page.locator(`${PANEL} .jp-Notebook .jp-Cell`).evaluateAll((els) =>
      els.map((el, index) => ({
        index,
        prompt: el.querySelector(".jp-InputPrompt")?.textContent?.trim() ?? "",
        // textContent, not innerText: cells out of view are not laid out (content-visibility), and innerText is then empty.
        source: Array.from(el.querySelectorAll(".cm-content .cm-line"))
          .map((line) => line.textContent ?? "")
          .join("\n"),
        text: Array.from(el.querySelectorAll(".jp-OutputArea-output"))
          .map((o) => o.textContent ?? "")
          .join("\n"),
        stderr: Array.from(el.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
          .map((o) => o.textContent ?? "")
          .join("\n"),
      })),
    );
  }

  /** The code cell whose source contains `fragment` (its position among all cells). */
  async cellWith(fragment: string): Promise<number> {
    const found = (await this.cells()).find((c) => c.source.includes(fragment));
    if (!found) throw new Error(`${this.name}: no cell contains '${fragment}'`);
    return found.index;
  }

  async kernelStatus(): Promise<string> {
    return (
      (await this.page
        .locator(`${PANEL} .jp-Notebook-ExecutionIndicator`)
        .getAttribute("data-status")
        .catch(() => null)) ?? "unknown"
    );
  }

  async waitForKernel(status: string, timeoutMs: number): Promise<void> {
    const started = Date.now();
    while ((await this.kernelStatus()) !== status) {
      if (Date.now() - started > timeoutMs) throw new Error(`${this.name}: the kernel is '${await this.kernelStatus()}', not '${status}'`);
      await this.page.waitForTimeout(250);
    }
  }

  /** A menu item of the menu bar, e.g. ("Run", "Run All Cells"). */
  async menu(menu: string, item: string): Promise<void> {
    await this.page.locator(`.lm-MenuBar-itemLabel:text-is("${menu}")`).click();
    await this.page.locator(`.lm-Menu-itemLabel:text-is("${item}")`).click();
  }

  /** Kernel > Restart Kernel…, confirmed in JupyterLab's dialog; waits until the restarted kernel is idle. */
  async restartKernel(): Promise<void> {
    await this.page.locator(`.lm-MenuBar-itemLabel:text-is("Kernel")`).click();
    await this.page
      .locator(".lm-Menu-itemLabel")
      .filter({ hasText: /^Restart Kernel…?$/ })
      .first()
      .click();
    await this.page
      .locator(".jp-Dialog button")
      .filter({ hasText: /^Restart$/ })
      .click();
    await this.page.waitForTimeout(1000);
    await this.waitForKernel("idle", 120_000);
  }

  /** Selects a cell in command mode, as clicking its prompt does. */
  async select(index: number): Promise<void> {
    await this.page.keyboard.press("Escape");
    await this.cell(index).locator(".jp-InputPrompt").click();
  }

  /** Runs one cell with Shift+Enter. */
  async runCell(index: number): Promise<void> {
    await this.select(index);
    await this.page.keyboard.press("Shift+Enter");
  }

  /** Replaces a cell's source by typing into its editor. */
  async setSource(index: number, source: string): Promise<void> {
    await this.cell(index).locator(".cm-content").click();
    await this.page.keyboard.press("Control+A");
    await this.page.keyboard.insertText(source);
    await this.page.keyboard.press("Escape");
  }

  /**
   * Waits until nothing runs: no cell shows [*], the kernel is idle, and `cell` (the first cell the run was
   * asked to execute) shows a prompt other than `before`.
   */
  async waitUntilDone(cell: number, before: string, timeoutMs: number): Promise<void> {
    const started = Date.now();
    let quiet = 0;
    let begun = false;
    for (;;) {
      const cells = await this.cells();
      const running = cells.some((c) => c.prompt.includes("*"));
      const idle = (await this.kernelStatus()) === "idle";
      quiet = !running && idle && cells[cell]?.prompt !== before ? quiet + 1 : 0;
      if (quiet >= 3) return;
      begun ||= running || !idle || cells[cell]?.prompt !== before;
      if (!begun && Date.now() - started > 20_000) throw new Error(`${this.name}: nothing started running within 20 s of asking`);
      await this.dialogCheck();
      if (Date.now() - started > timeoutMs) throw new Error(`${this.name}: still running after ${timeoutMs / 1000} s`);
      await this.page.waitForTimeout(300);
    }
  }

  /** A JupyterLab dialog (kernel died, restarting, select a kernel) is never expected here. */
  async dialogCheck(): Promise<void> {
    const dialog = this.page.locator(".jp-Dialog");
    if ((await dialog.count()) > 0) throw new Error(`${this.name}: JupyterLab showed a dialog: ${await dialog.first().innerText()}`);
  }

  /** The kernel the notebook's session runs (id and state), from the server's REST API. */
  async kernel(): Promise<{ id: string; execution_state: string }> {
    const response = await this.page.request.get(`${this.server.base}/api/sessions?token=${this.server.token}`);
    const sessions = (await response.json()) as { path: string; kernel: { id: string; execution_state: string } }[];
    const session = sessions.find((s) => s.path === this.path);
    if (!session) throw new Error(`${this.name}: no kernel session (sessions: ${sessions.map((s) => s.path).join(", ")})`);
    return session.kernel;
  }

  async interrupt(): Promise<void> {
    await this.page
      .locator(`${PANEL} .jp-Toolbar-item[data-jp-item-name="interrupt"] button, ${PANEL} [data-jp-item-name="interrupt"]`)
      .first()
      .click();
  }

  /** Ctrl+S, then waits until the tab is no longer marked as modified. */
  async save(): Promise<void> {
    await this.page.keyboard.press("Escape");
    await this.page.keyboard.press("Control+S");
    const started = Date.now();
    while ((await this.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current.jp-mod-dirty").count()) > 0) {
      if (Date.now() - started > 30_000) throw new Error(`${this.name}: still unsaved 30 s after Ctrl+S`);
      await this.page.waitForTimeout(200);
    }
  }

  /** The notebook as saved on the server. */
  async saved(): Promise<SavedNotebook> {
    const response = await this.page.request.get(`${this.server.base}/api/contents/${this.path}?content=1&token=${this.server.token}`);
    if (!response.ok()) throw new Error(`${this.name}: the contents API answered ${response.status()}`);
    return ((await response.json()) as { content: SavedNotebook }).content;
  }

  /**
   * A PNG of the whole notebook: the window is made as tall as the notebook for the shot. Returns how many
   * Plotly outputs had no height in that tall window (a figure that collapsed when the window changed).
   */
  async screenshot(file: string): Promise<number> {
    const scroller = this.page.locator(`${PANEL} .jp-WindowedPanel-outer`);
    const top = (el: HTMLElement) => {
      el.scrollTop = 0;
      return el.scrollHeight;
    };
    const height = await scroller.evaluate(top);
    const viewport = this.page.viewportSize()!;
    await this.page.setViewportSize({ width: viewport.width, height: Math.min(16_000, height + 200) });
    await this.page.waitForTimeout(500);
    await scroller.evaluate(top);
    await this.page.waitForTimeout(1500);
    await this.page.screenshot({ path: file });
    const collapsed = await this.page
      .locator(`${PANEL} .jp-RenderedPlotly, ${PANEL} .js-plotly-plot`)
      .evaluateAll((figures) => figures.filter((f) => f.getBoundingClientRect().height === 0).length);
    await this.page.setViewportSize(viewport);
    await this.page.waitForTimeout(500);
    return collapsed;
  }
}

/** How many Plotly outputs each cell holds in the saved notebook: what the page should draw. */
export function savedFigureCounts(notebook: SavedNotebook): number[] {
  return notebook.cells.map((c) => (c.outputs ?? []).filter((o) => o.data?.["application/vnd.plotly.v1+json"] !== undefined).length);
}
