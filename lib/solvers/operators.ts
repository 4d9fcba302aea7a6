/**
 * The operators of the paper's section 3.4 on a {@link HistoryTree}, as plain functions on flat
 * tables:
 *
 * - a Q table (`Float64Array`, length N·|A|) holds Q(h,a) at `node * |A| + a`;
 * - a U table (`Float64Array`, length numEntries·|A|) holds U(h,s,a) at `entry * |A| + a`, where an
 *   entry is a (node, state) pair with b(s|h) > 0 (see {@link HistoryTree});
 * - a policy (`Int32Array`, length N) holds a deterministic history policy π(h).
 *
 * Values beyond the horizon are 0 (finite-horizon truncation) and an ended episode is worth 0.
 * Each operator writes into `out` when given (it must not alias the input) and returns it.
 *
 * - {@link bellmanQ}: B_π Q(h,a) = R(h,a) + γ Σ_o Pr(o|h,a) Q(hao, π(hao)).
 * - {@link bellmanOptimalityQ}: B Q(h,a) = R(h,a) + γ Σ_o Pr(o|h,a) max_a' Q(hao, a').
 * - {@link bellmanU}: B_π U(h,s,a) = R(s,a) + γ Σ_{s',o} T(s'|s,a) O(o|a,s') U(hao, s', π(hao)).
 * - {@link expectation} (E): EU(h,a) = Σ_s b(s|h) U(h,s,a).
 * - {@link greedy} (g): g(Q)(h) = argmax_a Q(h,a), ties to the first maximal index.
 *
 * @example Lemma 4.2 on one table: E B_{g(Q)} U = B Q for Q = E U
 * ```ts
 * import { heavenHellModel } from "../pomdp/heaven_hell.ts";
 * import { buildHistoryTree } from "../pomdp/history_tree.ts";
 * import { makeRng } from "../rng.ts";
 * import { bellmanOptimalityQ, bellmanU, expectation, greedy, maxAbsDiff, randomU } from "./operators.ts";
 * const tree = buildHistoryTree(heavenHellModel(3), { horizon: 15 });
 * const U = randomU(tree, makeRng(1));
 * const Q = expectation(tree, U);
 * const gap = maxAbsDiff(expectation(tree, bellmanU(tree, U, greedy(tree, Q))), bellmanOptimalityQ(tree, Q));
 * if (gap > 1e-12) throw new Error(`gap ${gap}`);
 * ```
 * @module
 */
import type { HistoryTree } from "../pomdp/history_tree.ts";

/** A zero Q table (N·|A|). */
export function zerosQ(tree: HistoryTree): Float64Array {
  return new Float64Array(tree.numNodes * tree.numActions);
}

/** A zero U table (numEntries·|A|). */
export function zerosU(tree: HistoryTree): Float64Array {
  return new Float64Array(tree.numEntries * tree.numActions);
}

/** A U table of independent uniform values in [-scale, scale). */
export function randomU(tree: HistoryTree, rng: () => number, scale = 1): Float64Array {
  const U = zerosU(tree);
  for (let i = 0; i < U.length; i++) U[i] = scale * (2 * rng() - 1);
  return U;
}

/** A constant policy (every history takes `action`; default 0). */
export function constantPolicy(tree: HistoryTree, action = 0): Int32Array {
  if (!Number.isInteger(action) || action < 0 || action >= tree.numActions) {
    throw new Error(`constantPolicy: invalid action ${action}; expected 0..${tree.numActions - 1}`);
  }
  return new Int32Array(tree.numNodes).fill(action);
}

/** g(Q): the greedy policy, argmax_a Q(h,a) with ties to the first maximal index. */
export function greedy(tree: HistoryTree, Q: Float64Array, out?: Int32Array): Int32Array {
  checkQ(tree, Q);
  const A = tree.numActions;
  const pi = out ?? new Int32Array(tree.numNodes);
  for (let n = 0; n < tree.numNodes; n++) pi[n] = greedyAction(Q, n, A);
  return pi;
}

/**
 * argmax_a Q(n, a) of one node of a table with `A` actions per node (the first on ties).
 *
 * @example
 * ```ts
 * import { greedyAction } from "./operators.ts";
 * console.log(greedyAction(Float64Array.of(0, 1, 5, 5), 1, 2)); // 0: node 1 holds [5, 5]
 * ```
 */
export function greedyAction(Q: ArrayLike<number>, n: number, A: number): number {
  let best = 0, v = Q[n * A];
  for (let a = 1; a < A; a++) {
    if (Q[n * A + a] > v) {
      v = Q[n * A + a];
      best = a;
    }
  }
  return best;
}

/** V(h) = max_a Q(h,a) for every node. */
export function maxValues(tree: HistoryTree, Q: Float64Array): Float64Array {
  checkQ(tree, Q);
  const A = tree.numActions;
  const V = new Float64Array(tree.numNodes);
  for (let n = 0; n < tree.numNodes; n++) {
    let v = Q[n * A];
    for (let a = 1; a < A; a++) if (Q[n * A + a] > v) v = Q[n * A + a];
    V[n] = v;
  }
  return V;
}

/** max_a Q(root, a): the value of the root history. */
export function rootValue(tree: HistoryTree, Q: Float64Array): number {
  checkQ(tree, Q);
  let v = Q[0];
  for (let a = 1; a < tree.numActions; a++) v = Math.max(v, Q[a]);
  return v;
}

