/**
 * The data and options of the training loop (./loop.ts): its metric points (also the rows of the
 * results database), progress points, results, the agent contract it trains through
 * ({@link RunsAgent}) and the options of `train` and `trainBatch`.
 *
 * @module
 */
import type { Env } from "../envs/types.ts";
import type { BatchedAgent } from "../models/batched_agent.ts";
import type { Seed } from "../rng.ts";
import type { Agent, AlgoId } from "./agent.ts";
import type { ModelOverrides, TrainConfig } from "./config.ts";

/** One point of a learning curve. */
export interface MetricPoint {
  /** Environment steps so far (prepopulation included). */
  envStep: number;
  /** Completed episodes so far. */
  episodes: number;
  /** Mean undiscounted return of the last `returnWindow` episodes (NaN before the first). */
  avgReturn: number;
  /** ε used for the most recent episode. */
  epsilon: number;
  /** Mean Q loss of the gradient steps since the previous point (NaN if none). */
  lossQ: number;
  /** Mean U loss of the gradient steps since the previous point (NaN if none; 0 for DQN). */
  lossU: number;
  /** Sum of the lengths of the episodes trained on so far. */
  trainedSteps: number;
  /** Wall-clock seconds of training so far (across resumes). */
  wallSeconds: number;
  /**
   * Share of the last `returnWindow` episodes (avgReturn's window) that terminated with a positive
   * final reward (Heaven-Hell: heaven); NaN before the first. Absent in points from older databases.
   */
  sharePositive?: number;
  /** Share of the window's episodes that terminated with a negative final reward (hell). */
  shareNegative?: number;
  /** Share of the window's episodes that terminated with a zero final reward. */
  shareZero?: number;
  /** Share of the window's episodes cut by the time limit (or the environment's truncation). */
  shareTruncated?: number;
  /** Mean length of the window's episodes (NaN before the first). */
  avgLength?: number;
  /**
   * Mean return of the greedy evaluation made at this point (`evalEpisodes` episodes, see
   * `evalEvery`); NaN at points without one.
   */
  evalReturn?: number;
  /** Mean length of the greedy evaluation's episodes; NaN at points without one. */
  evalLength?: number;
}

/** What `onProgress` receives after every episode. */
export interface ProgressPoint {
  /** Environment steps so far. */
  envStep: number;
  /** The run's `totalSteps`. */
  totalSteps: number;
  /** Completed episodes so far. */
  episodes: number;
  /** Undiscounted return of the episode just finished. */
  lastReturn: number;
}

/** What `train` returns for a run (and `trainBatch` for each). */
export interface TrainResult {
  /** The configuration of the run. */
  config: TrainConfig;
  /** The metric points emitted by this call (a resumed run emits only the new ones). */
  metrics: MetricPoint[];
  /** The run reached `totalSteps` (false when stopped by the signal). */
  finished: boolean;
  /** Environment steps done (in total, across resumes). */
  envSteps: number;
  /** Episodes done (in total, across resumes). */
  episodes: number;
  /** Wall-clock seconds (in total, across resumes). */
  wallSeconds: number;
  /** The agent, only when `keepAgent` was set. */
  agent?: Agent;
}

/** What the loop needs of an agent that holds K runs (lib/models/batched_agent.ts). */
export type RunsAgent = Pick<
  BatchedAgent,
  | "size"
  | "initialHidden"
  | "actMany"
  | "updateTargets"
  | "trainStep"
  | "snapshot"
  | "restore"
  | "view"
  | "dispose"
>;

/** Options of the agent factory (structurally those of `makeBatchedAgent`). */
export interface AgentFactoryOptions {
  /** One seed per run: the `agent` child stream of each run's seed (weight initialisation). */
  seeds: Seed[];
  /** Adam learning rate of each run. */
  lr: readonly number[];
  /** Adam epsilon. */
  adamEps: number;
  /** Model overrides. */
  model: ModelOverrides;
}

