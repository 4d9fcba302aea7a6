/**
 * Batched training in the experiment layer: workers that claim runs of one configuration together,
 * `executeBatch()` recording each run as `runOne()` (its K = 1 call) would, lost leases within a batch, and the
 * real batched trainer resuming runs from their checkpoints.
 */
import assert from "assert";
import { currentOwner, ResultsDb } from "../../lib/results/db.ts";
import { configHash, resolveTrainConfig, type TrainConfig } from "../../lib/train/config.ts";
import { executeBatch, realTrainer, runOne, type Trainer } from "../../lib/experiments/runner.ts";
import {
  balancedBatchSize,
  batchLimitForMemory,
  parseWorkerArgs,
  replayBytes,
  runWorker,
} from "../../lib/experiments/workers.ts";
import { reproduce } from "../../lib/experiments/reproduce.ts";
import { ProgressView } from "../../lib/experiments/progress.ts";
import { fakeTrainer, fakeWorkerCommand, withoutWall } from "./fake_trainer.ts";

function setup() {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-batch-" });
  return { dir, db: ResultsDb.open(`${dir}/results.sqlite`), ckpt: `${dir}/runs` };
}

function fakeConfig(algo: string, seed: number): TrainConfig {
  return resolveTrainConfig({
    env: "heaven-hell-3",
    algo,
    seed,
    totalSteps: 300,
    prepopulateSteps: 100,
    logEvery: 50,
    timeLimit: 30,
  } as never);
}

function register(db: ResultsDb, c: TrainConfig): number {
  return db.ensureRun({ hash: configHash(c), seed: Number(c.seed), config: c as never }).id;
}

/** The stored metrics of a run trained alone by `runOne` in a fresh database. */
async function alone(c: TrainConfig) {
  const { db, ckpt } = setup();
  const out = await runOne(db, c, { trainer: fakeTrainer(), checkpointDir: ckpt });
  const m = withoutWall(db.metrics(out.runId));
  db.close();
  return m;
}

/** The fake trainer, recording the runs of each call. */
function recording(calls: string[][]): Trainer {
  const inner = fakeTrainer();
  return (configs, options) => {
    calls.push(configs.map((c) => `${c.algo}/${c.seed}`));
    return inner(configs, options);
  };
}

for (const batch of [1, 3]) {
  Deno.test(
    `\`runWorker()\` with batch ${batch} trains every claimable run once, the runs of one configuration ${
      batch > 1 ? "together" : "one at a time"
    }, each as if alone, and reports events`,
    async () => {
      const { db, ckpt } = setup();
      const configs = [
        ...[0, 1, 2].map((s) => fakeConfig("adqn", s)),
        ...[0, 1].map((s) => fakeConfig("dqn", s)),
      ];
      const ids = configs.map((c) => register(db, c));
      const outside = register(db, fakeConfig("adqn", 3)); // same configuration, not in ids
      const calls: string[][] = [];
      const events: string[] = [];
      const summary = await runWorker(db, {
        ids,
        batch,
        trainer: recording(calls),
        checkpointDir: ckpt,
        onEvent: (e) => events.push(e.type),
      });
      assert.deepEqual(summary, { finished: 5, failed: 0, interrupted: 0, lost: 0 });
      assert.deepEqual(
        calls,
        batch > 1
          ? [["adqn/0", "adqn/1", "adqn/2"], ["dqn/0", "dqn/1"]]
          : [["adqn/0"], ["adqn/1"], ["adqn/2"], ["dqn/0"], ["dqn/1"]],
      );
      for (const [i, c] of configs.entries()) {
        assert.equal(db.getRun(ids[i])?.status, "finished");
        assert.deepEqual(
          withoutWall(db.metrics(ids[i])),
          await alone(c),
          `${c.algo} seed ${c.seed}`,
        );
      }
      assert.equal(db.getRun(outside)?.status, "queued", "runs outside ids are not touched");
      assert.equal(events.filter((e) => e === "claimed").length, 5);
      assert.equal(events.filter((e) => e === "done").length, 5);
      assert.ok(events.includes("metric") && events.includes("progress"));
      db.close();
    },
  );
}

