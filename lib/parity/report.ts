/**
 * What `npm run parity` (parity.ts) writes into docs/PARITY.md and docs/parity.json besides the measurements: the
 * report's table, and the paths it names. Both files are committed, so a path in them never carries the machine
 * that wrote them: a file inside the project is written relative to it, one inside a folder given by a setting as
 * that setting (`$IMDB_DATA_DIR/...`). Apart from parity.ts so that it can be tested without running parity.
 */
import * as path from "node:path";
import { isInside } from "../runtime/files";

/** One check of the report, as peers/keras_parity.py returns it. */
export interface ParityRow {
  group: string;
  check: string;
  tolerance: string;
  measured: string;
  ok: boolean;
  /** ok; explained: outside the tolerance for a reason the report gives; differs: a difference to fix. */
  status: "ok" | "explained" | "differs";
  note: string;
  explanation: string;
}

/** What a path in the report is written relative to. */
export interface PathRoots {
  /** The project folder: a path inside it is written relative to it. */
  projectDir: string;
  /** Settings that name folders (e.g. `{ IMDB_DATA_DIR: "/data/imdb" }`): a path inside one is written `$NAME/...`. */
  settings?: Readonly<Record<string, string | undefined>>;
}

const posix = (relative: string) => relative.split(path.sep).join("/");

/**
 * `file` as the committed report names it: relative to the project when inside it (`out/models/quick/cnn`), as a
 * setting when inside that setting's folder (`$IMDB_DATA_DIR`, `$IMDB_DATA_DIR/Images`), otherwise relative to the
 * project (`../shared/data`); never absolute (a path on another drive keeps only its last name).
 */
export function reportPath(file: string, roots: PathRoots): string {
  const projectDir = path.resolve(roots.projectDir);
  const absolute = path.resolve(projectDir, file);
  if (absolute === projectDir) return ".";
  if (isInside(absolute, projectDir)) return posix(path.relative(projectDir, absolute));
  for (const [name, dir] of Object.entries(roots.settings ?? {})) {
    if (!dir) continue;
    const folder = path.resolve(projectDir, dir);
    if (absolute === folder) return `$${name}`;
    if (isInside(absolute, folder)) return `$${name}/${posix(path.relative(folder, absolute))}`;
  }
  const relative = path.relative(projectDir, absolute);
  return path.isAbsolute(relative) ? `.../${path.basename(absolute)}` : posix(relative);
}

/** The header's words for the dataset the checks ran on. */
export function datasetNote(
  dataset: { dir: string; fixture: false } | { dir: string; fixture: true; missing: string },
  roots: PathRoots,
): string {
  return dataset.fixture
    ? `a generated FIXTURE dataset (no dataset at ${reportPath(dataset.missing, roots)})`
    : `the real dataset (${reportPath(dataset.dir, roots)})`;
}

/** docs/PARITY.md: the header's lines, then one table row per check, then why each explained row differs. */
export function parityReport(rows: readonly ParityRow[], header: readonly string[]): string {
  const escape = (s: string) => s.replace(/\|/g, "\\|");
  const lines = [
    "# Parity with Keras",
    "",
    ...header,
    "",
    "| | check | tolerance | measured |",
    "|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.status === "differs" ? "**differs**" : r.status} | ${escape(r.group)}: ${escape(r.check)}${r.note ? ` (${escape(r.note)})` : ""} | ${escape(r.tolerance)} | ${escape(r.measured)} |`,
    ),
    "",
    ...(rows.some((r) => r.status === "explained") ? ["## Why the explained rows differ", ""] : []),
    ...rows.filter((r) => r.status === "explained").flatMap((r) => [`- **${escape(r.group)}: ${escape(r.check)}.** ${r.explanation}.`, ""]),
  ];
  return lines.join("\n");
}
