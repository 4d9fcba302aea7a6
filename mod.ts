/**
 * Asymmetric DQN for partially observable reinforcement learning, in TypeScript for Deno.
 *
 * A reference implementation of Baisero, Daley and Amato, "Asymmetric DQN for Partially Observable
 * Reinforcement Learning" (UAI 2022). The root module holds what a user needs to make the benchmark
 * environments (Heaven-Hell-3/4, Car-Flag, Cleaner, GV-MemoryFourRooms-7x7, any Cassandra `.pomdp`
 * file), run the paper's tabular theory (asymmetric policy iteration, AAVI, AQL on exact history
 * trees), compute the five DQN-family losses and train an agent. Everything else lives in subpath
 * modules by concern: `./envs`, `./pomdp`, `./solvers`, `./nn`, `./models`, `./losses`, `./train`,
 * `./results`, `./experiments` and `./plots`. The `./envs`, `./pomdp` and `./solvers` subpaths
 * load no TensorFlow.js; the root does (for the losses and the agent).
 *
 * @example Make an environment, solve Heaven-Hell exactly, and train a small agent
 * ```ts
 * import {
 *   beliefValueIteration,
 *   heavenHellModel,
 *   initBackend,
 *   makeEnv,
 *   makeRng,
 *   resolveTrainConfig,
 *   train,
 * } from "./mod.ts";
 *
 * const env = makeEnv("heaven-hell-3");
 * const { state, obs } = env.reset(makeRng(0));
 * console.log(env.renderObs(obs), env.renderState(state));
 *
 * console.log(beliefValueIteration(heavenHellModel(3), { horizon: 15 }).value); // 0.99^14
 *
 * await initBackend();
 * const config = resolveTrainConfig({
 *   env: "heaven-hell-3",
 *   algo: "adqn",
 *   totalSteps: 300,
 *   prepopulateSteps: 100,
 *   logEvery: 100,
 * });
 * const result = await train(config, { onMetric: (p) => console.log(p.envStep, p.avgReturn) });
 * console.log(Object.keys(result));
 * ```
 * @module
 */
export * from "./lib/rng.ts";
export * from "./lib/envs/mod.ts";
export * from "./lib/pomdp/mod.ts";
export * from "./lib/solvers/mod.ts";
export { adqnLoss, adqnStateLoss, adqnStateVrLoss, adqnVrLoss, dqnLoss } from "./lib/losses/mod.ts";
export type * from "./lib/losses/mod.ts";
export {
  DEFAULT_MODEL_CONFIG,
  makeAgent,
  modelPreset,
  resolveModelConfig,
} from "./lib/models/mod.ts";
export type * from "./lib/models/mod.ts";
export { BACKEND_NAMES, type BackendName, initBackend } from "./lib/nn/mod.ts";
export {
  ALGO_IDS,
  applySettings,
  argmax,
  collectEpisode,
  configHash,
  DEFAULT_TRAIN_CONFIG,
  EpisodeBuffer,
  epsilonSchedule,
  resolveTrainConfig,
  train,
} from "./lib/train/mod.ts";
export type * from "./lib/train/mod.ts";
export type * from "./lib/nn/tensors.ts";
