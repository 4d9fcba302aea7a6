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
import { sizes, type TabularPOMDP } from "../pomdp/model.ts";

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

/** Samples starts and steps of a tabular POMDP with sparse cumulative tables. */
export class PomdpSampler {
  /** The model being simulated. */
  readonly model: TabularPOMDP;
  #S: number;
  #O: number;
  #start: Int32Array;
  #startP: Float64Array;
  #tStart: Int32Array;
  #tNext: Int32Array;
  #tP: Float64Array;
  #oStart: Int32Array;
  #oObs: Int32Array;
  #oP: Float64Array;
  #out: SampledStep = { next: -1, observation: -1, reward: 0, ended: false };

  /** Precompute the sparse rows of `model`. */
  constructor(model: TabularPOMDP) {
    const { S, A, O } = sizes(model);
    this.model = model;
    this.#S = S;
    this.#O = O;
    const st: number[] = [], sp: number[] = [];
    for (let s = 0; s < S; s++) {
      if (model.start[s] > 0) {
        st.push(s);
        sp.push(model.start[s]);
      }
    }
    this.#start = Int32Array.from(st);
    this.#startP = Float64Array.from(sp);
    const rows = (table: Float64Array, width: number) => {
      const start = new Int32Array(A * S + 1), idx: number[] = [], p: number[] = [];
      for (let i = 0; i < A * S; i++) {
        start[i] = idx.length;
        for (let j = 0; j < width; j++) {
          if (table[i * width + j] > 0) {
            idx.push(j);
            p.push(table[i * width + j]);
          }
        }
      }
      start[A * S] = idx.length;
      return { start, idx: Int32Array.from(idx), p: Float64Array.from(p) };
    };
    const t = rows(model.T, S), o = rows(model.O, O);
    this.#tStart = t.start;
    this.#tNext = t.idx;
    this.#tP = t.p;
    this.#oStart = o.start;
    this.#oObs = o.idx;
    this.#oP = o.p;
  }

  /** Draw s0 from the start distribution. */
  start(rng: () => number): number {
    return pick(this.#start, this.#startP, 0, this.#start.length, rng());
  }

  /**
   * Take action `a` in state `s`. The returned object is reused by the next call: copy what you
   * keep.
   */
  step(s: number, a: number, rng: () => number): SampledStep {
    const S = this.#S, O = this.#O, m = this.model, out = this.#out;
    const i = a * S + s;
    if (m.reset[i]) {
      out.next = -1;
      out.observation = -1;
      out.reward = m.R[(i * S + s) * O];
      out.ended = true;
      return out;
    }
    const s2 = pick(this.#tNext, this.#tP, this.#tStart[i], this.#tStart[i + 1], rng());
    const j = a * S + s2;
    const o = pick(this.#oObs, this.#oP, this.#oStart[j], this.#oStart[j + 1], rng());
    out.next = s2;
    out.observation = o;
    out.reward = m.R[(i * S + s2) * O + o];
    out.ended = false;
    return out;
  }
}

function pick(idx: Int32Array, p: Float64Array, from: number, to: number, u: number): number {
  if (to <= from) throw new Error("PomdpSampler: a probability row has no positive entry");
  for (let k = from; k < to; k++) {
    u -= p[k];
    if (u < 0) return idx[k];
  }
  return idx[to - 1]; // rounding: the row sums to slightly under 1
}
