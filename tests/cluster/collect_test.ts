import assert from "assert";
import {
  collect,
  findTaskDatabases,
  formatCollectReport,
  hasMissing,
  mergeDecision,
} from "../../lib/cluster/collect.ts";
import { makePlan, type RunInput } from "../../lib/cluster/plan.ts";
import { type LeaseOwner, ResultsDb } from "../../lib/results/db.ts";
import { metricPoint } from "../results/metric_fixture.ts";

const OWNER: LeaseOwner = { id: "node7:4242:99", host: "node7", pid: 4242, start: "99" };

type Fixture = {
  hash: string;
  seed: number;
  status: "finished" | "queued" | "running" | "failed";
  /** envStep → avgReturn */
  points: Record<number, number>;
  totalSteps?: number;
  lr?: number;
};

function config(f: Fixture) {
  return {
    env: "heaven-hell-3",
    algo: "dqn",
    seed: f.seed,
    totalSteps: f.totalSteps ?? 300,
    lr: f.lr ?? 1e-4,
  };
}

const point = (envStep: number, avgReturn: number) => metricPoint(envStep, avgReturn, { lossU: 0 });

/** A task database holding the given runs, written through the results database's own API. */
function taskDb(path: string, fixtures: Fixture[]): void {
  const db = ResultsDb.open(path);
  try {
    for (const f of fixtures) {
      const run = db.ensureRun({ hash: f.hash, seed: f.seed, config: config(f), label: "t" });
      db.claim({ owner: OWNER, ids: [run.id] });
      const pts = Object.entries(f.points).map(([s, v]) => point(Number(s), v));
      if (pts.length) db.upsertMetrics(run.id, pts, OWNER.id);
      const last = pts.at(-1);
      if (f.status === "finished") {
        db.finish(run.id, OWNER.id, { envSteps: last?.envStep, episodes: last?.episodes });
      } else if (f.status === "failed") db.fail(run.id, OWNER.id, "Error: boom");
      else if (f.status === "queued") db.release(run.id, OWNER.id, "interrupted");
      // "running": left leased, as after a SIGKILL.
    }
  } finally {
    db.close();
  }
}

/** Runs and points of a database, without row ids, for comparisons. */
function dump(path: string) {
  const db = ResultsDb.open(path, { readOnly: true });
  try {
    const runs = db.listRuns();
    const pts = db.metricsOf(runs.map((r) => r.id));
    return runs.map((r) => {
      const { id, ...rest } = r;
      return { ...rest, points: pts.get(id)!.map((p) => [p.envStep, p.avgReturn]) };
    }).sort((a, b) => `${a.hash}-${a.seed}`.localeCompare(`${b.hash}-${b.seed}`));
  } finally {
    db.close();
  }
}

function planOf(dir: string, fixtures: Fixture[]) {
  const runs: RunInput[] = fixtures.map((f) => ({
    hash: f.hash,
    seed: f.seed,
    label: "t",
    config: config(f),
  }));
  return makePlan({ dir, runs });
}

async function withDir(fn: (dir: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "collect-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("`mergeDecision()` prefers finished, then progress, then failures; ties keep main", () => {
  const q = (envSteps: number) => ({ status: "queued" as const, envSteps });
  const fin = (envSteps: number) => ({ status: "finished" as const, envSteps });
  assert.equal(mergeDecision(undefined, q(0)), "insert");
  assert.equal(mergeDecision(q(500), fin(300)), "replace");
  assert.equal(mergeDecision(fin(300), q(900)), "keep");
  assert.equal(mergeDecision(fin(300), fin(300)), "keep");
  assert.equal(mergeDecision(q(100), q(200)), "replace");
  assert.equal(mergeDecision(q(200), q(100)), "keep");
  assert.equal(mergeDecision(q(100), { status: "failed", envSteps: 100 }), "replace");
  assert.equal(mergeDecision({ status: "failed", envSteps: 100 }, q(100)), "keep");
  assert.equal(mergeDecision(q(100), q(100)), "keep");
});

