import * as assert from "node:assert/strict";
import * as path from "node:path";
import { checkPathName } from "../lib/runtime/config";
import { modelDir } from "../lib/models/model-folder";
import { searchDir } from "../lib/tune/tune";

/** The refusal every path-part name gets (a WorkbookError), with what was given and where it was used. */
function refusal(what: string, name: string): (e: Error) => boolean {
  const message = `${what} ${JSON.stringify(name)} cannot be used as a folder name: expected 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'`;
  return (e) => {
    assert.equal(e.name, "WorkbookError");
    assert.equal(e.message, message);
    return true;
  };
}

describe("names that become parts of a path (tune --name, presets, kinds)", () => {
  it("accepts plain names", () => {
    for (const name of ["search", "lr-1e-3", "v2.1_b", "A", "x".repeat(64)]) assert.equal(checkPathName(name, "name"), name);
  });

  it("refuses names that climb out of their folder, name another folder or a hidden file, or are too long", () => {
    for (const name of ["../../x", "..", ".", "a/b", "a\\b", "/abs", ".hidden", "-flag", "", "a..b", "x".repeat(65), "a b", "é"]) {
      assert.throws(() => checkPathName(name, "the search's name (--name)"), refusal("the search's name (--name)", name), name);
    }
  });

  it("tune's search folder refuses --name ../../x instead of going outside tune/<preset>/", () => {
    const config = { outDir: "/out", preset: "quick", kind: "cnn" };
    assert.equal(searchDir(config, "lr"), path.join("/out", "tune", "quick", "cnn-lr"));
    assert.throws(() => searchDir(config, "../../x"), refusal("the search's name (--name)", "../../x"));
    assert.throws(() => searchDir({ ...config, preset: "../up" }), refusal("the preset", "../up"));
    assert.throws(() => searchDir({ ...config, kind: "../cnn" }), refusal("the model kind", "../cnn"));
  });

  it("a model folder refuses a preset or kind that is not a plain name", () => {
    assert.equal(modelDir("/out", "quick", "cnn"), path.join("/out", "models", "quick", "cnn"));
    assert.throws(() => modelDir("/out", "../../etc", "cnn"), refusal("the preset", "../../etc"));
    assert.throws(() => modelDir("/out", "quick", "a/b"), refusal("the model kind", "a/b"));
  });
});
