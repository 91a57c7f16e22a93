/**
 * A model folder served over HTTP as a FolderSource (models/folder-reader.ts): what the web page reads a model from,
 * with the same checks and messages as the disk's folder, each naming the file by its URL.
 */
import { FolderSource, missingFileMessage } from "../models/folder-reader";
import { WorkbookError } from "../runtime/errors";

/** Why a response is not the file: its status in words. */
function statusWords(response: Response): string {
  return response.status === 404
    ? "file not found (HTTP 404)"
    : `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
}

/** The folder at `base` (a URL ending in /), read with `fetchFile` (default: the page's fetch). */
export function httpFolder(
  base: string,
  fetchFile: (url: string, init?: RequestInit) => Promise<Response> = (url, init) => fetch(url, init),
): FolderSource {
  const folder = base.endsWith("/") ? base : `${base}/`;
  const where = (name: string) => new URL(encodeURIComponent(name), folder).href;
  const get = async (name: string): Promise<Response> => {
    try {
      return await fetchFile(where(name));
    } catch (error) {
      throw new WorkbookError(`${where(name)}: cannot be fetched (${error instanceof Error ? error.message : String(error)})`);
    }
  };
  const has = async (name: string) => (await fetchFile(where(name), { method: "HEAD" }).catch(() => undefined))?.ok === true;
  return {
    dir: folder,
    where,
    has,
    need: async (name, what) => {
      if (!(await has(name))) throw new WorkbookError(missingFileMessage(where(name), folder, what, "not found"));
    },
    json: async (name, what) => {
      const response = await get(name);
      if (!response.ok) throw new WorkbookError(`${where(name)}: cannot read the ${what} (${statusWords(response)})`);
      const text = await response.text();
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw new WorkbookError(
          `${where(name)}: the ${what} is not valid JSON (${(error as Error).message}${text.length === 0 ? "; the file is empty" : ""})`,
        );
      }
    },
    weights: async (name) => {
      const response = await get(name);
      if (!response.ok)
        throw new WorkbookError(`${where(name)}: cannot read the weights that ${where("model.json")} refers to (${statusWords(response)})`);
      return new Uint8Array(await response.arrayBuffer());
    },
    folder: (name) => httpFolder(`${where(name)}/`, fetchFile),
  };
}
