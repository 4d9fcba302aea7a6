/**
 * Belief-space backward induction: an oracle independent of the history trees.
 *
 *   V_0(b) = 0,   Q_t(b, a) = R(b, a) + γ Σ_o Pr(o, continued | b, a) V_{t-1}(b'_{a,o}),
 *   V_t(b) = max_a Q_t(b, a),
 *
 * where t counts the actions left and b'_{a,o} is recomputed from b by a dense Bayes update
 * ({@link beliefUpdate}; an ended episode is worth 0). Nothing is shared with
 * `lib/pomdp/history_tree.ts` except the model and R(s,a). Beliefs met again with the same number
 * of actions left are memoised by {@link beliefKey} (turn off with `memo: false` for a fully
 * literal recursion over every history).
 *
 * @example
 * ```ts
 * import { heavenHellModel } from "../pomdp/heaven_hell.ts";
 * import { beliefValueIteration } from "./belief_vi.ts";
 * console.log(beliefValueIteration(heavenHellModel(3), { horizon: 15 }).value); // 0.99^14
 * ```
 * @module
 */
import {
  beliefKey,
  beliefReward,
  beliefUpdate,
  initialBelief,
  observationProbabilities,
} from "../pomdp/belief.ts";
import { sizes, type TabularPOMDP } from "../pomdp/model.ts";

/** Options of {@link beliefValueIteration} and {@link beliefValue}. */
export interface BeliefValueOptions {
  /** Discount γ (default: the model's). */
  discount?: number;
  /** Memoise values by (actions left, belief) (default true). */
  memo?: boolean;
  /** Decimals of the memo key (default 12). */
  digits?: number;
}

/** The optimal finite-horizon values at a belief: V_t(b) and Q_t(b, ·). */
export interface BeliefValue {
  /** V_t(b) = max_a Q_t(b, a). */
  value: number;
  /** Q_t(b, a) for every action. */
  q: Float64Array;
  /** Number of (belief, actions-left) pairs whose values were computed. */
  evaluations: number;
}

/** V*(b0) and Q*(b0, ·) for `horizon` actions, by backward induction over beliefs. */
export function beliefValueIteration(
  model: TabularPOMDP,
  options: BeliefValueOptions & { horizon: number },
): BeliefValue {
  return beliefValue(model, initialBelief(model), options.horizon, options);
}

/** V_t(b) and Q_t(b, ·) for an arbitrary belief with `stepsLeft` actions left. */
export function beliefValue(
  model: TabularPOMDP,
  belief: ArrayLike<number>,
  stepsLeft: number,
  options: BeliefValueOptions = {},
): BeliefValue {
  const { S, A, O } = sizes(model);
  if (!Number.isInteger(stepsLeft) || stepsLeft < 0) {
    throw new Error(
      `beliefValue: invalid number of actions left ${stepsLeft}; expected an integer ≥ 0`,
    );
  }
  if (belief.length !== S) {
    throw new Error(`beliefValue: belief has length ${belief.length}; expected ${S}`);
  }
  const gamma = options.discount ?? model.discount;
  const memo = options.memo ?? true;
  const digits = options.digits ?? 12;
  const cache = new Map<string, number>();
  let evaluations = 0;

  const qValues = (b: ArrayLike<number>, t: number): Float64Array => {
    evaluations++;
    const q = new Float64Array(A);
    for (let a = 0; a < A; a++) {
      let next = 0;
      if (t > 1) {
        const p = observationProbabilities(model, b, a);
        for (let o = 0; o < O; o++) {
          if (!(p[o] > 0)) continue;
          const nb = beliefUpdate(model, b, a, o).belief!;
          next += p[o] * value(nb, t - 1);
        }
      }
      q[a] = beliefReward(model, b, a) + gamma * next;
    }
    return q;
  };
  const value = (b: ArrayLike<number>, t: number): number => {
    if (t === 0) return 0;
    const key = memo ? `${t}|${beliefKey(b, digits)}` : "";
    if (memo) {
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
    }
    const q = qValues(b, t);
    let v = -Infinity;
    for (let a = 0; a < A; a++) if (q[a] > v) v = q[a];
    if (memo) cache.set(key, v);
    return v;
  };

  if (stepsLeft === 0) return { value: 0, q: new Float64Array(A), evaluations: 0 };
  const q = qValues(belief, stepsLeft);
  let v = -Infinity;
  for (let a = 0; a < A; a++) if (q[a] > v) v = q[a];
  return { value: v, q, evaluations };
}
