/**
 * Fast sampling of a {@link TabularPOMDP}'s dynamics for the tabular learners (AQL, state-only
 * AQL): start states, transitions, observations and rewards from an explicit random stream.
 *
 * @example
 * ```ts
 * import { heavenHellModel } from "../pomdp/heaven_hell.ts";
 * import { makeRng } from "../rng.ts";
 * import { PomdpSampler } from "./sampler.ts";
 * const sim = new PomdpSampler(heavenHellModel(3));
 * const rng = makeRng(0);
 * const s = sim.start(rng);
 * const step = sim.step(s, 1, rng); // action S from cell 0 goes to the bottom fork (cell 10)
 * console.log(step.next % 14, step.observation, step.reward, step.ended); // 10 10 0 false
 * ```
 * @module
 */
import { reward, sampleRow, type TabularPOMDP } from "../pomdp/model.ts";

/** One sampled transition; `next` and `observation` are -1 when the episode ended. */
export interface SampledStep {
  /** Next state s' (-1 if the episode ended). */
  next: number;
  /** Observation o emitted with s' (-1 if the episode ended). */
  observation: number;
  /** Reward R(s, a, s', o) (for a reset pair: R(s, a, s, 0), as in expectedReward). */
  reward: number;
  /** Whether (s, a) was a reset pair that ended the episode. */
  ended: boolean;
}

/** Samples starts and steps of a tabular POMDP from its sparse rows. */
export class PomdpSampler {
  /** The model being simulated. */
  readonly model: TabularPOMDP;
  #S: number;
  #start: Int32Array;
  #startP: Float64Array;
  #out: SampledStep = { next: -1, observation: -1, reward: 0, ended: false };

  /** Precompute the support of the start distribution of `model`. */
  constructor(model: TabularPOMDP) {
    this.model = model;
    this.#S = model.states.length;
    const st: number[] = [], sp: number[] = [];
    for (let s = 0; s < this.#S; s++) {
      if (model.start[s] > 0) {
        st.push(s);
        sp.push(model.start[s]);
      }
    }
    this.#start = Int32Array.from(st);
    this.#startP = Float64Array.from(sp);
  }

  /** Draw s0 from the start distribution. */
  start(rng: () => number): number {
    const n = this.#start.length;
    if (n === 0) throw new Error("PomdpSampler: the start distribution has no positive entry");
    let u = rng();
    for (let k = 0; k < n; k++) {
      u -= this.#startP[k];
      if (u < 0) return this.#start[k];
    }
    return this.#start[n - 1]; // rounding: the mass sums to slightly under 1
  }

  /**
   * Take action `a` in state `s`. The returned object is reused by the next call: copy what you
   * keep.
   */
  step(s: number, a: number, rng: () => number): SampledStep {
    const S = this.#S, m = this.model, out = this.#out;
    const i = a * S + s;
    if (m.reset[i]) {
      out.next = -1;
      out.observation = -1;
      out.reward = reward(m, a, s, s, 0);
      out.ended = true;
      return out;
    }
    const s2 = sampleRow(m.T, i, rng);
    const o = sampleRow(m.O, a * S + s2, rng);
    out.next = s2;
    out.observation = o;
    out.reward = reward(m, a, s, s2, o);
    out.ended = false;
    return out;
  }
}
