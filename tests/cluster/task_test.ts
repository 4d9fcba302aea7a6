import assert from "assert";
import { makePlan, type SweepPlan, taskDbPath } from "../../lib/cluster/plan.ts";
import { acquireTaskLock, batchGroups, readTaskEvents, runTask } from "../../lib/cluster/task.ts";
import type { Trainer } from "../../lib/experiments/runner.ts";
import { type FakeRun, fakeRunsOneByOne } from "../experiments/fake_trainer.ts";
import { ResultsDb } from "../../lib/results/db.ts";
import { configHash, resolveTrainConfig } from "../../lib/train/config.ts";
import type { MetricPoint } from "../../lib/train/loop.ts";

/**
 * A fake run with train()'s contract: 50-step episodes, a metric point every logEvery steps,
 * a JSON checkpoint `{ envStep }` every logEvery steps and when aborted, resume from it.
 */
function fakeRun(calls: { starts: number[] }, failOn?: number): FakeRun {
  return async (config, options) => {
    let step = 0;
    if (options.checkpointPath) {
      try {
        step = JSON.parse(await Deno.readTextFile(options.checkpointPath)).envStep;
      } catch { /* fresh start */ }
    }
    calls.starts.push(step);
    if (config.seed === failOn) throw new Error(`fake failure of seed ${config.seed}`);
    const metrics: MetricPoint[] = [];
    const save = () =>
      options.checkpointPath &&
      Deno.writeTextFile(options.checkpointPath, JSON.stringify({ envStep: step }));
    while (step < config.totalSteps) {
      if (options.signal?.aborted) {
        await save();
        return {
          config,
          metrics,
          finished: false,
          envSteps: step,
          episodes: step / 50,
          wallSeconds: 0,
        };
      }
      step += 50;
      options.onProgress?.({
        envStep: step,
        totalSteps: config.totalSteps,
        episodes: step / 50,
        lastReturn: 1,
      });
      if (step % config.logEvery === 0) {
        const p: MetricPoint = {
          envStep: step,
          episodes: step / 50,
          avgReturn: step / 1000,
          epsilon: 1,
          lossQ: 0,
          lossU: 0,
          trainedSteps: step,
          wallSeconds: 0,
        };
        metrics.push(p);
        await options.onMetric?.(p);
        await save();
      }
      await new Promise((r) => setTimeout(r, 0));
    }
    return { config, metrics, finished: true, envSteps: step, episodes: step / 50, wallSeconds: 0 };
  };
}

/** The fake trainer: {@link fakeRun} for each run of a call, one after another. */
function fakeTrainer(calls: { starts: number[] }, failOn?: number): Trainer {
  return fakeRunsOneByOne(fakeRun(calls, failOn));
}

function planIn(dir: string, seeds: number[], batchSize: number): SweepPlan {
  return makePlan({
    dir,
    batchSize,
    runs: seeds.map((seed) => {
      const config = resolveTrainConfig({
        env: "heaven-hell-3",
        algo: "dqn",
        seed,
        totalSteps: 400,
        prepopulateSteps: 100,
        logEvery: 100,
      });
      return {
        hash: configHash(config),
        seed,
        label: "test",
        config: config as unknown as SweepPlan["runs"][0]["config"],
      };
    }),
  });
}

const quiet = () => {};
const noJob = (dir: string) => ({ job: null, restart: 0, log: quiet, localDir: `${dir}/local` });

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "task-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("`runTask()` trains its batch into its own database and does no work a second time", async () => {
  await withDir(async (dir) => {
    const plan = planIn(dir, [0, 1, 2], 2);
    const calls = { starts: [] as number[] };
    const result = await runTask({ plan, task: 0, trainer: fakeTrainer(calls), ...noJob(dir) });
    assert.equal(result.exitCode, 0);
    assert.deepEqual(result.outcomes.map((o) => [o.run.seed, o.outcome.status]), [
      [0, "finished"],
      [1, "finished"],
    ]);
    assert.deepEqual(calls.starts, [0, 0]);
    // Finished runs' checkpoints are removed (after their results were published).
    assert.deepEqual([...Deno.readDirSync(`${dir}/checkpoints`)], []);
    const db = ResultsDb.open(taskDbPath(dir, 0), { readOnly: true });
    try {
      assert.deepEqual(db.listRuns().map((r) => [r.seed, r.status, r.envSteps]), [
        [0, "finished", 400],
        [1, "finished", 400],
      ]);
      assert.deepEqual(db.metrics(1).map((p) => p.envStep), [100, 200, 300, 400]);
    } finally {
      db.close();
    }
    // Task 1's run is not in task 0's database.
    assert.throws(() => ResultsDb.open(taskDbPath(dir, 1), { create: false }), /does not exist/);

    const again = await runTask({ plan, task: 0, trainer: fakeTrainer(calls), ...noJob(dir) });
    assert.equal(again.exitCode, 0);
    assert.deepEqual(again.outcomes.map((o) => o.outcome.status), ["skipped", "skipped"]);
    assert.deepEqual(calls.starts, [0, 0]); // the trainer was not called again
    const events = readTaskEvents(dir, 0);
    assert.deepEqual(
      events.filter((e) => e.event === "run-end").map((e) => e.status),
      ["finished", "finished", "skipped", "skipped"],
    );
  });
});

