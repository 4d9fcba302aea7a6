// End-to-end tests of `deno task train` and `deno task reproduce` with the real trainer on tiny
// budgets (small networks, a few thousand environment steps).
import assert from "assert";
import { ResultsDb } from "../../lib/results/db.ts";
import type { MetricRecord } from "../../lib/results/db.ts";
import { TINY } from "./fixtures/tiny.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function trainCommand(cwd: string, steps: number) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}tasks/train.ts`,
      "--env",
      "heaven-hell-3",
      "--algo",
      "adqn",
      "--seed",
      "7",
      "--steps",
      String(steps),
      ...TINY,
    ],
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

function withoutWall(points: MetricRecord[]) {
  return points.map(({ wallSeconds: _w, ...rest }) => rest);
}

function readMetrics(dbPath: string) {
  const db = ResultsDb.open(dbPath, { readOnly: true });
  const run = db.listRuns()[0];
  const out = { run, metrics: db.metrics(run.id) };
  db.close();
  return out;
}

Deno.test("`deno task train` killed with SIGKILL resumes to the metrics of an uninterrupted run, and a rerun of a finished run does no work", async () => {
  const steps = 3000;
  // Uninterrupted reference.
  const refDir = Deno.makeTempDirSync({ prefix: "adqn-train-ref-" });
  const ref = await trainCommand(refDir, steps).output();
  assert.equal(ref.code, 0, new TextDecoder().decode(ref.stderr));
  const expected = readMetrics(`${refDir}/data/results.sqlite`);
  assert.equal(expected.run.status, "finished");
  // The backend `auto` resolved to is recorded with the run (wasm-blas where OpenBLAS loads).
  assert.ok(["wasm", "wasm-blas"].includes(expected.run.machine?.backend ?? ""), "machine.backend");
  assert.ok(expected.metrics.length >= 12, `${expected.metrics.length} points`);

  // Killed once a checkpoint has certainly been written (a point is logged just before each one).
  const dir = Deno.makeTempDirSync({ prefix: "adqn-train-kill-" });
  const dbPath = `${dir}/data/results.sqlite`;
  const child = trainCommand(dir, steps).spawn();
  let killedAt = -1;
  for (let i = 0; i < 2000 && killedAt < 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
    try {
      const db = ResultsDb.open(dbPath, { readOnly: true });
      const run = db.listRuns()[0];
      const n = run ? db.metrics(run.id).length : 0;
      db.close();
      if (n >= 3) {
        child.kill("SIGKILL");
        killedAt = n;
      }
    } catch { /* not created yet */ }
  }
  await Promise.all([child.stdout.cancel(), child.stderr.cancel()]);
  const status = await child.status;
  assert.ok(killedAt > 0, "killed mid-way");
  assert.equal(status.signal, "SIGKILL");
  const mid = readMetrics(dbPath);
  assert.equal(mid.run.status, "running");
  assert.ok(mid.metrics.length < expected.metrics.length, "stopped before the end");

  const resumed = await trainCommand(dir, steps).output();
  const text = new TextDecoder().decode(resumed.stderr) + new TextDecoder().decode(resumed.stdout);
  assert.equal(resumed.code, 0, text);
  assert.match(text, /resuming from checkpoint/);
  const after = readMetrics(dbPath);
  assert.equal(after.run.status, "finished");
  assert.equal(after.run.attempts, 2);
  assert.deepEqual(withoutWall(after.metrics), withoutWall(expected.metrics));

  // Finished: a rerun does nothing.
  const again = await trainCommand(dir, steps).output();
  assert.equal(again.code, 0);
  assert.match(new TextDecoder().decode(again.stdout), /already finished.*nothing to do/);
  const final = readMetrics(dbPath);
  assert.equal(final.run.attempts, 2);
  assert.deepEqual(final.metrics, after.metrics);
});

Deno.test("`deno task reproduce` trains a panel with real workers and writes the figure and table", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-reproduce-real-" });
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}tasks/reproduce.ts`,
      "--figure",
      "1a",
      "--preset",
      "quick",
      "--seeds",
      "1",
      "--workers",
      "2",
      "--skip-png",
      "--set",
      "totalSteps=1000",
      ...TINY,
    ],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr + stdout);
  const m = /figure 1a: (\S+\.json)/.exec(stdout);
  assert.ok(m, stdout);
  const fig = JSON.parse(Deno.readTextFileSync(`${dir}/${m[1]}`));
  assert.equal(fig.data.length, 11);
  for (const algo of ["DQN", "ADQN", "ADQN-VR", "ADQN-State", "ADQN-State-VR"]) {
    assert.match(stdout, new RegExp(`1a\\s+${algo}\\s+-?\\d+\\.\\d{3} ± 0\\.000\\s+1\\s+0`));
  }
  // `deno task figures` finds the same runs given the same preset and settings, and exports CSV.
  const figs = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}tasks/figures.ts`,
      "--figure",
      "1a",
      "--preset",
      "quick",
      "--skip-png",
      "--csv",
      "--out",
      "figs",
      "--set",
      "totalSteps=1000",
      ...TINY,
    ],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const figText = new TextDecoder().decode(figs.stdout);
  assert.equal(figs.code, 0, figText + new TextDecoder().decode(figs.stderr));
  const regenerated = JSON.parse(Deno.readTextFileSync(`${dir}/figs/${m[1].slice(4)}`));
  assert.deepEqual(regenerated, fig);
  assert.match(figText, /csv: figs\/runs.csv, figs\/metrics.csv/);
  assert.equal(Deno.readTextFileSync(`${dir}/figs/runs.csv`).trim().split("\n").length, 6);

  const db = ResultsDb.open(`${dir}/data/results.sqlite`, { readOnly: true });
  const runs = db.listRuns();
  assert.equal(runs.length, 5);
  for (const r of runs) {
    assert.equal(r.status, "finished");
    assert.ok(db.metrics(r.id).length >= 4);
    assert.ok(["wasm", "wasm-blas"].includes(r.machine?.backend ?? ""), "machine.backend");
  }
  db.close();
});
