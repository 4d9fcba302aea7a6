/**
 * Tabular POMDPs: the sparse model (and dense builders for small ones), the Cassandra `.pomdp`
 * parser and writer, beliefs, history trees, and the Heaven-Hell and random-model generators.
 *
 * @module
 */
export * from "./model.ts";
export * from "./parser.ts";
export * from "./writer.ts";
export * from "./heaven_hell.ts";
export * from "./belief.ts";
export * from "./history_tree.ts";
export * from "./random.ts";
