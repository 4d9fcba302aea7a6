/**
 * Throughput of batched multi-run training and acting ({@link benchBatched}): K runs of one
 * environment's model preset trained as one computation (lib/models/batched_agent.ts), each gradient
 * step on one episode of `steps` steps per run, and K environments stepped with one batched forward
 * per step. Used by bench/batched_bench.ts and available to `deno task bench`.
 *
 * @module
 */
import { makeEnv } from "../envs/mod.ts";
import type { Env } from "../envs/types.ts";
import { makeBatchedAgent } from "../models/batched_agent.ts";
import { type BackendName, initBackend } from "../nn/backend.ts";
import { makeRng, randInt } from "../rng.ts";
import { type AlgoId, checkAlgoId, type Episode } from "./agent.ts";
import { argmax } from "./episode.ts";

/** Options of {@link benchBatched}. */
export interface BatchedBenchOptions {
  /** Number of runs K trained together (and of environments stepped together). */
  k: number;
  /** Tensor backend (default `auto`: `wasm-blas` when OpenBLAS loads, else `wasm`). */
  backend?: BackendName;
  /** Minimum seconds of each timed measurement, after one warm-up call (default 3). */
  seconds?: number;
  /** Environment whose model preset is used (default heaven-hell-3). */
  env?: string;
  /** Algorithm (default adqn). */
  algo?: AlgoId;
  /** Steps of each run's training episode (default 100). */
  steps?: number;
  /** Also time acting (default true). */
  act?: boolean;
  /**
   * Wall-clock time (ms since the epoch) to start timing at, after set-up and one warm-up round:
   * lets several processes time the same window (see lib/bench/ours.ts `measureParallel`).
   */
  startAt?: number;
}

/** What {@link benchBatched} measured. */
export interface BatchedBenchResult {
  /** Backend actually used. */
  backend: string;
  /** Number of runs K. */
  k: number;
  /** Environment id. */
  env: string;
  /** Algorithm. */
  algo: AlgoId;
  /** Steps per training episode. */
  steps: number;
  /** Gradient rounds per second (one gradient step of every run per round). */
  roundsPerSecond: number;
  /** Aggregate trained environment steps per second: rounds/s × K × steps. */
  trainedStepsPerSecond: number;
  /**
   * Environment steps per second over all K environments acting greedily, one batched forward
   * (`actMany` over the K runs) per step.
   */
  actStepsPerSecond: number | null;
  /**
   * The same, stepping one run's environment for 100 steps before the next run's (as the batched
   * trainer collects episodes: each run's weights stay in cache).
   */
  actRunMajorStepsPerSecond: number | null;
  /** Rounds and acting steps timed. */
  iterations: { train: number; act: number | null };
}

/** Run `fn` once (warm-up), then repeatedly for at least `seconds`; calls per second and count. */
export function timeIt(fn: () => void, seconds: number): { perSecond: number; iterations: number } {
  fn();
  let n = 0;
  const t0 = performance.now();
  let dt = 0;
  do {
    fn();
    n++;
    dt = performance.now() - t0;
  } while (dt < seconds * 1000);
  return { perSecond: (n * 1000) / dt, iterations: n };
}

/**
 * A `steps`-step stored episode of uniformly random actions, built from real rollouts of `env`
 * (reset whenever an episode ends, so every row is a valid encoding); marked truncated.
 */
export function benchEpisode(env: Env, seed: number, steps: number): Episode {
  const rng = makeRng(seed);
  const ow = env.obsSpec.size, sw = env.stateSpec.size;
  const obs = new Float32Array(steps * ow), states = new Float32Array(steps * sw);
  const actions = new Int32Array(steps), rewards = new Float32Array(steps);
  let { state, obs: o } = env.reset(rng);
  for (let t = 0; t < steps; t++) {
    obs.set(env.encodeObs(o), t * ow);
    states.set(env.encodeState(state), t * sw);
    const a = randInt(rng, env.numActions);
    const r = env.step(state, a, rng);
    actions[t] = a;
    rewards[t] = r.reward;
    ({ state, obs: o } = r.terminated || r.truncated ? env.reset(rng) : r);
  }
  return {
    length: steps,
    obs,
    states,
    actions,
    rewards,
    terminated: false,
    truncated: true,
    finalObs: Float32Array.from(env.encodeObs(o)),
    finalState: Float32Array.from(env.encodeState(state)),
  };
}