Deno.test("`runTask()` stops on its signal with a checkpoint, and the next start resumes from it", async () => {
  await withDir(async (dir) => {
    const plan = planIn(dir, [5, 6], 2);
    const calls = { starts: [] as number[] };
    const abort = new AbortController();
    const trainer = fakeTrainer(calls);
    const run = fakeRun(calls);
    const stopping = fakeRunsOneByOne((config, options) =>
      run(config, {
        ...options,
        onMetric: async (p) => {
          await options.onMetric?.(p);
          // Each stored point is already published, before the checkpoint that follows it.
          const shared = ResultsDb.open(taskDbPath(dir, 0), { readOnly: true });
          try {
            assert.equal(shared.metrics(shared.listRuns()[0].id).at(-1)?.envStep, p.envStep);
          } finally {
            shared.close();
          }
          if (p.envStep === 200) abort.abort(); // as a SIGTERM would
        },
      })
    );
    const first = await runTask({
      plan,
      task: 0,
      trainer: stopping,
      signal: abort.signal,
      ...noJob,
    });
    assert.equal(first.exitCode, 143);
    assert.ok(first.interrupted);
    assert.deepEqual(first.outcomes.map((o) => o.outcome.status), ["interrupted"]);
    assert.equal([...Deno.readDirSync(`${dir}/checkpoints`)].length, 1);

    const second = await runTask({ plan, task: 0, trainer, ...noJob(dir) });
    assert.equal(second.exitCode, 0);
    assert.deepEqual(
      second.outcomes.map((o) => [o.run.seed, o.outcome.status, o.outcome.mode]),
      [[5, "finished", "resumed"], [6, "finished", "started"]],
    );
    // Seed 5 started at 0, resumed at its checkpoint (200), then seed 6 started at 0.
    assert.deepEqual(calls.starts, [0, 200, 0]);
    const db = ResultsDb.open(taskDbPath(dir, 0), { readOnly: true });
    try {
      const run = db.listRuns()[0];
      assert.equal(run.attempts, 2);
      assert.equal(run.status, "finished");
      assert.deepEqual(db.metrics(run.id).map((p) => p.envStep), [100, 200, 300, 400]);
    } finally {
      db.close();
    }
    const ends = readTaskEvents(dir, 0).filter((e) => e.event === "run-end");
    assert.deepEqual(ends.map((e) => [e.status, e.mode]), [
      ["interrupted", "started"],
      ["finished", "resumed"],
      ["finished", "started"],
    ]);
  });
});

Deno.test("`runTask()` records a failed run, goes on with the batch and exits 1", async () => {
  await withDir(async (dir) => {
    const plan = planIn(dir, [1, 2], 2);
    const calls = { starts: [] as number[] };
    const result = await runTask({ plan, task: 0, trainer: fakeTrainer(calls, 1), ...noJob(dir) });
    assert.equal(result.exitCode, 1);
    assert.deepEqual(result.outcomes.map((o) => o.outcome.status), ["failed", "finished"]);
    const db = ResultsDb.open(taskDbPath(dir, 0), { readOnly: true });
    try {
      assert.match(db.listRuns()[0].error ?? "", /fake failure of seed 1/);
    } finally {
      db.close();
    }
  });
});

Deno.test("`runTask()` leaves a task alone while another live Slurm job holds its lock", async () => {
  await withDir(async (dir) => {
    const plan = planIn(dir, [0], 1);
    Deno.mkdirSync(`${dir}/db`, { recursive: true });
    const lock = { job: "41_0", host: "node3", pid: 77, start: "", time: "2026-01-01T00:00:00Z" };
    Deno.writeTextFileSync(`${dir}/db/task-0.lock`, JSON.stringify(lock));
    const calls = { starts: [] as number[] };
    const result = await runTask({
      plan,
      task: 0,
      trainer: fakeTrainer(calls),
      job: "42_0",
      log: quiet,
      jobState: (job) => Promise.resolve(job === "41_0" ? "RUNNING" : null),
    });
    assert.equal(result.exitCode, 1);
    assert.match(result.lockedBy ?? "", /held by Slurm job 41_0 .* on node3/);
    assert.deepEqual(calls.starts, []);
    assert.equal(readTaskEvents(dir, 0).at(-1)?.event, "task-locked");
  });
});

