/**
 * Run one training run against the results database: skip it when finished, resume it from its
 * checkpoint when interrupted, otherwise start it; write its metric points as they come (upserts,
 * since a resumed run re-emits points from its checkpoint on); mark it finished or failed.
 * {@link executeBatch} does the same for several claimed runs that share their configuration but
 * the seed, trained together by the batched trainer (`trainBatch` of lib/train/loop.ts).
 *
 * The trainer is injectable (tests use fake ones); the default is the real one of ./trainer.ts,
 * which this module re-exports.
 *
 * @example Train one tiny run (real trainer) and record it
 * ```ts ignore
 * import { ResultsDb } from "../results/db.ts";
 * import { resolveTrainConfig } from "../train/config.ts";
 * import { runOne } from "./runner.ts";
 * const db = ResultsDb.open("data/results.sqlite");
 * const config = resolveTrainConfig({ env: "heaven-hell-3", algo: "adqn", seed: 0, totalSteps: 2000,
 *   prepopulateSteps: 500, logEvery: 500 });
 * const outcome = await runOne(db, config, { checkpointDir: "runs" });
 * console.log(outcome.status, outcome.message);
 * ```
 * @module
 */
import {
  codeVersion,
  currentOwner,
  DEFAULT_LEASE_TIMEOUT_MS,
  type LeaseOwner,
  type ResultsDb,
  ResultsDbError,
  type RunRecord,
} from "../results/db.ts";
import { batchKey, resolveTrainConfig, type TrainConfig } from "../train/config.ts";
import type { MetricPoint, TrainResult } from "../train/loop.ts";
import { checkpointPathFor, runHash } from "./grid.ts";
import { checkpointReadable, setAsideCorruptCheckpoint } from "../train/checkpoint.ts";
import { existsSync } from "../files.ts";
import { realTrainer, type Trainer, type TrainerOptions, trainingMachine } from "./trainer.ts";
export * from "./trainer.ts";

/** Progress of one run, for progress bars. */
export interface RunProgress {
  /** Run id. */
  runId: number;
  /** Short human label: "adqn heaven-hell-3 seed 0". */
  label: string;
  /** Environment steps so far. */
  envStep: number;
  /** The run's totalSteps. */
  totalSteps: number;
  /** Environment steps when this attempt started (after a resume: the checkpoint's). */
  startStep: number;
  /** Completed episodes. */
  episodes: number;
  /** Return of the last episode (NaN before any). */
  lastReturn: number;
  /** Latest logged average return (NaN before any point). */
  avgReturn: number;
  /** Seconds since this attempt started. */
  elapsedSeconds: number;
}

/** How a run of {@link runOne} or {@link executeBatch} ended. */
export type RunOutcomeStatus =
  | "finished"
  | "failed"
  | "interrupted"
  | "skipped"
  | "busy"
  | "lost";

/** The result of a run of {@link runOne} / {@link executeBatch}. */
export interface RunOutcome {
  /** Run id. */
  runId: number;
  /** finished; failed (error stored); interrupted (back in the queue, resumable); skipped
   * (already finished: no work done); busy (another live process holds it); lost (the lease was
   * taken over while training). */
  status: RunOutcomeStatus;
  /** One sentence for the user. */
  message: string;
  /** How this attempt began: started, resumed, restarted, or none for skipped/busy. */
  mode: "started" | "resumed" | "restarted" | "none";
  /** The trainer's result, when it returned. */
  result?: TrainResult;
}

/** Options of {@link executeBatch} and {@link runOne}. */
export interface RunOptions {
  /** The training function (default {@link realTrainer}()). */
  trainer?: Trainer;
  /** Directory of checkpoint files `<hash>-<seed>.ckpt` (default "runs"). */
  checkpointDir?: string;
  /** Checkpoint period in environment steps (default: the trainer's, i.e. logEvery). */
  checkpointEverySteps?: number;
  /** Checkpoint period in minutes of wall time (default: the trainer's, i.e. 10; 0: off). */
  checkpointEveryMinutes?: number;
  /** Keep the checkpoint after the run finished (default false: it is deleted). */
  keepCheckpoint?: boolean;
  /**
   * A checkpoint that does not decode is renamed to `<path>.corrupt-<time>` and the run starts over
   * from scratch (default false: the trainer fails with the decoding error and what to do).
   */
  restartCorrupt?: boolean;
  /** Lease owner (default this process). */
  owner?: LeaseOwner;
  /** Lease timeout (default {@link DEFAULT_LEASE_TIMEOUT_MS}). */
  leaseTimeoutMs?: number;
  /** Heartbeat period in ms (default 10000). */
  heartbeatMs?: number;
  /** Label stored with a newly registered run (runOne only). */
  label?: string;
  /** Name of the tensor backend the trainer uses, recorded with the run's machine (runOne only). */
  backend?: string;
  /** Stop cleanly (checkpoint written, run back in the queue). */
  signal?: AbortSignal;
  /** Progress after every episode. */
  onProgress?(p: RunProgress): void;
  /** Every metric point, after it was stored. */
  onMetric?(runId: number, p: MetricPoint): void;
  /** Status lines (started/resumed...). */
  log?(message: string): void;
}

