/**
 * The coursework's table: IMDB_overview_genres.csv + Images/<Id>.jpg.
 *
 * Every row is validated and every problem is reported with the file, the CSV line and the Id. A problem
 * is either fatal (the dataset cannot be used: wrong folder, missing columns), a skip (the film is left
 * out, and the report says so), or a warning (the film is kept, the report says what was odd). No row is
 * dropped without a problem that names it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Papa from "papaparse";
import * as dfd from "danfojs-node";
import * as tf from "@tensorflow/tfjs";
import { WorkbookError } from "../runtime/errors";
import { MAX_OVERVIEW_WORDS, limitOverview } from "./text";

export const CSV_FILE = "IMDB_overview_genres.csv";
export const IMAGES_DIR = "Images";

/** The coursework's 25 genre columns, in CSV order (the models' output order). */
export const COURSEWORK_GENRES = [
  "Action", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary", "Drama", "Family",
  "Fantasy", "History", "Horror", "Music", "Musical", "Mystery", "N/A", "News", "Reality-TV", "Romance",
  "Sci-Fi", "Short", "Sport", "Thriller", "War", "Western",
] as const;

export type Severity = "fatal" | "skip" | "warning";

export interface DatasetProblem {
  severity: Severity;
  /** The file the problem is in (the CSV, or a poster). */
  file: string;
  /** 1-based line of the CSV where the row starts (the header is line 1). */
  line?: number;
  id?: string;
  column?: string;
  message: string;
}

export interface Film {
  id: string;
  /** 1-based CSV line where the film's row starts. */
  line: number;
  overview: string;
  /** Genre names from the one-hot columns (the labels), in CSV genre order. */
  genres: string[];
  posterFile: string;
}

export interface Dataset {
  dir: string;
  csvFile: string;
  imagesDir: string;
  /** Genre column names in CSV order. */
  genres: string[];
  films: Film[];
  /** Labels, row-major [films.length, genres.length]: labels[i * genres.length + g] is 1 when film i has genre g. */
  labels: Uint8Array;
  /** Every problem found, in file order; the fatal ones have already been thrown. */
  problems: DatasetProblem[];
  /** Rows in the CSV (excluding the header), loaded or not. */
  rowsRead: number;
}

export class DatasetError extends WorkbookError {
  constructor(readonly problems: DatasetProblem[]) {
    super(`The dataset cannot be used:\n${problems.map((p) => `  - ${formatProblem(p)}`).join("\n")}`);
    this.name = "DatasetError";
  }
}

export interface LoadDatasetOptions {
  /** Check that every film's poster exists (default true). */
  checkPosters?: boolean;
}

const ID_PATTERN = /^tt\d{7,8}$/;

/** Loads and validates the dataset in `dir` (the folder holding the CSV and Images/). */
export function loadDataset(dir: string, options: LoadDatasetOptions = {}): Dataset {
  const checkPosters = options.checkPosters ?? true;
  const { csvFile, imagesDir } = datasetFiles(dir, checkPosters);
  const parsed = parseCsvRows(stripBom(fs.readFileSync(csvFile, "utf8")));
  const rows = parsed.rows;
  const headerRow = rows.shift();
  if (!headerRow) throw fatal(csvFile, "the file is empty.");
  const header = readHeader(csvFile, headerRow);

  const problems: DatasetProblem[] = [];
  const report: Report = (severity, line, id, message, column) => {
    const p: DatasetProblem = { severity, file: csvFile, line, message };
    if (id !== undefined && id !== "") p.id = id;
    if (column !== undefined) p.column = column;
    problems.push(p);
  };
  if (header.genres.join(",") !== COURSEWORK_GENRES.join(",")) {
    report("warning", 1, undefined, `genre columns differ from the coursework's 25: ${header.genres.join(", ")}`);
  }

  // A record (a line that starts with an Id) that is not where a row starts was swallowed by the row before it:
  // a quote that was never closed makes the parser read on across lines. Both are reported, neither is used.
  const swallowedBy = swallowedRecords(parsed.recordStarts, rows, header.columns.length);
  for (const [row, swallowed] of swallowedBy) {
    for (const record of swallowed) {
      report(
        "skip",
        record.line,
        record.id,
        `this record was read as part of the row that starts on line ${row.line} (a quote there is not closed); record skipped`,
      );
    }
  }

  const reader: RowReader = {
    header,
    imagesDir,
    posterSizes: checkPosters ? posterFileSizes(imagesDir) : undefined,
    firstLineOfId: new Map<string, number>(),
    report,
  };
  const films: Film[] = [];
  const labelRows: Uint8Array[] = [];
  for (const row of rows) {
    const swallowed = swallowedBy.get(row);
    if (swallowed) {
      const lines = swallowed.map((r) => `${r.line} (${r.id})`).join(", ");
      report("skip", row.line, (row.fields[header.idCol] ?? "").trim(), `broken quoting: this row runs on over the records of line(s) ${lines}; row skipped`);
      continue;
    }
    const read = readRow(row, reader);
    if (read) {
      films.push(read.film);
      labelRows.push(read.labels);
    }
  }

  const records = rows.length + [...swallowedBy.values()].reduce((n, r) => n + r.length, 0);
  if (records === 0) throw fatal(csvFile, "the file has a header but no film rows.");
  if (films.length === 0) {
    throw new DatasetError([
      ...problems.slice(0, 10),
      { severity: "fatal", file: csvFile, message: `none of the ${records} rows is usable (${problems.length} problem(s); the first are above).` },
    ]);
  }
  const genres = header.genres;
  const labels = new Uint8Array(films.length * genres.length);
  labelRows.forEach((row, i) => labels.set(row, i * genres.length));
  return { dir, csvFile, imagesDir, genres, films, labels, problems, rowsRead: records };
}

