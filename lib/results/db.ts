/**
 * The results database: one SQLite file (built-in `node:sqlite`, WAL mode) holding every training
 * run of the experiments, its full configuration, its status and lease, and its metric points.
 *
 * Runs are keyed by (config hash, seed). A worker *claims* a run in one `BEGIN IMMEDIATE`
 * transaction that records its owner (host, pid, process start time) and a heartbeat; a claim on a
 * running run succeeds only when its lease is stale: the heartbeat is older than the lease timeout,
 * or the owner ran on this host and its process is gone. A crashed or killed worker therefore never
 * blocks its run for long, and two workers never hold the same run.
 *
 * Opening a file that is not one of ours (not SQLite, corrupt, or another application's schema)
 * throws {@link ResultsDbError} and leaves the file untouched: it is first opened read-only.
 *
 * @example Record a run and its metrics
 * ```ts
 * import { ResultsDb, currentOwner } from "./db.ts";
 * const dir = Deno.makeTempDirSync();
 * const db = ResultsDb.open(`${dir}/results.sqlite`);
 * const run = db.ensureRun({ hash: "abc", seed: 1, config: { env: "heaven-hell-3", algo: "dqn", seed: 1, totalSteps: 20 } });
 * const claimed = db.claim({ owner: currentOwner(), ids: [run.id] });
 * db.upsertMetrics(run.id, [{ envStep: 10, episodes: 2, avgReturn: 0.5, epsilon: 1, lossQ: 0, lossU: 0, trainedSteps: 0, wallSeconds: 0.1 }], claimed!.owner!);
 * db.finish(run.id, claimed!.owner!);
 * console.log(db.getRun(run.id)?.status); // "finished"
 * db.close();
 * ```
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { existsSync } from "../files.ts";
import { processAlive } from "./process.ts";
import type { LeaseOwner, MachineInfo } from "./provenance.ts";
import { type MetricRecord, ResultsDbError, type RunRecord, type RunStatus } from "./records.ts";
import {
  createNew,
  metricDetailArgs,
  migrate,
  nullable,
  openReadOnly,
  type Row,
  rowToMetric,
  rowToRun,
  UPSERT_METRIC_SQL,
  validateExisting,
} from "./schema.ts";
export { processAlive, processStartTime, processStat } from "./process.ts";
export * from "./records.ts";
export * from "./provenance.ts";
export {
  APPLICATION_ID,
  checkResultsDb,
  metricDetailArgs,
  openReadOnly,
  SCHEMA_VERSION,
  UPSERT_METRIC_SQL,
} from "./schema.ts";

/** Default database file, relative to the working directory. */
export const DEFAULT_DB_PATH = "data/results.sqlite";
/** Default lease timeout: a run whose heartbeat is older than this may be taken over. */
export const DEFAULT_LEASE_TIMEOUT_MS = 5 * 60_000;

/** Options of {@link ResultsDb.open}. */
export interface OpenOptions {
  /** Create the file if it does not exist (default true). */
  create?: boolean;
  /** Open read-only (default false); implies create false. */
  readOnly?: boolean;
  /** Milliseconds to wait for another writer (default 30000). */
  busyTimeoutMs?: number;
}

/** What a run needs to be registered. */
export interface RunSpec {
  /** Configuration hash (seed excluded). */
  hash: string;
  /** Seed. */
  seed: number;
  /** The full configuration; must hold env, algo and totalSteps. */
  config: Record<string, unknown> & { env: string; algo: string };
  /** Optional label such as "quick:1a". */
  label?: string;
  /** Checkpoint file to record. */
  checkpointPath?: string;
}

