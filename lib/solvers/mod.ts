/**
 * Exact and tabular solvers for the paper's theory (sections 3.3-4.4) on finite history trees:
 * the operators B_π, B, E and g; symmetric value and policy iteration; Asymmetric Policy Iteration
 * (Algorithm 1), Asymmetric Action-Value Iteration (Algorithm 2), Asymmetric Q-Learning
 * (Algorithm 3) and the state-only variant of section 4.4.2; and a belief-space oracle.
 * Plain TypeScript on flat typed arrays, no tensors.
 *
 * @example Every exact method agrees on Heaven-Hell-3
 * ```ts
 * import { heavenHellModel } from "../pomdp/heaven_hell.ts";
 * import { buildHistoryTree } from "../pomdp/history_tree.ts";
 * import {
 *   asymmetricPolicyIteration,
 *   asymmetricValueIteration,
 *   backwardInduction,
 *   beliefValueIteration,
 *   maxAbsDiff,
 * } from "./mod.ts";
 * const model = heavenHellModel(3);
 * const tree = buildHistoryTree(model, { horizon: 15 });
 * const { Q } = backwardInduction(tree);
 * if (maxAbsDiff(asymmetricPolicyIteration(tree).Q, Q) > 1e-9) throw new Error("API");
 * if (maxAbsDiff(asymmetricValueIteration(tree).Q, Q) > 1e-9) throw new Error("AAVI");
 * console.log(beliefValueIteration(model, { horizon: 15 }).value); // 0.99^14 ≈ 0.86875
 * ```
 * @module
 */
export * from "./operators.ts";
export * from "./value_iteration.ts";
export * from "./policy_iteration.ts";
export * from "./api.ts";
export * from "./aavi.ts";
export * from "./aql.ts";
export * from "./state_ql.ts";
export * from "./belief_vi.ts";
export * from "./sampler.ts";

// Types that the solvers' signatures mention, so that this module documents them too.
export type { HistoryTree, MergeMode } from "../pomdp/history_tree.ts";
export type { TabularPOMDP } from "../pomdp/model.ts";
export type { Rng, RngState, Seed } from "../rng.ts";
