/**
 * The paper's training loop (algorithms.md §4), on plain data, for K ≥ 1 independent runs at once:
 * {@link trainBatch}; {@link train} is the K = 1 call. The agent sits behind the {@link RunsAgent}
 * interface (lib/models/batched_agent.ts implements it), so no tensor is touched here.
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
 * (resets and transitions), `explore` (ε-greedy draws), `sample` (replay sampling) and `eval`
 * (resets and transitions of the greedy evaluation, which reads the online Q and writes nothing
 * the training reads: evaluation on or off, every training number is the same).
 *
 * The runs of a batch share the environment, the algorithm and every setting but the seed; each has
 * its own episode buffer, environment, random streams, counters, metric points and checkpoint. One
 * gradient computation per round serves every run that needs a step; the runs between epochs then
 * play their next episodes, run after run. A run whose episodes are short takes fewer steps per
 * epoch; a run that reached its budget stops while the others go on. Only *when* a run's steps are
 * computed depends on the batch, so run k of a batch is the run `train(configs[k])` makes, and a
 * checkpoint written inside a batch resumes alone and vice versa.
 *
 * @module
 */
import { makeEnv } from "../envs/mod.ts";
import type { Env } from "../envs/types.ts";
import { childSeed, makeRng, type Rng, type RngState } from "../rng.ts";
import type { Agent, Episode } from "./agent.ts";
import { EpisodeBuffer } from "./buffer.ts";
import {
  checkResumable,
  type LoopState,
  readCheckpoint,
  type TrainCheckpoint,
  writeCheckpoint,
} from "./checkpoint.ts";
import { canonicalJson, configHash, resolveTrainConfig, type TrainConfig } from "./config.ts";
import { type EpisodeActor, playEpisode } from "./episode.ts";
import { exists } from "../files.ts";
import {
  episodeOutcome,
  freshState,
  mean,
  nextMultiple,
  outcomeShares,
  pushWindow,
} from "./loop_state.ts";
import { epsilonSchedule } from "./schedule.ts";
import type {
  AgentFactory,
  BatchTrainOptions,
  MetricPoint,
  RunsAgent,
  TrainOptions,
  TrainResult,
} from "./loop_types.ts";

export type {
  AgentFactory,
  AgentFactoryOptions,
  BatchTrainOptions,
  MetricPoint,
  ProgressPoint,
  RunsAgent,
  TrainOptions,
  TrainResult,
} from "./loop_types.ts";

const defaultMakeAgent: AgentFactory = async (env, algo, options) => {
  const mod = await import("../models/batched_agent.ts");
  return mod.makeBatchedAgent(env, algo, options);
};

type Phase = "collect" | "train" | "done";

