/**
 * The state and the steps of one `trainBatch` call (./loop.ts): a {@link Slot} per run (its
 * config, environment, random streams, counters, buffer, metric points and checkpoint), and the
 * epoch's pieces as methods of {@link BatchRun}: collect every waiting run's next episode, take one
 * gradient step for every run that needs one, end an epoch (metric point, progress, checkpoint),
 * finish a run. The loop in ./loop.ts only sequences them.
 *
 * @module
 */
import type { Env } from "../envs/types.ts";
import { childSeed, makeRng, type Rng, type RngState } from "../rng.ts";
import type { Agent, Episode } from "./agent.ts";
import { EpisodeBuffer } from "./buffer.ts";
import { type LoopState, type TrainCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import type { TrainConfig } from "./config.ts";
import { type EpisodeActor, playEpisode } from "./episode.ts";
import {
  episodeOutcome,
  freshState,
  mean,
  nextMultiple,
  outcomeShares,
  pushWindow,
} from "./loop_state.ts";
import type { BatchTrainOptions, MetricPoint, RunsAgent, TrainResult } from "./loop_types.ts";
import { epsilonSchedule } from "./schedule.ts";

type Phase = "collect" | "train" | "done";

/** Everything one run of the batch owns. */
export interface Slot {
  run: number;
  c: TrainConfig;
  env: Env;
  rngs: Record<"env" | "explore" | "sample" | "eval", Rng>;
  state: LoopState;
  buffer: EpisodeBuffer;
  eps: (envSteps: number) => number;
  metrics: MetricPoint[];
  wallBase: number;
  nextCheckpoint: number;
  /** `now()` at the last checkpoint write (or the start), for `checkpointEveryMinutes`. */
  lastCheckpointAt: number;
  ckptPath?: string;
  phase: Phase;
  dropped: boolean;
}

/** How a batch checkpoints: every `every` steps and every `minutes` of `now()` (0: off). */
export interface CheckpointPolicy {
  every: number;
  minutes: number;
  now: () => number;
}

/**
 * Run k's slot: from its checkpoint when there is one (whose agent part is restored into `agent`),
 * else fresh.
 */
export function makeSlot(
  k: number,
  c: TrainConfig,
  env: Env,
  ckpt: TrainCheckpoint | undefined,
  path: string | undefined,
  agent: RunsAgent,
  policy: CheckpointPolicy,
): Slot {
  const rngs = {
    env: makeRng(childSeed(c.seed, "env"), ckpt?.rngs.env),
    explore: makeRng(childSeed(c.seed, "explore"), ckpt?.rngs.explore),
    sample: makeRng(childSeed(c.seed, "sample"), ckpt?.rngs.sample),
    eval: makeRng(childSeed(c.seed, "eval"), ckpt?.rngs.eval),
  };
  if (ckpt) agent.restore(k, ckpt.agent);
  const state = ckpt?.state ?? freshState(c);
  return {
    run: k,
    c,
    env,
    rngs,
    state,
    buffer: ckpt?.buffer ?? new EpisodeBuffer(c.bufferCapacity),
    eps: epsilonSchedule(c),
    metrics: [],
    wallBase: state.wallSeconds,
    nextCheckpoint: nextMultiple(state.envSteps, policy.every),
    lastCheckpointAt: policy.now(),
    ckptPath: path,
    phase: "collect",
    dropped: false,
  };
}

/** The runs of one `trainBatch` call and the steps of its epochs (see the module doc). */
export class BatchRun {
  readonly #agent: RunsAgent;
  readonly #slots: Slot[];
  readonly #options: BatchTrainOptions;
  readonly #policy: CheckpointPolicy;
  readonly #t0 = performance.now();
  readonly #lastReturns: number[];

  /** The batch of `slots` trained through `agent`. */
  constructor(
    agent: RunsAgent,
    slots: Slot[],
    options: BatchTrainOptions,
    policy: CheckpointPolicy,
  ) {
    this.#agent = agent;
    this.#slots = slots;
    this.#options = options;
    this.#policy = policy;
    this.#lastReturns = new Array<number>(slots.length).fill(NaN);
  }

  /** Wall-clock seconds of run s so far (across resumes). */
  wall(s: Slot): number {
    return s.wallBase + (performance.now() - this.#t0) / 1000;
  }

  /** Whether run s was dropped (it then stops at once). */
  gone(s: Slot): boolean {
    if (!s.dropped && this.#options.dropped?.(s.run)) {
      s.dropped = true;
      s.phase = "done";
    }
    return s.dropped;
  }

  /** Mark the runs that are done already (finished, or at their budget on resume). */
  async start(): Promise<void> {
    for (const s of this.#slots) {
      if (s.state.finished) s.phase = "done";
      else if (s.state.envSteps >= s.c.totalSteps) await this.#finish(s);
    }
  }

  /** The runs in `phase` now. */
  inPhase(phase: Phase): Slot[] {
    return this.#slots.filter((s) => s.phase === phase);
  }

  /**
   * Collect: every run between epochs (`collecting`) plays its next episode; the targets of the
   * runs that crossed a target-update step are copied; runs with nothing to train (prepopulation)
   * end their epoch, the others go on to train.
   */
  async collect(collecting: readonly Slot[]): Promise<void> {
    const agent = this.#agent;
    const played = collecting.map((s) => playSlotEpisode(agent, s));
    const update = new Array<boolean>(this.#slots.length).fill(false);
    played.forEach(({ episode, return: ret }, i) => {
      const s = collecting[i], st = s.state;
      st.epsilon = s.eps(st.envSteps);
      st.lastReturn = ret;
      pushWindow(st.returns, ret, s.c.returnWindow);
      pushWindow(st.outcomes ??= [], episodeOutcome(episode), s.c.returnWindow);
      pushWindow(st.lengths ??= [], episode.length, s.c.returnWindow);
      s.buffer.add(episode);
      st.envSteps += episode.length;
      st.episodes++;
      this.#lastReturns[s.run] = ret;
      if (st.envSteps >= st.nextTargetUpdate) {
        update[s.run] = true;
        st.targetUpdates++;
        st.nextTargetUpdate = nextMultiple(st.envSteps, s.c.targetUpdateSteps);
      }
    });
    agent.updateTargets(update);
    for (const s of collecting) {
      if (budgetMet(s)) await this.#endEpoch(s);
      else s.phase = "train";
    }
  }

  /** Train: one gradient step for every run in `training` (whose replay ratio is not met yet). */
  async train(training: readonly Slot[]): Promise<void> {
    const c0 = this.#slots[0].c;
    const batches: (Episode[] | null)[] = this.#slots.map((s) =>
      s.phase === "train" ? s.buffer.sample(s.rngs.sample, s.c.episodesPerBatch) : null
    );
    const losses = this.#agent.trainStep(batches, {
      gamma: c0.gamma,
      bootstrapOnTruncation: c0.bootstrapOnTruncation,
    });
    for (const s of training) {
      const st = s.state, l = losses[s.run]!;
      for (const ep of batches[s.run]!) st.trainedSteps += ep.length;
      st.gradientSteps++;
      st.lossQSum += l.lossQ;
      st.lossUSum += l.lossU;
      st.lossCount++;
      if (budgetMet(s)) await this.#endEpoch(s);
    }
  }

  /** Stopped by the signal: every run not done is between epochs; checkpoint it. */
  async checkpointUnfinished(): Promise<void> {
    for (const s of this.#slots) if (s.phase !== "done") await this.#saveCheckpoint(s);
  }

  /**
   * One result per run; with `keep`, each holds a view of the agent, which is freed once every
   * view is disposed.
   */
  results(keep: boolean): TrainResult[] {
    const agent = this.#agent;
    let live = this.#slots.length;
    return this.#slots.map((s) => {
      const result: TrainResult = {
        config: s.c,
        metrics: s.metrics,
        finished: !s.dropped && s.state.envSteps >= s.c.totalSteps,
        envSteps: s.state.envSteps,
        episodes: s.state.episodes,
        wallSeconds: this.wall(s),
      };
      if (keep) {
        const view = agent.view(s.run);
        let disposed = false;
        result.agent = {
          algo: view.algo,
          hiddenSize: view.hiddenSize,
          initialHidden: () => view.initialHidden(),
          act: (hidden, prevAction, obs) => view.act(hidden, prevAction, obs),
          trainStep: (episodes, options) => view.trainStep(episodes, options),
          updateTargets: () => view.updateTargets(),
          snapshot: () => view.snapshot(),
          restore: (snapshot) => view.restore(snapshot),
          dispose: () => {
            if (disposed) return;
            disposed = true;
            if (--live === 0) agent.dispose();
          },
        } satisfies Agent;
      }
      return result;
    });
  }

  async #saveCheckpoint(s: Slot): Promise<void> {
    if (s.ckptPath === undefined || this.gone(s)) return;
    if (this.#options.mayWriteCheckpoint?.(s.run) === false) {
      s.dropped = true;
      s.phase = "done";
      return;
    }
    s.state.wallSeconds = this.wall(s);
    const rngs: Record<string, RngState> = {};
    for (const [name, r] of Object.entries(s.rngs)) rngs[name] = r.state();
    await writeCheckpoint(s.ckptPath, {
      config: s.c,
      state: s.state,
      rngs,
      agent: this.#agent.snapshot(s.run),
      buffer: s.buffer,
    });
    s.lastCheckpointAt = this.#policy.now();
  }

  async #emit(s: Slot): Promise<void> {
    if (this.gone(s)) return;
    const st = s.state;
    const outcomes = st.outcomes ?? [];
    const shares = outcomeShares(outcomes);
    const evaluation = evaluateIfDue(this.#agent, s);
    const point: MetricPoint = {
      envStep: st.envSteps,
      episodes: st.episodes,
      avgReturn: mean(st.returns),
      epsilon: st.epsilon,
      lossQ: st.lossCount > 0 ? st.lossQSum / st.lossCount : NaN,
      lossU: st.lossCount > 0 ? st.lossUSum / st.lossCount : NaN,
      trainedSteps: st.trainedSteps,
      wallSeconds: this.wall(s),
      sharePositive: shares.positive,
      shareNegative: shares.negative,
      shareZero: shares.zero,
      shareTruncated: shares.truncated,
      avgLength: mean(st.lengths ?? []),
      evalReturn: evaluation.return,
      evalLength: evaluation.length,
    };
    st.lossQSum = st.lossUSum = st.lossCount = 0;
    st.lastMetricStep = st.envSteps;
    s.metrics.push(point);
    await this.#options.onMetric?.(s.run, point);
  }

  /** The end of `train()`'s run: a final point if needed, marked finished, checkpointed. */
  async #finish(s: Slot): Promise<void> {
    s.phase = "done";
    if (s.state.finished || this.gone(s)) return;
    if (s.state.lastMetricStep !== s.state.envSteps) await this.#emit(s);
    s.state.finished = true;
    await this.#saveCheckpoint(s);
  }

  /** What `train()` does after an epoch's gradient steps. */
  async #endEpoch(s: Slot): Promise<void> {
    if (this.gone(s)) return;
    const st = s.state;
    if (st.envSteps >= st.nextLog) {
      st.nextLog = nextMultiple(st.envSteps, s.c.logEvery);
      await this.#emit(s);
    }
    if (this.gone(s)) return;
    this.#options.onProgress?.(s.run, {
      envStep: st.envSteps,
      totalSteps: s.c.totalSteps,
      episodes: st.episodes,
      lastReturn: this.#lastReturns[s.run],
    });
    if (st.envSteps >= s.c.totalSteps) return await this.#finish(s);
    const { minutes, every, now } = this.#policy;
    const timeDue = minutes > 0 && now() - s.lastCheckpointAt >= minutes * 60_000;
    if (st.envSteps >= s.nextCheckpoint || timeDue) {
      s.nextCheckpoint = nextMultiple(st.envSteps, every);
      await this.#saveCheckpoint(s);
    }
    s.phase = "collect";
  }
}

