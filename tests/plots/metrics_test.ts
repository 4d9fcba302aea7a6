import assert from "assert";
import {
  evaluationFigure,
  metricCurves,
  type MetricRun,
  OUTCOMES,
  outcomeSharesFigure,
  withNote,
} from "../../lib/plots/metrics.ts";

type Trace = { name: string; x: number[]; y: number[]; xaxis?: string; showlegend?: boolean };

/** Two ADQN seeds: heaven shares 0.2 / 0.6 at step 10, an evaluation only at step 20. */
const RUNS: MetricRun[] = [0, 1].map((seed) => ({
  algo: "adqn",
  seed,
  logEvery: 10,
  finished: true,
  points: [
    {
      envStep: 10,
      avgReturn: 0,
      sharePositive: seed ? 0.6 : 0.2,
      shareNegative: 0.1,
      shareTruncated: seed ? 0.3 : 0.7,
      evalReturn: NaN,
    },
    {
      envStep: 20,
      avgReturn: 1,
      sharePositive: 1,
      shareNegative: 0,
      shareTruncated: 0,
      evalReturn: seed ? 1 : 0.5,
    },
  ],
}));

Deno.test("metricCurves: the chosen metric as the curve's value; absent fields are missing (NaN)", () => {
  const c = metricCurves(RUNS, "shareTruncated");
  assert.deepEqual(c[1].points, [{ envStep: 10, avgReturn: 0.3 }, { envStep: 20, avgReturn: 0 }]);
  const z = metricCurves(RUNS, "shareZero"); // never logged here
  assert.ok(z[0].points.every((p) => Number.isNaN(p.avgReturn)));
  assert.equal(c[0].seed, 0);
});

Deno.test("outcomeSharesFigure: heaven, hell and time limit side by side, mean ± SE over seeds", () => {
  const fig = outcomeSharesFigure({ title: "HH-3", subtitle: "2 seeds", runs: RUNS });
  assert.deepEqual((fig.layout.grid as { columns: number }).columns, 3);
  assert.equal(OUTCOMES.length, 3);
  // One mean and one band per panel; the combined figure names the mean "ADQN" (no run count).
  const means = (fig.data as Trace[]).filter((t) => t.name === "ADQN");
  assert.equal(means.length, 3);
  // Heaven at step 10: mean of 0.2 and 0.6 = 0.4; at 20 both 1. Time limit: (0.7 + 0.3)/2 = 0.5.
  const heaven = means.find((t) => (t.xaxis ?? "x") === "x")!;
  assert.deepEqual([heaven.x, heaven.y.map((v) => +v.toFixed(12))], [[10, 20], [0.4, 1]]);
  const limit = means.find((t) => t.xaxis === "x3")!;
  assert.deepEqual(limit.y.map((v) => +v.toFixed(12)), [0.5, 0]);
  // SE of (0.2, 0.6): sd 0.2828 / √2 = 0.2: the band spans 0.2 to 0.6 at step 10.
  const band = (fig.data as Trace[]).find((t) => t.name === "ADQN ±1 SE" && t.xaxis === "x")!;
  assert.deepEqual(band.y.map((v) => +v.toFixed(12)), [0.6, 1, 1, 0.2]);
  assert.deepEqual((fig.layout.yaxis3 as { range: number[] }).range, [-0.02, 1.02]);
  assert.equal((fig.layout.margin as { t: number }).t, 120, "room for the subtitle");
  // Without a point: one empty panel with a note.
  const empty = outcomeSharesFigure({ title: "HH-3", runs: [] });
  assert.equal(empty.layout.grid, undefined);
  assert.deepEqual((empty.layout.annotations as { text: string }[]).map((a) => a.text), [
    "no logged point yet",
  ]);
});

Deno.test("evaluationFigure: only the points with an evaluation; a note when there is none", () => {
  const fig = evaluationFigure({
    title: "Greedy",
    runs: RUNS,
    reference: { value: 1, label: "optimum" },
  });
  const mean = (fig.data as Trace[]).find((t) => t.name === "ADQN (2 runs)")!;
  assert.deepEqual([mean.x, mean.y], [[20], [0.75]]);
  assert.equal(fig.layout.annotations, undefined);
  const none = evaluationFigure({
    title: "Greedy",
    runs: RUNS.map((r) => ({ ...r, points: r.points.map((p) => ({ ...p, evalReturn: NaN })) })),
  });
  assert.deepEqual((none.layout.annotations as { text: string }[]).map((a) => a.text), [
    "no greedy evaluation yet",
  ]);
  const noted = withNote({ data: [], layout: { annotations: [{ text: "a" }] } }, "b");
  assert.deepEqual((noted.layout.annotations as { text: string }[]).map((a) => a.text), ["a", "b"]);
});