/** Everything one run of the batch owns. */
interface Slot {
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

/**
 * Check that configs can share one batch: the same configuration except the seed. Returns the
 * resolved configs; throws an error naming the fields that differ.
 */
export function checkBatchConfigs(configs: readonly TrainConfig[]): TrainConfig[] {
  if (configs.length === 0) throw new Error("trainBatch: expected at least one config");
  const resolved = configs.map((c) => resolveTrainConfig(c));
  const hash = configHash(resolved[0]);
  resolved.forEach((c, k) => {
    if (configHash(c) === hash) return;
    const a = resolved[0] as unknown as Record<string, unknown>;
    const b = c as unknown as Record<string, unknown>;
    const diffs = Object.keys(a).filter((key) =>
      key !== "seed" && canonicalJson(a[key] ?? null) !== canonicalJson(b[key] ?? null)
    );
    throw new Error(
      `trainBatch: config ${k} differs from config 0 in ${diffs.join(", ")}; the runs of a batch ` +
        `may differ only in their seed`,
    );
  });
  return resolved;
}

/**
 * Train the runs of `configs` (same configuration, different seeds) as one batched computation;
 * each run behaves as `train(configs[k])` would (see the module doc). Returns one result per run,
 * in order.
 *
 * @example
 * ```ts ignore
 * import { initBackend } from "../nn/backend.ts";
 * import { resolveTrainConfig } from "./config.ts";
 * import { trainBatch } from "./loop.ts";
 * await initBackend();
 * const configs = [0, 1, 2].map((seed) => resolveTrainConfig({ env: "heaven-hell-3", algo: "adqn",
 *   seed, totalSteps: 20_000, prepopulateSteps: 1000, epsilonDecaySteps: 10_000, logEvery: 1000 }));
 * const results = await trainBatch(configs, {
 *   onMetric: (run, p) => console.log(run, p.envStep, p.avgReturn),
 * });
 * ```
 */
export async function trainBatch(
  configs: readonly TrainConfig[],
  options: BatchTrainOptions = {},
): Promise<TrainResult[]> {
  const cs = checkBatchConfigs(configs);
  const K = cs.length;
  const c0 = cs[0];
  const every = options.checkpointEverySteps ?? c0.logEvery;
  if (!Number.isSafeInteger(every) || every < 1) {
    throw new Error(`invalid checkpointEverySteps ${every}; expected a positive integer`);
  }
  const minutes = options.checkpointEveryMinutes ?? 10;
  if (!Number.isFinite(minutes) || minutes < 0) {
    throw new Error(
      `invalid checkpointEveryMinutes ${minutes}; expected a finite number of minutes >= 0 (0: off)`,
    );
  }
  const now = options.now ?? (() => performance.now());
  const paths = options.checkpointPaths ?? [];
  if (paths.length !== 0 && paths.length !== K) {
    throw new Error(`trainBatch: ${paths.length} checkpoint paths for ${K} runs`);
  }
  if (options.envs !== undefined && options.envs.length !== K) {
    throw new Error(`trainBatch: ${options.envs.length} environments for ${K} runs`);
  }
  const existing: (TrainCheckpoint | undefined)[] = [];
  for (let k = 0; k < K; k++) {
    const p = paths[k];
    const ckpt = p !== undefined && await exists(p) ? await readCheckpoint(p) : undefined;
    if (ckpt) checkResumable(ckpt, cs[k], p);
    existing.push(ckpt);
  }
  const envs = cs.map((c, k) => options.envs?.[k] ?? makeEnv(c.env, { timeLimit: c.timeLimit }));
  const factory = options.makeAgent ?? defaultMakeAgent;
  const agent = await factory(envs[0], c0.algo, {
    seeds: cs.map((c) => childSeed(c.seed, "agent")),
    lr: c0.lr,
    adamEps: c0.adamEps,
    model: c0.model,
  });
  if (agent.size !== K) {
    agent.dispose();
    throw new Error(`trainBatch: the agent factory made ${agent.size} runs, expected ${K}`);
  }
  let kept = false;
  try {
    const slots: Slot[] = cs.map((c, k) => {
      const ckpt = existing[k];
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
        env: envs[k],
        rngs,
        state,
        buffer: ckpt?.buffer ?? new EpisodeBuffer(c.bufferCapacity),
        eps: epsilonSchedule(c),
        metrics: [],
        wallBase: state.wallSeconds,
        nextCheckpoint: nextMultiple(state.envSteps, every),
        lastCheckpointAt: now(),
        ckptPath: paths[k],
        phase: "collect",
        dropped: false,
      };
    });
    const t0 = performance.now();
    const wall = (s: Slot) => s.wallBase + (performance.now() - t0) / 1000;
    const signal = options.signal;
    let lastYield = performance.now();
    const maybeYield = async () => {
      if (performance.now() - lastYield > 50) { // let timers and signal handlers run
        await new Promise((r) => setTimeout(r, 0));
        lastYield = performance.now();
      }
    };

    /** Whether run s was dropped (it then stops at once). */
    const gone = (s: Slot) => {
      if (!s.dropped && options.dropped?.(s.run)) {
        s.dropped = true;
        s.phase = "done";
      }
      return s.dropped;
    };
    const saveCheckpoint = async (s: Slot) => {
      if (s.ckptPath === undefined || gone(s)) return;
      if (options.mayWriteCheckpoint?.(s.run) === false) {
        s.dropped = true;
        s.phase = "done";
        return;
      }
      s.state.wallSeconds = wall(s);
      const rngs: Record<string, RngState> = {};
      for (const [name, r] of Object.entries(s.rngs)) rngs[name] = r.state();
      await writeCheckpoint(s.ckptPath, {
        config: s.c,
        state: s.state,
        rngs,
        agent: agent.snapshot(s.run),
        buffer: s.buffer,
      });
      s.lastCheckpointAt = now();
    };
    const emit = async (s: Slot) => {
      if (gone(s)) return;
      const st = s.state;
      const outcomes = st.outcomes ?? [];
      const shares = outcomeShares(outcomes);
      const evaluation = evaluateIfDue(agent, s);
      const point: MetricPoint = {
        envStep: st.envSteps,
        episodes: st.episodes,
        avgReturn: mean(st.returns),
        epsilon: st.epsilon,
        lossQ: st.lossCount > 0 ? st.lossQSum / st.lossCount : NaN,
        lossU: st.lossCount > 0 ? st.lossUSum / st.lossCount : NaN,
        trainedSteps: st.trainedSteps,
        wallSeconds: wall(s),
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
      await options.onMetric?.(s.run, point);
    };
    /** The end of `train()`'s run: a final point if needed, marked finished, checkpointed. */
    const finish = async (s: Slot) => {
      s.phase = "done";
      if (s.state.finished || gone(s)) return;
      if (s.state.lastMetricStep !== s.state.envSteps) await emit(s);
      s.state.finished = true;
      await saveCheckpoint(s);
    };
    /** What `train()` does after an epoch's gradient steps. */
    const endEpoch = async (s: Slot, lastReturn: number) => {
      if (gone(s)) return;
      const st = s.state;
      if (st.envSteps >= st.nextLog) {
        st.nextLog = nextMultiple(st.envSteps, s.c.logEvery);
        await emit(s);
      }
      if (gone(s)) return;
      options.onProgress?.(s.run, {
        envStep: st.envSteps,
        totalSteps: s.c.totalSteps,
        episodes: st.episodes,
        lastReturn,
      });
      if (st.envSteps >= s.c.totalSteps) return await finish(s);
      const timeDue = minutes > 0 && now() - s.lastCheckpointAt >= minutes * 60_000;
      if (st.envSteps >= s.nextCheckpoint || timeDue) {
        s.nextCheckpoint = nextMultiple(st.envSteps, every);
        await saveCheckpoint(s);
      }
      s.phase = "collect";
    };
    const budgetMet = (s: Slot) =>
      s.state.trainedSteps >= (s.state.envSteps - s.c.prepopulateSteps) * s.c.replayRatio;
    const lastReturns = new Array<number>(K).fill(NaN);

    for (const s of slots) {
      if (s.state.finished) s.phase = "done";
      else if (s.state.envSteps >= s.c.totalSteps) await finish(s);
    }

    while (true) {
      slots.forEach(gone);
      // Collect: every run between epochs plays its next episode; runs with nothing to train
      // (prepopulation) go straight on to the next one.
      let collecting = slots.filter((s) => s.phase === "collect");
      while (collecting.length > 0 && !signal?.aborted) {
        const played = collectEpisodes(agent, collecting);
        const update = new Array<boolean>(K).fill(false);
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
          lastReturns[s.run] = ret;
          if (st.envSteps >= st.nextTargetUpdate) {
            update[s.run] = true;
            st.targetUpdates++;
            st.nextTargetUpdate = nextMultiple(st.envSteps, s.c.targetUpdateSteps);
          }
        });
        agent.updateTargets(update);
        for (const s of collecting) {
          if (budgetMet(s)) await endEpoch(s, lastReturns[s.run]);
          else s.phase = "train";
        }
        collecting = slots.filter((s) => s.phase === "collect");
        await maybeYield();
      }
      // Train: one gradient step for every run whose replay ratio is not met yet.
      const training = slots.filter((s) => s.phase === "train");
      if (training.length === 0) break;
      const batches: (Episode[] | null)[] = slots.map((s) =>
        s.phase === "train" ? s.buffer.sample(s.rngs.sample, s.c.episodesPerBatch) : null
      );
      const losses = agent.trainStep(batches, {
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
        if (budgetMet(s)) await endEpoch(s, lastReturns[s.run]);
      }
      await maybeYield();
    }
    // Stopped by the signal: every run not done is between epochs; checkpoint it.
    for (const s of slots) if (s.phase !== "done") await saveCheckpoint(s);
    kept = options.keepAgent === true;
    let live = K;
    return slots.map((s) => {
      const result: TrainResult = {
        config: s.c,
        metrics: s.metrics,
        finished: !s.dropped && s.state.envSteps >= s.c.totalSteps,
        envSteps: s.state.envSteps,
        episodes: s.state.episodes,
        wallSeconds: wall(s),
      };
      if (kept) {
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
  } finally {
    if (!kept) agent.dispose();
  }
}

/**
 * Play one ε-greedy episode for each of `slots` (`playEpisode` of ./episode.ts per run).
 *
 * The episodes are played run after run rather than step by step across the runs: with native
 * products a forward has no per-call overhead left to share, its cost is reading the run's weights
 * (about 1 MB for the Heaven-Hell model), and one run's weights stay in cache for a whole episode
 * (measured about 2.5× faster than one `actMany` call per step over 20 runs).
 */
function collectEpisodes(
  agent: RunsAgent,
  slots: readonly Slot[],
): { episode: Episode; return: number }[] {
  return slots.map((s) => playSlotEpisode(agent, s));
}

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

/**
 * Train one run as the paper does: {@link trainBatch} with K = 1 (see the module doc), emitting a metric
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
  const { onMetric, onProgress, mayWriteCheckpoint, checkpointPath, env, ...rest } = options;
  const [result] = await trainBatch([config], {
    ...rest,
    onMetric: onMetric && ((_, p) => onMetric(p)),
    onProgress: onProgress && ((_, p) => onProgress(p)),
    mayWriteCheckpoint: mayWriteCheckpoint && (() => mayWriteCheckpoint()),
    checkpointPaths: checkpointPath === undefined ? undefined : [checkpointPath],
    envs: env && [env],
  });
  return result;
}
