import assert from "assert";
import { currentOwner, type LeaseOwner, ResultsDb } from "../../lib/results/db.ts";
import { configHash, resolveTrainConfig } from "../../lib/train/config.ts";
import { checkpointPathFor } from "../../lib/experiments/grid.ts";
import {
  executeBatch,
  runOne,
  type RunOutcome,
  type Trainer,
} from "../../lib/experiments/runner.ts";
import { trainBatch } from "../../lib/train/loop.ts";
import { fakeTrainer, withoutWall } from "./fake_trainer.ts";

function setup() {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-runner-" });
  return { dir, db: ResultsDb.open(`${dir}/results.sqlite`), ckpt: `${dir}/runs` };
}

const config = resolveTrainConfig({
  env: "heaven-hell-3",
  algo: "adqn",
  seed: 3,
  totalSteps: 600,
  prepopulateSteps: 100,
  logEvery: 50,
  timeLimit: 30,
});

/** The metrics of an uninterrupted fake run, computed in a separate database. */
async function reference() {
  const { db, ckpt } = setup();
  const out = await runOne(db, config, { trainer: fakeTrainer(), checkpointDir: ckpt });
  assert.equal(out.status, "finished");
  const m = db.metrics(out.runId);
  db.close();
  return m;
}

Deno.test("`runOne()` trains, stores every metric point, and marks the run finished", async () => {
  const { db, ckpt } = setup();
  const logs: string[] = [];
  let progress = 0;
  const out = await runOne(db, config, {
    trainer: fakeTrainer(),
    checkpointDir: ckpt,
    log: (m) => logs.push(m),
    onProgress: () => progress++,
  });
  assert.equal(out.status, "finished");
  assert.equal(out.mode, "started");
  const run = db.getRun(out.runId)!;
  assert.equal(run.status, "finished");
  assert.equal(run.hash, configHash(config));
  assert.equal(run.seed, 3);
  assert.equal(run.checkpointPath, checkpointPathFor(ckpt, run.hash, 3));
  assert.ok(run.codeVersion === null || /^[0-9a-f]{40}(-dirty)?$/.test(run.codeVersion));
  assert.equal(run.machine?.hostname, Deno.hostname());
  assert.ok(run.endedAt && run.startedAt);
  const m = db.metrics(out.runId);
  // One point per crossing of a multiple of 50 (or one per jump over several) and the last one.
  assert.ok(m.length >= 10 && m.length <= 13, `${m.length} points`);
  assert.ok(m.at(-1)!.envStep >= 600);
  assert.deepEqual(m.map((p) => p.envStep), [...m.map((p) => p.envStep)].sort((a, b) => a - b));
  assert.equal(run.envSteps, out.result!.envSteps);
  assert.ok(progress > 10);
  assert.match(logs[0], /starting/);
  // The checkpoint of a finished run is removed (default).
  assert.throws(() => Deno.statSync(run.checkpointPath!), Deno.errors.NotFound);
  db.close();
});

Deno.test("`runOne()` on a finished run does no work and says so", async () => {
  const { db, ckpt } = setup();
  await runOne(db, config, { trainer: fakeTrainer(), checkpointDir: ckpt });
  const before = db.metrics(1);
  const calls = { n: 0 };
  const out = await runOne(db, config, { trainer: fakeTrainer({ calls }), checkpointDir: ckpt });
  assert.equal(out.status, "skipped");
  assert.match(out.message, /already finished/);
  assert.equal(calls.n, 0);
  assert.deepEqual(db.metrics(1), before);
  assert.equal(db.getRun(1)?.attempts, 1);
  db.close();
});

