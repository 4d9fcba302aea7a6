/**
 * Workers: processes that claim runs from the results database through leases and train them until
 * none is left. A worker reports what it does as JSON lines ({@link WorkerEvent}) on stdout, which
 * `reproduce` (./reproduce.ts) reads to draw one combined progress view.
 *
 * With a batch size above 1 a worker claims, next to each run, up to batch−1 more claimable runs
 * with the same configuration but the seed, lr and time limit (`batchKey`), and trains them
 * together with the batched trainer (lib/train/loop.ts): one computation for all of them, each run still its own run (own
 * checkpoint, metrics and lease). The batch is also capped by the memory its replay buffers may
 * need ({@link batchLimitForMemory}).
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
  ensureBackend,
  executeBatch,
  isNativeBackend,
  realTrainer,
  runBatchKey,
  runLabel,
  type RunOutcome,
  type RunOutcomeStatus,
  type RunProgress,
  type Trainer,
  TRAINER_BACKENDS,
  type TrainerBackend,
  trainingMachine,
} from "./runner.ts";
import { makeEnv } from "../envs/mod.ts";
import { type FeatureSpec, isByteSpec } from "../envs/types.ts";
import type { TrainConfig } from "../train/config.ts";
import type { RunRecord } from "../results/db.ts";

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
  /** Training function of a batch of K ≥ 1 runs (default: the real trainer on `backend`). */
  trainer?: Trainer;
  /** Most runs trained together (default 1: one run at a time). */
  batch?: number;
  /**
   * Memory the replay buffers of one batch may take, in bytes (default 35% of the machine's
   * memory, so that two workers leave room for the rest).
   */
  memoryBudgetBytes?: number;
  /** Tensor backend of the default trainers (default wasm). */
  backend?: TrainerBackend;
  /** Checkpoint directory (default "runs"). */
  checkpointDir?: string;
  /** Keep checkpoints of finished runs. */
  keepCheckpoints?: boolean;
  /** Start a run whose checkpoint is corrupt over from scratch, keeping the file aside. */
  restartCorrupt?: boolean;
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

/** Largest batch of `--batch auto` on a native-BLAS backend: one panel's 20 seeds. */
export const AUTO_BATCH = 20;

/**
 * The fixed cost of one batch, in runs' worth of work: a batch of k runs costs about k + 0.25 runs
 * (K = 1 trains 1.24× slower per run than K = 20 in bench/batched_bench.ts on the Heaven-Hell-3
 * model).
 */
export const BATCH_OVERHEAD_RUNS = 0.25;

/**
 * {@link balancedBatchSize} never splits a configuration's runs into batches smaller than this (or
 * than the configuration): small models gain much more from batching than
 * {@link BATCH_OVERHEAD_RUNS} says (the quick preset's panel 1c took 3 min 24 s in batches of 2 and
 * 4 min 17 s one run at a time, a fixed cost of about 2 runs per batch).
 */
export const MIN_AUTO_BATCH = 8;

/**
 * The batch size that should finish soonest: `groups` holds the number of runs still to train of
 * each batch key (only runs with one {@link runBatchKey} batch together), `workers` the worker
 * processes. Workers take batches of `k` runs (the last of a group smaller) as they free
 * up; the finish time is modelled by the longest-processing-time-first schedule with each batch of
 * c runs costing c + {@link BATCH_OVERHEAD_RUNS}, and the largest k among the fastest wins; k is
 * at least {@link MIN_AUTO_BATCH} (or the largest group, when smaller).
 *
 * Why: 5 configurations of 20 runs on 2 workers take 3 rounds in batches of 20, the last with one
 * worker idle; in batches of 10 they take 5 full rounds, 16% sooner.
 *
 * @example
 * ```ts
 * import { balancedBatchSize } from "./workers.ts";
 * console.log(balancedBatchSize([20, 20, 20, 20, 20], 2)); // 10
 * console.log(balancedBatchSize([20, 20], 2)); // 20
 * ```
 */
