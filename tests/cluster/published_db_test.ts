import assert from "assert";
import { PublishedDb } from "../../lib/cluster/published_db.ts";
import { ResultsDb } from "../../lib/results/db.ts";

const CONFIG = { env: "heaven-hell-3", algo: "dqn", totalSteps: 100 };

async function withDirs(fn: (shared: string, local: string) => void | Promise<void>) {
  const shared = await Deno.makeTempDir({ prefix: "pdb-shared-" });
  const local = await Deno.makeTempDir({ prefix: "pdb-local-" });
  try {
    await fn(shared, local);
  } finally {
    await Deno.remove(shared, { recursive: true });
    await Deno.remove(local, { recursive: true });
  }
}

function readShared(path: string) {
  const db = ResultsDb.open(path, { readOnly: true });
  try {
    return db.listRuns().map((r) => [r.hash, r.seed]);
  } finally {
    db.close();
  }
}

Deno.test("`PublishedDb` writes a local copy and publishes complete snapshots to the shared path", async () => {
  await withDirs((shared, local) => {
    const path = `${shared}/task-3.sqlite`;
    const pdb = PublishedDb.open(path, { localDir: local });
    assert.ok(pdb.local.startsWith(`${local}/adqn-task-3-`));
    assert.deepEqual(readShared(path), []); // a new database is published at once
    pdb.db.ensureRun({ hash: "a", seed: 1, config: CONFIG });
    assert.deepEqual(readShared(path), []); // not yet published
    pdb.publish();
    assert.deepEqual(readShared(path), [["a", 1]]);
    pdb.db.ensureRun({ hash: "b", seed: 2, config: CONFIG });
    pdb.close();
    assert.deepEqual(readShared(path), [["a", 1], ["b", 2]]);
    // Only the published file is left: no WAL, no temporary file, no local copy.
    assert.deepEqual([...Deno.readDirSync(shared)].map((e) => e.name), ["task-3.sqlite"]);
    assert.deepEqual([...Deno.readDirSync(local)], []);
  });
});

Deno.test("`PublishedDb.open()` starts from the published snapshot (as a task requeued on another node)", async () => {
  await withDirs((shared, local) => {
    const path = `${shared}/task-0.sqlite`;
    const first = PublishedDb.open(path, { localDir: `${local}/node1` });
    first.db.ensureRun({ hash: "a", seed: 0, config: CONFIG });
    first.publish();
    // The first process dies without closing: its local copy is lost with the node.
    const second = PublishedDb.open(path, { localDir: `${local}/node2` });
    try {
      assert.deepEqual(second.db.listRuns().map((r) => r.hash), ["a"]);
    } finally {
      second.close();
      first.close(false);
    }
  });
});

Deno.test("`PublishedDb.open()` refuses a shared file that is not a results database", async () => {
  await withDirs((shared, local) => {
    Deno.writeTextFileSync(`${shared}/task-0.sqlite`, "junk");
    assert.throws(
      () => PublishedDb.open(`${shared}/task-0.sqlite`, { localDir: local }),
      /task-0.sqlite: .*not a results database/,
    );
    assert.deepEqual([...Deno.readDirSync(local)], []);
  });
});
