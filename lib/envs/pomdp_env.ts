/**
 * An {@link Env} simulating any tabular POMDP (a parsed `.pomdp` file, Heaven-Hell, ...).
 *
 * The latent state is `{ s, t }` (state index and steps taken). `reset` draws s0 from the start
 * distribution and returns the extra *reset observation* with index |O| (encoded as an all-zero
 * one-hot), as gym-pomdps' episodic models do. `step` draws s' ~ T(·|s,a), then o ~ O(·|a,s') and
 * pays R(s,a,s',o). Taking a reset pair (s, a) ends the episode (`terminated`) paying
 * R(s, a, s'=s, o=0) (see `expectedReward` in lib/pomdp/model.ts); the state index is returned
 * unchanged with the reset observation. An episode is `truncated` when t+1 reaches the time limit
 * (default 1000) without terminating.
 *
 * @example Run one random episode of the tiger problem
 * ```ts
 * import { makePomdpEnv } from "./pomdp_env.ts";
 * import { parsePOMDP } from "../pomdp/parser.ts";
 * import { makeRng, randInt } from "../rng.ts";
 * const text = await Deno.readTextFile(new URL("../../data/pomdp/tiger.pomdp", import.meta.url));
 * const env = makePomdpEnv(parsePOMDP(text), { id: "tiger", timeLimit: 10 });
 * const rng = makeRng(0);
 * let { state } = env.reset(rng);
 * for (let done = false; !done;) {
 *   const r = env.step(state, randInt(rng, env.numActions), rng);
 *   state = r.state;
 *   done = r.terminated || r.truncated;
 * }
 * if (state.t !== 10) throw new Error("tiger never terminates: 10 steps expected");
 * ```
 * @module
 */
import { checkAction, type Env, type EnvOptions, featureSpec, resolveTimeLimit } from "./types.ts";
import { checkShapes, reward, sampleRow, sizes, type TabularPOMDP } from "../pomdp/model.ts";
import { type Rng, sampleIndex } from "../rng.ts";

/** Latent state of a tabular POMDP environment. */
export interface PomdpState {
  /** State index in 0..|S|-1. */
  s: number;
  /** Steps taken so far in the episode. */
  t: number;
}

/** Options of {@link makePomdpEnv}. */
export interface PomdpEnvOptions extends EnvOptions {
  /** Registry id of the environment (default `"pomdp"`). */
  id?: string;
}

/** A tabular POMDP environment; observations are indices 0..|O| (|O| = the reset observation). */
export interface PomdpEnv extends Env<PomdpState, number> {
  /** The model being simulated (shared, do not mutate). */
  readonly model: TabularPOMDP;
  /** Index of the reset observation (= |O|), returned by `reset` and by ending steps. */
  readonly resetObs: number;
}

/** Default time limit of tabular POMDP environments (steps). */
export const POMDP_DEFAULT_TIME_LIMIT = 1000;

function checkModel(id: string, m: TabularPOMDP): void {
  const { S, A, O } = sizes(m);
  if (S === 0 || A === 0 || O === 0) {
    throw new Error(
      `${id}: model needs at least one state, action and observation (${S}, ${A}, ${O})`,
    );
  }
  try {
    checkShapes(m);
    if (m.expectedR.length !== A * S) {
      throw new Error(`model.expectedR has length ${m.expectedR.length}; expected ${A * S}`);
    }
  } catch (e) {
    throw new Error(`${id}: ${(e as Error).message}`);
  }
}

/**
 * Make an environment simulating `model`. Throws on an invalid action, state or observation.
 */
export function makePomdpEnv(model: TabularPOMDP, options: PomdpEnvOptions = {}): PomdpEnv {
  const id = options.id ?? "pomdp";
  checkModel(id, model);
  const timeLimit = resolveTimeLimit(id, options, POMDP_DEFAULT_TIME_LIMIT);
  const { S, A, O } = sizes(model);
  const { T, reset } = model;
  const Obs = model.O;

  const checkState = (state: PomdpState) => {
    if (
      state === null || typeof state !== "object" || !Number.isInteger(state.s) || state.s < 0 ||
      state.s >= S || !Number.isInteger(state.t) || state.t < 0
    ) {
      throw new Error(
        `${id}: invalid state ${JSON.stringify(state)}; expected { s: 0..${
          S - 1
        }, t: integer >= 0 }`,
      );
    }
  };
  const checkObs = (obs: number) => {
    if (!Number.isInteger(obs) || obs < 0 || obs > O) {
      throw new Error(
        `${id}: invalid observation ${obs}; expected an integer in 0..${O} (${O} = reset)`,
      );
    }
  };

  const env: PomdpEnv = {
    id,
    numActions: A,
    actionNames: [...model.actions],
    timeLimit,
    obsSpec: featureSpec([{ kind: "onehot", size: O }]),
    stateSpec: featureSpec([{ kind: "onehot", size: S }]),
    model,
    resetObs: O,
    reset(rng: Rng) {
      return { state: { s: sampleIndex(rng, model.start), t: 0 }, obs: O };
    },
    step(state: PomdpState, action: number, rng: Rng) {
      checkAction(env, action);
      checkState(state);
      const { s } = state;
      const t = state.t + 1;
      const pair = action * S + s;
      if (reset[pair]) {
        return {
          state: { s, t },
          obs: O,
          reward: reward(model, action, s, s, 0),
          terminated: true,
          truncated: false,
        };
      }
      const s2 = sampleRow(T, pair, rng);
      const o = sampleRow(Obs, action * S + s2, rng);
      return {
        state: { s: s2, t },
        obs: o,
        reward: reward(model, action, s, s2, o),
        terminated: false,
        truncated: t >= timeLimit,
      };
    },
    encodeObs(obs: number) {
      checkObs(obs);
      const out = new Float32Array(O);
      if (obs < O) out[obs] = 1;
      return out;
    },
    encodeState(state: PomdpState) {
      checkState(state);
      const out = new Float32Array(S);
      out[state.s] = 1;
      return out;
    },
    renderObs(obs: number) {
      checkObs(obs);
      return obs === O ? "(reset)" : model.observations[obs];
    },
    renderState(state: PomdpState) {
      checkState(state);
      return `${model.states[state.s]} (t=${state.t})`;
    },
  };
  return env;
}
