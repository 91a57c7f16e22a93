/**
 * Fault injection for the reliability suite (faults.suite.ts), loaded into a command with `node --require`.
 * It counts the file-system calls that change something under FAULT_ROOT (mkdir, open for writing, a handle's
 * write and sync, rename, symlink, rm, unlink) and makes the FAULT_AT-th of them (1-based) fail:
 *
 *   FAULT_ACTION=kill     the process is killed (SIGKILL) just before the call, as by a power cut or `kill -9`;
 *   FAULT_ACTION=ENOSPC   the call fails as on a full disk (the error of a `write`: no file named);
 *   FAULT_ACTION=EROFS    the call fails as on a read-only file system.
 *
 * FAULT_AT=0 injects nothing and only counts. FAULT_LOG names a file where every counted call is written, one
 * a line ("<n> <call> <path>"), so that a test knows how many fault points a command has and what they are.
 * Calls outside FAULT_ROOT (reading node_modules, the poster cache, temporary files) are neither counted nor failed.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(process.env["FAULT_ROOT"] ?? "/nonexistent-fault-root");
const at = Number(process.env["FAULT_AT"] ?? "0");
const action = process.env["FAULT_ACTION"] ?? "kill";
const logFile = process.env["FAULT_LOG"];
let calls = 0;

function under(file: unknown): boolean {
  if (typeof file !== "string") return false;
  const resolved = path.resolve(file);
  return resolved === root || resolved.startsWith(`${root}${path.sep}`);
}

function errorFor(call: string, file: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException =
    action === "ENOSPC"
      ? new Error("ENOSPC: no space left on device, write")
      : new Error(`EROFS: read-only file system, ${call} '${file}'`);
  error.code = action;
  error.errno = action === "ENOSPC" ? -28 : -30;
  error.syscall = action === "ENOSPC" ? "write" : call;
  if (action !== "ENOSPC") error.path = file;
  return error;
}

/** Counts one call on `file`; kills the process or throws when it is the chosen one. */
function point(call: string, file: string): void {
  calls++;
  if (logFile) fs.appendFileSync(logFile, `${calls} ${call} ${path.relative(root, file)}\n`);
  if (calls !== at) return;
  if (action === "kill") process.kill(process.pid, "SIGKILL");
  throw errorFor(call, file);
}

const fsp = fs.promises as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;

function wrap(name: string, counts: (args: unknown[]) => boolean): void {
  const original = fsp[name]!.bind(fs.promises);
  fsp[name] = async (...args: unknown[]) => {
    if (under(args[0]) && counts(args)) point(name, path.resolve(args[0] as string));
    return original(...args);
  };
}

const always = (): boolean => true;
wrap("mkdir", always);
wrap("rename", always);
wrap("rm", always);
wrap("unlink", always);
wrap("writeFile", always);
// symlink(target, linkPath): the link is what is written
const symlink = fsp["symlink"]!.bind(fs.promises);
fsp["symlink"] = async (...args: unknown[]) => {
  if (under(args[1])) point("symlink", path.resolve(args[1] as string));
  return symlink(...args);
};
// open for writing: the open itself, then the handle's writes and its sync
const open = fsp["open"]!.bind(fs.promises);
fsp["open"] = async (...args: unknown[]) => {
  const file = args[0];
  const flags = String(args[1] ?? "r");
  const writing = /[wa+]/.test(flags);
  if (!writing || !under(file)) return open(...args);
  const resolved = path.resolve(file as string);
  point("open", resolved);
  const handle = (await open(...args)) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const method of ["writeFile", "write", "sync"]) {
    const original = handle[method]!.bind(handle);
    handle[method] = async (...a: unknown[]) => {
      point(`handle.${method}`, resolved);
      return original(...a);
    };
  }
  return handle;
};
