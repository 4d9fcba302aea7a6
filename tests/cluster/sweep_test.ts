import assert from "assert";
import { readPlan } from "../../lib/cluster/plan.ts";
import {
  buildSweep,
  parseFigures,
  parseOverrides,
  prepareSweep,
  repoRoot,
  type SweepCliOptions,
} from "../../lib/cluster/sweep.ts";
import { presetConfig } from "../../lib/experiments/presets.ts";
import { configHash } from "../../lib/train/config.ts";

async function withDir(fn: (dir: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "sweep-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const BASE: SweepCliOptions = {
  figure: ["1b"],
  preset: "quick",
  emit: "slurm",
  algos: "dqn,adqn",
  seeds: "2",
  "batch-size": "3",
  set: ["totalSteps=5000", "model.gruHidden=16"],
  time: "00:30:00",
};

Deno.test("`prepareSweep()` writes the plan of every (algorithm, seed) run and its job array", async () => {
  await withDir((dir) => {
    const out = `${dir}/sweep`;
    const { plan, scriptText, reused } = prepareSweep({ ...BASE, out, partition: "short" });
    assert.equal(reused, false);
    // 2 algorithms × 2 seeds = 4 runs; batches of 3 → 2 array tasks.
    assert.equal(plan.runs.length, 4);
    assert.equal(plan.tasks, 2);
    assert.equal(plan.dir, out);
    // Keys derived independently from the preset module and the config hash.
    const expected = [0, 1].flatMap((seed) =>
      (["dqn", "adqn"] as const).map((algo) => {
        const c = presetConfig("quick", "1b", algo, seed, {
          totalSteps: 5000,
          model: { gruHidden: 16 },
        });
        return `${configHash(c)}-${seed}`;
      })
    );
    assert.deepEqual(plan.runs.map((r) => `${r.hash}-${r.seed}`), expected);
    assert.equal(plan.runs[0].config.env, "heaven-hell-4");
    assert.equal(plan.runs[0].config.totalSteps, 5000);
    assert.deepEqual(readPlan(out), plan);
    assert.match(scriptText, /^#SBATCH --array=0-1$/m);
    assert.match(scriptText, /^#SBATCH --partition=short$/m);
    assert.match(scriptText, /^#SBATCH --time=00:30:00$/m);
    assert.match(scriptText, new RegExp(`^#SBATCH --chdir=${repoRoot()}$`, "m"));
    assert.equal(Deno.readTextFileSync(`${out}/sweep.sbatch`), scriptText);
    assert.ok((Deno.statSync(`${out}/sweep.sbatch`).mode! & 0o100) !== 0, "executable");
    for (const d of ["logs", "db", "checkpoints", "events"]) {
      assert.ok(Deno.statSync(`${out}/${d}`).isDirectory, d);
    }
    Deno.statSync(`${repoRoot()}/deno.json`); // the repository root is right
  });
});

Deno.test("`prepareSweep()` keeps an identical plan and refuses a different one without --force", async () => {
  await withDir((dir) => {
    const out = `${dir}/s`;
    const first = prepareSweep({ ...BASE, out });
    const again = prepareSweep({ ...BASE, out, time: "01:00:00" });
    assert.equal(again.reused, true);
    assert.equal(again.plan.createdAt, first.plan.createdAt);
    assert.match(again.scriptText, /--time=01:00:00/);
    assert.throws(
      () => prepareSweep({ ...BASE, out, "batch-size": "1" }),
      /holds another sweep .* --force/,
    );
    const forced = prepareSweep({ ...BASE, out, "batch-size": "1", force: true });
    assert.equal(forced.plan.tasks, 4);
    assert.equal(readPlan(out).tasks, 4);
  });
});

Deno.test("`prepareSweep()` rejects bad options with the value and what is valid", async () => {
  await withDir((dir) => {
    const out = `${dir}/s`;
    const cases: [Partial<SweepCliOptions>, RegExp][] = [
      [{ emit: "pbs" }, /--emit "pbs" is not supported; expected slurm/],
      [{ preset: undefined }, /--preset is required/],
      [{ preset: "huge" }, /unknown preset "huge"/],
      [{ figure: ["2a"] }, /unknown figure "2a"/],
      [{ figure: [] }, /--figure is required/],
      [{ algos: "dqn,ppo" }, /unknown algorithm "ppo"/],
      [{ seeds: "0" }, /invalid --seeds "0"/],
      [{ "batch-size": "x" }, /--batch-size/],
      [{ set: ["seed=3"] }, /--set seed=... is not allowed/],
      [{ set: ["nope=1"] }, /unknown config key "nope"/],
      [{ backend: "tpu" }, /invalid --backend "tpu"/],
      [{ time: "00:01:00", grace: "120" }, /must come before the time limit/],
    ];
    for (const [patch, re] of cases) {
      assert.throws(() => prepareSweep({ ...BASE, out, ...patch }), re, JSON.stringify(patch));
    }
    assert.throws(() => Deno.statSync(out), Deno.errors.NotFound); // nothing was written
  });
});

Deno.test("`parseFigures()` accepts repeats, comma lists and all", () => {
  assert.deepEqual(parseFigures(["1a,1c", "1a"]), ["1a", "1c"]);
  assert.deepEqual(parseFigures(["all"]), ["1a", "1b", "1c", "1d", "1e"]);
});

Deno.test("`parseOverrides()` types settings by the defaults", () => {
  assert.deepEqual(parseOverrides(["totalSteps=1e4", "model.headHidden=[32]"]), {
    totalSteps: 10000,
    model: { headHidden: [32] },
  });
});

Deno.test("`buildSweep()` says how to submit and collect", async () => {
  await withDir(async (dir) => {
    const lines: string[] = [];
    const code = await buildSweep({ ...BASE, out: `${dir}/s`, log: (l) => lines.push(l) });
    assert.equal(code, 0);
    const text = lines.join("\n");
    assert.match(text, new RegExp(`sbatch ${dir}/s/sweep.sbatch`));
    assert.match(text, new RegExp(`deno task collect --from ${dir}/s --db data/results.sqlite`));
  });
});