export function balancedBatchSize(
  groups: readonly number[],
  workers: number,
  max: number = AUTO_BATCH,
): number {
  if (!Number.isInteger(workers) || workers < 1 || !Number.isInteger(max) || max < 1) {
    throw new Error(`balancedBatchSize: invalid workers ${workers} or max ${max}`);
  }
  const largest = Math.max(0, ...groups);
  let best = Math.max(1, Math.min(max, largest)), bestTime = Infinity;
  for (let k = best; k >= Math.min(best, MIN_AUTO_BATCH); k--) {
    const batches: number[] = [];
    for (const g of groups) {
      for (let left = g; left > 0; left -= k) batches.push(Math.min(k, left));
    }
    batches.sort((a, b) => b - a);
    const loads = new Array<number>(workers).fill(0);
    for (const c of batches) {
      let i = 0;
      for (let w = 1; w < workers; w++) if (loads[w] < loads[i]) i = w;
      loads[i] += c + BATCH_OVERHEAD_RUNS;
    }
    const time = Math.max(...loads);
    if (time < bestTime - 1e-9) {
      best = k;
      bestTime = time;
    }
  }
  return best;
}

/**
 * Bytes one run's replay buffer can reach: min(capacity, totalSteps) steps plus one episode, each
 * holding its encoded observation and state (1 byte per value when the encoding is declared
 * integral, see `isByteSpec`; else 4) and its action and reward (4 bytes each).
 */
export function replayBytes(config: TrainConfig): number {
  const env = makeEnv(config.env, { timeLimit: config.timeLimit });
  const steps = Math.min(config.bufferCapacity, config.totalSteps) + env.timeLimit;
  const width = (spec: FeatureSpec) => spec.size * (isByteSpec(spec) ? 1 : 4);
  return steps * (width(env.obsSpec) + width(env.stateSpec) + 8);
}

/** The most runs of `config` whose replay buffers fit in `budgetBytes` (at least 1). */
export function batchLimitForMemory(config: TrainConfig, budgetBytes: number): number {
  return Math.max(1, Math.floor(budgetBytes / replayBytes(config)));
}

/** The default memory budget of one worker's batch: 35% of the machine's memory. */
export function defaultMemoryBudget(): number {
  try {
    return 0.35 * Deno.systemMemoryInfo().total;
  } catch {
    return 4 * 2 ** 30;
  }
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
  const batch = options.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) {
    throw new Error(`runWorker: invalid batch size ${batch}; expected a positive integer`);
  }
  const budget = options.memoryBudgetBytes ?? defaultMemoryBudget();
  const summary: WorkerSummary = { finished: 0, failed: 0, interrupted: 0, lost: 0 };
  const progressMs = options.progressMs ?? 500;
  const version = codeVersion();
  // The default trainers run on options.backend: record the backend it resolves to.
  const machine = options.trainer
    ? machineInfo()
    : trainingMachine(await ensureBackend(options.backend));
  const leaseTimeoutMs = options.leaseTimeoutMs ?? DEFAULT_LEASE_TIMEOUT_MS;
  const claim = (ids: readonly number[] | undefined) =>
    db.claim({ owner, ids, leaseTimeoutMs, codeVersion: version, machine });
  while (!options.signal?.aborted) {
    const first = claim(options.ids);
    if (!first) break;
    const runs: RunRecord[] = [first];
    const limit = batch > 1
      ? Math.min(batch, batchLimitForMemory(first.config as unknown as TrainConfig, budget))
      : 1;
    if (limit > 1) {
      // More runs that can share the batch (other seeds, learning rates, time limits), first those
      // of the same configuration, then by id.
      const free = db.claimableIds({ owner, ids: options.ids, leaseTimeoutMs });
      const key = runBatchKey(first);
      const same = db.listRuns({ ids: free })
        .filter((r) => r.id !== first.id && runBatchKey(r) === key)
        .sort((a, b) =>
          Number(b.hash === first.hash) - Number(a.hash === first.hash) || a.id - b.id
        );
      for (const r of same) {
        if (runs.length >= limit) break;
        const more = claim([r.id]);
        if (more) runs.push(more);
      }
    }
    for (const run of runs) {
      emit({
        type: "claimed",
        runId: run.id,
        label: runLabel(run),
        totalSteps: run.totalSteps,
        envSteps: run.envSteps,
      });
    }
    const lastProgress = new Map<number, number>();
    const common = {
      owner,
      checkpointDir: options.checkpointDir,
      keepCheckpoint: options.keepCheckpoints,
      restartCorrupt: options.restartCorrupt,
      leaseTimeoutMs: options.leaseTimeoutMs,
      heartbeatMs: options.heartbeatMs,
      signal: options.signal,
      log: (message: string) => emit({ type: "log", message }),
      onMetric: (runId: number, p: { envStep: number; avgReturn: number }) =>
        emit({ type: "metric", runId, envStep: p.envStep, avgReturn: finiteOrNull(p.avgReturn) }),
      onProgress: (p: RunProgress) => {
        const now = performance.now();
        if (now - (lastProgress.get(p.runId) ?? 0) < progressMs && p.envStep < p.totalSteps) return;
        lastProgress.set(p.runId, now);
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
    };
    const outcomes: RunOutcome[] = await executeBatch(db, runs, { ...common, trainer });
    for (const outcome of outcomes) {
      emit({
        type: "done",
        runId: outcome.runId,
        status: outcome.status,
        message: outcome.message,
      });
      if (outcome.status === "finished") summary.finished++;
      else if (outcome.status === "failed") summary.failed++;
      else if (outcome.status === "interrupted") summary.interrupted++;
      else if (outcome.status === "lost") summary.lost++;
    }
  }
  return summary;
}

