/**
 * The HTML that the notebook's views are built of: escaped text, and tables. Every table of the workbook (showTable,
 * the live trials table, the parity report, a model's layers, the film cards, the explanation cards and the explain
 * command's page) is built by htmlTable, so that a table is written one way: its cells keep the styles their view
 * gives them, inline, where the Notebook's own table CSS cannot override them.
 */

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A cell: its content as HTML (escape text with escapeHtml) and its inline style, if any. */
export interface TableCell {
  html: string;
  style?: string;
}

/** A body row: its cells, and its own inline style, if any. */
export interface TableRow {
  cells: readonly TableCell[];
  style?: string;
}

export interface HtmlTable {
  /** The header row (th cells, in a thead; the body is then in a tbody); none: the rows alone. */
  head?: readonly TableCell[];
  rows: readonly TableRow[];
  /** The caption, as HTML. */
  caption?: TableCell;
  /** The table element's inline style. */
  style?: string;
  /** In a box that scrolls sideways when the table is wider than the output (default true). */
  scroll?: boolean;
}

function styled(style: string | undefined): string {
  return style === undefined ? "" : ` style="${style}"`;
}

function cell(tag: "th" | "td" | "caption", c: TableCell): string {
  return `<${tag}${styled(c.style)}>${c.html}</${tag}>`;
}

/** A table as HTML: caption, header row and rows, each cell with its own style. */
export function htmlTable(table: HtmlTable): string {
  const rows = table.rows.map((r) => `<tr${styled(r.style)}>${r.cells.map((c) => cell("td", c)).join("")}</tr>`).join("");
  const body = table.head ? `<thead><tr>${table.head.map((c) => cell("th", c)).join("")}</tr></thead><tbody>${rows}</tbody>` : rows;
  const html = `<table${styled(table.style)}>${table.caption ? cell("caption", table.caption) : ""}${body}</table>`;
  return table.scroll === false ? html : `<div style="overflow-x:auto">${html}</div>`;
}
