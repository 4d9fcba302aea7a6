/**
 * End-to-end test against a real Slurm: a tiny sweep of real training runs is submitted with
 * sbatch, waited for, collected, and checked (every run finished exactly once; a resubmission does
 * no work); then one array task gets the time-limit warning (SIGTERM to the batch shell while
 * the job runs: it checkpoints and requeues itself), then a cancel followed by a requeue, and is
 * checked to resume from its checkpoint each time. Needs a working `sinfo` (CI starts a single-node cluster with .ci/slurm-up.sh, as
 * root); skipped with a message otherwise. SLURM_E2E_PARTITION picks a partition.
 */
import assert from "assert";
import { collect, formatCollectReport } from "../../lib/cluster/collect.ts";
import { type SweepPlan, taskDbPath } from "../../lib/cluster/plan.ts";
import { runCommand, slurmAvailable } from "../../lib/cluster/slurm.ts";
import { prepareSweep, type SweepCliOptions } from "../../lib/cluster/sweep.ts";
import { readTaskEvents, type TaskEvent } from "../../lib/cluster/task.ts";
import { ResultsDb } from "../../lib/results/db.ts";

/** Why the test cannot run here, or null when Slurm answers and has a node that takes jobs. */
async function unavailable(): Promise<string | null> {
  if (!(await slurmAvailable())) return "`sinfo` does not answer here";
  const partition = Deno.env.get("SLURM_E2E_PARTITION");
  const out = await runCommand("sinfo", [
    "-h",
    "-o",
    "%t",
    ...(partition ? ["-p", partition] : []),
  ]);
  const states = out.stdout.split("\n").map((s) => s.trim()).filter(Boolean);
  if (!states.some((s) => /^(idle|mix|alloc|comp)/.test(s))) {
    return `no node takes jobs (sinfo node states: ${states.join(", ") || "none"})`;
  }
  return null;
}

