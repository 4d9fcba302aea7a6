/**
 * The paper's training loop (algorithms.md §4), on plain data: the agent sits behind the
 * {@link Agent} interface, so no tensor is touched here.
 *
 * Once per epoch, while environment steps < `totalSteps`:
 * 1. ε = 1 during prepopulation, else linear(steps − prepopulateSteps); collect one ε-greedy
 *    episode with the online Q, acting step by step through the recurrent state (a₋₁ = −1);
 * 2. record its undiscounted return, append it to the replay buffer, steps += its length;
 * 3. hard-copy the targets if steps crossed a multiple of `targetUpdateSteps` (and at the first
 *    epoch);
 * 4. while trainedSteps < (steps − prepopulateSteps) × replayRatio: sample `episodesPerBatch`
 *    whole episodes, take one gradient step, trainedSteps += their total length.
 *
 * Episodes are never cut to fit `totalSteps`: the run ends after the episode that reaches it, as
 * in the reference, so the final step count may exceed `totalSteps` by less than one episode.
 *
 * Random streams are independent children of the seed: `agent` (weight initialisation), `env`
 * (resets and transitions), `explore` (ε-greedy draws) and `sample` (replay sampling).
 *
 * @module
 */
import { makeEnv } from "../envs/mod.ts";
import type { Env } from "../envs/types.ts";
import { childSeed, makeRng, randInt, type Rng, type Seed } from "../rng.ts";
import type { Agent, AlgoId, Episode } from "./agent.ts";
import { EpisodeBuffer } from "./buffer.ts";
import { checkResumable, type LoopState, readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import { type ModelOverrides, resolveTrainConfig, type TrainConfig } from "./config.ts";
import { exists } from "../files.ts";
import { freshState, mean, nextMultiple } from "./loop_state.ts";
import { epsilonSchedule } from "./schedule.ts";

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

/** Options of the agent factory (structurally `AgentOptions` of lib/models/agent.ts). */
export interface AgentFactoryOptions {
  /** Seed of the agent's own stream (weight initialisation). */
  seed: Seed;
  /** Adam learning rate. */
  lr: number;
  /** Adam epsilon. */
  adamEps: number;
  /** Model overrides. */
  model: ModelOverrides;
}

/** Builds the learning agent for an environment (default: lib/models/agent.ts `makeAgent`). */
export type AgentFactory = (
  env: Env,
  algo: AlgoId,
  options: AgentFactoryOptions,
) => Agent | Promise<Agent>;

/** Options of {@link train}. */
export interface TrainOptions {
  /** Called with every metric point (awaited). */
  onMetric?(point: MetricPoint): void | Promise<void>;
  /** Resume from this checkpoint file if it exists; write checkpoints to it (atomically). */
  checkpointPath?: string;
  /** Write a checkpoint each time the step count crosses a multiple of this (default `logEvery`). */
  checkpointEverySteps?: number;
  /** Stop cleanly before the next epoch once aborted, writing a checkpoint; `finished` is false. */
  signal?: AbortSignal;
  /**
   * Asked before each checkpoint write; false skips the write (the run's lease was lost: the file
   * now belongs to another process).
   */
  mayWriteCheckpoint?(): boolean;
  /** Called after every episode. */
  onProgress?(point: ProgressPoint): void;
  /**
   * The agent factory. Default: `makeAgent` of lib/models/agent.ts, imported on first use (the
   * tensor backend must have been set up with `initBackend()` of lib/nn/backend.ts before).
   */
  makeAgent?: AgentFactory;
  /** Use this environment instead of `makeEnv(config.env, { timeLimit: config.timeLimit })`. */
  env?: Env;
  /** Return the trained agent in the result instead of disposing it (the caller disposes it). */
  keepAgent?: boolean;
}

/** What {@link train} returns. */
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

const defaultMakeAgent: AgentFactory = async (env, algo, options) => {
  const mod = await import("../models/agent.ts");
  return mod.makeAgent(env, algo, options);
};

/** Index of the first maximal entry (ties: first; NaN entries never win unless all are NaN). */
export function argmax(q: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < q.length; i++) if (q[i] > q[best] || Number.isNaN(q[best])) best = i;
  return best;
}

/** The result of {@link collectEpisode}. */
export interface CollectedEpisode {
  /** The stored episode. */
  episode: Episode;
  /** Its undiscounted return (summed in double precision from the environment's rewards). */
  return: number;
}

/**
 * Play one ε-greedy episode. With ε ≥ 1 actions are uniform and the agent is not even queried.
 * Otherwise the agent acts through its recurrent state, and each step draws u from `explore`:
 * u < ε ⇒ a uniform action (a second draw), else argmax Q. Episodes end on termination,
 * on the environment's truncation, or after `env.timeLimit` steps (counted as truncation).
 */
