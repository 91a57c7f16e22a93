/**
 * The pretrained encoders' files served over HTTP as EncoderFiles (encoders/encoder-files.ts): what the web page reads
 * USE-lite and MobileNetV2 from, the same files as the installed packages', served by the page's own server
 * (./server.ts: encoders/<encoder>/<file>). The packages' versions come with the model list.
 */
import type { EncoderFiles, EncoderName } from "../encoders/encoder-files";

/** The package and installed version of each encoder, as the server found them. */
export type EncoderVersions = Record<EncoderName, { package: string; version: string }>;

/** The encoders' files under `base` (a URL ending in /: base/<encoder>/<file>), read with `fetchFile` (default: fetch). */
export function httpEncoderFiles(
  base: string,
  versions: EncoderVersions,
  fetchFile: (url: string) => Promise<Response> = (url) => fetch(url),
): EncoderFiles {
  return (encoder: EncoderName) => {
    const folder = new URL(`${encodeURIComponent(encoder)}/`, base.endsWith("/") ? base : `${base}/`).href;
    const where = (name: string) => new URL(encodeURIComponent(name), folder).href;
    const get = async (name: string): Promise<Response> => {
      let response: Response;
      try {
        response = await fetchFile(where(name));
      } catch (error) {
        throw new Error(`${where(name)}: cannot be fetched (${error instanceof Error ? error.message : String(error)})`);
      }
      if (!response.ok) throw new Error(`${where(name)}: cannot read the ${encoder} encoder's file (HTTP ${response.status})`);
      return response;
    };
    return {
      package: versions[encoder].package,
      version: () => Promise.resolve(versions[encoder].version),
      where,
      text: async (name) => (await get(name)).text(),
      bytes: async (name) => new Uint8Array(await (await get(name)).arrayBuffer()),
    };
  };
}