const skipReason = await unavailable();
if (skipReason) {
  console.log(
    `tests/cluster/slurm_e2e_test.ts: SKIPPED: ${skipReason}. Start a single-node Slurm with ` +
      "`.ci/slurm-up.sh` (as root; Debian packages slurm-wlm and munge).",
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
  name: "Slurm: a sweep of real runs finishes each run exactly once; interrupted tasks resume",
  ignore: skipReason !== null,
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
        "a warned task requeues itself, a cancelled one is requeued: both resume",
        async () => {
          const step = 500;
          const total = 12000;
          const { plan, script } = prepareSweep(sweepOptions(`${root}/resume`, {
            algos: "adqn",
            seeds: "1",
            "checkpoint-every": String(step),
            set: [...TINY, `totalSteps=${total}`, `logEvery=${step}`],
          }));
          const t1 = Date.now();
          const since = () => `${((Date.now() - t1) / 1000).toFixed(1)} s`;
          const job = (await slurm("sbatch", "--parsable", script)).split(";")[0];
          submitted.push(job);
          const task = `${job}_0`;
          const ckpt = `${plan.dir}/checkpoints/${plan.runs[0].hash}-${plan.runs[0].seed}.ckpt`;
          const mtime = () => {
            try {
              return Deno.statSync(ckpt).mtime?.getTime() ?? 0;
            } catch {
              return 0;
            }
          };
          const ends = () => readTaskEvents(plan.dir, 0).filter((e) => e.event === "run-end");
          const state = () => slurm("squeue", "-h", "-j", task, "-o", "%T");
          /**
           * Release a requeued task at once (Slurm holds it back ~2 min: BeginTime). The update is
           * repeated while the task stays pending: under load, one issued while the requeue is
           * still being processed can be overridden by the requeue's own BeginTime (seen once in
           * CI: the task never restarted within 3 minutes).
           */
          const release = async () => {
            const until = Date.now() + 60_000;
            while ((await state()) !== "PENDING") {
              if (Date.now() > until) throw new Error(`${task} not pending\n${logs(plan.dir)}`);
              await sleep(200);
            }
            const started = Date.now() + 90_000;
            while ((await state()) === "PENDING") {
              if (Date.now() > started) {
                const why = await slurm("squeue", "-h", "-j", task, "-o", "%T %r %S");
                throw new Error(`${task} still pending (${why})\n${logs(plan.dir)}`);
              }
              // Not `slurm()`: the task may start between the check and the update, which then
              // fails ("no longer pending"); the next check decides.
              await runCommand("scontrol", ["update", `JobId=${task}`, "StartTime=now"]);
              await sleep(1000);
            }
          };

          // 1. The time-limit warning, as --signal=B:TERM@grace sends it: SIGTERM to the batch
          // shell (here the trainer) while the job keeps RUNNING. The task checkpoints, then
          // requeues itself.
          await waitFor("the first checkpoint", () => mtime() > 0, 180_000, plan.dir);
          console.log(`warning ${task} after ${since()}`);
          await slurm("scancel", "--signal=TERM", "--batch", task);
          await waitFor(
            "the self-requeue",
            () => {
              return readTaskEvents(plan.dir, 0).some((e) => e.event === "requeue");
            },
            60_000,
            plan.dir,
          );
          assert.equal(ends().length, 1, logs(plan.dir));
          assert.equal(ends()[0].status, "interrupted", logs(plan.dir));
          const firstStop = ends()[0].envSteps!;
          assert.ok(firstStop > 0 && firstStop < total, `stopped at ${firstStop}`);
          const requeue = readTaskEvents(plan.dir, 0).find((e) => e.event === "requeue")!;
          assert.match(requeue.message ?? "", /requeued itself after the time-limit warning/);
          await release();

          // 2. A cancel mid-run (after the resumed run wrote a new checkpoint), then a requeue.
          const before = mtime();
          await waitFor(
            "a checkpoint of the second start",
            () => mtime() > before,
            180_000,
            plan.dir,
          );
          console.log(`cancel ${task} after ${since()}`);
          await slurm("scancel", task);
          await waitGone(task, plan.dir, 60_000);
          assert.equal(ends().length, 2, logs(plan.dir));
          assert.equal(ends()[1].status, "interrupted", logs(plan.dir));
          assert.equal(ends()[1].mode, "resumed");
          const secondStop = ends()[1].envSteps!;
          assert.ok(secondStop > firstStop && secondStop < total, `stopped at ${secondStop}`);
          assert.ok(
            !readTaskEvents(plan.dir, 0).some((e) => e.event === "requeue" && e.restart === 1),
            "a cancelled task does not requeue itself",
          );
          await slurm("scontrol", "requeue", task);
          await release();
          await waitGone(task, plan.dir, 240_000);
          console.log(`resumed task done after ${since()}`);

          const all = ends();
          assert.equal(all.length, 3, logs(plan.dir));
          assert.deepEqual(all.map((e) => [e.status, e.mode, e.restart]), [
            ["interrupted", "started", 0],
            ["interrupted", "resumed", 1],
            ["finished", "resumed", 2],
          ]);
          assert.ok(all.every((e) => e.job === task));
          assert.equal(readTaskEvents(plan.dir, 0).filter((e) => e.event === "signal").length, 2);
          assert.equal(logs(plan.dir).match(/resuming from checkpoint/g)?.length, 2);
          const db = ResultsDb.open(taskDbPath(plan.dir, 0), { readOnly: true });
          try {
            const [run] = db.listRuns();
            assert.equal(run.status, "finished");
            assert.equal(run.attempts, 3);
            // Points of all three starts, one per logEvery, none missing.
            const points = db.metrics(run.id);
            const slots = points.map((p) => Math.floor(p.envStep / step));
            for (let k = 1; k < total / step; k++) {
              assert.ok(slots.includes(k), `no point in [${k * step}, ${(k + 1) * step})`);
            }
            assert.ok(points.at(-1)!.envStep >= total);
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
