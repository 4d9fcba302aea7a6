/**
 * Asymmetric DQN for partially observable reinforcement learning, in TypeScript for Deno.
 *
 * A reference implementation of Baisero, Daley and Amato, "Asymmetric DQN for Partially Observable
 * Reinforcement Learning" (UAI 2022): the benchmark environments (Heaven-Hell-3/4, Car-Flag,
 * Cleaner, GV-MemoryFourRooms-7x7 and any Cassandra `.pomdp` file), the paper's tabular theory
 * (asymmetric policy iteration, AAVI and AQL on exact history trees), the recurrent Q/U models and
 * the five DQN-family losses on TensorFlow.js, the training loop, a results database, figures and
 * cluster sweeps.
 *
 * @example Make an environment and look at its observation and privileged state
 * ```ts
 * import { makeEnv, makeRng } from "./mod.ts";
 * const env = makeEnv("heaven-hell-3");
 * const { state, obs } = env.reset(makeRng(0));
 * console.log(env.renderObs(obs));
 * console.log(env.renderState(state));
 * ```
 * @module
 */
export * from "./lib/rng.ts";
export * from "./lib/envs/mod.ts";
export * from "./lib/pomdp/mod.ts";
export * from "./lib/solvers/mod.ts";
export * from "./lib/train/mod.ts";
export * from "./lib/results/mod.ts";
export * from "./lib/experiments/mod.ts";
export * from "./lib/plots/mod.ts";
export * from "./lib/cluster/mod.ts";
export * from "./lib/models/mod.ts";
export { BACKEND_NAMES, type BackendName, initBackend } from "./lib/nn/backend.ts";
export * from "./lib/notebooks/mod.ts";
