/**
 * Tabular POMDPs: the dense model, the Cassandra `.pomdp` parser and writer, and the Heaven-Hell
 * generator.
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
