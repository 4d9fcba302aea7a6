/**
 * End-to-end test against a real Slurm: a tiny sweep of real training runs is submitted with
 * sbatch, waited for, collected, and checked (every run finished exactly once; a resubmission does
 * no work); then an array task is cancelled mid-run, requeued, and checked to resume from its
 * checkpoint. Needs a working `sinfo` (CI starts a single-node cluster with .ci/slurm-up.sh, as
 * root); skipped with a message otherwise. SLURM_E2E_PARTITION picks a partition.
 */
import assert from "assert";
import { collect, formatCollectReport } from "../../lib/cluster/collect.ts";
import { type SweepPlan, taskDbPath } from "../../lib/cluster/plan.ts";
import { runCommand, slurmAvailable } from "../../lib/cluster/slurm.ts";
import { prepareSweep, type SweepCliOptions } from "../../lib/cluster/sweep.ts";
import { readTaskEvents, type TaskEvent } from "../../lib/cluster/task.ts";
import { ResultsDb } from "../../lib/results/db.ts";

const available = await slurmAvailable();
if (!available) {
  console.log(
    "tests/cluster/slurm_e2e_test.ts: SKIPPED: `sinfo` does not answer here. Start a " +
      "single-node Slurm with `.ci/slurm-up.sh` (as root; Debian packages slurm-wlm and munge).",
  );
}

/** Tiny real runs: Heaven-Hell-3, a few hundred steps, a small network. */
const TINY = [
  "prepopulateSteps=200",
  "timeLimit=50",
  "model.gruHidden=16",
  "model.headHidden=[32]",
  "model.obsEmbedding=8",
  "model.actionEmbedding=8",
  "model.stateEmbedding=8",
];

function sweepOptions(out: string, extra: Partial<SweepCliOptions>): SweepCliOptions {
  const partition = Deno.env.get("SLURM_E2E_PARTITION");
  return {
    figure: ["1a"],
    preset: "quick",
    emit: "slurm",
    out,
    time: "00:10:00",
    grace: "60",
    deno: Deno.execPath(),
    ...(partition ? { partition } : {}),
    ...extra,
  };
}

async function slurm(cmd: string, ...args: string[]): Promise<string> {
  const out = await runCommand(cmd, args);
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${out.stderr.trim()}`);
  }
  return out.stdout.trim();
}

async function sleep(ms: number) {
  await new Promise((r) => setTimeout(r, ms));
}

/** Logs of a sweep, for failure messages. */
function logs(dir: string): string {
  const parts: string[] = [];
  try {
    for (const e of Deno.readDirSync(`${dir}/logs`)) {
      parts.push(`--- ${e.name}\n${Deno.readTextFileSync(`${dir}/logs/${e.name}`).slice(-3000)}`);
    }
  } catch { /* none */ }
  return parts.join("\n");
}

/** Wait until no task of `job` is pending, running or completing. */
async function waitGone(job: string, dir: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const states = await slurm("squeue", "-h", "-j", job, "-o", "%i %T %r");
    if (states === "") return;
    await sleep(500);
  }
  const states = await slurm("squeue", "-h", "-j", job, "-o", "%i %T %r");
  throw new Error(`job ${job} still queued after ${timeoutMs / 1000} s:\n${states}\n${logs(dir)}`);
}

async function waitFor(what: string, test: () => boolean, timeoutMs: number, dir: string) {
  const until = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${logs(dir)}`);
    await sleep(200);
  }
}

function allEvents(plan: SweepPlan): TaskEvent[] {
  const out: TaskEvent[] = [];
  for (let t = 0; t < plan.tasks; t++) out.push(...readTaskEvents(plan.dir, t));
  return out;
}

function finishedCounts(plan: SweepPlan): Map<string, number> {
  const n = new Map<string, number>(plan.runs.map((r) => [`${r.hash}-${r.seed}`, 0]));
  for (const e of allEvents(plan)) {
    if (e.event === "run-end" && e.status === "finished") n.set(e.key!, (n.get(e.key!) ?? 0) + 1);
  }
  return n;
}