function fatal(file: string, message: string): DatasetError {
  return new DatasetError([{ severity: "fatal", file, message }]);
}

/** The dataset's CSV and poster folder; a missing folder or file is fatal, naming it. */
function datasetFiles(dir: string, checkPosters: boolean): { csvFile: string; imagesDir: string } {
  const csvFile = path.join(dir, CSV_FILE);
  const imagesDir = path.join(dir, IMAGES_DIR);
  if (!fs.existsSync(dir)) {
    throw fatal(dir, `dataset folder not found. Put the coursework dataset there, or set IMDB_DATA_DIR to its folder.`);
  }
  if (!fs.existsSync(csvFile)) throw fatal(csvFile, `${CSV_FILE} not found in ${dir}.`);
  if (checkPosters && !fs.statSync(imagesDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw fatal(imagesDir, `poster folder ${IMAGES_DIR}/ not found in ${dir}.`);
  }
  return { csvFile, imagesDir };
}

/** Where each column is: Id, the Genre list, the Overview, and the one-hot genre columns between Genre and Overview. */
interface Header {
  columns: string[];
  idCol: number;
  genreListCol: number;
  overviewCol: number;
  genreCols: number[];
  genres: string[];
}

/** The header row's columns; missing columns, or no genre column, are fatal. */
function readHeader(csvFile: string, headerRow: CsvRow): Header {
  const columns = headerRow.fields.map((c) => c.trim());
  const missing = ["Id", "Genre", "Overview"].filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    throw fatal(csvFile, `line 1: missing column(s) ${missing.join(", ")}; found ${columns.join(", ")}.`);
  }
  const genreListCol = columns.indexOf("Genre");
  const overviewCol = columns.indexOf("Overview");
  // The one-hot genre columns are the ones between Genre and Overview, as in the coursework's layout.
  const genreCols = columns.map((_, i) => i).filter((i) => i > genreListCol && i < overviewCol);
  if (genreCols.length === 0) {
    throw fatal(csvFile, `line 1: no genre columns between Genre and Overview; found ${columns.join(", ")}.`);
  }
  const firstColumnOf = new Map<string, number>();
  for (const i of genreCols) {
    const name = columns[i] as string;
    const first = firstColumnOf.get(name);
    if (first !== undefined) {
      throw fatal(csvFile, `line 1: genre column '${name}' appears twice (columns ${first + 1} and ${i + 1}); each genre must be one column.`);
    }
    firstColumnOf.set(name, i);
  }
  return { columns, idCol: columns.indexOf("Id"), genreListCol, overviewCol, genreCols, genres: genreCols.map((i) => columns[i] as string) };
}

type Report = (severity: Severity, line: number, id: string | undefined, message: string, column?: string) => void;

/** What reading a row needs besides the row: the header, the posters there are (undefined: not checked), the Ids seen. */
interface RowReader {
  header: Header;
  imagesDir: string;
  posterSizes: Map<string, number> | undefined;
  firstLineOfId: Map<string, number>;
  report: Report;
}

