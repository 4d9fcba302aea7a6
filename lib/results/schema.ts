/**
 * The on-disk format of the results database: its SQL schema and version, the migration from
 * version 1, the metric upsert shared with the merge of cluster databases, the conversion of rows
 * to records, and the checks that a file is one of ours before anything writes to it.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { pathToFileURL } from "node:url";
import { existsSync } from "../files.ts";
import { type MetricRecord, ResultsDbError, type RunRecord, type RunStatus } from "./records.ts";

/** Value of the `application` key in the meta table of every results database. */
export const APPLICATION_ID = "adqn-results";
/**
 * The schema version this code writes and reads. Version 2 added the metric columns of outcome
 * shares, mean episode length and greedy evaluation; a version-1 file opened for writing is
 * migrated in place (the columns added, NULL in old rows); opened read-only it is read as it is.
 */
export const SCHEMA_VERSION = 2;

/** The tables of schema version 1 (the version-2 columns are added by {@link MIGRATE_1_TO_2}). */
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

/** A row as node:sqlite returns it. */
export type Row = Record<string, unknown>;

/** A nullable numeric column as a number (NaN for NULL). */
function num(v: unknown): number {
  return v === null || v === undefined ? NaN : Number(v);
}

/** A number for a nullable column (NULL for NaN and infinities). */
export function nullable(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** A row of the runs table as a {@link RunRecord}. */
export function rowToRun(r: Row): RunRecord {
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

/** A row of the metrics table as a {@link MetricRecord}. */
export function rowToMetric(r: Row): MetricRecord {
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

/** The first 16 bytes of every SQLite file. */
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
export function validateExisting(path: string): void {
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
export function createNew(path: string): void {
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
export function migrate(db: DatabaseSync): void {
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
