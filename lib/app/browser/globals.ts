/**
 * The two Node globals the library's page code uses, injected by ../bundle.ts: Buffer (the `buffer` package, which
 * jimp's browser-safe parts use too) and a `process` whose environment is empty, so that every WORKBOOK_* setting
 * takes its default.
 */
import { Buffer } from "buffer";

export { Buffer };
export const process = { env: {} as Record<string, string | undefined>, platform: "browser", versions: {}, argv: [], cwd: () => "/" };
