/**
 * CSV export of the results database (RFC 4180: comma-separated, CRLF line endings, fields
 * quoted when they hold a comma, quote or line break; NaN and missing values are empty fields).
 *
 * @example
 * ```ts
 * import { toCsv } from "./csv.ts";
 * console.log(JSON.stringify(toCsv(["a", "b"], [[1, "x,y"]]))); // "a,b\r\n1,\"x,y\"\r\n"
 * ```
 * @module
 */
import type { MetricRecord, ResultsDb, RunRecord } from "./db.ts";

/** One CSV field: quoted when needed; null, undefined and non-finite numbers become empty. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" && !Number.isFinite(value)) return "";
  const s = typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** A CSV document from a header and rows, every line ended by CRLF (RFC 4180). */
export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** Columns of {@link runsCsv}. */
export const RUN_COLUMNS = [
  "run_id",
  "env",
  "algo",
  "seed",
  "config_hash",
  "label",
  "status",
  "total_steps",
  "env_steps",
  "episodes",
  "attempts",
  "created_at",
  "started_at",
  "ended_at",
  "wall_seconds",
  "code_version",
  "hostname",
  "cpu",
  "os",
  "checkpoint_path",
  "error",
  "config",
] as const;

/** The runs table as CSV (config as a JSON field). */
export function runsCsv(runs: readonly RunRecord[]): string {
  return toCsv(
    RUN_COLUMNS,
    runs.map((r) => [
      r.id,
      r.env,
      r.algo,
      r.seed,
      r.hash,
      r.label,
      r.status,
      r.totalSteps,
      r.envSteps,
      r.episodes,
      r.attempts,
      r.createdAt,
      r.startedAt,
      r.endedAt,
      r.wallSeconds,
      r.codeVersion,
      r.machine?.hostname,
      r.machine?.cpu,
      r.machine?.os,
      r.checkpointPath,
      r.error,
      r.config,
    ]),
  );
}

/** Columns of {@link metricsCsv}. */
export const METRIC_COLUMNS = [
  "run_id",
  "env",
  "algo",
  "seed",
  "env_step",
  "avg_return",
  "episodes",
  "epsilon",
  "loss_q",
  "loss_u",
  "trained_steps",
  "wall_seconds",
  "share_positive",
  "share_negative",
  "share_zero",
  "share_truncated",
  "avg_length",
  "eval_return",
  "eval_length",
] as const;

/** The columns of {@link metricFields}: those of {@link METRIC_COLUMNS} after the run's. */
export const METRIC_FIELD_COLUMNS: readonly string[] = METRIC_COLUMNS.slice(4);

/** A point's values in {@link METRIC_FIELD_COLUMNS} order. */
export function metricFields(p: MetricRecord): unknown[] {
  return [
    p.envStep,
    p.avgReturn,
    p.episodes,
    p.epsilon,
    p.lossQ,
    p.lossU,
    p.trainedSteps,
    p.wallSeconds,
    p.sharePositive,
    p.shareNegative,
    p.shareZero,
    p.shareTruncated,
    p.avgLength,
    p.evalReturn,
    p.evalLength,
  ];
}

/** Every metric point of the given runs (default: all runs) as CSV, one line per point. */
export function metricsCsv(db: ResultsDb, runs: readonly RunRecord[] = db.listRuns()): string {
  const byRun = db.metricsOf(runs.map((r) => r.id));
  const rows: unknown[][] = [];
  for (const r of runs) {
    for (const p of byRun.get(r.id) ?? []) {
      rows.push([r.id, r.env, r.algo, r.seed, ...metricFields(p)]);
    }
  }
  return toCsv(METRIC_COLUMNS, rows);
}

/** Write runs.csv and metrics.csv into `dir` (created if needed); returns the two paths. */
export function exportCsv(
  db: ResultsDb,
  dir: string,
  runs: readonly RunRecord[] = db.listRuns(),
): { runs: string; metrics: string } {
  Deno.mkdirSync(dir, { recursive: true });
  const paths = { runs: `${dir}/runs.csv`, metrics: `${dir}/metrics.csv` };
  Deno.writeTextFileSync(paths.runs, runsCsv(runs));
  Deno.writeTextFileSync(paths.metrics, metricsCsv(db, runs));
  return paths;
}