/** Whether run s has taken the gradient steps its replay ratio asks for so far. */
function budgetMet(s: Slot): boolean {
  return s.state.trainedSteps >= (s.state.envSteps - s.c.prepopulateSteps) * s.c.replayRatio;
}

/**
 * Play one ε-greedy episode of run s (`playEpisode` of ./episode.ts).
 *
 * The runs' episodes are played run after run rather than step by step across the runs: with
 * native products a forward has no per-call overhead left to share, its cost is reading the run's
 * weights (about 1 MB for the Heaven-Hell model), and one run's weights stay in cache for a whole
 * episode (measured about 2.5× faster than one `actMany` call per step over 20 runs).
 */
function playSlotEpisode(agent: RunsAgent, s: Slot): { episode: Episode; return: number } {
  const { env, rngs, run } = s;
  return playEpisode(env, s.eps(s.state.envSteps), rngs.env, rngs.explore, slotActor(agent, run));
}

/** Run `run` of the agent as an {@link EpisodeActor} (its online Q, one step at a time). */
function slotActor(agent: RunsAgent, run: number): EpisodeActor {
  return {
    initialHidden: () => agent.initialHidden(),
    step: (hidden, prevAction, obs, wantQ) =>
      agent.actMany([{ run, hidden, prevAction, obs, q: wantQ }])[0],
  };
}

/**
 * The greedy evaluation of run s when one is due at its current step (see `evalEvery`):
 * `evalEpisodes` episodes at ε = 0 from the run's `eval` stream (used for both the environment and
 * the unused ε draws), their mean return and length; NaN for both when none is due.
 */
function evaluateIfDue(agent: RunsAgent, s: Slot): { return: number; length: number } {
  const st = s.state, c = s.c;
  if (c.evalEvery <= 0) return { return: NaN, length: NaN };
  st.nextEval ??= nextMultiple(st.envSteps - 1, c.evalEvery);
  if (st.envSteps < st.nextEval) return { return: NaN, length: NaN };
  st.nextEval = nextMultiple(st.envSteps, c.evalEvery);
  const returns: number[] = [], lengths: number[] = [];
  for (let i = 0; i < c.evalEpisodes; i++) {
    const played = playEpisode(s.env, 0, s.rngs.eval, s.rngs.eval, slotActor(agent, s.run));
    returns.push(played.return);
    lengths.push(played.episode.length);
  }
  return { return: mean(returns), length: mean(lengths) };
}
