/**
 * State-only asymmetric Q-learning (the tabular analogue of paper section 4.4.2, ADQN-State, and
 * 4.4.3, ADQN-State-VR): a history-less U(s,a) table trained alongside Q(h,a) on the
 * {@link HistoryTree}, from ε-greedy episodes sampled from the model:
 *
 *   y = r + γ U(s', argmax_a' Q(hao, a'))       (y = r when the episode ends or hao has H actions)
 *   U(s,a) += α_U (y - U(s,a))                    (Eq. 20 / 22)
 *   Q(h,a) += α_Q (y - Q(h,a))                    (Eq. 21, variant "bootstrap")
 *   Q(h,a) += α_Q (U(s,a) - Q(h,a))               (Eq. 23, variant "vr"; U before its update)
 *
 * with α_U = n(s,a)^-ω and α_Q = n(h,a)^-ω. U(s,a) averages over every history that visits s, so
 * it mixes the values of informed and uninformed future behaviour: its fixed point depends on the
 * behaviour policy and is biased (Baisero and Amato, 2022). The tests show the bias on
 * Heaven-Hell, where the history-based {@link asymmetricQLearning} learns the optimal policy.
 *
 * @example
 * ```ts
 * import { heavenHellModel } from "../pomdp/heaven_hell.ts";
 * import { buildHistoryTree } from "../pomdp/history_tree.ts";
 * import { makeRng } from "../rng.ts";
 * import { stateOnlyQLearning } from "./state_ql.ts";
 * const tree = buildHistoryTree(heavenHellModel(3), { horizon: 40 });
 * const res = stateOnlyQLearning(tree, makeRng(1), { episodes: 2_000 });
 * console.log(res.trace.at(-1)!.greedyValue); // 0: its greedy policy never uses the priest
 * ```
 * @module
 */
import { findChild, type HistoryTree } from "../pomdp/history_tree.ts";
import { randInt } from "../rng.ts";
import { checkQ, greedy, greedyAction, maxAbsDiff, rootValue, zerosQ } from "./operators.ts";
import { PomdpSampler } from "./sampler.ts";
import { policyValue } from "./value_iteration.ts";

/** One point of a state-only learning curve. */
export interface StateQlTracePoint {
  /** Episodes sampled so far. */
  episodes: number;
  /** Transitions so far. */
  samples: number;
  /** max |Q - Q*| over all (h, a) (NaN without a reference). */
  errorQ: number;
  /** max_a Q(root, a): what the learner believes the task is worth. */
  rootValue: number;
  /** True value V^{g(Q)}(root) of the current greedy policy. */
  greedyValue: number;
}

/** Options of {@link stateOnlyQLearning}. */
export interface StateQlOptions {
  /** Number of episodes (≥ 1). */
  episodes: number;
  /** `"bootstrap"` (Eqs. 20-21, default) or `"vr"` (Eqs. 22-23). */
  variant?: "bootstrap" | "vr";
  /** Exploration ε of the ε-greedy behaviour on Q (default 1). */
  epsilon?: number;
  /** Step-size exponent ω (default 1). */
  omega?: number;
  /** Q* for the error trace. */
  reference?: Float64Array;
  /** Record a trace point every this many episodes (default episodes / 50). */
  traceEvery?: number;
}

