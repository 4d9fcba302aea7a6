import assert from "assert";
import { ResultsDb } from "../../lib/results/db.ts";
import { configHash, resolveTrainConfig } from "../../lib/train/config.ts";
import { checkpointPathFor, runHash } from "../../lib/experiments/grid.ts";
import { claimOne, runOne } from "../../lib/experiments/runner.ts";
import { checkPomdpEnv } from "../../lib/experiments/cli.ts";
import { fakeTrainer, withoutWall } from "./fake_trainer.ts";

const TIGER = new URL("../../data/pomdp/tiger.pomdp", import.meta.url).pathname;

function pomdpConfig(env: string, seed = 1) {
  return resolveTrainConfig({
    env,
    algo: "adqn",
    seed,
    totalSteps: 300,
    prepopulateSteps: 50,
    logEvery: 50,
    timeLimit: 30,
  });
}

Deno.test("`runHash()` keys a pomdp:<file> run by the file's content, not its path", () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-key-" });
  Deno.copyFileSync(TIGER, `${dir}/a.pomdp`);
  Deno.copyFileSync(TIGER, `${dir}/b.pomdp`);
  const a = runHash(pomdpConfig(`pomdp:${dir}/a.pomdp`));
  assert.equal(runHash(pomdpConfig(`pomdp:${dir}/b.pomdp`)), a, "same content, other path");
  assert.equal(runHash(pomdpConfig(`pomdp:${dir}/./a.pomdp`)), a, "same file, other spelling");
  Deno.writeTextFileSync(`${dir}/a.pomdp`, Deno.readTextFileSync(TIGER).replace("0.85", "0.8 "));
  assert.notEqual(runHash(pomdpConfig(`pomdp:${dir}/a.pomdp`)), a, "edited file, new key");
  // Built-in environments keep the plain config hash (existing databases stay valid).
  const hh = resolveTrainConfig({ env: "heaven-hell-3", algo: "dqn", seed: 0 });
  assert.equal(runHash(hh), configHash(hh));
});

Deno.test("`claimOne()`: an edited .pomdp file is a new run; the same file by two paths is one", () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-key-" });
  const db = ResultsDb.open(`${dir}/results.sqlite`);
  Deno.copyFileSync(TIGER, `${dir}/m.pomdp`);
  // The CLI normalises the path, so a relative and an absolute spelling give one config too.
  const cwd = Deno.cwd();
  Deno.chdir(dir);
  let rel: string;
  try {
    rel = checkPomdpEnv("pomdp:m.pomdp");
  } finally {
    Deno.chdir(cwd);
  }
  assert.equal(rel, `pomdp:${Deno.realPathSync(`${dir}/m.pomdp`)}`);
  const first = claimOne(db, pomdpConfig(rel));
  assert.ok("run" in first);
  db.finish(first.run.id, first.run.owner!, { envSteps: 300, episodes: 10, wallSeconds: 1 });
  const again = claimOne(db, pomdpConfig(checkPomdpEnv(`pomdp:${dir}/m.pomdp`)));
  assert.ok(
    "outcome" in again && again.outcome.status === "skipped",
    "same file: already finished",
  );
  Deno.writeTextFileSync(`${dir}/m.pomdp`, Deno.readTextFileSync(TIGER).replace("0.85", "0.8 "));
  const edited = claimOne(db, pomdpConfig(rel));
  assert.ok("run" in edited, "edited file: a new run, not 'already finished'");
  assert.notEqual(edited.run.id, first.run.id);
  db.close();
});

Deno.test("`runOne({ restartCorrupt })` keeps a corrupt checkpoint aside and starts over", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-corrupt-" });
  const config = resolveTrainConfig({
    env: "heaven-hell-3",
    algo: "adqn",
    seed: 3,
    totalSteps: 600,
    prepopulateSteps: 100,
    logEvery: 50,
    timeLimit: 30,
  });
  const ref = ResultsDb.open(`${dir}/ref.sqlite`);
  const expected = ref.metrics(
    (await runOne(ref, config, { trainer: fakeTrainer(), checkpointDir: `${dir}/r` })).runId,
  );
  ref.close();
  const db = ResultsDb.open(`${dir}/results.sqlite`);
  const abort = new AbortController();
  const first = await runOne(db, config, {
    trainer: fakeTrainer(),
    checkpointDir: `${dir}/runs`,
    signal: abort.signal,
    onProgress: (p) => {
      if (p.envStep >= 260) abort.abort();
    },
  });
  assert.equal(first.status, "interrupted");
  const ckpt = checkpointPathFor(`${dir}/runs`, configHash(config), 3);
  const garbage = new TextEncoder().encode("this is not a checkpoint");
  Deno.writeFileSync(ckpt, garbage);
  const logs: string[] = [];
  const second = await runOne(db, config, {
    trainer: fakeTrainer(),
    checkpointDir: `${dir}/runs`,
    restartCorrupt: true,
    log: (m) => logs.push(m),
  });
  assert.equal(second.status, "finished");
  assert.equal(second.mode, "restarted");
  assert.deepEqual(withoutWall(db.metrics(first.runId)), withoutWall(expected));
  const aside = [...Deno.readDirSync(`${dir}/runs`)].map((e) => e.name)
    .filter((n) => n.includes(".corrupt-"));
  assert.equal(aside.length, 1);
  assert.deepEqual(Deno.readFileSync(`${dir}/runs/${aside[0]}`), garbage, "kept byte for byte");
  assert.ok(logs.some((l) => /is corrupt; kept as .*\.corrupt-/.test(l)), logs.join("\n"));
  db.close();
});
