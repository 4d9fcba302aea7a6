import assert from "assert";
import { join } from "node:path";
import {
  budgetDifferences,
  budgetShort,
  budgetText,
  checkClaims,
  type ClaimResult,
  describeBudget,
  FIGURE_CLAIMS,
  type FinalStat,
  formatMeanSe,
  formatSteps,
  openResultsSnapshot,
  panelVerdict,
  selectPanelRuns,
} from "../../lib/notebooks/figure_report.ts";
import { ResultsDb } from "../../lib/results/db.ts";
import { buildGrid, FIGURE_IDS, presetConfig, runOne } from "../../lib/experiments/mod.ts";
import { fakeTrainer } from "../experiments/fake_trainer.ts";

const ALL = ["dqn", "adqn", "adqn-vr", "adqn-state", "adqn-state-vr"];

/** Final returns: `means[algo]` over `n` seeds with standard error `se`. */
function stats(means: Record<string, number>, se = 0.01, n = 3): FinalStat[] {
  return Object.entries(means).map(([algo, mean]) => ({ algo, n, mean, se }));
}

function byText(results: ClaimResult[]): Record<string, string> {
  return Object.fromEntries(results.map((r) => [r.text, r.status]));
}

Deno.test("`FIGURE_CLAIMS` has headline claims about ADQN and ADQN-VR for every panel", () => {
  for (const figure of FIGURE_IDS) {
    const headline = FIGURE_CLAIMS[figure].filter((c) => c.headline);
    assert.deepEqual(
      headline.map((c) => (c.test as { algo: string }).algo),
      ["adqn", "adqn-vr"],
      figure,
    );
  }
});

Deno.test("`checkClaims()` on Heaven-Hell: the optimum reached by ADQN and ADQN-VR only", () => {
  const good = stats({
    dqn: 0.02,
    adqn: 0.95,
    "adqn-vr": 0.91,
    "adqn-state": 0.1,
    "adqn-state-vr": 0.24,
  });
  const results = checkClaims("1a", good);
  assert.deepEqual(results.map((r) => r.status), Array(7).fill("holds"));
  assert.equal(results[0].evidence, "ADQN: 0.950 ± 0.010 over 3 seeds, needs ≥ 0.900");
  const verdict = panelVerdict("1a", results);
  assert.equal(verdict.outcome, "reproduced");
  assert.equal(verdict.holds, 7);
  assert.match(
    verdict.sentence,
    /^The paper's claim for Figure 1a \(Heaven-Hell-3\) is reproduced/,
  );

  // 0.89 < 0.9 × 1: not reached. 0.25 is not "< 25% of the optimum".
  const bad = stats({
    dqn: 0.02,
    adqn: 0.89,
    "adqn-vr": 0.91,
    "adqn-state": 0.1,
    "adqn-state-vr": 0.25,
  });
  assert.deepEqual(byText(checkClaims("1b", bad)), {
    "ADQN reaches the optimum (final mean ≥ 90% of it)": "fails",
    "ADQN-VR reaches the optimum (final mean ≥ 90% of it)": "holds",
    "ADQN beats DQN, ADQN-State and ADQN-State-VR": "holds",
    "ADQN-VR beats DQN, ADQN-State and ADQN-State-VR": "holds",
    "DQN shows little improvement (final mean < 25% of the optimum)": "holds",
    "ADQN-State shows little improvement (final mean < 25% of the optimum)": "holds",
    "ADQN-State-VR shows little improvement (final mean < 25% of the optimum)": "fails",
  });
});

Deno.test("`panelVerdict()` says when only the trivially satisfied checks hold", () => {
  const nothingLearnt = stats({
    dqn: 0.01,
    adqn: 0.03,
    "adqn-vr": -0.02,
    "adqn-state": 0,
    "adqn-state-vr": 0.05,
  });
  const results = checkClaims("1a", nothingLearnt);
  const runs = [0, 1, 2].map((seed) => ({
    seed,
    label: "quick:1a",
    status: "finished",
    config: { totalSteps: 30_000, lr: 0.001 },
  }));
  const budget = describeBudget(runs as never);
  assert.deepEqual(budgetDifferences(budget), [
    "totalSteps: 30,000 (the paper: 2,000,000)",
    "lr: 0.001 (the paper: 0.0001)",
  ]);
  const verdict = panelVerdict("1a", results, budget);
  assert.equal(verdict.outcome, "not reproduced");
  assert.equal(verdict.holds, 3);
  assert.ok(
    verdict.sentence.startsWith(
      "At 30,000 environment steps per run (the paper: 2,000,000) and 3 seeds (the paper: 20), " +
        "the paper's claim for Figure 1a (Heaven-Hell-3) is not reproduced: " +
        "“ADQN reaches the optimum” fails (ADQN: 0.030 ± 0.010 over 3 seeds, needs ≥ 0.900)",
    ),
    verdict.sentence,
  );
  assert.match(verdict.sentence, /3 of 7 checks hold; those that hold only say that methods fail/);
  assert.ok(verdict.sentence.endsWith("satisfy trivially."), verdict.sentence);
  // Unfinished runs are said to be left out.
  const partial = describeBudget([...runs, { ...runs[0], seed: 3, status: "running" }] as never);
  assert.deepEqual([partial.runs, partial.finished, partial.seeds], [4, 3, 4]);
  assert.ok(
    panelVerdict("1a", results, partial).sentence.endsWith(
      "satisfy trivially; 1 of 4 runs is not finished and not counted.",
    ),
  );
});

