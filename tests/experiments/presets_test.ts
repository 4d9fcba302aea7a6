import assert from "assert";
import { ALGO_IDS } from "../../lib/train/agent.ts";
import { configHash } from "../../lib/train/config.ts";
import { ENV_IDS, makeEnv } from "../../lib/envs/mod.ts";
import {
  checkFigureId,
  checkPresetId,
  FIGURE_IDS,
  FIGURES,
  PRESET_IDS,
  presetConfig,
  PRESETS,
} from "../../lib/experiments/presets.ts";
import { buildGrid, checkpointPathFor, registerGrid } from "../../lib/experiments/grid.ts";
import { ResultsDb } from "../../lib/results/db.ts";

Deno.test("`FIGURES` maps panels 1a-1e to the paper's environments and reference lines", () => {
  assert.deepEqual(FIGURE_IDS.map((f) => FIGURES[f].env), [
    "heaven-hell-3",
    "heaven-hell-4",
    "car-flag",
    "cleaner",
    "memory-four-rooms-7x7",
  ]);
  for (const f of FIGURE_IDS) assert.ok((ENV_IDS as readonly string[]).includes(FIGURES[f].env));
  assert.deepEqual(FIGURE_IDS.map((f) => FIGURES[f].reference?.value), [1, 1, 1, 71, 4.78]);
  assert.match(FIGURES["1e"].reference!.label, /upper bound/);
  assert.equal(checkFigureId("1c"), "1c");
  assert.throws(() => checkFigureId("2a"), /unknown figure "2a"; expected one of 1a, 1b/);
  assert.throws(() => checkPresetId("fast"), /unknown preset "fast"; expected one of paper, quick/);
});

Deno.test("`presetConfig()` gives the reference defaults for `paper` and a smaller budget for `quick`", () => {
  for (const f of FIGURE_IDS) {
    for (const algo of ALGO_IDS) {
      const p = presetConfig("paper", f, algo, 5);
      // The reference defaults of algorithms.md §4.
      assert.equal(p.seed, 5);
      assert.equal(p.totalSteps, 2_000_000);
      assert.equal(p.timeLimit, 1000);
      assert.equal(p.bufferCapacity, 1_000_000);
      assert.equal(p.prepopulateSteps, 50_000);
      assert.equal(p.episodesPerBatch, 1);
      assert.equal(p.replayRatio, 8);
      assert.equal(p.lr, 1e-4);
      assert.equal(p.adamEps, 1e-4);
      assert.equal(p.epsilonStart, 1);
      assert.equal(p.epsilonEnd, 0.1);
      assert.equal(p.epsilonDecaySteps, 1_000_000);
      assert.equal(p.targetUpdateSteps, 10_000);
      assert.equal(p.gamma, 0.99);
      assert.equal(p.logEvery, 10_000);
      assert.equal(p.returnWindow, 100);
      assert.deepEqual(p.model, {});
      const q = presetConfig("quick", f, algo, 0);
      assert.ok(q.totalSteps < p.totalSteps && q.totalSteps <= 200_000);
      assert.ok(q.prepopulateSteps < q.totalSteps);
      assert.ok(q.epsilonDecaySteps < q.totalSteps);
    }
  }
  assert.equal(PRESETS.paper.seeds, 20);
  assert.equal(PRESETS.paper.provisional, false);
  assert.equal(PRESETS.quick.provisional, false);
  assert.equal(PRESETS.quick.seeds, 2);
  assert.equal(presetConfig("quick", "1d", "dqn", 0).timeLimit, 200, "Cleaner keeps 200 steps");
  assert.equal(presetConfig("quick", "1a", "dqn", 0, { lr: 3e-4 }).lr, 3e-4, "extra overrides");
});

Deno.test("`buildGrid()` lists panels × algorithms × seeds, seed-major, with distinct hashes per algorithm", () => {
  const g = buildGrid({ figures: ["1a", "1c"], preset: "quick", seeds: 3 });
  assert.equal(g.length, 2 * 5 * 3);
  assert.deepEqual(g.slice(0, 10).map((r) => r.seed), new Array(10).fill(0));
  assert.deepEqual(g.slice(0, 5).map((r) => r.algo), [...ALGO_IDS]);
  assert.equal(g[5].figure, "1c");
  for (const r of g) {
    assert.equal(r.hash, configHash(r.config));
    assert.equal(r.label, `quick:${r.figure}`);
  }
  const seed0 = g.filter((r) => r.seed === 0);
  assert.equal(new Set(seed0.map((r) => r.hash)).size, 10);
  assert.equal(
    new Set(g.filter((r) => r.algo === "dqn" && r.figure === "1a").map((r) => r.hash)).size,
    1,
  );
  assert.equal(buildGrid({ figures: ["1b"], preset: "paper" }).length, 100);
  assert.throws(
    () => buildGrid({ figures: ["1a"], preset: "quick", seeds: 0 }),
    /invalid number of seeds 0/,
  );
  assert.equal(checkpointPathFor("runs/", "abc", 3), "runs/abc-3.ckpt");
});

Deno.test("`registerGrid()` queues each run once", () => {
  const db = ResultsDb.open(`${Deno.makeTempDirSync()}/r.sqlite`);
  const g = buildGrid({ figures: ["1e"], preset: "quick", seeds: 2 });
  const a = registerGrid(db, g, "runs");
  const b = registerGrid(db, g, "elsewhere");
  assert.deepEqual(a.map((r) => r.id), b.map((r) => r.id));
  assert.equal(db.listRuns().length, 10);
  assert.equal(a[0].checkpointPath, `runs/${g[0].hash}-0.ckpt`);
  assert.equal(b[0].checkpointPath, a[0].checkpointPath, "the first checkpoint path is kept");
  assert.ok(a.every((r) => r.status === "queued" && r.label === "quick:1e"));
  db.close();
});

Deno.test("every run of every preset makes its environment (time limits fit each environment)", () => {
  for (const preset of PRESET_IDS) {
    const grid = buildGrid({ figures: ["1a", "1b", "1c", "1d", "1e"], preset });
    for (const g of grid) {
      const c = g.config as unknown as { env: string; timeLimit: number };
      const env = makeEnv(c.env, { timeLimit: c.timeLimit });
      assert.ok(env.timeLimit >= 1 && env.timeLimit <= c.timeLimit, `${preset} ${c.env}`);
    }
  }
  // The paper preset keeps the reference's limit of 1000, which Cleaner's 200-step episodes
  // never reach.
  const cleaner = buildGrid({ figures: ["1d"], preset: "paper" })[0].config as unknown as {
    timeLimit: number;
  };
  assert.equal(cleaner.timeLimit, 1000);
  assert.equal(makeEnv("cleaner", { timeLimit: cleaner.timeLimit }).timeLimit, 200);
});
