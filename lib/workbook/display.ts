/**
 * The one adapter to the tslab kernel's display: whether the code runs in a notebook, an output of several MIME
 * types, and an output that later calls replace (a live progress line, a table redrawn as a search goes on).
 * Outside a notebook (a command, a test) there is no display: outputs print their text instead, and the live views
 * print lines.
 */
/** MIME type -> content: strings for text types, JSON values for JSON types. */
export type MimeBundle = Record<string, unknown>;

interface TslabJupyter {
  lastWriteDisplayData?: (message: { data: MimeBundle; metadata: object; transient: object }, update: boolean) => void;
}

/** The tslab kernel's output channel, or undefined outside a notebook. */
function notebookChannel(): TslabJupyter | undefined {
  try {
    // tslab only exposes single-MIME display helpers publicly; a figure needs a bundle of two MIME types,
    // so this goes through the kernel's own display function (the same module instance the kernel uses).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const jupyter = require("tslab/dist/jupyter") as TslabJupyter;
    return typeof jupyter.lastWriteDisplayData === "function" ? jupyter : undefined;
  } catch {
    return undefined;
  }
}

/** True when running inside a tslab kernel. */
export function inNotebook(): boolean {
  return notebookChannel() !== undefined;
}

/** Sends a display_data message with several MIME types; prints the text/plain part outside a notebook. */
export function displayBundle(bundle: MimeBundle): void {
  const channel = notebookChannel();
  if (!channel?.lastWriteDisplayData) {
    console.log(String(bundle["text/plain"] ?? "[rich output: open the notebook to see it]"));
    return;
  }
  channel.lastWriteDisplayData({ data: bundle, metadata: {}, transient: {} }, false);
}

export function showHtml(html: string, text = "[HTML output]"): void {
  displayBundle({ "text/html": html, "text/plain": text });
}

export function showMarkdown(markdown: string): void {
  displayBundle({ "text/markdown": markdown, "text/plain": markdown });
}

/** One output of a notebook that each call replaces (tslab's newDisplay). */
export interface UpdatableDisplay {
  text(s: string): void;
  html(s: string): void;
}

/** A maker of updatable outputs (tslab's newDisplay) when running inside a tslab kernel, else undefined. */
export function updatableDisplays(): (() => UpdatableDisplay) | undefined {
  if (!inNotebook()) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tslab = require("tslab") as { newDisplay: () => UpdatableDisplay };
    return () => tslab.newDisplay();
  } catch {
    return undefined;
  }
}