Deno.test("`collect()` merges task databases and reports finished, partial, failed and missing runs", async () => {
  await withDir((dir) => {
    Deno.mkdirSync(`${dir}/db`);
    const A: Fixture = { hash: "a", seed: 0, status: "finished", points: { 100: 0.1, 200: 0.2 } };
    const B: Fixture = { hash: "b", seed: 0, status: "queued", points: { 100: 0.5 } };
    const C: Fixture = { hash: "c", seed: 1, status: "failed", points: {} };
    const D: Fixture = { hash: "d", seed: 2, status: "queued", points: {} };
    taskDb(`${dir}/db/task-0.sqlite`, [A, B]);
    taskDb(`${dir}/db/task-1.sqlite`, [C]);
    Deno.writeTextFileSync(`${dir}/plan.json`, JSON.stringify(planOf(dir, [A, B, C, D])));
    const main = `${dir}/main.sqlite`;

    const report = collect({ from: dir, db: main });
    assert.deepEqual(report.files, [`${dir}/db/task-0.sqlite`, `${dir}/db/task-1.sqlite`]);
    assert.equal(report.stats.runsAdded, 3);
    assert.equal(report.stats.pointsAdded, 3);
    assert.deepEqual(report.finished.map((s) => s.run.hash), ["a"]);
    assert.deepEqual(report.partial.map((s) => s.run.hash), ["b"]);
    assert.deepEqual(report.failed.map((s) => s.run.hash), ["c"]);
    assert.deepEqual(report.missing.map((s) => s.run.hash), ["d"]);
    assert.equal(report.failed[0].record?.error, "Error: boom");
    assert.ok(hasMissing(report));
    const text = formatCollectReport(report);
    assert.match(text, /1\/4 finished, 1 partial, 1 failed, 1 missing/);
    assert.match(text, /seed 2 \(d\): no record/);

    const rows = dump(main);
    assert.deepEqual(rows.map((r) => [r.hash, r.status, r.envSteps]), [
      ["a", "finished", 200],
      ["b", "queued", 100],
      ["c", "failed", 0],
    ]);
    assert.deepEqual(rows[0].points, [[100, 0.1], [200, 0.2]]);
    assert.deepEqual(rows[0].machine, null); // the fixture's claim recorded no machine
    assert.equal(rows[0].owner, OWNER.id);
  });
});

Deno.test("`collect()` run twice leaves the database as the first run left it", async () => {
  await withDir((dir) => {
    const A: Fixture = { hash: "a", seed: 0, status: "finished", points: { 100: 1, 200: 2 } };
    const B: Fixture = { hash: "b", seed: 3, status: "running", points: { 100: 3 } };
    taskDb(`${dir}/task-0.sqlite`, [A]);
    taskDb(`${dir}/task-1.sqlite`, [B]);
    const main = `${dir}/main/results.sqlite`;
    collect({ from: dir, db: main });
    const first = dump(main);
    const again = collect({ from: dir, db: main });
    assert.deepEqual(dump(main), first);
    assert.equal(again.stats.runsAdded + again.stats.runsUpdated, 0);
    assert.equal(again.stats.pointsAdded + again.stats.pointsReplaced, 0);
    assert.equal(again.stats.runsKept, 2);
    assert.equal(again.plan, null);
    assert.match(formatCollectReport(again), /no plan.json found/);
    // A run left "running" by a killed task comes in queued, with a note.
    const b = first.find((r) => r.hash === "b")!;
    assert.equal(b.status, "queued");
    assert.match(b.error ?? "", /interrupted: was running in task-1.sqlite/);
    assert.equal(b.heartbeatMs, null);
  });
});

