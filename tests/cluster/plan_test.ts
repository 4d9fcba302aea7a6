import assert from "assert";
import {
  checkPlan,
  makePlan,
  readPlan,
  type RunInput,
  runKey,
  sweepPaths,
  taskDbPath,
  taskRuns,
} from "../../lib/cluster/plan.ts";

function runs(n: number): RunInput[] {
  return Array.from({ length: n }, (_, seed) => ({
    hash: "h",
    seed,
    label: "quick:1a",
    config: { env: "heaven-hell-3", algo: "dqn", seed, totalSteps: 100 },
  }));
}

Deno.test("`makePlan()` cuts runs into consecutive batches, the last one shorter", () => {
  // 7 runs in batches of 3: tasks 0,0,0,1,1,1,2 (by hand).
  const plan = makePlan({ dir: "/s", runs: runs(7), batchSize: 3 });
  assert.equal(plan.tasks, 3);
  assert.deepEqual(plan.runs.map((r) => r.task), [0, 0, 0, 1, 1, 1, 2]);
  assert.deepEqual(plan.runs.map((r) => r.index), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(taskRuns(plan, 2).map((r) => r.seed), [6]);
  assert.deepEqual(taskRuns(plan, 1).map(runKey), ["h-3", "h-4", "h-5"]);
});

Deno.test("`makePlan()` defaults to one run per task", () => {
  const plan = makePlan({ dir: "/s/", runs: runs(2) });
  assert.equal(plan.tasks, 2);
  assert.equal(plan.dir, "/s");
  assert.deepEqual(plan.options, {});
});

Deno.test("`makePlan()` rejects empty sweeps, bad batch sizes, relative folders and duplicate keys", () => {
  assert.throws(() => makePlan({ dir: "/s", runs: [] }), /no runs/);
  assert.throws(() => makePlan({ dir: "/s", runs: runs(2), batchSize: 0 }), /batch size 0/);
  assert.throws(() => makePlan({ dir: "s", runs: runs(2) }), /absolute path/);
  assert.throws(() => makePlan({ dir: "/s", runs: [...runs(2), runs(1)[0]] }), /h-0 appears twice/);
});

Deno.test("`taskRuns()` rejects a task outside the array", () => {
  const plan = makePlan({ dir: "/s", runs: runs(2) });
  assert.throws(() => taskRuns(plan, 2), /array task 2 is not in this sweep; expected 0..1/);
  assert.throws(() => taskRuns(plan, -1), /array task -1/);
});

Deno.test("`sweepPaths()` and `taskDbPath()` lay out the sweep folder", () => {
  const p = sweepPaths("/x/sweep/");
  assert.equal(p.plan, "/x/sweep/plan.json");
  assert.equal(p.script, "/x/sweep/sweep.sbatch");
  assert.equal(p.checkpointDir, "/x/sweep/checkpoints");
  assert.equal(taskDbPath("/x/sweep", 12), "/x/sweep/db/task-12.sqlite");
});

Deno.test("`readPlan()` round-trips a written plan and `checkPlan()` names what is wrong", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plan = makePlan({ dir, runs: runs(3), batchSize: 2, options: { backend: "cpu" } });
    await Deno.writeTextFile(`${dir}/plan.json`, JSON.stringify(plan));
    assert.deepEqual(readPlan(dir), plan);
    assert.deepEqual(readPlan(`${dir}/plan.json`), plan);
    assert.throws(() => readPlan(`${dir}/nope`), /no sweep plan at .*nope\/plan.json/);
    assert.throws(
      () => checkPlan({ ...plan, version: 99 }, "p"),
      /p is not a sweep plan: version 99/,
    );
    assert.throws(() => checkPlan({ ...plan, runs: [{ seed: 1 }] }), /bad run entry/);
    assert.throws(() => checkPlan([]), /no dir|version/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
