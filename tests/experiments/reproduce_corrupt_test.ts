/**
 * `reproduce --restart-corrupt`: a run whose checkpoint is damaged fails, saying what to do, and
 * with the flag (passed on to the worker processes) it keeps the damaged file aside and finishes.
 */
import assert from "assert";
import { ResultsDb } from "../../lib/results/db.ts";
import { reproduce } from "../../lib/experiments/reproduce.ts";
import { parseReproduceArgs } from "../../lib/experiments/cli.ts";
import { ProgressView } from "../../lib/experiments/progress.ts";
import { runOne } from "../../lib/experiments/runner.ts";
import { buildGrid } from "../../lib/experiments/grid.ts";
import { fakeTrainer, fakeWorkerCommand, withoutWall } from "./fake_trainer.ts";

const quiet = () =>
  new ProgressView({ tty: false, writer: { writeSync: (p) => p.length, isTerminal: () => false } });

Deno.test("`reproduce --restart-corrupt` is parsed, and is off by default", () => {
  assert.equal(parseReproduceArgs(["--figure", "1a"]).restartCorrupt, false);
  assert.equal(parseReproduceArgs(["--figure", "1a", "--restart-corrupt"]).restartCorrupt, true);
});

Deno.test("`reproduce()` fails a run with a corrupt checkpoint, with advice; `restartCorrupt` keeps the file aside and finishes it", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-reproduce-corrupt-" });
  const s = { dbPath: `${dir}/results.sqlite`, outDir: `${dir}/out`, checkpointDir: `${dir}/runs` };
  const run = buildGrid({ figures: ["1a"], preset: "quick", seeds: 1 }).find((r) =>
    r.algo === "adqn"
  )!;
  // The run trained alone, uninterrupted: what it must end with.
  const ref = ResultsDb.open(`${dir}/ref.sqlite`);
  const expected = ref.metrics(
    (await runOne(ref, run.config, { trainer: fakeTrainer(), checkpointDir: `${dir}/ref` })).runId,
  );
  ref.close();
  // Interrupted after some metric rows, then its checkpoint damaged.
  const db = ResultsDb.open(s.dbPath);
  const abort = new AbortController();
  const first = await runOne(db, run.config, {
    trainer: fakeTrainer(),
    checkpointDir: s.checkpointDir,
    signal: abort.signal,
    onProgress: (p) => {
      if (p.envStep >= run.config.totalSteps / 3) abort.abort();
    },
  });
  assert.equal(first.status, "interrupted");
  assert.ok(db.metrics(first.runId).length > 0);
  const path = db.listRuns({ ids: [first.runId] })[0].checkpointPath!;
  db.close();
  assert.ok(Deno.statSync(path).isFile, `an interrupted run keeps its checkpoint ${path}`);
  const garbage = new TextEncoder().encode("this is not a checkpoint");
  Deno.writeFileSync(path, garbage);

  const base = {
    figures: ["1a"] as const,
    preset: "quick" as const,
    seeds: 1,
    workers: 1,
    ...s,
    png: false,
    workerCommand: fakeWorkerCommand,
    print: () => {},
  };
  const failed = await reproduce({ ...base, view: quiet() });
  assert.equal(failed.exitCode, 1);
  assert.deepEqual(failed.counts, { queued: 0, running: 0, finished: 4, failed: 1 });
  const db2 = ResultsDb.open(s.dbPath);
  const error = db2.listRuns({ ids: [first.runId] })[0].error ?? "";
  db2.close();
  assert.match(error, /corrupt or unreadable checkpoint .*rerun with --restart-corrupt/);
  assert.deepEqual(Deno.readFileSync(path), garbage, "the damaged file is left as it was");

  const again = await reproduce({ ...base, restartCorrupt: true, view: quiet() });
  assert.equal(again.exitCode, 0);
  assert.deepEqual(again.counts, { queued: 0, running: 0, finished: 5, failed: 0 });
  const db3 = ResultsDb.open(s.dbPath);
  assert.deepEqual(withoutWall(db3.metrics(first.runId)), withoutWall(expected));
  db3.close();
  const aside = [...Deno.readDirSync(s.checkpointDir)].map((e) => e.name)
    .filter((n) => n.includes(".corrupt-"));
  assert.equal(aside.length, 1, aside.join(", "));
  assert.deepEqual(
    Deno.readFileSync(`${s.checkpointDir}/${aside[0]}`),
    garbage,
    "kept byte for byte",
  );
  Deno.removeSync(dir, { recursive: true });
});
