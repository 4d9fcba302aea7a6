/**
 * The argument parsing shared by the task command lines (`deno task train`, `reproduce`,
 * `figures`): strict option parsing whose errors name the flag, the bad value and what is valid
 * ({@link UsageError}, exit code 2, nothing written), the validators of flags several commands
 * take (--db, --backend, --figure, --preset, --set, ...), and the exit codes.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { watchParent } from "../results/process.ts";
import { parsePOMDP, PomdpParseError } from "../pomdp/parser.ts";
import {
  checkResultsDb,
  DEFAULT_DB_PATH,
  DEFAULT_LEASE_TIMEOUT_MS,
  ResultsDbError,
} from "../results/db.ts";
import { applySettings, parseNumber } from "../train/config.ts";
import {
  checkFigureId,
  checkPresetId,
  FIGURE_IDS,
  type FigureId,
  FIGURES,
  type Overrides,
  PRESET_IDS,
  type PresetId,
} from "./presets.ts";
import { TRAINER_BACKENDS, type TrainerBackend } from "./runner.ts";

/** A command-line mistake: reported with exit code 2 before any work. */
export class UsageError extends Error {
  /** Make a usage error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A flag value as an error message quotes it (strings in JSON quotes). */
export function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/**
 * Validate a `pomdp:<file>` environment before anything is written: the file exists and parses
 * (a malformed model is a usage error, exit 2). Returns `pomdp:<absolute real path>`, so that one
 * file named two ways is one configuration.
 */
export function checkPomdpEnv(env: string, flag = "env"): string {
  const file = env.slice("pomdp:".length);
  let text: string;
  try {
    if (!Deno.statSync(file).isFile) bad(flag, env, "pomdp:<path of a .pomdp file>");
    text = Deno.readTextFileSync(file);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    bad(flag, env, "pomdp:<path of an existing .pomdp file>");
  }
  try {
    parsePOMDP(text, { source: file });
  } catch (e) {
    if (!(e instanceof PomdpParseError)) throw e;
    throw new UsageError(`invalid --${flag} ${show(env)}: malformed .pomdp file: ${e.message}`);
  }
  return `pomdp:${Deno.realPathSync(file)}`;
}

/** Throw the {@link UsageError} of a bad flag value: the flag, the value and what is valid. */
export function bad(flag: string, value: unknown, valid: string): never {
  throw new UsageError(`invalid --${flag} ${show(value)}; expected ${valid}`);
}

/** The options a command accepts, as `node:util` parseArgs takes them. */
export type OptionSpec = Record<
  string,
  { type: "string" | "boolean"; multiple?: boolean; short?: string }
>;

/** parseArgs with errors that name the flag, and repeated single-valued flags rejected. */
export function parse(args: string[], options: OptionSpec) {
  let parsed;
  const valid = Object.keys(options).map((k) => `--${k}`).join(", ");
  // "--seed -1": a value starting with one dash is a (bad) value here, not an option.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i], next = args[i + 1];
    const name = a.startsWith("--") && !a.includes("=") ? a.slice(2) : undefined;
    if (
      name && options[name]?.type === "string" && next !== undefined && /^-(?!-)/.test(next)
    ) {
      joined.push(`${a}=${next}`);
      i++;
    } else {
      joined.push(a);
    }
  }
  try {
    parsed = parseArgs({
      args: joined,
      options,
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    if (unknown) throw new UsageError(`unknown option ${unknown[1]}; valid options: ${valid}`);
    const missing = /Option '(-\S+)(?:, -\S+)?(?: <value>)?' argument missing/.exec(msg) ??
      /Option '(?:-\w, )?(--\S+) <value>' argument missing/.exec(msg);
    if (missing) throw new UsageError(`option ${missing[1]} needs a value`);
    const noValue = /Option '(?:-\w, )?(--[\w-]+)' argument is ambiguous/.exec(msg);
    if (noValue) {
      const at = joined.indexOf(noValue[1]);
      throw new UsageError(
        `option ${noValue[1]} needs a value, found the option ${show(joined[at + 1])} ` +
          `(write ${noValue[1]}=VALUE for a value that starts with '-')`,
      );
    }
    const ambiguous = /Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(msg);
    if (ambiguous) throw new UsageError(`option ${ambiguous[1]} takes no value`);
    throw new UsageError(msg);
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `unexpected argument ${show(parsed.positionals[0])}; all arguments are --options (${valid})`,
    );
  }
  const seen = new Map<string, string[]>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== "option") continue;
    const list = seen.get(t.name) ?? [];
    list.push(String(t.value ?? "true"));
    seen.set(t.name, list);
  }
  for (const [name, list] of seen) {
    if (!options[name]?.multiple && list.length > 1) {
      throw new UsageError(
        `--${name} given ${list.length} times (${list.join(", ")}); give it once`,
      );
    }
  }
  return parsed.values as Record<string, string | boolean | string[] | undefined>;
}

