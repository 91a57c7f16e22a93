/**
 * A model folder or the cache made on a read-only disk (issue 30): the error says the file system is read-only (or
 * that there is no permission), naming the folder, and what to do; never Node's bare `ENOENT: ... mkdir`.
 *
 * Tests run as root, which may write anywhere, so the disk is emulated at fs.promises.mkdir, as Node behaves on one:
 * making one folder fails with EROFS (or EACCES); making a path recursively fails with EACCES as such, but after an
 * EROFS Node looks the path up, does not find it, and reports ENOENT for the whole path (its MKDirp's default case).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkOutputFolder } from "../lib/models/run-folders";
import { cachedRows } from "../lib/data/row-cache";
import { saveJson } from "../lib/runtime/files";

type Mkdir = typeof fs.promises.mkdir;

function errno(code: string, syscall: string, file: string): NodeJS.ErrnoException {
  const words: Record<string, string> = {
    ENOENT: "no such file or directory",
    EROFS: "read-only file system",
    EACCES: "permission denied",
  };
  const error: NodeJS.ErrnoException = new Error(`${code}: ${words[code]}, ${syscall} '${file}'`);
  error.code = code;
  error.syscall = syscall;
  error.path = file;
  return error;
}

/** Makes every folder under `root` (not `root` itself) impossible to create, as on a read-only disk; returns the undo. */
function readOnlyBelow(root: string, code: "EROFS" | "EACCES"): () => void {
  const original = fs.promises.mkdir;
  const mkdir = async (p: fs.PathLike, options?: fs.MakeDirectoryOptions | fs.Mode | null) => {
    const file = path.resolve(String(p));
    if (!file.startsWith(`${root}${path.sep}`) || fs.existsSync(file))
      return original.call(fs.promises, p, options as fs.MakeDirectoryOptions);
    const recursive = typeof options === "object" && options !== null && options.recursive === true;
    if (!recursive && !fs.existsSync(path.dirname(file))) throw errno("ENOENT", "mkdir", String(p));
    throw errno(recursive && code === "EROFS" ? "ENOENT" : code, "mkdir", String(p));
  };
  fs.promises.mkdir = mkdir as Mkdir;
  return () => {
    fs.promises.mkdir = original;
  };
}

describe("a read-only disk: making a model folder or the cache says so, naming the folder", () => {
  let root: string;
  let undo: (() => void) | undefined;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "read-only-"));
  });
  afterEach(() => {
    undo?.();
    undo = undefined;
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("the emulation: Node's own recursive mkdir reports ENOENT after an EROFS", async () => {
    undo = readOnlyBelow(root, "EROFS");
    await assert.rejects(fs.promises.mkdir(path.join(root, "out", "models"), { recursive: true }), { code: "ENOENT" });
    await assert.rejects(fs.promises.mkdir(path.join(root, "out")), { code: "EROFS" });
  });

  it("a new model folder (out/models/<preset>/<kind>) on a read-only disk", async () => {
    const target = path.join(root, "out", "models", "smoke", "cnn");
    undo = readOnlyBelow(root, "EROFS");
    await assert.rejects(checkOutputFolder(target), {
      name: "WorkbookError",
      message:
        `cannot write the model folder's runs folder ${target}.runs: the file system is read-only (EROFS, making ${root}/out); ` +
        "write to a writable folder (--out, or WORKBOOK_OUT_DIR)",
    });
  });

  it("a model folder where there is no permission to write", async () => {
    const target = path.join(root, "out", "cnn");
    undo = readOnlyBelow(root, "EACCES");
    await assert.rejects(checkOutputFolder(target), {
      name: "WorkbookError",
      message:
        `cannot write the model folder's runs folder ${target}.runs: no permission to write there (EACCES, making ${root}/out); ` +
        "write to a folder of yours (--out, or WORKBOOK_OUT_DIR), or change its permissions",
    });
  });

  it("a JSON file whose folder cannot be made", async () => {
    const file = path.join(root, "reports", "metrics.json");
    undo = readOnlyBelow(root, "EROFS");
    await assert.rejects(saveJson(file, { a: 1 }), {
      name: "WorkbookError",
      message: `cannot write the folder ${root}/reports: the file system is read-only (EROFS); write to a writable folder (--out, or WORKBOOK_OUT_DIR)`,
    });
  });

  for (const code of ["EROFS", "EACCES"] as const) {
    it(`the cache folder (WORKBOOK_CACHE_DIR) on a disk that refuses it (${code})`, async () => {
      const cacheDir = path.join(root, "cache", "posters");
      undo = readOnlyBelow(root, code);
      const rows = async () => ({ ids: ["tt0000001"], data: new Float32Array([1, 2]), skipped: [] });
      const spec = { cacheDir, prefix: "posters-2", key: "0123456789abcdef0123", pipeline: "test", rowLength: 2 };
      const why = code === "EROFS" ? "the file system is read-only" : "no permission to write there";
      const advice =
        code === "EROFS"
          ? "write to a writable folder (set WORKBOOK_CACHE_DIR)"
          : "write to a folder of yours (set WORKBOOK_CACHE_DIR), or change its permissions";
      await assert.rejects(
        cachedRows(["tt0000001"], spec, rows, () => undefined),
        {
          name: "WorkbookError",
          message: `cannot write the cache folder ${cacheDir}: ${why} (${code}, making ${root}/cache); ${advice}`,
        },
      );
    });
  }
});