Deno.test("`collect()` prefers the finished copy of a run in either order and never loses points", async () => {
  await withDir((dir) => {
    const partial: Fixture = { hash: "x", seed: 1, status: "queued", points: { 100: 1, 200: 2 } };
    const finished: Fixture = {
      hash: "x",
      seed: 1,
      status: "finished",
      points: { 100: 10, 300: 30 },
    };
    Deno.mkdirSync(`${dir}/p`);
    Deno.mkdirSync(`${dir}/f`);
    taskDb(`${dir}/p/task-0.sqlite`, [partial]);
    taskDb(`${dir}/f/task-0.sqlite`, [finished]);
    const results: ReturnType<typeof dump>[] = [];
    for (const order of [["p", "f"], ["f", "p"]]) {
      const main = `${dir}/main-${order.join("")}.sqlite`;
      for (const from of order) collect({ from: `${dir}/${from}`, db: main });
      results.push(dump(main));
    }
    for (const rows of results) {
      assert.equal(rows.length, 1);
      assert.equal(rows[0].status, "finished");
      assert.equal(rows[0].envSteps, 300);
      // Step 100 from the finished copy; step 200 only the partial one had; step 300 finished's.
      assert.deepEqual(rows[0].points, [[100, 10], [200, 2], [300, 30]]);
    }
    // Every field agrees, whatever the order: status, progress, attempts, times, points.
    assert.deepEqual(results[0], results[1]);
  });
});

Deno.test("`collect()` lets the further-along partial copy win and reports a run finished twice", async () => {
  await withDir((dir) => {
    const behind: Fixture = { hash: "y", seed: 0, status: "queued", points: { 100: 1 } };
    const ahead: Fixture = { hash: "y", seed: 0, status: "queued", points: { 100: 5, 200: 6 } };
    const done: Fixture = { hash: "z", seed: 0, status: "finished", points: { 100: 7 } };
    taskDb(`${dir}/task-0.sqlite`, [behind, done]);
    taskDb(`${dir}/task-1.sqlite`, [ahead, done]);
    const main = `${dir}/main.sqlite`;
    const report = collect({ from: dir, db: main, plan: null });
    const rows = dump(main);
    const y = rows.find((r) => r.hash === "y")!;
    assert.equal(y.envSteps, 200);
    assert.deepEqual(y.points, [[100, 5], [200, 6]]);
    assert.deepEqual([...report.duplicates.keys()], ["z-0"]);
    assert.deepEqual(report.duplicates.get("z-0"), ["task-0.sqlite", "task-1.sqlite"]);
  });
});

Deno.test("`collect()` skips a run whose configuration conflicts with the main row", async () => {
  await withDir((dir) => {
    Deno.mkdirSync(`${dir}/one`);
    Deno.mkdirSync(`${dir}/two`);
    taskDb(`${dir}/one/task-0.sqlite`, [{
      hash: "k",
      seed: 0,
      status: "queued",
      points: { 1: 1 },
    }]);
    taskDb(`${dir}/two/task-0.sqlite`, [
      { hash: "k", seed: 0, status: "finished", points: { 1: 9, 2: 9 }, lr: 0.5 },
    ]);
    const main = `${dir}/main.sqlite`;
    collect({ from: `${dir}/one`, db: main });
    const before = dump(main);
    const report = collect({ from: `${dir}/two`, db: main });
    assert.equal(report.stats.conflicts.length, 1);
    assert.match(report.stats.conflicts[0], /run k-0 in task-0.sqlite has another configuration/);
    assert.deepEqual(dump(main), before);
    assert.match(formatCollectReport(report), /conflict: run k-0/);
  });
});

