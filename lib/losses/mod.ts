/**
 * Losses of DQN, ADQN, ADQN-VR, ADQN-State and ADQN-State-VR (paper section 4.4).
 *
 * @module
 */
export * from "./losses.ts";

// TensorFlow.js tensor types that the losses' signatures mention, documented here too.
export type * from "../nn/tensors.ts";