export function collectEpisode(
  env: Env,
  agent: Agent,
  epsilon: number,
  envRng: Rng,
  explore: Rng,
): CollectedEpisode {
  return playEpisode(env, epsilon, envRng, explore, {
    initialHidden: () => agent.initialHidden(),
    step: (hidden, prevAction, obs) => agent.act(hidden, prevAction, obs),
  });
}

/**
 * The recurrent Q-function {@link playEpisode} acts with: a fresh hidden state, and one step
 * (a_{t-1}, o_t) → Q(h_t, ·), next hidden state. `wantQ` is false on exploring steps, whose Q
 * values are not read (a batched agent may skip its Q head then).
 */
export interface EpisodeActor {
  /** The recurrent state at the start of an episode. */
  initialHidden(): Float32Array;
  /** One step; must not depend on `wantQ` except by leaving Q unread. */
  step(
    hidden: Float32Array,
    prevAction: number,
    obs: Float32Array,
    wantQ: boolean,
  ): { q: Float32Array; hidden: Float32Array };
}

/**
 * {@link collectEpisode} for any {@link EpisodeActor}: the single-run and the batched trainers
 * share it, so both make the same draws from the same streams in the same order. The ε draw u is
 * made before the forward (it does not depend on Q), so an exploring step may skip the Q head.
 */
export function playEpisode(
  env: Env,
  epsilon: number,
  envRng: Rng,
  explore: Rng,
  actor: EpisodeActor,
): CollectedEpisode {
  const A = env.numActions;
  const obsRows: Float32Array[] = [], stateRows: Float32Array[] = [];
  const actions: number[] = [], rewards: number[] = [];
  let { state, obs } = env.reset(envRng);
  let hidden = epsilon < 1 ? actor.initialHidden() : undefined;
  let prevAction = -1;
  let ret = 0;
  let terminated = false, truncated = false;
  for (let t = 0;; t++) {
    const o = Float32Array.from(env.encodeObs(obs));
    stateRows.push(Float32Array.from(env.encodeState(state)));
    obsRows.push(o);
    let a: number;
    if (hidden === undefined) {
      a = randInt(explore, A);
    } else {
      const exploring = explore() < epsilon;
      const out = actor.step(hidden, prevAction, o, !exploring);
      hidden = out.hidden;
      a = exploring ? randInt(explore, A) : argmax(out.q);
    }
    const step = env.step(state, a, envRng);
    actions.push(a);
    rewards.push(step.reward);
    ret += step.reward;
    state = step.state;
    obs = step.obs;
    prevAction = a;
    if (step.terminated) {
      terminated = true;
      break;
    }
    if (step.truncated || t + 1 >= env.timeLimit) {
      truncated = true;
      break;
    }
  }
  const T = actions.length;
  const finalObs = Float32Array.from(env.encodeObs(obs));
  const finalState = Float32Array.from(env.encodeState(state));
  const ow = finalObs.length, sw = finalState.length;
  const obsAll = new Float32Array(T * ow), statesAll = new Float32Array(T * sw);
  for (let t = 0; t < T; t++) {
    obsAll.set(obsRows[t], t * ow);
    statesAll.set(stateRows[t], t * sw);
  }
  return {
    episode: {
      length: T,
      obs: obsAll,
      states: statesAll,
      actions: Int32Array.from(actions),
      rewards: Float32Array.from(rewards),
      terminated,
      truncated,
      finalObs,
      finalState,
    },
    return: ret,
  };
}

