import assert from "assert";
import { ResultsDb } from "../../lib/results/db.ts";
import { EXIT_CODES, parseTrainArgs, trainMain } from "../../lib/experiments/cli.ts";
import { claimOne } from "../../lib/experiments/runner.ts";
import { fakeTrainer } from "../experiments/fake_trainer.ts";

Deno.test("`trainMain()` exits 3 (busy, not 1 failed) when another live process trains the run", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-busy-" });
  const db = `${dir}/results.sqlite`;
  const args = [
    "--env",
    "heaven-hell-3",
    "--algo",
    "dqn",
    "--steps",
    "300",
    "--set",
    "prepopulateSteps=50",
    "--db",
    db,
    "--checkpoint-dir",
    `${dir}/runs`,
  ];
  const d = ResultsDb.open(db);
  // Another host's fresh lease: alive as far as this host can tell.
  const other = { id: "elsewhere:1:1", host: "elsewhere", pid: 1, start: "1" };
  assert.ok("run" in claimOne(d, parseTrainArgs(args).config, { owner: other }));
  d.close();
  const calls = { n: 0 };
  assert.equal(await trainMain(args, { trainer: fakeTrainer({ calls }) }), 3);
  assert.equal(EXIT_CODES.busy, 3);
  assert.equal(calls.n, 0, "nothing trained");
});