/** Options of {@link ResultsDb.claim}. */
export interface ClaimOptions {
  /** The claiming process. */
  owner: LeaseOwner;
  /** Only consider these run ids (default: every run). */
  ids?: readonly number[];
  /** Heartbeats older than this make a lease stale (default {@link DEFAULT_LEASE_TIMEOUT_MS}). */
  leaseTimeoutMs?: number;
  /** Also claim failed runs (default false). */
  retryFailed?: boolean;
  /** Code version to record. */
  codeVersion?: string | null;
  /** Machine to record. */
  machine?: MachineInfo;
  /** Clock for tests, ms since the epoch. */
  now?: number;
}

/** The results database. Open with {@link ResultsDb.open}; close with {@link ResultsDb.close}. */
export class ResultsDb {
  /** Path of the database file. */
  readonly path: string;
  /** Whether the database was opened read-only. */
  readonly readOnly: boolean;
  #db: DatabaseSync;

  private constructor(path: string, db: DatabaseSync, readOnly: boolean) {
    this.path = path;
    this.#db = db;
    this.readOnly = readOnly;
  }

  /**
   * Open (and, unless told otherwise, create) a results database. Throws {@link ResultsDbError}
   * without touching the file when it is not one of ours.
   */
  static open(path: string = DEFAULT_DB_PATH, options: OpenOptions = {}): ResultsDb {
    const readOnly = options.readOnly ?? false;
    const create = !readOnly && (options.create ?? true);
    if (!existsSync(path)) {
      if (!create) throw new ResultsDbError(`results database ${path} does not exist`);
      createNew(path);
    }
    validateExisting(path);
    const db = readOnly ? openReadOnly(path) : new DatabaseSync(path);
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 30_000))}`);
    if (!readOnly) {
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
    }
    db.exec("PRAGMA foreign_keys = ON");
    if (!readOnly) migrate(db);
    return new ResultsDb(path, db, readOnly);
  }

  /** Close the database. */
  close(): void {
    this.#db.close();
  }

  /** The meta table as an object. */
  meta(): Record<string, string> {
    return Object.fromEntries(
      this.#db.prepare("SELECT key, value FROM meta").all().map((r) => [
        String((r as Row).key),
        String((r as Row).value),
      ]),
    );
  }

  #tx<T>(fn: () => T, immediate = true): T {
    this.#db.exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN");
    try {
      const out = fn();
      this.#db.exec("COMMIT");
      return out;
    } catch (e) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* already rolled back */ }
      throw e;
    }
  }

  /** Register a run if (hash, seed) is new; return the stored run either way. */
  ensureRun(spec: RunSpec): RunRecord {
    const c = spec.config;
    if (typeof c.env !== "string" || typeof c.algo !== "string") {
      throw new Error("ensureRun: config must hold string fields env and algo");
    }
    const total = Number(c.totalSteps ?? 0);
    this.#db.prepare(
      `INSERT INTO runs (config_hash, seed, env, algo, config, total_steps, label, created_at,
         checkpoint_path)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (config_hash, seed) DO NOTHING`,
    ).run(
      spec.hash,
      spec.seed,
      c.env,
      c.algo,
      JSON.stringify(c),
      Number.isFinite(total) ? total : 0,
      spec.label ?? "",
      new Date().toISOString(),
      spec.checkpointPath ?? null,
    );
    const run = this.findRun(spec.hash, spec.seed)!;
    if (spec.checkpointPath && run.checkpointPath === null) {
      this.setCheckpointPath(run.id, spec.checkpointPath);
      run.checkpointPath = spec.checkpointPath;
    }
    return run;
  }

  /** Record the checkpoint file of a run. */
  setCheckpointPath(id: number, path: string): void {
    this.#db.prepare("UPDATE runs SET checkpoint_path = ? WHERE id = ?").run(path, id);
  }

  /** The run with this id, if any. */
  getRun(id: number): RunRecord | undefined {
    const r = this.#db.prepare("SELECT * FROM runs WHERE id = ?").get(id);
    return r ? rowToRun(r as Row) : undefined;
  }

  /** The run keyed by (hash, seed), if any. */
  findRun(hash: string, seed: number): RunRecord | undefined {
    const r = this.#db.prepare("SELECT * FROM runs WHERE config_hash = ? AND seed = ?").get(
      hash,
      seed,
    );
    return r ? rowToRun(r as Row) : undefined;
  }

  /** Runs matching every given filter, ordered by id. */
  listRuns(
    filter: { env?: string; algo?: string; status?: RunStatus; ids?: readonly number[] } = {},
  ): RunRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.env !== undefined) (where.push("env = ?"), args.push(filter.env));
    if (filter.algo !== undefined) (where.push("algo = ?"), args.push(filter.algo));
    if (filter.status !== undefined) (where.push("status = ?"), args.push(filter.status));
    if (filter.ids !== undefined) {
      where.push("id IN (SELECT value FROM json_each(?))");
      args.push(JSON.stringify(filter.ids));
    }
    const sql = `SELECT * FROM runs ${where.length ? "WHERE " + where.join(" AND ") : ""}
      ORDER BY id`;
    return this.#db.prepare(sql).all(...args).map((r) => rowToRun(r as Row));
  }

  /** Counts of runs by status among `ids` (every run when omitted). */
  statusCounts(ids?: readonly number[]): Record<RunStatus, number> {
    const out: Record<RunStatus, number> = { queued: 0, running: 0, finished: 0, failed: 0 };
    const sql = ids
      ? "SELECT status, COUNT(*) AS n FROM runs WHERE id IN (SELECT value FROM json_each(?)) GROUP BY status"
      : "SELECT status, COUNT(*) AS n FROM runs GROUP BY status";
    const rows = ids ? this.#db.prepare(sql).all(JSON.stringify(ids)) : this.#db.prepare(sql).all();
    for (const r of rows) out[(r as Row).status as RunStatus] = Number((r as Row).n);
    return out;
  }

  /** Whether a run's lease may be taken by `owner` now. */
  #claimable(r: Row, owner: LeaseOwner, timeoutMs: number, now: number, retryFailed: boolean) {
    const status = r.status as RunStatus;
    if (status === "queued") return true;
    if (status === "failed") return retryFailed;
    if (status !== "running") return false;
    if (r.owner === owner.id) return true;
    const hb = r.heartbeat_ms === null ? 0 : Number(r.heartbeat_ms);
    if (now - hb > timeoutMs) return true;
    return r.owner_host === owner.host &&
      !processAlive(Number(r.owner_pid), String(r.owner_start ?? ""));
  }

  /**
   * Atomically claim one run (queued, failed if asked, or running with a stale lease), preferring
   * interrupted runs, then the lowest id. Returns the claimed run, or undefined when none is free.
   */
  claim(options: ClaimOptions): RunRecord | undefined {
    const now = options.now ?? Date.now();
    const timeout = options.leaseTimeoutMs ?? DEFAULT_LEASE_TIMEOUT_MS;
    const owner = options.owner;
    return this.#tx(() => {
      const args: string[] = [];
      let where = `status IN ('queued', 'running'${options.retryFailed ? ", 'failed'" : ""})`;
      if (options.ids) {
        where += " AND id IN (SELECT value FROM json_each(?))";
        args.push(JSON.stringify(options.ids));
      }
      const rows = this.#db.prepare(
        `SELECT id, status, owner, owner_host, owner_pid, owner_start, heartbeat_ms FROM runs
         WHERE ${where} ORDER BY (status = 'running') DESC, (started_at IS NULL), id`,
      ).all(...args) as Row[];
      const pick = rows.find((r) =>
        this.#claimable(r, owner, timeout, now, options.retryFailed ?? false)
      );
      if (!pick) return undefined;
      this.#db.prepare(
        `UPDATE runs SET status = 'running', owner = ?, owner_host = ?, owner_pid = ?,
           owner_start = ?, heartbeat_ms = ?, attempts = attempts + 1,
           started_at = COALESCE(started_at, ?), ended_at = NULL, error = NULL,
           code_version = ?, machine = ?
         WHERE id = ?`,
      ).run(
        owner.id,
        owner.host,
        owner.pid,
        owner.start,
        now,
        new Date(now).toISOString(),
        options.codeVersion ?? null,
        options.machine ? JSON.stringify(options.machine) : null,
        Number(pick.id),
      );
      return this.getRun(Number(pick.id));
    });
  }

  /** Ids (among `ids`, default all) that `owner` could claim now, without claiming them. */
  claimableIds(
    options: {
      owner: LeaseOwner;
      ids?: readonly number[];
      leaseTimeoutMs?: number;
      retryFailed?: boolean;
    },
  ): number[] {
    const now = Date.now();
    const timeout = options.leaseTimeoutMs ?? DEFAULT_LEASE_TIMEOUT_MS;
    const args: string[] = [];
    let where = "status IN ('queued', 'running', 'failed')";
    if (options.ids) {
      where += " AND id IN (SELECT value FROM json_each(?))";
      args.push(JSON.stringify(options.ids));
    }
    const rows = this.#db.prepare(
      `SELECT id, status, owner, owner_host, owner_pid, owner_start, heartbeat_ms FROM runs
       WHERE ${where} ORDER BY id`,
    ).all(...args) as Row[];
    return rows.filter((r) =>
      this.#claimable(r, options.owner, timeout, now, options.retryFailed ?? false)
    ).map((r) => Number(r.id));
  }

  /** Why `owner` cannot claim run `id` now (a sentence), or null when it can. */
  claimBlocker(
    id: number,
    owner: LeaseOwner,
    leaseTimeoutMs: number = DEFAULT_LEASE_TIMEOUT_MS,
  ): string | null {
    const r = this.#db.prepare("SELECT * FROM runs WHERE id = ?").get(id) as Row | undefined;
    if (!r) return `run ${id} does not exist`;
    if (this.#claimable(r, owner, leaseTimeoutMs, Date.now(), true)) return null;
    if (r.status === "finished") return `run ${id} is already finished`;
    const age = ((Date.now() - Number(r.heartbeat_ms)) / 1000).toFixed(0);
    return `run ${id} is being trained by ${r.owner} (heartbeat ${age} s ago; the lease ` +
      `expires after ${(leaseTimeoutMs / 1000).toFixed(0)} s without one)`;
  }

  #own(id: number, owner: string): void {
    const r = this.#db.prepare("SELECT status, owner FROM runs WHERE id = ?").get(id) as
      | Row
      | undefined;
    if (!r || r.status !== "running" || r.owner !== owner) {
      throw new ResultsDbError(
        `lease on run ${id} lost: it is ${r ? `${r.status} (owner ${r.owner})` : "gone"}, ` +
          `not held by ${owner}`,
      );
    }
  }

  /** Refresh a lease (and record progress); false when the lease is no longer ours. */
  heartbeat(
    id: number,
    owner: string,
    progress?: { envSteps?: number; episodes?: number },
    now: number = Date.now(),
  ): boolean {
    const res = this.#db.prepare(
      `UPDATE runs SET heartbeat_ms = ?, env_steps = COALESCE(?, env_steps),
         episodes = COALESCE(?, episodes)
       WHERE id = ? AND owner = ? AND status = 'running'`,
    ).run(now, progress?.envSteps ?? null, progress?.episodes ?? null, id, owner);
    return Number(res.changes) === 1;
  }

  /**
   * Insert or replace metric points of a run (keyed by envStep: a resumed run re-emits points).
   * With `owner`, also checks and refreshes the lease, throwing {@link ResultsDbError} if lost.
   */
  upsertMetrics(id: number, points: readonly MetricRecord[], owner?: string): void {
    this.#tx(() => {
      if (owner !== undefined) this.#own(id, owner);
      const put = this.#db.prepare(UPSERT_METRIC_SQL);
      let last: MetricRecord | undefined;
      for (const p of points) {
        put.run(
          id,
          p.envStep,
          nullable(p.avgReturn),
          p.episodes,
          nullable(p.epsilon),
          nullable(p.lossQ),
          nullable(p.lossU),
          p.trainedSteps,
          nullable(p.wallSeconds),
          ...metricDetailArgs(p),
        );
        if (!last || p.envStep >= last.envStep) last = p;
      }
      if (owner !== undefined) {
        this.#db.prepare(
          `UPDATE runs SET heartbeat_ms = ?, env_steps = MAX(env_steps, ?),
             episodes = MAX(episodes, ?) WHERE id = ?`,
        ).run(Date.now(), last?.envStep ?? 0, last?.episodes ?? 0, id);
      }
    });
  }

  /** Metric points of a run, by envStep. */
  metrics(id: number): MetricRecord[] {
    return this.#db.prepare("SELECT * FROM metrics WHERE run_id = ? ORDER BY env_step").all(id)
      .map((r) => rowToMetric(r as Row));
  }

  /** Metric points of many runs at once, by run id. */
  metricsOf(ids: readonly number[]): Map<number, MetricRecord[]> {
    const out = new Map<number, MetricRecord[]>(ids.map((id) => [id, []]));
    const rows = this.#db.prepare(
      `SELECT * FROM metrics WHERE run_id IN (SELECT value FROM json_each(?))
       ORDER BY run_id, env_step`,
    ).all(JSON.stringify(ids)) as Row[];
    for (const r of rows) out.get(Number(r.run_id))!.push(rowToMetric(r));
    return out;
  }

  /** Delete every metric point of a run (used when it restarts from scratch). */
  clearMetrics(id: number, owner?: string): void {
    this.#tx(() => {
      if (owner !== undefined) this.#own(id, owner);
      this.#db.prepare("DELETE FROM metrics WHERE run_id = ?").run(id);
      this.#db.prepare("UPDATE runs SET env_steps = 0, episodes = 0 WHERE id = ?").run(id);
    });
  }

  /** Mark a held run finished. */
  finish(
    id: number,
    owner: string,
    summary: { envSteps?: number; episodes?: number; wallSeconds?: number } = {},
  ): void {
    this.#tx(() => {
      this.#own(id, owner);
      this.#db.prepare(
        `UPDATE runs SET status = 'finished', ended_at = ?, heartbeat_ms = NULL, error = NULL,
           env_steps = COALESCE(?, env_steps), episodes = COALESCE(?, episodes),
           wall_seconds = COALESCE(?, wall_seconds) WHERE id = ?`,
      ).run(
        new Date().toISOString(),
        summary.envSteps ?? null,
        summary.episodes ?? null,
        summary.wallSeconds ?? null,
        id,
      );
    });
  }

  /** Mark a held run failed with its error text. */
  fail(id: number, owner: string, error: string): void {
    this.#tx(() => {
      this.#own(id, owner);
      this.#db.prepare(
        `UPDATE runs SET status = 'failed', ended_at = ?, heartbeat_ms = NULL, error = ?
         WHERE id = ?`,
      ).run(new Date().toISOString(), error, id);
    });
  }

  /** Give a held run back (interrupted): it returns to the queue and resumes from its checkpoint. */
  release(id: number, owner: string, note = "interrupted"): void {
    this.#tx(() => {
      this.#own(id, owner);
      this.#db.prepare(
        "UPDATE runs SET status = 'queued', heartbeat_ms = NULL, error = ? WHERE id = ?",
      ).run(note, id);
    });
  }

  /** Put failed runs among `ids` back in the queue; returns how many. */
  requeueFailed(ids: readonly number[]): number {
    const res = this.#db.prepare(
      `UPDATE runs SET status = 'queued', ended_at = NULL
       WHERE status = 'failed' AND id IN (SELECT value FROM json_each(?))`,
    ).run(JSON.stringify(ids));
    return Number(res.changes);
  }
}
