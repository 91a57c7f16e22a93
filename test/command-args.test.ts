import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CommandSpec, UsageError, helpText, parseCommand, usageErrorText, usageLine } from "../lib/commands/args";
import { PROJECT_DIR } from "../lib/runtime/config";

const EXAMPLE = {
  name: "example",
  summary: "Does an example thing.",
  positionals: { name: "<kind>", description: "the kind", count: "one", choices: ["a", "b", "c"] },
  options: {
    model: { type: "string", value: "DIR", required: true, description: "the model folder" },
    top: { type: "integer", min: 1, description: "how many" },
    mode: { type: "string", value: "MODE", choices: ["fast", "slow"], description: "how" },
    json: { type: "boolean", description: "JSON lines" },
  },
  notes: ["A note on how options go together."],
} as const satisfies CommandSpec;

describe("commands' arguments: one parser, one --help, one error format", () => {
  it("the usage line and --help are written from the option table", () => {
    assert.equal(usageLine(EXAMPLE), "usage: npm run example -- <kind> --model DIR [--top N] [--mode fast|slow] [--json]");
    assert.equal(
      helpText(EXAMPLE),
      [
        "usage: npm run example -- <kind> --model DIR [--top N] [--mode fast|slow] [--json]",
        "",
        "Does an example thing.",
        "",
        "argument:",
        "  <kind>            the kind",
        "",
        "options:",
        "  --model DIR       the model folder (required)",
        "  --top N           how many",
        "  --mode fast|slow  how",
        "  --json            JSON lines",
        "  -h, --help        show this help",
        "",
        "A note on how options go together.",
      ].join("\n"),
    );
    const list = { name: "list", summary: "S.", positionals: { name: "NAME", description: "names", count: "any" }, options: {} } as const;
    assert.equal(usageLine(list), "usage: npm run list -- [NAME...]");
  });

  it("parses values, flags, integers and choices; --help or -h anywhere asks for the help", () => {
    const parsed = parseCommand(EXAMPLE, ["b", "--model", "m", "--top=3", "--mode", "slow", "--json"]);
    assert.deepEqual(parsed, { values: { model: "m", top: 3, mode: "slow", json: true }, positionals: ["b"] });
    assert.deepEqual(parseCommand(EXAMPLE, ["a", "--model", "m"])?.values, { model: "m", json: false });
    assert.equal(parseCommand(EXAMPLE, ["--help"]), undefined);
    assert.equal(parseCommand(EXAMPLE, ["a", "-h", "--model", "m"]), undefined);
  });

  it("every usage mistake is a UsageError naming the option or argument", () => {
    const mistakes: [string[], string][] = [
      [["a", "--model", "m", "--frobnicate"], "unknown option --frobnicate"],
      [["a", "--model", "m", "-x"], "unknown option -x"],
      [["a", "--model"], "--model needs a value"],
      [["a", "--model", "--json"], "--model needs a value (one that starts with '-' is written --model=-VALUE)"],
      [["a", "--model", "m", "--json=yes"], "--json takes no value"],
      [["a"], "--model is required"],
      [["a", "--model", ""], "--model needs a value"],
      [["a", "--model", "m", "--top", "0"], "--top needs an integer >= 1, got '0'"],
      [["a", "--model", "m", "--top", "2.5"], "--top needs an integer >= 1, got '2.5'"],
      [["a", "--model", "m", "--top", ""], "--top needs an integer >= 1, got ''"],
      [["a", "--model", "m", "--mode", "medium"], "--mode must be fast or slow, got 'medium'"],
      [["--model", "m"], "<kind> is required"],
      [["d", "--model", "m"], "<kind> must be a, b or c, got 'd'"],
      [["a", "b", "--model", "m"], "unexpected argument b"],
    ];
    for (const [argv, message] of mistakes) {
      assert.throws(
        () => parseCommand(EXAMPLE, argv),
        (e: unknown) => e instanceof UsageError && e.message === message,
        `${argv.join(" ")}: ${message}`,
      );
    }
    const noArguments = { name: "plain", summary: "S.", options: {} } as const;
    assert.throws(() => parseCommand(noArguments, ["stray"]), /^UsageError: unexpected argument stray$/);
    assert.equal(
      usageErrorText(EXAMPLE, new UsageError("unknown option --x")),
      "example: unknown option --x\nusage: npm run example -- <kind> --model DIR [--top N] [--mode fast|slow] [--json]\n(npm run example -- --help describes every option)",
    );
  });

  // Every command that package.json runs (npm run <name>), so that a new command is covered without touching this test.
  const scripts = (JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as { scripts: Record<string, string> })
    .scripts;
  const commands = [
    ...new Set(
      Object.values(scripts).flatMap((script) =>
        [...script.matchAll(/node dist\/lib\/commands\/([\w-]+)\.js/g)].map((m) => m[1] as string),
      ),
    ),
  ].sort();

  it("package.json runs the commands this test loops over", () => {
    for (const command of ["app", "bench", "evaluate", "explain", "parity", "predict", "prune", "train", "tune", "validate", "workbook"])
      assert.ok(commands.includes(command), command);
  });

  for (const command of commands) {
    it(`npm run ${command} -- --help prints the shared help, status 0; an unknown option is refused in the shared format, status 2`, function () {
      this.timeout(120000);
      const file = path.join(PROJECT_DIR, "dist", "lib", "commands", `${command}.js`);
      const help = spawnSync(process.execPath, [file, "--help"], { encoding: "utf8", timeout: 60000 });
      assert.equal(help.status, 0, help.stderr);
      const lines = help.stdout.trimEnd().split("\n");
      const usage = lines[0] as string;
      assert.ok(usage.startsWith(`usage: npm run ${command} -- `), usage);
      const optionsAt = lines.indexOf("options:");
      assert.ok(optionsAt > 0, "an options section");
      const described = lines.slice(optionsAt + 1).filter((l) => /^ {2}-/.test(l));
      assert.ok(
        described.some((l) => /^ {2}-h, --help +show this help$/.test(l)),
        "-h, --help",
      );
      // every option of the usage line is described on its own line, with words after it (or on the next line when it is long)
      for (const option of usage.match(/--[a-z-]+/g) ?? []) {
        const at = lines.findIndex((l, i) => i > optionsAt && (l === `  ${option}` || l.startsWith(`  ${option} `)));
        assert.ok(at > optionsAt, `${command}: ${option} is in the options`);
        const row = `${lines[at]}\n${lines[at + 1] ?? ""}`;
        assert.match(row, / {2}\S[^\n]* {2,}\w/, `${command}: ${option} has a description`);
      }

      const refused = spawnSync(process.execPath, [file, "--no-such-option"], { encoding: "utf8", timeout: 60000 });
      assert.equal(refused.status, 2, refused.stdout + refused.stderr);
      assert.equal(
        refused.stderr,
        `${command}: unknown option --no-such-option\n${usage}\n(npm run ${command} -- --help describes every option)\n`,
      );
    });
  }
});
