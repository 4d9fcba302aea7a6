/** Shared helpers of the lib/models tests: random-policy episodes from real environments. */
import * as tf from "@tensorflow/tfjs";
import type { Env } from "../../lib/envs/types.ts";
import { initBackend } from "../../lib/nn/backend.ts";
import { enableBlasBackend } from "../../lib/nn/fast_backend.ts";
import type { ModelConfig } from "../../lib/models/presets.ts";
import { makeRng, randInt } from "../../lib/rng.ts";
import type { Episode } from "../../lib/train/agent.ts";

/** Roll out a uniformly random policy for at most `maxSteps` steps (truncated there). */
export function randomEpisode(env: Env, seed: number, maxSteps: number): Episode {
  const rng = makeRng(seed);
  let { state, obs } = env.reset(rng);
  const obsRows: Float32Array[] = [], stateRows: Float32Array[] = [];
  const actions: number[] = [], rewards: number[] = [];
  let terminated = false, truncated = false;
  for (let t = 0; t < maxSteps; t++) {
    obsRows.push(Float32Array.from(env.encodeObs(obs)));
    stateRows.push(Float32Array.from(env.encodeState(state)));
    const a = randInt(rng, env.numActions);
    const r = env.step(state, a, rng);
    actions.push(a);
    rewards.push(r.reward);
    state = r.state;
    obs = r.obs;
    if (r.terminated) {
      terminated = true;
      break;
    }
    if (r.truncated || t + 1 === maxSteps) {
      truncated = true;
      break;
    }
  }
  return {
    length: actions.length,
    obs: concat(obsRows),
    states: concat(stateRows),
    actions: Int32Array.from(actions),
    rewards: Float32Array.from(rewards),
    terminated,
    truncated,
    finalObs: Float32Array.from(env.encodeObs(obs)),
    finalState: Float32Array.from(env.encodeState(state)),
  };
}

/** The episode with its final observation/state appended as one more step (action 0, reward 0). */
export function extendByFinalStep(ep: Episode): Episode {
  return {
    ...ep,
    length: ep.length + 1,
    obs: concat([ep.obs, ep.finalObs]),
    states: concat([ep.states, ep.finalState]),
    actions: Int32Array.from([...ep.actions, 0]),
    rewards: Float32Array.from([...ep.rewards, 0]),
  };
}

/** Concatenate Float32Arrays. */
export function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Largest absolute difference of two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A model small enough for exact and finite-difference checks, shared by the agent tests. */
export const SMALL: Partial<ModelConfig> = {
  actionEmbedding: 3,
  obsEmbedding: 4,
  stateEmbedding: 2,
  gruHidden: 5,
  headHidden: [6],
};

/**
 * Start the backend training uses: `wasm-blas` where OpenBLAS loads, else plain `wasm`
 * (`ADQN_TEST_BACKEND=wasm` forces plain wasm). Returns whether the BLAS backend is in use.
 */
export async function initTestBackend(): Promise<boolean> {
  const blas = Deno.env.get("ADQN_TEST_BACKEND") === "wasm"
    ? { ok: false }
    : await enableBlasBackend("wasm-blas");
  if (!blas.ok) await initBackend("wasm");
  tf.enableProdMode();
  return blas.ok;
}
