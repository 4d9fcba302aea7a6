/**
 * Merge the per-task results databases of a sweep into the main results database, idempotently,
 * and report which runs of the sweep are missing, partial or failed.
 *
 * Runs are matched by the results database's key (config hash, seed). For each run of a task
 * database:
 * - not in the main database: it is inserted with all its metric points;
 * - finished in the task database but not in the main one, or further along (more environment
 *   steps) while neither is finished: the main row takes the task's status and progress, and the
 *   task's points replace the main ones at the same step;
 * - otherwise the main row is kept, and only points at steps it lacks are added.
 * Points are never deleted, so merging the same files twice (or in any order) gives the same
 * database. A run left "running" by a killed task is imported as "queued" (it resumes from its
 * checkpoint). A run whose stored configuration differs from the main one under the same key is
 * reported as a conflict and skipped.
 *
 * Source files are never opened in place: each is first copied (with its WAL file) to a temporary
 * folder, so collecting while tasks still write on other nodes never touches their files.
 *
 * @example
 * ```ts
 * import { collect, formatCollectReport } from "./collect.ts";
 * const report = collect({ from: "data/slurm/1a-quick", db: "data/results.sqlite" });
 * console.log(formatCollectReport(report));
 * ```
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import {
  metricDetailArgs,
  type MetricRecord,
  ResultsDb,
  type RunRecord,
  type RunStatus,
  SCHEMA_VERSION,
  UPSERT_METRIC_SQL,
} from "../results/db.ts";
import { canonicalJson } from "../train/config.ts";
import { type PlannedRun, readPlan, runKey, sweepPaths, type SweepPlan } from "./plan.ts";
import { statOrNull } from "../files.ts";

/** The results-database schema version whose tables this module writes directly. */
export const COLLECT_SCHEMA_VERSION = 2;

/** What to do with a task database's run given the main database's row. */
export type MergeDecision = "insert" | "replace" | "keep";

/** The parts of a run that decide a merge. */
export interface MergeSide {
  /** Status. */
  status: RunStatus;
  /** Environment steps reached. */
  envSteps: number;
}

const RANK: Record<RunStatus, number> = { queued: 0, running: 0, failed: 1, finished: 2 };

/**
 * The merge rule (see the module doc): a finished run beats an unfinished one; between two
 * unfinished ones the one further along wins, and at equal progress a failure beats a queued
 * run (so failures are reported); ties keep the main row.
 *
 * @example
 * ```ts
 * import { mergeDecision } from "./collect.ts";
 * const main = { status: "queued" as const, envSteps: 500 };
 * console.log(mergeDecision(main, { status: "finished", envSteps: 1000 })); // replace
 * ```
 */
export function mergeDecision(main: MergeSide | undefined, src: MergeSide): MergeDecision {
  if (main === undefined) return "insert";
  if (main.status === "finished") return "keep";
  if (src.status === "finished") return "replace";
  if (src.envSteps !== main.envSteps) return src.envSteps > main.envSteps ? "replace" : "keep";
  return RANK[src.status] > RANK[main.status] ? "replace" : "keep";
}

/** Counts of one merge. */
export interface MergeStats {
  /** Runs new to the main database. */
  runsAdded: number;
  /** Main rows that took the task's status and progress. */
  runsUpdated: number;
  /** Runs whose main row was kept as it was. */
  runsKept: number;
  /** Metric points added. */
  pointsAdded: number;
  /** Metric points overwritten (same run and step, better source). */
  pointsReplaced: number;
  /** Runs skipped because their configuration differs from the main row's (one line each). */
  conflicts: string[];
}

function emptyStats(): MergeStats {
  return {
    runsAdded: 0,
    runsUpdated: 0,
    runsKept: 0,
    pointsAdded: 0,
    pointsReplaced: 0,
    conflicts: [],
  };
}

function addStats(a: MergeStats, b: MergeStats): void {
  a.runsAdded += b.runsAdded;
  a.runsUpdated += b.runsUpdated;
  a.runsKept += b.runsKept;
  a.pointsAdded += b.pointsAdded;
  a.pointsReplaced += b.pointsReplaced;
  a.conflicts.push(...b.conflicts);
}

type Row = Record<string, unknown>;

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function minIso(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a < b ? a : b;
}

