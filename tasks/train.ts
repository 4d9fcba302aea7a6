/**
 * `deno task train --env <id> --algo <id> [--seed N] [--steps N] [--set key=value ...]`: train one
 * run into the results database (resumes an interrupted one; a finished one is not redone).
 * See `--help`.
 *
 * @module
 */
import { trainMain } from "../lib/experiments/cli.ts";

if (import.meta.main) Deno.exit(await trainMain(Deno.args));