/** Builds the agent of K runs (default: `makeBatchedAgent` of lib/models/batched_agent.ts). */
export type AgentFactory = (
  env: Env,
  algo: AlgoId,
  options: AgentFactoryOptions,
) => RunsAgent | Promise<RunsAgent>;

/** Options of `train` (./loop.ts). */
export interface TrainOptions {
  /** Called with every metric point (awaited). */
  onMetric?(point: MetricPoint): void | Promise<void>;
  /** Resume from this checkpoint file if it exists; write checkpoints to it (atomically). */
  checkpointPath?: string;
  /** Write a checkpoint each time the step count crosses a multiple of this (default `logEvery`). */
  checkpointEverySteps?: number;
  /**
   * Also write a checkpoint at the first epoch end once this many minutes of wall time have passed
   * since the last one (default 10, as the reference does; 0: off). Changes no training number.
   */
  checkpointEveryMinutes?: number;
  /** The wall clock of `checkpointEveryMinutes`, in milliseconds (default `performance.now`). */
  now?(): number;
  /** Stop cleanly before the next epoch once aborted, writing a checkpoint; `finished` is false. */
  signal?: AbortSignal;
  /**
   * Asked before each checkpoint write; false skips the write and stops the run (its lease was
   * lost: the file now belongs to another process).
   */
  mayWriteCheckpoint?(): boolean;
  /** Called after every episode. */
  onProgress?(point: ProgressPoint): void;
  /**
   * The agent factory, called with one seed. Default: `makeBatchedAgent` of
   * lib/models/batched_agent.ts, imported on first use (the tensor backend must have been set up
   * with `initBackend()` of lib/nn/backend.ts before).
   */
  makeAgent?: AgentFactory;
  /** Use this environment instead of `makeEnv(config.env, { timeLimit: config.timeLimit })`. */
  env?: Env;
  /** Return the trained agent in the result instead of disposing it (the caller disposes it). */
  keepAgent?: boolean;
}

/** Options of `trainBatch` (./loop.ts). */
export interface BatchTrainOptions {
  /** Called with every metric point of run `run` (index into the configs; awaited). */
  onMetric?(run: number, point: MetricPoint): void | Promise<void>;
  /** Called after every episode of run `run`. */
  onProgress?(run: number, point: ProgressPoint): void;
  /**
   * One checkpoint path per run (or undefined for none): resume that run from it if it exists,
   * write its checkpoints there (atomically, in `train()`'s format).
   */
  checkpointPaths?: readonly (string | undefined)[];
  /** Write a run's checkpoint each time its step count crosses a multiple of this (default `logEvery`). */
  checkpointEverySteps?: number;
  /**
   * Also write a checkpoint at the first epoch end once this many minutes of wall time have passed
   * since the last one (default 10, as the reference does; 0: off). Changes no training number.
   */
  checkpointEveryMinutes?: number;
  /** The wall clock of `checkpointEveryMinutes`, in milliseconds (default `performance.now`). */
  now?(): number;
  /** Stop cleanly: each run completes its current epoch, then writes its checkpoint. */
  signal?: AbortSignal;
  /** The batched agent factory (default `makeBatchedAgent`, imported on first use). */
  makeAgent?: AgentFactory;
  /** Environment of each run (default `makeEnv(config.env, { timeLimit })` per run). */
  envs?: readonly Env[];
  /**
   * Polled at a run's epoch boundaries and before each of its callbacks and checkpoint writes: once
   * it returns true, that run stops where it is (no more callbacks, no more checkpoint writes; its
   * result says not finished) while the others go on. For a run whose lease was lost.
   */
  dropped?(run: number): boolean;
  /**
   * Asked right before each checkpoint write of run `run`; false skips the write and drops the
   * run (its lease was lost: the file now belongs to another process).
   */
  mayWriteCheckpoint?(run: number): boolean;
  /**
   * Return each run's agent in its result (a view of the batched agent, see
   * `BatchedAgent.view`); the batched agent is freed once every returned agent is disposed.
   */
  keepAgent?: boolean;
}
