/**
 * Workers: processes that claim runs from the results database through leases and train them until
 * none is left. A worker reports what it does as JSON lines ({@link WorkerEvent}) on stdout, which
 * `reproduce` (./reproduce.ts) reads to draw one combined progress view.
 *
 * Workers stop cleanly on SIGINT/SIGTERM or when their parent process disappears: the trainer writes
 * a checkpoint, the run goes back to the queue, and the next worker resumes it. A worker killed
 * outright (SIGKILL) leaves a lease whose process is dead; the next claim on the same host takes it
 * over at once (on another host, after the lease timeout).
 *
 * @example Run a worker in this process over two runs (fake trainer, for illustration)
 * ```ts ignore
 * import { ResultsDb } from "../results/db.ts";
 * import { runWorker } from "./workers.ts";
 * const db = ResultsDb.open("data/results.sqlite");
 * const summary = await runWorker(db, { ids: [1, 2], onEvent: (e) => console.log(e.type) });
 * console.log(summary.finished);
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import {
  codeVersion,
  currentOwner,
  DEFAULT_LEASE_TIMEOUT_MS,
  type LeaseOwner,
  machineInfo,
  processAlive,
  processStartTime,
  ResultsDb,
} from "../results/db.ts";
import {
  executeRun,
  realTrainer,
  runLabel,
  type RunOutcomeStatus,
  type Trainer,
  TRAINER_BACKENDS,
} from "./runner.ts";
import type { BackendName } from "../nn/backend.ts";

/** What a worker reports, one JSON object per stdout line. */
export type WorkerEvent =
  | { type: "claimed"; runId: number; label: string; totalSteps: number; envSteps: number }
  | {
    type: "progress";
    runId: number;
    label: string;
    envStep: number;
    totalSteps: number;
    startStep: number;
    episodes: number;
    lastReturn: number | null;
    avgReturn: number | null;
    elapsedSeconds: number;
  }
  | { type: "metric"; runId: number; envStep: number; avgReturn: number | null }
  | { type: "done"; runId: number; status: RunOutcomeStatus; message: string }
  | { type: "log"; message: string }
  | { type: "exit"; summary: WorkerSummary };

/** Counts of what a worker did. */
export interface WorkerSummary {
  /** Runs finished. */
  finished: number;
  /** Runs that failed. */
  failed: number;
  /** Runs interrupted (back in the queue). */
  interrupted: number;
  /** Runs whose lease was lost. */
  lost: number;
}

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  /** Only claim these run ids (default: any queued run of the database). */
  ids?: readonly number[];
  /** Training function (default the real trainer on `backend`). */
  trainer?: Trainer;
  /** Tensor backend of the default trainer (default wasm). */
  backend?: BackendName;
  /** Checkpoint directory (default "runs"). */
  checkpointDir?: string;
  /** Keep checkpoints of finished runs. */
  keepCheckpoints?: boolean;
  /** Lease timeout in ms. */
  leaseTimeoutMs?: number;
  /** Heartbeat period in ms (default 10000). */
  heartbeatMs?: number;
  /** Lease owner (default this process). */
  owner?: LeaseOwner;
  /** Stop after the current run's next checkpoint boundary (the run is released). */
  signal?: AbortSignal;
  /** Events. */
  onEvent?(e: WorkerEvent): void;
  /** Minimum ms between progress events (default 500). */
  progressMs?: number;
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/**
 * Claim and train runs until none is claimable (or the signal fires). Runs held by other live
 * processes are left alone.
 */
export async function runWorker(
  db: ResultsDb,
  options: WorkerOptions = {},
): Promise<WorkerSummary> {
  const owner = options.owner ?? currentOwner();
  const emit = options.onEvent ?? (() => {});
  const trainer = options.trainer ?? realTrainer(options.backend);
  const summary: WorkerSummary = { finished: 0, failed: 0, interrupted: 0, lost: 0 };
  const progressMs = options.progressMs ?? 500;
  const version = codeVersion();
  const machine = machineInfo();
  while (!options.signal?.aborted) {
    const run = db.claim({
      owner,
      ids: options.ids,
      leaseTimeoutMs: options.leaseTimeoutMs ?? DEFAULT_LEASE_TIMEOUT_MS,
      codeVersion: version,
      machine,
    });
    if (!run) break;
    emit({
      type: "claimed",
      runId: run.id,
      label: runLabel(run),
      totalSteps: run.totalSteps,
      envSteps: run.envSteps,
    });
    let lastProgress = 0;
    const outcome = await executeRun(db, run, {
      trainer,
      owner,
      checkpointDir: options.checkpointDir,
      keepCheckpoint: options.keepCheckpoints,
      leaseTimeoutMs: options.leaseTimeoutMs,
      heartbeatMs: options.heartbeatMs,
      signal: options.signal,
      log: (message) => emit({ type: "log", message }),
      onMetric: (runId, p) =>
        emit({ type: "metric", runId, envStep: p.envStep, avgReturn: finiteOrNull(p.avgReturn) }),
      onProgress: (p) => {
        const now = performance.now();
        if (now - lastProgress < progressMs && p.envStep < p.totalSteps) return;
        lastProgress = now;
        emit({
          type: "progress",
          runId: p.runId,
          label: p.label,
          envStep: p.envStep,
          totalSteps: p.totalSteps,
          startStep: p.startStep,
          episodes: p.episodes,
          lastReturn: finiteOrNull(p.lastReturn),
          avgReturn: finiteOrNull(p.avgReturn),
          elapsedSeconds: p.elapsedSeconds,
        });
      },
    });
    emit({ type: "done", runId: run.id, status: outcome.status, message: outcome.message });
    if (outcome.status === "finished") summary.finished++;
    else if (outcome.status === "failed") summary.failed++;
    else if (outcome.status === "interrupted") summary.interrupted++;
    else if (outcome.status === "lost") summary.lost++;
  }
  return summary;
}