/** Train Q(h,a) with a state-only U(s,a) (layout `s * |A| + a`); returns both and the curve. */
export function stateOnlyQLearning(
  tree: HistoryTree,
  rng: () => number,
  options: StateQlOptions,
): { U: Float64Array; Q: Float64Array; samples: number; trace: StateQlTracePoint[] } {
  const { episodes } = options;
  if (!Number.isInteger(episodes) || episodes < 1) {
    throw new Error(`stateOnlyQLearning: invalid episodes ${episodes}; expected an integer ≥ 1`);
  }
  const variant = options.variant ?? "bootstrap";
  if (variant !== "bootstrap" && variant !== "vr") {
    throw new Error(
      `stateOnlyQLearning: invalid variant "${variant}"; expected "bootstrap" or "vr"`,
    );
  }
  const eps = options.epsilon ?? 1;
  if (!(eps >= 0 && eps <= 1)) {
    throw new Error(`stateOnlyQLearning: invalid epsilon ${eps}; expected [0, 1]`);
  }
  const omega = options.omega ?? 1;
  if (!(omega > 0.5 && omega <= 1)) {
    throw new Error(`stateOnlyQLearning: invalid omega ${omega}; expected a number in (0.5, 1]`);
  }
  if (options.reference) checkQ(tree, options.reference);
  const A = tree.numActions, gamma = tree.discount;
  const U = new Float64Array(tree.numStates * A);
  const Q = zerosQ(tree);
  const nU = new Float64Array(U.length), nQ = new Float64Array(Q.length);
  const sim = new PomdpSampler(tree.model);
  const every = options.traceEvery ?? Math.max(1, Math.floor(episodes / 50));
  const trace: StateQlTracePoint[] = [];
  let samples = 0;
  const step = (n: number) => omega === 1 ? 1 / n : Math.pow(n, -omega);
  const argmaxQ = (n: number): number => greedyAction(Q, n, A);
  const record = (ep: number) =>
    trace.push({
      episodes: ep,
      samples,
      errorQ: options.reference ? maxAbsDiff(Q, options.reference) : NaN,
      rootValue: rootValue(tree, Q),
      greedyValue: policyValue(tree, greedy(tree, Q)),
    });

  record(0);
  for (let ep = 1; ep <= episodes; ep++) {
    let s = sim.start(rng);
    let node = 0;
    while (true) {
      const a = rng() < eps ? randInt(rng, A) : argmaxQ(node);
      const st = sim.step(s, a, rng);
      let y = st.reward;
      let next = -1;
      if (!st.ended) {
        next = findChild(tree, node, a, st.observation);
        if (next >= 0) y += gamma * U[st.next * A + argmaxQ(next)];
      }
      const i = s * A + a, j = node * A + a;
      const uOld = U[i];
      U[i] += step(++nU[i]) * (y - U[i]);
      Q[j] += step(++nQ[j]) * ((variant === "vr" ? uOld : y) - Q[j]);
      samples++;
      if (next < 0) break;
      node = next;
      s = st.next;
    }
    if (ep % every === 0 || ep === episodes) record(ep);
  }
  return { U, Q, samples, trace };
}

/** One iteration of {@link stateOnlyValueIteration}. */
export interface StateViTracePoint {
  /** Iteration k (0: the initial tables). */
  iteration: number;
  /** max |U_k - U_{k-1}| (NaN at k = 0). */
  deltaU: number;
  /** max |Q_k - Q_{k-1}| (NaN at k = 0). */
  deltaQ: number;
  /** max |Q_k - Q*| when a reference was given, else NaN. */
  errorQ: number;
  /** max_a Q_k(root, a). */
  rootValue: number;
  /** True value V^{g(Q_k)}(root) of the greedy policy. */
  greedyValue: number;
}

/** Options of {@link stateOnlyValueIteration}. */
export interface StateViOptions {
  /** `"bootstrap"` (Eqs. 20-21, default) or `"vr"` (Eqs. 22-23). */
  variant?: "bootstrap" | "vr";
  /** Maximum number of iterations (default 10·H + 10). */
  maxIterations?: number;
  /** Q* for the error trace. */
  reference?: Float64Array;
}

/**
 * The expected-update (noise-free) version of {@link stateOnlyQLearning} under uniformly random
 * behaviour: with d(h,s) = Pr(reach h, state s) and the expected target
 * Y_k(h,s,a) = R(s,a) + γ Σ_{s',o} T(s'|s,a) O(o|a,s') U_k(s', g(Q_k)(hao)),
 *
 *   U_{k+1}(s,a) = Σ_h d(h,s) Y_k(h,s,a) / Σ_h d(h,s)      (the fixed point of Eq. 20's averaging)
 *   Q_{k+1}(h,a) = Σ_s b(s|h) Y_k(h,s,a)                     ("bootstrap", Eq. 21)
 *   Q_{k+1}(h,a) = Σ_s b(s|h) U_k(s,a)                        ("vr", Eq. 23)
 *
 * It isolates the bias of state-only asymmetry from sampling noise. Iterates until the tables stop
 * changing (it need not converge: the trace shows what it does).
 */
