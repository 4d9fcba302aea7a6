import assert from "assert";
import { DatabaseSync } from "node:sqlite";
import {
  APPLICATION_ID,
  checkResultsDb,
  currentOwner,
  type LeaseOwner,
  processAlive,
  processStartTime,
  ResultsDb,
  ResultsDbError,
  SCHEMA_VERSION,
} from "../../lib/results/db.ts";
import { csvField, exportCsv, runsCsv, toCsv } from "../../lib/results/csv.ts";
import { metricPoint } from "./metric_fixture.ts";

function tmpDb(): string {
  return `${Deno.makeTempDirSync({ prefix: "adqn-db-" })}/results.sqlite`;
}

const CONFIG = { env: "heaven-hell-3", algo: "adqn", seed: 1, totalSteps: 100, logEvery: 10 };

const point = (envStep: number, avgReturn: number) => metricPoint(envStep, avgReturn);

/** An owner on this host whose process has exited (a `true` child). */
async function deadOwner(): Promise<LeaseOwner> {
  const child = new Deno.Command("true").spawn();
  const pid = child.pid;
  await child.status;
  return { id: `${Deno.hostname()}:${pid}:1`, host: Deno.hostname(), pid, start: "1" };
}

function otherHostOwner(): LeaseOwner {
  return { id: "elsewhere:42:7", host: "elsewhere", pid: 42, start: "7" };
}

Deno.test("`ResultsDb.open()` creates a WAL database with our schema version", () => {
  const path = tmpDb();
  const db = ResultsDb.open(path);
  assert.equal(db.meta().application, APPLICATION_ID);
  assert.equal(db.meta().schema_version, String(SCHEMA_VERSION));
  db.close();
  const raw = new DatabaseSync(path, { readOnly: true });
  assert.equal(
    (raw.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
    "wal",
  );
  raw.close();
  assert.equal(checkResultsDb(path), true);
  assert.equal(checkResultsDb(`${path}.missing`), false);
  // No temporary files left behind.
  const dir = path.slice(0, path.lastIndexOf("/"));
  assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.name.includes(".tmp")), []);
});

Deno.test("`ResultsDb.ensureRun()` keys runs by (config hash, seed)", () => {
  const db = ResultsDb.open(tmpDb());
  const a = db.ensureRun({ hash: "h1", seed: 1, config: CONFIG, label: "x" });
  const b = db.ensureRun({ hash: "h1", seed: 1, config: CONFIG });
  const c = db.ensureRun({ hash: "h1", seed: 2, config: { ...CONFIG, seed: 2 } });
  const d = db.ensureRun({ hash: "h2", seed: 1, config: CONFIG });
  assert.equal(a.id, b.id);
  assert.notEqual(a.id, c.id);
  assert.notEqual(a.id, d.id);
  assert.equal(a.status, "queued");
  assert.equal(a.env, "heaven-hell-3");
  assert.equal(a.algo, "adqn");
  assert.equal(a.totalSteps, 100);
  assert.deepEqual(a.config, CONFIG);
  assert.equal(db.listRuns().length, 3);
  assert.equal(db.listRuns({ seed: 2 } as never).length, 3); // unknown filters are ignored
  assert.deepEqual(db.listRuns({ ids: [c.id] }).map((r) => r.id), [c.id]);
  db.close();
});

Deno.test("`ResultsDb.upsertMetrics()` replaces re-emitted points and keeps NaN as missing", () => {
  const db = ResultsDb.open(tmpDb());
  const run = db.ensureRun({ hash: "h", seed: 0, config: CONFIG });
  db.upsertMetrics(run.id, [point(10, NaN), point(20, 0.5)]);
  db.upsertMetrics(run.id, [point(20, 0.75), point(30, 1)]);
  const m = db.metrics(run.id);
  assert.deepEqual(m.map((p) => p.envStep), [10, 20, 30]);
  assert.ok(Number.isNaN(m[0].avgReturn));
  assert.equal(m[1].avgReturn, 0.75);
  assert.deepEqual(m[2], point(30, 1));
  db.clearMetrics(run.id);
  assert.equal(db.metrics(run.id).length, 0);
  db.close();
});