/** "adqn heaven-hell-3 seed 0". */
export function runLabel(run: Pick<RunRecord, "algo" | "env" | "seed">): string {
  return `${run.algo} ${run.env} seed ${run.seed}`;
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}

/**
 * Decide how a claimed run (re)starts: its checkpoint path (recorded), and whether it resumes from
 * its checkpoint (it has one and stored points), restarts (stored points but no checkpoint: they
 * are cleared) or starts; a checkpoint without stored points is removed.
 */
function prepareRun(
  db: ResultsDb,
  run: RunRecord,
  owner: LeaseOwner,
  dir: string,
  log: (message: string) => void,
  restartCorrupt = false,
): { ckpt: string; mode: RunOutcome["mode"]; stored: ReturnType<ResultsDb["metrics"]> } {
  const label = runLabel(run);
  const ckpt = run.checkpointPath && existsSync(run.checkpointPath)
    ? run.checkpointPath
    : checkpointPathFor(dir, run.hash, run.seed);
  if (ckpt !== run.checkpointPath) db.setCheckpointPath(run.id, ckpt);
  let hasCkpt = existsSync(ckpt);
  if (hasCkpt && restartCorrupt && !checkpointReadable(ckpt)) {
    log(`${label}: checkpoint ${ckpt} is corrupt; kept as ${setAsideCorruptCheckpoint(ckpt)}`);
    hasCkpt = false;
  }
  const stored = db.metrics(run.id);
  let mode: RunOutcome["mode"];
  if (hasCkpt && stored.length > 0) {
    mode = "resumed";
    log(`${label}: resuming from checkpoint ${ckpt} (${run.envSteps} steps logged)`);
  } else {
    if (hasCkpt) {
      log(`${label}: removing checkpoint ${ckpt}: the database has no points of this run`);
      Deno.removeSync(ckpt);
    }
    if (stored.length > 0) {
      log(`${label}: no checkpoint found; restarting from scratch`);
      db.clearMetrics(run.id, owner.id);
      mode = "restarted";
    } else {
      mode = run.attempts > 1 ? "restarted" : "started";
      log(`${label}: starting (${run.totalSteps} environment steps)`);
    }
  }
  const slash = ckpt.lastIndexOf("/");
  if (slash > 0) Deno.mkdirSync(ckpt.slice(0, slash), { recursive: true });
  return { ckpt, mode, stored };
}

/** The outcome of a run whose lease another process took over: nothing more is written. */
function lostOutcome(
  run: RunRecord,
  label: string,
  mode: RunOutcome["mode"],
  result?: TrainResult,
): RunOutcome {
  return {
    runId: run.id,
    status: "lost",
    mode,
    ...(result ? { result } : {}),
    message: `${label}: lease lost to another process; stopped`,
  };
}

/** Record that the trainer threw `e` on `run` (still held by `owner`), and say so. */
function failedOutcome(
  db: ResultsDb,
  run: RunRecord,
  owner: string,
  label: string,
  mode: RunOutcome["mode"],
  e: unknown,
  log: (message: string) => void,
): RunOutcome {
  const text = errorText(e);
  try {
    db.fail(run.id, owner, text);
  } catch (e2) {
    log(`${label}: could not record the failure: ${(e2 as Error).message}`);
  }
  return {
    runId: run.id,
    status: "failed",
    mode,
    message: `${label}: failed: ${(e as Error)?.message ?? text}`,
  };
}

/** The `batchKey` of a stored run: runs with equal keys can train in one batch. */
export function runBatchKey(run: Pick<RunRecord, "config">): string {
  return batchKey(run.config as unknown as TrainConfig);
}

