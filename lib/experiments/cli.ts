/**
 * The command lines of `deno task train`, `deno task reproduce` and `deno task figures`: parsing
 * and validation of every flag before any work (a bad flag gives an error naming the flag, the bad
 * value and what is valid, exit code 2, and nothing is written), then a call into the library.
 *
 * @example
 * ```ts
 * import { parseReproduceArgs } from "./cli.ts";
 * const a = parseReproduceArgs(["--figure", "1a", "--preset", "quick", "--workers", "2"]);
 * console.log(a.figures, a.workers); // [ "1a" ] 2
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { parsePOMDP, PomdpParseError } from "../pomdp/parser.ts";
import { watchParent } from "../results/process.ts";
import {
  checkResultsDb,
  DEFAULT_DB_PATH,
  DEFAULT_LEASE_TIMEOUT_MS,
  ResultsDb,
  ResultsDbError,
} from "../results/db.ts";
import { exportCsv } from "../results/csv.ts";
import { ALGO_IDS, checkAlgoId } from "../train/agent.ts";
import {
  applySettings,
  checkEnvId,
  parseNumber,
  resolveTrainConfig,
  type TrainConfig,
} from "../train/config.ts";
import { formatFinalTable, writeFigures } from "./figures.ts";
import {
  checkFigureId,
  checkPresetId,
  FIGURE_IDS,
  type FigureId,
  FIGURES,
  type Overrides,
  PRESET_IDS,
  type PresetId,
  PRESETS,
} from "./presets.ts";
import {
  formatCount,
  formatDuration,
  formatReturn,
  progressBar,
  ProgressView,
  RateMeter,
} from "./progress.ts";
import { reproduce, type WorkerCommand } from "./reproduce.ts";
import { buildGrid } from "./grid.ts";
import {
  ensureBackend,
  realTrainer,
  runOne,
  type Trainer,
  TRAINER_BACKENDS,
  type TrainerBackend,
} from "./runner.ts";
import { figureRuns, finalReturns } from "./figures.ts";
import { ENV_IDS } from "../envs/mod.ts";

/** A command-line mistake: reported with exit code 2 before any work. */
export class UsageError extends Error {
  /** Make a usage error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function show(v: unknown): string {
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

function bad(flag: string, value: unknown, valid: string): never {
  throw new UsageError(`invalid --${flag} ${show(value)}; expected ${valid}`);
}

type OptionSpec = Record<
  string,
  { type: "string" | "boolean"; multiple?: boolean; short?: string }
>;

/** parseArgs with errors that name the flag, and repeated single-valued flags rejected. */
function parse(args: string[], options: OptionSpec) {
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

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function intFlag(flag: string, v: unknown, min: number, max: number): number | undefined {
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

function dirFlag(flag: string, v: unknown, fallback: string): string {
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
function dbFlag(v: unknown, mustExist: boolean, writeCommitted?: boolean): string {
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

function backendFlag(v: unknown, fallback: TrainerBackend = "wasm"): TrainerBackend {
  if (v === undefined) return fallback;
  if (!(TRAINER_BACKENDS as readonly string[]).includes(String(v))) {
    bad("backend", v, `one of ${TRAINER_BACKENDS.join(", ")}`);
  }
  return v as TrainerBackend;
}

function leaseFlag(v: unknown): number {
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

function figuresFlag(v: unknown, fallbackAll: boolean): FigureId[] {
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

function presetFlag(v: unknown): PresetId | undefined {
  if (v === undefined) return undefined;
  try {
    return checkPresetId(String(v));
  } catch {
    bad("preset", v, `one of ${PRESET_IDS.join(", ")}`);
  }
}

function extraFlag(sets: unknown, check: (extra: Overrides) => void): Overrides {
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

/** Parsed `deno task train` arguments. */
export interface TrainArgs {
  /** The resolved configuration. */
  config: TrainConfig;
  /** Database path. */
  db: string;
  /** Checkpoint directory. */
  checkpointDir: string;
  /** Backend of the real trainer. */
  backend: TrainerBackend;
  /** Keep the checkpoint of a finished run. */
  keepCheckpoint: boolean;
  /** Start over from scratch when the run's checkpoint is corrupt (keeping it aside). */
  restartCorrupt: boolean;
  /** Lease timeout (ms). */
  leaseTimeoutMs: number;
}

/** Usage of `deno task train`. */
export const TRAIN_USAGE = `Usage: deno task train --env <id> --algo <id> [--seed N] [--steps N]
       [--set key=value ...] [--db path] [--checkpoint-dir dir] [--backend auto|wasm-blas|wasm|cpu]
       [--keep-checkpoint] [--restart-corrupt] [--write-committed] [--lease-timeout seconds]

Trains one run and records it in the results database (default ${DEFAULT_DB_PATH}). A finished
run is not redone; an interrupted one resumes from its checkpoint (default directory runs/).
  --env     ${ENV_IDS.join(", ")}, or pomdp:<file>
  --algo    ${ALGO_IDS.join(", ")}
  --seed    integer seed (default 0)
  --steps   environment steps (sets totalSteps; default 2,000,000)
  --set     any training setting, e.g. --set replayRatio=2 --set model.gruHidden=64
  --restart-corrupt  if the run's checkpoint is corrupt, keep it as <file>.corrupt-<time> and
            start the run over from scratch
  --write-committed  allow adding runs to a database committed to git (read-only otherwise)
Exit codes: 0 finished (or already finished), 1 failed, 2 bad usage (nothing written), 3 busy
(another live process is training this run), 130 interrupted (resume by running it again).
`;

/** Parse and validate `deno task train` arguments (throws {@link UsageError}). */
export function parseTrainArgs(args: string[]): TrainArgs {
  const v = parse(args, {
    "env": { type: "string" },
    "algo": { type: "string" },
    "seed": { type: "string" },
    "steps": { type: "string" },
    "set": { type: "string", multiple: true },
    "db": { type: "string" },
    "checkpoint-dir": { type: "string" },
    "backend": { type: "string" },
    "keep-checkpoint": { type: "boolean" },
    "restart-corrupt": { type: "boolean" },
    "write-committed": { type: "boolean" },
    "lease-timeout": { type: "string" },
    "help": { type: "boolean", short: "h" },
  });
  if (v.help) throw new HelpRequest(TRAIN_USAGE);
  if (v.env === undefined) {
    throw new UsageError(`missing --env; expected one of ${ENV_IDS.join(", ")} or pomdp:<file>`);
  }
  let env: string;
  try {
    env = checkEnvId(str(v.env));
  } catch (e) {
    throw new UsageError(`invalid --env ${show(v.env)}: ${(e as Error).message}`);
  }
  if (env.startsWith("pomdp:")) env = checkPomdpEnv(env);
  if (v.algo === undefined) {
    throw new UsageError(`missing --algo; expected one of ${ALGO_IDS.join(", ")}`);
  }
  let algo: string;
  try {
    algo = checkAlgoId(String(v.algo));
  } catch {
    bad("algo", v.algo, `one of ${ALGO_IDS.join(", ")}`);
  }
  const seed = intFlag("seed", v.seed, 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const steps = intFlag("steps", v.steps, 1, 1e12);
  const sets = (v.set as string[] | undefined) ?? [];
  let partial: Partial<TrainConfig> & { env: string; algo: string };
  for (const s of sets) {
    const key = s.slice(0, Math.max(0, s.indexOf("="))).trim();
    if (key === "env" || key === "algo" || key === "seed") {
      throw new UsageError(`invalid --set ${show(s)}: use --${key} instead`);
    }
    if (key === "totalSteps" && steps !== undefined) {
      throw new UsageError(
        `contradictory options: --steps ${steps} and --set ${s}; give the step count once`,
      );
    }
  }
  try {
    partial = applySettings(
      { env, algo } as Partial<TrainConfig> & { env: string; algo: string },
      sets,
    );
  } catch (e) {
    throw new UsageError(`invalid --set: ${(e as Error).message}`);
  }
  partial.seed = seed;
  if (steps !== undefined) partial.totalSteps = steps;
  let config: TrainConfig;
  try {
    config = resolveTrainConfig(partial);
  } catch (e) {
    const m = (e as Error).message;
    const flag = /totalSteps/.test(m) && steps !== undefined ? "--steps/--set" : "--set";
    throw new UsageError(`invalid settings (${flag}): ${m}`);
  }
  return {
    config,
    db: dbFlag(v.db, false, v["write-committed"] === true),
    checkpointDir: dirFlag("checkpoint-dir", v["checkpoint-dir"], "runs"),
    backend: backendFlag(v.backend, "auto"),
    keepCheckpoint: v["keep-checkpoint"] === true,
    restartCorrupt: v["restart-corrupt"] === true,
    leaseTimeoutMs: leaseFlag(v["lease-timeout"]),
  };
}

/** Thrown by parsers for --help: the usage text (exit code 0). */
export class HelpRequest extends Error {
  /** Wrap a usage text. */
  constructor(usage: string) {
    super(usage);
    this.name = "HelpRequest";
  }
}

function handleParseError(e: unknown, usage: string): number {
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

/** `deno task train`: returns the exit code ({@link EXIT_CODES}). */
export async function trainMain(
  args: string[],
  options: { trainer?: Trainer } = {},
): Promise<number> {
  let a: TrainArgs;
  try {
    a = parseTrainArgs(args);
  } catch (e) {
    return handleParseError(e, TRAIN_USAGE);
  }
  let db: ResultsDb;
  try {
    db = ResultsDb.open(a.db);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", onSignal);
  // `deno task` killed: stop as on SIGTERM (checkpoint written, run released) rather than orphaned.
  const unwatch = watchParent(() => abort.abort());
  const view = new ProgressView();
  const rate = new RateMeter(20);
  try {
    const outcome = await runOne(db, a.config, {
      trainer: options.trainer ?? realTrainer(a.backend),
      backend: options.trainer ? undefined : await ensureBackend(a.backend),
      checkpointDir: a.checkpointDir,
      keepCheckpoint: a.keepCheckpoint,
      restartCorrupt: a.restartCorrupt,
      leaseTimeoutMs: a.leaseTimeoutMs,
      signal: abort.signal,
      log: (m) => view.log(m),
      onProgress: (p) => {
        rate.add(p.envStep);
        const r = rate.rate();
        const eta = r > 0 ? (p.totalSteps - p.envStep) / r : NaN;
        view.update([
          `${p.label} ${progressBar(p.envStep / p.totalSteps, 24)} ` +
          `${formatCount(p.envStep)}/${formatCount(p.totalSteps)} steps | ` +
          `${Number.isFinite(r) ? formatCount(r) : "?"} steps/s | ETA ${formatDuration(eta)} | ` +
          `avg100 ${formatReturn(p.avgReturn)} | ${p.episodes} episodes`,
        ]);
      },
    });
    view.done();
    console.log(outcome.message);
    switch (outcome.status) {
      case "finished":
      case "skipped":
        return 0;
      case "interrupted":
        return EXIT_CODES.interrupted;
      case "busy":
        return EXIT_CODES.busy;
      default:
        return EXIT_CODES.failed;
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGTERM", onSignal);
    unwatch();
    db.close();
  }
}

/** Parsed `deno task reproduce` arguments. */
export interface ReproduceArgs {
  /** Panels. */
  figures: FigureId[];
  /** Preset. */
  preset: PresetId;
  /** Seeds per (panel, algorithm). */
  seeds: number;
  /** Worker processes. */
  workers: number;
  /** Database path. */
  db: string;
  /** Figure output directory. */
  out: string;
  /** Checkpoint directory. */
  checkpointDir: string;
  /** Backend of the workers. */
  backend: TrainerBackend;
  /** Most runs a worker trains together (or "auto"). */
  batch: number | "auto";
  /** Lease timeout (ms). */
  leaseTimeoutMs: number;
  /** Keep checkpoints of finished runs. */
  keepCheckpoints: boolean;
  /** Start runs whose checkpoint is corrupt over, keeping the file aside. */
  restartCorrupt: boolean;
  /** Render PNG files. */
  png: boolean;
  /** Overrides applied to every run after the preset's (--set). */
  extra: Overrides;
}

/** Usage of `deno task reproduce`. */
export const REPRODUCE_USAGE = `Usage: deno task reproduce --figure <1a|1b|1c|1d|1e|all|list>
       [--preset quick|paper] [--seeds N] [--workers N] [--db path] [--out dir]
       [--checkpoint-dir dir] [--backend auto|wasm-blas|wasm|cpu] [--batch N|auto]
       [--lease-timeout seconds] [--keep-checkpoints] [--restart-corrupt] [--skip-png]
       [--write-committed] [--set key=value ...]

Trains every run of the panels (5 algorithms × seeds) in parallel worker processes (default one per
core), resumable after a kill at any moment (rerun the same command), then writes
<out>/figure<id>-<preset>.{json,png,svg} and prints final returns (mean ± standard error).
Each worker trains the seeds of one panel and algorithm together as one batched computation
(--batch auto: when the native-BLAS backend loads, batches of up to 20 runs sized so that the
workers finish together, e.g. 10 for 5 algorithms × 20 seeds on 2 workers, else 1; --batch 1: one
run at a time); --backend auto uses wasm-blas (OpenBLAS through FFI) when it loads, else wasm.
--set overrides a training setting of every run (e.g. --set totalSteps=50000): these are other runs
than the preset's, and their figure files get a suffix naming the overrides.
--restart-corrupt: a run whose checkpoint is corrupt keeps it as <file>.corrupt-<time> and starts
over from scratch (without it such a run fails, saying so).
A --db committed to git is read-only unless --write-committed is given.
Presets:${
  PRESET_IDS.map((p) => `\n  ${p.padEnd(6)} ${PRESETS[p].seeds} seeds; ${PRESETS[p].description}`)
    .join("")
}
`;

/** Parse and validate `deno task reproduce` arguments (throws {@link UsageError}). */
export function parseReproduceArgs(args: string[]): ReproduceArgs {
  const v = parse(args, {
    "figure": { type: "string" },
    "preset": { type: "string" },
    "seeds": { type: "string" },
    "workers": { type: "string" },
    "db": { type: "string" },
    "out": { type: "string" },
    "checkpoint-dir": { type: "string" },
    "backend": { type: "string" },
    "batch": { type: "string" },
    "lease-timeout": { type: "string" },
    "keep-checkpoints": { type: "boolean" },
    "restart-corrupt": { type: "boolean" },
    "write-committed": { type: "boolean" },
    "skip-png": { type: "boolean" },
    "set": { type: "string", multiple: true },
    "help": { type: "boolean", short: "h" },
  });
  if (v.help) throw new HelpRequest(REPRODUCE_USAGE);
  const figures = figuresFlag(v.figure, false);
  const preset = presetFlag(v.preset) ?? "quick";
  const seeds = intFlag("seeds", v.seeds, 1, 1000) ?? PRESETS[preset].seeds;
  const workers = intFlag("workers", v.workers, 1, 1024) ??
    Math.max(1, navigator.hardwareConcurrency || 1);
  const out = dirFlag("out", v.out, "out");
  const checkpointDir = dirFlag("checkpoint-dir", v["checkpoint-dir"], "runs");
  const extra = extraFlag(v.set, (x) => buildGrid({ figures, preset, seeds: 1, extra: x }));
  if (out === checkpointDir) {
    throw new UsageError(`contradictory options: --out and --checkpoint-dir are both ${show(out)}`);
  }
  return {
    figures,
    preset,
    seeds,
    workers,
    db: dbFlag(v.db, false, v["write-committed"] === true),
    out,
    checkpointDir,
    backend: backendFlag(v.backend, "auto"),
    batch: v.batch === undefined || v.batch === "auto"
      ? "auto"
      : intFlag("batch", v.batch, 1, 1000)!,
    leaseTimeoutMs: leaseFlag(v["lease-timeout"]),
    keepCheckpoints: v["keep-checkpoints"] === true,
    restartCorrupt: v["restart-corrupt"] === true,
    png: v["skip-png"] !== true,
    extra,
  };
}

/** `deno task reproduce`: returns the exit code (0 all finished, 1 failures, 2 usage, 130 interrupted). */
export async function reproduceMain(
  args: string[],
  options: { workerCommand?: WorkerCommand } = {},
): Promise<number> {
  let a: ReproduceArgs;
  try {
    a = parseReproduceArgs(args);
  } catch (e) {
    return handleParseError(e, REPRODUCE_USAGE);
  }
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", onSignal);
  // `deno task` killed: stop as on SIGTERM (checkpoint written, run released) rather than orphaned.
  const unwatch = watchParent(() => abort.abort());
  try {
    const r = await reproduce({
      figures: a.figures,
      preset: a.preset,
      seeds: a.seeds,
      workers: a.workers,
      dbPath: a.db,
      outDir: a.out,
      checkpointDir: a.checkpointDir,
      backend: a.backend,
      batch: a.batch,
      leaseTimeoutMs: a.leaseTimeoutMs,
      keepCheckpoints: a.keepCheckpoints,
      restartCorrupt: a.restartCorrupt,
      png: a.png,
      extra: a.extra,
      signal: abort.signal,
      workerCommand: options.workerCommand,
    });
    return r.exitCode;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGTERM", onSignal);
    unwatch();
  }
}

/** Parsed `deno task figures` arguments. */
export interface FiguresArgs {
  /** Panels. */
  figures: FigureId[];
  /** Preset (undefined: every preset with data). */
  preset?: PresetId;
  /** Database path. */
  db: string;
  /** Output directory. */
  out: string;
  /** Render PNG and SVG files. */
  png: boolean;
  /** Also write the self-contained HTML page of each panel. */
  html: boolean;
  /** Also write runs.csv and metrics.csv. */
  csv: boolean;
  /** Overrides the runs were made with (--set, as given to reproduce). */
  extra: Overrides;
}

/** Usage of `deno task figures`. */
export const FIGURES_USAGE =
  `Usage: deno task figures [--figure <1a|...|1e|all|list>] [--preset quick|paper]
       [--db path] [--out dir] [--skip-png] [--html] [--csv] [--set key=value ...]

Regenerates <out>/figure<id>-<preset>.{json,png,svg} from the results database (default
${DEFAULT_DB_PATH}) and prints final returns; --html also writes a self-contained
<out>/figure<id>-<preset>.html (4.6 MB each: Plotly inlined), --csv <out>/runs.csv and metrics.csv.
Runs are selected by configuration: pass the same --preset and --set as to reproduce.
`;

/** Parse and validate `deno task figures` arguments (throws {@link UsageError}). */
export function parseFiguresArgs(args: string[]): FiguresArgs {
  const v = parse(args, {
    "figure": { type: "string" },
    "preset": { type: "string" },
    "db": { type: "string" },
    "out": { type: "string" },
    "skip-png": { type: "boolean" },
    "html": { type: "boolean" },
    "csv": { type: "boolean" },
    "set": { type: "string", multiple: true },
    "help": { type: "boolean", short: "h" },
  });
  if (v.help) throw new HelpRequest(FIGURES_USAGE);
  const figures = figuresFlag(v.figure, true);
  const preset = presetFlag(v.preset);
  const out = dirFlag("out", v.out, "out");
  const extra = extraFlag(v.set, (x) => {
    for (const p of preset ? [preset] : PRESET_IDS) {
      buildGrid({ figures, preset: p, seeds: 1, extra: x });
    }
  });
  return {
    figures,
    preset,
    extra,
    db: dbFlag(v.db, true),
    out,
    png: v["skip-png"] !== true,
    html: v.html === true,
    csv: v.csv === true,
  };
}

/** `deno task figures`: returns the exit code (0 written, 1 no data, 2 usage). */
export async function figuresMain(args: string[]): Promise<number> {
  let a: FiguresArgs;
  try {
    a = parseFiguresArgs(args);
  } catch (e) {
    return handleParseError(e, FIGURES_USAGE);
  }
  const db = ResultsDb.open(a.db, { readOnly: true });
  try {
    const r = await writeFigures(db, {
      figures: a.figures,
      preset: a.preset,
      outDir: a.out,
      png: a.png,
      html: a.html,
      extra: a.extra,
    });
    for (const w of r.written) {
      console.log(
        `figure ${w.figure} (${w.preset}): ${
          [w.files.json, w.files.png, w.files.svg, w.files.html].filter(Boolean).join(", ")
        }`,
      );
    }
    for (const c of r.combined) {
      console.log(
        `figure 1, all panels (${c.preset}): ${
          [c.files.json, c.files.png, c.files.svg, c.files.html].filter(Boolean).join(", ")
        }`,
      );
    }
    if (r.pngSkipped) console.log(r.pngSkipped);
    for (const f of r.missing) console.error(`figure ${f}: no runs with data in ${a.db}`);
    const rows = r.written.flatMap((w) =>
      finalReturns(db, w.figure, figureRuns(db, w.figure, w.preset, a.extra))
    );
    if (rows.length > 0) console.log("\n" + formatFinalTable(rows));
    if (a.csv) {
      const paths = exportCsv(db, a.out);
      console.log(`csv: ${paths.runs}, ${paths.metrics}`);
    }
    return r.written.length > 0 ? 0 : 1;
  } finally {
    db.close();
  }
}
