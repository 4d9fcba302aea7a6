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
import { pathToFileURL } from "node:url";
import { existsSync } from "../files.ts";
import type { MetricPoint } from "../train/loop.ts";
import { processAlive, processStartTime } from "./process.ts";
export { processAlive, processStartTime, processStat } from "./process.ts";

/** Value of the `application` key in the meta table of every results database. */
export const APPLICATION_ID = "adqn-results";
/**
 * The schema version this code writes and reads. Version 2 added the metric columns of outcome
 * shares, mean episode length and greedy evaluation; a version-1 file opened for writing is
 * migrated in place (the columns added, NULL in old rows); opened read-only it is read as it is.
 */
export const SCHEMA_VERSION = 2;
/** Default database file, relative to the working directory. */
export const DEFAULT_DB_PATH = "data/results.sqlite";
/** Default lease timeout: a run whose heartbeat is older than this may be taken over. */
export const DEFAULT_LEASE_TIMEOUT_MS = 5 * 60_000;

/** Status of a run: queued (never started or interrupted), running (leased), finished, failed. */
export type RunStatus = "queued" | "running" | "finished" | "failed";

/** All run statuses. */
export const RUN_STATUSES: readonly RunStatus[] = ["queued", "running", "finished", "failed"];

/** Error raised for a file that is not a usable results database, or a lost lease. */
export class ResultsDbError extends Error {
  /** Make an error with a message that names the file and the problem. */
  constructor(message: string) {
    super(message);
    this.name = "ResultsDbError";
  }
}

/**
 * One logged point of a run: exactly the trainer's {@link MetricPoint} (lib/train/loop.ts), one
 * type for training and the database (avgReturn NaN before any episode, lossU 0 for DQN).
 */
export type MetricRecord = MetricPoint;

/** Who holds a lease: a process on a host. */
export interface LeaseOwner {
  /** Unique token "host:pid:start" stored in the run row. */
  id: string;
  /** Host name. */
  host: string;
  /** Process id. */
  pid: number;
  /** Process start time (Linux clock ticks since boot), "" where unknown. */
  start: string;
}

/** The machine a run was trained on. */
export interface MachineInfo {
  /** Host name. */
  hostname: string;
  /** Operating system and kernel release. */
  os: string;
  /** CPU model name, "" where unknown. */
  cpu: string;
  /** Logical cores. */
  cores: number;
  /** Deno version. */
  deno: string;
  /** Tensor backend the run was trained on (e.g. "wasm-blas"), where the runner knows it. */
  backend?: string;
  /** OpenBLAS kernels of a native-BLAS backend (e.g. "Haswell"; see `Blas.kernels`). */
  blasKernels?: string;
}

/** A run as stored. */
export interface RunRecord {
  /** Row id. */
  id: number;
  /** Hash of the configuration without its seed. */
  hash: string;
  /** Seed. */
  seed: number;
  /** Environment id. */
  env: string;
  /** Algorithm id. */
  algo: string;
  /** The full configuration (JSON object, seed included). */
  config: Record<string, unknown>;
  /** Environment steps the run is meant to train for. */
  totalSteps: number;
  /** Free label (for example "quick:1a"), "" when none. */
  label: string;
  /** Current status. */
  status: RunStatus;
  /** Lease owner token while running (and the last owner afterwards); null if never claimed. */
  owner: string | null;
  /** Last heartbeat, ms since the epoch; null when not running. */
  heartbeatMs: number | null;
  /** Times the run was claimed. */
  attempts: number;
  /** ISO time the row was created. */
  createdAt: string;
  /** ISO time of the first claim; null if never started. */
  startedAt: string | null;
  /** ISO time it finished or failed; null otherwise. */
  endedAt: string | null;
  /** Error text of a failed run; a note for an interrupted one; null otherwise. */
  error: string | null;
  /** Code version (git commit) of the last claim. */
  codeVersion: string | null;
  /** Machine of the last claim. */
  machine: MachineInfo | null;
  /** Checkpoint file of the run. */
  checkpointPath: string | null;
  /** Latest reported environment steps. */
  envSteps: number;
  /** Latest reported completed episodes. */
  episodes: number;
  /** Training wall-clock seconds of the final attempt (from the trainer). */
  wallSeconds: number | null;
}

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

