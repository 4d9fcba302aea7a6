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
import { CAMPAIGN_SETTINGS, STAGE0 } from "../../lib/experiments/campaign_stages.ts";
import { batchGroups } from "../../lib/cluster/task.ts";
import { ALGO_IDS } from "../../lib/train/agent.ts";
import {
  buildCampaignDb,
  type FixtureRun,
  partialCampaign,
  repeat,
} from "../experiments/campaign_fixture.ts";
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
    // Keys derived independently from the preset module and the config hash; with batches of
    // more than one run, each configuration's seeds come together (so that a batch trains them).
    const expected = (["dqn", "adqn"] as const).flatMap((algo) =>
      [0, 1].map((seed) => {
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

/** Stage 0 complete: algorithm i's cell i mod 4 scores `best` on both seeds, its others 0.1. */
function stage0Done(best: number): FixtureRun[] {
  return ALGO_IDS.flatMap((algo, a) =>
    STAGE0.cells.flatMap((cell, c) =>
      STAGE0.seeds.map((seed): FixtureRun => ({
        figure: "1a",
        algo,
        lr: cell.lr,
        timeLimit: cell.timeLimit,
        seed,
        status: "finished",
        returns: repeat(c === a % 4 ? best : 0.1, 12),
      }))
    )
  );
}

/** The key of a campaign run, derived from the paper preset and the campaign's settings. */
function campaignKey(figure: "1a" | "1b", algo: typeof ALGO_IDS[number], seed: number, c: number) {
  const { lr, timeLimit } = STAGE0.cells[c];
  const config = presetConfig("paper", figure, algo, seed, { ...CAMPAIGN_SETTINGS, lr, timeLimit });
  return `${configHash(config)}-${seed}`;
}

const CAMPAIGN: SweepCliOptions = { campaign: "stage0", emit: "slurm", time: "04:00:00" };

Deno.test("`prepareSweep()` --campaign stage0: the campaign's 40 runs, a cell's 2 seeds per task, its BLAS kernels", async () => {
  await withDir((dir) => {
    const { plan, scriptText } = prepareSweep({ ...CAMPAIGN, out: `${dir}/s0` });
    assert.equal(plan.runs.length, 40);
    assert.equal(plan.tasks, 20);
    const keys = new Set(
      ALGO_IDS.flatMap((algo) =>
        STAGE0.cells.flatMap((_, c) => STAGE0.seeds.map((seed) => campaignKey("1a", algo, seed, c)))
      ),
    );
    assert.deepEqual(new Set(plan.runs.map((r) => `${r.hash}-${r.seed}`)), keys);
    for (let t = 0; t < plan.tasks; t++) {
      const runs = plan.runs.filter((r) => r.task === t);
      assert.equal(new Set(runs.map((r) => r.hash)).size, 1, `task ${t} holds one cell`);
      assert.deepEqual(runs.map((r) => r.seed), [1000, 1001]);
    }
    assert.equal(plan.options.backend, "wasm-blas");
    assert.match(scriptText, /^export OPENBLAS_CORETYPE=Haswell$/m);
    assert.ok(plan.runs.every((r) => r.label === "paper:1a" && r.config.totalSteps === 2_000_000));
    // With 8 runs per task, a task holds one algorithm's whole selection grid (4 cells × 2 seeds,
    // cell by cell): runs that differ only in lr and time limit share a batch.
    const big = prepareSweep({ ...CAMPAIGN, out: `${dir}/s0-8`, "batch-size": "8" }).plan;
    assert.equal(big.tasks, 5);
    for (let t = 0; t < big.tasks; t++) {
      const runs = big.runs.filter((r) => r.task === t);
      assert.equal(
        new Set(runs.map((r) => r.config.algo)).size,
        1,
        `task ${t} holds one algorithm`,
      );
      assert.deepEqual(
        runs.map((r) => [r.config.lr, r.config.timeLimit, r.seed]),
        STAGE0.cells.flatMap((c) => STAGE0.seeds.map((seed) => [c.lr, c.timeLimit, seed])),
      );
      assert.equal(batchGroups(runs).length, 1, `task ${t} trains as one batch`);
    }
  });
});

Deno.test("`prepareSweep()` --campaign stage1: 50 runs at the settings selected in --selection", async () => {
  await withDir((dir) => {
    const db = `${dir}/stage0.sqlite`;
    buildCampaignDb(db, stage0Done(0.9));
    const { plan } = prepareSweep({
      ...CAMPAIGN,
      campaign: "stage1",
      selection: db,
      out: `${dir}/s1`,
    });
    assert.equal(plan.runs.length, 50);
    assert.equal(plan.tasks, 10);
    // Algorithm i was made to select cell i mod 4 (above), on both panels, seeds 0-4.
    const keys = new Set(
      ALGO_IDS.flatMap((algo, a) =>
        (["1a", "1b"] as const).flatMap((f) =>
          [0, 1, 2, 3, 4].map((seed) => campaignKey(f, algo, seed, a % 4))
        )
      ),
    );
    assert.deepEqual(new Set(plan.runs.map((r) => `${r.hash}-${r.seed}`)), keys);
    for (let t = 0; t < plan.tasks; t++) {
      const runs = plan.runs.filter((r) => r.task === t);
      assert.equal(new Set(runs.map((r) => r.hash)).size, 1, `task ${t} holds one configuration`);
      assert.deepEqual(runs.map((r) => r.seed), [0, 1, 2, 3, 4]);
    }
  });
});

Deno.test("`prepareSweep()` --campaign: bad stages, a missing or incomplete selection and a closed gate are refused, nothing written", async () => {
  await withDir((dir) => {
    const closed = `${dir}/closed.sqlite`, partial = `${dir}/partial.sqlite`;
    buildCampaignDb(closed, stage0Done(0.4)); // no cell above 0.5
    buildCampaignDb(partial, partialCampaign());
    const out = `${dir}/s`;
    const cases: [Partial<SweepCliOptions>, RegExp][] = [
      [{ campaign: "stage2" }, /unknown campaign stage "stage2"; expected stage0 or stage1/],
      [{ figure: ["1a"] }, /--figure cannot be combined with --campaign/],
      [{ preset: "paper" }, /--preset cannot be combined with --campaign/],
      [{ selection: closed }, /--selection belongs to --campaign stage1/],
      [{ campaign: "stage1" }, /stage 1 needs the database that holds stage 0's finished runs/],
      [{ campaign: "stage1", selection: `${dir}/none.sqlite` }, /none\.sqlite does not exist/],
      [
        { campaign: "stage1", selection: partial },
        /stage 0 in .*partial\.sqlite is not complete \(3\/40 runs finished\): dqn at lr 0\.0001, time limit 1000 has 0 finished runs; expected 2/,
      ],
      [{ campaign: "stage1", selection: closed }, /the gate is closed in .*closed\.sqlite/],
    ];
    for (const [patch, re] of cases) {
      assert.throws(() => prepareSweep({ ...CAMPAIGN, out, ...patch }), re, JSON.stringify(patch));
    }
    assert.throws(
      () => prepareSweep({ ...BASE, out, selection: closed }),
      /--selection needs --campaign stage1/,
    );
    assert.throws(() => Deno.statSync(out), Deno.errors.NotFound);
  });
});

Deno.test("`buildSweep()` --campaign says where to merge and what comes next", async () => {
  await withDir(async (dir) => {
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    assert.equal(await buildSweep({ ...CAMPAIGN, out: `${dir}/s0`, log }), 0);
    let text = lines.join("\n");
    assert.match(text, /deno task collect --from .*\/s0 --db data\/slurm\/campaign\.sqlite/);
    assert.match(
      text,
      /stage 1:\n {2}deno task sweep --campaign stage1 --selection data\/slurm\/campaign\.sqlite --emit slurm/,
    );
    const db = `${dir}/stage0.sqlite`;
    buildCampaignDb(db, stage0Done(0.9));
    lines.length = 0;
    const s1 = { ...CAMPAIGN, campaign: "stage1", selection: db, out: `${dir}/s1`, log };
    assert.equal(await buildSweep(s1), 0);
    text = lines.join("\n");
    assert.match(text, /deno task campaign report --db data\/slurm\/campaign\.sqlite/);
  });
});