/** E: EU(h,a) = Σ_s b(s|h) U(h,s,a). */
export function expectation(tree: HistoryTree, U: Float64Array, out?: Float64Array): Float64Array {
  checkU(tree, U);
  const A = tree.numActions;
  const Q = out ?? zerosQ(tree);
  for (let n = 0; n < tree.numNodes; n++) {
    for (let a = 0; a < A; a++) Q[n * A + a] = 0;
    for (let k = tree.beliefStart[n]; k < tree.beliefStart[n + 1]; k++) {
      const b = tree.beliefProb[k];
      for (let a = 0; a < A; a++) Q[n * A + a] += b * U[k * A + a];
    }
  }
  return Q;
}

/** B_π on Q: R(h,a) + γ Σ_o Pr(o|h,a) Q(hao, π(hao)). */
export function bellmanQ(
  tree: HistoryTree,
  Q: Float64Array,
  policy: Int32Array,
  out?: Float64Array,
): Float64Array {
  checkQ(tree, Q);
  checkPolicy(tree, policy);
  const A = tree.numActions, g = tree.discount;
  const res = out ?? zerosQ(tree);
  for (let i = 0; i < tree.numNodes * A; i++) {
    let next = 0;
    for (let e = tree.edgeStart[i]; e < tree.edgeStart[i + 1]; e++) {
      const c = tree.edgeChild[e];
      if (c >= 0) next += tree.edgeProb[e] * Q[c * A + policy[c]];
    }
    res[i] = tree.reward[i] + g * next;
  }
  return res;
}

/** B on Q: R(h,a) + γ Σ_o Pr(o|h,a) max_a' Q(hao, a'). */
export function bellmanOptimalityQ(
  tree: HistoryTree,
  Q: Float64Array,
  out?: Float64Array,
): Float64Array {
  checkQ(tree, Q);
  const A = tree.numActions, g = tree.discount;
  const res = out ?? zerosQ(tree);
  for (let i = 0; i < tree.numNodes * A; i++) {
    let next = 0;
    for (let e = tree.edgeStart[i]; e < tree.edgeStart[i + 1]; e++) {
      const c = tree.edgeChild[e];
      if (c < 0) continue;
      let v = Q[c * A];
      for (let a = 1; a < A; a++) if (Q[c * A + a] > v) v = Q[c * A + a];
      next += tree.edgeProb[e] * v;
    }
    res[i] = tree.reward[i] + g * next;
  }
  return res;
}

/** B_π on U: R(s,a) + γ Σ_{s',o} T(s'|s,a) O(o|a,s') U(hao, s', π(hao)). */
export function bellmanU(
  tree: HistoryTree,
  U: Float64Array,
  policy: Int32Array,
  out?: Float64Array,
): Float64Array {
  checkU(tree, U);
  checkPolicy(tree, policy);
  const A = tree.numActions;
  const res = out ?? zerosU(tree);
  for (let i = 0; i < tree.numEntries * A; i++) res[i] = policyBackupU(tree, U, policy, i);
  return res;
}

/**
 * One entry i = k·|A| + a of B_π on U: R(s_k, a) + γ Σ_{s',o} T(s'|s,a) O(o|a,s') U(hao, s', π(hao)),
 * reading only entries below (deeper than) k. {@link bellmanU} applies it to every entry;
 * exact policy evaluation (value_iteration.ts) sweeps it from the deepest entry up, in place.
 */
export function policyBackupU(
  tree: HistoryTree,
  U: Float64Array,
  policy: Int32Array,
  i: number,
): number {
  const A = tree.numActions;
  const s = tree.beliefState[Math.floor(i / A)], a = i % A;
  let next = 0;
  for (let t = tree.uStart[i]; t < tree.uStart[i + 1]; t++) {
    next += tree.uProb[t] * U[tree.uNextEntry[t] * A + policy[tree.uNextNode[t]]];
  }
  return tree.stateReward[s * A + a] + tree.discount * next;
}

/** max_i |x_i - y_i| (tables of equal length). */
export function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) {
    throw new Error(
      `maxAbsDiff: lengths ${x.length} and ${y.length} differ; expected equal lengths`,
    );
  }
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (d > m || Number.isNaN(d)) m = d;
  }
  return m;
}

/** Number of nodes where two policies differ. */
export function policyDifferences(x: Int32Array, y: Int32Array): number {
  if (x.length !== y.length) {
    throw new Error(`policyDifferences: lengths ${x.length} and ${y.length} differ`);
  }
  let c = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) c++;
  return c;
}

/** Throw unless Q has N·|A| values. */
export function checkQ(tree: HistoryTree, Q: Float64Array): void {
  if (Q.length !== tree.numNodes * tree.numActions) {
    throw new Error(
      `Q table has ${Q.length} values; expected numNodes·|A| = ${tree.numNodes * tree.numActions}`,
    );
  }
}

/** Throw unless U has numEntries·|A| values. */
export function checkU(tree: HistoryTree, U: Float64Array): void {
  if (U.length !== tree.numEntries * tree.numActions) {
    throw new Error(
      `U table has ${U.length} values; expected numEntries·|A| = ${
        tree.numEntries * tree.numActions
      }`,
    );
  }
}

/** Throw unless the policy has one valid action per node. */
export function checkPolicy(tree: HistoryTree, policy: Int32Array): void {
  if (policy.length !== tree.numNodes) {
    throw new Error(`policy has ${policy.length} entries; expected numNodes = ${tree.numNodes}`);
  }
  for (let n = 0; n < policy.length; n++) {
    if (!(policy[n] >= 0 && policy[n] < tree.numActions)) {
      throw new Error(
        `policy[${n}] = ${policy[n]}; expected an action in 0..${tree.numActions - 1}`,
      );
    }
  }
}