Deno.test("`ResultsDb.claim()` gives each run to one owner until its lease goes stale", async () => {
  const db = ResultsDb.open(tmpDb());
  const r1 = db.ensureRun({ hash: "h", seed: 1, config: CONFIG });
  const r2 = db.ensureRun({ hash: "h", seed: 2, config: CONFIG });
  const me = currentOwner();
  const other = otherHostOwner();
  const t = Date.now();
  const a = db.claim({ owner: me, now: t });
  const b = db.claim({ owner: other, now: t });
  assert.equal(a?.id, r1.id);
  assert.equal(b?.id, r2.id);
  assert.equal(a?.status, "running");
  assert.equal(a?.owner, me.id);
  assert.equal(a?.attempts, 1);
  const third: LeaseOwner = { id: "third:1:1", host: "third", pid: 1, start: "1" };
  assert.equal(db.claim({ owner: third, now: t + 1000 }), undefined, "nothing left");
  assert.equal(db.claim({ owner: other, ids: [r2.id], now: t + 1000 })?.id, r2.id, "own lease");
  // A fresh lease of a live process is respected; a stale one is taken over.
  assert.equal(
    db.claim({ owner: other, ids: [r1.id], leaseTimeoutMs: 60_000, now: t + 1000 }),
    undefined,
  );
  assert.match(db.claimBlocker(r1.id, other, 60_000) ?? "", /being trained by/);
  const stolen = db.claim({ owner: other, ids: [r1.id], leaseTimeoutMs: 60_000, now: t + 61_000 });
  assert.equal(stolen?.id, r1.id);
  assert.equal(stolen?.attempts, 2);
  // The previous owner finds out: its heartbeat and writes fail.
  assert.equal(db.heartbeat(r1.id, me.id), false);
  assert.throws(() => db.upsertMetrics(r1.id, [point(10, 0)], me.id), ResultsDbError);
  assert.throws(() => db.finish(r1.id, me.id), /lease on run \d+ lost/);
  // The new owner can write and finish; a finished run is never claimed again.
  db.upsertMetrics(r1.id, [point(10, 0)], other.id);
  db.finish(r1.id, other.id, { envSteps: 100, episodes: 10, wallSeconds: 1 });
  assert.equal(db.getRun(r1.id)?.status, "finished");
  assert.equal(db.claim({ owner: me, ids: [r1.id], leaseTimeoutMs: 0, now: t + 1e9 }), undefined);
  assert.match(db.claimBlocker(r1.id, me) ?? "", /already finished/);
  // A lease of a dead process on this host is taken over at once.
  const dead = await deadOwner();
  const r3 = db.ensureRun({ hash: "h", seed: 3, config: CONFIG });
  assert.equal(db.claim({ owner: dead, ids: [r3.id] })?.id, r3.id);
  assert.equal(db.claim({ owner: me, ids: [r3.id], leaseTimeoutMs: 3_600_000 })?.id, r3.id);
  db.close();
});

Deno.test("`ResultsDb` release, fail and requeueFailed drive the status", () => {
  const db = ResultsDb.open(tmpDb());
  const me = currentOwner();
  const r = db.ensureRun({ hash: "h", seed: 1, config: CONFIG });
  db.claim({ owner: me });
  db.release(r.id, me.id, "interrupted at step 5");
  assert.equal(db.getRun(r.id)?.status, "queued");
  assert.equal(db.getRun(r.id)?.error, "interrupted at step 5");
  db.claim({ owner: me });
  db.fail(r.id, me.id, "Error: boom");
  assert.equal(db.getRun(r.id)?.status, "failed");
  assert.equal(db.getRun(r.id)?.error, "Error: boom");
  assert.equal(db.claim({ owner: me }), undefined, "failed runs are not claimed by default");
  assert.equal(db.claim({ owner: me, retryFailed: true })?.id, r.id);
  db.fail(r.id, me.id, "again");
  assert.equal(db.requeueFailed([r.id]), 1);
  assert.equal(db.getRun(r.id)?.status, "queued");
  assert.deepEqual(db.statusCounts(), { queued: 1, running: 0, finished: 0, failed: 0 });
  db.close();
});

Deno.test("`currentOwner()` names this process with its start time", () => {
  const o = currentOwner();
  assert.equal(o.pid, Deno.pid);
  assert.equal(o.host, Deno.hostname());
  if (Deno.build.os === "linux") assert.equal(o.start, processStartTime(Deno.pid));
});

