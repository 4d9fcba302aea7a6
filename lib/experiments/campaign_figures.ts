/**
 * The campaign's stage-0 figure: how each algorithm's learning depends on the grid's learning rate
 * and time limit (the sensitivity the paper's selection measured but did not publish). One panel
 * per algorithm, one curve per cell of the grid (mean ± 1 SE over the selection seeds), the
 * selected or leading cell named in the panel's title.
 *
 * @example The figure of a campaign without runs: five panels, nothing drawn but the optimum
 * ```ts
 * import { emptyCampaign } from "./campaign_data.ts";
 * import { selectionCurvesFigure } from "./campaign_figures.ts";
 * const fig = selectionCurvesFigure(emptyCampaign());
 * console.log((fig.layout.grid as { columns: number }).columns); // 5
 * ```
 * @module
 */
import { ALGO_LABELS, combineFigure1, figure1Panel, LINE_COLORS } from "../plots/mod.ts";
import type { PlotlyFigure, SeriesStyle } from "../plots/mod.ts";
import { ALGO_IDS } from "../train/agent.ts";
import {
  type CampaignData,
  campaignSelection,
  cellText,
  leadingCells,
  PROTOCOL_STEPS,
  selectedCells,
} from "./campaign_data.ts";
import { type Cell, STAGE0 } from "./campaign_stages.ts";
import { FIGURES } from "./presets.ts";

/** The series key of the grid's i-th cell. */
function cellKey(i: number): string {
  return `cell-${i}`;
}

/** Each cell of the grid as a series: its words as the label, a colour of its own. */
export const CELL_STYLES: Readonly<Record<string, SeriesStyle>> = Object.freeze(
  Object.fromEntries(
    STAGE0.cells.map((c, i) => [cellKey(i), { label: cellText(c), color: LINE_COLORS[i] }]),
  ),
);

const sameCell = (a: Cell, b: Cell) => a.lr === b.lr && a.timeLimit === b.timeLimit;

/** An algorithm's panel title: its label and its selected cell, or the leading one so far. */
function panelTitle(label: string, selected: Cell | null, leading: Cell | null): string {
  if (selected) return `${label}: selected ${cellText(selected)}`;
  if (leading) return `${label}: leading so far ${cellText(leading)}`;
  return `${label}: no finished run yet`;
}

/**
 * Stage 0 on Heaven-Hell-3 as one figure: a panel per algorithm, a curve per cell of the grid
 * (mean ± 1 SE over the seeds with points there; unfinished runs drawn as far as they got), the
 * Heaven-Hell-3 optimum dashed in each.
 */
export function selectionCurvesFigure(data: CampaignData): PlotlyFigure {
  const selection = campaignSelection(data);
  const selected = selectedCells(selection), leading = leadingCells(selection);
  const spec = FIGURES[STAGE0.figure];
  const panels = ALGO_IDS.map((algo) =>
    figure1Panel({
      title: panelTitle(ALGO_LABELS[algo] ?? algo, selected[algo], leading[algo]),
      reference: spec.reference,
      styles: CELL_STYLES,
      runs: data.runs.filter((r) => r.stage === 0 && r.algo === algo).map((r) => ({
        algo: cellKey(STAGE0.cells.findIndex((c) => sameCell(c, r.cell))),
        seed: r.run.seed,
        logEvery: Number(r.run.config.logEvery) || 1,
        finished: r.run.status === "finished",
        points: r.points,
      })),
    })
  );
  const fig = combineFigure1(panels, {
    title: `Stage 0 on ${spec.title}: each cell of the grid, mean ± 1 SE over seeds ${
      STAGE0.seeds.join(" and ")
    }`,
    panelWidth: 300,
  });
  // The same axes in every panel, over the whole protocol: unfinished runs show as partial.
  panels.forEach((_, i) => {
    const s = i === 0 ? "" : String(i + 1);
    Object.assign(fig.layout[`xaxis${s}`] as object, { range: [0, PROTOCOL_STEPS] });
    Object.assign(fig.layout[`yaxis${s}`] as object, { range: RETURN_RANGE });
  });
  for (const t of fig.data) if (t.legendgroup === "reference") t.x = [0, PROTOCOL_STEPS];
  return fig;
}

/** Heaven-Hell's returns lie in [-1, 1]: every panel shows all of it. */
const RETURN_RANGE = [-1.05, 1.05];