Deno.test("`runWorker()` batches runs that differ only in seed, lr and time limit, a configuration's own seeds first", async () => {
  const { db, ckpt } = setup();
  const configs = [
    fakeConfig("adqn", 0),
    { ...fakeConfig("adqn", 0), lr: 3e-4 },
    fakeConfig("adqn", 1),
    { ...fakeConfig("adqn", 2), timeLimit: 10 },
    fakeConfig("dqn", 0),
    { ...fakeConfig("adqn", 3), gamma: 0.9 },
  ];
  const ids = configs.map((c) => register(db, c));
  const calls: string[][] = [];
  const inner = fakeTrainer();
  const trainer: Trainer = (cs, options) => {
    calls.push(cs.map((c) => `${c.algo}/${c.seed} lr ${c.lr} limit ${c.timeLimit}`));
    return inner(cs, options);
  };
  const summary = await runWorker(db, { ids, batch: 3, trainer, checkpointDir: ckpt });
  assert.equal(summary.finished, 6);
  assert.deepEqual(calls, [
    ["adqn/0 lr 0.0001 limit 30", "adqn/1 lr 0.0001 limit 30", "adqn/0 lr 0.0003 limit 30"],
    ["adqn/2 lr 0.0001 limit 10"],
    ["dqn/0 lr 0.0001 limit 30"],
    ["adqn/3 lr 0.0001 limit 30"],
  ]);
  for (const [i, c] of configs.entries()) {
    assert.deepEqual(withoutWall(db.metrics(ids[i])), await alone(c), `run ${i}`);
  }
  db.close();
});

Deno.test("`runWorker()` caps a batch by the memory its replay buffers need", async () => {
  const c = fakeConfig("adqn", 0);
  // Heaven-Hell-3 stores its encoded observation and state plus action and reward per step.
  assert.ok(replayBytes(c) > 4 * 2 * (c.totalSteps + c.timeLimit));
  assert.equal(batchLimitForMemory(c, 2.5 * replayBytes(c)), 2);
  assert.equal(batchLimitForMemory(c, 1), 1);
  const { db, ckpt } = setup();
  [0, 1, 2].forEach((s) => register(db, fakeConfig("adqn", s)));
  const calls: string[][] = [];
  const summary = await runWorker(db, {
    batch: 3,
    memoryBudgetBytes: 2.5 * replayBytes(c),
    trainer: recording(calls),
    checkpointDir: ckpt,
  });
  assert.equal(summary.finished, 3);
  // Two runs together, then the third alone, still through the batched trainer (batching is on:
  // on the native-BLAS backends K = 1 batched is faster than the single-run trainer).
  assert.deepEqual(calls, [["adqn/0", "adqn/1"], ["adqn/2"]]);
  db.close();
});

Deno.test("`executeBatch()`: a trainer error fails every run of the batch; runs of different configurations are refused", async () => {
  const { db, ckpt } = setup();
  const owner = currentOwner();
  const more = [3, 4].map((s) => register(db, fakeConfig("adqn-vr", s)));
  const failing: Trainer = () => Promise.reject(new Error("out of memory (simulated)"));
  const failed = await executeBatch(db, more.map((id) => db.claim({ owner, ids: [id] })!), {
    trainer: failing,
    checkpointDir: ckpt,
    owner,
  });
  assert.deepEqual(failed.map((o) => o.status), ["failed", "failed"]);
  assert.match(db.getRun(more[0])?.error ?? "", /out of memory \(simulated\)/);
  await assert.rejects(
    () =>
      executeBatch(db, [
        db.claim({ owner, ids: [register(db, fakeConfig("adqn-vr", 0))] })!,
        db.claim({ owner, ids: [register(db, fakeConfig("dqn", 9))] })!,
      ]),
    /differ beyond seed, lr and timeLimit: only such runs can share a batch/,
  );
  db.close();
});

