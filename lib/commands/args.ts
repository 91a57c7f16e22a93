/**
 * What every command shares about its arguments: one table of options per command, parsed by Node's
 * `util.parseArgs` and turned into the command's `--help` (so the help cannot drift from what is parsed), one
 * error format for a usage mistake (an unknown option, a missing or bad value: the message, the usage line, exit
 * status 2), and the run of the command itself (its own errors: `<command>: message`, its failure status).
 */
import { parseArgs } from "node:util";

/** An option that takes a value: `--name VALUE` (or `--name=VALUE`). */
export interface StringOption {
  type: "string";
  /** What the value is, in the usage line: DIR, FILE, "TEXT". */
  value: string;
  description: string;
  /** The only values it takes. */
  choices?: readonly string[];
  required?: boolean;
}

/** An option whose value is an integer of at least `min`. */
export interface IntegerOption {
  type: "integer";
  /** What the value is, in the usage line (default N). */
  value?: string;
  min: number;
  description: string;
  required?: boolean;
}

/** An option without a value: `--name`. */
export interface FlagOption {
  type: "boolean";
  description: string;
}

export type OptionSpec = StringOption | IntegerOption | FlagOption;
export type OptionTable = Record<string, OptionSpec>;

/** The command's positional arguments: one (a model kind), or any number (filters). */
export interface PositionalSpec {
  /** As the usage line writes it: <kind>, NOTEBOOK_PREFIX. */
  name: string;
  description: string;
  count: "one" | "any";
  choices?: readonly string[];
}

export interface CommandSpec<O extends OptionTable = OptionTable> {
  /** As in `npm run <name>`. */
  name: string;
  /** What the command does, for --help. */
  summary: string;
  positionals?: PositionalSpec;
  options: O;
  /** How options go together, for --help (e.g. "give one of --poster, --overview, --data"). */
  notes?: readonly string[];
}

type ValueOf<T extends OptionSpec> = T extends FlagOption
  ? boolean
  : T extends IntegerOption
    ? number
    : T extends { choices: readonly (infer C)[] }
      ? C
      : string;

/** The parsed options: a flag is true or false; a value is there when given (always when required). */
export type OptionValues<O extends OptionTable> = {
  [K in keyof O]: O[K] extends FlagOption ? boolean : O[K] extends { required: true } ? ValueOf<O[K]> : ValueOf<O[K]> | undefined;
};

export interface ParsedCommand<O extends OptionTable> {
  values: OptionValues<O>;
  positionals: string[];
}

/** A usage mistake: shown with the usage line, exit status 2. Commands throw it for their own checks of a value too. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Exit status of a usage mistake (as POSIX utilities and Python's argparse use it). */
export const USAGE_EXIT_CODE = 2;

const HELP: FlagOption = { type: "boolean", description: "show this help" };

function optionSynopsis(name: string, option: OptionSpec): string {
  if (option.type === "boolean") return `--${name}`;
  const value = option.type === "integer" ? (option.value ?? "N") : option.choices ? option.choices.join("|") : option.value;
  return `--${name} ${value}`;
}

/**
 * `npm run train -- <kind> [--preset coursework|quick|smoke] [--epochs N] ...`: required options bare, others in
 * brackets, a single argument first and a list of them last.
 */
export function usageLine(spec: CommandSpec): string {
  const options = Object.entries(spec.options).map(([name, option]) => {
    const synopsis = optionSynopsis(name, option);
    return option.type !== "boolean" && option.required ? synopsis : `[${synopsis}]`;
  });
  const words =
    spec.positionals?.count === "one"
      ? [spec.positionals.name, ...options]
      : spec.positionals?.count === "any"
        ? [...options, `[${spec.positionals.name}...]`]
        : options;
  return `usage: npm run ${spec.name} -- ${words.join(" ")}`;
}

/** The command's --help: its usage line, what it does, its arguments and every option with its description. */
export function helpText(spec: CommandSpec): string {
  const rows: [string, string][] = [
    ...(spec.positionals ? [[spec.positionals.name, spec.positionals.description] as [string, string]] : []),
    ...Object.entries(spec.options).map(([name, option]): [string, string] => [
      optionSynopsis(name, option),
      option.type !== "boolean" && option.required ? `${option.description} (required)` : option.description,
    ]),
    ["-h, --help", HELP.description],
  ];
  const width = Math.min(32, Math.max(...rows.map(([left]) => left.length)));
  const row = ([left, right]: [string, string]) =>
    left.length > width ? `  ${left}\n  ${" ".repeat(width)}  ${right}` : `  ${left.padEnd(width)}  ${right}`;
  return [
    usageLine(spec),
    "",
    spec.summary,
    "",
    ...(spec.positionals ? ["argument:", row(rows[0] as [string, string]), ""] : []),
    "options:",
    ...rows.slice(spec.positionals ? 1 : 0).map(row),
    ...(spec.notes && spec.notes.length > 0 ? ["", ...spec.notes] : []),
  ].join("\n");
}