/**
 * Time K batched runs: training rounds (one gradient step per run on its own `steps`-step episode)
 * and acting (one batched forward and one environment step for each of K environments).
 *
 * @example
 * ```ts ignore
 * import { benchBatched } from "./batched_bench.ts";
 * const r = await benchBatched({ k: 20, seconds: 5 });
 * console.log(`${r.backend}: ${r.trainedStepsPerSecond.toFixed(0)} trained steps/s`);
 * ```
 */
export async function benchBatched(options: BatchedBenchOptions): Promise<BatchedBenchResult> {
  const k = options.k;
  if (!Number.isInteger(k) || k < 1) throw new Error(`benchBatched: invalid k ${k}`);
  const seconds = options.seconds ?? 3;
  const steps = options.steps ?? 100;
  const envId = options.env ?? "heaven-hell-3";
  const algo = checkAlgoId(options.algo ?? "adqn");
  const backend = await initBackend(options.backend ?? "auto");
  const envs = Array.from({ length: k }, () => makeEnv(envId));
  const agent = makeBatchedAgent(envs[0], algo, {
    seeds: Array.from({ length: k }, (_, i) => i),
  });
  try {
    const batches = envs.map((env, i) => [benchEpisode(env, 1000 + i, steps)]);
    if (options.startAt !== undefined) {
      agent.trainStep(batches, { gamma: 0.99 }); // warm up before waiting
      const wait = options.startAt - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const train = timeIt(() => agent.trainStep(batches, { gamma: 0.99 }), seconds);
    let act: { perSecond: number; iterations: number } | null = null;
    let runMajor: { perSecond: number; iterations: number } | null = null;
    if (options.act ?? true) {
      const rng = makeRng("act");
      const live = envs.map((env) => ({ ...env.reset(rng), h: agent.initialHidden(), prev: -1 }));
      const advance = (run: number, o: { q: Float32Array; hidden: Float32Array }) => {
        const l = live[run], env = envs[run];
        const a = argmax(o.q);
        const r = env.step(l.state, a, rng);
        if (r.terminated || r.truncated) {
          Object.assign(l, env.reset(rng), { h: agent.initialHidden(), prev: -1 });
        } else {
          Object.assign(l, { state: r.state, obs: r.obs, h: o.hidden, prev: a });
        }
      };
      const request = (run: number) => ({
        run,
        hidden: live[run].h,
        prevAction: live[run].prev,
        obs: Float32Array.from(envs[run].encodeObs(live[run].obs)),
      });
      act = timeIt(() => {
        agent.actMany(live.map((_, run) => request(run))).forEach((o, run) => advance(run, o));
      }, Math.min(seconds, 2));
      runMajor = timeIt(() => {
        for (let run = 0; run < k; run++) {
          for (let t = 0; t < 100; t++) advance(run, agent.actMany([request(run)])[0]);
        }
      }, Math.min(seconds, 2));
    }
    return {
      backend,
      k,
      env: envId,
      algo,
      steps,
      roundsPerSecond: train.perSecond,
      trainedStepsPerSecond: train.perSecond * k * steps,
      actStepsPerSecond: act === null ? null : act.perSecond * k,
      actRunMajorStepsPerSecond: runMajor === null ? null : runMajor.perSecond * k * 100,
      iterations: { train: train.iterations, act: act?.iterations ?? null },
    };
  } finally {
    agent.dispose();
  }
}
