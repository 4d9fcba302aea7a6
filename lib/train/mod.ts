/**
 * The paper's training protocol on plain data: the typed config with the reference defaults, the
 * whole-episode replay buffer, the ε schedule, the training loop and exact-resume checkpoints.
 * The learning agent stays behind the {@link Agent} interface (lib/models implements it).
 *
 * @example Validate a config from command-line settings
 * ```ts
 * import { applySettings, configHash, resolveTrainConfig } from "./mod.ts";
 * const partial = applySettings({ env: "heaven-hell-3", algo: "adqn" }, ["totalSteps=2e5", "seed=4"]);
 * const config = resolveTrainConfig(partial);
 * console.log(config.totalSteps, config.seed, configHash(config).slice(0, 8));
 * ```
 * @module
 */
export * from "./agent.ts";
export * from "./config.ts";
export * from "./buffer.ts";
export * from "./schedule.ts";
export * from "./episode.ts";
export * from "./loop.ts";
export * from "./checkpoint.ts";
export type { EpisodeOutcome } from "./loop_state.ts";

// Types that the training signatures mention, documented here too.
export type { Env, FeaturePart, FeatureSpec, ResetResult, StepResult } from "../envs/types.ts";
export type { Rng, RngState, Seed } from "../rng.ts";
export type { ModelConfig } from "../models/mod.ts";
export type { ActRequest, BatchedAgent, RunGradients } from "../models/mod.ts";
