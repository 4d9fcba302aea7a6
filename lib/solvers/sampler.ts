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
import { sampleIndex } from "../rng.ts";

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
  #out: SampledStep = { next: -1, observation: -1, reward: 0, ended: false };

  /** A sampler of `model` (its sparse rows are sampled in place). */
  constructor(model: TabularPOMDP) {
    this.model = model;
    this.#S = model.states.length;
  }

  /** Draw s0 from the start distribution. */
  start(rng: () => number): number {
    return sampleIndex(rng, this.model.start);
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
