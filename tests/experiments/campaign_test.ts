import assert from "assert";
import { DatabaseSync } from "node:sqlite";
import { existsSync } from "../../lib/files.ts";
import { ResultsDb } from "../../lib/results/db.ts";
import { campaignFiles, runCampaign } from "../../lib/experiments/campaign.ts";
import {
  CAMPAIGN_SETTINGS,
  type CellRow,
  formatSelection,
  gateOpen,
  PLANNED_RUNS,
  selected,
  selectedPreset,
  selectionTable,
  STAGE0,
  stage0Grid,
  stage0Rows,
  STAGE1,
  stage1Grid,
} from "../../lib/experiments/campaign_stages.ts";
import { loadCampaign } from "../../lib/experiments/campaign_data.ts";
import { buildGrid, type GridRun } from "../../lib/experiments/grid.ts";
import { campaignReport, stage1Scores } from "../../lib/experiments/campaign_verdicts.ts";
import {
  campaignStatus,
  runningPid,
  snapshotDb,
  startCampaign,
  stopCampaign,
} from "../../lib/experiments/campaign_process.ts";
import { ALGO_IDS } from "../../lib/train/agent.ts";
import { fakeWorkerCommand } from "./fake_trainer.ts";
import { buildCampaignDb, partialCampaign, runCampaignTask } from "./campaign_fixture.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TINY = { totalSteps: 2_000, logEvery: 200, prepopulateSteps: 100 };

/** Synthetic stage-0 rows: `score(algo, cell index, seed)` as final performance. */
function rows(score: (algo: string, cell: number, seed: number) => number): CellRow[] {
  return ALGO_IDS.flatMap((algo) =>
    STAGE0.cells.flatMap((cell, c) =>
      STAGE0.seeds.map((seed) => ({ algo, cell, seed, final: score(algo, c, seed) }))
    )
  );
}

Deno.test("stage 0 is the issue's grid: 5 algorithms x 2 lr x 2 time limits x 2 seeds; 90 runs in all", () => {
  assert.deepEqual(STAGE0.cells.map((c) => [c.lr, c.timeLimit]), [
    [1e-4, 1000],
    [1e-4, 100],
    [3e-4, 1000],
    [3e-4, 100],
  ]);
  assert.deepEqual(STAGE0.seeds, [1000, 1001]);
  assert.equal(PLANNED_RUNS, 40 + 50);
});

Deno.test("stage grids: 40 and 50 distinct runs, gate algorithms first, evaluation on, cells as given", () => {
  const g0 = stage0Grid();
  assert.equal(g0.length, 40);
  assert.equal(new Set(g0.map((r) => `${r.hash}:${r.seed}`)).size, 40);
  // ADQN's 8 runs, then ADQN-VR's 8: the gate's evidence comes first.
  assert.deepEqual([...new Set(g0.slice(0, 16).map((r) => r.algo))], ["adqn", "adqn-vr"]);
  for (const r of g0) {
    assert.equal(r.label, "paper:1a");
    assert.equal(r.config.env, "heaven-hell-3");
    assert.equal(r.config.totalSteps, 2_000_000);
    assert.equal(r.config.evalEvery, CAMPAIGN_SETTINGS.evalEvery);
    assert.equal(r.config.evalEpisodes, 10);
    assert.ok(STAGE0.seeds.includes(r.seed));
  }
  assert.deepEqual(
    g0.slice(0, 8).map((r) => [r.config.lr, r.config.timeLimit, r.seed]),
    STAGE0.cells.flatMap((c) => STAGE0.seeds.map((s) => [c.lr, c.timeLimit, s])),
  );
  const chosen = Object.fromEntries(ALGO_IDS.map((a, i) => [a, STAGE0.cells[i % 4]])) as Parameters<
    typeof stage1Grid
  >[0];
  const g1 = stage1Grid(chosen);
  assert.equal(g1.length, 50);
  assert.equal(new Set(g1.map((r) => `${r.hash}:${r.seed}`)).size, 50);
  for (const r of g1) {
    assert.deepEqual([r.config.lr, r.config.timeLimit], [
      chosen[r.algo].lr,
      chosen[r.algo].timeLimit,
    ]);
    assert.ok(r.seed >= 0 && r.seed < 5);
  }
  assert.deepEqual(
    new Set(g1.map((r) => r.config.env)),
    new Set(["heaven-hell-3", "heaven-hell-4"]),
  );
  // Seed order: runs 10s..10s+9 are seed s of every algorithm on both panels, 1a first, the
  // gate's algorithms first within a panel; so 20 runs give every verdict its 2 seeds.
  for (let s = 0; s < 5; s++) {
    const block = g1.slice(10 * s, 10 * s + 10);
    assert.deepEqual(block.map((r) => r.seed), Array(10).fill(s));
    assert.deepEqual(block.map((r) => `${r.figure}:${r.algo}`), [
      ...["1a", "1b"].flatMap((f) =>
        ["adqn", "adqn-vr", "dqn", "adqn-state", "adqn-state-vr"].map((a) => `${f}:${a}`)
      ),
    ]);
  }
});

