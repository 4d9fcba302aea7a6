/**
 * Run whole episodes of an {@link Env} with a policy function.
 *
 * @example A random episode of Car-Flag
 * ```ts
 * import { makeCarFlag } from "./car_flag.ts";
 * import { randomPolicy, rollout } from "./rollout.ts";
 * import { childSeed, makeRng } from "../rng.ts";
 * const env = makeCarFlag({ timeLimit: 50 });
 * const ep = rollout(env, randomPolicy(env, makeRng(childSeed(1, "policy"))), makeRng(1));
 * if (ep.length > 50 || ep.actions.length !== ep.length) throw new Error("bad rollout");
 * ```
 * @module
 */
import { randInt, type Rng } from "../rng.ts";
import type { Env } from "./types.ts";

/** A policy: the action to take given the current observation and step index t (0-based). */
export type Policy<O> = (obs: O, t: number) => number;

/** Options of {@link rollout}. */
export interface RolloutOptions {
  /** Keep the observations and states seen before each action (default false). */
  record?: boolean;
}

/** One finished episode. */
export interface RolloutResult<S, O> {
  /** Undiscounted sum of the rewards. */
  return: number;
  /** Number of steps taken. */
  length: number;
  /** The episode ended by reaching a terminal outcome. */
  terminated: boolean;
  /** The episode was cut by the time limit. */
  truncated: boolean;
  /** With `record`: o_0..o_{T-1}, the observation before each action (the final one is not kept). */
  observations?: O[];
  /** With `record`: s_0..s_{T-1}, the state before each action (the final one is not kept). */
  states?: S[];
  /** a_0..a_{T-1}. */
  actions: number[];
  /** r_0..r_{T-1}. */
  rewards: number[];
}

/**
 * Run one episode of `env` from `reset(rng)` until it terminates or is truncated, choosing each
 * action with `policy(obs, t)`. `rng` drives the environment only.
 */
export function rollout<S, O>(
  env: Env<S, O>,
  policy: Policy<O>,
  rng: Rng,
  options?: RolloutOptions,
): RolloutResult<S, O> {
  const record = options?.record ?? false;
  const observations: O[] = [], states: S[] = [], actions: number[] = [], rewards: number[] = [];
  let { state, obs } = env.reset(rng);
  let total = 0, terminated = false, truncated = false;
  for (let t = 0; !terminated && !truncated; t++) {
    const action = policy(obs, t);
    if (record) {
      observations.push(obs);
      states.push(state);
    }
    const r = env.step(state, action, rng);
    actions.push(action);
    rewards.push(r.reward);
    total += r.reward;
    ({ state, obs, terminated, truncated } = r);
  }
  const result: RolloutResult<S, O> = {
    return: total,
    length: actions.length,
    terminated,
    truncated,
    actions,
    rewards,
  };
  if (record) {
    result.observations = observations;
    result.states = states;
  }
  return result;
}

/** A policy that picks uniformly among `env`'s actions, drawing from `rng`. */
export function randomPolicy(env: { numActions: number }, rng: Rng): Policy<unknown> {
  return () => randInt(rng, env.numActions);
}