Deno.test("`acquireTaskLock()` takes over locks of finished jobs, of its own job and of dead local processes", async () => {
  await withDir(async (dir) => {
    Deno.mkdirSync(`${dir}/db`);
    const path = `${dir}/db/task-3.lock`;
    const write = (lock: object) => Deno.writeTextFileSync(path, JSON.stringify(lock));
    const states: Record<string, string | null> = { "9_3": "COMPLETED", "8_3": "RUNNING" };
    const state = (job: string) => Promise.resolve(states[job] ?? null);
    const base = { host: "other", pid: 1, start: "", time: "t" };

    assert.equal(await acquireTaskLock(dir, 3, "10_3", state), null); // no lock yet
    assert.equal(JSON.parse(Deno.readTextFileSync(path)).job, "10_3");
    write({ ...base, job: "9_3" });
    assert.equal(await acquireTaskLock(dir, 3, "10_3", state), null); // finished job
    write({ ...base, job: "8_3" });
    assert.equal(await acquireTaskLock(dir, 3, "8_3", state), null); // itself, requeued
    write({ ...base, job: "8_3" });
    assert.match((await acquireTaskLock(dir, 3, "10_3", state))!, /Slurm job 8_3/);
    // Outside Slurm: a process id that cannot exist on this host is dead.
    write({ job: null, host: Deno.hostname(), pid: 2 ** 22 + 1, start: "1", time: "t" });
    assert.equal(await acquireTaskLock(dir, 3, null, state), null);
    write({ job: null, host: "elsewhere", pid: 5, start: "", time: "t" });
    assert.match((await acquireTaskLock(dir, 3, null, state))!, /process 5 on elsewhere/);
  });
});

Deno.test("`runTask()` trains the seeds of one configuration as one batch, and resumes a batch", async () => {
  await withDir(async (dir) => {
    // Task 0 holds seeds 0-2 of the dqn configuration, then seed 0 of another (adqn) one.
    const dqn = planIn(dir, [0, 1, 2], 4);
    const adqnConfig = resolveTrainConfig(
      {
        ...dqn.runs[0].config as unknown as Record<string, unknown>,
        algo: "adqn",
      } as unknown as Parameters<typeof resolveTrainConfig>[0],
    );
    const plan = makePlan({
      dir,
      batchSize: 4,
      runs: [
        ...dqn.runs.map((r) => ({ hash: r.hash, seed: r.seed, label: r.label, config: r.config })),
        {
          hash: configHash(adqnConfig),
          seed: 0,
          label: "adqn",
          config: adqnConfig as unknown as SweepPlan["runs"][0]["config"],
        },
      ],
    });
    assert.deepEqual(batchGroups(plan.runs).map((g) => g.map((r) => r.seed)), [[0, 1, 2], [
      0,
    ]]);
    const calls = { starts: [] as number[] };
    const batches: number[][] = [];
    const inner = fakeTrainer(calls);
    const trainer: Trainer = (configs, options) => {
      batches.push(configs.map((c) => c.seed as number));
      return inner(configs, options);
    };
    // Stop the batch after seed 0's first metric point (step 100): it checkpoints there.
    const stop = new AbortController();
    const first = await runTask({
      plan,
      task: 0,
      trainer,
      together: true,
      signal: stop.signal,
      ...noJob(dir),
      log: (l) => {
        if (l.includes("seed 0: step 150/")) stop.abort();
      },
      progressSeconds: 0,
    });
    assert.equal(first.exitCode, 143);
    assert.ok(first.outcomes.every((o) => o.outcome.status === "interrupted"));
    // Resumed: the three dqn seeds together, from their checkpoints, then the adqn run alone.
    const again = await runTask({ plan, task: 0, trainer, together: true, ...noJob(dir) });
    assert.equal(again.exitCode, 0);
    assert.deepEqual(again.outcomes.map((o) => [o.run.label, o.run.seed, o.outcome.status]), [
      ["test", 0, "finished"],
      ["test", 1, "finished"],
      ["test", 2, "finished"],
      ["adqn", 0, "finished"],
    ]);
    assert.deepEqual(batches, [[0, 1, 2], [0, 1, 2], [0]]);
    // Seed 0 resumes from its step-150 checkpoint; seeds 1 and 2 had not begun (restarted at 0).
    assert.deepEqual(again.outcomes.map((o) => o.outcome.mode), [
      "resumed",
      "restarted",
      "restarted",
      "started",
    ]);
    assert.deepEqual(calls.starts, [0, 0, 0, 150, 0, 0, 0]);
    assert.deepEqual([...Deno.readDirSync(`${dir}/checkpoints`)], []);
  });
});
