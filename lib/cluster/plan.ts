/**
 * A sweep plan: the (configuration, seed) runs of a sweep cut into batches, one batch per Slurm
 * array task, and the layout of the sweep folder that the tasks share.
 *
 * A sweep folder holds `plan.json` (this plan), `sweep.sbatch` (the job-array script), and what the
 * tasks write: `db/task-<i>.sqlite` (task i's own results database: SQLite on a shared file system
 * must not have writers on several nodes, so each task has its own file), `checkpoints/` (one
 * checkpoint per run, keyed like the results database: `<config hash>-<seed>.ckpt`),
 * `events/task-<i>.jsonl` (an append-only log of what task i did to each run) and `logs/` (Slurm's
 * output files). `deno task collect` merges the task databases into the main one.
 *
 * @example
 * ```ts
 * import { makePlan } from "./plan.ts";
 * const plan = makePlan({
 *   dir: "/tmp/sweep",
 *   runs: [1, 2, 3].map((seed) => ({
 *     hash: "h", seed, label: "quick:1a",
 *     config: { env: "heaven-hell-3", algo: "dqn", seed, totalSteps: 1000 },
 *   })),
 *   batchSize: 2,
 * });
 * console.log(plan.tasks, plan.runs.map((r) => r.task)); // 2 [0, 0, 1]
 * ```
 * @module
 */
import type { TrainerBackend } from "../experiments/runner.ts";

/** Version of the plan.json format this code writes and reads. */
export const PLAN_VERSION = 1;

/** File name of the plan inside a sweep folder. */
export const PLAN_FILE = "plan.json";

/** File name of the job-array script inside a sweep folder. */
export const SCRIPT_FILE = "sweep.sbatch";

/** One run of a sweep, as the plan stores it. */
export interface PlannedRun {
  /** Position in the sweep (0-based). */
  index: number;
  /** The array task (batch) that runs it. */
  task: number;
  /** Configuration hash, seed excluded (the results database's key with `seed`). */
  hash: string;
  /** Seed. */
  seed: number;
  /** Label stored with the run (for example "quick:1a"). */
  label: string;
  /** The full resolved configuration (seed included). */
  config: Record<string, unknown> & { env: string; algo: string };
}

/** A sweep plan (the content of plan.json). */
export interface SweepPlan {
  /** {@link PLAN_VERSION}. */
  version: number;
  /** What the sweep is, for people ("figure 1a, preset quick"). */
  title: string;
  /** ISO time the plan was made. */
  createdAt: string;
  /** Code version (git commit) the plan was made with, or null. */
  codeVersion: string | null;
  /** Absolute path of the sweep folder. */
  dir: string;
  /** Runs per array task (the last task may have fewer). */
  batchSize: number;
  /** Number of array tasks (0..tasks-1). */
  tasks: number;
  /** How the tasks train. */
  options: PlanRunOptions;
  /** Every run, in sweep order. */
  runs: PlannedRun[];
}

/** How the array tasks train the runs of a plan. */
export interface PlanRunOptions {
  /** Checkpoint period in environment steps (default: each run's logEvery). */
  checkpointEverySteps?: number;
  /** Tensor backend (default "auto": wasm-blas where OpenBLAS loads, else wasm). */
  backend?: TrainerBackend;
}

/** The run of a plan before batching. */
export type RunInput = Omit<PlannedRun, "index" | "task">;

/** Options of {@link makePlan}. */
export interface MakePlanOptions {
  /** Absolute path of the sweep folder. */
  dir: string;
  /** The runs, in the order they should start. */
  runs: readonly RunInput[];
  /** Runs per array task (default 1). */
  batchSize?: number;
  /** Title (default ""). */
  title?: string;
  /** Code version to record (default null). */
  codeVersion?: string | null;
  /** Creation time (default now). */
  createdAt?: string;
  /** How the tasks train (default {}). */
  options?: PlanRunOptions;
}

/** The key of a run in every results database: `<hash>-<seed>`. */
export function runKey(run: { hash: string; seed: number }): string {
  return `${run.hash}-${run.seed}`;
}

/**
 * Cut `runs` into array tasks of `batchSize` consecutive runs. Throws on an empty sweep, a bad
 * batch size or a (hash, seed) key that appears twice.
 */
