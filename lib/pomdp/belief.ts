/**
 * Dense beliefs (over the sparse tables) of a {@link TabularPOMDP}: b(s|h) = Pr(s|h) updated by Bayes' rule.
 *
 * Episodic models end the episode on reset pairs (s, a). Ending is treated as an absorbing outcome
 * with no observation and no future reward: after action `a` from belief `b`, the outcomes are
 * "ended" with probability {@link endProbability}`(b, a)` and "continued, observed o" with
 * probability Pr(o, continued | b, a). The updated belief b' = {@link beliefUpdate}`(b, a, o)` is
 * conditioned on the episode having continued and o having been observed:
 *
 *   b'(s') = Σ_s b(s) [1 - reset(s,a)] T(s'|s,a) O(o|a,s') / Pr(o, continued | b, a).
 *
 * With this convention Σ_o Pr(o, continued | b, a) + Pr(ended | b, a) = 1 and every value
 * Q(b, a) = R(b, a) + γ Σ_o Pr(o, continued | b, a) V(b') is exact (the ended branch is worth 0).
 *
 * These functions are deliberately simple (dense beliefs read straight off the model's rows, no
 * tables of their own): the belief-space oracle of `lib/solvers/belief_vi.ts` uses them as an
 * independent check of the history trees.
 *
 * @example Listening once in the tiger problem
 * ```ts
 * import { emptyDenseModel, fromDense } from "./model.ts";
 * import { beliefUpdate, initialBelief } from "./belief.ts";
 * const d = emptyDenseModel(["tl", "tr"], ["listen"], ["hl", "hr"]);
 * d.start.set([0.5, 0.5]);
 * d.T.set([1, 0, 0, 1]);
 * d.O.set([0.85, 0.15, 0.15, 0.85]);
 * const m = fromDense(d);
 * const { belief, probability } = beliefUpdate(m, initialBelief(m), 0, 0);
 * console.log(belief, probability); // [0.85, 0.15] 0.5
 * ```
 * @module
 */
import { expectedReward, observationProb, sizes, type TabularPOMDP } from "./model.ts";

/** The initial belief b0 (a copy of the model's start distribution). */
export function initialBelief(model: TabularPOMDP): Float64Array {
  return Float64Array.from(model.start);
}

/** Expected immediate rewards R(s, a) of every pair, laid out as `r[s*|A| + a]`. */
export function stateActionRewards(model: TabularPOMDP): Float64Array {
  const { S, A } = sizes(model);
  const r = new Float64Array(S * A);
  for (let s = 0; s < S; s++) {
    for (let a = 0; a < A; a++) r[s * A + a] = expectedReward(model, s, a);
  }
  return r;
}

/** Expected immediate reward R(b, a) = Σ_s b(s) R(s, a) (reset pairs' rewards included). */
export function beliefReward(
  model: TabularPOMDP,
  belief: ArrayLike<number>,
  action: number,
): number {
  checkBeliefAction(model, belief, action);
  let r = 0;
  for (let s = 0; s < belief.length; s++) {
    if (belief[s] !== 0) r += belief[s] * expectedReward(model, s, action);
  }
  return r;
}

/** Probability that taking `action` from `belief` ends the episode (mass on reset pairs). */
export function endProbability(
  model: TabularPOMDP,
  belief: ArrayLike<number>,
  action: number,
): number {
  checkBeliefAction(model, belief, action);
  const { S } = sizes(model);
  let p = 0;
  for (let s = 0; s < S; s++) if (model.reset[action * S + s]) p += belief[s];
  return p;
}

/**
 * Pr(o, continued | b, a) for every observation o (length |O|); these sum to
 * 1 - {@link endProbability}.
 */
export function observationProbabilities(
  model: TabularPOMDP,
  belief: ArrayLike<number>,
  action: number,
): Float64Array {
  checkBeliefAction(model, belief, action);
  const { S, O } = sizes(model);
  const next = predictNext(model, belief, action);
  const p = new Float64Array(O);
  for (let s2 = 0; s2 < S; s2++) {
    if (next[s2] === 0) continue;
    const row = action * S + s2;
    for (let q = model.O.ptr[row]; q < model.O.ptr[row + 1]; q++) {
      p[model.O.index[q]] += next[s2] * model.O.value[q];
    }
  }
  return p;
}

/** The result of a Bayes update: the posterior (null when the observation is impossible). */
export interface BeliefUpdate {
  /** b'(s') conditioned on continuing and observing o; null if that has probability 0. */
  belief: Float64Array | null;
  /** Pr(o, continued | b, a), the normaliser of the update. */
  probability: number;
}

/** Bayes' rule: the belief after taking `action` from `belief` and observing `observation`. */
export function beliefUpdate(
  model: TabularPOMDP,
  belief: ArrayLike<number>,
  action: number,
  observation: number,
): BeliefUpdate {
  checkBeliefAction(model, belief, action);
  const { S, O } = sizes(model);
  if (!Number.isInteger(observation) || observation < 0 || observation >= O) {
    throw new Error(`beliefUpdate: invalid observation ${observation}; expected 0..${O - 1}`);
  }
  const next = predictNext(model, belief, action);
  let total = 0;
  for (let s2 = 0; s2 < S; s2++) {
    next[s2] *= observationProb(model, action, s2, observation);
    total += next[s2];
  }
  if (!(total > 0)) return { belief: null, probability: 0 };
  for (let s2 = 0; s2 < S; s2++) next[s2] /= total;
  return { belief: next, probability: total };
}

/**
 * A string key of a belief for memoisation: its support and probabilities rounded to `digits`
 * decimals. Equal beliefs get equal keys (unless rounding splits them, which only costs memory).
 */
export function beliefKey(belief: ArrayLike<number>, digits = 12): string {
  const scale = 10 ** digits;
  const parts: string[] = [];
  for (let s = 0; s < belief.length; s++) {
    if (belief[s] !== 0) parts.push(`${s}:${Math.round(belief[s] * scale)}`);
  }
  return parts.join(",");
}

/** Σ_s b(s) [1 - reset(s,a)] T(s'|s,a) as a dense vector over s' (unnormalised). */
function predictNext(model: TabularPOMDP, belief: ArrayLike<number>, action: number): Float64Array {
  const { S } = sizes(model);
  const next = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    const b = belief[s];
    if (b === 0 || model.reset[action * S + s]) continue;
    const { ptr, index, value } = model.T, row = action * S + s;
    for (let t = ptr[row]; t < ptr[row + 1]; t++) next[index[t]] += b * value[t];
  }
  return next;
}

function checkBeliefAction(model: TabularPOMDP, belief: ArrayLike<number>, action: number): void {
  const { S, A } = sizes(model);
  if (belief.length !== S) {
    throw new Error(`belief has length ${belief.length}; expected |S| = ${S}`);
  }
  if (!Number.isInteger(action) || action < 0 || action >= A) {
    throw new Error(`invalid action ${action}; expected an integer in 0..${A - 1}`);
  }
}
