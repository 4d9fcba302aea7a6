// Fault suite: `deno task train` SIGKILLed at 20 pseudo-random moments, each time rerun at once
// (while the killed process may still be an unreaped zombie holding the lease); the finished run's
// every metric row must equal an uninterrupted run's, and no temporary file may be left.
import assert from "assert";
import { TINY } from "./fixtures/tiny.ts";
import { allFiles, lcg, metricRows, readDb, sigkill, spawnTask } from "./fixtures/faults.ts";

const KILLS = 20;
const ARGS = [
  ...["--env", "heaven-hell-3", "--algo", "adqn", "--seed", "11", "--steps", "40000"],
  ...TINY,
];

const train = (cwd: string) => spawnTask("train", ARGS, cwd);

function rows(dir: string) {
  return readDb(`${dir}/data/results.sqlite`, (db) => {
    const run = db.listRuns()[0];
    return { status: run.status, metrics: metricRows(db, run) };
  })!;
}

Deno.test(`\`deno task train\` survives ${KILLS} SIGKILLs at random moments, each rerun at once, with every metric row exact`, async () => {
  const ref = Deno.makeTempDirSync({ prefix: "adqn-fault-ref-" });
  const t0 = performance.now();
  assert.equal((await train(ref).status).code, 0);
  const fullMs = performance.now() - t0;
  const expected = rows(ref);
  assert.equal(expected.status, "finished");
  // Kill moments are timed from this machine's own speed, so that every kill lands after start-up
  // and the killed attempts together train for at most 90% of an uninterrupted run: all KILLS kills
  // come before the run can finish, on a fast machine as on a loaded one. Start-up is what a rerun
  // of the finished run costs (it trains nothing).
  const t1 = performance.now();
  assert.equal((await train(ref).status).code, 0);
  const startMs = performance.now() - t1;
  const trainMs = Math.max(fullMs - startMs, 0);

  const dir = Deno.makeTempDirSync({ prefix: "adqn-fault-" });
  const rand = lcg(12345);
  let kills = 0, finished = false;
  const codes: number[] = [];
  let child = train(dir);
  for (let i = 0; kills < KILLS && i < 3 * KILLS; i++) {
    const delay = startMs + (0.1 + 0.8 * rand()) * trainMs / KILLS;
    await new Promise((ok) => setTimeout(ok, delay));
    sigkill(child); // (when it had already exited, its code is checked below)
    const killed = child;
    child = train(dir); // at once: the killed one may not even be reaped yet
    const st = await killed.status;
    if (st.signal === "SIGKILL") kills++;
    else {
      codes.push(st.code);
      if (st.code === 0) finished = true;
    }
  }
  const last = await child.status;
  codes.push(last.code);
  assert.equal(kills, KILLS, "killed mid-way each time");
  assert.ok(finished || last.code === 0, `the run finished (exit codes ${codes})`);
  // Every process that was not killed exited 0: never "busy" because of a dead or zombie owner.
  assert.deepEqual(codes.filter((c) => c !== 0), [], "exit codes of the processes not killed");
  const got = rows(dir);
  assert.equal(got.status, "finished");
  assert.equal(got.metrics.length, expected.metrics.length);
  assert.deepEqual(got.metrics, expected.metrics);
  // No temporary file left: only the database (its checkpoint is removed once finished).
  assert.deepEqual(allFiles(dir), ["data/results.sqlite"]);
  console.log(
    `fault suite (train): ${kills} SIGKILLs survived, each rerun at once; ` +
      `${got.metrics.length} metric rows equal the uninterrupted run's; ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
});
