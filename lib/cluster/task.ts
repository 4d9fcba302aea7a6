/**
 * What one Slurm array task does: train its batch of a sweep plan into its own results database.
 *
 * Task i takes the runs of batch i, opens its own results database `db/task-<i>.sqlite` in the
 * sweep folder (written on node-local disk and published atomically after every metric point and
 * run outcome: see published_db.ts), and trains its runs as lib/experiments/runner.ts does: runs
 * of one configuration (consecutive seeds) together as one batched computation (`executeBatch`)
 * when the backend is a native-BLAS one, else each alone (`runOne`). Either way the task is
 * idempotent under the results database's key (config hash, seed): a finished run is skipped, an
 * interrupted one resumes from its checkpoint (`checkpoints/<hash>-<seed>.ckpt`), a failed one is
 * retried.
 *
 * Only one process at a time may write a task's database: the task takes `db/task-<i>.lock`, naming its Slurm job; a lock
 * whose job is no longer running (or is this very job, after a requeue) is taken over, a live one
 * makes the task exit without touching anything. Every step is appended to
 * `events/task-<i>.jsonl`, one JSON object per line.
 *
 * @example Run task 0 of a sweep folder (real trainer)
 * ```ts ignore
 * import { readPlan } from "./plan.ts";
 * import { runTask } from "./task.ts";
 * const result = await runTask({ plan: readPlan("data/slurm/1a-quick"), task: 0 });
 * console.log(result.exitCode);
 * ```
 * @module
 */
import { processAlive, processStartTime, type RunRecord } from "../results/db.ts";
import { checkpointPathFor } from "../experiments/grid.ts";
import { PublishedDb } from "./published_db.ts";
import {
  claimOne,
  ensureBackend,
  executeBatch,
  isNativeBackend,
  realTrainer,
  runBatchKey,
  type RunOutcome,
  type RunProgress,
  type Trainer,
} from "../experiments/runner.ts";
import type { TrainConfig } from "../train/config.ts";
import {
  type PlannedRun,
  runKey,
  sweepPaths,
  type SweepPlan,
  taskDbPath,
  taskEventPath,
  taskRuns,
} from "./plan.ts";
import { currentSlurmJob, jobState } from "./slurm.ts";

/** One line of a task's event log. */
export interface TaskEvent {
  /** ISO time. */
  time: string;
  /** Array task. */
  task: number;
  /** Slurm job ("<array job>_<task>"), null outside Slurm. */
  job: string | null;
  /** Slurm's restart count of the job (0 on the first start). */
  restart: number;
  /** Host. */
  host: string;
  /** Process id. */
  pid: number;
  /** What happened. */
  event:
    | "task-start"
    | "task-locked"
    | "run-begin"
    | "run-end"
    | "signal"
    | "requeue"
    | "task-end";
  /** The run's key `<hash>-<seed>` (run events). */
  key?: string;
  /** The run's id in the task database (run-end). */
  runId?: number;
  /** runOne's outcome (run-end). */
  status?: RunOutcome["status"];
  /** How the attempt began (run-end): started, resumed, restarted, none. */
  mode?: RunOutcome["mode"];
  /** Environment steps reached (run-end, when trained). */
  envSteps?: number;
  /** Free text. */
  message?: string;
}

/** Options of {@link runTask}. */
export interface RunTaskOptions {
  /** The sweep plan. */
  plan: SweepPlan;
  /** The array task to run. */
  task: number;
  /** The trainer of K ≥ 1 runs (default: the real one on the plan's backend). */
  trainer?: Trainer;
  /**
   * Train the seeds of one configuration together, as one batch (default: when the trainer is the
   * real one and the plan's backend resolves to a native-BLAS one; else every run trains alone).
   */
  together?: boolean;
  /** Abort: the current run checkpoints and the task stops. */
  signal?: AbortSignal;
  /** Slurm job id ("<array job>_<task>"); null outside Slurm (default from the environment). */
  job?: string | null;
  /** Slurm restart count (default from SLURM_RESTART_COUNT). */
  restart?: number;
  /** Status lines (default console.log). */
  log?(line: string): void;
  /** Seconds between progress lines (default 60). */
  progressSeconds?: number;
  /** How a job id's state is found (default squeue; for tests). */
  jobState?(job: string): Promise<string | null>;
  /** Node-local folder for the database's working copy (default $TMPDIR, else /tmp). */
  localDir?: string;
}

/** What {@link runTask} did. */
export interface TaskResult {
  /** The outcome of each run it touched, in order. */
  outcomes: { run: PlannedRun; outcome: RunOutcome }[];
  /** It stopped early because of the signal. */
  interrupted: boolean;
  /** Another live process held the task's lock: nothing was done (its description). */
  lockedBy: string | null;
  /** 0: every run finished (or was already); 1: some failed or are held elsewhere; 143: stopped. */
  exitCode: number;
}