Deno.test("`checkClaims()` compares with 2 standard errors of the difference", () => {
  // ADQN − DQN = 0.3; 2 · √(0.1² + 0.05²) = 2 · 0.1118 = 0.2236 < 0.3: ADQN beats DQN.
  const claim = {
    text: "ADQN beats DQN",
    headline: true,
    test: { kind: "beats" as const, algo: "adqn", others: ["dqn"] },
  };
  const s = (adqn: number): FinalStat[] => [
    { algo: "adqn", n: 3, mean: adqn, se: 0.1 },
    { algo: "dqn", n: 3, mean: 0.2, se: 0.05 },
  ];
  const [yes] = checkClaims("1c", s(0.5), { claims: [claim] });
  assert.equal(yes.status, "holds");
  assert.equal(yes.evidence, "ADQN − DQN = +0.300 (2 SE = 0.224)");
  // 0.2 < 0.2236: within the noise.
  assert.equal(checkClaims("1c", s(0.4), { claims: [claim] })[0].status, "fails");
  // With z = 1 the margin is 0.1118 < 0.2.
  assert.equal(checkClaims("1c", s(0.4), { claims: [claim], z: 1 })[0].status, "holds");
});

Deno.test("`checkClaims()` on Car-Flag and Cleaner: beats the baselines, state-only vs DQN", () => {
  const separated = stats({
    dqn: 0.2,
    adqn: 0.9,
    "adqn-vr": 0.85,
    "adqn-state": 0.1,
    "adqn-state-vr": 0.3,
  }, 0.02);
  assert.deepEqual(byText(checkClaims("1c", separated)), {
    "ADQN beats DQN, ADQN-State and ADQN-State-VR": "holds",
    "ADQN-VR beats DQN, ADQN-State and ADQN-State-VR": "holds",
    "ADQN-State does not beat DQN": "holds",
    // 0.3 − 0.2 = 0.1 > 2 · √(2) · 0.02 = 0.057: ADQN-State-VR does beat DQN here.
    "ADQN-State-VR does not beat DQN": "fails",
    "ADQN-State-VR beats ADQN-State": "holds",
  });
  const verdict = panelVerdict("1d", checkClaims("1d", separated));
  assert.equal(verdict.outcome, "partly reproduced");
  assert.match(verdict.sentence, /but “ADQN-State-VR does not beat DQN” fails \(4 of 5 checks/);

  // ADQN ahead of DQN but not of ADQN-State-VR: the failing comparison is the one named.
  const close = stats({
    dqn: 0.2,
    adqn: 0.35,
    "adqn-vr": 0.9,
    "adqn-state": 0,
    "adqn-state-vr": 0.34,
  });
  const results = checkClaims("1c", close);
  assert.equal(results[0].status, "fails");
  assert.deepEqual(results[0].details.map((d) => d.ok), [true, true, false]);
  const sentence = panelVerdict("1c", results).sentence;
  assert.match(sentence, /fails \(ADQN − ADQN-State-VR = \+0\.010 \(2 SE = 0\.028\)\)/);
  assert.doesNotMatch(sentence, /ADQN − DQN/);
});

Deno.test("`checkClaims()` on MemoryFourRooms: the exceptions and 'nobody solves it'", () => {
  // 75% of the upper bound 4.78 is 3.585.
  const paperLike = stats({
    dqn: -1,
    adqn: 2.5,
    "adqn-vr": 3.2,
    "adqn-state": 0,
    "adqn-state-vr": -1.5,
  }, 0.1);
  const results = checkClaims("1e", paperLike);
  assert.ok(results.every((r) => r.status === "holds"), JSON.stringify(results));
  assert.equal(
    results.at(-1)!.evidence,
    "highest: ADQN-VR: 3.200 ± 0.100 over 3 seeds, needs < 3.585",
  );
  const solved = stats({ dqn: -1, adqn: 2.5, "adqn-vr": 3.6, "adqn-state": 0, "adqn-state-vr": 0 });
  assert.equal(checkClaims("1e", solved).at(-1)!.status, "fails");
});

Deno.test("`checkClaims()` is undetermined without runs or with fewer than 2 seeds", () => {
  const two = [
    { algo: "dqn", n: 1, mean: 0, se: 0 },
    { algo: "adqn", n: 1, mean: 1, se: 0 },
  ];
  const results = checkClaims("1c", two);
  assert.equal(results[0].status, "undetermined");
  assert.equal(results[0].evidence, "no finished run of ADQN-State, ADQN-State-VR");
  const oneSeed = stats(Object.fromEntries(ALL.map((a) => [a, 0.5])), 0, 1);
  assert.match(checkClaims("1c", oneSeed)[0].evidence, /fewer than 2 seeds of ADQN, DQN/);
  // Thresholds need no standard error: one seed is enough.
  assert.equal(checkClaims("1a", two)[0].status, "holds");
  const verdict = panelVerdict("1c", results);
  assert.equal(verdict.outcome, "undetermined");
  assert.match(verdict.sentence, /cannot be decided: “ADQN beats DQN, ADQN-State and/);
  // Rows with n = 0 (only unfinished runs) count as missing.
  const unfinished = [{ algo: "adqn", n: 0, mean: NaN, se: NaN }];
  assert.equal(checkClaims("1a", unfinished)[0].status, "undetermined");
});

Deno.test("`formatMeanSe()`, `formatSteps()` write numbers for readers", () => {
  assert.equal(
    formatMeanSe({ algo: "adqn", n: 1, mean: 0.5, se: 0 }),
    "0.500 over 1 seed (no standard error)",
  );
  assert.equal(
    formatMeanSe({ algo: "adqn", n: 2, mean: -1, se: 0.25 }),
    "-1.000 ± 0.250 over 2 seeds",
  );
  assert.equal(formatMeanSe({ algo: "adqn", n: 0, mean: NaN, se: NaN }), "no finished run");
  assert.equal(formatSteps(2_000_000), "2,000,000");
});

async function withDb(fn: (db: ResultsDb, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "figure-report-test-" });
  const db = ResultsDb.open(join(dir, "results.sqlite"));
  try {
    await fn(db, dir);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("`selectPanelRuns()` finds the preset's runs, else the labelled ones, else none", async () => {
  await withDb(async (db, dir) => {
    const trainer = fakeTrainer();
    const small = { totalSteps: 300, prepopulateSteps: 100, epsilonDecaySteps: 100, logEvery: 100 };
    // Runs of 1a with other settings than the quick preset's: found by their label only.
    for (const run of buildGrid({ figures: ["1a"], preset: "quick", seeds: 2, extra: small })) {
      await runOne(db, run.config, { trainer, checkpointDir: dir, label: run.label });
    }
    const labelled = selectPanelRuns(db, "1a", "quick");
    assert.equal(labelled.matched, "label");
    assert.equal(labelled.runs.length, 10);
    const now = formatSteps(presetConfig("quick", "1a", "adqn", 0).totalSteps);
    assert.ok(
      labelled.note!.includes(`labelled quick:1a`) &&
        labelled.note!.endsWith(`300 environment steps per run, now ${now})`),
      labelled.note,
    );
    assert.deepEqual(selectPanelRuns(db, "1b", "quick"), { runs: [], matched: "none" });

    const budget = describeBudget(labelled.runs);
    assert.deepEqual(budget.totalSteps, [300]);
    assert.equal(budget.seeds, 2);
    assert.deepEqual(budget.presets, ["quick"]);
    const lines = budgetDifferences(budget);
    assert.ok(lines.includes("totalSteps: 300 (the paper: 2,000,000)"), lines.join("\n"));
    assert.ok(lines.includes("logEvery: 100 (the paper: 10,000)"), lines.join("\n"));
    assert.ok(!lines.some((l) => l.startsWith("gamma")), "gamma is the paper's");
    assert.equal(
      budgetText(budget),
      "300 environment steps per run (the paper: 2,000,000) and 2 seeds (the paper: 20)",
    );
    assert.equal(
      budgetShort(budget),
      "300 env steps per run, 2 seeds (the paper: 2,000,000 and 20)",
    );

    // One run of 1c with the quick preset's own configuration: found by its hash.
    const [exact] = buildGrid({ figures: ["1c"], preset: "quick", seeds: 1, algos: ["dqn"] });
    db.ensureRun({ hash: exact.hash, seed: 0, config: exact.config as never, label: "other" });
    const found = selectPanelRuns(db, "1c", "quick");
    assert.equal(found.matched, "preset");
    assert.deepEqual(found.runs.map((r) => r.algo), ["dqn"]);
    assert.equal(found.note, undefined);
  });
});

Deno.test("`openResultsSnapshot()` reads a copy and leaves the original alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "figure-report-test-" });
  try {
    const path = join(dir, "results.sqlite");
    assert.equal(await openResultsSnapshot(join(dir, "missing.sqlite")), undefined);
    const [run] = buildGrid({ figures: ["1a"], preset: "quick", seeds: 1, algos: ["adqn"] });
    const db = ResultsDb.open(path);
    db.ensureRun({ hash: run.hash, seed: 0, config: run.config as never, label: run.label });
    db.close();
    const before = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    const snapshot = await openResultsSnapshot(path);
    assert.ok(snapshot);
    assert.deepEqual(snapshot.db.listRuns().map((r) => r.algo), ["adqn"]);
    assert.throws(() => snapshot.db.ensureRun({ ...run, config: run.config as never }));
    await snapshot.close();
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
