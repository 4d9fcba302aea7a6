/**
 * The dashboard server (`deno task dashboard`): a fixed set of routes on `Deno.serve`, reading the
 * results database through {@link DashboardSource} (read-only, no files created). It serves only
 * its own assets (a fixed table, no file paths from requests), takes only run ids from requests,
 * answers a malformed request with a 4xx, and binds to 127.0.0.1 unless told otherwise.
 *
 * Routes: `/` (overview and runs table), `/run/<id>` (one run), `/assets/{app.js,style.css,plotly.min.js}`,
 * `/api/state` (fingerprint the page polls), `/api/overview[?seeds=1]`, `/api/runs`, `/api/run/<id>`.
 *
 * @example
 * ```ts ignore
 * import { startDashboard } from "./server.ts";
 * const d = startDashboard({ db: "data/results.sqlite", port: 0 });
 * console.log(d.url);
 * await d.shutdown();
 * ```
 * @module
 */
import { findPlotlyJs } from "../plots/export.ts";
import { DashboardSource } from "./source.ts";
import { overviewPanels, progress, progressMeter, runView } from "./views.ts";
import { APP_JS, pageHtml, STYLE_CSS } from "./assets.ts";

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** Database file. */
  db: string;
  /** Port (0: any free port). */
  port: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Where warnings go (default console.warn). */
  warn?: (message: string) => void;
}

/** A running dashboard. */
export interface Dashboard {
  /** Base URL ("http://127.0.0.1:8080/"). */
  url: string;
  /** Stop serving and wait for open connections. */
  shutdown(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

function error(status: number, message: string): Response {
  return json({ error: message }, status);
}

/** Check that the query string holds only `allowed` keys with allowed values; else a 400. */
function checkQuery(url: URL, allowed: Record<string, readonly string[]>): Response | undefined {
  for (const [k, v] of url.searchParams) {
    if (!(k in allowed)) {
      return error(
        400,
        `unknown query parameter "${k}"; allowed: ${Object.keys(allowed).join(", ") || "none"}`,
      );
    }
    if (!allowed[k].includes(v)) {
      return error(400, `bad value "${v}" for "${k}"; expected one of ${allowed[k].join(", ")}`);
    }
  }
  return undefined;
}

/** A positive run id from a path segment, or undefined. */
function runId(segment: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(segment)) return undefined;
  const id = Number(segment);
  return Number.isSafeInteger(id) ? id : undefined;
}

/** The request handler (exported for tests and the benchmark). */
export function dashboardHandler(source: DashboardSource): (req: Request) => Response {
  const meter = progressMeter();
  let plotly: Uint8Array | undefined;
  const asset = (body: string | Uint8Array, type: string) =>
    new Response(body as BodyInit, {
      headers: { "content-type": type, "cache-control": "no-cache" },
    });
  return (req: Request): Response => {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return error(400, "malformed URL");
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response(`method ${req.method} not allowed; the dashboard only reads`, {
        status: 405,
        headers: { allow: "GET, HEAD" },
      });
    }
    const path = url.pathname;
    const seg = path.split("/").slice(1);
    try {
      const none = {};
      if (path === "/") {
        return checkQuery(url, none) ?? asset(pageHtml("overview"), "text/html; charset=utf-8");
      }
      if (seg[0] === "run" && seg.length === 2) {
        if (runId(seg[1]) === undefined) {
          return error(404, `no run "${seg[1]}"; run ids are positive integers`);
        }
        return checkQuery(url, none) ?? asset(pageHtml("run"), "text/html; charset=utf-8");
      }
      if (path === "/assets/app.js") return asset(APP_JS, "text/javascript; charset=utf-8");
      if (path === "/assets/style.css") return asset(STYLE_CSS, "text/css; charset=utf-8");
      if (path === "/assets/plotly.min.js") {
        plotly ??= Deno.readFileSync(findPlotlyJs());
        return asset(plotly, "text/javascript; charset=utf-8");
      }
      if (path === "/api/state") {
        return checkQuery(url, none) ??
          json({ fingerprint: source.read((db) => source.fingerprint(db)) });
      }
      if (path === "/api/overview") {
        const bad = checkQuery(url, { seeds: ["0", "1"] });
        if (bad) return bad;
        return json(source.read((db) => {
          const runs = source.runs(db);
          return {
            fingerprint: source.fingerprint(db),
            progress: progress(runs, meter, Date.now()),
            panels: overviewPanels(source, db, runs, url.searchParams.get("seeds") === "1"),
          };
        }));
      }
      if (path === "/api/runs") {
        return checkQuery(url, none) ?? json(source.read((db) => ({ runs: source.runs(db) })));
      }
      if (seg[0] === "api" && seg[1] === "run" && seg.length === 3) {
        const id = runId(seg[2]);
        if (id === undefined) {
          return error(404, `no run "${seg[2]}"; run ids are positive integers`);
        }
        const bad = checkQuery(url, none);
        if (bad) return bad;
        const view = source.read((db) => runView(source, db, id));
        return view ? json(view) : error(404, `no run ${id} in the database`);
      }
      return error(404, `no such page ${JSON.stringify(path)}`);
    } catch (e) {
      // A writer mid-checkpoint can make one read fail: the page retries on its next poll.
      return error(503, `database not readable right now: ${(e as Error).message}`);
    }
  };
}

/** Start the dashboard on `options.host:options.port`; warns when not bound to loopback. */
export function startDashboard(options: DashboardOptions): Dashboard {
  const source = new DashboardSource(options.db);
  const hostname = options.host ?? "127.0.0.1";
  const warn = options.warn ?? console.warn;
  if (!LOOPBACK.has(hostname)) {
    warn(
      `warning: dashboard bound to ${hostname}, not 127.0.0.1: anyone who can reach this ` +
        `interface can read the results database (there is no authentication)`,
    );
  }
  const handler = dashboardHandler(source);
  const ac = new AbortController();
  let resolveUrl = "";
  const server = Deno.serve({
    hostname,
    port: options.port,
    signal: ac.signal,
    onListen: () => {},
  }, handler);
  const addr = server.addr as Deno.NetAddr;
  const shown = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  resolveUrl = `http://${shown}:${addr.port}/`;
  return {
    url: resolveUrl,
    shutdown: async () => {
      ac.abort();
      await server.finished;
    },
  };
}
