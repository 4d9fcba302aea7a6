/**
 * Tensor building blocks on TensorFlow.js: backend set-up, dense layers and a GRU with
 * hand-written gradients, one-hot embeddings, seeded initialisers and Adam (per run over K stacked runs).
 *
 * @module
 */
export * from "./batched_adam.ts";
export * from "./backend.ts";
export * from "./dense.ts";
export * from "./embedding.ts";
export * from "./gru.ts";
export * from "./gru_host.ts";
export * from "./init.ts";
export * from "./scope.ts";

// TensorFlow.js and random-stream types that the signatures mention, documented here too.
export * from "./tensors.ts";
export type { Rng, RngState, Seed } from "../rng.ts";