const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  config_hash TEXT NOT NULL,
  seed INTEGER NOT NULL,
  env TEXT NOT NULL,
  algo TEXT NOT NULL,
  config TEXT NOT NULL,
  total_steps INTEGER NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'finished', 'failed')),
  owner TEXT,
  owner_host TEXT,
  owner_pid INTEGER,
  owner_start TEXT,
  heartbeat_ms INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  started_at TEXT,
  ended_at TEXT,
  error TEXT,
  code_version TEXT,
  machine TEXT,
  checkpoint_path TEXT,
  env_steps INTEGER NOT NULL DEFAULT 0,
  episodes INTEGER NOT NULL DEFAULT 0,
  wall_seconds REAL,
  UNIQUE (config_hash, seed)
);
CREATE INDEX runs_status ON runs (status);
CREATE INDEX runs_env_algo ON runs (env, algo);
CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  env_step INTEGER NOT NULL,
  avg_return REAL,
  episodes INTEGER NOT NULL,
  epsilon REAL,
  loss_q REAL,
  loss_u REAL,
  trained_steps INTEGER NOT NULL,
  wall_seconds REAL,
  PRIMARY KEY (run_id, env_step)
) WITHOUT ROWID;
`;

/** The metric columns of schema version 2 (all nullable REAL) and their MetricPoint fields. */
const DETAIL_COLUMNS = [
  ["share_positive", "sharePositive"],
  ["share_negative", "shareNegative"],
  ["share_zero", "shareZero"],
  ["share_truncated", "shareTruncated"],
  ["avg_length", "avgLength"],
  ["eval_return", "evalReturn"],
  ["eval_length", "evalLength"],
] as const;

/** Schema version 1 → 2: add the detail columns to the metrics table. */
const MIGRATE_1_TO_2 = DETAIL_COLUMNS.map(([col]) => `ALTER TABLE metrics ADD COLUMN ${col} REAL;`)
  .join("\n");

/** The detail columns' values of a point, in {@link UPSERT_METRIC_SQL}'s order (NaN, absent: NULL). */
export function metricDetailArgs(p: MetricRecord): (number | null)[] {
  return DETAIL_COLUMNS.map(([, key]) => nullable(p[key] ?? NaN));
}

type Row = Record<string, unknown>;

function num(v: unknown): number {
  return v === null || v === undefined ? NaN : Number(v);
}

function nullable(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function rowToRun(r: Row): RunRecord {
  return {
    id: Number(r.id),
    hash: String(r.config_hash),
    seed: Number(r.seed),
    env: String(r.env),
    algo: String(r.algo),
    config: JSON.parse(String(r.config)),
    totalSteps: Number(r.total_steps),
    label: String(r.label ?? ""),
    status: r.status as RunStatus,
    owner: (r.owner as string | null) ?? null,
    heartbeatMs: r.heartbeat_ms === null ? null : Number(r.heartbeat_ms),
    attempts: Number(r.attempts),
    createdAt: String(r.created_at),
    startedAt: (r.started_at as string | null) ?? null,
    endedAt: (r.ended_at as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    codeVersion: (r.code_version as string | null) ?? null,
    machine: r.machine ? JSON.parse(String(r.machine)) : null,
    checkpointPath: (r.checkpoint_path as string | null) ?? null,
    envSteps: Number(r.env_steps),
    episodes: Number(r.episodes),
    wallSeconds: r.wall_seconds === null ? null : Number(r.wall_seconds),
  };
}

function rowToMetric(r: Row): MetricRecord {
  return {
    envStep: Number(r.env_step),
    episodes: Number(r.episodes),
    avgReturn: num(r.avg_return),
    epsilon: num(r.epsilon),
    lossQ: num(r.loss_q),
    lossU: num(r.loss_u),
    trainedSteps: Number(r.trained_steps),
    wallSeconds: num(r.wall_seconds),
    // NaN where absent: rows written before version 2 (or NULL columns).
    ...Object.fromEntries(DETAIL_COLUMNS.map(([col, key]) => [key, num(r[col])])),
  };
}

const SQLITE_MAGIC = "SQLite format 3\0";

/**
 * Insert or replace one metric point; parameters: run id, env step, avg return, episodes,
 * epsilon, loss Q, loss U, trained steps, wall seconds, then {@link metricDetailArgs}. Shared with the merge of cluster databases
 * (lib/cluster/collect.ts).
 */
export const UPSERT_METRIC_SQL =
  `INSERT INTO metrics (run_id, env_step, avg_return, episodes, epsilon, loss_q, loss_u,
     trained_steps, wall_seconds, ${DETAIL_COLUMNS.map(([col]) => col).join(", ")})
   VALUES (${Array(9 + DETAIL_COLUMNS.length).fill("?").join(", ")})
   ON CONFLICT (run_id, env_step) DO UPDATE SET avg_return = excluded.avg_return,
     episodes = excluded.episodes, epsilon = excluded.epsilon, loss_q = excluded.loss_q,
     loss_u = excluded.loss_u, trained_steps = excluded.trained_steps,
     wall_seconds = excluded.wall_seconds, ${
    DETAIL_COLUMNS.map(([col]) => `${col} = excluded.${col}`).join(", ")
  }`;

/** The current process as a lease owner. */
export function currentOwner(): LeaseOwner {
  const host = Deno.hostname();
  const pid = Deno.pid;
  const start = Deno.build.os === "linux" ? processStartTime(pid) ?? "" : "";
  return { id: `${host}:${pid}:${start}`, host, pid, start };
}

/** This machine, for the runs table. */
export function machineInfo(): MachineInfo {
  let cpu = "";
  try {
    const m = Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.+)$/m);
    if (m) cpu = m[1].trim();
  } catch { /* not Linux */ }
  return {
    hostname: Deno.hostname(),
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    cpu,
    cores: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
  };
}

let cachedVersion: string | null | undefined;

/** The git commit of the code (with "-dirty" for local changes), or null outside a repository. */
export function codeVersion(): string | null {
  if (cachedVersion !== undefined) return cachedVersion;
  const dir = new URL(".", import.meta.url);
  if (dir.protocol !== "file:") return (cachedVersion = null);
  const git = (args: string[]) => {
    try {
      const out = new Deno.Command("git", {
        args,
        cwd: dir,
        stdout: "piped",
        stderr: "null",
        stdin: "null",
      }).outputSync();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
    } catch {
      return null;
    }
  };
  const head = git(["rev-parse", "HEAD"]);
  if (head === null) return (cachedVersion = null);
  const dirty = git(["status", "--porcelain", "--untracked-files=no"]);
  return (cachedVersion = dirty ? `${head}-dirty` : head);
}

/**
 * Check without writing anything that `path` is usable as a results database: false when it does
 * not exist (it would be created), true when it is one of ours; throws {@link ResultsDbError}
 * otherwise (not a file, empty, not SQLite, corrupt, foreign schema, newer schema).
 */
export function checkResultsDb(path: string): boolean {
  if (!existsSync(path)) return false;
  validateExisting(path);
  return true;
}

/** Check that `path` is a results database of ours without writing to it. */
function validateExisting(path: string): void {
  const info = Deno.statSync(path);
  if (!info.isFile) throw new ResultsDbError(`results database ${path} is not a regular file`);
  const notOurs = (why: string) =>
    new ResultsDbError(
      `${path} is not a results database (${why}); it was left untouched. ` +
        `Pass another path (--db) or move the file away.`,
    );
  if (info.size === 0) throw notOurs("the file is empty");
  const head = new Uint8Array(16);
  const f = Deno.openSync(path, { read: true });
  try {
    f.readSync(head);
  } finally {
    f.close();
  }
  if (new TextDecoder().decode(head) !== SQLITE_MAGIC) throw notOurs("not an SQLite file");
  let db: DatabaseSync | undefined;
  try {
    db = openReadOnly(path);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()
      .map((r) => String((r as Row).name));
    if (!tables.includes("meta")) {
      throw notOurs(`no meta table; tables: ${tables.join(", ") || "none"}`);
    }
    const meta = Object.fromEntries(
      db.prepare("SELECT key, value FROM meta").all().map((r) => [
        String((r as Row).key),
        String((r as Row).value),
      ]),
    );
    if (meta.application !== APPLICATION_ID) {
      throw notOurs(`meta.application is ${JSON.stringify(meta.application ?? null)}`);
    }
    const version = Number(meta.schema_version);
    if (!Number.isInteger(version) || version < 1) {
      throw notOurs(`bad schema_version ${JSON.stringify(meta.schema_version)}`);
    }
    if (version > SCHEMA_VERSION) {
      throw new ResultsDbError(
        `${path} has schema version ${version}, newer than this code's ${SCHEMA_VERSION}; ` +
          `update the code (the file was left untouched)`,
      );
    }
    for (const t of ["runs", "metrics"]) {
      if (!tables.includes(t)) throw notOurs(`missing table ${t}`);
    }
    const check = db.prepare("PRAGMA quick_check").all().map((r) =>
      String(Object.values(r as Row)[0])
    );
    if (check.length !== 1 || check[0] !== "ok") {
      throw notOurs(`corrupt: ${check.slice(0, 3).join("; ")}`);
    }
  } catch (e) {
    if (e instanceof ResultsDbError) throw e;
    throw notOurs(`SQLite: ${(e as Error).message}`);
  } finally {
    db?.close();
  }
}