/** The run as it should be stored in the main database (a "running" run becomes "queued"). */
function imported(run: RunRecord, source: string): RunRecord {
  if (run.status !== "running") return run;
  return {
    ...run,
    status: "queued",
    heartbeatMs: null,
    error: `interrupted: was running in ${source} when collected; resumes from its checkpoint`,
  };
}

/** Merge the runs and points of one open source database into the open main connection. */
function mergeInto(
  main: DatabaseSync,
  src: ResultsDb,
  source: string,
  finishedIn: Map<string, string[]>,
): MergeStats {
  const stats = emptyStats();
  const runs = src.listRuns();
  const points = src.metricsOf(runs.map((r) => r.id));
  const findRun = main.prepare(
    "SELECT id, status, env_steps, config, attempts, created_at, started_at FROM runs " +
      "WHERE config_hash = ? AND seed = ?",
  );
  const insertRun = main.prepare(
    `INSERT INTO runs (config_hash, seed, env, algo, config, total_steps, label, status, owner,
       attempts, created_at, started_at, ended_at, error, code_version, machine,
       checkpoint_path, env_steps, episodes, wall_seconds)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const updateRun = main.prepare(
    `UPDATE runs SET env = ?, algo = ?, config = ?, total_steps = ?, label = ?, status = ?,
       owner = ?, attempts = ?, created_at = ?, started_at = ?, ended_at = ?, error = ?,
       code_version = ?, machine = ?, checkpoint_path = ?, env_steps = ?, episodes = ?,
       wall_seconds = ?, owner_host = NULL, owner_pid = NULL, owner_start = NULL,
       heartbeat_ms = NULL
     WHERE id = ?`,
  );
  const bumpProgress = main.prepare(
    "UPDATE runs SET env_steps = MAX(env_steps, ?), episodes = MAX(episodes, ?) WHERE id = ?",
  );
  const mergeTimes = main.prepare(
    "UPDATE runs SET attempts = ?, created_at = ?, started_at = ? WHERE id = ?",
  );
  const hasPoint = main.prepare("SELECT 1 AS x FROM metrics WHERE run_id = ? AND env_step = ?");
  const putPoint = main.prepare(UPSERT_METRIC_SQL);
  const countPoints = main.prepare("SELECT COUNT(*) AS n FROM metrics WHERE run_id = ?");
  const sameMetrics = main.prepare(
    `SELECT 1 AS x FROM metrics WHERE run_id = ? AND env_step = ? AND avg_return IS ?
       AND episodes = ? AND epsilon IS ? AND loss_q IS ? AND loss_u IS ? AND trained_steps = ?`,
  );
  const samePoint = main.prepare(
    `SELECT 1 AS x FROM metrics WHERE run_id = ? AND env_step = ? AND avg_return IS ?
       AND episodes = ? AND epsilon IS ? AND loss_q IS ? AND loss_u IS ? AND trained_steps = ?
       AND wall_seconds IS ?`,
  );
  const pointArgs = (p: MetricRecord): (number | null)[] => [
    finiteOrNull(p.avgReturn),
    p.episodes,
    finiteOrNull(p.epsilon),
    finiteOrNull(p.lossQ),
    finiteOrNull(p.lossU),
    p.trainedSteps,
    finiteOrNull(p.wallSeconds),
    ...metricDetailArgs(p),
  ];

  for (const original of runs) {
    const run = imported(original, source);
    const key = runKey(run);
    if (original.status === "finished") {
      finishedIn.set(key, [...(finishedIn.get(key) ?? []), source]);
    }
    const row = findRun.get(run.hash, run.seed) as Row | undefined;
    if (row && canonicalJson(JSON.parse(String(row.config))) !== canonicalJson(run.config)) {
      stats.conflicts.push(
        `run ${key} in ${source} has another configuration than the main database's; skipped`,
      );
      continue;
    }
    const decision = mergeDecision(
      row ? { status: row.status as RunStatus, envSteps: Number(row.env_steps) } : undefined,
      run,
    );
    const values = (attempts: number, createdAt: string, startedAt: string | null) => [
      run.env,
      run.algo,
      JSON.stringify(run.config),
      run.totalSteps,
      run.label,
      run.status,
      run.owner,
      attempts,
      createdAt,
      startedAt,
      run.endedAt,
      run.error,
      run.codeVersion,
      run.machine ? JSON.stringify(run.machine) : null,
      run.checkpointPath,
      run.envSteps,
      run.episodes,
      run.wallSeconds,
    ];
    let id: number;
    if (decision === "insert") {
      const res = insertRun.run(
        run.hash,
        run.seed,
        ...values(run.attempts, run.createdAt, run.startedAt),
      );
      id = Number(res.lastInsertRowid);
      stats.runsAdded++;
    } else {
      id = Number(row!.id);
      if (decision === "replace") {
        updateRun.run(
          ...values(
            Math.max(Number(row!.attempts), run.attempts),
            minIso(String(row!.created_at), run.createdAt)!,
            minIso((row!.started_at as string | null) ?? null, run.startedAt),
          ),
          id,
        );
        stats.runsUpdated++;
      } else {
        // Keep the row, but let its history cover both copies (so the order of merges is moot).
        const attempts = Math.max(Number(row!.attempts), run.attempts);
        const createdAt = minIso(String(row!.created_at), run.createdAt)!;
        const startedAt = minIso((row!.started_at as string | null) ?? null, run.startedAt);
        if (
          attempts !== Number(row!.attempts) || createdAt !== row!.created_at ||
          startedAt !== row!.started_at
        ) {
          mergeTimes.run(attempts, createdAt, startedAt, id);
        }
        stats.runsKept++;
      }
    }
    const srcPoints = points.get(run.id) ?? [];
    // Two finished copies of one run must agree (wall time aside); if not, nothing of this copy
    // is merged and the conflict is reported (a finished run's points are never mixed).
    if (decision === "keep" && row!.status === "finished" && original.status === "finished") {
      const differ = srcPoints.filter((p) =>
        sameMetrics.get(id, p.envStep, ...pointArgs(p).slice(0, 6)) === undefined
      ).map((p) => p.envStep);
      const mainCount = Number((countPoints.get(id) as Row).n);
      if (differ.length > 0 || mainCount !== srcPoints.length) {
        stats.conflicts.push(
          `run ${key} is finished in both ${source} and the main database, but their metric ` +
            `points differ (${mainCount} vs ${srcPoints.length} points` +
            (differ.length > 0 ? `, first differing at env step ${differ[0]}` : "") +
            `); the main database's copy is kept and this one not merged: inspect both`,
        );
        stats.runsKept--;
        continue;
      }
    }
    // Points: the winning side's values stand at a shared step; nothing is ever deleted.
    const srcWins = decision !== "keep";
    let maxStep = -1;
    let maxEpisodes = 0;
    for (const p of srcPoints) {
      if (p.envStep > maxStep) {
        maxStep = p.envStep;
        maxEpisodes = p.episodes;
      }
      const args = pointArgs(p);
      if (hasPoint.get(id, p.envStep) === undefined) {
        putPoint.run(id, p.envStep, ...args);
        stats.pointsAdded++;
      } else if (srcWins && samePoint.get(id, p.envStep, ...args.slice(0, 7)) === undefined) {
        putPoint.run(id, p.envStep, ...args);
        stats.pointsReplaced++;
      }
    }
    if (decision === "keep" && maxStep >= 0 && row!.status !== "finished") {
      bumpProgress.run(maxStep, maxEpisodes, id);
    }
  }
  return stats;
}

