/**
 * The command line of `deno task reproduce`: the panels, preset and worker options parsed and
 * validated before any work, then every run of the panels trained by {@link reproduce}.
 *
 * @example
 * ```ts
 * import { parseReproduceArgs } from "./cli_reproduce.ts";
 * const a = parseReproduceArgs(["--figure", "1a", "--preset", "quick", "--workers", "2"]);
 * console.log(a.figures, a.workers); // [ "1a" ] 2
 * ```
 * @module
 */
import { type FigureId, type Overrides, PRESET_IDS, type PresetId, PRESETS } from "./presets.ts";
import { reproduce, type WorkerCommand } from "./reproduce.ts";
import { buildGrid } from "./grid.ts";
import type { TrainerBackend } from "./runner.ts";
import {
  backendFlag,
  commandStopSignal,
  dbFlag,
  dirFlag,
  extraFlag,
  figuresFlag,
  handleParseError,
  HelpRequest,
  intFlag,
  leaseFlag,
  parse,
  presetFlag,
  show,
  UsageError,
} from "./cli_flags.ts";

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
  const stop = commandStopSignal();
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
      signal: stop.signal,
      workerCommand: options.workerCommand,
    });
    return r.exitCode;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  } finally {
    stop.release();
  }
}
