/**
 * Symmetric (history-only) dynamic programming on a {@link HistoryTree}: exact backward induction
 * for Q*, exact policy evaluation of Q^π and U^π, and synchronous value-iteration sweeps
 * Q_{k+1} = B Q_k whose trace can be plotted.
 *
 * On a finite horizon H the tree is layered (children have larger node indices), so one backward
 * pass is exact, and synchronous sweeps reach the exact fixed point after at most H sweeps
 * (after sweep k every node with at most k actions left is exact).
 *
 * @example
 * ```ts
 * import { heavenHellModel } from "../pomdp/heaven_hell.ts";
 * import { buildHistoryTree } from "../pomdp/history_tree.ts";
 * import { backwardInduction } from "./value_iteration.ts";
 * const { V } = backwardInduction(buildHistoryTree(heavenHellModel(3), { horizon: 15 }));
 * console.log(V[0]); // 0.99^14 ≈ 0.86875
 * ```
 * @module
 */
import type { HistoryTree } from "../pomdp/history_tree.ts";
import {
  bellmanOptimalityQ,
  checkPolicy,
  checkQ,
  greedy,
  maxAbsDiff,
  maxValues,
  policyBackupU,
  rootValue,
  zerosQ,
  zerosU,
} from "./operators.ts";

/** One point of a convergence trace. */
export interface TracePoint {
  /** Iteration (sweep) index k; 0 is the initial table. */
  iteration: number;
  /** max |Q_k - Q_{k-1}| (NaN at k = 0). */
  delta: number;
  /** max |Q_k - Q*| when a reference Q* was given, else NaN. */
  error: number;
  /** max_a Q_k(root, a). */
  rootValue: number;
}

/** Q*, V* and the greedy optimal policy, by one exact backward pass. */
export function backwardInduction(
  tree: HistoryTree,
): { Q: Float64Array; V: Float64Array; policy: Int32Array } {
  const A = tree.numActions, g = tree.discount;
  const Q = zerosQ(tree);
  const V = new Float64Array(tree.numNodes);
  for (let n = tree.numNodes - 1; n >= 0; n--) {
    let best = -Infinity;
    for (let a = 0; a < A; a++) {
      const i = n * A + a;
      let next = 0;
      for (let e = tree.edgeStart[i]; e < tree.edgeStart[i + 1]; e++) {
        const c = tree.edgeChild[e];
        if (c >= 0) next += tree.edgeProb[e] * V[c];
      }
      Q[i] = tree.reward[i] + g * next;
      if (Q[i] > best) best = Q[i];
    }
    V[n] = best;
  }
  return { Q, V, policy: greedy(tree, Q) };
}

/** Q^π of a deterministic history policy, exactly (one backward pass). */
export function evaluatePolicy(tree: HistoryTree, policy: Int32Array): Float64Array {
  checkPolicy(tree, policy);
  const A = tree.numActions, g = tree.discount;
  const Q = zerosQ(tree);
  for (let n = tree.numNodes - 1; n >= 0; n--) {
    for (let a = 0; a < A; a++) {
      const i = n * A + a;
      let next = 0;
      for (let e = tree.edgeStart[i]; e < tree.edgeStart[i + 1]; e++) {
        const c = tree.edgeChild[e];
        if (c >= 0) next += tree.edgeProb[e] * Q[c * A + policy[c]];
      }
      Q[i] = tree.reward[i] + g * next;
    }
  }
  return Q;
}

/** U^π(h,s,a) of a deterministic history policy, exactly (one backward pass over entries). */
export function evaluatePolicyU(tree: HistoryTree, policy: Int32Array): Float64Array {
  checkPolicy(tree, policy);
  const U = zerosU(tree);
  // Entries read only deeper entries: from the deepest up, each backup reads final values.
  for (let i = tree.numEntries * tree.numActions - 1; i >= 0; i--) {
    U[i] = policyBackupU(tree, U, policy, i);
  }
  return U;
}

/** V^π(root) = Q^π(root, π(root)): the expected discounted return of a policy. */
export function policyValue(tree: HistoryTree, policy: Int32Array): number {
  return evaluatePolicy(tree, policy)[policy[0]];
}

/** Options of {@link valueIteration}. */
export interface ValueIterationOptions {
  /** Initial table Q_0 (default zeros). */
  Q0?: Float64Array;
  /** Maximum number of sweeps (default 10·H + 10). */
  maxSweeps?: number;
  /** Stop once max |Q_{k+1} - Q_k| ≤ tolerance (default 0: the exact fixed point). */
  tolerance?: number;
  /** Q* to measure the error of each iterate against (e.g. from {@link backwardInduction}). */
  reference?: Float64Array;
}

/** Synchronous value iteration Q_{k+1} = B Q_k with its convergence trace. */
export function valueIteration(
  tree: HistoryTree,
  options: ValueIterationOptions = {},
): { Q: Float64Array; V: Float64Array; sweeps: number; converged: boolean; trace: TracePoint[] } {
  let Q = options.Q0 ? Float64Array.from(options.Q0) : zerosQ(tree);
  checkQ(tree, Q);
  if (options.reference) checkQ(tree, options.reference);
  const maxSweeps = options.maxSweeps ?? 10 * tree.horizon + 10;
  const tol = options.tolerance ?? 0;
  const err = (q: Float64Array) => options.reference ? maxAbsDiff(q, options.reference) : NaN;
  const trace: TracePoint[] = [{
    iteration: 0,
    delta: NaN,
    error: err(Q),
    rootValue: rootValue(tree, Q),
  }];
  let next = zerosQ(tree);
  let converged = false, k = 0;
  while (k < maxSweeps) {
    bellmanOptimalityQ(tree, Q, next);
    const delta = maxAbsDiff(next, Q);
    [Q, next] = [next, Q];
    k++;
    trace.push({ iteration: k, delta, error: err(Q), rootValue: rootValue(tree, Q) });
    if (delta <= tol) {
      converged = true;
      break;
    }
  }
  return { Q, V: maxValues(tree, Q), sweeps: k, converged, trace };
}
