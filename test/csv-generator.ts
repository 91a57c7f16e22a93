/**
 * Valid CSV files in the coursework's layout, generated from a seed, with what makes CSV hard: quotes, commas and line
 * breaks inside fields, lines inside a quoted field that look like a new record, fields quoted that need no quoting, a
 * byte-order mark, CRLF line ends, no newline at the end. Each file comes with its records as written, field by field,
 * and the line each record starts on: what any correct reader must give back (hostile-input.test.ts). The quoting is
 * written here from RFC 4180, not taken from the workbook.
 */
import { Random, randomInt, seededRandom } from "../lib/runtime/random";

/** The coursework's genre columns: a file with others is read with a warning, and these files must read cleanly. */
export const CSV_GENRES = [
  "Action", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary", "Drama", "Family",
  "Fantasy", "History", "Horror", "Music", "Musical", "Mystery", "N/A", "News", "Reality-TV", "Romance",
  "Sci-Fi", "Short", "Sport", "Thriller", "War", "Western",
]; // prettier-ignore

export interface GeneratedRecord {
  id: string;
  genres: string[];
  overview: string;
  /** The fields as written (before quoting). */
  fields: string[];
  /** 1-based line of the file where the record starts (the header is line 1). */
  line: number;
}

export interface GeneratedCsv {
  seed: number;
  text: string;
  eol: "\n" | "\r\n";
  bom: boolean;
  header: string[];
  records: GeneratedRecord[];
  /** What the file holds that is hard to read, for the test's report. */
  features: Set<string>;
}

const WORDS = [
  "a",
  "ghost",
  "haunts",
  "the",
  "old",
  "house",
  "detective",
  "city",
  "love",
  "war",
  "café",
  "naïve",
  "東京",
  "l'amour",
  "rock'n'roll",
];

function pick<T>(random: Random, items: readonly T[]): T {
  return items[randomInt(random, items.length)] as T;
}

/** One piece of an overview's text: words, or something a CSV reader can trip over. */
function piece(random: Random, eol: string, features: Set<string>): string {
  const mark = (feature: string, text: string): string => {
    features.add(feature);
    return text;
  };
  const r = random();
  if (r < 0.45) return Array.from({ length: 1 + randomInt(random, 5) }, () => pick(random, WORDS)).join(" ");
  if (r < 0.55) return mark("comma", ", and");
  if (r < 0.65) return mark("quote", `she said "run", then "stop"`);
  if (r < 0.72) return mark("doubled quote", 'a ""quoted"" word');
  if (r < 0.82) return mark("line break in a field", pick(random, ["\n", "\r\n", eol]) + "and then");
  if (r < 0.92) {
    // a line inside the field that starts like a record: an Id, then a comma, maybe the rest of a row
    features.add("line that looks like a record");
    const id = `tt${String(randomInt(random, 10_000_000)).padStart(7, "0")}`;
    const rest = random() < 0.5 ? `['Drama'],${"0,".repeat(24)}1,Another film.` : "Comedy";
    return `${pick(random, ["\n", eol])}${random() < 0.3 ? `"${id}"` : id},${rest}`;
  }
  return mark("trailing comma and quote", 'it ends with "a quote",');
}

/** RFC 4180 quoting: a field with a quote, comma or line break is quoted and its quotes doubled; `force` quotes any. */
function quoted(field: string, force: boolean): string {
  return force || /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

function genreList(genres: readonly string[], random: Random): string {
  const q = random() < 0.8 ? "'" : '"';
  return `[${genres.map((g) => `${q}${g}${q}`).join(", ")}]`;
}

/** A valid CSV file of 1 to 12 films from `seed`. */
export function generateCsv(seed: number): GeneratedCsv {
  const random = seededRandom(seed);
  const features = new Set<string>();
  const eol = random() < 0.5 ? "\n" : "\r\n";
  const bom = random() < 0.3;
  if (eol === "\r\n") features.add("CRLF");
  if (bom) features.add("BOM");
  const quoteAll = random() < 0.15;
  const header = ["Id", "Genre", ...CSV_GENRES, "Overview"];
  const lines = [header.map((h) => quoted(h, quoteAll)).join(",")];
  let line = 1 + (lines[0] as string).split("\n").length;
  const records: GeneratedRecord[] = [];
  const ids = new Set<string>();
  const n = 1 + randomInt(random, 12);
  while (records.length < n) {
    const id = `tt${String(randomInt(random, 100_000_000)).padStart(random() < 0.5 ? 7 : 8, "0")}`;
    if (ids.has(id)) continue;
    ids.add(id);
    const genres = CSV_GENRES.filter(() => random() < 0.12);
    if (genres.length === 0) genres.push(pick(random, CSV_GENRES));
    const parts = [pick(random, WORDS), ...Array.from({ length: randomInt(random, 6) }, () => piece(random, eol, features)), "end."];
    const overview = parts.join(" ").replace(/ +/g, " ");
    const fields = [id, genreList(genres, random), ...CSV_GENRES.map((g) => (genres.includes(g) ? "1" : "0")), overview];
    const text = fields.map((f) => quoted(f, quoteAll || random() < 0.1)).join(",");
    if (/^"/.test(text)) features.add("quoted Id");
    records.push({ id, genres, overview, fields, line });
    lines.push(text);
    line += text.split("\n").length;
  }
  const endsWithEol = random() < 0.8;
  if (!endsWithEol) features.add("no newline at the end");
  const text = `${bom ? "\ufeff" : ""}${lines.join(eol)}${endsWithEol ? eol : ""}`;
  return { seed, text, eol, bom, header, records, features };
}
