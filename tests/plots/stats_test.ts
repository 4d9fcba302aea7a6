import assert from "assert";
import { alignToGrid, curveStats, finalReturn, meanStdErr } from "../../lib/plots/stats.ts";
import { figure1Panel, panelStats, type PlotlyFigure } from "../../lib/plots/figure1.ts";
// @ts-types="@types/plotly.js"
import type { PlotData } from "plotly.js-dist-min";

/** The traces with plotly.js's types. */
function traces(fig: PlotlyFigure): Partial<PlotData>[] {
  return fig.data as Partial<PlotData>[];
}

function close(actual: readonly number[], expected: readonly number[], what: string) {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) =>
    assert.ok(Math.abs(a - expected[i]) < 1e-12, `${what}[${i}]: ${a} vs ${expected[i]}`)
  );
}

/**
 * A small table worked by hand (logEvery 100, three seeds):
 *   step 100: seed0 0.0, seed1 0.2 (logged at 103), seed2 missing (NaN)  -> mean 0.1, SE 0.1
 *   step 200: 0.5, 0.7 (at 205), 0.3                                  -> mean 0.5, SE 0.2/sqrt(3)
 *   step 300: 1.0, 0.4 (at 301), seed2 0.9 at 350 then 1.0 at 390 (the later point counts)
 *                                                                     -> mean 0.8, SE 0.2
 * SE = sample standard deviation / sqrt(n): step 100: sd = sqrt(0.02) = 0.1414, /sqrt(2) = 0.1;
 * step 200: sd = sqrt(0.08 / 2) = 0.2; step 300: sd = sqrt(0.24 / 2) = 0.3464, /sqrt(3) = 0.2.
 */
const TABLE = [
  [{ envStep: 100, avgReturn: 0 }, { envStep: 200, avgReturn: 0.5 }, {
    envStep: 300,
    avgReturn: 1,
  }],
  [{ envStep: 103, avgReturn: 0.2 }, { envStep: 205, avgReturn: 0.7 }, {
    envStep: 301,
    avgReturn: 0.4,
  }],
  [{ envStep: 110, avgReturn: NaN }, { envStep: 200, avgReturn: 0.3 }, {
    envStep: 350,
    avgReturn: 0.9,
  }, { envStep: 390, avgReturn: 1 }],
];
const SE200 = 0.2 / Math.sqrt(3);

Deno.test("`meanStdErr()` uses the sample standard deviation over sqrt(n)", () => {
  const s = meanStdErr([1, 2, 3, 4]);
  assert.equal(s.n, 4);
  assert.equal(s.mean, 2.5);
  // sd = sqrt((2.25 + 0.25 + 0.25 + 2.25) / 3) = sqrt(5/3); se = sd / 2
  assert.ok(Math.abs(s.se - Math.sqrt(5 / 3) / 2) < 1e-15);
  assert.deepEqual(meanStdErr([7]), { n: 1, mean: 7, se: 0 });
  const empty = meanStdErr([NaN]);
  assert.equal(empty.n, 0);
  assert.ok(Number.isNaN(empty.mean));
});

Deno.test("`alignToGrid()` bins points by logEvery, keeps the latest per bin, drops NaN", () => {
  assert.deepEqual([...alignToGrid(TABLE[2], 100)], [[200, 0.3], [300, 1]]);
  assert.deepEqual([...alignToGrid(TABLE[1], 100)], [[100, 0.2], [200, 0.7], [300, 0.4]]);
  assert.throws(() => alignToGrid([], 0), /invalid logEvery 0/);
});

Deno.test("`curveStats()` equals the hand-computed table", () => {
  const s = curveStats(TABLE, 100);
  assert.deepEqual(s.x, [100, 200, 300]);
  assert.deepEqual(s.n, [2, 3, 3]);
  close(s.mean, [0.1, 0.5, 0.8], "mean");
  close(s.se, [0.1, SE200, 0.2], "se");
  assert.equal(finalReturn(TABLE[2]), 1);
  assert.ok(Number.isNaN(finalReturn([{ envStep: 5, avgReturn: NaN }])));
});

Deno.test("`figure1Panel()` plots the hand-computed mean and ±1 SE band", () => {
  const fig = figure1Panel({
    title: "test",
    reference: { value: 1, label: "optimal return (1.0)" },
    runs: TABLE.map((points, seed) => ({ algo: "adqn", seed, logEvery: 100, points })),
  });
  const [band, mean, ref] = traces(fig);
  assert.deepEqual(mean.x, [100, 200, 300]);
  close(mean.y as number[], [0.1, 0.5, 0.8], "mean line");
  assert.deepEqual(band.x, [100, 200, 300, 300, 200, 100]);
  close(band.y as number[], [0.2, 0.5 + SE200, 1.0, 0.6, 0.5 - SE200, 0.0], "band");
  assert.equal(band.fill, "toself");
  assert.equal(mean.line?.color, band.line?.color);
  const cd = mean.customdata as unknown as number[][];
  assert.deepEqual(cd.map((c) => c[1]), [2, 3, 3]);
  assert.equal(ref.line?.dash, "dash");
  assert.deepEqual(ref.y, [1, 1]);
  assert.equal(ref.name, "optimal return (1.0)");
});

Deno.test("`figure1Panel()` keeps one colour per algorithm, legend order, and {text} titles", () => {
  const runs = ["adqn-state-vr", "dqn", "adqn", "adqn-state", "adqn-vr"].map((algo) => ({
    algo,
    seed: 0,
    logEvery: 10,
    points: [{ envStep: 10, avgReturn: 1 }],
    finished: algo !== "dqn",
  }));
  const a = figure1Panel({ id: "1a", title: "A", runs });
  const b = figure1Panel({ id: "1b", title: "B", runs: runs.slice(0, 2) });
  const colours = (f: typeof a) =>
    Object.fromEntries(
      traces(f).filter((d) => d.showlegend !== false).map((d) => [d.legendgroup, d.line?.color]),
    );
  const ca = colours(a), cb = colours(b);
  for (const k of Object.keys(cb)) assert.equal(cb[k], ca[k]);
  assert.equal(new Set(Object.values(ca)).size, 5);
  assert.deepEqual(panelStats(runs).map((s) => s.algo), [
    "dqn",
    "adqn",
    "adqn-vr",
    "adqn-state",
    "adqn-state-vr",
  ]);
  // Styled series come first, in the styles' order, then algorithms, then unknown keys by name.
  const styled = [...runs, { ...runs[0], algo: "zeta" }, { ...runs[0], algo: "beta" }];
  const styles = {
    "adqn-vr": { label: "V", color: "#111111" },
    zeta: { label: "Z", color: "#222222" },
  };
  assert.deepEqual(panelStats(styled, styles).map((s) => s.algo), [
    "adqn-vr",
    "zeta",
    "dqn",
    "adqn",
    "adqn-state",
    "adqn-state-vr",
    "beta",
  ]);
  const zeta = traces(figure1Panel({ title: "S", runs: styled, styles }))
    .find((d) => d.legendgroup === "zeta" && d.showlegend !== false)!;
  assert.equal(zeta.name, "Z (1 run)");
  assert.equal(zeta.line?.color, "#222222");
  const layout = a.layout as {
    title: { text: string };
    xaxis: { title: { text: string } };
    yaxis: { title: { text: string } };
  };
  assert.match(layout.title.text, /^Figure 1a: A<br>.*1 run unfinished/);
  assert.equal(layout.xaxis.title.text, "environment steps");
  assert.match(layout.yaxis.title.text, /average return/);
  assert.equal(a.data.length, 10, "no reference line when none is given");
});
