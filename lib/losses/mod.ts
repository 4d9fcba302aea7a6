/**
 * Losses of DQN, ADQN, ADQN-VR, ADQN-State and ADQN-State-VR (paper section 4.4).
 *
 * @module
 */
export * from "./losses.ts";
