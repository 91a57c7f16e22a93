import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ParityRow, PathRoots, datasetNote, parityReport, reportPath } from "../lib/parity/report";
import { PROJECT_DIR } from "../lib/runtime/config";

/** An absolute POSIX or Windows path anywhere in a text. */
const ABSOLUTE = /(^|[\s("'`=])(\/[A-Za-z]|[A-Za-z]:[\\/])/m;

describe("parity report: the committed docs/PARITY.md and docs/parity.json name no path of the machine that wrote them", () => {
  const roots: PathRoots = {
    projectDir: "/home/someone/imdb-workbook",
    settings: { IMDB_DATA_DIR: "/mnt/shared/data/Multimodal_IMDB_dataset" },
  };

  it("writes a path inside the project relative to it, and one in the dataset's folder as its setting", () => {
    assert.equal(reportPath("/home/someone/imdb-workbook/out/models/quick/cnn", roots), "out/models/quick/cnn");
    assert.equal(reportPath("/home/someone/imdb-workbook", roots), ".");
    assert.equal(reportPath("/mnt/shared/data/Multimodal_IMDB_dataset", roots), "$IMDB_DATA_DIR");
    assert.equal(reportPath("/mnt/shared/data/Multimodal_IMDB_dataset/Images/1.jpg", roots), "$IMDB_DATA_DIR/Images/1.jpg");
    assert.equal(reportPath("/home/someone/data/imdb", { projectDir: roots.projectDir }), "../data/imdb");
    assert.equal(reportPath("/home/someone/imdb-workbook-copy/x", roots), "../imdb-workbook-copy/x");
    // the project first: a dataset setting that points inside the project is written as the project's folder
    assert.equal(
      reportPath("/home/someone/imdb-workbook/data/Multimodal_IMDB_dataset", {
        projectDir: roots.projectDir,
        settings: { IMDB_DATA_DIR: "/home/someone/imdb-workbook/data/Multimodal_IMDB_dataset" },
      }),
      "data/Multimodal_IMDB_dataset",
    );
  });

  it("the report written from hand-made rows and header holds no absolute path", () => {
    const model = reportPath("/home/someone/imdb-workbook/out/quick-check/models/quick/cnn", roots);
    const row = (status: ParityRow["status"], check: string): ParityRow => ({
      group: "metrics",
      check: `cnn (${model}): ${check}`,
      tolerance: "1e-06",
      measured: "Keras 0.2305452, workbook 0.2305452, |diff| 3.16e-09",
      ok: status === "ok",
      status,
      note: "",
      explanation: "the JPEG decoders differ",
    });
    const header = [
      `Written by \`npm run parity\` on 2026-12-03 (106 minutes), on ${datasetNote({ dir: "/mnt/shared/data/Multimodal_IMDB_dataset", fixture: false }, roots)}.`,
      `Or on ${datasetNote({ dir: "/home/someone/imdb-workbook/out/parity/fixture-dataset", fixture: true, missing: "/srv/nowhere/imdb" }, roots)}.`,
    ];
    const text = parityReport([row("ok", "BinaryCrossentropy (probabilities)"), row("explained", "Precision")], header);
    assert.match(text, /on the real dataset \(\$IMDB_DATA_DIR\)\./);
    assert.match(text, /a generated FIXTURE dataset \(no dataset at \.\.\/\.\.\/\.\.\/srv\/nowhere\/imdb\)/);
    assert.match(text, /\| metrics: cnn \(out\/quick-check\/models\/quick\/cnn\): BinaryCrossentropy/);
    assert.doesNotMatch(text, ABSOLUTE);
    assert.doesNotMatch(JSON.stringify({ header, rows: [row("ok", "x")] }), ABSOLUTE);
  });

  it("the committed report and its JSON hold no absolute path", () => {
    for (const file of ["PARITY.md", "parity.json"]) {
      const text = fs.readFileSync(path.join(PROJECT_DIR, "docs", file), "utf8");
      const found = ABSOLUTE.exec(text);
      assert.equal(found, null, `docs/${file} names an absolute path: ...${text.slice(found?.index ?? 0, (found?.index ?? 0) + 80)}`);
    }
  });
});
