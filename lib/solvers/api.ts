/**
 * Asymmetric Policy Iteration (paper Algorithm 1, section 4.1) on a {@link HistoryTree}:
 *
 *   U_{k+1} ← lim_n B_{π_k}^n U_k   (U-evaluation, Eq. 6)
 *   Q_{k+1} ← E U_{k+1}             (Q-evaluation, Eq. 7)
 *   π_{k+1} ← g(Q_{k+1})            (improvement, Eq. 8)
 *
 * The U-evaluation repeats U ← B_{π_k} U "until convergence", i.e. until the table no longer
 * changes (by default exactly: on a finite horizon at most H + 1 sweeps). `evaluation: "exact"`
 * replaces the sweeps by one backward pass (the solution of U = R + γ P_π U). By Theorem 4.1,
 * U_k, Q_k and π_k reach U*, Q* and an optimal policy; Q_{k+1} = Q^{π_k} improves monotonically.
 *
 * @example
 * ```ts
 * import { heavenHellModel } from "../pomdp/heaven_hell.ts";
 * import { buildHistoryTree } from "../pomdp/history_tree.ts";
 * import { asymmetricPolicyIteration } from "./api.ts";
 * const res = asymmetricPolicyIteration(buildHistoryTree(heavenHellModel(3), { horizon: 15 }));
 * console.log(res.iterations, res.trace.at(-1)!.rootValue); // 11 0.8687458127689781 (0.99^14)
 * ```
 * @module
 */
import type { HistoryTree } from "../pomdp/history_tree.ts";
import {
  bellmanU,
  checkPolicy,
  checkQ,
  checkU,
  expectation,
  greedy,
  maxAbsDiff,
  policyDifferences,
  zerosU,
} from "./operators.ts";
import type { PolicyTracePoint } from "./policy_iteration.ts";
import { evaluatePolicyU } from "./value_iteration.ts";

/** Options of {@link asymmetricPolicyIteration}. */
export interface ApiOptions {
  /** Initial U_0 (default zeros); Q_0 = E U_0. */
  U0?: Float64Array;
  /** Initial policy π_0 (default g(E U_0)). */
  policy0?: Int32Array;
  /** `"sweeps"` (default): B_{π_k} until convergence, as in Algorithm 1; `"exact"`: backward pass. */
  evaluation?: "sweeps" | "exact";
  /** Sweeps stop when max |ΔU| ≤ this (default 0: exact fixed point). */
  evaluationTolerance?: number;
  /** Maximum sweeps per U-evaluation (default 10·H + 10). */
  maxEvaluationSweeps?: number;
  /** Maximum number of policy improvements (default 1000). */
  maxIterations?: number;
  /** Stop when max |Q_{k+1} - Q_k| ≤ this even if ties changed the policy (default 1e-12). */
  stopTolerance?: number;
  /** Q* to measure errors against. */
  reference?: Float64Array;
  /** Keep every Q_{k+1} = E U_{k+1} (for plots and monotonicity checks). */
  keepIterates?: boolean;
}

/** Run API; returns the final U, Q = E U, the greedy-stable policy and a per-iteration trace. */
export function asymmetricPolicyIteration(tree: HistoryTree, options: ApiOptions = {}): {
  /** U^π of the final policy. */
  U: Float64Array;
  /** Q = E U. */
  Q: Float64Array;
  /** The final (optimal) policy. */
  policy: Int32Array;
  /** Number of U-evaluations (= trace.length). */
  iterations: number;
  converged: boolean;
  trace: PolicyTracePoint[];
  iterates: Float64Array[];
} {
  let U = options.U0 ? Float64Array.from(options.U0) : zerosU(tree);
  checkU(tree, U);
  if (options.reference) checkQ(tree, options.reference);
  let policy = options.policy0
    ? Int32Array.from(options.policy0)
    : greedy(tree, expectation(tree, U));
  checkPolicy(tree, policy);
  const mode = options.evaluation ?? "sweeps";
  if (mode !== "sweeps" && mode !== "exact") {
    throw new Error(
      `asymmetricPolicyIteration: invalid evaluation "${mode}"; expected "sweeps" or "exact"`,
    );
  }
  const evalTol = options.evaluationTolerance ?? 0;
  const maxSweeps = options.maxEvaluationSweeps ?? 10 * tree.horizon + 10;
  const maxIt = options.maxIterations ?? 1000;
  const stopTol = options.stopTolerance ?? 1e-12;
  const trace: PolicyTracePoint[] = [];
  const iterates: Float64Array[] = [];
  let scratch = zerosU(tree);
  let prevQ: Float64Array | null = null;
  let Q = expectation(tree, U);
  let converged = false;
  for (let k = 0;; k++) {
    // U-evaluation of π_k, starting from U_k.
    let sweeps = 0;
    if (mode === "exact") {
      U = evaluatePolicyU(tree, policy);
      sweeps = 1;
    } else {
      while (sweeps < maxSweeps) {
        bellmanU(tree, U, policy, scratch);
        const delta = maxAbsDiff(scratch, U);
        [U, scratch] = [scratch, U];
        sweeps++;
        if (delta <= evalTol) break;
      }
    }
    Q = expectation(tree, U); // Q-evaluation
    if (options.keepIterates) iterates.push(Q);
    const next = greedy(tree, Q); // improvement
    const changes = policyDifferences(next, policy);
    trace.push({
      iteration: k,
      rootValue: Q[policy[0]],
      policyChanges: changes,
      error: options.reference ? maxAbsDiff(Q, options.reference) : NaN,
      evaluationSweeps: sweeps,
    });
    const stalled = prevQ !== null && maxAbsDiff(Q, prevQ) <= stopTol;
    if (changes === 0 || stalled) {
      converged = true;
      break;
    }
    if (k >= maxIt) break;
    policy = next;
    prevQ = Q;
  }
  return { U, Q, policy, iterations: trace.length, converged, trace, iterates };
}