/**
 * The batch size of a worker: `auto` is `--auto-batch` (default {@link AUTO_BATCH}) when the real
 * trainer runs on a native-BLAS backend (batching pays off there) and 1 otherwise (or with an
 * injected trainer).
 */
async function resolveBatch(parsed: WorkerArgs, injected: boolean): Promise<number> {
  if (parsed.batch !== "auto") return parsed.batch;
  if (injected) return 1;
  return isNativeBackend(await ensureBackend(parsed.backend)) ? parsed.autoBatch ?? AUTO_BATCH : 1;
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
  backend: TrainerBackend;
  /** Most runs trained together, or "auto" ({@link AUTO_BATCH} on a native-BLAS backend, else 1). */
  batch: number | "auto";
  /** The size `auto` means on a native-BLAS backend (default {@link AUTO_BATCH}). */
  autoBatch?: number;
  /** Keep checkpoints of finished runs. */
  keepCheckpoints: boolean;
  /** Start runs with a corrupt checkpoint over, keeping the file aside. */
  restartCorrupt: boolean;
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
      "restart-corrupt": { type: "boolean" },
      "parent-pid": { type: "string" },
      "batch": { type: "string" },
      "auto-batch": { type: "string" },
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
  const backend = (values.backend ?? "wasm") as TrainerBackend;
  if (!TRAINER_BACKENDS.includes(backend)) {
    throw new Error(
      `invalid --backend "${backend}"; expected one of ${TRAINER_BACKENDS.join(", ")}`,
    );
  }
  const batchText = values.batch ?? "1";
  const batchNumber = Number(batchText);
  if (batchText !== "auto" && !(Number.isSafeInteger(batchNumber) && batchNumber >= 1)) {
    throw new Error(`invalid --batch "${batchText}"; expected a positive integer or auto`);
  }
  const autoBatch = values["auto-batch"] === undefined ? undefined : Number(values["auto-batch"]);
  if (autoBatch !== undefined && !(Number.isSafeInteger(autoBatch) && autoBatch >= 1)) {
    throw new Error(`invalid --auto-batch "${values["auto-batch"]}"; expected a positive integer`);
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
    restartCorrupt: values["restart-corrupt"] ?? false,
    parentPid: parent,
    batch: batchText === "auto" ? "auto" : batchNumber,
    ...(autoBatch === undefined ? {} : { autoBatch }),
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
      batch: await resolveBatch(parsed, options.trainer !== undefined),
      backend: parsed.backend,
      checkpointDir: parsed.checkpointDir,
      keepCheckpoints: parsed.keepCheckpoints,
      restartCorrupt: parsed.restartCorrupt,
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