Deno.test("selectedPreset: its runs are stage 1's, configuration for configuration", () => {
  // A different cell per algorithm, so that a preset mixing up algorithms would show.
  const chosen = Object.fromEntries(ALGO_IDS.map((a, i) => [a, STAGE0.cells[i % 4]])) as Parameters<
    typeof stage1Grid
  >[0];
  const preset = selectedPreset(chosen);
  const grid = buildGrid({ figures: STAGE1.figures, preset });
  const stage1 = stage1Grid(chosen);
  const key = (r: GridRun) => `${r.figure}/${r.algo}/${r.seed}`;
  assert.equal(grid.length, 50);
  assert.deepEqual(grid.map(key).sort(), stage1.map(key).sort());
  const byKey = new Map(stage1.map((r) => [key(r), r]));
  for (const r of grid) {
    const s = byKey.get(key(r))!;
    assert.deepEqual(r.config, s.config, key(r));
    assert.equal(r.hash, s.hash, key(r));
    assert.equal(r.config.lr, chosen[r.algo].lr);
    assert.equal(r.config.timeLimit, chosen[r.algo].timeLimit);
    assert.equal(r.config.totalSteps, 2_000_000);
    assert.equal(r.config.evalEvery, 50_000);
  }
  assert.deepEqual([...new Set(grid.map((r) => r.seed))].sort(), [0, 1, 2, 3, 4]);
  assert.equal(preset.id, "paper-selected");
});

Deno.test("selectionTable: per algorithm the best cell by the mean over the 2 seeds", () => {
  // Cell 3 wins on seed 1000 alone (0.9 vs 0.6) but cell 1 wins on the mean: (0.5+0.5) vs (0.9+0).
  const t = selectionTable(
    rows((_a, c, seed) => c === 1 ? 0.5 : c === 3 ? (seed === 1000 ? 0.9 : 0) : 0.1),
  );
  assert.equal(t.length, 20);
  const sel = selected(t);
  for (const a of ALGO_IDS) assert.deepEqual(sel[a], { lr: 1e-4, timeLimit: 100 });
  assert.equal(
    t.find((e) => e.algo === "dqn" && e.cell.lr === 3e-4 && e.cell.timeLimit === 100)!
      .score,
    0.45,
  );
  assert.match(formatSelection(t), /\| dqn \| 0\.0001 \| 100 \| 0\.500 \| 2\/2 \| yes \|/);
  // A missing seed is an error naming the cell.
  assert.throws(() => selectionTable(rows(() => 0).slice(1)), {
    message: /dqn at lr 0.0001, time limit 1000 has 1 finished runs; expected 2/,
  });
});

Deno.test("gateOpen: only ADQN or ADQN-VR above 0.5 (seed mean) opens stage 1", () => {
  assert.equal(gateOpen(selectionTable(rows(() => 0.5))), false, "0.5 is not above 0.5");
  assert.equal(
    gateOpen(selectionTable(rows((a) => (a === "dqn" || a === "adqn-state" ? 0.9 : 0)))),
    false,
    "baselines do not open the gate",
  );
  // ADQN-VR: one seed 1.0, the other 0.2: mean 0.6 > 0.5.
  assert.equal(
    gateOpen(
      selectionTable(rows((a, c, s) => (a === "adqn-vr" && c === 2 ? (s === 1000 ? 1 : 0.2) : 0))),
    ),
    true,
  );
});