export function stateOnlyValueIteration(tree: HistoryTree, options: StateViOptions = {}): {
  U: Float64Array;
  Q: Float64Array;
  iterations: number;
  converged: boolean;
  trace: StateViTracePoint[];
} {
  const variant = options.variant ?? "bootstrap";
  if (variant !== "bootstrap" && variant !== "vr") {
    throw new Error(
      `stateOnlyValueIteration: invalid variant "${variant}"; expected "bootstrap" or "vr"`,
    );
  }
  if (options.reference) checkQ(tree, options.reference);
  const maxIt = options.maxIterations ?? 10 * tree.horizon + 10;
  const A = tree.numActions, S = tree.numStates, N = tree.numNodes, gamma = tree.discount;
  // Reach probabilities under the uniform behaviour.
  const reach = new Float64Array(N);
  reach[0] = 1;
  for (let n = 0; n < N; n++) {
    for (let i = n * A; i < (n + 1) * A; i++) {
      for (let e = tree.edgeStart[i]; e < tree.edgeStart[i + 1]; e++) {
        const c = tree.edgeChild[e];
        if (c >= 0) reach[c] += reach[n] * tree.edgeProb[e] / A;
      }
    }
  }
  const weight = new Float64Array(S);
  for (let k = 0; k < tree.numEntries; k++) {
    weight[tree.beliefState[k]] += reach[tree.entryNode[k]] * tree.beliefProb[k];
  }
  let U = new Float64Array(S * A);
  let Q = zerosQ(tree);
  const policy = new Int32Array(N);
  const trace: StateViTracePoint[] = [];
  const record = (k: number, deltaU: number, deltaQ: number) =>
    trace.push({
      iteration: k,
      deltaU,
      deltaQ,
      errorQ: options.reference ? maxAbsDiff(Q, options.reference) : NaN,
      rootValue: rootValue(tree, Q),
      greedyValue: policyValue(tree, greedy(tree, Q)),
    });
  record(0, NaN, NaN);
  let converged = false, k = 0;
  while (k < maxIt) {
    greedy(tree, Q, policy);
    const nextU = new Float64Array(S * A);
    const nextQ = zerosQ(tree);
    for (let e = 0; e < tree.numEntries; e++) {
      const n = tree.entryNode[e], s = tree.beliefState[e], b = tree.beliefProb[e];
      const w = reach[n] * b;
      for (let a = 0; a < A; a++) {
        const i = e * A + a;
        let next = 0;
        for (let t = tree.uStart[i]; t < tree.uStart[i + 1]; t++) {
          const s2 = tree.beliefState[tree.uNextEntry[t]];
          next += tree.uProb[t] * U[s2 * A + policy[tree.uNextNode[t]]];
        }
        const y = tree.stateReward[s * A + a] + gamma * next;
        nextU[s * A + a] += w * y;
        nextQ[n * A + a] += b * (variant === "vr" ? U[s * A + a] : y);
      }
    }
    for (let s = 0; s < S; s++) {
      for (let a = 0; a < A; a++) {
        nextU[s * A + a] = weight[s] > 0 ? nextU[s * A + a] / weight[s] : 0;
      }
    }
    const deltaU = maxAbsDiff(nextU, U), deltaQ = maxAbsDiff(nextQ, Q);
    U = nextU;
    Q = nextQ;
    k++;
    record(k, deltaU, deltaQ);
    if (Math.max(deltaU, deltaQ) === 0) {
      converged = true;
      break;
    }
  }
  return { U, Q, iterations: k, converged, trace };
}
