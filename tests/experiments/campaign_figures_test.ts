import assert from "assert";
import { emptyCampaign, loadCampaignFile } from "../../lib/experiments/campaign_data.ts";
import { CELL_STYLES, selectionCurvesFigure } from "../../lib/experiments/campaign_figures.ts";
import type { PlotlyTrace } from "../../lib/plots/mod.ts";
import { buildCampaignDb, partialCampaign } from "./campaign_fixture.ts";

type Trace = PlotlyTrace & { name: string; x: number[]; y: number[]; xaxis: string };

function panelTitles(fig: { layout: Record<string, unknown> }): string[] {
  return (fig.layout.annotations as { text: string }[]).map((a) => a.text);
}

Deno.test("selection figure without runs: five panels, each the optimum line and its title only", () => {
  const fig = selectionCurvesFigure(emptyCampaign());
  assert.equal((fig.layout.grid as { columns: number }).columns, 5);
  assert.deepEqual(panelTitles(fig), [
    "DQN: no finished run yet",
    "ADQN: no finished run yet",
    "ADQN-VR: no finished run yet",
    "ADQN-State: no finished run yet",
    "ADQN-State-VR: no finished run yet",
  ]);
  assert.equal(fig.data.length, 5);
  for (const t of fig.data as Trace[]) {
    assert.deepEqual(t.y, [1, 1], "Heaven-Hell-3's optimum");
    assert.deepEqual(t.x, [0, 2_000_000], "across the whole protocol");
  }
  for (const axis of ["xaxis", "xaxis5"]) {
    assert.deepEqual((fig.layout[axis] as { range: number[] }).range, [0, 2_000_000]);
  }
  assert.deepEqual((fig.layout.yaxis3 as { range: number[] }).range, [-1.05, 1.05]);
});

Deno.test("selection figure of a partial campaign: one curve per cell, seeds averaged, leader named", () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-selection-figure-" });
  try {
    buildCampaignDb(`${dir}/c.sqlite`, partialCampaign());
    const fig = selectionCurvesFigure(loadCampaignFile(`${dir}/c.sqlite`));
    // ADQN: (1e-4, 1000) finished on both seeds (score 0.75), (3e-4, 100) on one (0.9), so the
    // leader is (3e-4, 100); ADQN-VR's only run is unfinished; DQN's is released, not finished.
    assert.deepEqual(panelTitles(fig), [
      "DQN: no finished run yet",
      "ADQN: leading so far lr 0.0003, time limit 100",
      "ADQN-VR: no finished run yet",
      "ADQN-State: no finished run yet",
      "ADQN-State-VR: no finished run yet",
    ]);
    const traces = fig.data as Trace[];
    const mean = (axis: string, name: string) =>
      traces.find((t) => t.xaxis === axis && t.name === name && t.fill === undefined);
    const band = (axis: string, name: string) =>
      traces.find((t) => t.xaxis === axis && t.name === `${name} ±1 SE`);
    // ADQN (panel 2), cell (1e-4, 1000): seeds [0, 0, 0.5 ×10] and [1 ×12]. At 100k steps the
    // mean is 0.5 and the SE sd({0, 1})/√2 = 0.5; from the third point on, (0.5 + 1)/2 = 0.75, SE 0.25.
    const c0 = mean("x2", "lr 0.0001, time limit 1000")!;
    assert.equal(c0.x.length, 12);
    assert.equal(c0.x[0], 100_000);
    assert.ok(Math.abs(c0.y[0] - 0.5) < 1e-12 && Math.abs(c0.y[2] - 0.75) < 1e-12);
    const b0 = band("x2", "lr 0.0001, time limit 1000")!;
    assert.ok(Math.abs(b0.y[0] - 1) < 1e-12, "upper band at 100k: 0.5 + 0.5");
    assert.ok(Math.abs(b0.y[2] - 1) < 1e-12, "upper band at 300k: 0.75 + 0.25");
    // One seed of (3e-4, 100): its own points, 15 of them.
    const c3 = mean("x2", "lr 0.0003, time limit 100")!;
    assert.deepEqual(c3.y, [0.2, 0.2, 0.2, 0.2, 0.2, ...Array(10).fill(0.9)]);
    // The unfinished ADQN-VR run and the released DQN run are drawn as far as they got.
    assert.deepEqual(mean("x3", "lr 0.0001, time limit 100")!.y, [0.1, 0.2, 0.3]);
    assert.deepEqual(mean("x", "lr 0.0001, time limit 1000")!.y, [0.4, 0.4]);
    // Each cell has one colour in every panel, and is in the legend once.
    for (const t of traces.filter((t) => t.fill === undefined && t.name.startsWith("lr "))) {
      const style = Object.values(CELL_STYLES).find((s) => s.label === t.name)!;
      assert.equal((t.line as { color: string }).color, style.color, t.name);
    }
    const inLegend = traces.filter((t) => t.showlegend === true).map((t) => t.name);
    assert.deepEqual(inLegend.sort(), [
      "lr 0.0001, time limit 100",
      "lr 0.0001, time limit 1000",
      "lr 0.0003, time limit 100",
      "optimum (per panel)",
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
