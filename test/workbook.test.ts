import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "../lib/runtime/config";
import { writeFixtureDataset } from "../lib/data/fixture";

const RUNNER = path.join(PROJECT_DIR, "dist", "lib", "commands", "workbook.js");

function notebook(cells: string[]): string {
  return JSON.stringify({
    cells: cells.map((source) => ({ cell_type: "code", execution_count: null, metadata: {}, outputs: [], source })),
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 4,
  });
}

describe("workbook runner", function () {
  this.timeout(120000);

  it("stops a notebook at a failing cell, prints the cell and its real error, and exits non-zero", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workbook-runner-"));
    const notebooks = path.join(dir, "notebooks");
    fs.mkdirSync(notebooks);
    fs.writeFileSync(path.join(notebooks, "01-fine.ipynb"), notebook(["const a: number = 40 + 2;\nconsole.log(`a is ${a}`);"]));
    fs.writeFileSync(
      path.join(notebooks, "02-broken.ipynb"),
      notebook(["const b = 1;", 'console.log("before the failure");\nJSON.parse("{not json");', 'console.log("never reached");']),
    );
    const data = path.join(dir, "data");
    await writeFixtureDataset(data, { films: 3 });

    const run = spawnSync(
      process.execPath,
      [RUNNER, "--notebooks", notebooks, "--data", data, "--out", path.join(dir, "out"), "--preset", "smoke"],
      {
        encoding: "utf8",
      },
    );
    const output = run.stdout + run.stderr;
    assert.equal(run.status, 1, output);
    assert.match(output, /== 01-fine\.ipynb\n {2}cell 1\/1 ok/);
    assert.match(output, /cell 2\/3 FAILED/);
    assert.match(output, /--- cell source ---\n {4}console\.log\("before the failure"\);\n {4}JSON\.parse\("\{not json"\);/);
    assert.match(output, /--- error ---[\s\S]*SyntaxError[\s\S]*JSON/);
    assert.doesNotMatch(output, /cell 3\/3/);
    assert.match(output, /^1 passed, 1 failed$/m);

    // The partly executed notebook is still written, with the output of the cells that ran.
    const executed = JSON.parse(fs.readFileSync(path.join(dir, "out", "notebooks", "02-broken.ipynb"), "utf8"));
    assert.match(JSON.stringify(executed.cells[1].outputs), /before the failure/);
    assert.deepEqual(executed.cells[2].outputs, []);
    assert.ok(fs.existsSync(path.join(dir, "out", "notebooks", "02-broken.html")));
  });

  it("refuses to run without a dataset unless a fixture is allowed, and says where it looked", () => {
    const missing = path.join(os.tmpdir(), "no-such-imdb-dataset");
    const run = spawnSync(process.execPath, [RUNNER, "--data", missing, "01"], { encoding: "utf8" });
    assert.equal(run.status, 2);
    assert.match(run.stderr, new RegExp(`Dataset not found: no IMDB_overview_genres\\.csv in ${missing}`));
  });
});

describe("committed notebooks", () => {
  const dir = path.join(PROJECT_DIR, "notebooks");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb"));

  it("exist, in order", () => {
    assert.ok(files.includes("01-data.ipynb"), files.join(", "));
  });

  for (const file of files) {
    it(`${file} has no outputs (no posters or data in git) and runs on the tslab kernel`, () => {
      const nb = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
      assert.equal(nb.metadata.kernelspec.name, "tslab");
      for (const cell of nb.cells) {
        if (cell.cell_type === "code") assert.deepEqual(cell.outputs, [], `${file}: a cell has outputs`);
      }
    });
  }
});