Deno.test({
  name: "Slurm: a sweep of real runs finishes each run exactly once; a cancelled task resumes",
  ignore: !available,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "adqn-slurm-e2e-" });
    const submitted: string[] = [];
    try {
      const main = `${root}/results.sqlite`;

      await t.step("submit a sweep, wait, collect: every run finished exactly once", async () => {
        const { plan, script } = prepareSweep(sweepOptions(`${root}/sweep`, {
          algos: "dqn,adqn",
          seeds: "2",
          "batch-size": "2",
          set: [...TINY, "totalSteps=600", "logEvery=200"],
        }));
        assert.equal(plan.runs.length, 4);
        assert.equal(plan.tasks, 2);
        const t0 = Date.now();
        const job = (await slurm("sbatch", "--parsable", script)).split(";")[0];
        submitted.push(job);
        await waitGone(job, plan.dir, 240_000);
        console.log(`sweep of 4 runs done after ${((Date.now() - t0) / 1000).toFixed(1)} s`);

        const report = collect({ from: plan.dir, db: main });
        assert.equal(report.finished.length, 4, formatCollectReport(report) + logs(plan.dir));
        assert.equal(report.files.length, 2);
        assert.equal(report.duplicates.size, 0);
        assert.deepEqual([...finishedCounts(plan).values()], [1, 1, 1, 1]);
        const db = ResultsDb.open(main, { readOnly: true });
        try {
          for (const s of report.finished) {
            const run = db.findRun(s.run.hash, s.run.seed)!;
            assert.equal(run.attempts, 1);
            assert.ok(run.envSteps >= 600, `${run.envSteps} steps`);
            const steps = db.metrics(run.id).map((p) => p.envStep);
            assert.ok(steps.length >= 3 && steps.at(-1)! >= 600, `points at ${steps}`);
          }
        } finally {
          db.close();
        }

        // Submitting the same script again does no work, and collecting again changes nothing.
        const again = (await slurm("sbatch", "--parsable", script)).split(";")[0];
        submitted.push(again);
        await waitGone(again, plan.dir, 240_000);
        console.log(`resubmission done after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        for (let task = 0; task < plan.tasks; task++) {
          const ends = readTaskEvents(plan.dir, task).filter((e) => e.event === "run-end");
          assert.deepEqual(ends.map((e) => e.status), [
            "finished",
            "finished",
            "skipped",
            "skipped",
          ]);
        }
        assert.deepEqual([...finishedCounts(plan).values()], [1, 1, 1, 1]);
        const second = collect({ from: plan.dir, db: main });
        assert.equal(second.stats.runsAdded + second.stats.runsUpdated, 0);
        assert.equal(second.stats.pointsAdded + second.stats.pointsReplaced, 0);
        assert.equal(second.finished.length, 4);
      });

      await t.step(
        "cancel a task mid-run, requeue it: it resumes from its checkpoint",
        async () => {
          const { plan, script } = prepareSweep(sweepOptions(`${root}/resume`, {
            algos: "adqn",
            seeds: "1",
            "checkpoint-every": "1000",
            set: [...TINY, "totalSteps=30000", "logEvery=1000"],
          }));
          const total = 12000;
          const t1 = Date.now();
          const job = (await slurm("sbatch", "--parsable", script)).split(";")[0];
          submitted.push(job);
          const task = `${job}_0`;
          const ckptDir = `${plan.dir}/checkpoints`;
          await waitFor(
            "the first checkpoint",
            () => [...Deno.readDirSync(ckptDir)].some((e) => e.name.endsWith(".ckpt")),
            180_000,
            plan.dir,
          );
          console.log(`cancelling ${task} after ${((Date.now() - t1) / 1000).toFixed(1)} s`);
          await slurm("scancel", task);
          await waitGone(task, plan.dir, 60_000);
          console.log(`cancelled after ${((Date.now() - t1) / 1000).toFixed(1)} s`);
          const stopped = readTaskEvents(plan.dir, 0).filter((e) => e.event === "run-end");
          assert.equal(stopped.length, 1, logs(plan.dir));
          assert.equal(stopped[0].status, "interrupted", logs(plan.dir));
          const stopStep = stopped[0].envSteps!;
          assert.ok(stopStep > 0 && stopStep < total, `stopped at ${stopStep}`);
          assert.ok(readTaskEvents(plan.dir, 0).some((e) => e.event === "signal"));

          // Requeue; Slurm holds a requeued job back (BeginTime, ~2 min): release it at once.
          await slurm("scontrol", "requeue", task);
          await slurm("scontrol", "update", `JobId=${task}`, "StartTime=now");
          await waitGone(task, plan.dir, 240_000);
          console.log(`resumed task done after ${((Date.now() - t1) / 1000).toFixed(1)} s`);

          const events = readTaskEvents(plan.dir, 0);
          const ends = events.filter((e) => e.event === "run-end");
          assert.equal(ends.length, 2, logs(plan.dir));
          assert.equal(ends[1].status, "finished", logs(plan.dir));
          assert.equal(ends[1].mode, "resumed");
          assert.equal(ends[1].restart, 1); // Slurm's restart count: the same task, requeued
          assert.equal(ends[1].job, ends[0].job);
          assert.match(logs(plan.dir), /resuming from checkpoint/);
          const db = ResultsDb.open(taskDbPath(plan.dir, 0), { readOnly: true });
          try {
            const [run] = db.listRuns();
            assert.equal(run.status, "finished");
            assert.equal(run.attempts, 2);
            // Points from both attempts, one per logEvery, none missing.
            const steps = db.metrics(run.id).map((p) => Math.floor(p.envStep / 1000));
            for (let k = 1; k <= 29; k++) assert.ok(steps.includes(k), `no point near ${k}000`);
            const before = db.metrics(run.id).filter((p) => p.envStep <= stopStep);
            assert.ok(before.length >= 1, "points of the first attempt were kept");
          } finally {
            db.close();
          }
          const report = collect({ from: plan.dir, db: main });
          assert.equal(report.finished.length, 1, formatCollectReport(report));
          assert.deepEqual([...finishedCounts(plan).values()], [1]);
        },
      );
    } finally {
      for (const job of submitted) await runCommand("scancel", [job]).catch(() => {});
      await Deno.remove(root, { recursive: true });
    }
  },
});