Deno.test("`runOne()` resumes an interrupted run to the same metrics as an uninterrupted one", async () => {
  const expected = await reference();
  const { db, ckpt } = setup();
  const abort = new AbortController();
  const first = await runOne(db, config, {
    trainer: fakeTrainer(),
    checkpointDir: ckpt,
    signal: abort.signal,
    onProgress: (p) => {
      if (p.envStep >= 260) abort.abort();
    },
  });
  assert.equal(first.status, "interrupted");
  assert.match(first.message, /interrupted at step \d+ of 600/);
  const run = db.getRun(first.runId)!;
  assert.equal(run.status, "queued");
  assert.ok(Deno.statSync(run.checkpointPath!).isFile);
  const partial = db.metrics(run.id).length;
  assert.ok(partial > 0 && partial < expected.length);
  const second = await runOne(db, config, { trainer: fakeTrainer(), checkpointDir: ckpt });
  assert.equal(second.status, "finished");
  assert.equal(second.mode, "resumed");
  assert.deepEqual(withoutWall(db.metrics(run.id)), withoutWall(expected));
  assert.equal(db.getRun(run.id)?.attempts, 2);
  db.close();
});

Deno.test("`runOne()` restarts from scratch when the checkpoint is gone, and drops a stale checkpoint", async () => {
  const expected = await reference();
  const { db, ckpt } = setup();
  const abort = new AbortController();
  const first = await runOne(db, config, {
    trainer: fakeTrainer(),
    checkpointDir: ckpt,
    signal: abort.signal,
    onProgress: (p) => {
      if (p.envStep >= 300) abort.abort();
    },
  });
  Deno.removeSync(db.getRun(first.runId)!.checkpointPath!);
  const second = await runOne(db, config, { trainer: fakeTrainer(), checkpointDir: ckpt });
  assert.equal(second.mode, "restarted");
  assert.deepEqual(withoutWall(db.metrics(first.runId)), withoutWall(expected));
  db.close();

  // A checkpoint without any stored point (for example from a deleted database) is not trusted.
  const s2 = setup();
  const c2 = resolveTrainConfig({ ...config, seed: 4 });
  const path = checkpointPathFor(s2.ckpt, configHash(c2), 4);
  Deno.mkdirSync(s2.ckpt, { recursive: true });
  Deno.writeTextFileSync(path, "stale");
  const logs: string[] = [];
  const out = await runOne(s2.db, c2, {
    trainer: fakeTrainer(),
    checkpointDir: s2.ckpt,
    log: (m) => logs.push(m),
  });
  assert.equal(out.status, "finished");
  assert.ok(logs.some((l) => /removing checkpoint/.test(l)));
  s2.db.close();
});

Deno.test("`runOne()` records a failure with its error text, and retries it next time", async () => {
  const { db, ckpt } = setup();
  const out = await runOne(db, config, {
    trainer: fakeTrainer({ failAtStep: 200 }),
    checkpointDir: ckpt,
  });
  assert.equal(out.status, "failed");
  assert.match(out.message, /fake failure at step/);
  const run = db.getRun(out.runId)!;
  assert.equal(run.status, "failed");
  assert.match(run.error ?? "", /Error: fake failure at step \d+\n\s+at /);
  const again = await runOne(db, config, { trainer: fakeTrainer(), checkpointDir: ckpt });
  assert.equal(again.status, "finished");
  assert.equal(db.getRun(out.runId)?.error, null);
  db.close();
});

Deno.test("`runOne()` leaves a run held by another live process alone", async () => {
  const { db, ckpt } = setup();
  const other: LeaseOwner = { id: "elsewhere:1:1", host: "elsewhere", pid: 1, start: "1" };
  const run = db.ensureRun({
    hash: configHash(config),
    seed: 3,
    config: config as never,
  });
  db.claim({ owner: other, ids: [run.id] });
  const calls = { n: 0 };
  const out = await runOne(db, config, { trainer: fakeTrainer({ calls }), checkpointDir: ckpt });
  assert.equal(out.status, "busy");
  assert.match(out.message, /being trained by elsewhere:1:1/);
  assert.equal(calls.n, 0);
  db.close();
});