/** Who holds a task's lock. */
export interface TaskLock {
  /** Slurm job ("<array job>_<task>") or null. */
  job: string | null;
  /** Host. */
  host: string;
  /** Process id. */
  pid: number;
  /** Process start time (Linux clock ticks), "" when unknown. */
  start: string;
  /** ISO time the lock was taken. */
  time: string;
}

/** Slurm states in which a job may still be writing. */
const LIVE_STATES = new Set([
  "RUNNING",
  "COMPLETING",
  "CONFIGURING",
  "SUSPENDED",
  "STOPPED",
  "SIGNALING",
  "STAGE_OUT",
  "RESIZING",
]);

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * Take the lock of task `task` for this process; returns null when taken, else a sentence naming
 * the live holder. A holder is dead when its Slurm job is not in a live state (or is `job` itself,
 * i.e. this job before a requeue), or, outside Slurm, when its process is gone from this host.
 */
export async function acquireTaskLock(
  dir: string,
  task: number,
  job: string | null,
  state: (job: string) => Promise<string | null> = jobState,
): Promise<string | null> {
  const path = `${sweepPaths(dir).dbDir}/task-${task}.lock`;
  const mine: TaskLock = {
    job,
    host: Deno.hostname(),
    pid: Deno.pid,
    start: processStartTime(Deno.pid) ?? "",
    time: new Date().toISOString(),
  };
  const text = JSON.stringify(mine) + "\n";
  try {
    Deno.writeTextFileSync(path, text, { createNew: true });
    return null;
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  let holder: TaskLock | null = null;
  try {
    holder = JSON.parse(Deno.readTextFileSync(path)) as TaskLock;
  } catch { /* unreadable: treat as stale */ }
  if (holder) {
    let alive: boolean;
    if (holder.job !== null && holder.job !== undefined) {
      alive = holder.job !== job && LIVE_STATES.has((await state(holder.job)) ?? "");
    } else if (holder.host === mine.host) {
      alive = holder.pid !== mine.pid && processAlive(holder.pid, holder.start ?? "");
    } else {
      alive = true; // another host, no job to ask about: assume it is alive
    }
    if (alive) {
      return `task ${task} is held by ${holder.job ? `Slurm job ${holder.job}` : "process"} ` +
        `${holder.pid} on ${holder.host} since ${holder.time} (lock file ${path}; delete it ` +
        `if that process is gone)`;
    }
  }
  const tmp = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, text);
  Deno.renameSync(tmp, path);
  return null;
}

/** Remove the task's lock if this process holds it. */
export function releaseTaskLock(dir: string, task: number): void {
  const path = `${sweepPaths(dir).dbDir}/task-${task}.lock`;
  try {
    const holder = JSON.parse(Deno.readTextFileSync(path)) as TaskLock;
    if (holder.pid === Deno.pid && holder.host === Deno.hostname()) Deno.removeSync(path);
  } catch { /* gone or unreadable */ }
}

/** Read a task's event log (an absent file gives []). */
export function readTaskEvents(dir: string, task: number): TaskEvent[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(taskEventPath(dir, task));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as TaskEvent);
}

