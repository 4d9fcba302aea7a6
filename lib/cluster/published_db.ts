/**
 * A results database that lives on node-local disk while a task writes it, and is published to
 * the shared file system as a consistent snapshot (`VACUUM INTO` a temporary file, then an atomic
 * rename) whenever something worth keeping happened.
 *
 * SQLite must not be written on network file systems: its locks are unreliable there (NFS), or
 * refused (Lustre mounted without `flock`), and WAL mode needs shared memory on one host. So an
 * array task copies its published file to local disk, writes only the local copy, and publishes
 * it after every metric point and run outcome. Readers (the next start of the task, possibly on
 * another node, and `deno task collect`) only ever see complete snapshots.
 *
 * @example
 * ```ts
 * import { PublishedDb } from "./published_db.ts";
 * const dir = Deno.makeTempDirSync();
 * const pdb = PublishedDb.open(`${dir}/task-0.sqlite`, { localDir: Deno.makeTempDirSync() });
 * pdb.db.ensureRun({ hash: "h", seed: 0, config: { env: "heaven-hell-3", algo: "dqn", totalSteps: 9 } });
 * pdb.close(); // publishes, then removes the local copy
 * ```
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { ResultsDb } from "../results/db.ts";

/** Options of {@link PublishedDb.open}. */
export interface PublishedDbOptions {
  /** Node-local folder for the working copy (default $TMPDIR, else /tmp). */
  localDir?: string;
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

function removeDb(path: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) removeQuietly(path + suffix);
}

/** The default node-local folder: $TMPDIR, else /tmp. */
export function localTempDir(): string {
  try {
    return Deno.env.get("TMPDIR") || "/tmp";
  } catch {
    return "/tmp";
  }
}

/** A locally written, atomically published results database (see the module doc). */
export class PublishedDb {
  /** The database to write (the local copy). */
  readonly db: ResultsDb;
  /** Path of the local working copy. */
  readonly local: string;
  /** Path of the published snapshot on the shared file system. */
  readonly shared: string;
  #conn: DatabaseSync;
  #closed = false;

  private constructor(db: ResultsDb, local: string, shared: string) {
    this.db = db;
    this.local = local;
    this.shared = shared;
    this.#conn = new DatabaseSync(local);
  }

  /**
   * Copy the published snapshot at `shared` (if any) to a fresh local file and open it; a new
   * database when nothing was published yet. Throws when `shared` is not a results database.
   */
  static open(shared: string, options: PublishedDbOptions = {}): PublishedDb {
    const dir = (options.localDir ?? localTempDir()).replace(/\/+$/, "") || "/";
    Deno.mkdirSync(dir, { recursive: true });
    const base = shared.slice(shared.lastIndexOf("/") + 1).replace(/\.sqlite$/, "");
    const local = `${dir}/adqn-${base}-${Deno.pid}-${Date.now()}.sqlite`;
    removeDb(local);
    let published = true;
    try {
      Deno.copyFileSync(shared, local);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      published = false;
    }
    let db: ResultsDb;
    try {
      db = ResultsDb.open(local, { create: !published });
    } catch (e) {
      removeDb(local);
      throw new Error(`${shared}: ${(e as Error).message}`);
    }
    const pdb = new PublishedDb(db, local, shared);
    if (!published) pdb.publish();
    return pdb;
  }

  /** Publish a consistent snapshot of the local copy to the shared path (atomic rename). */
  publish(): void {
    if (this.#closed) throw new Error(`${this.shared}: publish after close`);
    const tmp = `${this.shared}.${Deno.pid}.tmp`;
    removeQuietly(tmp);
    this.#conn.exec(`VACUUM INTO '${tmp.replaceAll("'", "''")}'`);
    Deno.renameSync(tmp, this.shared);
  }

  /** Publish a last time (unless `publish` is false), close, and remove the local copy. */
  close(publish = true): void {
    if (this.#closed) return;
    try {
      if (publish) this.publish();
    } finally {
      this.#closed = true;
      this.#conn.close();
      this.db.close();
      removeDb(this.local);
    }
  }
}
