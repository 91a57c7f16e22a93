import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ESLint } from "eslint";
import { PROJECT_DIR } from "../lib/runtime/config";

/** The rules `npm run lint` applies, on code planted at a path of lib/ (never written to disk). */
async function lintAt(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: PROJECT_DIR });
  const [result] = await eslint.lintText(code, { filePath: path.join(PROJECT_DIR, file) });
  return (result?.messages ?? []).filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

describe("lint: the stages of lib/ and their order", function () {
  this.timeout(60000);

  it("an upward import fails (data may not import train)", async () => {
    const errors = await lintAt(
      "lib/data/planted.ts",
      'import { trainRun } from "../train/lifecycle";\nexport const planted = trainRun;\n',
    );
    assert.ok(
      errors.some(
        (e) => e.startsWith("import-x/no-restricted-paths") && /lib\/data may import only earlier stages \(runtime, data\)/.test(e),
      ),
      errors.join("\n"),
    );
  });

  it("a display import in eval fails (eval computes, workbook renders)", async () => {
    const errors = await lintAt(
      "lib/eval/planted.ts",
      'import { showTable } from "../workbook/plots";\nexport const planted = showTable;\n',
    );
    assert.ok(
      errors.some((e) => e.startsWith("import-x/no-restricted-paths")),
      errors.join("\n"),
    );
  });

  it("an import cycle fails", async () => {
    // data/split.ts imports data/dataset.ts: dataset importing split back closes a cycle.
    const file = "lib/data/dataset.ts";
    const code = `${fs.readFileSync(path.join(PROJECT_DIR, file), "utf8")}\nimport { splitDataset } from "./split";\nexport const planted = splitDataset;\n`;
    const errors = await lintAt(file, code);
    assert.ok(
      errors.some((e) => e.startsWith("import-x/no-cycle")),
      errors.join("\n"),
    );
  });

  it("a downward import and the facade are fine", async () => {
    assert.deepEqual(
      await lintAt("lib/train/planted.ts", 'import { predictBatches } from "../eval/inference";\nexport const planted = predictBatches;\n'),
      [],
    );
    assert.deepEqual(
      await lintAt("lib/planted.ts", 'export { showTable } from "./workbook/plots";\nexport { trainRun } from "./train/lifecycle";\n'),
      [],
    );
  });
});
