/**
 * Networks, presets and the DQN-family agent.
 *
 * @module
 */
export * from "./agent.ts";
export * from "./encoders.ts";
export * from "./network.ts";
export * from "./presets.ts";
