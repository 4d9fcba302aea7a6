/**
 * `deno task reproduce --figure <1a|...|1e|all> [--preset quick|paper] [--seeds N] [--workers N]`:
 * train the runs of Figure 1 panels in parallel workers (resumable), then write the figures.
 * See `--help`.
 *
 * @module
 */
import { reproduceMain } from "../lib/experiments/cli.ts";

if (import.meta.main) Deno.exit(await reproduceMain(Deno.args));
