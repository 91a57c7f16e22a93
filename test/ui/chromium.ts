/** Debian's Chromium (or the one WORKBOOK_CHROMIUM names), for the browser tests. */
import * as fs from "node:fs";

export function findChromium(): string {
  const candidates = [process.env["WORKBOOK_CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  const found = candidates.find((c): c is string => Boolean(c) && fs.existsSync(c!));
  if (!found) {
    throw new Error(
      "No Chromium found (tried WORKBOOK_CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser, /usr/bin/google-chrome). " +
        "On Debian or Ubuntu: 'bash jupyter/setup.sh --browser' (installs the chromium package), or set WORKBOOK_CHROMIUM.",
    );
  }
  return found;
}
