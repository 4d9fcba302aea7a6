/**
 * A worker process of `deno task reproduce` (internal): claims runs from the results database and
 * trains them, reporting JSON lines on stdout. Arguments: --db path [--ids 1,2,...]
 * [--checkpoint-dir dir] [--lease-timeout s] [--backend wasm|cpu|webgpu] [--parent-pid N].
 *
 * @module
 */
import { workerMain } from "../lib/experiments/workers.ts";

if (import.meta.main) Deno.exit(await workerMain(Deno.args));
