import assert from "assert";
import { ResultsDb } from "../../lib/results/db.ts";
import { configHash, resolveTrainConfig, type TrainConfig } from "../../lib/train/config.ts";
import { runOne } from "../../lib/experiments/runner.ts";
import type { WorkerEvent } from "../../lib/experiments/workers.ts";
import { fakeTrainer, withoutWall } from "./fake_trainer.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const FAKE_WORKER = `${ROOT}tests/experiments/fixtures/fake_worker.ts`;

function setup() {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-workers-" });
  return { dir, dbPath: `${dir}/results.sqlite`, ckpt: `${dir}/runs` };
}

/** A worker process with the fake trainer; its events are collected as they arrive. */
function spawnWorker(args: string[], delayMs: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${ROOT}deno.json`, FAKE_WORKER, ...args],
    env: { FAKE_DELAY_MS: String(delayMs), NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const events: WorkerEvent[] = [];
  const waiters: { test: (e: WorkerEvent) => boolean; resolve: () => void }[] = [];
  let stderr = "";
  const out = (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const e = JSON.parse(buf.slice(0, i)) as WorkerEvent;
        buf = buf.slice(i + 1);
        events.push(e);
        for (const w of [...waiters]) {
          if (w.test(e)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
        }
      }
    }
  })();
  const err = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  return {
    child,
    events,
    stderr: () => stderr,
    until: (test: (e: WorkerEvent) => boolean) =>
      new Promise<void>((resolve) => {
        if (events.some(test)) resolve();
        else waiters.push({ test, resolve });
      }),
    done: Promise.all([out, err]).then(() => child.status),
  };
}

function register(db: ResultsDb, config: TrainConfig): number {
  return db.ensureRun({
    hash: configHash(config),
    seed: Number(config.seed),
    config: config as never,
  }).id;
}

const config = resolveTrainConfig({
  env: "heaven-hell-3",
  algo: "adqn-vr",
  seed: 11,
  totalSteps: 800,
  prepopulateSteps: 100,
  logEvery: 50,
  timeLimit: 30,
});

Deno.test("a worker killed with SIGKILL mid-run is resumed by the next one, with the metrics of an uninterrupted run", async () => {
  // Reference: the same run without interruption (in process).
  const ref = setup();
  const refDb = ResultsDb.open(ref.dbPath);
  const refOut = await runOne(refDb, config, { trainer: fakeTrainer(), checkpointDir: ref.ckpt });
  const expected = refDb.metrics(refOut.runId);
  refDb.close();

  const { dbPath, ckpt } = setup();
  const db = ResultsDb.open(dbPath);
  const id = register(db, config);
  const args = ["--db", dbPath, "--checkpoint-dir", ckpt, "--ids", String(id)];
  const w1 = spawnWorker(args, 8);
  await w1.until((e) => e.type === "metric" && e.envStep >= 300);
  w1.child.kill("SIGKILL");
  const st = await w1.done;
  assert.equal(st.signal, "SIGKILL");
  const mid = db.getRun(id)!;
  assert.equal(mid.status, "running", "the killed worker's lease is still recorded");
  const stored = db.metrics(id).length;
  assert.ok(stored > 0 && stored < expected.length, `${stored} points before the kill`);

  const w2 = spawnWorker(args, 0);
  const st2 = await w2.done;
  assert.equal(st2.code, 0, w2.stderr());
  const logs = w2.events.filter((e) => e.type === "log").map((e) =>
    (e as { message: string }).message
  );
  assert.ok(logs.some((m) => /resuming from checkpoint/.test(m)), logs.join("\n"));
  const done = w2.events.find((e) => e.type === "done") as { status: string } | undefined;
  assert.equal(done?.status, "finished");
  const run = db.getRun(id)!;
  assert.equal(run.status, "finished");
  assert.equal(run.attempts, 2);
  assert.deepEqual(withoutWall(db.metrics(id)), withoutWall(expected));
  db.close();
});

Deno.test("two concurrent worker processes never take the same run", async () => {
  const { dbPath, ckpt } = setup();
  const db = ResultsDb.open(dbPath);
  const ids: number[] = [];
  for (let seed = 0; seed < 30; seed++) {
    ids.push(
      register(
        db,
        resolveTrainConfig({ ...config, seed, totalSteps: 30, prepopulateSteps: 10, logEvery: 10 }),
      ),
    );
  }
  const args = ["--db", dbPath, "--checkpoint-dir", ckpt, "--ids", ids.join(",")];
  const a = spawnWorker(args, 1);
  const b = spawnWorker(args, 1);
  const [sa, sb] = await Promise.all([a.done, b.done]);
  assert.equal(sa.code, 0, a.stderr());
  assert.equal(sb.code, 0, b.stderr());
  const claimed = (w: typeof a) =>
    w.events.filter((e) => e.type === "claimed").map((e) => (e as { runId: number }).runId);
  const ca = claimed(a), cb = claimed(b);
  assert.deepEqual([...ca, ...cb].sort((x, y) => x - y), ids, "each run claimed exactly once");
  for (const r of db.listRuns({ ids })) {
    assert.equal(r.status, "finished");
    assert.equal(r.attempts, 1);
  }
  db.close();
});
