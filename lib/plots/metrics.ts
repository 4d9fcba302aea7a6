/**
 * Curves of a run's other metrics, drawn like Figure 1's panels (./figure1.ts: mean ± 1 SE over
 * seeds, one colour per algorithm): the share of episodes per outcome over time, and the greedy
 * evaluation's return. A metric point carries them (lib/train/loop.ts `MetricPoint`); points
 * without a value (NaN or absent: no episode yet, no evaluation at that step) are missing, never
 * interpolated.
 *
 * @example The outcome shares of one run
 * ```ts
 * import { outcomeSharesFigure } from "./metrics.ts";
 * const fig = outcomeSharesFigure({
 *   title: "Heaven-Hell-3",
 *   runs: [{ algo: "adqn", seed: 0, logEvery: 10, points: [
 *     { envStep: 10, avgReturn: 0, sharePositive: 0.5, shareNegative: 0.5, shareTruncated: 0 },
 *   ] }],
 * });
 * console.log((fig.layout.grid as { columns: number }).columns); // 3: heaven, hell, time limit
 * ```
 * @module
 */
import type { MetricPoint } from "../train/loop.ts";
import {
  combineFigure1,
  figure1Panel,
  type PanelInput,
  type PlotlyFigure,
  type RunCurve,
} from "./figure1.ts";

/** A run with its full metric points (the fields not logged read as missing). */
export interface MetricRun extends Omit<RunCurve, "points"> {
  /** Its logged points. */
  points: readonly (Partial<MetricPoint> & { envStep: number; avgReturn: number })[];
}

/** The numeric metrics of a point that can be drawn as a curve. */
export type MetricKey =
  | "avgReturn"
  | "sharePositive"
  | "shareNegative"
  | "shareZero"
  | "shareTruncated"
  | "avgLength"
  | "evalReturn"
  | "evalLength";

/** The runs' curves of one metric (as the `avgReturn` of figure1Panel's points). */
export function metricCurves(runs: readonly MetricRun[], key: MetricKey): RunCurve[] {
  return runs.map((r) => ({
    ...r,
    points: r.points.map((p) => ({ envStep: p.envStep, avgReturn: p[key] ?? NaN })),
  }));
}

/** The outcomes drawn by {@link outcomeSharesFigure}, with their panel titles. */
export const OUTCOMES: readonly { key: MetricKey; title: string }[] = [
  { key: "sharePositive", title: "positive final reward (heaven)" },
  { key: "shareNegative", title: "negative final reward (hell)" },
  { key: "shareTruncated", title: "cut by the time limit" },
];

/** What {@link outcomeSharesFigure} and {@link evaluationFigure} draw. */
export interface MetricFigureInput {
  /** Title above the figure. */
  title: string;
  /** Line under the title. */
  subtitle?: string;
  /** The runs. */
  runs: readonly MetricRun[];
}

/**
 * The share of the last episodes (avgReturn's window) ending in each outcome, against environment
 * steps: one panel per outcome of {@link OUTCOMES}, side by side, one legend.
 */
export function outcomeSharesFigure(input: MetricFigureInput): PlotlyFigure {
  if (!input.runs.some((r) => r.points.length > 0)) {
    // Plotly draws no subplot without a trace: one empty panel says it instead.
    const empty = figure1Panel({ ...input, runs: [], yTitle: "share of the last 100 episodes" });
    (empty.layout.yaxis as Record<string, unknown>).range = [-0.02, 1.02];
    return withNote(empty, "no logged point yet");
  }
  const panels = OUTCOMES.map(({ key, title }) =>
    figure1Panel({
      title,
      runs: metricCurves(input.runs, key),
      yTitle: "share of the last 100 episodes",
    })
  );
  const fig = combineFigure1(panels, {
    title: input.subtitle ? `${input.title}<br><sub>${input.subtitle}</sub>` : input.title,
    panelWidth: 320,
  });
  for (let i = 0; i < panels.length; i++) {
    const axis = fig.layout[`yaxis${i === 0 ? "" : i + 1}`] as Record<string, unknown>;
    axis.range = [-0.02, 1.02];
  }
  // Room for the subtitle above the panels' own titles.
  if (input.subtitle) fig.layout.margin = { ...(fig.layout.margin as object), t: 120 };
  return fig;
}

/** The greedy evaluation's mean return against environment steps (a Figure 1 panel). */
export function evaluationFigure(
  input: MetricFigureInput & Pick<PanelInput, "reference">,
): PlotlyFigure {
  const runs = metricCurves(input.runs, "evalReturn");
  const fig = figure1Panel({
    title: input.title,
    subtitle: input.subtitle,
    reference: input.reference,
    runs,
    yTitle: "greedy evaluation return",
  });
  if (!runs.some((r) => r.points.some((p) => Number.isFinite(p.avgReturn)))) {
    return withNote(fig, "no greedy evaluation yet");
  }
  return fig;
}

/** The figure with a note in the middle of its plotting area (for a figure without data). */
export function withNote(figure: PlotlyFigure, text: string): PlotlyFigure {
  const annotations = [...((figure.layout.annotations as unknown[] | undefined) ?? [])];
  annotations.push({
    text,
    xref: "paper",
    yref: "paper",
    x: 0.5,
    y: 0.5,
    showarrow: false,
    font: { size: 16, color: "#555555" },
  });
  return { data: figure.data, layout: { ...figure.layout, annotations } };
}
