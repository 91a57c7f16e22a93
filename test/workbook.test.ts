import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "../lib/runtime/config";
import { writeFixtureDataset } from "../lib/data/fixture";

const RUNNER = path.join(PROJECT_DIR, "dist", "lib", "commands", "workbook.js");
const STRIP = path.join(PROJECT_DIR, "jupyter", "strip-notebook.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain JS script of jupyter/, also run by git
const { stripped } = require(STRIP) as { stripped: (text: string) => string };

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

  it("an interrupted training cell ends normally and says what was kept; the next cells run; progress is echoed; the executed copy runs from its folder", async function () {
    this.timeout(300000);
    // The notebooks folder sits in the project, so that "../dist/lib" resolves as in notebooks/.
    const notebooks = path.join(PROJECT_DIR, `.workbook-test-${process.pid}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workbook-interrupt-"));
    try {
      fs.mkdirSync(notebooks);
      fs.writeFileSync(
        path.join(notebooks, "02-train.ipynb"),
        notebook([
          'import * as wb from "../dist/lib";\nconst config = { ...wb.notebookConfig(wb.CNN_PRESETS), epochs: 30 };',
          "const context = { paths: config, preset: config.preset, backend: await wb.selectBackend() };\nconst run = await wb.prepareCnnRun(config, context);",
          "const history = await wb.trainRun(run, { config: config });",
          'const kept = await wb.loadPresetModel(config, "cnn");\nconsole.log(`kept epoch ${kept.info.bestEpoch}, ${wb.historyOf(kept).epochs.length} epoch(s) in the history`);',
          "console.log(`the trainer returned ${history.epochs.length} epoch(s)`);",
        ]),
      );
      const data = path.join(dir, "data");
      await writeFixtureDataset(data, { films: 40 });
      const out = path.join(dir, "out");
      const run = spawnSync(
        process.execPath,
        [RUNNER, "--notebooks", notebooks, "--data", data, "--out", out, "--preset", "smoke", "--interrupt-at", "epoch 2/30"],
        { encoding: "utf8", env: { ...process.env, WORKBOOK_CACHE_DIR: path.join(dir, "cache") } },
      );
      const output = run.stdout + run.stderr;
      assert.equal(run.status, 0, output);
      // progress of the running cell is echoed before the cell's own line
      assert.match(output, / {4}\| epoch 1\/30 [^\n]*val_loss[^\n]*\n[\s\S]*\(interrupting the kernel[\s\S]*cell 3\/5 ok/);
      assert.match(output, /cell 4\/5 ok/);
      assert.match(output, /cell 5\/5 ok/);
      assert.match(output, /^1 passed, 0 failed$/m);
      const executed = JSON.parse(fs.readFileSync(path.join(out, "notebooks", "02-train.ipynb"), "utf8"));
      const text = (i: number) => JSON.stringify(executed.cells[i].outputs);
      assert.match(text(2), /interrupt: stopping after the current batch/);
      assert.match(text(2), /interrupted: .*cnn keeps the weights of epoch 1/);
      assert.doesNotMatch(text(2), /Interrupted asynchronously/);
      assert.match(text(3), /kept epoch 1, 1 epoch\(s\) in the history/);
      assert.match(text(4), /the trainer returned 1 epoch\(s\)/);
      assert.deepEqual(
        executed.cells.map((c: { execution_count: number }) => c.execution_count),
        [1, 2, 3, 4, 5],
      );
      // the copy in out/notebooks imports the library by a path that resolves from there
      const rel = path.relative(path.join(out, "notebooks"), path.join(PROJECT_DIR, "dist", "lib"));
      const source = ([] as string[]).concat(executed.cells[0].source).join("");
      assert.ok(source.includes(`from "${rel}"`), source);
    } finally {
      fs.rmSync(notebooks, { recursive: true, force: true });
    }
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
      const text = fs.readFileSync(path.join(dir, file), "utf8");
      const nb = JSON.parse(text);
      assert.equal(nb.metadata.kernelspec.name, "tslab");
      for (const cell of nb.cells) {
        if (cell.cell_type === "code") assert.deepEqual(cell.outputs, [], `${file}: a cell has outputs (run: npm run strip-notebooks)`);
      }
      assert.equal(stripped(text), text, `${file} is not in the stripped, canonical form git keeps (run: npm run strip-notebooks)`);
    });
  }

  it("the strip script: outputs and counts go (git's clean filter reads stdin), and --check names what is not stripped", () => {
    const dirty = JSON.parse(notebook(["console.log(1);"]));
    dirty.cells[0].outputs = [{ output_type: "stream", name: "stdout", text: "1\n" }];
    dirty.cells[0].execution_count = 3;
    dirty.metadata.signature = "sha256:abc";
    const viaFilter = spawnSync(process.execPath, [STRIP], { input: JSON.stringify(dirty), encoding: "utf8" });
    assert.equal(viaFilter.status, 0, viaFilter.stderr);
    const clean = JSON.parse(viaFilter.stdout);
    assert.deepEqual(clean.cells[0].outputs, []);
    assert.equal(clean.cells[0].execution_count, null);
    assert.equal(clean.metadata.signature, undefined);
    assert.equal(clean.cells[0].source, "console.log(1);");
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "strip-")), "dirty.ipynb");
    fs.writeFileSync(file, JSON.stringify(dirty));
    const check = spawnSync(process.execPath, [STRIP, "--check", file], { encoding: "utf8" });
    assert.equal(check.status, 1);
    assert.match(check.stderr, new RegExp(`${file}[\\s\\S]*run: npm run strip-notebooks`));
    assert.equal(spawnSync(process.execPath, [STRIP, file]).status, 0);
    assert.equal(spawnSync(process.execPath, [STRIP, "--check", file]).status, 0);
    assert.match(fs.readFileSync(path.join(PROJECT_DIR, ".gitattributes"), "utf8"), /notebooks\/\*\.ipynb filter=strip-notebook-outputs/);
  });
});