/** The value if it is a string, else undefined. */
export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** An optional integer flag within [min, max] (undefined when not given). */
export function intFlag(flag: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  let n: number;
  try {
    n = parseNumber(String(v), `--${flag}`);
  } catch {
    bad(flag, v, `an integer from ${min} to ${max}`);
  }
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    bad(flag, v, `an integer from ${min} to ${max}`);
  }
  return n;
}

function pathFlag(flag: string, v: unknown, fallback: string): string {
  if (v === undefined) return fallback;
  if (typeof v !== "string" || v.trim() === "") bad(flag, v, "a non-empty path");
  return v;
}

/** A directory flag (default `fallback`): a non-empty path that is not an existing file. */
export function dirFlag(flag: string, v: unknown, fallback: string): string {
  const p = pathFlag(flag, v, fallback);
  try {
    if (!Deno.statSync(p).isDirectory) bad(flag, p, "a directory (this path is a file)");
  } catch (e) {
    if (e instanceof UsageError) throw e;
  }
  return p;
}

/**
 * Whether `path` is a file committed to a git repository (`git ls-files --error-unmatch`); false
 * when git is missing or the file is not tracked.
 */
export function isCommittedFile(path: string): boolean {
  const slash = path.lastIndexOf("/");
  const dir = slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
  try {
    return new Deno.Command("git", {
      args: ["-C", dir, "ls-files", "--error-unmatch", "--", path.slice(slash + 1)],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

/**
 * The `--db` path; `writeCommitted` is given by commands that write: false refuses a database
 * committed to git (published results are read-only unless `--write-committed` says otherwise).
 */
export function dbFlag(v: unknown, mustExist: boolean, writeCommitted?: boolean): string {
  const p = pathFlag("db", v, DEFAULT_DB_PATH);
  let exists: boolean;
  try {
    exists = checkResultsDb(p);
  } catch (e) {
    if (e instanceof ResultsDbError) throw new UsageError(`invalid --db ${show(p)}: ${e.message}`);
    throw new UsageError(`invalid --db ${show(p)}: ${(e as Error).message}`);
  }
  if (!exists && mustExist) {
    bad(
      "db",
      p,
      "an existing results database (run `deno task reproduce` or `deno task train` first)",
    );
  }
  if (exists && writeCommitted === false && isCommittedFile(p)) {
    throw new UsageError(
      `invalid --db ${show(p)}: it is a result database committed to git, read-only by ` +
        `default; pass --write-committed to add runs to it, or give another --db`,
    );
  }
  return p;
}

/** The `--backend` flag: one of {@link TRAINER_BACKENDS} (default `fallback`). */
export function backendFlag(v: unknown, fallback: TrainerBackend = "wasm"): TrainerBackend {
  if (v === undefined) return fallback;
  if (!(TRAINER_BACKENDS as readonly string[]).includes(String(v))) {
    bad("backend", v, `one of ${TRAINER_BACKENDS.join(", ")}`);
  }
  return v as TrainerBackend;
}

/** The `--lease-timeout` flag in seconds, returned in milliseconds. */
export function leaseFlag(v: unknown): number {
  if (v === undefined) return DEFAULT_LEASE_TIMEOUT_MS;
  let n = NaN;
  try {
    n = parseNumber(String(v), "--lease-timeout");
  } catch { /* below */ }
  if (!(n >= 1 && n <= 7 * 86400)) bad("lease-timeout", v, "seconds from 1 to 604800");
  return n * 1000;
}

/** What `--figure list` prints: each panel id with its environment and title. */
export function figureList(): string {
  return FIGURE_IDS.map((id) => `${id}  ${FIGURES[id].env.padEnd(22)} ${FIGURES[id].title}`)
    .join("\n") + "\nall  every panel";
}

/** The `--figure` flag: one panel id, a comma list, `all`, or `list` (prints the panels). */
export function figuresFlag(v: unknown, fallbackAll: boolean): FigureId[] {
  if (v === "list") throw new HelpRequest(figureList()); // printed, exit 0
  if (v === undefined) {
    if (fallbackAll) return [...FIGURE_IDS];
    throw new UsageError(
      `missing --figure; expected one of ${FIGURE_IDS.join(", ")}, all, or a comma list`,
    );
  }
  const parts = String(v).split(",").map((s) => s.trim());
  if (parts.includes("all")) {
    if (parts.length > 1) bad("figure", v, `"all" alone, or a list of ${FIGURE_IDS.join(", ")}`);
    return [...FIGURE_IDS];
  }
  const out: FigureId[] = [];
  for (const p of parts) {
    try {
      out.push(checkFigureId(p));
    } catch {
      bad("figure", p, `one of ${FIGURE_IDS.join(", ")}, all, or a comma list of ids`);
    }
    if (out.indexOf(p as FigureId) !== out.length - 1) bad("figure", v, "each panel at most once");
  }
  return out;
}

/** The optional `--preset` flag. */
export function presetFlag(v: unknown): PresetId | undefined {
  if (v === undefined) return undefined;
  try {
    return checkPresetId(String(v));
  } catch {
    bad("preset", v, `one of ${PRESET_IDS.join(", ")}`);
  }
}

/** The repeated `--set key=value` overrides of every run, validated by `check`. */
export function extraFlag(sets: unknown, check: (extra: Overrides) => void): Overrides {
  const list = (sets as string[] | undefined) ?? [];
  for (const s of list) {
    const key = s.slice(0, Math.max(0, s.indexOf("="))).trim();
    if (key === "env" || key === "algo" || key === "seed") {
      throw new UsageError(
        `invalid --set ${show(s)}: the grid sets env, algo and seed (use --figure and --seeds)`,
      );
    }
  }
  let extra: Overrides;
  try {
    extra = applySettings({}, list) as Overrides;
  } catch (e) {
    throw new UsageError(`invalid --set: ${(e as Error).message}`);
  }
  try {
    check(extra);
  } catch (e) {
    throw new UsageError(`invalid settings (--set): ${(e as Error).message}`);
  }
  return extra;
}

/** Thrown by parsers for --help: the usage text (exit code 0). */
export class HelpRequest extends Error {
  /** Wrap a usage text. */
  constructor(usage: string) {
    super(usage);
    this.name = "HelpRequest";
  }
}

/** Print a parse failure (or the usage for --help) and return the exit code: 0 help, 2 usage. */
export function handleParseError(e: unknown, usage: string): number {
  if (e instanceof HelpRequest) {
    console.log(e.message);
    return 0;
  }
  if (e instanceof UsageError) {
    console.error(`error: ${e.message}`);
    console.error(`(see --help)`);
    return 2;
  }
  console.error(`error: ${(e as Error).message}\n\n${usage}`);
  return 2;
}

/**
 * Exit codes of the task commands: 0 done (or already done), 1 a run failed, 2 bad usage (nothing
 * written), 3 busy (the run is being trained by another live process), 130 interrupted.
 */
export const EXIT_CODES = { done: 0, failed: 1, usage: 2, busy: 3, interrupted: 130 } as const;

/**
 * The stop signal of a long command (`train`, `reproduce`): raised on SIGINT, on SIGTERM (not on
 * Windows), and when the parent process dies (`deno task` killed: stop as on SIGTERM, checkpoint
 * written and run released, rather than train on orphaned). `release()` removes the listeners.
 */
export function commandStopSignal(): { signal: AbortSignal; release(): void } {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  const unwatch = watchParent(() => abort.abort());
  return {
    signal: abort.signal,
    release() {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
      unwatch();
    },
  };
}
