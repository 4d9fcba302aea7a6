/**
 * Packing whole episodes into the padded, time-major host batch that the single-run and the
 * batched agents both feed their networks (one piece of code, so both see the same layout).
 *
 * @module
 */
import type { Episode } from "./contract.ts";
import type { NetworkLayout } from "./layout.ts";

/** A padded, time-major batch of whole episodes, on the host. */
export interface HostBatch {
  /** Longest episode T. */
  steps: number;
  /** Number of episodes B. */
  batch: number;
  /** Raw inputs of rows 0..(T+1)·B-1: rows t ≤ T_b hold episode b (row T_b its final step). */
  prevAction: Float32Array;
  obs: Float32Array;
  state: Float32Array | undefined;
  /** Per stored step (T·B rows). */
  actions: Int32Array;
  rewards: Float32Array;
  continues: Float32Array;
  mask: Float32Array;
}

/**
 * Pack `episodes` (checked against `layout`; errors name the episode and the problem) into a
 * {@link HostBatch}: row t·B + b holds step t of episode b, and row T_b·B + b its final step when
 * bootstrapping at a truncation.
 */
export function packEpisodes(
  layout: NetworkLayout,
  episodes: readonly Episode[],
  bootstrapOnTruncation: boolean,
): HostBatch & { rows: number } {
  const A = layout.numActions;
  const ow = layout.obs.spec.size;
  const needState = layout.state !== null;
  const sw = needState ? layout.state!.spec.size : 0;
  const B = episodes.length;
  let T = 0;
  episodes.forEach((ep, b) => {
    const L = ep.length;
    const fail = (what: string) => {
      throw new Error(`trainStep: episode ${b} (length ${L}): ${what}`);
    };
    if (!Number.isInteger(L) || L < 1) fail("length must be a positive integer");
    if (ep.obs.length !== L * ow) fail(`obs has ${ep.obs.length} values, expected ${L}×${ow}`);
    if (needState && ep.states.length !== L * sw) {
      fail(`states has ${ep.states.length} values, expected ${L}×${sw}`);
    }
    if (ep.actions.length !== L || ep.rewards.length !== L) fail("actions/rewards length differ");
    for (let t = 0; t < L; t++) {
      const a = ep.actions[t];
      if (!Number.isInteger(a) || a < 0 || a >= A) {
        fail(`action ${a} at step ${t} not in 0..${A - 1}`);
      }
    }
    if (bootstrapOnTruncation && ep.truncated && !ep.terminated) {
      if (ep.finalObs.length !== ow) {
        fail(`finalObs has ${ep.finalObs.length} values, expected ${ow}`);
      }
      if (needState && ep.finalState.length !== sw) {
        fail(`finalState has ${ep.finalState.length} values, expected ${sw}`);
      }
    }
    T = Math.max(T, L);
  });
  const rows = (T + 1) * B, N = T * B;
  const prevAction = new Float32Array(rows * A);
  const obs = new Float32Array(rows * ow);
  const state = needState ? new Float32Array(rows * sw) : undefined;
  const actions = new Int32Array(N);
  const rewards = new Float32Array(N);
  const continues = new Float32Array(N);
  const mask = new Float32Array(N);
  episodes.forEach((ep, b) => {
    const L = ep.length;
    const boot = bootstrapOnTruncation && ep.truncated && !ep.terminated;
    for (let t = 0; t < L; t++) {
      const row = t * B + b;
      if (t > 0) prevAction[row * A + ep.actions[t - 1]] = 1;
      obs.set(ep.obs.subarray(t * ow, (t + 1) * ow), row * ow);
      if (state) state.set(ep.states.subarray(t * sw, (t + 1) * sw), row * sw);
      actions[row] = ep.actions[t];
      rewards[row] = ep.rewards[t];
      mask[row] = 1;
      continues[row] = t + 1 < L || boot ? 1 : 0;
    }
    if (boot) {
      const row = L * B + b;
      prevAction[row * A + ep.actions[L - 1]] = 1;
      obs.set(ep.finalObs, row * ow);
      if (state) state.set(ep.finalState, row * sw);
    }
  });
  return { steps: T, batch: B, rows, prevAction, obs, state, actions, rewards, continues, mask };
}
