/**
 * Asymmetric Q-Learning (paper Algorithm 3 with Eqs. 13-14, section 4.3) on a
 * {@link HistoryTree}, from episodes sampled from the model.
 *
 * Each step samples (h, s, a, r, s', o) with a ε-greedy on Q(h, ·), then
 *
 *   y = r + γ U(hao, s', argmax_a' Q(hao, a'))        (y = r when the episode ends or hao has H actions)
 *   U(h,s,a) += α (y - U(h,s,a))                        (Eq. 13)
 *   Q(h,a)   += α Pr(s|h) (y - Q(h,a))                  (Eq. 14; `stateFactor: false` drops Pr(s|h))
 *
 * with Robbins-Monro step sizes α = n(h,s,a)^-ω, n counting the updates of the entry (ω in
 * (1/2, 1]), shared by both updates as in Eqs. 13-14. Q_0 = E U_0 (mutually consistent).
 *
 * A note on the step sizes (derived for this implementation, not stated in the paper): s is drawn
 * from b(·|h), so the expected change of Q(h,a) weighs state s by b(s|h) · α · b(s|h). With the
 * count-based α and ω = 1, n(h,s,a) ≈ b(s|h) n(h,a) makes that weight ∝ b(s|h) and Q tracks
 * E_s[y] = (E B_{g(Q)} U)(h,a), as Theorem 4.4 requires. Without the factor the weight is ∝ 1 on
 * the belief's support: Q converges to an unweighted average over states, inconsistent with E U
 * (the measurable gap tested in tests/solvers/aql_test.ts). With ω < 1 the weights are
 * ∝ b^(2-ω), so ω = 1 is the default.
 *
 * @example
 * ```ts
 * import { makeRng } from "../rng.ts";
 * import { randomPOMDP } from "../pomdp/random.ts";
 * import { buildHistoryTree } from "../pomdp/history_tree.ts";
 * import { backwardInduction } from "./value_iteration.ts";
 * import { asymmetricQLearning } from "./aql.ts";
 * const tree = buildHistoryTree(randomPOMDP(makeRng(3), { states: 2, actions: 2, observations: 2 }), { horizon: 2 });
 * const res = asymmetricQLearning(tree, makeRng(4), { episodes: 20_000, reference: backwardInduction(tree).Q });
 * console.log(res.trace.at(-1)!.errorQ); // about 0.02
 * ```
 * @module
 */
import { entryOf, findChild, type HistoryTree } from "../pomdp/history_tree.ts";
import { randInt } from "../rng.ts";
import {
  checkQ,
  checkU,
  expectation,
  greedy,
  greedyAction,
  maxAbsDiff,
  rootValue,
  zerosU,
} from "./operators.ts";
import { PomdpSampler } from "./sampler.ts";
import { policyValue } from "./value_iteration.ts";

/** One point of an AQL learning curve. */
export interface AqlTracePoint {
  /** Episodes sampled so far. */
  episodes: number;
  /** Transitions (updates) so far. */
  samples: number;
  /** max over all (h,a) of |Q(h,a) - Q*(h,a)| (NaN without a reference). */
  errorQ: number;
  /** max over all (h,s,a) of |U - U*| (NaN without a reference U). */
  errorU: number;
  /** Mutual-consistency gap max |Q - E U|. */
  consistencyGap: number;
  /** max_a Q(root, a). */
  rootValue: number;
  /** True value V^{g(Q)}(root) of the current greedy policy. */
  greedyValue: number;
  /** Number of (h, a) pairs never updated. */
  unvisited: number;
}

/** Options of {@link asymmetricQLearning}. */
export interface AqlOptions {
  /** Number of episodes to sample (≥ 1). */
  episodes: number;
  /** Exploration ε of the ε-greedy behaviour on Q (default 1: uniform; AQL is off-policy). */
  epsilon?: number;
  /** Step-size exponent ω: α = n(h,s,a)^-ω (default 1). */
  omega?: number;
  /** Multiply the Q update by Pr(s|h) as in Eq. 14 (default true). */
  stateFactor?: boolean;
  /** Initial U_0 (default zeros); Q_0 = E U_0. */
  U0?: Float64Array;
  /** Q* for the error trace. */
  reference?: Float64Array;
  /** U* for the error trace. */
  referenceU?: Float64Array;
  /** Record a trace point every this many episodes (default episodes / 50, at least 1). */
  traceEvery?: number;
}

