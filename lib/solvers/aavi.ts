/**
 * Asymmetric Action-Value Iteration (paper Algorithm 2, section 4.2) on a {@link HistoryTree}:
 *
 *   U_{k+1} ← B_{g(Q_k)} U_k   (Eq. 9)
 *   Q_{k+1} ← E U_{k+1}        (Eq. 10)
 *
 * starting from Q_0 = E U_0. By Lemma 4.2 (E B_{g(Q)} U = B Q when Q = E U), Q_k = B^k Q_0, so
 * Q_k reaches Q* (Theorem 4.3); on a finite horizon after at most H iterations. The trace records
 * the Lemma 4.2 gap max |Q_{k+1} - B Q_k| of every iteration (zero up to rounding).
 *
 * @example
 * ```ts
 * import { heavenHellModel } from "../pomdp/heaven_hell.ts";
 * import { buildHistoryTree } from "../pomdp/history_tree.ts";
 * import { asymmetricValueIteration } from "./aavi.ts";
 * const res = asymmetricValueIteration(buildHistoryTree(heavenHellModel(3), { horizon: 15 }));
 * console.log(res.iterations, res.trace.at(-1)!.rootValue); // 16 0.8687458127689781 (H + 1 iterations)
 * ```
 * @module
 */
import type { HistoryTree } from "../pomdp/history_tree.ts";
import {
  bellmanOptimalityQ,
  bellmanU,
  checkQ,
  checkU,
  expectation,
  greedy,
  maxAbsDiff,
  rootValue,
  zerosU,
} from "./operators.ts";

/** One AAVI iteration. */
export interface AaviTracePoint {
  /** Iteration k (k = 0: the initial tables). */
  iteration: number;
  /** max |Q_k - Q_{k-1}| (NaN at k = 0). */
  deltaQ: number;
  /** max |U_k - U_{k-1}| (NaN at k = 0). */
  deltaU: number;
  /** max |Q_k - Q*| when a reference was given, else NaN. */
  errorQ: number;
  /** max |U_k - U*| when a reference U was given, else NaN. */
  errorU: number;
  /** Lemma 4.2 check: max |Q_k - B Q_{k-1}| (NaN at k = 0). */
  lemmaGap: number;
  /** max_a Q_k(root, a). */
  rootValue: number;
}

/** Options of {@link asymmetricValueIteration}. */
export interface AaviOptions {
  /** Initial U_0 (default zeros); Q_0 = E U_0 (mutually consistent). */
  U0?: Float64Array;
  /** Maximum number of iterations (default 10·H + 10). */
  maxIterations?: number;
  /** Stop once max(|ΔU|, |ΔQ|) ≤ this (default 0: the exact fixed point). */
  tolerance?: number;
  /** Q* to measure errors against. */
  reference?: Float64Array;
  /** U* to measure errors against (e.g. U^{g(Q*)} from evaluatePolicyU). */
  referenceU?: Float64Array;
  /** Keep every Q_k (for plots). */
  keepIterates?: boolean;
}

/** Run AAVI; returns U_k, Q_k = E U_k at convergence and the per-iteration trace. */
export function asymmetricValueIteration(tree: HistoryTree, options: AaviOptions = {}): {
  U: Float64Array;
  Q: Float64Array;
  iterations: number;
  converged: boolean;
  trace: AaviTracePoint[];
  iterates: Float64Array[];
} {
  let U = options.U0 ? Float64Array.from(options.U0) : zerosU(tree);
  checkU(tree, U);
  if (options.reference) checkQ(tree, options.reference);
  if (options.referenceU) checkU(tree, options.referenceU);
  const maxIt = options.maxIterations ?? 10 * tree.horizon + 10;
  const tol = options.tolerance ?? 0;
  const errQ = (q: Float64Array) => options.reference ? maxAbsDiff(q, options.reference) : NaN;
  const errU = (u: Float64Array) => options.referenceU ? maxAbsDiff(u, options.referenceU) : NaN;
  let Q = expectation(tree, U);
  const iterates: Float64Array[] = options.keepIterates ? [Q] : [];
  const trace: AaviTracePoint[] = [{
    iteration: 0,
    deltaQ: NaN,
    deltaU: NaN,
    errorQ: errQ(Q),
    errorU: errU(U),
    lemmaGap: NaN,
    rootValue: rootValue(tree, Q),
  }];
  let nextU = zerosU(tree);
  const BQ = new Float64Array(Q.length);
  const policy = new Int32Array(tree.numNodes);
  let converged = false, k = 0;
  while (k < maxIt) {
    greedy(tree, Q, policy);
    bellmanU(tree, U, policy, nextU); // U_{k+1} = B_{g(Q_k)} U_k
    const nextQ = expectation(tree, nextU); // Q_{k+1} = E U_{k+1}
    bellmanOptimalityQ(tree, Q, BQ);
    const deltaU = maxAbsDiff(nextU, U), deltaQ = maxAbsDiff(nextQ, Q);
    [U, nextU] = [nextU, U];
    Q = nextQ;
    k++;
    if (options.keepIterates) iterates.push(Q);
    trace.push({
      iteration: k,
      deltaQ,
      deltaU,
      errorQ: errQ(Q),
      errorU: errU(U),
      lemmaGap: maxAbsDiff(Q, BQ),
      rootValue: rootValue(tree, Q),
    });
    if (Math.max(deltaU, deltaQ) <= tol) {
      converged = true;
      break;
    }
  }
  return { U, Q, iterations: k, converged, trace, iterates };
}
