// Fault suite, `reproduce`: the real `deno task reproduce` (real workers and trainer, tiny budget)
// SIGKILLed at pseudo-random moments, the reproduce process itself (rerun at once, while its
// workers may still be finishing their epoch) or one of its workers alone (the other worker or the
// next round takes its runs over from the dead owner). The finished grid's every metric row and
// its figure files must equal an uninterrupted run's, and nothing may be left behind: no
// temporary file, no worker process.
import assert from "assert";
import { TINY } from "./fixtures/tiny.ts";
import {
  allFiles,
  isLiveChildOf,
  lcg,
  metricRows,
  ownerPid,
  processesIn,
  readDb,
  running,
  sigkill,
  spawnTask,
} from "./fixtures/faults.ts";

// Kill targets in order: P the reproduce process (rerun at once), W one of its workers alone. The
// worker kills in a row at the end kill both workers of a round, and the next round's too: a
// reproduce that took that for a crash loop (no run finished in the round) gave up with exit 1.
const SCHEDULE = "PPWPPWPPWPPWWWWWWWWW";
const DB = "results.sqlite";
// One panel × 5 algorithms × 2 seeds, each pair of seeds trained as one batch of 2 (a run taken
// over may resume in another batch or alone: that must not change its numbers).
const ARGS = [
  ...["--figure", "1a", "--seeds", "2", "--workers", "2", "--batch", "2", "--skip-png"],
  ...["--db", DB, "--out", "out", "--checkpoint-dir", "runs", "--set", "totalSteps=6000", ...TINY],
];

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** Metric rows of every run, keyed by algorithm and seed, and whether all finished. */
function grid(dir: string) {
  return readDb(`${dir}/${DB}`, (db) => {
    const runs = db.listRuns();
    return {
      finished: runs.length > 0 && runs.every((r) => r.status === "finished"),
      attempts: runs.reduce((a, r) => a + r.attempts, 0),
      rows: new Map(runs.map((r) => [`${r.algo} seed ${r.seed}`, metricRows(db, r)])),
    };
  });
}

/** What a poll of the running grid sees: stored rows, and the workers of `parent` holding runs. */
function live(dir: string, parent: number) {
  try {
    return readDb(`${dir}/${DB}`, (db) => {
      let rows = 0;
      const workers = new Set<number>();
      for (const r of db.listRuns()) {
        rows += db.metrics(r.id).length;
        if (r.status === "running" && r.owner && isLiveChildOf(ownerPid(r.owner), parent)) {
          workers.add(ownerPid(r.owner));
        }
      }
      return { rows, workers: [...workers] };
    });
  } catch {
    return undefined; // caught mid-write by a reader without a WAL yet: try again
  }
}

Deno.test(`\`deno task reproduce\` survives SIGKILLs of itself and of its workers (${SCHEDULE}), with every metric row exact`, async () => {
  const t0 = performance.now();
  const ref = Deno.makeTempDirSync({ prefix: "adqn-fault-reproduce-ref-" });
  assert.equal((await spawnTask("reproduce", ARGS, ref).status).code, 0);
  const expected = grid(ref)!;
  assert.ok(expected.finished);
  const totalRows = [...expected.rows.values()].reduce((a, m) => a + m.length, 0);

  const dir = Deno.makeTempDirSync({ prefix: "adqn-fault-reproduce-" });
  const rand = lcg(2024);
  // Each kill waits for 1..maxNew more stored rows (so it lands while the attempt trains) and a
  // worker of the current process holding a run, then a random fraction of a tenth of a second.
  // maxNew shares half of the rows still to come among the kills still to land, so the rows the
  // grid stores meanwhile (more under load) can never use up the budget of the last kills.
  const maxNew = (base: number, k: number) =>
    Math.max(1, Math.floor(0.5 * (totalRows - base) / (SCHEDULE.length - k)));
  let parent = spawnTask("reproduce", ARGS, dir);
  let exited: Deno.CommandStatus | undefined;
  const watch = (p: Deno.ChildProcess) => p.status.then((s) => p === parent && (exited = s));
  watch(parent);
  const codes: number[] = [];
  const orphans: number[] = []; // the workers of killed reproduce processes
  let parentKills = 0, workerKills = 0, base = 0;
  for (let k = 0; k < SCHEDULE.length;) {
    const need = base + 1 + Math.floor(rand() * maxNew(base, k));
    let seen = live(dir, parent.pid);
    for (let i = 0; !exited && !(seen && seen.rows >= need && seen.workers.length > 0); i++) {
      assert.ok(i < 6000, `no progress in 2 minutes (rows ${seen?.rows}, waiting for ${need})`);
      await sleep(20);
      seen = live(dir, parent.pid);
    }
    if (exited) break; // finished (or failed) before this kill: asserted below
    await sleep(rand() * 100);
    seen = live(dir, parent.pid);
    if (!seen) continue;
    base = seen.rows;
    if (SCHEDULE[k] === "W") {
      if (seen.workers.length === 0) continue; // between batches: wait for the next one
      try {
        Deno.kill(seen.workers[Math.floor(rand() * seen.workers.length)], "SIGKILL");
      } catch {
        continue; // it exited meanwhile: wait for the next moment
      }
      workerKills++;
      k++;
      continue;
    }
    // The check for leftovers below sees them: the process and its workers run in `dir`.
    assert.ok(processesIn(dir).includes(parent.pid));
    orphans.push(...seen.workers);
    sigkill(parent);
    const killed = parent;
    parent = spawnTask("reproduce", ARGS, dir); // at once: its workers may still be running
    watch(parent);
    const st = await killed.status;
    if (st.signal === "SIGKILL") parentKills++;
    else codes.push(st.code);
    k++;
  }
  const last = await parent.status;
  codes.push(last.code);
  // Every reproduce process not killed exited 0: never blocked by a dead owner's lease, never
  // giving up because a worker was killed.
  assert.deepEqual(codes, [0], "exit codes of the processes not killed");
  const wantParent = [...SCHEDULE].filter((t) => t === "P").length;
  assert.deepEqual(
    { parentKills, workerKills },
    { parentKills: wantParent, workerKills: SCHEDULE.length - wantParent },
    "every kill landed mid-run",
  );

  // No orphan: the workers of the killed processes stop once their parent is gone (they finish
  // their epoch and write its checkpoint first, so give them a few seconds).
  const leftovers = () => [...processesIn(dir), ...orphans.filter(running)];
  for (let i = 0; i < 100 && leftovers().length > 0; i++) await sleep(100);
  assert.deepEqual(leftovers(), [], "processes of the faulted grid still running");

  const got = grid(dir)!;
  assert.ok(got.finished, "every run finished");
  assert.deepEqual([...got.rows.keys()].sort(), [...expected.rows.keys()].sort());
  for (const [key, rows] of expected.rows) assert.deepEqual(got.rows.get(key), rows, key);
  // No temporary file (checkpoint temporaries, checkpoints of finished runs, -wal/-shm) and the
  // same figure files, byte for byte.
  assert.deepEqual(allFiles(dir), allFiles(ref));
  for (const f of allFiles(ref).filter((f) => f.startsWith("out/"))) {
    assert.deepEqual(Deno.readFileSync(`${dir}/${f}`), Deno.readFileSync(`${ref}/${f}`), f);
  }
  console.log(
    `fault suite (reproduce): ${parentKills} SIGKILLs of reproduce (each rerun at once) and ` +
      `${workerKills} of a worker alone survived; ${totalRows} metric rows of ` +
      `${expected.rows.size} runs equal the uninterrupted run's (${got.attempts} claims in all); ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
});
