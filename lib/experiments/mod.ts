/**
 * The experiment layer: presets of the paper's Figure 1 (./presets.ts), the grid of runs
 * (./grid.ts), running one run against the results database with resume (./runner.ts; the
 * trainer it calls: ./trainer.ts), worker processes claiming runs through leases (./workers.ts),
 * the parallel `reproduce` orchestration
 * (./reproduce.ts), figures from the database (./figures.ts), progress display (./progress.ts) and
 * the command lines of the `train`, `reproduce` and `figures` tasks (./cli.ts).
 *
 * @example The runs of one panel of the quick preset
 * ```ts
 * import { buildGrid } from "./mod.ts";
 * console.log(buildGrid({ figures: ["1c"], preset: "quick" }).length); // 15
 * ```
 * @module
 */
export * from "./presets.ts";
export * from "./grid.ts";
export * from "./runner.ts";
export * from "./workers.ts";
export * from "./reproduce.ts";
export * from "./figures.ts";
export * from "./progress.ts";
export * from "./cli.ts";

// Types that the experiment signatures mention (runs, configs, agents, figures), documented here
// too so that this module's reference is complete.
export type * from "../results/mod.ts";
export type * from "../train/mod.ts";
export type * from "../plots/mod.ts";
export { ALGO_IDS } from "../train/mod.ts";
