import { existsSync } from "../../lib/files.ts";
import assert from "assert";
import { ResultsDb } from "../../lib/results/db.ts";
import { reproduce, type WorkerCommand } from "../../lib/experiments/reproduce.ts";
import { ProgressView } from "../../lib/experiments/progress.ts";
import { runOne } from "../../lib/experiments/runner.ts";
import { buildGrid } from "../../lib/experiments/grid.ts";
import { fakeTrainer, fakeWorkerCommand, withoutWall } from "./fake_trainer.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function quietView() {
  const lines: string[] = [];
  const dec = new TextDecoder();
  const view = new ProgressView({
    tty: false,
    writer: {
      writeSync: (p: Uint8Array) => (lines.push(dec.decode(p)), p.length),
      isTerminal: () => false,
    },
  });
  return { view, lines };
}

function setup() {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-reproduce-" });
  return {
    dir,
    dbPath: `${dir}/results.sqlite`,
    outDir: `${dir}/out`,
    checkpointDir: `${dir}/runs`,
  };
}

/** Metrics of one grid run trained alone, in process, without interruption. */
async function referenceMetrics(seed: number, algo: string) {
  const g = buildGrid({ figures: ["1a"], preset: "quick", seeds: seed + 1 })
    .find((r) => r.seed === seed && r.algo === algo)!;
  const s = setup();
  const db = ResultsDb.open(s.dbPath);
  const out = await runOne(db, g.config, {
    trainer: fakeTrainer(),
    checkpointDir: s.checkpointDir,
  });
  const m = db.metrics(out.runId);
  db.close();
  return m;
}

Deno.test("`reproduce()` trains a panel in parallel workers, writes the figure, and does no work when rerun", async () => {
  const s = setup();
  let spawned = 0;
  const counting: WorkerCommand = (args) => (spawned++, fakeWorkerCommand(args));
  const printed: string[] = [];
  const { view } = quietView();
  const r = await reproduce({
    figures: ["1a"],
    preset: "quick",
    seeds: 2,
    workers: 2,
    ...s,
    png: false,
    workerCommand: counting,
    view,
    print: (l) => printed.push(l),
  });
  assert.equal(r.exitCode, 0, printed.join("\n"));
  assert.equal(spawned, 2);
  assert.equal(r.runs.length, 10);
  assert.deepEqual(r.counts, { queued: 0, running: 0, finished: 10, failed: 0 });
  const json = `${s.outDir}/figure1a-quick.json`;
  const fig = JSON.parse(Deno.readTextFileSync(json));
  assert.equal(fig.data.length, 11, "5 bands, 5 means, 1 reference line");
  // HTML (4.6 MB of Plotly) only on demand: `deno task figures --html`.
  assert.equal(existsSync(`${s.outDir}/figure1a-quick.html`), false);
  assert.ok(printed.some((l) => l.includes(json)));
  assert.equal(r.table.length, 5);
  for (const row of r.table) assert.equal(row.n, 2);
  assert.ok(
    printed.some((l) => /ADQN-State-VR\s+-?\d\.\d{3} ± \d\.\d{3}\s+2/.test(l)),
    printed.join("\n"),
  );
  const db = ResultsDb.open(s.dbPath);
  const before = r.runs.map((run) => db.metrics(run.id));
  db.close();

  const again = await reproduce({
    figures: ["1a"],
    preset: "quick",
    seeds: 2,
    workers: 2,
    ...s,
    png: false,
    workerCommand: counting,
    view,
    print: () => {},
  });
  assert.equal(again.exitCode, 0);
  assert.equal(spawned, 2, "no worker started for a finished grid");
  const db2 = ResultsDb.open(s.dbPath);
  assert.deepEqual(again.runs.map((run) => db2.metrics(run.id)), before);
  assert.deepEqual(again.runs.map((run) => run.attempts), r.runs.map(() => 1));
  db2.close();
});

Deno.test("`deno task reproduce` killed with SIGKILL resumes on rerun to the same results", async () => {
  const s = setup();
  const args = [
    "--figure",
    "1a",
    "--preset",
    "quick",
    "--seeds",
    "1",
    "--workers",
    "2",
    "--db",
    s.dbPath,
    "--out",
    s.outDir,
    "--checkpoint-dir",
    s.checkpointDir,
    "--skip-png",
  ];
  const parent = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}tests/experiments/fixtures/reproduce_fake.ts`,
      ...args,
    ],
    env: { FAKE_DELAY_MS: "0.4", NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  // Kill the parent once some run is under way and has logged points.
  let killed = false;
  for (let i = 0; i < 400 && !killed; i++) {
    await new Promise((r) => setTimeout(r, 25));
    try {
      const db = ResultsDb.open(s.dbPath, { readOnly: true });
      const partial = db.listRuns().some((r) => r.status === "running" && r.envSteps >= 5000);
      db.close();
      if (partial) {
        parent.kill("SIGKILL");
        killed = true;
      }
    } catch { /* not created yet */ }
  }
  assert.ok(killed, "the parent was killed mid-way");
  await parent.status;

  const printed: string[] = [];
  const { view } = quietView();
  const r = await reproduce({
    figures: ["1a"],
    preset: "quick",
    seeds: 1,
    workers: 2,
    ...s,
    png: false,
    workerCommand: fakeWorkerCommand,
    view,
    pollMs: 100,
    print: (l) => printed.push(l),
  });
  assert.equal(r.exitCode, 0, printed.join("\n"));
  assert.deepEqual(r.counts, { queued: 0, running: 0, finished: 5, failed: 0 });
  const resumed = r.runs.filter((run) => run.attempts > 1);
  assert.ok(resumed.length >= 1, "at least one run was interrupted and resumed");
  const db = ResultsDb.open(s.dbPath, { readOnly: true });
  for (const run of resumed.slice(0, 2)) {
    const expected = await referenceMetrics(run.seed, run.algo);
    assert.deepEqual(withoutWall(db.metrics(run.id)), withoutWall(expected), run.algo);
  }
  db.close();
});

Deno.test("`reproduce()` stops after one round whose failing workers moved no run (a crash loop)", async () => {
  const s = setup();
  let spawned = 0;
  const crashing: WorkerCommand = () => (spawned++, {
    command: Deno.execPath(),
    args: ["eval", "console.error('no backend here'); Deno.exit(3)"],
  });
  const printed: string[] = [];
  const { view } = quietView();
  const r = await reproduce({
    figures: ["1a"],
    preset: "quick",
    seeds: 1,
    workers: 2,
    ...s,
    png: false,
    workerCommand: crashing,
    view,
    print: (l) => printed.push(l),
  });
  assert.equal(r.exitCode, 1);
  assert.equal(spawned, 2, "one round of 2 workers, not respawned");
  assert.match(
    printed.join("\n"),
    /worker \d exited with code 3 without any run making progress:\nno backend here/,
  );
  assert.deepEqual(r.counts, { queued: 5, running: 0, finished: 0, failed: 0 });
});
