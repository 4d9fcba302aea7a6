/**
 * `deno task figures [--figure ...] [--preset ...] [--db path] [--out dir]`: regenerate Figure 1
 * panels (JSON, HTML, PNG) from the results database. See `--help`.
 *
 * @module
 */
import { figuresMain } from "../lib/experiments/cli.ts";

if (import.meta.main) Deno.exit(await figuresMain(Deno.args));