/** Train the runs of one array task (see the module doc). Never throws for a failed run. */
export async function runTask(options: RunTaskOptions): Promise<TaskResult> {
  const { plan, task } = options;
  const runs = taskRuns(plan, task);
  const paths = sweepPaths(plan.dir);
  for (const d of [paths.dbDir, paths.checkpointDir, paths.eventDir]) {
    Deno.mkdirSync(d, { recursive: true });
  }
  const job = options.job === undefined ? currentSlurmJob() : options.job;
  const restart = options.restart ?? Number(env("SLURM_RESTART_COUNT") ?? 0);
  const log = options.log ?? ((l: string) => console.log(l));
  const say = (l: string) => log(`[task ${task}] ${l}`);
  const record = (e: Omit<TaskEvent, "time" | "task" | "job" | "restart" | "host" | "pid">) =>
    recordTaskEvent(plan.dir, task, { job, restart, ...e });

  const lockedBy = await acquireTaskLock(plan.dir, task, job, options.jobState);
  if (lockedBy) {
    say(`nothing done: ${lockedBy}`);
    record({ event: "task-locked", message: lockedBy });
    return { outcomes: [], interrupted: false, lockedBy, exitCode: 1 };
  }
  const outcomes: TaskResult["outcomes"] = [];
  let interrupted = false;
  try {
    record({ event: "task-start", message: `${runs.length} run(s)` });
    say(
      `${runs.length} run(s) of ${plan.title || plan.dir}; database ${taskDbPath(plan.dir, task)}`,
    );
    const backend = plan.options.backend ?? "auto";
    // Recorded with each run's machine: the backend `backend` resolves to on this node.
    const backendUsed = options.trainer ? undefined : await ensureBackend(backend);
    // The task writes a node-local copy and publishes it to the shared folder (published_db.ts).
    const pdb = PublishedDb.open(taskDbPath(plan.dir, task), { localDir: options.localDir });
    const db = pdb.db;
    const trainer = options.trainer ?? realTrainer(backend);
    // Seeds of one configuration train together (K = their number) where that pays off, on the
    // native-BLAS backends; elsewhere one at a time (K = 1).
    const together = options.together ??
      (options.trainer === undefined && backendUsed !== undefined && isNativeBackend(backendUsed));
    const every = (options.progressSeconds ?? 60) * 1000;
    const lastLine = new Map<number, number>();
    const common = {
      checkpointDir: paths.checkpointDir,
      checkpointEverySteps: plan.options.checkpointEverySteps,
      backend: backendUsed,
      signal: options.signal,
      // This task holds the only lock on its database: any other lease in it is stale.
      leaseTimeoutMs: 0,
      // Deleted below once the finished run is published, never before.
      keepCheckpoint: true,
      log: say,
      // Every stored point is published before the trainer writes the checkpoint after it.
      onMetric: () => pdb.publish(),
      onProgress: (p: RunProgress) => {
        const now = Date.now();
        if (now - (lastLine.get(p.runId) ?? 0) < every) return;
        lastLine.set(p.runId, now);
        say(`${p.label}: step ${p.envStep}/${p.totalSteps}, ${p.episodes} episodes`);
      },
    };
    const finish = (run: PlannedRun, outcome: RunOutcome) => {
      pdb.publish();
      if (outcome.status === "finished") {
        const ckpt = checkpointPathFor(paths.checkpointDir, run.hash, run.seed);
        try {
          Deno.removeSync(ckpt);
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      }
      say(outcome.message);
      record({
        event: "run-end",
        key: runKey(run),
        runId: outcome.runId,
        status: outcome.status,
        mode: outcome.mode,
        envSteps: outcome.result?.envSteps,
        message: outcome.message,
      });
      outcomes.push({ run, outcome });
      if (outcome.status === "interrupted") interrupted = true;
    };
    try {
      for (const group of batchGroups(runs)) {
        if (options.signal?.aborted) {
          interrupted = true;
          break;
        }
        for (const batch of together ? [group] : group.map((run) => [run])) {
          if (options.signal?.aborted) {
            interrupted = true;
            break;
          }
          const claimed: { run: PlannedRun; record: RunRecord }[] = [];
          for (const run of batch) {
            record({ event: "run-begin", key: runKey(run) });
            const c = claimOne(db, run.config as unknown as TrainConfig, {
              ...common,
              label: run.label,
            });
            if ("outcome" in c) finish(run, c.outcome);
            else claimed.push({ run, record: c.run });
          }
          const outs = await executeBatch(db, claimed.map((c) => c.record), {
            ...common,
            trainer,
          });
          outs.forEach((o, i) => finish(claimed[i].run, o));
          if (interrupted) break;
        }
        if (interrupted) break;
      }
    } finally {
      pdb.close();
    }
  } finally {
    releaseTaskLock(plan.dir, task);
  }
  const bad = outcomes.some((o) =>
    !["finished", "skipped", "interrupted"].includes(o.outcome.status)
  );
  const exitCode = interrupted ? 143 : bad ? 1 : 0;
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o.outcome.status, (counts.get(o.outcome.status) ?? 0) + 1);
  const summary = [...counts].map(([k, n]) => `${n} ${k}`).join(", ") || "no runs touched";
  record({ event: "task-end", message: `${summary}${interrupted ? "; interrupted" : ""}` });
  say(`done: ${summary}${interrupted ? "; interrupted (resubmit or requeue to resume)" : ""}`);
  return { outcomes, interrupted, lockedBy: null, exitCode };
}

/** Append one event to a task's log (used by the task's command line for signals, requeues). */
export function recordTaskEvent(
  dir: string,
  task: number,
  event: Omit<TaskEvent, "time" | "task" | "host" | "pid">,
): void {
  Deno.mkdirSync(sweepPaths(dir).eventDir, { recursive: true });
  const full: TaskEvent = {
    time: new Date().toISOString(),
    task,
    host: Deno.hostname(),
    pid: Deno.pid,
    ...event,
  };
  Deno.writeTextFileSync(taskEventPath(dir, task), JSON.stringify(full) + "\n", { append: true });
}

/**
 * Consecutive runs that can train as one batch (the same `batchKey`: all but seed, lr and time
 * limit), in order.
 */
export function batchGroups(runs: readonly PlannedRun[]): PlannedRun[][] {
  const out: PlannedRun[][] = [];
  let lastKey: string | undefined;
  for (const r of runs) {
    const key = runBatchKey(r);
    if (key === lastKey) out[out.length - 1].push(r);
    else out.push([r]);
    lastKey = key;
  }
  return out;
}