/** Parsed command line of a worker process. */
export interface WorkerArgs {
  /** Database path. */
  db: string;
  /** Checkpoint directory. */
  checkpointDir: string;
  /** Run ids to restrict to. */
  ids?: number[];
  /** Lease timeout in seconds. */
  leaseTimeoutSeconds: number;
  /** Backend of the real trainer. */
  backend: BackendName;
  /** Keep checkpoints of finished runs. */
  keepCheckpoints: boolean;
  /** Parent pid to watch (stop when it is gone). */
  parentPid?: number;
}

/** Parse a worker's arguments (an internal protocol between `reproduce` and its workers). */
export function parseWorkerArgs(args: string[]): WorkerArgs {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      "db": { type: "string" },
      "checkpoint-dir": { type: "string" },
      "ids": { type: "string" },
      "lease-timeout": { type: "string" },
      "backend": { type: "string" },
      "keep-checkpoints": { type: "boolean" },
      "parent-pid": { type: "string" },
    },
  });
  if (positionals.length) throw new Error(`unexpected argument "${positionals[0]}"`);
  if (!values.db) throw new Error("missing --db <path>");
  const ids = values.ids === undefined ? undefined : values.ids.split(",").map((s) => {
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new Error(`invalid --ids entry "${s}"; expected positive integers separated by commas`);
    }
    return n;
  });
  const lease = Number(values["lease-timeout"] ?? DEFAULT_LEASE_TIMEOUT_MS / 1000);
  if (!(lease > 0)) throw new Error(`invalid --lease-timeout "${values["lease-timeout"]}"`);
  const backend = (values.backend ?? "wasm") as BackendName;
  if (!TRAINER_BACKENDS.includes(backend)) {
    throw new Error(
      `invalid --backend "${backend}"; expected one of ${TRAINER_BACKENDS.join(", ")}`,
    );
  }
  const parent = values["parent-pid"] === undefined ? undefined : Number(values["parent-pid"]);
  if (parent !== undefined && !Number.isSafeInteger(parent)) {
    throw new Error(`invalid --parent-pid "${values["parent-pid"]}"`);
  }
  return {
    db: values.db,
    checkpointDir: values["checkpoint-dir"] ?? "runs",
    ids,
    leaseTimeoutSeconds: lease,
    backend,
    keepCheckpoints: values["keep-checkpoints"] ?? false,
    parentPid: parent,
  };
}

/**
 * The body of a worker process (tasks/worker.ts): claim and train runs, reporting
 * {@link WorkerEvent}s as JSON lines on stdout. Stops cleanly on SIGINT/SIGTERM, when stdout is
 * closed, or when the parent process is gone. Returns the exit code.
 */
export async function workerMain(
  args: string[],
  options: { trainer?: Trainer } = {},
): Promise<number> {
  let parsed: WorkerArgs;
  try {
    parsed = parseWorkerArgs(args);
  } catch (e) {
    console.error(`worker: ${(e as Error).message}`);
    return 2;
  }
  const abort = new AbortController();
  const enc = new TextEncoder();
  const write = (e: WorkerEvent) => {
    if (abort.signal.aborted && e.type === "progress") return;
    try {
      Deno.stdout.writeSync(enc.encode(JSON.stringify(e) + "\n"));
    } catch {
      abort.abort(); // the reader is gone
    }
  };
  let firstSignal = 0;
  const onSignal = () => {
    const now = performance.now();
    if (firstSignal === 0) {
      firstSignal = now;
      abort.abort();
    } else if (now - firstSignal > 3000) {
      Deno.exit(130); // a second, deliberate signal: stop now (the lease dies with us)
    }
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  let parentStart = "";
  if (parsed.parentPid !== undefined) parentStart = processStartTime(parsed.parentPid) ?? "";
  const parentGone = () =>
    parsed.parentPid !== undefined && !processAlive(parsed.parentPid, parentStart);
  const watch = setInterval(() => {
    if (parentGone()) abort.abort();
  }, 1000);
  let db: ResultsDb | undefined;
  try {
    db = ResultsDb.open(parsed.db, { create: false });
    const summary = await runWorker(db, {
      ids: parsed.ids,
      trainer: options.trainer,
      backend: parsed.backend,
      checkpointDir: parsed.checkpointDir,
      keepCheckpoints: parsed.keepCheckpoints,
      leaseTimeoutMs: parsed.leaseTimeoutSeconds * 1000,
      signal: abort.signal,
      onEvent: (e) => {
        if (e.type === "progress" && parentGone()) abort.abort();
        write(e);
      },
    });
    write({ type: "exit", summary });
    return 0;
  } catch (e) {
    console.error(`worker ${Deno.pid}: ${(e as Error).stack ?? e}`);
    return 1;
  } finally {
    clearInterval(watch);
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    db?.close();
  }
}