/**
 * Train one agent on one environment as the paper does (see the module doc), emitting a metric
 * point each time the step count crosses a multiple of `logEvery` and once at the end. With a
 * `checkpointPath`, a run resumes from that file if it exists (refusing one written for another
 * config or seed) and continues exactly as the uninterrupted run would have.
 *
 * @example
 * ```ts ignore
 * import { resolveTrainConfig, train } from "./mod.ts";
 * import { initBackend } from "../nn/backend.ts";
 * await initBackend();
 * const config = resolveTrainConfig({ env: "heaven-hell-3", algo: "adqn", totalSteps: 20_000,
 *   prepopulateSteps: 1000, epsilonDecaySteps: 10_000, logEvery: 1000 });
 * const result = await train(config, { onMetric: (p) => console.log(p.envStep, p.avgReturn) });
 * ```
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const c = resolveTrainConfig(config);
  const env = options.env ?? makeEnv(c.env, { timeLimit: c.timeLimit });
  const factory = options.makeAgent ?? defaultMakeAgent;
  const every = options.checkpointEverySteps ?? c.logEvery;
  if (!Number.isSafeInteger(every) || every < 1) {
    throw new Error(`invalid checkpointEverySteps ${every}; expected a positive integer`);
  }
  const ckptPath = options.checkpointPath;
  const existing = ckptPath !== undefined && await exists(ckptPath)
    ? await readCheckpoint(ckptPath)
    : undefined;
  if (existing) checkResumable(existing, c, ckptPath);

  const agent = await factory(env, c.algo, {
    seed: childSeed(c.seed, "agent"),
    lr: c.lr,
    adamEps: c.adamEps,
    model: c.model,
  });
  let keep = false;
  try {
    const seedOf = (name: string) => childSeed(c.seed, name);
    const rngs: Record<string, Rng> = {};
    for (const name of ["env", "explore", "sample"]) {
      rngs[name] = makeRng(seedOf(name), existing?.rngs[name]);
    }
    let state: LoopState;
    let buffer: EpisodeBuffer;
    if (existing) {
      agent.restore(existing.agent);
      state = existing.state;
      buffer = existing.buffer;
    } else {
      state = freshState(c);
      buffer = new EpisodeBuffer(c.bufferCapacity);
    }
    const eps = epsilonSchedule(c);
    const metrics: MetricPoint[] = [];
    const t0 = performance.now();
    const wallBase = state.wallSeconds;
    const wall = () => wallBase + (performance.now() - t0) / 1000;
    let nextCheckpoint = nextMultiple(state.envSteps, every);
    let lastYield = performance.now();

    const saveCheckpoint = async () => {
      if (ckptPath === undefined || options.mayWriteCheckpoint?.() === false) return;
      state.wallSeconds = wall();
      const rngStates: Record<string, ReturnType<Rng["state"]>> = {};
      for (const [name, r] of Object.entries(rngs)) rngStates[name] = r.state();
      await writeCheckpoint(ckptPath, {
        config: c,
        state,
        rngs: rngStates,
        agent: agent.snapshot(),
        buffer,
      });
    };
    const emit = async () => {
      const point: MetricPoint = {
        envStep: state.envSteps,
        episodes: state.episodes,
        avgReturn: mean(state.returns),
        epsilon: state.epsilon,
        lossQ: state.lossCount > 0 ? state.lossQSum / state.lossCount : NaN,
        lossU: state.lossCount > 0 ? state.lossUSum / state.lossCount : NaN,
        trainedSteps: state.trainedSteps,
        wallSeconds: wall(),
      };
      state.lossQSum = state.lossUSum = state.lossCount = 0;
      state.lastMetricStep = state.envSteps;
      metrics.push(point);
      await options.onMetric?.(point);
    };

    while (!state.finished && state.envSteps < c.totalSteps) {
      if (options.signal?.aborted) break;
      // 1. collect one ε-greedy episode
      const epsilon = eps(state.envSteps);
      const { episode, return: ret } = collectEpisode(
        env,
        agent,
        epsilon,
        rngs.env,
        rngs.explore,
      );
      // 2. record it
      state.epsilon = epsilon;
      state.lastReturn = ret;
      state.returns.push(ret);
      if (state.returns.length > c.returnWindow) state.returns.shift();
      buffer.add(episode);
      state.envSteps += episode.length;
      state.episodes++;
      // 3. target copies
      if (state.envSteps >= state.nextTargetUpdate) {
        agent.updateTargets();
        state.targetUpdates++;
        state.nextTargetUpdate = nextMultiple(state.envSteps, c.targetUpdateSteps);
      }
      // 4. gradient steps, keeping the replay ratio
      const budget = (state.envSteps - c.prepopulateSteps) * c.replayRatio;
      while (state.trainedSteps < budget) {
        const batch = buffer.sample(rngs.sample, c.episodesPerBatch);
        const losses = agent.trainStep(batch, {
          gamma: c.gamma,
          bootstrapOnTruncation: c.bootstrapOnTruncation,
        });
        for (const ep of batch) state.trainedSteps += ep.length;
        state.gradientSteps++;
        state.lossQSum += losses.lossQ;
        state.lossUSum += losses.lossU;
        state.lossCount++;
      }
      if (state.envSteps >= state.nextLog) {
        state.nextLog = nextMultiple(state.envSteps, c.logEvery);
        await emit();
      }
      options.onProgress?.({
        envStep: state.envSteps,
        totalSteps: c.totalSteps,
        episodes: state.episodes,
        lastReturn: ret,
      });
      if (state.envSteps >= c.totalSteps) break;
      if (state.envSteps >= nextCheckpoint) {
        nextCheckpoint = nextMultiple(state.envSteps, every);
        await saveCheckpoint();
      }
      if (performance.now() - lastYield > 50) { // let timers and signal handlers run
        await new Promise((r) => setTimeout(r, 0));
        lastYield = performance.now();
      }
    }
    const finished = state.envSteps >= c.totalSteps;
    if (finished && !state.finished) {
      if (state.lastMetricStep !== state.envSteps) await emit();
      state.finished = true;
      await saveCheckpoint();
    } else if (!finished) {
      await saveCheckpoint();
    }
    keep = options.keepAgent === true;
    return {
      config: c,
      metrics,
      finished,
      envSteps: state.envSteps,
      episodes: state.episodes,
      wallSeconds: wall(),
      ...(keep ? { agent } : {}),
    };
  } finally {
    if (!keep) agent.dispose();
  }
}
