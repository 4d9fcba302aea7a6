/**
 * The DQN-family agents (the contract of ./contract.ts) and their per-environment model presets.
 *
 * The tensor-level modules behind it take and return TensorFlow.js tensors and are imported by
 * path: `layout.ts` and `batched_network.ts` (the recurrent Q/U networks) and `encoders.ts` (feature encoders); likewise
 * lib/nn (ops, Adam) and lib/losses (the five losses).
 *
 * @example Train one step and act
 * ```ts
 * import { initBackend } from "../nn/backend.ts";
 * import { makeEnv } from "../envs/mod.ts";
 * import { makeAgent } from "./mod.ts";
 * await initBackend();
 * const env = makeEnv("car-flag");
 * const agent = makeAgent(env, "adqn", { seed: 0, model: { gruHidden: 16, headHidden: [32] } });
 * const { q } = agent.act(agent.initialHidden(), -1, new Float32Array(3));
 * console.log(q.length); // 7
 * agent.dispose();
 * ```
 * @module
 */
export * from "./presets.ts";
export * from "./batched_agent.ts";
export type { ActRequest } from "./batched_network.ts";

// The agent contract the training loop relies on (algorithms, episodes, snapshots).
export * from "./contract.ts";

// Types that the agents' signatures mention.
export type { Env, FeaturePart, FeatureSpec, ResetResult, StepResult } from "../envs/types.ts";
export type { Rng, RngState, Seed } from "../rng.ts";