Deno.test("`executeBatch()` with the real batched trainer resumes interrupted runs to the results of uninterrupted ones", async () => {
  const tiny = (seed: number) =>
    resolveTrainConfig({
      env: "heaven-hell-3",
      algo: "adqn",
      seed,
      totalSteps: 700,
      timeLimit: 30,
      bufferCapacity: 500,
      prepopulateSteps: 150,
      replayRatio: 2,
      epsilonDecaySteps: 300,
      targetUpdateSteps: 200,
      logEvery: 100,
      model: { gruHidden: 8, headHidden: [16] },
    });
  const configs = [0, 1].map(tiny);
  // References: each run alone (K = 1) with the same trainer and backend.
  const want: ReturnType<typeof withoutWall>[] = [];
  for (const c of configs) {
    const { db, ckpt } = setup();
    const o = await runOne(db, c, { trainer: realTrainer("auto"), checkpointDir: ckpt });
    want.push(withoutWall(db.metrics(o.runId)));
    db.close();
  }
  const { db, ckpt } = setup();
  const owner = currentOwner();
  const ids = configs.map((c) => register(db, c));
  const abort = new AbortController();
  const first = await executeBatch(db, ids.map((id) => db.claim({ owner, ids: [id] })!), {
    trainer: realTrainer("auto"),
    checkpointDir: ckpt,
    owner,
    signal: abort.signal,
    onMetric: (_id, p) => {
      if (p.envStep >= 300) abort.abort();
    },
  });
  assert.deepEqual(first.map((o) => o.status), ["interrupted", "interrupted"]);
  const second = await executeBatch(db, ids.map((id) => db.claim({ owner, ids: [id] })!), {
    trainer: realTrainer("auto"),
    checkpointDir: ckpt,
    owner,
  });
  assert.deepEqual(second.map((o) => [o.status, o.mode]), [
    ["finished", "resumed"],
    ["finished", "resumed"],
  ]);
  ids.forEach((id, k) => {
    const got = withoutWall(db.metrics(id));
    assert.equal(got.length, want[k].length);
    got.forEach((p, i) => {
      const q = want[k][i];
      assert.equal(p.envStep, q.envStep);
      assert.equal(p.episodes, q.episodes);
      assert.equal(p.avgReturn, q.avgReturn);
      assert.ok(
        Math.abs(p.lossQ - q.lossQ) <= 1e-4 * Math.abs(q.lossQ) || Object.is(p.lossQ, q.lossQ),
        `run ${k} point ${i} lossQ ${p.lossQ} vs ${q.lossQ}`,
      );
    });
  });
  db.close();
});

Deno.test("`reproduce()` with batches trains every run of the panel once", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-batch-reproduce-" });
  const dec = new TextDecoder();
  const lines: string[] = [];
  const view = new ProgressView({
    tty: false,
    writer: {
      writeSync: (p: Uint8Array) => (lines.push(dec.decode(p)), p.length),
      isTerminal: () => false,
    },
  });
  const r = await reproduce({
    figures: ["1a"],
    preset: "quick",
    seeds: 2,
    workers: 2,
    batch: 2,
    dbPath: `${dir}/results.sqlite`,
    outDir: `${dir}/out`,
    checkpointDir: `${dir}/runs`,
    png: false,
    view,
    workerCommand: fakeWorkerCommand,
    print: () => {},
  });
  assert.equal(r.exitCode, 0);
  assert.equal(r.counts.finished, 10);
  assert.ok(r.runs.every((run) => run.attempts === 1), "no run trained twice");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("`balancedBatchSize()` sizes batches so that the workers finish together", () => {
  // 5 configurations × 20 seeds on 2 workers: batches of 20 take 3 rounds (20.25 × 3 = 60.75
  // runs' time on the busier worker); batches of 10 take 5 full rounds (10.25 × 5 = 51.25).
  assert.equal(balancedBatchSize([20, 20, 20, 20, 20], 2), 10);
  // Two configurations on two workers: one batch each (20.25 against 2 × 10.25 = 20.5).
  assert.equal(balancedBatchSize([20, 20], 2), 20);
  // The quick preset's 5 × 2 seeds: never split below 8 (or the group): batches of 2.
  assert.equal(balancedBatchSize([2, 2, 2, 2, 2], 2), 2);
  // 5 × 12 seeds on 2 workers, longest batch first to the less loaded worker: k = 12 → 36.75;
  // 11 (11 + 1) → 33.75; 10 (10 + 2) → 31.75; 9 (9 + 3) → 31; 8 (8 + 4) → 33.25.
  assert.equal(balancedBatchSize([12, 12, 12, 12, 12], 2), 9);
  // One worker: the largest batch always (fewest fixed costs).
  assert.equal(balancedBatchSize([20, 20, 20], 1), 20);
  // Never above the cap or the largest group; nothing left: 1.
  assert.equal(balancedBatchSize([50], 1, 20), 20);
  assert.equal(balancedBatchSize([3], 1), 3);
  assert.equal(balancedBatchSize([20, 20, 20, 20, 20], 2, 20), 10); // ≥ MIN_AUTO_BATCH
  assert.equal(balancedBatchSize([], 2), 1);
  assert.throws(() => balancedBatchSize([20], 0), /invalid workers 0/);
});

Deno.test("`parseWorkerArgs()` reads --auto-batch and names a bad value", () => {
  assert.equal(parseWorkerArgs(["--db", "x.sqlite", "--batch", "auto"]).autoBatch, undefined);
  const a = parseWorkerArgs(["--db", "x.sqlite", "--batch", "auto", "--auto-batch", "10"]);
  assert.equal(a.batch, "auto");
  assert.equal(a.autoBatch, 10);
  assert.throws(
    () => parseWorkerArgs(["--db", "x.sqlite", "--auto-batch", "0"]),
    /invalid --auto-batch "0"; expected a positive integer/,
  );
});
