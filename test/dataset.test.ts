import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  COURSEWORK_GENRES,
  DatasetError,
  describeProblems,
  genreCounts,
  labelRow,
  loadDataset,
  parseGenreList,
  subsetDataset,
  toDataFrame,
} from "../lib/data/dataset";
import { splitTrainValidation } from "../lib/data/split";
import { FixtureFilm, fixtureCsv, writeFixtureDataset } from "../lib/data/fixture";

const GENRES = COURSEWORK_GENRES;

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "imdb-dataset-"));
}

/** A dataset folder from hand-written CSV lines; every listed Id gets a (tiny, not decoded) poster file. */
function writeDataset(csv: string, posterIds: string[]): string {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, "Images"));
  fs.writeFileSync(path.join(dir, "IMDB_overview_genres.csv"), csv);
  for (const id of posterIds) fs.writeFileSync(path.join(dir, "Images", `${id}.jpg`), "\xff\xd8 not decoded here");
  return dir;
}

function row(id: string, genreList: string, genres: Record<string, string>, overview: string): string {
  const cells = GENRES.map((g) => genres[g] ?? "0");
  return [id, genreList, ...cells, overview].map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(",");
}

const HEADER = ["Id", "Genre", ...GENRES, "Overview"].join(",");

describe("dataset", () => {
  it("loads films, labels in CSV genre order, and per-genre counts", () => {
    const csv = [
      HEADER,
      row("tt0000001", "['Comedy', 'Drama']", { Comedy: "1", Drama: "1" }, "A funny, sad film."),
      row("tt0000002", "['Western']", { Western: "1" }, "Cowboys."),
      row("tt0000003", "['Drama']", { Drama: "1" }, "Tears."),
    ].join("\n");
    const d = loadDataset(writeDataset(csv, ["tt0000001", "tt0000002", "tt0000003"]));
    assert.deepEqual(d.genres, [...GENRES]);
    assert.deepEqual(
      d.films.map((f) => f.id),
      ["tt0000001", "tt0000002", "tt0000003"],
    );
    assert.deepEqual(
      d.films.map((f) => f.line),
      [2, 3, 4],
    );
    assert.equal(d.films[0]?.overview, "A funny, sad film.");
    assert.deepEqual(d.films[0]?.genres, ["Comedy", "Drama"]);
    const comedy = GENRES.indexOf("Comedy");
    const drama = GENRES.indexOf("Drama");
    const western = GENRES.indexOf("Western");
    assert.equal(d.labels.length, 3 * 25);
    assert.deepEqual(
      [...labelRow(d, 1)].map((v, g) => (v ? g : -1)).filter((g) => g >= 0),
      [western],
    );
    const counts = genreCounts(d);
    assert.equal(counts[drama], 2);
    assert.equal(counts[comedy], 1);
    assert.equal(counts[western], 1);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      4,
    );
    assert.deepEqual(d.problems, []);
  });

  it("reports a duplicate Id, a bad genre value and a missing poster, each naming its row", () => {
    const csv = [
      HEADER,
      row("tt0000001", "['Drama']", { Drama: "1" }, "First."),
      row("tt0000001", "['Drama']", { Drama: "1" }, "Same Id again."),
      row("tt0000002", "['Comedy']", { Comedy: "yes" }, "Bad value."),
      row("tt0000003", "['Drama']", { Drama: "1" }, "No poster."),
      row("tt0000004", "['Horror']", { Horror: "1" }, "Fine."),
    ].join("\n");
    const d = loadDataset(writeDataset(csv, ["tt0000001", "tt0000002", "tt0000004"]));
    assert.deepEqual(
      d.films.map((f) => f.id),
      ["tt0000001", "tt0000004"],
    );
    const skips = d.problems.filter((p) => p.severity === "skip");
    assert.equal(skips.length, 3);
    assert.deepEqual(
      skips.map((p) => [p.line, p.id]),
      [
        [3, "tt0000001"],
        [4, "tt0000002"],
        [5, "tt0000003"],
      ],
    );
    assert.match(skips[0]!.message, /duplicate Id tt0000001 \(first seen on line 2\)/);
    assert.match(skips[1]!.message, /Comedy='yes'/);
    assert.equal(skips[1]!.column, "Comedy");
    assert.match(skips[2]!.message, /Images\/tt0000003\.jpg is missing/);
    const report = describeProblems(d);
    assert.match(report, /2 films loaded from 5 rows/);
    assert.match(report, /3 skipped/);
    assert.match(report, /IMDB_overview_genres\.csv line 4 \(Id tt0000002\)/);
  });

  it("skips malformed Ids, wrong field counts and empty overviews; warns on a disagreeing Genre list", () => {
    const csv = [
      HEADER,
      row("0000001", "['Drama']", { Drama: "1" }, "Bad Id."),
      "tt0000002,['Drama'],1,0",
      row("tt0000003", "['Drama']", { Drama: "1" }, "  "),
      row("tt0000004", "['Drama', 'Comedy']", { Drama: "1" }, "List says Comedy too."),
      row("tt0000005", "[]", {}, "No genre at all."),
    ].join("\n");
    const d = loadDataset(writeDataset(csv, ["tt0000003", "tt0000004", "tt0000005"]));
    assert.deepEqual(
      d.films.map((f) => f.id),
      ["tt0000004", "tt0000005"],
    );
    const byLine = new Map(d.problems.map((p) => [p.line, p]));
    assert.match(byLine.get(2)!.message, /malformed Id '0000001'/);
    assert.match(byLine.get(3)!.message, /row has 4 fields, the header has 28/);
    assert.match(byLine.get(4)!.message, /empty overview/);
    assert.equal(byLine.get(5)!.severity, "warning");
    assert.match(byLine.get(5)!.message, /disagrees with the one-hot columns \[Drama\]/);
    assert.deepEqual(d.films[0]!.genres, ["Drama"], "the one-hot columns are the labels");
    assert.equal(byLine.get(6)!.severity, "warning");
    assert.match(byLine.get(6)!.message, /no genre/);
  });

  it("counts lines correctly when an overview spans several lines", () => {
    const csv = [
      HEADER,
      row("tt0000001", "['Drama']", { Drama: "1" }, "Two\nlines."),
      row("tt0000002", "['Drama']", { Drama: "1" }, ""),
    ].join("\n");
    const d = loadDataset(writeDataset(csv, ["tt0000001", "tt0000002"]));
    assert.equal(d.films[0]!.overview, "Two\nlines.");
    assert.equal(d.problems[0]!.line, 4);
  });

  it("fails clearly on a wrong folder and on missing columns", () => {
    const missing = path.join(tempDir(), "nope");
    assert.throws(
      () => loadDataset(missing),
      (e: unknown) => e instanceof DatasetError && /nope: dataset folder not found/.test(e.message),
    );
    const dir = writeDataset("Id,Genre,Drama\ntt0000001,['Drama'],1\n", []);
    assert.throws(() => loadDataset(dir), /line 1: missing column\(s\) Overview/);
    const noCsv = tempDir();
    assert.throws(() => loadDataset(noCsv), /IMDB_overview_genres\.csv not found/);
  });

  it("refuses a genre column that appears twice, naming both columns", () => {
    const dir = writeDataset("Id,Genre,Drama,Comedy,Drama,Overview\ntt0000001,['Drama'],1,0,1,Tears.\n", ["tt0000001"]);
    assert.throws(
      () => loadDataset(dir),
      (e: unknown) => e instanceof DatasetError && /line 1: genre column 'Drama' appears twice \(columns 3 and 5\)/.test(e.message),
    );
  });

  it("reads posters that are symbolic links; a link to nothing is a named skip", () => {
    const csv = [
      HEADER,
      row("tt0000001", "['Drama']", { Drama: "1" }, "Tears."),
      row("tt0000002", "['Drama']", { Drama: "1" }, "More tears."),
      row("tt0000003", "['Drama']", { Drama: "1" }, "Even more."),
    ].join("\n");
    const dir = writeDataset(csv, ["tt0000001"]);
    const elsewhere = tempDir();
    fs.writeFileSync(path.join(elsewhere, "real.jpg"), "\xff\xd8 a poster kept elsewhere");
    fs.symlinkSync(path.join(elsewhere, "real.jpg"), path.join(dir, "Images", "tt0000002.jpg"));
    fs.symlinkSync(path.join(elsewhere, "gone.jpg"), path.join(dir, "Images", "tt0000003.jpg"));
    const d = loadDataset(dir);
    assert.deepEqual(
      d.films.map((f) => f.id),
      ["tt0000001", "tt0000002"],
    );
    assert.equal(d.problems.length, 1);
    assert.equal(d.problems[0]!.severity, "skip");
    assert.equal(d.problems[0]!.id, "tt0000003");
    assert.match(d.problems[0]!.message, /poster Images\/tt0000003\.jpg is a link to .*gone\.jpg, which is not there; row skipped/);
  });

  it("a link in Images/ that points to itself skips only the film it is the poster of, naming the file", () => {
    const csv = [
      HEADER,
      row("tt0000001", "['Drama']", { Drama: "1" }, "Tears."),
      row("tt0000002", "['Drama']", { Drama: "1" }, "More tears."),
    ].join("\n");
    const dir = writeDataset(csv, ["tt0000001"]);
    // ELOOP on any stat: one named by a row, and one that no row names (it must not matter at all)
    fs.symlinkSync("tt0000002.jpg", path.join(dir, "Images", "tt0000002.jpg"));
    fs.symlinkSync("stray.jpg", path.join(dir, "Images", "stray.jpg"));
    const d = loadDataset(dir);
    assert.deepEqual(
      d.films.map((f) => f.id),
      ["tt0000001"],
    );
    assert.equal(d.problems.length, 1);
    assert.equal(d.problems[0]!.severity, "skip");
    assert.equal(d.problems[0]!.id, "tt0000002");
    assert.match(
      d.problems[0]!.message,
      /^poster Images\/tt0000002\.jpg is a link that cannot be followed \(it points to itself or into a loop of links\); row skipped$/,
    );
  });

  it("parses Python list literals without splitting names", () => {
    assert.deepEqual(parseGenreList("['Comedy', 'Drama']"), ["Comedy", "Drama"]);
    assert.deepEqual(parseGenreList('["Sci-Fi"]'), ["Sci-Fi"]);
    assert.deepEqual(parseGenreList("[]"), []);
    assert.equal(parseGenreList("Comedy, Drama"), undefined);
  });

  it("splits 80/20 reproducibly: same seed same split, disjoint, complete, ceil(20%) validation", () => {
    const a = splitTrainValidation(101, 42);
    const b = splitTrainValidation(101, 42);
    const c = splitTrainValidation(101, 43);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.validation, c.validation);
    assert.equal(a.validation.length, 21);
    assert.equal(a.train.length, 80);
    const all = [...a.train, ...a.validation].sort((x, y) => x - y);
    assert.deepEqual(
      all,
      Array.from({ length: 101 }, (_, i) => i),
    );
  });

  it("subsets keep labels aligned and the table converts to a danfo DataFrame", () => {
    const films: FixtureFilm[] = [
      { id: "tt0000001", genres: ["Drama"], overview: "One." },
      { id: "tt0000002", genres: ["Comedy", "Romance"], overview: "Two, with a comma." },
    ];
    const d = loadDataset(writeDataset(fixtureCsv(films), ["tt0000001", "tt0000002"]));
    const s = subsetDataset(d, [1]);
    assert.deepEqual(
      s.films.map((f) => f.id),
      ["tt0000002"],
    );
    assert.equal(labelRow(s, 0)[GENRES.indexOf("Romance")], 1);
    const df = toDataFrame(d);
    assert.deepEqual(df.shape, [2, 28]);
    assert.deepEqual(df["Id"].values, ["tt0000001", "tt0000002"]);
    assert.deepEqual(df["Comedy"].values, [0, 1]);
  });

  it("the generated fixture dataset loads without problems", async function () {
    this.timeout(20000);
    const dir = tempDir();
    const films = await writeFixtureDataset(dir, { films: 12, seed: 3 });
    const d = loadDataset(dir);
    assert.equal(d.films.length, 12);
    assert.deepEqual(d.problems, []);
    assert.deepEqual(
      d.films.map((f) => f.genres),
      films.map((f) => GENRES.filter((g) => f.genres.includes(g))),
    );
  });

  describe("broken files: every problem named, nothing merged or dropped silently", () => {
    const films = ["tt0000001", "tt0000002", "tt0000003", "tt0000004", "tt0000005"];
    const lines = () => [
      HEADER,
      row("tt0000001", "['Drama']", { Drama: "1" }, "First, a fine overview."),
      row("tt0000002", "['Comedy']", { Comedy: "1" }, "Second, also fine."),
      row("tt0000003", "['Horror']", { Horror: "1" }, "Third, fine."),
      row("tt0000004", "['Western']", { Western: "1" }, "Fourth, fine."),
      row("tt0000005", "['War']", { War: "1" }, "Fifth, fine."),
    ];
    const problemsOf = (d: { problems: { severity: string; line?: number; id?: string; message: string }[] }) =>
      d.problems.map((p) => `${p.severity} ${p.line} ${p.id}: ${p.message}`);

    it("a missing closing quote: the row that runs on and every record it swallowed are skips that name their lines and Ids", () => {
      const csv = lines();
      csv[2] = (csv[2] as string).replace('"Second, also fine."', '"Second, the quote is never closed.');
      const d = loadDataset(writeDataset(csv.join("\n"), films));
      const problems = problemsOf(d);
      // tt0000002's row ran on; the records after it that it swallowed are named, none is merged into an overview
      assert.ok(
        problems.some((p) => /^skip 3 tt0000002: broken quoting: this row runs on over the records of line\(s\) 4 \(tt0000003\)/.test(p)),
        problems.join("\n"),
      );
      assert.ok(
        problems.some((p) => /^skip 4 tt0000003: this record was read as part of the row that starts on line 3/.test(p)),
        problems.join("\n"),
      );
      const loaded = d.films.map((f) => f.id);
      assert.ok(!loaded.includes("tt0000002") && !loaded.includes("tt0000003"), loaded.join(","));
      assert.ok(
        d.films.every((f) => !f.overview.includes("tt000000")),
        "no overview holds another record's text",
      );
      // every record of the file is accounted for: loaded, or skipped with its Id
      const skipped = d.problems.filter((p) => p.severity === "skip").map((p) => p.id);
      assert.deepEqual([...loaded, ...skipped].sort(), [...films].sort());
      assert.equal(d.rowsRead, 5);
      assert.match(describeProblems(d), /films loaded from 5 rows/);
    });

    it("an unterminated quote at the end of a line (a stray quote inside a field): the parser's error is a named skip", () => {
      const csv = lines();
      csv[4] = (csv[4] as string).replace("Fourth, fine.", 'Fourth \'s "odd" quote');
      csv[4] = (csv[4] as string).replace(/,"?Fourth[^\n]*$/, ',"Fourth has a "stray" quote in the middle"');
      const d = loadDataset(writeDataset(csv.join("\n"), films));
      const problems = problemsOf(d);
      const loaded = d.films.map((f) => f.id);
      const skipped = d.problems.filter((p) => p.severity === "skip").map((p) => p.id);
      assert.deepEqual([...loaded, ...skipped].sort(), [...films].sort(), problems.join("\n"));
      assert.ok(
        problems.some((p) => /^skip 5 tt0000004: .*(could not read this row|runs on)/.test(p)),
        problems.join("\n"),
      );
    });

    it("reads a file with a byte-order mark and CRLF line ends like any other", () => {
      const d = loadDataset(writeDataset("\ufeff" + lines().join("\r\n") + "\r\n", films));
      assert.deepEqual(
        d.films.map((f) => f.id),
        films,
      );
      assert.deepEqual(d.problems, []);
      assert.equal(d.films[0]?.overview, "First, a fine overview.");
      assert.deepEqual(
        d.films.map((f) => f.line),
        [2, 3, 4, 5, 6],
      );
    });

    it("a header-only file and a file whose every row is unusable are fatal errors naming the file", () => {
      const headerOnly = writeDataset(HEADER + "\n", []);
      assert.throws(
        () => loadDataset(headerOnly),
        (e: unknown) => e instanceof DatasetError && /IMDB_overview_genres\.csv: the file has a header but no film rows/.test(e.message),
      );
      const noPosters = writeDataset(lines().join("\n"), []);
      assert.throws(
        () => loadDataset(noPosters),
        (e: unknown) =>
          e instanceof DatasetError &&
          /none of the 5 rows is usable/.test(e.message) &&
          /poster Images\/tt0000001\.jpg is missing/.test(e.message),
      );
    });

    it("warns, naming the rows, when the file is not UTF-8 (Latin-1)", () => {
      const csv = lines();
      csv[3] = (csv[3] as string).replace("Third, fine.", "Thérèse, a café in Zürich.");
      const dir = writeDataset("", films);
      fs.writeFileSync(path.join(dir, "IMDB_overview_genres.csv"), Buffer.from(csv.join("\n"), "latin1"));
      const d = loadDataset(dir);
      assert.equal(d.films.length, 5);
      const warnings = d.problems.filter((p) => p.severity === "warning");
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]?.id, "tt0000003");
      assert.match(warnings[0]?.message ?? "", /not valid UTF-8.*Latin-1/);
    });

    it("a 0-byte poster is reported as empty, not as missing", () => {
      const dir = writeDataset(lines().join("\n"), films);
      fs.writeFileSync(path.join(dir, "Images", "tt0000005.jpg"), "");
      const d = loadDataset(dir);
      const problem = d.problems.find((p) => p.id === "tt0000005");
      assert.equal(problem?.severity, "skip");
      assert.match(problem?.message ?? "", /poster Images\/tt0000005\.jpg is empty \(0 bytes\)/);
    });
  });
});
