/**
 * Speed comparisons: this library against a PyTorch implementation of the same workload
 * (bench/torch_workload.py), as run by `deno task bench --compare`.
 *
 * @example Format a comparison without measuring anything
 * ```ts
 * import { formatCompareTable } from "./mod.ts";
 * const table = formatCompareTable([{ backend: "wasm", cells: {} }], []);
 * console.log(table.split("\\n")[0]); // | workload (env-steps/s) | ours wasm |
 * ```
 * @module
 */
export * from "./compare.ts";
export * from "./ours.ts";