Deno.test("`ResultsDb.claim()` takes over at once from a zombie owner (killed, not yet reaped)", async () => {
  if (Deno.build.os !== "linux") return;
  // `sleep 60` (exec'd by sh) never reaps its background child, so that child stays a zombie.
  const parent = new Deno.Command("sh", {
    args: ["-c", "sleep 0.2 & echo $!; exec sleep 60"],
    stdout: "piped",
  }).spawn();
  const reader = parent.stdout.getReader();
  const pid = Number(new TextDecoder().decode((await reader.read()).value).trim());
  const start = processStartTime(pid) ?? "";
  const zombie: LeaseOwner = {
    id: `${Deno.hostname()}:${pid}:${start}`,
    host: Deno.hostname(),
    pid,
    start,
  };
  const db = ResultsDb.open(tmpDb());
  const r = db.ensureRun({ hash: "h", seed: 1, config: CONFIG });
  assert.equal(db.claim({ owner: zombie, ids: [r.id] })?.id, r.id);
  try {
    for (let i = 0; i < 100 && !Deno.readTextFileSync(`/proc/${pid}/stat`).includes(") Z "); i++) {
      await new Promise((ok) => setTimeout(ok, 20));
    }
    assert.match(Deno.readTextFileSync(`/proc/${pid}/stat`), /\) Z /, "the child is a zombie");
    assert.equal(processAlive(pid, start), false);
    assert.equal(db.claimBlocker(r.id, currentOwner(), 3_600_000), null);
    assert.equal(
      db.claim({ owner: currentOwner(), ids: [r.id], leaseTimeoutMs: 3_600_000 })?.id,
      r.id,
    );
  } finally {
    db.close();
    parent.kill("SIGKILL");
    await reader.cancel();
    await parent.status;
  }
});

function snapshot(path: string): Uint8Array {
  return Deno.readFileSync(path);
}

function siblings(path: string): string[] {
  const dir = path.slice(0, path.lastIndexOf("/"));
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("read-only opens and rejected WAL databases create no -wal/-shm files and change no byte", () => {
  const path = tmpDb();
  const db = ResultsDb.open(path);
  db.ensureRun({ hash: "h", seed: 1, config: CONFIG });
  db.close();
  const names = siblings(path), bytes = snapshot(path);
  assert.deepEqual(names, ["results.sqlite"], "closing the writer removed its -wal/-shm");
  assert.equal(checkResultsDb(path), true);
  const ro = ResultsDb.open(path, { readOnly: true });
  assert.equal(ro.listRuns().length, 1);
  ro.close();
  assert.deepEqual(siblings(path), names);
  assert.deepEqual(snapshot(path), bytes);
  // A damaged WAL-mode file: rejected, and still nothing beside it.
  const bad = snapshot(path);
  bad.fill(0x55, 4096, 2 * 4096); // the second page, a table; the file header stays valid
  Deno.writeFileSync(path, bad);
  assert.throws(() => ResultsDb.open(path), ResultsDbError);
  assert.throws(() => ResultsDb.open(path, { readOnly: true }), ResultsDbError);
  assert.deepEqual(siblings(path), names);
  assert.deepEqual(snapshot(path), bad);
});

Deno.test("`ResultsDb.open()` rejects a corrupt or foreign file and leaves it byte-identical", () => {
  const cases: [string, (p: string) => void, RegExp][] = [
    ["random bytes", (p) => {
      const b = new Uint8Array(4096);
      for (let i = 0; i < b.length; i++) b[i] = (i * 7919 + 13) % 251;
      Deno.writeFileSync(p, b);
    }, /not an SQLite file/],
    ["empty file", (p) => Deno.writeFileSync(p, new Uint8Array()), /empty/],
    ["foreign schema", (p) => {
      const d = new DatabaseSync(p);
      d.exec(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'a')",
      );
      d.close();
    }, /no meta table; tables: users/],
    ["foreign meta table", (p) => {
      const d = new DatabaseSync(p);
      d.exec(
        "CREATE TABLE meta (key TEXT, value TEXT); INSERT INTO meta VALUES ('application', 'other')",
      );
      d.close();
    }, /meta.application is "other"/],
    ["newer schema", (p) => {
      const db = ResultsDb.open(p);
      db.close();
      const d = new DatabaseSync(p);
      d.exec(
        "PRAGMA journal_mode = DELETE; UPDATE meta SET value = '99' WHERE key = 'schema_version'",
      );
      d.close();
    }, /schema version 99, newer/],
    ["truncated database", (p) => {
      const q = `${p}.full`;
      const d = new DatabaseSync(q);
      d.exec("CREATE TABLE t (x); " + "INSERT INTO t VALUES (randomblob(3000));".repeat(20));
      d.close();
      const bytes = Deno.readFileSync(q);
      const cut = bytes.slice(0, 4096 + 100);
      cut.fill(0x5a, 200, 4096); // damage the schema page
      Deno.writeFileSync(p, cut);
      Deno.removeSync(q);
    }, /not a results database/],
  ];
  for (const [name, make, pattern] of cases) {
    const path = tmpDb();
    make(path);
    const before = snapshot(path);
    const files = siblings(path);
    assert.throws(
      () => ResultsDb.open(path),
      (e: unknown) => {
        assert.ok(e instanceof ResultsDbError, `${name}: ${e}`);
        assert.match((e as Error).message, pattern, name);
        assert.ok((e as Error).message.includes(path), `${name}: message names the file`);
        return true;
      },
    );
    assert.throws(() => checkResultsDb(path), ResultsDbError);
    assert.deepEqual(snapshot(path), before, `${name}: file unchanged`);
    assert.deepEqual(siblings(path), files, `${name}: no files created next to it`);
  }
});

