/**
 * Schema version 2 of the results database (lib/results/db.ts): the metric columns of outcome
 * shares, mean episode length and greedy evaluation, and the migration of version-1 files.
 *
 * The version-1 file is ./fixtures/results-v1.sqlite: data/fig1-quick/results.sqlite as committed
 * until 2026-12-03 (50 quick-preset runs of 2026-11-25, written by schema version 1), kept here
 * when that directory was regenerated with version 2.
 */
import assert from "assert";
import { DatabaseSync } from "node:sqlite";
import { type MetricRecord, ResultsDb, SCHEMA_VERSION } from "../../lib/results/db.ts";

const COMMITTED = new URL("./fixtures/results-v1.sqlite", import.meta.url).pathname;

const DETAIL_KEYS = [
  "sharePositive",
  "shareNegative",
  "shareZero",
  "shareTruncated",
  "avgLength",
  "evalReturn",
  "evalLength",
] as const;

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The first metric rows of run 1 as SQLite itself holds them (a second reader). */
function rawRows(path: string) {
  const raw = new DatabaseSync(path, { readOnly: true });
  try {
    return raw.prepare(
      "SELECT env_step, avg_return, episodes, trained_steps FROM metrics WHERE run_id = 1 ORDER BY env_step",
    ).all().map((r) => [r.env_step, r.avg_return, r.episodes, r.trained_steps].map(Number));
  } finally {
    raw.close();
  }
}

function copyOfCommitted(): string {
  const path = `${Deno.makeTempDirSync({ prefix: "adqn-mig-" })}/results.sqlite`;
  Deno.copyFileSync(COMMITTED, path);
  return path;
}

Deno.test("the committed version-1 database still opens read-only: old fields intact, new ones NaN, file untouched", async () => {
  assert.equal(SCHEMA_VERSION, 2);
  const before = await sha256(COMMITTED);
  const db = ResultsDb.open(COMMITTED, { readOnly: true });
  try {
    assert.equal(db.meta().schema_version, "1");
    const points = db.metrics(1);
    assert.deepEqual(
      points.map((p) => [p.envStep, p.avgReturn, p.episodes, p.trainedSteps]),
      rawRows(COMMITTED),
    );
    assert.ok(points.length > 0);
    for (const p of points) for (const k of DETAIL_KEYS) assert.ok(Number.isNaN(p[k]), k);
  } finally {
    db.close();
  }
  assert.equal(await sha256(COMMITTED), before);
});

Deno.test("a version-1 database opened for writing is migrated to version 2, keeping every old row", () => {
  const path = copyOfCommitted();
  const old = rawRows(path);
  const db = ResultsDb.open(path);
  try {
    assert.equal(db.meta().schema_version, "2");
    const points = db.metrics(1);
    assert.deepEqual(points.map((p) => [p.envStep, p.avgReturn, p.episodes, p.trainedSteps]), old);
    for (const p of points) for (const k of DETAIL_KEYS) assert.ok(Number.isNaN(p[k]), k);
  } finally {
    db.close();
  }
  // Opening again (now version 2) changes nothing more.
  const again = ResultsDb.open(path);
  assert.equal(again.meta().schema_version, "2");
  assert.deepEqual(rawRows(path), old);
  again.close();
});

Deno.test("`upsertMetrics()` stores the outcome shares, mean length and evaluation; NaN and absent as NULL", () => {
  const path = `${Deno.makeTempDirSync({ prefix: "adqn-mig-" })}/results.sqlite`;
  const db = ResultsDb.open(path);
  try {
    assert.equal(db.meta().schema_version, String(SCHEMA_VERSION));
    const run = db.ensureRun({
      hash: "h",
      seed: 0,
      config: { env: "heaven-hell-3", algo: "adqn", seed: 0, totalSteps: 20 },
    });
    const base: MetricRecord = {
      envStep: 10,
      episodes: 4,
      avgReturn: 0.25,
      epsilon: 1,
      lossQ: NaN,
      lossU: NaN,
      trainedSteps: 0,
      wallSeconds: 0.5,
    };
    const full: MetricRecord = {
      ...base,
      envStep: 20,
      sharePositive: 0.5,
      shareNegative: 0.25,
      shareZero: 0,
      shareTruncated: 0.25,
      avgLength: 2.5,
      evalReturn: -0.75,
      evalLength: 3,
    };
    db.upsertMetrics(run.id, [
      base,
      { ...full, evalReturn: NaN, evalLength: NaN, envStep: 15 },
      full,
    ]);
    const [a, b, c] = db.metrics(run.id);
    for (const k of DETAIL_KEYS) assert.ok(Number.isNaN(a[k]), `absent ${k} reads as NaN`);
    assert.ok(Number.isNaN(b.evalReturn) && Number.isNaN(b.evalLength));
    assert.equal(b.sharePositive, 0.5);
    assert.deepEqual(c, full);
    const raw = new DatabaseSync(path, { readOnly: true });
    const row = raw.prepare(
      "SELECT share_positive, share_negative, share_zero, share_truncated, avg_length, eval_return, eval_length FROM metrics WHERE env_step = 15",
    ).get();
    raw.close();
    assert.deepEqual({ ...row }, {
      share_positive: 0.5,
      share_negative: 0.25,
      share_zero: 0,
      share_truncated: 0.25,
      avg_length: 2.5,
      eval_return: null,
      eval_length: null,
    });
  } finally {
    db.close();
  }
});
