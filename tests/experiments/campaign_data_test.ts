// The read side of the campaign (lib/experiments/campaign_data.ts, campaign_verdicts.ts) on small
// databases built through the real results API (./campaign_fixture.ts); expected values by hand.
import assert from "assert";
import { ResultsDb } from "../../lib/results/db.ts";
import {
  campaignCurves,
  campaignPanelInput,
  campaignSelection,
  gateSentence,
  gateState,
  leadingCells,
  loadCampaign,
  loadCampaignFile,
  runStage,
  seedsTable,
  selectionComplete,
  selectionRows,
  stage0Leaders,
  stageSummaries,
  unfinishedRuns,
} from "../../lib/experiments/campaign_data.ts";
import {
  claimText,
  finalSummaries,
  formatCampaign,
  scopedVerdicts,
  verdictSentence,
} from "../../lib/experiments/campaign_verdicts.ts";
import {
  selectionProgress,
  selectionTable,
  STAGE0,
} from "../../lib/experiments/campaign_stages.ts";
import {
  buildCampaignDb,
  COMPLETE_FINALS,
  completeCampaign,
  FIXTURE_COMMIT,
  fixtureStart,
  partialCampaign,
} from "./campaign_fixture.ts";

function withDb<T>(runs: Parameters<typeof buildCampaignDb>[1], fn: (path: string) => T): T {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-campaign-data-" });
  try {
    buildCampaignDb(`${dir}/results.sqlite`, runs);
    return fn(`${dir}/results.sqlite`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("runStage: stage 0 is paper:1a on seeds 1000/1001, stage 1 paper:1a/1b on seeds 0-4, others none", () => {
  withDb([], (path) => {
    const db = ResultsDb.open(path);
    const add = (label: string, seed: number, hash = "h") =>
      db.ensureRun({
        hash,
        seed,
        config: { env: "heaven-hell-3", algo: "dqn", totalSteps: 10 },
        label,
      });
    assert.equal(runStage(add("paper:1a", 1000)), 0);
    assert.equal(runStage(add("paper:1a", 1001)), 0);
    assert.equal(runStage(add("paper:1a", 4)), 1);
    assert.equal(runStage(add("paper:1b", 0, "h2")), 1);
    assert.equal(runStage(add("paper:1b", 1000, "h2")), null, "1b has no selection runs");
    assert.equal(runStage(add("paper:1a", 5)), null, "seed 5 is outside stage 1");
    assert.equal(runStage(add("quick:1a", 0, "h3")), null);
    assert.equal(runStage(add("paper:1c", 0, "h4")), null);
    assert.equal(loadCampaign(db).runs.length, 4);
    db.close();
  });
});

Deno.test("stageSummaries of a partial stage 0: runs, steps, training time, provenance by hand", () => {
  withDb(partialCampaign(), (path) => {
    const data = loadCampaignFile(path);
    const [s0, s1] = stageSummaries(data);
    assert.equal(s0.planned, 40);
    assert.equal(s0.registered, 6);
    assert.deepEqual(s0.status, { queued: 2, running: 1, finished: 3, failed: 0 });
    // 3 finished runs of 2M steps, the running one at its 3rd point, the released one at its 2nd.
    assert.equal(s0.envSteps, 3 * 2_000_000 + 300_000 + 200_000);
    assert.equal(s0.plannedSteps, 40 * 2_000_000);
    // 60 s per point: 12 + 12 + 15 points finished, 3 and 2 logged, 0 for the new run.
    assert.equal(s0.trainingSeconds, 60 * (12 + 12 + 15 + 3 + 2));
    assert.equal(s0.firstStart, new Date(fixtureStart(0)).toISOString());
    const db = ResultsDb.open(path, { readOnly: true });
    const ends = db.listRuns({ status: "finished" }).map((r) => r.endedAt!).sort();
    db.close();
    assert.equal(s0.lastEnd, ends.at(-1));
    assert.deepEqual(s0.codeVersions, [{ value: FIXTURE_COMMIT, runs: 5 }]);
    assert.deepEqual(s0.backends, [{ value: "wasm-blas", runs: 5 }]);
    assert.deepEqual(s0.machines, [{ value: "Fixture CPU @ 3.0GHz, 2 cores", runs: 5 }]);
    assert.deepEqual([s1.planned, s1.registered, s1.envSteps, s1.plannedSteps], [
      50,
      0,
      0,
      100_000_000,
    ]);
    assert.deepEqual([s1.firstStart, s1.lastEnd, s1.codeVersions], [null, null, []]);
    assert.deepEqual(unfinishedRuns(data), [
      "stage 0, 1a, dqn, lr 0.0001, time limit 1000, seed 1001: 200,000/2,000,000 steps " +
      "(queued, 1 attempt)",
      "stage 0, 1a, adqn-vr, lr 0.0001, time limit 100, seed 1000: 300,000/2,000,000 steps " +
      "(running, 1 attempt)",
    ]);
  });
});

Deno.test("the selection so far: scores over finished seeds, n/2 seeds, nothing selected until an algorithm's cells are complete", () => {
  withDb(partialCampaign(), (path) => {
    const data = loadCampaignFile(path);
    const table = campaignSelection(data);
    const adqn = selectionRows(table).filter((r) => r.algorithm === "adqn");
    assert.deepEqual(
      adqn.map((r) => [r.lr, r["time limit"], r["final return (seed mean)"], r.seeds]),
      [
        ["0.0001", "1000", "0.750", "2/2"], // finals 0.5 (last 10 of 0,0,0.5×10) and 1
        ["0.0001", "100", "n/a", "0/2"],
        ["0.0003", "1000", "n/a", "0/2"],
        ["0.0003", "100", "0.900", "1/2"], // last 10 of 0.2×5, 0.9×10
      ],
    );
    assert.ok(table.every((e) => !e.selected));
    // Decided before stage 0 ends: ADQN's complete cell (1e-4, 1000) is above 0.5; the 0.900 of
    // (3e-4, 100) has one seed of two and would not count alone.
    assert.equal(gateState(table), "open");
    assert.equal(selectionComplete(table), false);
    assert.equal(
      gateSentence(table),
      "open: adqn at lr 0.0001, time limit 1000 reached a final return of 0.750 (above 0.5); " +
        "stage 1 starts once stage 0 has selected every algorithm's setting",
    );
    const below = table.map((e) =>
      e.algo === "adqn" && e.cell.timeLimit === 1000 && e.cell.lr === 1e-4
        ? { ...e, score: 0.4 }
        : e
    );
    assert.equal(gateState(below), "pending");
    assert.match(gateSentence(below), /^pending: no complete cell of adqn or adqn-vr is above/);
    const lead = leadingCells(table);
    assert.deepEqual(lead.adqn, { lr: 3e-4, timeLimit: 100 });
    assert.equal(lead["adqn-vr"], null, "no finished run yet");
    // Until stage 1 has points, the curves come from stage 0 at the leading cells: ADQN's one run
    // at (3e-4, 100); without a finished run, the cell of the best started ones: ADQN-VR's running
    // run at (1e-4, 100) and DQN's released one at (1e-4, 1000).
    const curves = campaignCurves(data, "1b");
    assert.equal(curves.source, "stage 0");
    assert.deepEqual(curves.runs.map((r) => [r.algo, r.cell.lr, r.cell.timeLimit, r.run.seed]), [
      ["dqn", 1e-4, 1000, 1001],
      ["adqn", 3e-4, 100, 1000],
      ["adqn-vr", 1e-4, 100, 1000],
    ]);
    assert.deepEqual(stage0Leaders(data)["adqn-state"], null, "registered, no point");
    assert.equal(campaignPanelInput(curves, "1b").title, "Heaven-Hell-3");
    assert.equal(campaignCurves(data, "1a", false).source, "none");
    assert.deepEqual(seedsTable(data, "1a")[1], {
      algorithm: "adqn",
      "selected setting": "not selected yet (stage 0 unfinished)",
      "seeds finished": "0/5",
      "unfinished runs": "not registered yet",
    });
  });
  // Complete, selectionProgress is selectionTable; a cell without a number never wins.
  const rows = STAGE0.cells.flatMap((cell, c) =>
    STAGE0.seeds.map((seed) => ({ algo: "dqn" as const, cell, seed, final: c === 0 ? NaN : c }))
  );
  const all = ["adqn", "adqn-vr", "adqn-state", "adqn-state-vr"].flatMap((algo) =>
    rows.map((r) => ({ ...r, algo: algo as "adqn", final: 0.1 }))
  );
  assert.deepEqual(selectionProgress([...rows, ...all]), selectionTable([...rows, ...all]));
  const dqn = selectionTable([...rows, ...all]).filter((e) => e.algo === "dqn");
  assert.deepEqual(dqn.map((e) => e.selected), [false, false, false, true]);
});

Deno.test("a complete campaign: selection, gate, stage-1 curves and the verdicts from the intervals", () => {
  withDb(completeCampaign(), (path) => {
    const data = loadCampaignFile(path);
    const [s0, s1] = stageSummaries(data);
    assert.deepEqual([s0.finished, s1.finished], [40, 50]);
    assert.deepEqual([s0.envSteps, s1.envSteps], [80_000_000, 100_000_000]);
    const table = campaignSelection(data);
    assert.equal(gateState(table), "open");
    assert.deepEqual(
      table.filter((e) => e.selected).map((e) => [e.algo, e.cell.lr, e.cell.timeLimit]),
      [
        ["dqn", 1e-4, 1000], // all 0.05: the first cell
        ["adqn", 3e-4, 100],
        ["adqn-vr", 3e-4, 100],
        ["adqn-state", 1e-4, 1000],
        ["adqn-state-vr", 1e-4, 1000],
      ],
    );
    assert.equal(campaignCurves(data, "1b").source, "stage 1");
    assert.equal(campaignCurves(data, "1b").runs.length, 25);
    assert.deepEqual(seedsTable(data, "1b")[1], {
      algorithm: "adqn",
      "selected setting": "lr 0.0003, time limit 100",
      "seeds finished": "5/5",
      "unfinished runs": "none",
    });
    // ADQN's finals 0.9, 0.95, 1, 1, 1: mean 0.97; squared deviations 0.0049 + 0.0004 + 3 · 0.0009
    // = 0.008, so SE = sqrt(0.008 / 4 / 5) = 0.020.
    const adqn = finalSummaries(data, "1a", { seed: 0, resamples: 500 })[1];
    assert.deepEqual(adqn.meanSe, ["0.970 ± 0.020"]);
    // IQM: drop one value at each end of 5 → mean(0.95, 1, 1) = 0.983.
    assert.match(adqn.iqm, /^0\.983 \[/);
    const opts = { seed: 0, resamples: 2000 };
    const here = scopedVerdicts(data, "1a", opts);
    const both = scopedVerdicts(data, "1a+1b", opts);
    const verdict = (cs: typeof here, text: string) =>
      cs.find((c) => c.claim.text.startsWith(text))!.result!;
    for (const cs of [here, both]) {
      // Every ADQN final exceeds every DQN final: P(X > Y) = 1 in every resample.
      const a = verdict(cs, "adqn outperforms dqn");
      assert.deepEqual([a.interval.point, a.interval.lo, a.interval.hi, a.verdict], [
        1,
        1,
        1,
        "reproduced",
      ]);
      // ADQN-VR (0.5 each) against ADQN-State (0, .2, .4, .6, .8): P = 3/5; a resample of the
      // latter has P ≤ 0.4 with probability 0.32 and P = 1 with 0.08: the interval spans 1/2.
      const b = verdict(cs, "adqn-vr outperforms adqn-state ");
      assert.equal(b.interval.point, 0.6);
      assert.ok(b.interval.lo < 0.5 && b.interval.hi > 0.5);
      assert.equal(b.verdict, "inconclusive");
      // Every ADQN final is ≥ 0.9, so is every resample's IQM: reproduced.
      assert.equal(verdict(cs, "adqn reaches").verdict, "reproduced");
      // ADQN-VR's IQM is 0.5 in every resample: below 0.9.
      const c = verdict(cs, "adqn-vr reaches");
      assert.deepEqual([c.interval.lo, c.interval.hi, c.verdict], [0.5, 0.5, "not reproduced"]);
    }
    assert.equal(
      claimText(here.find((c) => c.claim.text.startsWith("adqn outperforms dqn"))!),
      "P(X>Y) 1.000 [1.000, 1.000]: reproduced",
    );
    assert.match(
      verdictSentence(data, here, both, "1a"),
      /^Of the 8 claims, on Figure 1a: \d+ reproduced, 1 not reproduced, \d+ inconclusive, 0 pending; on Figures 1a and 1b together: /,
    );
    assert.match(formatCampaign(data, 1), /\| adqn outperforms dqn in final performance \|/);
    assert.ok(COMPLETE_FINALS.adqn.every((v) => v >= 0.9));
  });
});

Deno.test("verdicts wait for 2 finished seeds of every algorithm a claim names; sentences without stage 1", () => {
  const runs = completeCampaign().filter((r) =>
    r.seed >= 1000 ||
    (r.figure === "1a" && (r.algo === "dqn" ? r.seed < 2 : r.algo === "adqn" && r.seed === 0))
  );
  withDb(runs, (path) => {
    const data = loadCampaignFile(path);
    const here = scopedVerdicts(data, "1a", { seed: 0, resamples: 100 });
    const c = here.find((x) => x.claim.text.startsWith("adqn outperforms dqn"))!;
    assert.equal(c.result, null);
    assert.equal(c.seeds, "adqn 1/5, dqn 2/5");
    assert.equal(claimText(c), "pending (finished seeds: adqn 1/5, dqn 2/5; needs 2 each)");
    const both = scopedVerdicts(data, "1a+1b", { seed: 0, resamples: 100 });
    assert.equal(both[0].seeds, "adqn 1/5 + 0/5, dqn 2/5 + 0/5");
    assert.match(verdictSentence(data, here, both, "1a"), /0 reproduced, .* 8 pending/);
    assert.match(verdictSentence(data, here, both, "1a"), /Provisional: 3 of 50 stage-1 runs/);
  });
  withDb(partialCampaign(), (path) => {
    const data = loadCampaignFile(path);
    const here = scopedVerdicts(data, "1a");
    assert.equal(
      verdictSentence(data, here, here, "1a"),
      "Stage 1 has no finished run yet, so no claim is decided (stage 0, the selection, is still " +
        "running).",
    );
  });
  // The gate closed: stage 1 is not run, and the sentence says so.
  const blocked = completeCampaign().filter((r) => r.seed >= 1000).map((r) => ({
    ...r,
    returns: r.returns.map(() => 0.2),
  }));
  withDb(blocked, (path) => {
    const data = loadCampaignFile(path);
    assert.equal(gateState(campaignSelection(data)), "blocked");
    assert.equal(
      gateSentence(campaignSelection(data)),
      "blocked: no cell brought adqn or adqn-vr above a final return of 0.5, so stage 1 does not run",
    );
    assert.match(
      verdictSentence(data, [], [], "1b"),
      /^The gate stopped the campaign after stage 0/,
    );
  });
  // No database at all: no runs, every claim pending.
  const none = loadCampaignFile("/nonexistent/results.sqlite");
  assert.deepEqual(none.runs, []);
  assert.equal(stageSummaries(none)[0].registered, 0);
});