Deno.test("`ResultsDb.open()` refuses to create when told not to, and opens read-only", () => {
  const path = tmpDb();
  assert.throws(() => ResultsDb.open(path, { create: false }), /does not exist/);
  assert.throws(() => ResultsDb.open(path, { readOnly: true }), /does not exist/);
  ResultsDb.open(path).close();
  const ro = ResultsDb.open(path, { readOnly: true });
  assert.equal(ro.listRuns().length, 0);
  assert.throws(() => ro.ensureRun({ hash: "h", seed: 0, config: CONFIG }));
  ro.close();
});

Deno.test("`csvField()` and `toCsv()` quote per RFC 4180", () => {
  assert.equal(csvField("plain"), "plain");
  assert.equal(csvField('a "b", c'), '"a ""b"", c"');
  assert.equal(csvField("x\ny"), '"x\ny"');
  assert.equal(csvField(NaN), "");
  assert.equal(csvField(null), "");
  assert.equal(csvField(1.5), "1.5");
  assert.equal(csvField({ a: 1 }), '"{""a"":1}"');
  assert.equal(toCsv(["a", "b"], [[1, "x,y"], [null, 2]]), 'a,b\r\n1,"x,y"\r\n,2\r\n');
});

Deno.test("`exportCsv()` writes every run and metric point", () => {
  const db = ResultsDb.open(tmpDb());
  const r1 = db.ensureRun({ hash: "h", seed: 1, config: CONFIG });
  const r2 = db.ensureRun({ hash: "h", seed: 2, config: { ...CONFIG, seed: 2 } });
  db.upsertMetrics(r1.id, [point(10, 0.5), point(20, NaN)]);
  db.upsertMetrics(r2.id, [point(10, 1)]);
  const dir = Deno.makeTempDirSync();
  const paths = exportCsv(db, `${dir}/csv`);
  const runs = Deno.readTextFileSync(paths.runs).trim().split("\r\n");
  const metrics = Deno.readTextFileSync(paths.metrics).trim().split("\r\n");
  assert.equal(runs.length, 3);
  assert.ok(runs[0].startsWith("run_id,env,algo,seed,config_hash"));
  assert.equal(metrics.length, 4);
  assert.equal(
    metrics[0],
    "run_id,env,algo,seed,env_step,avg_return,episodes,epsilon,loss_q,loss_u,trained_steps,wall_seconds," +
      "share_positive,share_negative,share_zero,share_truncated,avg_length,eval_return,eval_length",
  );
  // point(): shares 0.5, 0.25, 0, 0.25, mean length 7.5, no evaluation (empty fields).
  assert.equal(
    metrics[1],
    `${r1.id},heaven-hell-3,adqn,1,10,0.5,1,0.5,0.25,0.125,20,0.1,0.5,0.25,0,0.25,7.5,,`,
  );
  assert.equal(
    metrics[2],
    `${r1.id},heaven-hell-3,adqn,1,20,,2,0.5,0.25,0.125,40,0.2,0.5,0.25,0,0.25,7.5,,`,
  );
  assert.equal(runsCsv([]), runs[0] + "\r\n");
  db.close();
});
