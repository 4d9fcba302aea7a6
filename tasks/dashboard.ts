/**
 * `deno task dashboard [--db data/results.sqlite] [--port 8080] [--host 127.0.0.1]`: a live,
 * read-only web page of the results database (lib/dashboard). See `--help`.
 *
 * @module
 */
import { parseTaskArgs } from "./args.ts";
import { DEFAULT_DB_PATH } from "../lib/results/db.ts";
import { startDashboard } from "../lib/dashboard/server.ts";

const USAGE = `Usage: deno task dashboard [--db ${DEFAULT_DB_PATH}] [--port 8080] [--host 127.0.0.1]
  Serve a live, read-only dashboard of the results database (overview of Figure 1 panels,
  campaign progress, runs table, one page per run). It binds to 127.0.0.1 unless --host says
  otherwise; it never writes to the database.`;

if (import.meta.main) {
  const v = parseTaskArgs({
    db: { type: "string", default: DEFAULT_DB_PATH },
    port: { type: "string", default: "8080" },
    host: { type: "string", default: "127.0.0.1" },
  }, USAGE);
  const port = Number(v.port);
  if (!/^[0-9]+$/.test(v.port) || port > 65535) {
    console.error(`bad --port "${v.port}"; expected an integer from 0 to 65535\n\n${USAGE}`);
    Deno.exit(2);
  }
  try {
    const d = startDashboard({ db: v.db, port, host: v.host });
    console.log(`dashboard of ${v.db} at ${d.url} (Ctrl-C to stop)`);
  } catch (e) {
    console.error(`dashboard: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