Deno.test("runCampaign: stage 0 through reproduce with fake workers, gate, rerun does no work, snapshot", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-campaign-" });
  const opts = {
    dir,
    workers: 2,
    budget: TINY,
    workerCommand: fakeWorkerCommand,
    print: () => {},
    snapshot: null,
    // Not a BLAS backend, so that runCampaign leaves OPENBLAS_CORETYPE of this shared test process alone.
    backend: "wasm" as const,
  };
  const outcome = await runCampaign(opts);
  const f = campaignFiles(dir);
  const db = ResultsDb.open(f.db);
  const r0 = stage0Rows(db);
  assert.equal(r0.length, 40);
  const table = selectionTable(r0);
  assert.equal(outcome, gateOpen(table) ? "done" : "blocked");
  const total = db.listRuns().length;
  assert.equal(total, outcome === "done" ? 90 : 40);
  const attempts = db.listRuns().map((r) => r.attempts);
  db.close();
  assert.equal(await runCampaign(opts), outcome);
  const db2 = ResultsDb.open(f.db);
  assert.deepEqual(db2.listRuns().map((r) => r.attempts), attempts, "finished runs never redone");
  db2.close();
  const report = campaignReport(dir, 1);
  assert.match(report, /\| adqn \| 0\.0001 \| 1000 \|/);
  if (outcome === "done") {
    assert.match(report, /adqn outperforms dqn in final performance/);
    const d = ResultsDb.open(f.db);
    const sc = stage1Scores(loadCampaign(d));
    d.close();
    for (const a of ALGO_IDS) assert.deepEqual(sc[a]!.map((x) => x.length), [5, 5]);
  }
  const snap = `${dir}/snapshot.sqlite`;
  snapshotDb(dir, snap);
  const s = ResultsDb.open(snap);
  assert.equal(s.listRuns({ status: "finished" }).length, total);
  assert.equal(stage0Rows(s).length, 40);
  s.close();

  // A new machine: no live database, the committed snapshot only. Finished runs are never redone.
  const fresh = `${dir}/fresh`;
  const lines: string[] = [];
  // onReady (where the background process records the steps its rate counts from) comes once the
  // snapshot is in place: before it, the rate took the restored steps for steps trained.
  const ready: number[] = [];
  const onReady = () => ready.push(campaignStatus(fresh).steps);
  assert.equal(
    await runCampaign({
      ...opts,
      dir: fresh,
      snapshot: snap,
      print: (l) => lines.push(l),
      onReady,
    }),
    outcome,
  );
  assert.deepEqual(ready, [total * TINY.totalSteps], "onReady once, with the snapshot's steps");
  assert.match(
    lines[0],
    new RegExp(`started from the committed snapshot \\(${total} finished runs kept, 0 unfinished`),
  );
  const f2 = ResultsDb.open(campaignFiles(fresh).db);
  assert.deepEqual(
    f2.listRuns().map((r) => r.attempts),
    attempts,
    "nothing redone after a restore",
  );
  f2.close();

  // A snapshot taken mid-run: one run half done, held by a process on another machine (its lease
  // long expired), and a stale checkpoint in the directory. It starts over and ends as it would have.
  const mid = `${dir}/mid.sqlite`;
  Deno.copyFileSync(snap, mid);
  const raw = new DatabaseSync(mid);
  const victim = raw.prepare("SELECT id FROM runs ORDER BY id LIMIT 1").get() as { id: number };
  const want = raw.prepare("SELECT * FROM metrics WHERE run_id = ? ORDER BY env_step").all(
    victim.id,
  );
  raw.prepare(
    "UPDATE runs SET status = 'running', owner = 'gone', owner_host = 'elsewhere', owner_pid = 1, " +
      "heartbeat_ms = 0, ended_at = NULL, env_steps = 600 WHERE id = ?",
  ).run(victim.id);
  raw.prepare("DELETE FROM metrics WHERE run_id = ? AND env_step > 600").run(victim.id);
  raw.close();
  const third = `${dir}/third`;
  Deno.mkdirSync(`${third}/checkpoints`, { recursive: true });
  Deno.writeTextFileSync(`${third}/checkpoints/stale.ckpt`, "older than nothing");
  const lines3: string[] = [];
  await runCampaign({ ...opts, dir: third, snapshot: mid, print: (l) => lines3.push(l) });
  assert.match(lines3[0], /1 unfinished start over; 1 old checkpoints set aside/);
  assert.ok(!existsSync(`${third}/checkpoints/stale.ckpt`));
  const t = ResultsDb.open(campaignFiles(third).db);
  const run = t.getRun(victim.id)!;
  assert.equal(run.status, "finished");
  assert.equal(run.attempts, attempts[0] + 1, "the restarted run's attempt is counted");
  t.close();
  const again = new DatabaseSync(campaignFiles(third).db, { readOnly: true });
  const got = again.prepare("SELECT * FROM metrics WHERE run_id = ? ORDER BY env_step").all(
    victim.id,
  );
  again.close();
  const strip = (rows: unknown[]) =>
    rows.map((r) => ({ ...(r as Record<string, unknown>), wall_seconds: null }));
  assert.deepEqual(strip(got), strip(want), "old points replaced by the same run's points");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("runCampaign: a fixed batch size reaches every worker (runs that fit a session)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-campaign-batch-" });
  const seen: string[][] = [];
  try {
    const outcome = await runCampaign({
      dir,
      workers: 2,
      batch: 3,
      budget: TINY,
      workerCommand: (args) => {
        seen.push([...args]);
        return fakeWorkerCommand(args);
      },
      print: () => {},
      snapshot: null,
      backend: "wasm",
    });
    assert.ok(outcome === "done" || outcome === "blocked", outcome);
    assert.ok(seen.length >= 1);
    for (const args of seen) {
      assert.equal(args[args.indexOf("--batch") + 1], "3", args.join(" "));
      assert.equal(args.includes("--auto-batch"), false, "a fixed size is not re-balanced");
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("start returns at once with a pidfile; status counts; stop checkpoints and exits; start again resumes", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-campaign-bg-" });
  // The fake trainer's delay goes to the campaign's process tree alone: `deno test --parallel` runs
  // test files in one process, and a Deno.env.set here would slow other files' workers too.
  const command = [
    "env",
    "FAKE_DELAY_MS=5",
    Deno.execPath(),
    "run",
    "-A",
    "--config",
    `${ROOT}deno.json`,
    `${ROOT}tests/experiments/fixtures/campaign_fake.ts`,
    dir,
    "1",
  ];
  try {
    const { pid, log } = await startCampaign(dir, { command });
    assert.ok(pid > 0);
    assert.equal(runningPid(dir), pid, "start returns once the process has its pidfile");
    // Wait for the pidfile and a first metric point.
    const until = Date.now() + 60_000;
    while (campaignStatus(dir).steps === 0) {
      assert.ok(
        Date.now() < until,
        `no progress: ${existsSync(log) ? Deno.readTextFileSync(log) : ""}`,
      );
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(runningPid(dir), pid);
    await assert.rejects(startCampaign(dir, { command }), { message: /already running \(pid/ });
    const s = campaignStatus(dir);
    assert.equal(s.finished + s.running + s.left, PLANNED_RUNS);
    assert.equal(await stopCampaign(dir, 60_000), pid);
    assert.equal(runningPid(dir), null);
    assert.equal(existsSync(campaignFiles(dir).pid), false);
    const db = ResultsDb.open(campaignFiles(dir).db);
    const runs = db.listRuns();
    assert.equal(runs.filter((r) => r.status === "running").length, 0, "runs released");
    const finished = runs.filter((r) => r.status === "finished").length;
    db.close();
    assert.equal(await stopCampaign(dir), null, "nothing to stop");
    // Resume in the foreground: the finished runs stay, the rest completes.
    await runCampaign({
      dir,
      workers: 2,
      budget: TINY,
      workerCommand: fakeWorkerCommand,
      print: () => {},
      snapshot: null,
      backend: "wasm",
    });
    const db2 = ResultsDb.open(campaignFiles(dir).db);
    assert.ok(db2.listRuns({ status: "finished" }).length >= Math.max(finished, 40));
    db2.close();
    assert.match(Deno.readTextFileSync(log), /campaign stopped/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("start: a process that fails at once is an error with its exit code and log; one that succeeds at once says so", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-campaign-dead-" });
  try {
    Deno.writeTextFileSync(campaignFiles(dir).log, "an earlier session's line\n");
    const command = ["sh", "-c", "echo 'tasks/campaign.ts: no such file' >&2; exit 3"];
    await assert.rejects(startCampaign(dir, { command }), (e: Error) => {
      assert.match(e.message, /exited at once \(exit code 3\) and is not running/);
      assert.match(e.message, /its log says:\ntasks\/campaign\.ts: no such file$/);
      assert.doesNotMatch(e.message, /earlier session/, "only what this start wrote");
      return true;
    });
    assert.equal(runningPid(dir), null);
    assert.equal(existsSync(campaignFiles(dir).pid), false);
    const silent = ["sh", "-c", "exit 1"];
    await assert.rejects(startCampaign(dir, { command: silent }), {
      message: /exit code 1\).*it wrote nothing to its log/,
    });
    // A campaign with nothing left to do exits 0 at once: not an error, and it says so.
    const done = await startCampaign(dir, { command: ["sh", "-c", "echo 'campaign done'"] });
    assert.equal(done.finished, "campaign done");
    assert.equal(runningPid(dir), null);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("status lists each run being trained: progress, last return, time left at its own rate", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-campaign-status-" });
  try {
    buildCampaignDb(campaignFiles(dir).db, partialCampaign());
    const s = campaignStatus(dir);
    // The fixture's one running run: ADQN-VR (1e-4, 100), seed 1000, three points of 100k steps,
    // 60 s each: 300k steps in 180 s, so 1.7M steps left at 5,000/3 steps/s = 1,020 s = 17 min.
    assert.equal(s.running, 1);
    assert.equal(s.active.length, 1);
    const [a] = s.active;
    assert.deepEqual(
      { algo: a.algo, cell: a.cell, seed: a.seed, stage: a.stage, steps: a.steps },
      { algo: "adqn-vr", cell: { lr: 1e-4, timeLimit: 100 }, seed: 1000, stage: 0, steps: 300_000 },
    );
    assert.equal(a.totalSteps, 2_000_000);
    assert.ok(Math.abs(a.lastReturn - 0.3) < 1e-12);
    assert.ok(Math.abs(a.secondsLeft! - 1020) < 1e-6, String(a.secondsLeft));
    const out = await runCampaignTask("status", "--dir", dir);
    assert.equal(out.code, 0, out.err);
    assert.match(out.out, /not running/);
    assert.match(out.out, /running now:\n/);
    assert.match(
      out.out,
      new RegExp(
        `run ${a.id} \\(stage 0\\) adqn-vr lr 0\\.0001 time limit 100 seed 1000: ` +
          "300,000/2,000,000 steps \\(15%\\), last return 0\\.300, about 17 min left",
      ),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("`deno task campaign`: status of an empty dir; bad input is a clear error, exit 2", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-campaign-cli-" });
  const run = runCampaignTask;
  const st = await run("status", "--dir", dir);
  assert.equal(st.code, 0, st.err);
  assert.match(st.out, /not running/);
  assert.match(st.out, /0 done, 0 running, 0 failed, 90 left/);
  const bad = await run("status", "--dir", dir, "--workers", "0");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--workers 0: expected a positive integer/);
  for (const b of ["0", "two", "1.5"]) {
    const badBatch = await run("start", "--dir", dir, "--batch", b);
    assert.equal(badBatch.code, 2);
    assert.match(
      badBatch.err,
      new RegExp(`--batch ${b.replace(".", "\\.")}: expected a positive integer or auto`),
    );
  }
  assert.equal(existsSync(campaignFiles(dir).pid), false, "a bad --batch starts nothing");
  const unknown = await run("launch");
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command "launch"; usage: deno task campaign start\|status/);
  const snap = await run("snapshot", "--dir", dir, "--to", `${dir}/s.sqlite`);
  assert.equal(snap.code, 2);
  assert.match(snap.err, /nothing to snapshot/);
  assert.equal(existsSync(`${dir}/s.sqlite`), false);
  // report --db: any campaign database (a snapshot, or one merged from cluster sweeps).
  const db = `${dir}/merged.sqlite`;
  buildCampaignDb(db, partialCampaign());
  const rep = await run("report", "--db", db);
  assert.equal(rep.code, 0, rep.err);
  assert.match(rep.out, /\| adqn \| 0\.0001 \| 1000 \| 0\.750 \| 2\/2 \| {2}\|/);
  assert.match(
    rep.out,
    /gate: open: adqn at lr 0\.0001, time limit 1000 reached a final return of 0\.750/,
  );
  const missing = await run("report", "--db", `${dir}/none.sqlite`);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /campaign database .*none\.sqlite does not exist/);
  const misplaced = await run("status", "--db", db);
  assert.equal(misplaced.code, 2);
  assert.match(misplaced.err, /--db is an option of report only/);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("pinCampaignKernels: sets Haswell when unset, keeps it when set alike, refuses other kernels by name", async () => {
  const { pinCampaignKernels, CAMPAIGN_BLAS_KERNELS } = await import(
    "../../lib/experiments/campaign.ts"
  );
  const fake = (v?: string) => {
    const m = new Map<string, string>(v === undefined ? [] : [["OPENBLAS_CORETYPE", v]]);
    return { get: (k: string) => m.get(k), set: (k: string, x: string) => void m.set(k, x), m };
  };
  assert.equal(CAMPAIGN_BLAS_KERNELS, "Haswell");
  const unset = fake();
  pinCampaignKernels(unset);
  assert.equal(unset.m.get("OPENBLAS_CORETYPE"), "Haswell");
  const same = fake("haswell");
  pinCampaignKernels(same);
  assert.equal(same.m.get("OPENBLAS_CORETYPE"), "haswell");
  assert.throws(
    () => pinCampaignKernels(fake("SkylakeX")),
    /OPENBLAS_CORETYPE is SkylakeX.*Haswell/,
  );
});