/** One CSV row as a film and its labels; a row that cannot be used is reported (with why) and gives undefined. */
function readRow(row: CsvRow, reader: RowReader): { film: Film; labels: Uint8Array } | undefined {
  const { fields, line } = row;
  const { header, report } = reader;
  const { genres } = header;
  const id = (fields[header.idCol] ?? "").trim();
  if (row.errors.length > 0) {
    report("skip", line, id, `the CSV parser could not read this row (${row.errors.join("; ")}); row skipped`);
    return undefined;
  }
  if (fields.length !== header.columns.length) {
    report("skip", line, id, `row has ${fields.length} fields, the header has ${header.columns.length}; row skipped`);
    return undefined;
  }
  if (!ID_PATTERN.test(id)) {
    report("skip", line, id, `malformed Id '${id}' (expected tt followed by 7 or 8 digits); row skipped`, "Id");
    return undefined;
  }
  const firstLine = reader.firstLineOfId.get(id);
  if (firstLine !== undefined) {
    report("skip", line, id, `duplicate Id ${id} (first seen on line ${firstLine}); row skipped`, "Id");
    return undefined;
  }
  reader.firstLineOfId.set(id, line);

  const labels = new Uint8Array(genres.length);
  const badGenres: string[] = [];
  const badCells: string[] = [];
  header.genreCols.forEach((col, g) => {
    const cell = (fields[col] ?? "").trim();
    if (cell === "1") labels[g] = 1;
    else if (cell !== "0") {
      badGenres.push(genres[g] as string);
      badCells.push(`${genres[g]}='${cell}'`);
    }
  });
  if (badCells.length > 0) {
    report("skip", line, id, `genre value(s) not 0/1: ${badCells.join(", ")}; row skipped`, badGenres.join(", "));
    return undefined;
  }

  const fullOverview = (fields[header.overviewCol] ?? "").trim();
  if (fullOverview === "") {
    report("skip", line, id, "empty overview; row skipped", "Overview");
    return undefined;
  }
  const limited = limitOverview(fullOverview);
  if (limited.cut) {
    report(
      "warning",
      line,
      id,
      `overview has ${limited.words} words; only its first ${MAX_OVERVIEW_WORDS} are kept (no model reads more, see MAX_OVERVIEW_WORDS)`,
      "Overview",
    );
  }
  const overview = limited.text;

  const posterName = `${id}.jpg`;
  const posterFile = path.join(reader.imagesDir, posterName);
  if (reader.posterSizes && !reader.posterSizes.has(posterName)) {
    report("skip", line, id, `poster ${path.join(IMAGES_DIR, posterName)} is missing; row skipped`);
    return undefined;
  }
  if (reader.posterSizes && reader.posterSizes.get(posterName) === BROKEN_LINK) {
    const target = fs.readlinkSync(posterFile);
    report("skip", line, id, `poster ${path.join(IMAGES_DIR, posterName)} is a link to ${target}, which is not there; row skipped`);
    return undefined;
  }
  if (reader.posterSizes && reader.posterSizes.get(posterName) === LINK_LOOP) {
    const where = path.join(IMAGES_DIR, posterName);
    report("skip", line, id, `poster ${where} is a link that cannot be followed (it points to itself or into a loop of links); row skipped`);
    return undefined;
  }
  if (reader.posterSizes && reader.posterSizes.get(posterName) === 0) {
    report("skip", line, id, `poster ${path.join(IMAGES_DIR, posterName)} is empty (0 bytes); row skipped`);
    return undefined;
  }
  if (fields.some((f) => f.includes(REPLACEMENT_CHARACTER))) {
    report(
      "warning",
      line,
      id,
      "the row holds bytes that are not valid UTF-8 (shown as \uFFFD): the file is probably Latin-1 or Windows-1252; save it as UTF-8",
    );
  }

  const oneHot = genres.filter((_, g) => labels[g] === 1);
  const listed = parseGenreList(fields[header.genreListCol] ?? "");
  if (listed === undefined) {
    report("warning", line, id, `Genre cell '${fields[header.genreListCol]}' is not a list literal; the one-hot columns are used`, "Genre");
  } else if (!sameSet(listed, oneHot)) {
    report("warning", line, id, `Genre list [${listed.join(", ")}] disagrees with the one-hot columns [${oneHot.join(", ")}]; the one-hot columns are used`, "Genre");
  }
  if (oneHot.length === 0) report("warning", line, id, "film has no genre (all genre columns are 0)");
  return { film: { id, line, overview, genres: oneHot, posterFile }, labels };
}

