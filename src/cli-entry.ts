/**
 * The one way our command-line programs start and read their flags.
 *
 * runCli: main's status becomes the exit code; a thrown error becomes one line
 * on stderr and `errorStatus`, never a stack trace; a bad command line
 * (UsageError) becomes the message and the usage on stderr and exit 2; --help
 * prints the usage on stdout and exits 0. An async main ends with
 * process.exit, so a helper process it started (Chromium, a GPU context)
 * cannot keep it alive.
 *
 * parseCli: node:util parseArgs in strict mode, for every entry point. An
 * unknown flag, a flag without its value, a value given to a switch, a stray
 * word, an unknown command, and (through Cli.int / num / list) a value of the
 * wrong type are all UsageErrors that name the flag.
 */
import * as path from "path";
import { parseArgs } from "node:util";

/**
 * `p` relative to the working directory when it lies below it, else absolute:
 * what a default path is shown (and recorded in outputs) as, so that outputs
 * drawn from the repository root name "data/runs/..." on every machine.
 */
export function cwdRelative(p: string): string {
  const rel = path.relative(process.cwd(), path.resolve(p));
  return rel === "" ? "." : rel.startsWith("..") || path.isAbsolute(rel) ? path.resolve(p) : rel;
}

/** A bad command line: runCli prints the message and the usage line on stderr and exits 2. */
export class UsageError extends Error {
  readonly usage: string;
  constructor(message: string, usage: string) {
    super(message);
    this.name = "UsageError";
    this.usage = usage;
  }
}

/** --help or -h was given: runCli prints the usage on stdout and exits 0. */
export class HelpRequested extends Error {
  readonly usage: string;
  constructor(usage: string) {
    super("help requested");
    this.name = "HelpRequested";
    this.usage = usage;
  }
}

/** Flag name (without the dashes) -> whether it takes a value ("string") or is a switch ("boolean"). */
export type FlagSpec = Record<string, "string" | "boolean">;

export interface CliSpec {
  /** the usage text, starting "usage: ..." */
  usage: string;
  /** flags of a program without commands */
  flags?: FlagSpec;
  /** programs with commands: the first word picks one; each command has its own flags */
  commands?: Record<string, FlagSpec>;
}

/** What parseCli found, with typed readers that turn a bad value into a UsageError naming the flag. */
export class Cli {
  constructor(
    readonly usage: string,
    /** the command word ("" for a program without commands) */
    readonly command: string,
    private readonly values: Record<string, string | boolean | undefined>,
  ) {}

  /** A UsageError with this program's usage. */
  fail(message: string): never {
    throw new UsageError(message, this.usage);
  }

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  bool(name: string): boolean {
    return this.values[name] === true;
  }

  str(name: string): string | undefined;
  str(name: string, dflt: string): string;
  str(name: string, dflt?: string): string | undefined {
    const v = this.values[name];
    if (v === undefined) return dflt;
    if (typeof v !== "string") return this.fail(`--${name} takes a value`);
    if (v === "") return this.fail(`--${name} needs a non-empty value`);
    return v;
  }

  /** A required flag with a value. */
  need(name: string, what: string): string {
    return this.str(name) ?? this.fail(`--${name} ${what} is required`);
  }

  int(name: string, dflt: number, o: { min?: number; max?: number } = {}): number {
    const s = this.str(name);
    if (s === undefined) return dflt;
    const v = /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
    const lo = o.min ?? -Infinity;
    const hi = o.max ?? Infinity;
    if (!Number.isSafeInteger(v) || v < lo || v > hi) {
      const range = hi === Infinity ? (lo === -Infinity ? "" : ` >= ${lo}`) : ` in [${lo}, ${hi}]`;
      return this.fail(`--${name} must be an integer${range}, got '${s}'`);
    }
    return v;
  }

  num(name: string, dflt: number, o: { min?: number } = {}): number {
    const s = this.str(name);
    if (s === undefined) return dflt;
    const v = /^\s*$/.test(s) ? NaN : Number(s);
    if (!Number.isFinite(v) || (o.min !== undefined && v < o.min)) return this.fail(`--${name} must be a number${o.min !== undefined ? ` >= ${o.min}` : ""}, got '${s}'`);
    return v;
  }

  /** A comma-separated list; with `allowed`, every entry must be one of them. */
  list<T extends string>(name: string, dflt: readonly T[] | undefined, allowed?: readonly T[]): T[] | undefined {
    const s = this.str(name);
    if (s === undefined) return dflt === undefined ? undefined : [...dflt];
    const items = s.split(",").filter((x) => x !== "");
    if (items.length === 0) return this.fail(`--${name} needs at least one entry`);
    if (allowed) for (const x of items) if (!allowed.includes(x as T)) return this.fail(`--${name}: '${x}' is not one of ${allowed.join(", ")}`);
    return items as T[];
  }
}

/** The flag a node:util parseArgs error is about, from its message ("Unknown option '--dat'"). */
function flagOf(message: string): string {
  return /'(-{1,2}[^' ]*)/.exec(message)?.[1] ?? "";
}

/** Parses argv strictly; throws UsageError (exit 2 under runCli) or HelpRequested. */
export function parseCli(argv: string[], spec: CliSpec): Cli {
  if (!Array.isArray(argv) || argv.some((a) => typeof a !== "string")) throw new TypeError("parseCli: argv must be an array of strings");
  if (argv.includes("--help") || argv.includes("-h")) throw new HelpRequested(spec.usage);
  let command = "";
  let rest = argv;
  let flags = spec.flags ?? {};
  if (spec.commands) {
    const names = Object.keys(spec.commands);
    if (argv.length === 0 || argv[0].startsWith("-")) throw new UsageError(`a command is required first (${names.join(", ")})`, spec.usage);
    command = argv[0];
    if (!Object.prototype.hasOwnProperty.call(spec.commands, command)) throw new UsageError(`unknown command '${command}' (one of ${names.join(", ")})`, spec.usage);
    flags = spec.commands[command];
    rest = argv.slice(1);
  }
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const [k, t] of Object.entries(flags)) options[k] = { type: t };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: rest, options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    const err = e as Error & { code?: string };
    const flag = flagOf(err.message);
    const where = command ? ` for '${command}'` : "";
    switch (err.code) {
      case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
        throw new UsageError(`unknown flag ${flag}${where}`, spec.usage);
      case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
        throw new UsageError(`unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ""}${where}`.trim(), spec.usage);
      case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
        throw new UsageError(flags[flag.replace(/^-+/, "")] === "boolean" ? `${flag} takes no value` : `${flag} needs a value`, spec.usage);
      default:
        throw new UsageError(err.message.split("\n")[0], spec.usage);
    }
  }
  return new Cli(spec.usage, command, values);
}

export function runCli(main: (argv: string[]) => number | Promise<number>, o: { prefix: string; errorStatus: number }): void {
  const fail = (e: unknown): number => {
    if (e instanceof HelpRequested) {
      process.stdout.write(`${e.usage.trimEnd()}\n`);
      return 0;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`${o.prefix}: ${e.message}\n${e.usage.trimEnd()}\n`);
      return 2;
    }
    process.stderr.write(`${o.prefix}: ${(e as Error)?.message ?? String(e)}\n`);
    return o.errorStatus;
  };
  let r: number | Promise<number>;
  try {
    r = main(process.argv.slice(2));
  } catch (e) {
    process.exitCode = fail(e);
    return;
  }
  if (typeof r === "number") {
    process.exitCode = r;
    return;
  }
  r.then(
    (code) => process.exit(code),
    (e) => process.exit(fail(e)),
  );
}
