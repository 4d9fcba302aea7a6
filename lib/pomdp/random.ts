/**
 * Seeded random tabular POMDPs, for property tests of the solvers (Lemma 4.2, Theorems 4.1 and
 * 4.3) on problems nobody tuned.
 *
 * @example
 * ```ts
 * import { makeRng } from "../rng.ts";
 * import { randomPOMDP } from "./random.ts";
 * const m = randomPOMDP(makeRng(1), { states: 3, actions: 2, observations: 2, resetProbability: 0.2 });
 * console.log(m.states, m.discount); // ["s0", "s1", "s2"] 0.95
 * ```
 * @module
 */
import { emptyDenseModel, fromDense, type TabularPOMDP } from "./model.ts";

/** Options of {@link randomPOMDP}. */
export interface RandomPOMDPOptions {
  /** Number of states (≥ 1). */
  states: number;
  /** Number of actions (≥ 1). */
  actions: number;
  /** Number of observations (≥ 1). */
  observations: number;
  /** Discount (default 0.95). */
  discount?: number;
  /** Probability that a pair (s, a) is a reset pair that ends the episode (default 0). */
  resetProbability?: number;
  /** Probability that an entry of a T or O row is non-zero; each row keeps ≥ 1 (default 1). */
  density?: number;
  /** Probability that a state has positive start probability; ≥ 1 state has (default 1). */
  startDensity?: number;
  /** R(s, a) is uniform in [-rewardScale, rewardScale] (default 1). */
  rewardScale?: number;
  /** Adds a uniform [-rewardNoise, rewardNoise] term per (s, a, s', o) (default 0). */
  rewardNoise?: number;
}

/** A random POMDP drawn from `rng`: rows of T, O and the start are normalised random weights. */
export function randomPOMDP(rng: () => number, options: RandomPOMDPOptions): TabularPOMDP {
  const S = checkCount("states", options.states);
  const A = checkCount("actions", options.actions);
  const O = checkCount("observations", options.observations);
  const resetP = checkProb("resetProbability", options.resetProbability ?? 0);
  const density = checkProb("density", options.density ?? 1);
  const startDensity = checkProb("startDensity", options.startDensity ?? 1);
  const scale = options.rewardScale ?? 1;
  const noise = options.rewardNoise ?? 0;
  const m = emptyDenseModel(
    Array.from({ length: S }, (_, i) => `s${i}`),
    Array.from({ length: A }, (_, i) => `a${i}`),
    Array.from({ length: O }, (_, i) => `o${i}`),
    options.discount ?? 0.95,
  );
  const fillRow = (row: Float64Array, dens: number) => {
    const forced = Math.min(row.length - 1, Math.floor(rng() * row.length));
    let total = 0;
    for (let i = 0; i < row.length; i++) {
      const keep = i === forced || rng() < dens;
      row[i] = keep ? 0.05 + rng() : 0;
      total += row[i];
    }
    for (let i = 0; i < row.length; i++) row[i] /= total;
  };
  fillRow(m.start, startDensity);
  for (let a = 0; a < A; a++) {
    for (let s = 0; s < S; s++) {
      const i = a * S + s;
      if (rng() < resetP) m.reset[i] = 1;
      else fillRow(m.T.subarray(i * S, (i + 1) * S), density);
      fillRow(m.O.subarray(i * O, (i + 1) * O), density);
      const base = scale * (2 * rng() - 1);
      for (let j = i * S * O; j < (i + 1) * S * O; j++) {
        m.R[j] = base + (noise > 0 ? noise * (2 * rng() - 1) : 0);
      }
    }
  }
  return fromDense(m);
}

function checkCount(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new Error(`randomPOMDP: invalid ${name} ${v}; expected an integer ≥ 1`);
  }
  return v;
}

function checkProb(name: string, v: number): number {
  if (!(v >= 0 && v <= 1)) {
    throw new Error(`randomPOMDP: invalid ${name} ${v}; expected a number in [0, 1]`);
  }
  return v;
}
