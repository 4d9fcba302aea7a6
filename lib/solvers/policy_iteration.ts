/**
 * Symmetric policy iteration on a {@link HistoryTree}: π_{k+1} = g(Q^{π_k}), with exact policy
 * evaluation (one backward pass). By the policy improvement theorem Q^{π_{k+1}} ≥ Q^{π_k}
 * everywhere, and the iteration stops at an optimal policy.
 *
 * @example
 * ```ts
 * import { heavenHellModel } from "../pomdp/heaven_hell.ts";
 * import { buildHistoryTree } from "../pomdp/history_tree.ts";
 * import { policyIteration } from "./policy_iteration.ts";
 * const { trace } = policyIteration(buildHistoryTree(heavenHellModel(3), { horizon: 15 }));
 * console.log(trace.map((p) => p.rootValue)); // non-decreasing, ending at 0.99^14
 * ```
 * @module
 */
import type { HistoryTree } from "../pomdp/history_tree.ts";
import {
  checkPolicy,
  checkQ,
  constantPolicy,
  greedy,
  maxAbsDiff,
  policyDifferences,
} from "./operators.ts";
import { evaluatePolicy } from "./value_iteration.ts";

/** One iteration of (asymmetric) policy iteration. */
export interface PolicyTracePoint {
  /** Iteration k: policy π_k was evaluated (PI: Q^{π_k}; API: Q_{k+1} = E U_{k+1} = Q^{π_k}). */
  iteration: number;
  /** V^{π_k}(root) = Q^{π_k}(root, π_k(root)) of the policy evaluated at this iteration. */
  rootValue: number;
  /** Number of nodes whose action changed in the improvement that followed (0 at the end). */
  policyChanges: number;
  /** max |Q_k - Q*| when a reference was given, else NaN. */
  error: number;
  /** Bellman sweeps used by the evaluation (1 for the exact backward pass). */
  evaluationSweeps: number;
}

/** Options of {@link policyIteration}. */
export interface PolicyIterationOptions {
  /** Initial policy π_0 (default: action 0 everywhere). */
  policy0?: Int32Array;
  /** Maximum number of improvements (default 1000). */
  maxIterations?: number;
  /** Stop when max |Q^{π_{k+1}} - Q^{π_k}| ≤ this, even if ties changed the policy (default 1e-12). */
  stopTolerance?: number;
  /** Q* to measure errors against. */
  reference?: Float64Array;
  /** Keep every Q^{π_k} (for plots and monotonicity checks). */
  keepIterates?: boolean;
}

/** Policy iteration on Q(h,a) with exact evaluation; returns Q^{π} of the final policy. */
export function policyIteration(tree: HistoryTree, options: PolicyIterationOptions = {}): {
  /** Q^π of the final policy. */
  Q: Float64Array;
  /** The final (optimal) policy. */
  policy: Int32Array;
  /** Number of policy evaluations (= trace.length). */
  iterations: number;
  converged: boolean;
  trace: PolicyTracePoint[];
  iterates: Float64Array[];
} {
  let policy = options.policy0 ? Int32Array.from(options.policy0) : constantPolicy(tree);
  checkPolicy(tree, policy);
  if (options.reference) checkQ(tree, options.reference);
  const maxIt = options.maxIterations ?? 1000;
  const stopTol = options.stopTolerance ?? 1e-12;
  const trace: PolicyTracePoint[] = [];
  const iterates: Float64Array[] = [];
  let prev: Float64Array | null = null;
  let converged = false;
  let Q = evaluatePolicy(tree, policy);
  for (let k = 0;; k++) {
    if (options.keepIterates) iterates.push(Q);
    const next = greedy(tree, Q);
    const changes = policyDifferences(next, policy);
    trace.push({
      iteration: k,
      rootValue: Q[policy[0]],
      policyChanges: changes,
      error: options.reference ? maxAbsDiff(Q, options.reference) : NaN,
      evaluationSweeps: 1,
    });
    const stalled = prev !== null && maxAbsDiff(Q, prev) <= stopTol;
    if (changes === 0 || stalled) {
      converged = true;
      break;
    }
    if (k >= maxIt) break;
    policy = next;
    prev = Q;
    Q = evaluatePolicy(tree, policy);
  }
  return { Q, policy, iterations: trace.length, converged, trace, iterates };
}
