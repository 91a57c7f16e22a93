/**
 * The one option parser of every command: `--name value` options, `--flag`s and, where a command takes
 * them, positional arguments. Anything else is an error that shows the command's usage.
 */

export interface ArgSpec {
  /** Options that take a value: `--name value`. */
  values: readonly string[];
  /** Options without a value: `--name`. */
  flags?: readonly string[];
  /** Whether positional arguments are allowed (default false). */
  positionals?: boolean;
}

export interface ParsedArgs {
  values: Record<string, string | undefined>;
  flags: Record<string, boolean>;
  positionals: string[];
  /** `--help` or `-h` was given. */
  help: boolean;
}

export function parseArgs(argv: readonly string[], spec: ArgSpec, usage: string): ParsedArgs {
  const parsed: ParsedArgs = { values: {}, flags: {}, positionals: [], help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--help" || arg === "-h") {
      parsed.help = true;
      continue;
    }
    if (!arg.startsWith("-")) {
      if (!spec.positionals) throw new Error(`unexpected argument ${arg}\n${usage}`);
      parsed.positionals.push(arg);
      continue;
    }
    const name = arg.startsWith("--") ? arg.slice(2) : "";
    if (spec.values.includes(name)) {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value\n${usage}`);
      parsed.values[name] = value;
    } else if (spec.flags?.includes(name)) {
      parsed.flags[name] = true;
    } else {
      throw new Error(`unknown option ${arg}\n${usage}`);
    }
  }
  return parsed;
}

/** An integer option's value, at least `min`, or undefined when the option was not given. */
export function integerOption(parsed: ParsedArgs, name: string, min: number, usage: string): number | undefined {
  const v = parsed.values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} needs an integer >= ${min}, got '${v}'\n${usage}`);
  return n;
}