Deno.test("`trainBatch()` of lib/train/loop.ts fits the `Trainer` type that the runner injects", () => {
  const t: Trainer = trainBatch;
  assert.equal(typeof t, "function");
});

/**
 * Train K runs of `config` (seeds 3, 4, ...): K = 1 through `runOne()`, K > 1 through
 * `executeBatch()` of runs claimed by `owner`.
 */
async function trainK(
  db: ResultsDb,
  K: number,
  owner: LeaseOwner,
  options: Parameters<typeof runOne>[2],
): Promise<RunOutcome[]> {
  if (K === 1) return [await runOne(db, config, { ...options, owner })];
  const runs = Array.from({ length: K }, (_, k) => {
    const c = resolveTrainConfig({ ...config, seed: 3 + k });
    const id = db.ensureRun({ hash: configHash(c), seed: 3 + k, config: c as never }).id;
    return db.claim({ owner, ids: [id] })!;
  });
  return await executeBatch(db, runs, { ...options, owner });
}

for (const K of [1, 3]) {
  for (const seenBy of ["heartbeat", "write check"] as const) {
    Deno.test(`K = ${K}: a run whose lease is taken over while training stops (lost, seen by the ${seenBy}), writes no checkpoint over its new owner's, and the others finish`, async () => {
      const { db, ckpt } = setup();
      const thief: LeaseOwner = { id: "thief:1:1", host: "thief", pid: 1, start: "1" };
      const stolenRun = K === 1 ? 0 : 1;
      let stolenId: number | undefined;
      let stolenAt: string | undefined;
      const runIds: number[] = [];
      const out = await trainK(db, K, currentOwner(), {
        trainer: fakeTrainer(),
        checkpointDir: ckpt,
        ...(seenBy === "heartbeat"
          ? { heartbeatMs: 1 } // a heartbeat after (almost) every episode: it finds the loss first
          : {
            heartbeatMs: 60_000, // no periodic heartbeat: only the check before each write sees it
            checkpointEverySteps: 30, // checkpoints between metric points (whose writes see it too)
          }),
        onProgress: (p) => {
          if (!runIds.includes(p.runId)) runIds.push(p.runId);
          if (stolenId === undefined && runIds.indexOf(p.runId) === stolenRun && p.envStep > 150) {
            stolenId = p.runId;
            db.claim({ owner: thief, ids: [p.runId], leaseTimeoutMs: 0, now: Date.now() + 10 });
            // The new owner's checkpoint, which the old owner must not overwrite.
            stolenAt = db.getRun(p.runId)!.checkpointPath!;
            Deno.writeTextFileSync(stolenAt, "the thief's checkpoint");
          }
        },
      });
      assert.deepEqual(
        out.map((o) => o.status),
        out.map((_, k) => k === stolenRun ? "lost" : "finished"),
      );
      assert.equal(out[stolenRun].runId, stolenId);
      assert.equal(db.getRun(stolenId!)?.owner, thief.id);
      assert.equal(db.getRun(stolenId!)?.status, "running");
      assert.equal(Deno.readTextFileSync(stolenAt!), "the thief's checkpoint");
      db.close();
    });
  }
}

Deno.test("trainingMachine: backend recorded, and OpenBLAS's kernels on a native-BLAS backend only", async () => {
  const { trainingMachine } = await import("../../lib/experiments/runner.ts");
  const { openBlas } = await import("../../lib/nn/blas.ts");
  assert.equal(trainingMachine().backend, undefined);
  const wasm = trainingMachine("wasm");
  assert.equal(wasm.backend, "wasm");
  assert.equal(wasm.blasKernels, undefined);
  const blas = trainingMachine("wasm-blas");
  assert.equal(blas.backend, "wasm-blas");
  assert.equal(blas.blasKernels, openBlas()?.kernels || undefined);
  assert.equal(blas.hostname, Deno.hostname());
});