/** "a, b or c" */
function oneOf(choices: readonly string[]): string {
  return choices.length === 1 ? (choices[0] as string) : `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
}

/** Node's parse errors in the shared words, each naming the option or argument. */
function usageErrorOf(error: unknown): UsageError {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const named = /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? /'([^']*)'/.exec(message)?.[1] ?? "";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new UsageError(`unknown option ${named}`);
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new UsageError(`unexpected argument ${named}`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/does not take an argument/.test(message)) return new UsageError(`${named} takes no value`);
      if (/ambiguous/.test(message)) return new UsageError(`${named} needs a value (one that starts with '-' is written ${named}=-VALUE)`);
      return new UsageError(`${named} needs a value`);
    default:
      return new UsageError(message);
  }
}

/**
 * Parses `argv` against the command's table: undefined when --help (or -h) was given, the values otherwise.
 * Throws a UsageError naming the option for an unknown option, a value missing or not among the choices, an
 * integer that is not one or below its minimum, a required option or argument left out, or an argument too many.
 */
export function parseCommand<O extends OptionTable>(spec: CommandSpec<O>, argv: readonly string[]): ParsedCommand<O> | undefined {
  const nodeOptions = Object.fromEntries([
    ...Object.entries(spec.options).map(([name, option]) => [name, { type: option.type === "boolean" ? "boolean" : "string" } as const]),
    ["help", { type: "boolean", short: "h" } as const],
  ]);
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    // no option is `multiple`, so every value is one string or boolean
    parsed = parseArgs({
      args: [...argv],
      options: nodeOptions,
      strict: true,
      allowPositionals: spec.positionals !== undefined,
    }) as typeof parsed;
  } catch (error) {
    throw usageErrorOf(error);
  }
  if (parsed.values["help"] === true) return undefined;
  const values: Record<string, string | number | boolean | undefined> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    const given = parsed.values[name];
    if (option.type === "boolean") {
      values[name] = given === true;
      continue;
    }
    if (given === undefined) {
      if (option.required) throw new UsageError(`--${name} is required`);
      continue;
    }
    const text = given as string;
    if (option.required && text === "") throw new UsageError(`--${name} needs a value`);
    if (option.type === "integer") {
      const n = Number(text);
      if (text.trim() === "" || !Number.isInteger(n) || n < option.min)
        throw new UsageError(`--${name} needs an integer >= ${option.min}, got '${text}'`);
      values[name] = n;
    } else {
      if (option.choices && !option.choices.includes(text))
        throw new UsageError(`--${name} must be ${oneOf(option.choices)}, got '${text}'`);
      values[name] = text;
    }
  }
  const positional = spec.positionals;
  if (positional?.count === "one") {
    const [first, ...extra] = parsed.positionals;
    if (first === undefined) throw new UsageError(`${positional.name} is required`);
    if (positional.choices && !positional.choices.includes(first))
      throw new UsageError(`${positional.name} must be ${oneOf(positional.choices)}, got '${first}'`);
    if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
  }
  return { values: values as OptionValues<O>, positionals: parsed.positionals };
}

/** How a usage mistake is shown: what is wrong, the usage line, where the options are described. */
export function usageErrorText(spec: CommandSpec, error: UsageError): string {
  return `${spec.name}: ${error.message}\n${usageLine(spec)}\n(npm run ${spec.name} -- --help describes every option)`;
}

/**
 * Runs a command: parses its arguments (--help: prints the help, status 0), then `main` with them. A usage
 * mistake is shown with the usage line, status 2; any other error as `<command>: message`, status
 * `failureCode` (default 1). `main` may return the status itself. `exit` ends the process with the status
 * (for commands whose worker threads would keep it alive).
 */
export function runCommand<O extends OptionTable>(
  spec: CommandSpec<O>,
  main: (parsed: ParsedCommand<O>) => Promise<number | void> | number | void,
  options: { argv?: readonly string[]; failureCode?: number; exit?: boolean } = {},
): Promise<number> {
  const finish = (status: number) => {
    if (options.exit) process.exit(status);
    process.exitCode = status;
    return status;
  };
  return (async () => {
    const parsed = parseCommand(spec, options.argv ?? process.argv.slice(2));
    if (parsed === undefined) {
      console.log(helpText(spec));
      return 0;
    }
    return (await main(parsed)) ?? 0;
  })().then(finish, (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(usageErrorText(spec, error));
      return finish(USAGE_EXIT_CODE);
    }
    console.error(`${spec.name}: ${error instanceof Error ? error.message : String(error)}`);
    return finish(options.failureCode ?? 1);
  });
}