/** Run AQL; returns the learned U and Q, counts and the learning curve. */
export function asymmetricQLearning(
  tree: HistoryTree,
  rng: () => number,
  options: AqlOptions,
): {
  U: Float64Array;
  Q: Float64Array;
  episodes: number;
  samples: number;
  trace: AqlTracePoint[];
} {
  const { episodes } = options;
  if (!Number.isInteger(episodes) || episodes < 1) {
    throw new Error(`asymmetricQLearning: invalid episodes ${episodes}; expected an integer ≥ 1`);
  }
  const eps = options.epsilon ?? 1;
  if (!(eps >= 0 && eps <= 1)) {
    throw new Error(`asymmetricQLearning: invalid epsilon ${eps}; expected [0, 1]`);
  }
  const omega = options.omega ?? 1;
  if (!(omega > 0.5 && omega <= 1)) {
    throw new Error(`asymmetricQLearning: invalid omega ${omega}; expected a number in (0.5, 1]`);
  }
  const factor = options.stateFactor ?? true;
  const U = options.U0 ? Float64Array.from(options.U0) : zerosU(tree);
  checkU(tree, U);
  if (options.reference) checkQ(tree, options.reference);
  if (options.referenceU) checkU(tree, options.referenceU);
  const Q = expectation(tree, U);
  const A = tree.numActions, gamma = tree.discount;
  const counts = new Float64Array(U.length);
  const visitedQ = new Uint8Array(Q.length);
  const sim = new PomdpSampler(tree.model);
  const every = options.traceEvery ?? Math.max(1, Math.floor(episodes / 50));
  const trace: AqlTracePoint[] = [];
  let samples = 0;

  const argmaxQ = (n: number): number => greedyAction(Q, n, A);
  const record = (ep: number) => {
    const EU = expectation(tree, U);
    let unvisited = 0;
    for (let i = 0; i < visitedQ.length; i++) if (!visitedQ[i]) unvisited++;
    trace.push({
      episodes: ep,
      samples,
      errorQ: options.reference ? maxAbsDiff(Q, options.reference) : NaN,
      errorU: options.referenceU ? maxAbsDiff(U, options.referenceU) : NaN,
      consistencyGap: maxAbsDiff(Q, EU),
      rootValue: rootValue(tree, Q),
      greedyValue: policyValue(tree, greedy(tree, Q)),
      unvisited,
    });
  };

  record(0);
  for (let ep = 1; ep <= episodes; ep++) {
    let s = sim.start(rng);
    let node = 0;
    let entry = entryOf(tree, node, s);
    while (true) {
      const a = rng() < eps ? randInt(rng, A) : argmaxQ(node);
      const step = sim.step(s, a, rng);
      let y = step.reward;
      let nextNode = -1, nextEntry = -1;
      if (!step.ended) {
        nextNode = findChild(tree, node, a, step.observation);
        if (nextNode >= 0) {
          nextEntry = entryOf(tree, nextNode, step.next);
          if (nextEntry < 0) {
            throw new Error(`AQL: state ${step.next} missing from node ${nextNode}`);
          }
          y += gamma * U[nextEntry * A + argmaxQ(nextNode)];
        }
      }
      const i = entry * A + a, j = node * A + a;
      const alpha = omega === 1 ? 1 / ++counts[i] : Math.pow(++counts[i], -omega);
      U[i] += alpha * (y - U[i]);
      Q[j] += (factor ? alpha * tree.beliefProb[entry] : alpha) * (y - Q[j]);
      visitedQ[j] = 1;
      samples++;
      if (nextNode < 0) break;
      node = nextNode;
      entry = nextEntry;
      s = step.next;
    }
    if (ep % every === 0 || ep === episodes) record(ep);
  }
  return { U, Q, episodes, samples, trace };
}