/**
 * Train K ≥ 1 runs that `owner` has already claimed (see `ResultsDb.claim`) and that share their
 * configuration except the seed, lr and time limit (`runBatchKey`), together, with one trainer
 * call; each run resumes from its checkpoint when it has one and stored metrics, else restarts or
 * starts, and its outcome is recorded (finished, interrupted, failed). A run
 * whose lease is lost stops at once (status "lost", no more writes) while the others go on; an
 * exception of the trainer fails every run of the batch.
 */
export async function executeBatch(
  db: ResultsDb,
  runs: readonly RunRecord[],
  options: RunOptions = {},
): Promise<RunOutcome[]> {
  if (runs.length === 0) return [];
  const key = runBatchKey(runs[0]);
  const bad = runs.find((r) => runBatchKey(r) !== key);
  if (bad !== undefined) {
    throw new Error(
      `executeBatch: run ${bad.id} (${runLabel(bad)}) and run ${runs[0].id} (${
        runLabel(runs[0])
      }) differ beyond seed, lr and timeLimit: only such runs can share a batch`,
    );
  }
  const owner = options.owner ?? currentOwner();
  const log = options.log ?? (() => {});
  const trainer = options.trainer ?? realTrainer();
  const dir = options.checkpointDir ?? "runs";
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const t0 = performance.now();
  const slots = runs.map((run) => {
    const { ckpt, mode, stored } = prepareRun(db, run, owner, dir, log, options.restartCorrupt);
    const progress = {
      envSteps: stored.at(-1)?.envStep ?? 0,
      episodes: stored.at(-1)?.episodes ?? 0,
    };
    return {
      run,
      label: runLabel(run),
      ckpt,
      mode,
      progress,
      startStep: mode === "resumed" ? progress.envSteps : 0,
      avgReturn: mode === "resumed" ? stored.at(-1)?.avgReturn ?? NaN : NaN,
      lost: false,
    };
  });
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort();
  if (options.signal?.aborted) abort.abort();
  options.signal?.addEventListener("abort", onOuterAbort);
  let lastBeat = Date.now();
  const beatOne = (s: (typeof slots)[number]) => {
    if (s.lost) return;
    try {
      if (!db.heartbeat(s.run.id, owner.id, s.progress)) s.lost = true;
    } catch (e) {
      log(`${s.label}: heartbeat failed: ${(e as Error).message}`);
    }
  };
  const beat = () => {
    lastBeat = Date.now();
    for (const s of slots) beatOne(s);
    if (slots.every((s) => s.lost)) abort.abort();
  };
  const timer = setInterval(beat, heartbeatMs);
  const batchOptions: TrainerOptions = {
    checkpointPaths: slots.map((s) => s.ckpt),
    signal: abort.signal,
    dropped: (k) => slots[k].lost,
    // Confirm the lease right before each write.
    mayWriteCheckpoint: (k) => {
      beatOne(slots[k]);
      return !slots[k].lost;
    },
    onMetric: (k, p) => {
      const s = slots[k];
      try {
        db.upsertMetrics(s.run.id, [p], owner.id);
      } catch (e) {
        if (!(e instanceof ResultsDbError)) throw e;
        s.lost = true; // the trainer drops the run at its next check
        return;
      }
      s.progress = { envSteps: p.envStep, episodes: p.episodes };
      s.avgReturn = p.avgReturn;
      options.onMetric?.(s.run.id, p);
    },
    onProgress: (k, p) => {
      const s = slots[k];
      s.progress = { envSteps: p.envStep, episodes: p.episodes };
      if (Date.now() - lastBeat >= heartbeatMs) beat();
      options.onProgress?.({
        runId: s.run.id,
        label: s.label,
        envStep: p.envStep,
        totalSteps: p.totalSteps,
        startStep: s.startStep,
        episodes: p.episodes,
        lastReturn: p.lastReturn,
        avgReturn: s.avgReturn,
        elapsedSeconds: (performance.now() - t0) / 1000,
      });
    },
  };
  if (options.checkpointEverySteps !== undefined) {
    batchOptions.checkpointEverySteps = options.checkpointEverySteps;
  }
  if (options.checkpointEveryMinutes !== undefined) {
    batchOptions.checkpointEveryMinutes = options.checkpointEveryMinutes;
  }
  let results: TrainResult[];
  try {
    results = await trainer(slots.map((s) => s.run.config as unknown as TrainConfig), batchOptions);
  } catch (e) {
    return slots.map((s) =>
      s.lost
        ? lostOutcome(s.run, s.label, s.mode)
        : failedOutcome(db, s.run, owner.id, s.label, s.mode, e, log)
    );
  } finally {
    clearInterval(timer);
    options.signal?.removeEventListener("abort", onOuterAbort);
  }
  return slots.map((s, k): RunOutcome => {
    const result = results[k];
    if (s.lost) return lostOutcome(s.run, s.label, s.mode, result);
    return settle(db, s.run, owner.id, s.mode, result, s.ckpt, options.keepCheckpoint ?? false);
  });
}