/**
 * Open an existing database for reading without creating anything beside it: SQLite makes `-wal`
 * and `-shm` files for any reader of a WAL database, so when no `-wal` file exists (no writer, no
 * unfinished transaction) the file is opened `immutable`; otherwise plainly read-only (the files
 * are there already).
 */
export function openReadOnly(path: string): DatabaseSync {
  if (existsSync(`${path}-wal`)) return new DatabaseSync(path, { readOnly: true });
  const url = pathToFileURL(path);
  url.search = "?immutable=1";
  try {
    return new DatabaseSync(url, { readOnly: true });
  } catch {
    // Deno's node:sqlite opens URIs only with full permissions (-A); under narrower ones
    // (--allow-read --allow-write) a plain read-only open is the best it allows. That may leave
    // -wal/-shm files beside a WAL database, but never writes its contents.
    return new DatabaseSync(path, { readOnly: true });
  }
}

/** Create a fresh database at `path` atomically (temporary file, then a hard link). */
function createNew(path: string): void {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) || "/" : ".";
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${Deno.pid}.${Date.now()}.init.tmp`;
  const db = new DatabaseSync(tmp);
  try {
    db.exec("BEGIN");
    db.exec(SCHEMA);
    db.exec(MIGRATE_1_TO_2);
    const put = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
    put.run("application", APPLICATION_ID);
    put.run("schema_version", String(SCHEMA_VERSION));
    put.run("created_at", new Date().toISOString());
    db.exec("COMMIT");
  } finally {
    db.close();
  }
  try {
    Deno.linkSync(tmp, path);
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) {
      Deno.removeSync(tmp);
      throw e;
    }
    // Someone else created it first: use theirs (validated by the caller).
  }
  Deno.removeSync(tmp);
}

/** Bring a writable database of an older schema version up to {@link SCHEMA_VERSION}. */
function migrate(db: DatabaseSync): void {
  const version = () =>
    Number((db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as Row).value);
  if (version() >= SCHEMA_VERSION) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    // Re-read under the write lock: another process may have migrated it meanwhile.
    if (version() === 1) {
      db.exec(MIGRATE_1_TO_2);
      db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(
        String(SCHEMA_VERSION),
      );
    }
    db.exec("COMMIT");
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
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
