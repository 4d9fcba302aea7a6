/**
 * The results database (node:sqlite): runs keyed by (config hash, seed) with status, leases and
 * provenance, their metric points, and CSV export.
 *
 * @example
 * ```ts
 * import { ResultsDb, runsCsv } from "./mod.ts";
 * const db = ResultsDb.open(`${Deno.makeTempDirSync()}/results.sqlite`);
 * console.log(runsCsv(db.listRuns()).split("\n")[0].startsWith("run_id,env,algo")); // true
 * db.close();
 * ```
 * @module
 */
export * from "./db.ts";
export * from "./csv.ts";
