/**
 * A notebook's documented entry points: short paths through it that its prose promises work in a fresh kernel
 * (for example "after a restart, run the first cell and the kept-model cells"). Each is the set of code cells
 * tagged `entry:<name>` in the cell metadata (JupyterLab's property inspector shows the tags); `npm test` runs
 * every one at the smoke preset in a fresh kernel after the full notebook has run.
 */
import * as fs from "node:fs";

export const ENTRY_TAG_PREFIX = "entry:";

interface NotebookCell {
  cell_type: string;
  metadata?: { tags?: unknown };
}

/** Entry name -> the code cells on its path, numbered from 1 as the runner numbers them (`cell 3/20`). */
export function entryPoints(notebookFile: string): Map<string, number[]> {
  const notebook = JSON.parse(fs.readFileSync(notebookFile, "utf8")) as { cells: NotebookCell[] };
  const entries = new Map<string, number[]>();
  let code = 0;
  for (const cell of notebook.cells) {
    if (cell.cell_type !== "code") continue;
    code++;
    const tags: unknown = cell.metadata?.tags;
    if (!Array.isArray(tags)) continue;
    for (const tag of tags as unknown[]) {
      if (typeof tag !== "string" || !tag.startsWith(ENTRY_TAG_PREFIX)) continue;
      const name = tag.slice(ENTRY_TAG_PREFIX.length);
      entries.set(name, [...(entries.get(name) ?? []), code]);
    }
  }
  return entries;
}

/** [1, 10, 11, 12, 14] -> "1,10-12,14" (the runner's --cells syntax). */
export function cellList(cells: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cells.length;) {
    let j = i;
    while (j + 1 < cells.length && cells[j + 1] === cells[j]! + 1) j++;
    parts.push(j > i ? `${cells[i]}-${cells[j]}` : `${cells[i]}`);
    i = j + 1;
  }
  return parts.join(",");
}