Deno.test("`collect()` never writes its source files and reports unreadable ones", async () => {
  await withDir((dir) => {
    taskDb(`${dir}/task-0.sqlite`, [{ hash: "a", seed: 0, status: "finished", points: { 1: 1 } }]);
    Deno.writeTextFileSync(`${dir}/task-1.sqlite`, "not a database");
    const listing = () => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    const names = listing();
    const bytes = Deno.readFileSync(`${dir}/task-0.sqlite`);
    const report = collect({ from: dir, db: `${dir}/main.sqlite`, plan: null });
    assert.deepEqual(Deno.readFileSync(`${dir}/task-0.sqlite`), bytes);
    assert.deepEqual(
      listing().filter((n) => !n.startsWith("main.sqlite")),
      names,
    );
    assert.equal(report.skipped.length, 1);
    assert.equal(report.skipped[0].file, `${dir}/task-1.sqlite`);
    assert.match(report.skipped[0].reason, /not an SQLite file/);
    assert.ok(hasMissing(report));
    assert.equal(report.stats.runsAdded, 1);
  });
});

Deno.test("`findTaskDatabases()` lists db/*.sqlite in natural order without the main database", async () => {
  await withDir((dir) => {
    Deno.mkdirSync(`${dir}/db`);
    for (const i of [10, 2, 1]) Deno.writeTextFileSync(`${dir}/db/task-${i}.sqlite`, "");
    Deno.writeTextFileSync(`${dir}/db/notes.txt`, "");
    assert.deepEqual(findTaskDatabases(dir).map((p) => p.slice(dir.length)), [
      "/db/task-1.sqlite",
      "/db/task-2.sqlite",
      "/db/task-10.sqlite",
    ]);
    assert.deepEqual(
      findTaskDatabases(`${dir}/db`, [`${dir}/db/task-2.sqlite`]).map((p) => p.slice(dir.length)),
      ["/db/task-1.sqlite", "/db/task-10.sqlite"],
    );
  });
});

Deno.test("`collect()` reports two finished copies of a run that disagree, and merges neither way", async () => {
  await withDir((dir) => {
    Deno.mkdirSync(`${dir}/one`);
    Deno.mkdirSync(`${dir}/two`);
    taskDb(`${dir}/one/task-0.sqlite`, [{
      hash: "f",
      seed: 0,
      status: "finished",
      points: { 100: 1, 200: 2 },
    }]);
    taskDb(`${dir}/two/task-0.sqlite`, [{
      hash: "f",
      seed: 0,
      status: "finished",
      points: { 100: 1, 200: 3 },
    }]);
    const main = `${dir}/main.sqlite`;
    collect({ from: `${dir}/one`, db: main, plan: null });
    const before = dump(main);
    const report = collect({ from: `${dir}/two`, db: main, plan: null });
    assert.equal(report.stats.conflicts.length, 1);
    assert.match(
      report.stats.conflicts[0],
      /run f-0 is finished in both task-0.sqlite and the main database, but their metric points differ \(2 vs 2 points, first differing at env step 200\)/,
    );
    assert.equal(report.stats.runsKept, 0, "not reported as unchanged");
    assert.deepEqual(dump(main), before);
    assert.match(formatCollectReport(report), /conflict: run f-0 is finished in both/);
    assert.ok(hasMissing(report), "a conflict makes collect exit non-zero");
    // An identical finished copy is no conflict.
    const same = collect({ from: `${dir}/one`, db: main, plan: null });
    assert.deepEqual(same.stats.conflicts, []);
  });
});

Deno.test("`collect()` names a corrupt task file itself and creates no empty main database", async () => {
  await withDir((dir) => {
    const bytes = new Uint8Array(8192);
    bytes.set(new TextEncoder().encode("SQLite format 3\0"));
    bytes.fill(0x42, 100);
    Deno.writeFileSync(`${dir}/task-0.sqlite`, bytes);
    const report = collect({ from: dir, db: `${dir}/main.sqlite`, plan: null });
    assert.equal(report.skipped.length, 1);
    assert.equal(report.skipped[0].file, `${dir}/task-0.sqlite`);
    assert.ok(report.skipped[0].reason.includes(`${dir}/task-0.sqlite`), report.skipped[0].reason);
    assert.ok(!report.skipped[0].reason.includes("adqn-collect-"), "no temporary path");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["task-0.sqlite"]);
    assert.ok(hasMissing(report));
  });
});
