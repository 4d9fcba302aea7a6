/**
 * The agent contract as the training layer uses it: defined beside its implementation in
 * lib/models/contract.ts (so lib/models imports nothing from lib/train) and re-exported here.
 *
 * @module
 */
export * from "../models/contract.ts";