function sameFile(a: Deno.FileInfo | null, b: Deno.FileInfo | null): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && a.mtime?.getTime() === b.mtime?.getTime();
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Copy a database file (and its WAL) to `dir/name`, retrying while it changes; the copy's path. */
function snapshot(path: string, dir: string, name: string): string {
  const copy = `${dir}/${name}`;
  for (let attempt = 0;; attempt++) {
    const before = statOrNull(path);
    const walBefore = statOrNull(`${path}-wal`);
    Deno.copyFileSync(path, copy);
    try {
      Deno.removeSync(`${copy}-wal`);
    } catch { /* none */ }
    if (walBefore) {
      try {
        Deno.copyFileSync(`${path}-wal`, `${copy}-wal`);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    const stable = sameFile(before, statOrNull(path)) &&
      sameFile(walBefore, statOrNull(`${path}-wal`));
    if (stable || attempt >= 4) return copy;
    sleepSync(200); // being written right now: try again in a moment
  }
}

/** The per-task database files under `from`: `<from>/db/*.sqlite`, else `<from>/*.sqlite`. */
export function findTaskDatabases(from: string, exclude: readonly string[] = []): string[] {
  const dbDir = sweepPaths(from).dbDir;
  const dir = statOrNull(dbDir)?.isDirectory ? dbDir : from.replace(/\/+$/, "") || "/";
  const excluded = new Set(exclude.map(safeRealPath));
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (!e.isFile || !e.name.endsWith(".sqlite")) continue;
    const path = `${dir}/${e.name}`;
    if (!excluded.has(safeRealPath(path))) out.push(path);
  }
  // Natural order: task-2 before task-10.
  return out.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

function safeRealPath(p: string): string {
  try {
    return Deno.realPathSync(p);
  } catch {
    return p;
  }
}

/** How one planned run stands in the main database after collecting. */
export interface RunStanding {
  /** The planned run. */
  run: PlannedRun;
  /** Its row in the main database, if any. */
  record?: RunRecord;
}

/** What {@link collect} did and found. */
export interface CollectReport {
  /** The main database. */
  db: string;
  /** The source files merged, in order. */
  files: string[];
  /** Source files that could not be read, with the reason. */
  skipped: { file: string; reason: string }[];
  /** Totals over all files. */
  stats: MergeStats;
  /** The plan that says which runs to expect, or null when none was found. */
  plan: SweepPlan | null;
  /** Planned runs finished in the main database. */
  finished: RunStanding[];
  /** Planned runs that failed (record.error says why). */
  failed: RunStanding[];
  /** Planned runs started but not finished (queued or running with progress). */
  partial: RunStanding[];
  /** Planned runs not started anywhere (absent, or queued without progress). */
  missing: RunStanding[];
  /** Runs of the task files that are not in the plan (merged all the same). */
  extra: number;
  /** Runs reported finished by more than one task file (key → files). */
  duplicates: Map<string, string[]>;
}

/** Options of {@link collect}. */
export interface CollectOptions {
  /** A sweep folder (plan.json, db/) or a folder of task databases. */
  from: string;
  /** The main results database (created if absent). */
  db: string;
  /** The plan; default `<from>/plan.json` when it exists (null: do not look for one). */
  plan?: SweepPlan | null;
  /** Explicit source files instead of the ones found under `from`. */
  files?: readonly string[];
}

/**
 * Merge every task database under `options.from` into `options.db` (see the module doc) and
 * report how the planned runs stand. Idempotent: a second call changes nothing.
 */
export function collect(options: CollectOptions): CollectReport {
  let plan: SweepPlan | null = options.plan ?? null;
  if (options.plan === undefined && statOrNull(sweepPaths(options.from).plan)) {
    plan = readPlan(options.from);
  }
  const files = options.files ? [...options.files] : findTaskDatabases(options.from, [options.db]);

  const stats = emptyStats();
  const skipped: { file: string; reason: string }[] = [];
  const duplicates = new Map<string, string[]>();
  const finishedIn = new Map<string, string[]>();
  const tmp = Deno.makeTempDirSync({ prefix: "adqn-collect-" });
  const sources: { name: string; db: ResultsDb }[] = [];
  let main: DatabaseSync | undefined;
  try {
    // Validate every source first: a corrupt one is reported under its own name (not the temporary
    // copy's), and when none can be read no empty main database is created.
    files.forEach((file, i) => {
      const name = file.slice(file.lastIndexOf("/") + 1);
      const copy = snapshot(file, tmp, `${i}-${name}`);
      try {
        sources.push({ name, db: ResultsDb.open(copy, { create: false }) });
      } catch (e) {
        skipped.push({ file, reason: (e as Error).message.replaceAll(copy, file) });
      }
    });
    if (sources.length === 0 && !statOrNull(options.db)) {
      const report = emptyReport(options.db, files, skipped, stats, plan);
      report.missing = (plan?.runs ?? []).map((run) => ({ run }));
      return report;
    }
    // Create or validate the main database through its owner module, then write it directly.
    const check = ResultsDb.open(options.db);
    const version = Number(check.meta().schema_version);
    check.close();
    if (version !== COLLECT_SCHEMA_VERSION || SCHEMA_VERSION !== COLLECT_SCHEMA_VERSION) {
      throw new Error(
        `collect writes results-database schema version ${COLLECT_SCHEMA_VERSION}, but ` +
          `${options.db} has version ${version} (code: ${SCHEMA_VERSION}); ` +
          `update lib/cluster/collect.ts`,
      );
    }
    main = new DatabaseSync(options.db);
    main.exec("PRAGMA busy_timeout = 30000");
    main.exec("PRAGMA foreign_keys = ON");
    for (const src of sources) {
      main.exec("BEGIN IMMEDIATE");
      try {
        addStats(stats, mergeInto(main, src.db, src.name, finishedIn));
        main.exec("COMMIT");
      } catch (e) {
        main.exec("ROLLBACK");
        throw e;
      }
    }
  } finally {
    main?.close();
    for (const src of sources) src.db.close();
    Deno.removeSync(tmp, { recursive: true });
  }
  for (const [key, where] of finishedIn) if (where.length > 1) duplicates.set(key, where);

  const report = emptyReport(options.db, files, skipped, stats, plan, duplicates);
  if (!plan) return report;
  const db = ResultsDb.open(options.db, { create: false });
  try {
    const planned = new Set<string>();
    for (const run of plan.runs) {
      planned.add(runKey(run));
      const record = db.findRun(run.hash, run.seed);
      const standing: RunStanding = { run, record };
      if (!record) report.missing.push(standing);
      else if (record.status === "finished") report.finished.push(standing);
      else if (record.status === "failed") report.failed.push(standing);
      else if (record.envSteps > 0 || record.attempts > 0) report.partial.push(standing);
      else report.missing.push(standing);
    }
    const seen = new Set<string>(finishedIn.keys());
    report.extra = [...seen].filter((k) => !planned.has(k)).length;
  } finally {
    db.close();
  }
  return report;
}

/** A report with nothing classified yet. */
function emptyReport(
  db: string,
  files: string[],
  skipped: { file: string; reason: string }[],
  stats: MergeStats,
  plan: SweepPlan | null,
  duplicates = new Map<string, string[]>(),
): CollectReport {
  return {
    db,
    files,
    skipped,
    stats,
    plan,
    finished: [],
    failed: [],
    partial: [],
    missing: [],
    extra: 0,
    duplicates,
  };
}

/**
 * Whether a report has planned runs that are not finished, files that could not be read, or
 * conflicts (which must never pass unnoticed).
 */
export function hasMissing(report: CollectReport): boolean {
  return report.missing.length + report.partial.length + report.failed.length +
      report.skipped.length + report.stats.conflicts.length > 0;
}

function describe(s: RunStanding): string {
  const r = s.run;
  const what = `task ${r.task}: ${r.config.env} ${r.config.algo} seed ${r.seed} ` +
    `(${r.hash.slice(0, 12)})`;
  if (!s.record) return `${what}: no record`;
  const rec = s.record;
  const progress = `${rec.envSteps}/${rec.totalSteps} steps, ${rec.attempts} attempt(s)`;
  return `${what}: ${rec.status}, ${progress}${rec.error ? `: ${rec.error}` : ""}`;
}

/** A human-readable summary of a collect report (what merged, and every unfinished run). */
export function formatCollectReport(report: CollectReport, maxLines = 50): string {
  const s = report.stats;
  const lines = [
    `collected ${report.files.length} file(s) into ${report.db}: ${s.runsAdded} run(s) added, ` +
    `${s.runsUpdated} updated, ${s.runsKept} unchanged; ${s.pointsAdded} metric point(s) added, ` +
    `${s.pointsReplaced} replaced`,
  ];
  for (const k of report.skipped) lines.push(`skipped ${k.file}: ${k.reason}`);
  for (const c of s.conflicts) lines.push(`conflict: ${c}`);
  for (const [key, where] of report.duplicates) {
    lines.push(`note: run ${key} finished in several task files: ${where.join(", ")}`);
  }
  if (!report.plan) {
    lines.push("no plan.json found: cannot tell which runs are missing");
    return lines.join("\n");
  }
  const total = report.plan.runs.length;
  lines.push(
    `sweep ${report.plan.title || report.plan.dir}: ${report.finished.length}/${total} finished, ` +
      `${report.partial.length} partial, ${report.failed.length} failed, ` +
      `${report.missing.length} missing` +
      (report.extra ? `; ${report.extra} finished run(s) not in the plan` : ""),
  );
  const list = (title: string, xs: RunStanding[]) => {
    if (xs.length === 0) return;
    lines.push(`${title}:`);
    for (const x of xs.slice(0, maxLines)) lines.push(`  ${describe(x)}`);
    if (xs.length > maxLines) lines.push(`  ... and ${xs.length - maxLines} more`);
  };
  list("failed", report.failed);
  list("partial (resubmit the script to resume them)", report.partial);
  list("missing (resubmit the script to run them)", report.missing);
  return lines.join("\n");
}