const REPLACEMENT_CHARACTER = "\uFFFD";

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The rows (by object) that ran on over later records, with those records' lines and Ids. Only a row the parser
 * could not read cleanly (its errors) or with another number of fields than the header can have run on: a quote
 * that is never closed is closed by a later record's quote, which the parser reports, and leaves that record's
 * other fields in the row. A well-formed row whose quoted overview holds a line that starts like a record (an Id,
 * then a comma) is valid CSV, and that line is text.
 */
function swallowedRecords(
  recordStarts: readonly { line: number; id: string }[],
  rows: readonly CsvRow[],
  columns: number,
): Map<CsvRow, { line: number; id: string }[]> {
  const rowStartLines = new Set(rows.map((r) => r.line));
  const out = new Map<CsvRow, { line: number; id: string }[]>();
  let r = 0;
  for (const record of recordStarts) {
    if (rowStartLines.has(record.line)) continue;
    while (r + 1 < rows.length && (rows[r + 1] as CsvRow).line <= record.line) r++;
    const row = rows[r] as CsvRow;
    if (row.errors.length === 0 && row.fields.length === columns) continue;
    out.set(row, [...(out.get(row) ?? []), record]);
  }
  return out;
}

interface CsvRow {
  fields: string[];
  line: number;
  /** The parser's complaints about this row (quotes it could not make sense of). */
  errors: string[];
}

/**
 * Parses CSV text into rows of raw string fields, remembering the line each row starts on and the parser's
 * errors for it; also lists every line that starts like a record (an Id then a comma), so that a row that
 * swallowed records through a missing quote can be caught.
 */
function parseCsvRows(text: string): { rows: CsvRow[]; recordStarts: { line: number; id: string }[] } {
  const rows: CsvRow[] = [];
  let rowStart = 0;
  let line = 1;
  Papa.parse<string[]>(text, {
    skipEmptyLines: false,
    step: (result) => {
      const fields = result.data;
      const end = result.meta.cursor;
      const isBlank = fields.length === 1 && fields[0] === "";
      if (!isBlank) rows.push({ fields, line, errors: result.errors.map((e) => `${e.code}: ${e.message}`) });
      line += countNewlines(text, rowStart, end + 1);
      rowStart = end + 1;
    },
  });
  const recordStarts: { line: number; id: string }[] = [];
  text.split("\n").forEach((l, i) => {
    const m = RECORD_START.exec(l);
    if (m && i > 0) recordStarts.push({ line: i + 1, id: m[1] as string });
  });
  return { rows, recordStarts };
}

/** How a record's line starts: its Id, possibly quoted, then a comma. */
const RECORD_START = /^"?(tt\d{7,8})"?,/;

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < Math.min(to, text.length); i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/**
 * The size of every poster file in `imagesDir`, by name (an empty file can never be decoded). A symbolic link
 * counts as the file it points to (many keep large image folders as links); a link whose target is not there has
 * size BROKEN_LINK, and one that cannot be followed (ELOOP: it points to itself) LINK_LOOP. One bad entry must
 * never stop the whole dataset: only the film whose poster it is is skipped, and a file no row names is ignored.
 */
function posterFileSizes(imagesDir: string): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const entry of fs.readdirSync(imagesDir, { withFileTypes: true })) {
    if (entry.isFile()) sizes.set(entry.name, fs.statSync(path.join(imagesDir, entry.name)).size);
    else if (entry.isSymbolicLink()) {
      const size = linkedFileSize(path.join(imagesDir, entry.name));
      if (size !== undefined) sizes.set(entry.name, size);
    }
  }
  return sizes;
}