export function makePlan(options: MakePlanOptions): SweepPlan {
  const batchSize = options.batchSize ?? 1;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new Error(`invalid batch size ${batchSize}; expected a positive integer`);
  }
  if (options.runs.length === 0) throw new Error("the sweep has no runs");
  if (!options.dir.startsWith("/")) {
    throw new Error(`sweep folder ${JSON.stringify(options.dir)} must be an absolute path`);
  }
  const seen = new Set<string>();
  const runs = options.runs.map((r, index): PlannedRun => {
    const key = runKey(r);
    if (seen.has(key)) throw new Error(`run ${key} appears twice in the sweep`);
    seen.add(key);
    return { index, task: Math.floor(index / batchSize), ...r };
  });
  return {
    version: PLAN_VERSION,
    title: options.title ?? "",
    createdAt: options.createdAt ?? new Date().toISOString(),
    codeVersion: options.codeVersion ?? null,
    dir: options.dir.replace(/\/+$/, "") || "/",
    batchSize,
    tasks: Math.ceil(runs.length / batchSize),
    options: { ...options.options },
    runs,
  };
}

/** The runs of array task `task`. Throws when the task is outside 0..tasks-1. */
export function taskRuns(plan: SweepPlan, task: number): PlannedRun[] {
  if (!Number.isSafeInteger(task) || task < 0 || task >= plan.tasks) {
    throw new Error(`array task ${task} is not in this sweep; expected 0..${plan.tasks - 1}`);
  }
  return plan.runs.filter((r) => r.task === task);
}

/** Paths inside a sweep folder. */
export interface SweepPaths {
  /** The sweep folder. */
  dir: string;
  /** plan.json. */
  plan: string;
  /** The job-array script. */
  script: string;
  /** Folder of the per-task results databases. */
  dbDir: string;
  /** Folder of the run checkpoints. */
  checkpointDir: string;
  /** Folder of the per-task event logs. */
  eventDir: string;
  /** Folder of Slurm's output files. */
  logDir: string;
}

/** The layout of the sweep folder `dir`. */
export function sweepPaths(dir: string): SweepPaths {
  const d = dir.replace(/\/+$/, "") || "/";
  return {
    dir: d,
    plan: `${d}/${PLAN_FILE}`,
    script: `${d}/${SCRIPT_FILE}`,
    dbDir: `${d}/db`,
    checkpointDir: `${d}/checkpoints`,
    eventDir: `${d}/events`,
    logDir: `${d}/logs`,
  };
}

/** The results database file of array task `task`. */
export function taskDbPath(dir: string, task: number): string {
  return `${sweepPaths(dir).dbDir}/task-${task}.sqlite`;
}

/** The event log of array task `task`. */
export function taskEventPath(dir: string, task: number): string {
  return `${sweepPaths(dir).eventDir}/task-${task}.jsonl`;
}

/** Check that a parsed plan.json is a plan of this version; returns it typed. */
export function checkPlan(value: unknown, source = "plan"): SweepPlan {
  const bad = (why: string): never => {
    throw new Error(`${source} is not a sweep plan: ${why}`);
  };
  if (value === null || typeof value !== "object") bad("not a JSON object");
  const p = value as Partial<SweepPlan>;
  if (p.version !== PLAN_VERSION) {
    bad(`version ${JSON.stringify(p.version)}; this code reads version ${PLAN_VERSION}`);
  }
  if (typeof p.dir !== "string") bad("no dir");
  if (!Number.isSafeInteger(p.batchSize) || p.batchSize! < 1) bad("bad batchSize");
  if (!Number.isSafeInteger(p.tasks) || p.tasks! < 1) bad("bad tasks");
  if (!Array.isArray(p.runs) || p.runs.length === 0) bad("no runs");
  if (p.options === null || typeof p.options !== "object") bad("no options");
  for (const r of p.runs!) {
    if (
      typeof r?.hash !== "string" || !Number.isFinite(r.seed) || !Number.isSafeInteger(r.task) ||
      typeof r.config?.env !== "string" || typeof r.config?.algo !== "string"
    ) {
      bad(`bad run entry ${JSON.stringify(r).slice(0, 120)}`);
    }
  }
  return p as SweepPlan;
}

/** Read and check `<dir>/plan.json` (or a plan file path). */
export function readPlan(pathOrDir: string): SweepPlan {
  const path = pathOrDir.endsWith(".json") ? pathOrDir : sweepPaths(pathOrDir).plan;
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`no sweep plan at ${path} (make one with: deno task sweep ... --emit slurm)`);
    }
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not JSON: ${(e as Error).message}`);
  }
  return checkPlan(value, path);
}

/** Write a file atomically (temporary file in the same folder, then rename). */
export function writeFileAtomic(path: string, text: string, mode?: number): void {
  const tmp = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, text, mode === undefined ? undefined : { mode });
  if (mode !== undefined) Deno.chmodSync(tmp, mode);
  Deno.renameSync(tmp, path);
}
