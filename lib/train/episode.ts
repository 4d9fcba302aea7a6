/**
 * Playing one ε-greedy episode with a recurrent Q-function: the acting half of the training loop
 * (lib/train/loop.ts), on plain data.
 *
 * @module
 */
import type { Env } from "../envs/types.ts";
import { randInt, type Rng } from "../rng.ts";
import type { Agent, Episode } from "./agent.ts";

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
 * {@link collectEpisode} for any {@link EpisodeActor} (the training loop acts through one run of
 * its agent). The ε draw u is made before the forward (it does not depend on Q), so an exploring
 * step may skip the Q head.
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