/** The size of the file a link points at, BROKEN_LINK or LINK_LOOP; undefined when it points at no file (a folder). */
function linkedFileSize(link: string): number | undefined {
  let target: fs.Stats | undefined;
  try {
    target = fs.statSync(link, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") return LINK_LOOP;
    throw error;
  }
  if (target === undefined) return BROKEN_LINK;
  return target.isFile() ? target.size : undefined;
}

const BROKEN_LINK = -1;
const LINK_LOOP = -2;

/** Parses a Python list literal such as "['Comedy', 'Drama']"; undefined when it is not one. */
export function parseGenreList(cell: string): string[] | undefined {
  const text = cell.trim();
  if (!text.startsWith("[") || !text.endsWith("]")) return undefined;
  const inner = text.slice(1, -1).trim();
  if (inner === "") return [];
  const items: string[] = [];
  const item = /\s*(['"])(.*?)\1\s*(,|$)/y;
  let pos = 0;
  while (pos < inner.length) {
    item.lastIndex = pos;
    const m = item.exec(inner);
    if (!m) return undefined;
    items.push(m[2] as string);
    pos = item.lastIndex;
  }
  return items;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}

export function formatProblem(p: DatasetProblem): string {
  const where = [path.basename(p.file), p.line !== undefined ? `line ${p.line}` : "", p.id ? `(Id ${p.id})` : ""]
    .filter(Boolean)
    .join(" ");
  return `${p.severity}: ${where}: ${p.message}`;
}

/** A short report: counts by severity, then up to `limit` problems, one a line. */
export function describeProblems(dataset: Dataset, limit = 20): string {
  const skips = dataset.problems.filter((p) => p.severity === "skip").length;
  const warnings = dataset.problems.filter((p) => p.severity === "warning").length;
  const lines = [
    `${dataset.films.length} films loaded from ${dataset.rowsRead} rows of ${dataset.csvFile}: ${skips} skipped, ${warnings} warning(s).`,
  ];
  for (const p of dataset.problems.slice(0, limit)) lines.push(`  ${formatProblem(p)}`);
  if (dataset.problems.length > limit) lines.push(`  ... and ${dataset.problems.length - limit} more (dataset.problems has them all)`);
  return lines.join("\n");
}

export const filmIds = (d: Dataset): string[] => d.films.map((f) => f.id);
/** The overviews of all films, or of the given rows (e.g. a split's training rows). */
export const filmOverviews = (d: Dataset, rows?: readonly number[]): string[] => (rows ?? d.films.map((_, i) => i)).map((r) => (d.films[r] as Film).overview);
export const filmPosterFiles = (d: Dataset): string[] => d.films.map((f) => f.posterFile);

/** The label row of film i. */
export function labelRow(d: Dataset, i: number): Uint8Array {
  return d.labels.subarray(i * d.genres.length, (i + 1) * d.genres.length);
}

/** Films per genre, in genre order, over all films or the given rows. */
export function genreCounts(d: Dataset, rows?: readonly number[]): number[] {
  const counts = new Array<number>(d.genres.length).fill(0);
  const indices = rows ?? d.films.map((_, i) => i);
  for (const i of indices) {
    for (let g = 0; g < d.genres.length; g++) counts[g] += d.labels[i * d.genres.length + g] as number;
  }
  return counts;
}

/** A new dataset holding the given rows, in the given order (problems are carried over). */
export function subsetDataset(d: Dataset, rows: readonly number[]): Dataset {
  const labels = new Uint8Array(rows.length * d.genres.length);
  rows.forEach((r, i) => labels.set(labelRow(d, r), i * d.genres.length));
  return { ...d, films: rows.map((r) => d.films[r] as Film), labels };
}

/** The validated table as a danfo.js DataFrame (Id, genre list, the one-hot columns, Overview). */
export function toDataFrame(d: Dataset, rows?: readonly number[]): dfd.DataFrame {
  const indices = rows ?? d.films.map((_, i) => i);
  const data: Record<string, (string | number)[]> = { Id: [], Genre: [] };
  for (const g of d.genres) data[g] = [];
  data["Overview"] = [];
  for (const i of indices) {
    const film = d.films[i] as Film;
    data["Id"]!.push(film.id);
    data["Genre"]!.push(film.genres.join(", "));
    d.genres.forEach((g, j) => data[g]!.push(d.labels[i * d.genres.length + j] as number));
    data["Overview"]!.push(film.overview);
  }
  return new dfd.DataFrame(data);
}

/** The label rows of the given films as a [rows.length, genres] float32 tensor. */
export function labelTensor(d: Dataset, rows: readonly number[]): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from(labelMatrix(d, rows)), [rows.length, d.genres.length]);
}

/** The label rows of the given films, row-major [rows.length, genres]. */
export function labelMatrix(d: Dataset, rows: readonly number[]): Uint8Array {
  const out = new Uint8Array(rows.length * d.genres.length);
  rows.forEach((r, i) => out.set(labelRow(d, r), i * d.genres.length));
  return out;
}