/** Record a trainer's result of a run still held by `owner`: finished, or released (interrupted). */
function settle(
  db: ResultsDb,
  run: RunRecord,
  owner: string,
  mode: RunOutcome["mode"],
  result: TrainResult,
  ckpt: string,
  keepCheckpoint: boolean,
): RunOutcome {
  const label = runLabel(run);
  if (result.finished) {
    db.finish(run.id, owner, {
      envSteps: result.envSteps,
      episodes: result.episodes,
      wallSeconds: result.wallSeconds,
    });
    if (!keepCheckpoint && existsSync(ckpt)) Deno.removeSync(ckpt);
    const last = db.metrics(run.id).at(-1);
    return {
      runId: run.id,
      status: "finished",
      mode,
      result,
      message: `${label}: finished: ${result.envSteps} steps, ${result.episodes} episodes, ` +
        `final avg return ${last ? last.avgReturn.toFixed(3) : "n/a"} ` +
        `(${result.wallSeconds.toFixed(1)} s of training)`,
    };
  }
  db.release(run.id, owner, `interrupted at step ${result.envSteps}`);
  return {
    runId: run.id,
    status: "interrupted",
    mode,
    result,
    message: `${label}: interrupted at step ${result.envSteps} of ${run.totalSteps}; ` +
      `checkpoint ${ckpt}; run the same command again to resume`,
  };
}

/**
 * Register `config` in the database and claim it for `options.owner` (default: this process), as
 * {@link runOne} does before training: an outcome instead of a run when there is nothing to train
 * (status "skipped": already finished; "busy": held by another live process). A failed run is
 * claimed again (retried).
 */
export function claimOne(
  db: ResultsDb,
  config: TrainConfig,
  options: Pick<RunOptions, "checkpointDir" | "label" | "owner" | "leaseTimeoutMs" | "backend"> =
    {},
): { run: RunRecord } | { outcome: RunOutcome } {
  const c = resolveTrainConfig(config);
  if (typeof c.seed !== "number" || !Number.isSafeInteger(c.seed)) {
    throw new Error(
      `invalid seed ${JSON.stringify(c.seed)}; runs in the results database need an integer seed`,
    );
  }
  const hash = runHash(c);
  const dir = options.checkpointDir ?? "runs";
  const run = db.ensureRun({
    hash,
    seed: c.seed,
    config: c as unknown as Record<string, unknown> & { env: string; algo: string },
    label: options.label,
    checkpointPath: checkpointPathFor(dir, hash, c.seed),
  });
  const label = runLabel(run);
  if (run.status === "finished") {
    return {
      outcome: {
        runId: run.id,
        status: "skipped",
        mode: "none",
        message: `${label}: already finished (run ${run.id}, ended ${run.endedAt}); nothing to do`,
      },
    };
  }
  const owner = options.owner ?? currentOwner();
  const timeout = options.leaseTimeoutMs ?? DEFAULT_LEASE_TIMEOUT_MS;
  const claimed = db.claim({
    owner,
    ids: [run.id],
    leaseTimeoutMs: timeout,
    retryFailed: true,
    codeVersion: codeVersion(),
    machine: trainingMachine(options.backend),
  });
  if (!claimed) {
    const why = db.claimBlocker(run.id, owner, timeout) ?? "it could not be claimed";
    const now = db.getRun(run.id);
    return {
      outcome: {
        runId: run.id,
        status: now?.status === "finished" ? "skipped" : "busy",
        mode: "none",
        message: `${label}: ${why}`,
      },
    };
  }
  return { run: claimed };
}

/**
 * Run one configuration: a no-op (status "skipped") when the database says it is finished, a resume
 * from its checkpoint when it was interrupted, a fresh start otherwise. A failed run is retried. A run
 * held by another live process is not touched (status "busy").
 */
export async function runOne(
  db: ResultsDb,
  config: TrainConfig,
  options: RunOptions = {},
): Promise<RunOutcome> {
  const owner = options.owner ?? currentOwner();
  const claimed = claimOne(db, config, { ...options, owner });
  if ("outcome" in claimed) return claimed.outcome;
  const [outcome] = await executeBatch(db, [claimed.run], { ...options, owner });
  return outcome;
}
