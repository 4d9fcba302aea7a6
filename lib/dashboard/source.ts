/**
 * The dashboard's read-only view of a results database. Every request opens its own short-lived
 * connection (a fresh snapshot, so the page follows a writer) that can never write: `immutable`
 * when no `-wal` file exists (SQLite would otherwise create `-wal`/`-shm` beside the file), plainly
 * read-only when a writer's `-wal` is there already. Readers of a WAL database never block its
 * writer. The SQL here is fixed; requests only choose run ids, passed as bound parameters.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { CurvePoint } from "../plots/stats.ts";
import { checkResultsDb, openReadOnly, ResultsDbError, type RunStatus } from "../results/db.ts";

/** The columns of a run's series and the metrics column each comes from (fixed SQL). */
const SERIES_COLUMNS = {
  envStep: "env_step",
  avgReturn: "avg_return",
  lossQ: "loss_q",
  lossU: "loss_u",
  epsilon: "epsilon",
} as const;

/** A run's logged series against environment steps (null where not finite: SQLite stores NaN as NULL). */
export type RunSeries = Record<keyof typeof SERIES_COLUMNS, (number | null)[]>;

/** One row of the runs table. */
export interface RunSummary {
  /** Row id. */
  id: number;
  /** Label such as "quick:1c" ("" when none). */
  label: string;
  /** Environment id. */
  env: string;
  /** Algorithm id. */
  algo: string;
  /** Seed. */
  seed: number;
  /** Status. */
  status: RunStatus;
  /** Latest reported environment steps. */
  envSteps: number;
  /** Environment steps the run trains for. */
  totalSteps: number;
  /** Average return of the last logged point (null before any episode). */
  lastReturn: number | null;
  /** Exploration rate of the last logged point. */
  epsilon: number | null;
  /** Tensor backend of the last claim ("" when unknown). */
  backend: string;
  /** Code version of the last claim. */
  codeVersion: string | null;
  /** Learning rate of its configuration (null when absent). */
  lr: number | null;
  /** Episode time limit of its configuration (null when absent). */
  timeLimit: number | null;
  /** Times claimed. */
  attempts: number;
  /** Error text of a failed run. */
  error: string | null;
  /** The run's logging period. */
  logEvery: number;
  /** Last heartbeat, ms since the epoch. */
  heartbeatMs: number | null;
}

type Row = Record<string, unknown>;

const num = (v: unknown): number => (v === null || v === undefined ? NaN : Number(v));
const orNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** A results database read through per-call read-only connections. */
export class DashboardSource {
  /** Path of the database file. */
  readonly path: string;

  /** Check once that `path` is a results database (throws {@link ResultsDbError} otherwise). */
  constructor(path: string) {
    if (!checkResultsDb(path)) throw new ResultsDbError(`results database ${path} does not exist`);
    this.path = path;
  }

  /** Run `fn` on a fresh read-only connection, closed afterwards. */
  read<T>(fn: (db: DatabaseSync) => T): T {
    const db = openReadOnly(this.path);
    try {
      db.exec("PRAGMA busy_timeout = 2000");
      return fn(db);
    } finally {
      db.close();
    }
  }

  /** Every run with its last logged point, ordered by id. */
  runs(db: DatabaseSync): RunSummary[] {
    const rows = db.prepare(
      `SELECT r.id, r.label, r.env, r.algo, r.seed, r.status, r.env_steps, r.total_steps,
         r.machine, r.code_version, r.attempts, r.error, r.heartbeat_ms,
         json_extract(r.config, '$.logEvery') AS log_every,
         json_extract(r.config, '$.lr') AS lr, json_extract(r.config, '$.timeLimit') AS time_limit,
         m.avg_return, m.epsilon
       FROM runs r LEFT JOIN metrics m ON m.run_id = r.id
         AND m.env_step = (SELECT MAX(env_step) FROM metrics WHERE run_id = r.id)
       ORDER BY r.id`,
    ).all() as Row[];
    return rows.map((r) => {
      let backend = "";
      try {
        backend = String(JSON.parse(String(r.machine ?? "null"))?.backend ?? "");
      } catch { /* a machine column we cannot parse shows as unknown */ }
      return {
        id: Number(r.id),
        label: String(r.label),
        env: String(r.env),
        algo: String(r.algo),
        seed: Number(r.seed),
        status: String(r.status) as RunStatus,
        envSteps: Number(r.env_steps),
        totalSteps: Number(r.total_steps),
        lastReturn: orNull(r.avg_return),
        epsilon: orNull(r.epsilon),
        backend,
        codeVersion: r.code_version === null ? null : String(r.code_version),
        lr: orNull(r.lr),
        timeLimit: orNull(r.time_limit),
        attempts: Number(r.attempts),
        error: r.error === null ? null : String(r.error),
        logEvery: Number(r.log_every) || 1,
        heartbeatMs: orNull(r.heartbeat_ms),
      };
    });
  }

  /** The stored configuration of a run, or undefined when there is no such run. */
  config(db: DatabaseSync, id: number): Record<string, unknown> | undefined {
    const r = db.prepare("SELECT config FROM runs WHERE id = ?").get(id) as Row | undefined;
    return r ? JSON.parse(String(r.config)) : undefined;
  }

  /** The logged series of run `id` by envStep, each a column (null where not finite). */
  series(db: DatabaseSync, id: number): RunSeries {
    const cols = Object.entries(SERIES_COLUMNS).map(([k, c]) =>
      `json_group_array(${c} ORDER BY env_step) AS ${k}`
    );
    const r = db.prepare(`SELECT ${cols.join(", ")} FROM metrics WHERE run_id = ?`).get(id) as Row;
    return Object.fromEntries(
      Object.keys(SERIES_COLUMNS).map((k) => [k, JSON.parse(String(r[k]))]),
    ) as RunSeries;
  }

  /**
   * The (envStep, avgReturn) points of the runs `ids`, by run id, by envStep: the overview's
   * curves. SQLite builds one JSON array per run and column, which is several times faster than
   * one JavaScript row object per point (see bench/dashboard_bench.ts).
   */
  curvesOf(db: DatabaseSync, ids: readonly number[]): Map<number, CurvePoint[]> {
    const out = new Map<number, CurvePoint[]>(ids.map((id) => [id, []]));
    const rows = db.prepare(
      `SELECT run_id, json_group_array(env_step ORDER BY env_step) AS x,
         json_group_array(avg_return ORDER BY env_step) AS y
       FROM metrics WHERE run_id IN (SELECT value FROM json_each(?)) GROUP BY run_id`,
    ).all(JSON.stringify(ids)) as Row[];
    for (const r of rows) {
      const x: number[] = JSON.parse(String(r.x));
      const y: (number | null)[] = JSON.parse(String(r.y));
      out.set(Number(r.run_id), x.map((envStep, i) => ({ envStep, avgReturn: num(y[i]) })));
    }
    return out;
  }

  /**
   * A cheap fingerprint of the database content: it changes whenever a metric point, a status or
   * a heartbeat changes, so the page refetches only then.
   */
  fingerprint(db: DatabaseSync): string {
    const m = db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(env_step), 0) AS s FROM metrics")
      .get() as Row;
    const r = db.prepare(
      `SELECT COUNT(*) AS n, COALESCE(SUM(env_steps), 0) AS s, COALESCE(MAX(heartbeat_ms), 0) AS h,
         group_concat(status, '') AS st FROM runs`,
    ).get() as Row;
    return [m.n, m.s, r.n, r.s, r.h, String(r.st ?? "").length, hashText(String(r.st ?? ""))]
      .join(".");
  }
}

function hashText(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h >>> 0;
}
