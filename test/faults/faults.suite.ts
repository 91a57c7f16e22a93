/**
 * The fault-injection suite (`npm run test:faults`, run by CI; not part of `npm test`, it takes minutes): the
 * training command and `prune` are run with a file-system call failing or the process killed at chosen points
 * (inject.ts), through the model folder's switch, the move of an old-style folder, the checkpoint writes and
 * prune. After every fault:
 *   - the model folder loads, or the error says how to restore it (and doing so works);
 *   - no complete model (a folder with model.json, info.json and thresholds.json) was deleted or damaged;
 *   - an injected disk error was reported naming a file and saying what to do, without a stack trace;
 *   - after a kill, the next training run into the folder works (the stale lock is taken over).
 * It samples fault points (FAULT_POINTS=all tries every one) and prints how many it tried.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { writeFixtureDataset } from "../../lib/data/fixture";
import { loadTrainedModel, runsDir } from "../../lib/models/model-folder";
import { RUN_MARKER } from "../../lib/models/run-folders";
import { PROJECT_DIR } from "../../lib/runtime/config";

const COMMANDS = path.join(PROJECT_DIR, "dist", "lib", "commands");
const INJECT = path.join(PROJECT_DIR, "dist", "test", "faults", "inject.js");
const ALL = process.env["FAULT_POINTS"] === "all";

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  output: string;
}

interface Fault {
  at: number;
  action: "kill" | "ENOSPC" | "EROFS";
}

const tried: Record<string, number> = {};

describe("fault injection: training and prune, killed or failing at chosen file calls", function () {
  this.timeout(1800000);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "workbook-faults-"));
  const data = path.join(base, "dataset");
  const cache = path.join(base, "cache");

  function command(name: string, args: string[], root: string, fault: Fault | { at: 0; log: string }): Outcome {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      IMDB_DATA_DIR: data,
      WORKBOOK_CACHE_DIR: cache,
      FAULT_ROOT: root,
      FAULT_AT: String(fault.at),
      ...("action" in fault ? { FAULT_ACTION: fault.action } : { FAULT_LOG: fault.log }),
    };
    const r = spawnSync(process.execPath, ["--require", INJECT, path.join(COMMANDS, `${name}.js`), ...args], {
      encoding: "utf8",
      env,
      timeout: 300000,
    });
    return { status: r.status, signal: r.signal, stderr: r.stderr, output: r.stdout + r.stderr };
  }

  const train = (target: string, root: string, fault: Fault | { at: 0; log: string }) =>
    command("train", ["cnn", "--preset", "smoke", "--epochs", "2", "--out", target], root, fault);

  /** The fault points of a command run on a copy of `state`: the counted calls, one a line. */
  function faultPoints(state: string, run: (target: string, root: string, fault: { at: 0; log: string }) => Outcome): string[] {
    const root = copyState(state, "count");
    const log = path.join(base, `calls-${path.basename(root)}.log`);
    const r = run(path.join(root, "cnn"), root, { at: 0, log });
    assert.equal(r.status, 0, r.output);
    return fs.readFileSync(log, "utf8").trim().split("\n");
  }

  let copies = 0;
  function copyState(state: string, label: string): string {
    const root = path.join(base, `${label}-${++copies}`);
    fs.cpSync(state, root, { recursive: true, verbatimSymlinks: true });
    return root;
  }

  /** The complete models under `root`: folders with model.json, info.json and thresholds.json (links not followed). */
  function completeModels(root: string): string[] {
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (!entry.isDirectory()) continue;
        const sub = path.join(dir, entry.name);
        if (["model.json", "info.json", "thresholds.json"].every((f) => fs.existsSync(path.join(sub, f)))) found.push(sub);
        walk(sub);
      }
    };
    walk(root);
    return found.map((d) => path.relative(root, d)).sort();
  }

  /** Where a model folder's complete models may have gone without being lost: the old-style folder moves into its runs. */
  function stillThere(before: string[], root: string, target: string): void {
    const after = completeModels(root);
    for (const model of before) {
      if (after.includes(model)) continue;
      // an old-style folder at the target is moved whole to <target>.runs/earlier-<time>
      const moved = model === path.basename(target) && after.some((a) => a.startsWith(`${path.basename(runsDir(target))}/earlier-`));
      assert.ok(moved, `the complete model ${model} was lost (now: ${after.join(", ")})`);
    }
  }

  /** The model folder loads; or the error names the kept run and the command that restores it, which then works. */
  async function loadsOrSaysHow(target: string, hadModel: boolean, what: string): Promise<void> {
    if (!hadModel && !fs.existsSync(target)) return;
    try {
      await loadTrainedModel(target);
    } catch (error) {
      const message = (error as Error).message;
      const fix = /make it the model folder again with: ln -s (\S+) (.+)$/.exec(message);
      assert.ok(fix, `${what}: ${target} does not load, and the error does not say how to restore it: ${message}`);
      fs.symlinkSync(fix[1] as string, fix[2] as string);
      await loadTrainedModel(target);
    }
  }

  function sample(points: number[], every: number, offset: number): number[] {
    return ALL ? points : points.filter((_, i) => i % every === offset % every);
  }

  let fresh: string; // a dataset and no model folder yet
  let retrain: string; // a complete model at out/cnn, its run in out/cnn.runs
  let oldStyle: string; // a complete model in a real folder out/cnn, as versions before run folders wrote it

  before(async () => {
    await tf.setBackend("cpu");
    await writeFixtureDataset(data, { films: 40, seed: 11 });
    fresh = path.join(base, "fresh");
    fs.mkdirSync(fresh);
    retrain = copyState(fresh, "retrain-state");
    const first = train(path.join(retrain, "cnn"), retrain, { at: 0, log: path.join(base, "first.log") });
    assert.equal(first.status, 0, first.output);
    oldStyle = copyState(fresh, "old-style-state");
    fs.cpSync(fs.realpathSync(path.join(retrain, "cnn")), path.join(oldStyle, "cnn"), { recursive: true });
  });

  after(() => {
    console.log(
      `    fault points tried: ${Object.entries(tried)
        .map(([k, n]) => `${k} ${n}`)
        .join(
          ", ",
        )}; ${Object.values(tried).reduce((a, b) => a + b, 0)} in all${ALL ? " (every point)" : " (sampled; FAULT_POINTS=all tries every one)"}`,
    );
    fs.rmSync(base, { recursive: true, force: true });
  });

  async function trainWithFault(state: string, label: string, fault: Fault, point: string, recover: boolean): Promise<void> {
    const root = copyState(state, label);
    const target = path.join(root, "cnn");
    const before = completeModels(root);
    const r = train(target, root, fault);
    const what = `${label}, ${fault.action} at call ${fault.at} (${point})`;
    tried[`${label} ${fault.action}`] = (tried[`${label} ${fault.action}`] ?? 0) + 1;
    if (fault.action === "kill") {
      assert.equal(r.signal, "SIGKILL", `${what}: the process was not killed there: ${r.output}`);
    } else {
      assert.equal(r.status, 1, `${what}: an injected ${fault.action} must fail the command: ${r.output}`);
      const reason = fault.action === "ENOSPC" ? "the disk is full" : "the file system is read-only";
      assert.match(r.stderr, new RegExp(`cannot write the .*${root}.*: ${reason} \\(${fault.action}\\); `), `${what}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: a stack trace instead of a message`);
      assert.ok(!fs.existsSync(`${target}.lock`), `${what}: the lock was left behind`);
    }
    stillThere(before, root, target);
    await loadsOrSaysHow(target, before.length > 0, what);
    if (recover) {
      const next = train(target, root, { at: 0, log: path.join(base, "recover.log") });
      assert.equal(next.status, 0, `${what}: the next run into the folder failed: ${next.output}`);
      await loadTrainedModel(target);
    }
  }

  const index = (points: string[], kinds: RegExp) =>
    points.map((p, i) => ({ n: i + 1, p })).filter(({ p }) => kinds.test(p.split(" ")[1] as string));

  it("a run into a model folder that holds a model: killed anywhere, or the disk full at any write", async () => {
    const points = faultPoints(retrain, (target, root, fault) => train(target, root, fault));
    const all = points.map((_, i) => i + 1);
    for (const [k, at] of sample(all, 4, 1).entries())
      await trainWithFault(retrain, "retrain", { at, action: "kill" }, points[at - 1] as string, k % 3 === 0);
    const writes = index(points, /^(open|handle\.\w+|writeFile|mkdir|symlink)$/).map(({ n }) => n);
    for (const at of sample(writes, 5, 2))
      await trainWithFault(retrain, "retrain", { at, action: "ENOSPC" }, points[at - 1] as string, false);
  });

  it("the first run into a new model folder: killed anywhere; a read-only or full disk is found before any work", async () => {
    const points = faultPoints(fresh, (target, root, fault) => train(target, root, fault));
    for (const [k, at] of sample(
      points.map((_, i) => i + 1),
      6,
      3,
    ).entries())
      await trainWithFault(fresh, "first run", { at, action: "kill" }, points[at - 1] as string, k % 2 === 0);
    // The very first write is the check of the output folder, before the dataset is even read.
    for (const action of ["EROFS", "ENOSPC"] as const) {
      const root = copyState(fresh, "readonly");
      const r = train(path.join(root, "cnn"), root, { at: 1, action });
      tried[`first run ${action}`] = (tried[`first run ${action}`] ?? 0) + 1;
      assert.equal(r.status, 1, r.output);
      assert.match(r.stderr, new RegExp(`cannot write the model folder's runs folder ${root}/cnn\\.runs: .*\\(${action}\\)`));
      assert.doesNotMatch(r.output, /films loaded|posters|training run/, "nothing was prepared");
    }
  });

  it("the move of an old-style model folder into its runs folder: killed at any of its steps", async () => {
    const points = faultPoints(oldStyle, (target, root, fault) => train(target, root, fault));
    // the steps around the switch: moving the old folder away, making the new link, renaming it over the target
    const around = index(points, /^(rename|symlink|rm)$/).filter(({ p }) => / cnn(\.link-\d+)?$/.test(p) || /earlier-/.test(p));
    assert.ok(around.length >= 3, `the switch's steps were not found among: ${points.join("; ")}`);
    for (const { n, p } of around) await trainWithFault(oldStyle, "old-style folder", { at: n, action: "kill" }, p, true);
  });

  it("prune: killed at any of its steps, it never deletes the current model or a model it should keep", async () => {
    // three complete runs and one killed before its first checkpoint, plus a link a killed run left
    const state = copyState(retrain, "prune-state");
    const target = path.join(state, "cnn");
    for (let i = 0; i < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const r = train(target, state, { at: 0, log: path.join(base, "prune-train.log") });
      assert.equal(r.status, 0, r.output);
    }
    const empty = path.join(runsDir(target), "20200101-000000-1");
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, "info.json"), "{}");
    fs.writeFileSync(path.join(empty, RUN_MARKER), "{}"); // a run of this version is marked from its start
    fs.symlinkSync("cnn.runs/x", path.join(state, "cnn.link-4194321"));
    const prune = (t: string, root: string, fault: Fault | { at: 0; log: string }) =>
      command("prune", ["--model", t, "--keep", "1"], root, fault);
    const points = faultPoints(state, prune);
    const runs = fs.readdirSync(runsDir(target)).sort();
    const current = path.basename(fs.realpathSync(target));
    const newestOther = runs.filter((r) => r !== current && r !== path.basename(empty)).at(-1) as string;
    for (let at = 1; at <= points.length; at++) {
      const root = copyState(state, "prune");
      const r = prune(path.join(root, "cnn"), root, { at, action: "kill" });
      tried["prune kill"] = (tried["prune kill"] ?? 0) + 1;
      assert.equal(r.signal, "SIGKILL", r.output);
      await loadTrainedModel(path.join(root, "cnn"));
      assert.equal(path.basename(fs.realpathSync(path.join(root, "cnn"))), current);
      assert.ok(
        fs.existsSync(path.join(runsDir(path.join(root, "cnn")), newestOther, "model.json")),
        `kill at ${points[at - 1]}: the kept run was deleted`,
      );
      const again = prune(path.join(root, "cnn"), root, { at: 0, log: path.join(base, "prune-again.log") });
      assert.equal(again.status, 0, again.output);
      assert.deepEqual(fs.readdirSync(runsDir(path.join(root, "cnn"))).sort(), [newestOther, current].sort());
    }
    const readOnly = copyState(state, "prune-readonly");
    const r = prune(path.join(readOnly, "cnn"), readOnly, { at: 1, action: "EROFS" });
    tried["prune EROFS"] = 1;
    assert.equal(r.status, 1, r.output);
    assert.match(r.stderr, /prune: cannot write the .*: the file system is read-only \(EROFS\)/);
  });
});
