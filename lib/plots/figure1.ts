/**
 * Figure 1 of the paper: one panel per environment, the mean average return (last 100 episodes)
 * over seeds against environment steps for each algorithm, with ±1 standard-error bands
 * (statistics and alignment: ./stats.ts), one fixed colour per algorithm across panels, and a
 * dashed reference line (the optimal return, or an upper bound labelled as such).
 *
 * Rows in, Plotly figure JSON out: render it with ./export.ts (HTML, PNG) or
 * `Deno.jupyter.display` in a notebook.
 *
 * @example
 * ```ts
 * import { figure1Panel } from "./figure1.ts";
 * const fig = figure1Panel({
 *   title: "Heaven-Hell-3",
 *   reference: { value: 1, label: "optimal return (1.0)" },
 *   runs: [
 *     { algo: "adqn", seed: 0, logEvery: 10, points: [{ envStep: 10, avgReturn: 0 }, { envStep: 20, avgReturn: 1 }] },
 *     { algo: "adqn", seed: 1, logEvery: 10, points: [{ envStep: 10, avgReturn: 0.5 }, { envStep: 20, avgReturn: 1 }] },
 *   ],
 * });
 * console.log(fig.data.length); // 3: the band, the mean, the reference line
 * ```
 * @module
 */
// @ts-types="@types/plotly.js"
import type { Layout, PlotData } from "plotly.js-dist-min";
import { type CurvePoint, type CurveStats, curveStats } from "./stats.ts";

/** A Plotly trace as JSON (built against plotly.js's `PlotData` type). */
export type PlotlyTrace = Record<string, unknown>;

/** A Plotly layout as JSON (built against plotly.js's `Layout` type). */
export type PlotlyLayout = Record<string, unknown>;

/** A Plotly figure as JSON: traces and layout. */
export interface PlotlyFigure {
  /** Traces. */
  data: PlotlyTrace[];
  /** Layout. */
  layout: PlotlyLayout;
}

/** Algorithms in legend order. */
export const PLOT_ALGOS = ["dqn", "adqn", "adqn-vr", "adqn-state", "adqn-state-vr"] as const;

/** Display names of the algorithms (the paper's). */
export const ALGO_LABELS: Readonly<Record<string, string>> = Object.freeze({
  "dqn": "DQN",
  "adqn": "ADQN",
  "adqn-vr": "ADQN-VR",
  "adqn-state": "ADQN-State",
  "adqn-state-vr": "ADQN-State-VR",
});

/**
 * One fixed colour per algorithm in every panel (Okabe-Ito, colour-blind safe): history-state
 * asymmetry in warm colours, state-only asymmetry in blues, the symmetric baseline in grey.
 */
export const ALGO_COLORS: Readonly<Record<string, string>> = Object.freeze({
  "dqn": "#555555",
  "adqn": "#D55E00",
  "adqn-vr": "#E69F00",
  "adqn-state": "#0072B2",
  "adqn-state-vr": "#56B4E9",
});

/** Colour of algorithms without a fixed one. */
export const FALLBACK_COLOR = "#009E73";

/** One run's curve. */
export interface RunCurve {
  /** Algorithm id. */
  algo: string;
  /** Seed. */
  seed: number;
  /** The run's logging period (its config's logEvery). */
  logEvery: number;
  /** Its logged points. */
  points: readonly CurvePoint[];
  /** Whether the run has finished (unfinished runs are counted in the subtitle). */
  finished?: boolean;
}

/** How a panel draws one series instead of an algorithm's label and colour. */
export interface SeriesStyle {
  /** Legend label. */
  label: string;
  /** Colour, `#rrggbb`. */
  color: string;
}

/** What one panel shows. */
export interface PanelInput {
  /** Panel title ("Heaven-Hell-3"); prefixed with "Figure <id>: " when `id` is given. */
  title: string;
  /** Panel id ("1a"). */
  id?: string;
  /** Extra line under the title (preset, seeds...). */
  subtitle?: string;
  /** Dashed reference line. */
  reference?: { value: number; label: string };
  /** The runs (several per algorithm: one per seed). */
  runs: readonly RunCurve[];
  /**
   * Series other than algorithms: runs whose `algo` is a key here are drawn with its label and
   * colour, in the order of these keys, before any other.
   */
  styles?: Readonly<Record<string, SeriesStyle>>;
  /** Title of the y axis (default "average return (last 100 episodes)"). */
  yTitle?: string;
  /** Figure width in pixels (default 720). */
  width?: number;
  /** Figure height in pixels (default 440). */
  height?: number;
}

/** "#D55E00" → "rgba(213,94,0,0.2)". */
export function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) throw new Error(`invalid colour ${hex}; expected #rrggbb`);
  const v = parseInt(m[1], 16);
  return `rgba(${(v >> 16) & 255},${(v >> 8) & 255},${v & 255},${alpha})`;
}

/**
 * The per-algorithm (or per-series) statistics of a panel, in legend order: the keys of `styles`
 * first, in their order, then algorithms in {@link PLOT_ALGOS} order, then unknown ones by name.
 */
export function panelStats(
  runs: readonly RunCurve[],
  styles: Readonly<Record<string, SeriesStyle>> = {},
): { algo: string; stats: CurveStats; runs: number; unfinished: number }[] {
  const byAlgo = new Map<string, RunCurve[]>();
  for (const r of runs) {
    if (!byAlgo.has(r.algo)) byAlgo.set(r.algo, []);
    byAlgo.get(r.algo)!.push(r);
  }
  const styled = Object.keys(styles);
  const order = (a: string) => {
    if (styled.includes(a)) return styled.indexOf(a);
    const i = (PLOT_ALGOS as readonly string[]).indexOf(a);
    return styled.length + (i < 0 ? PLOT_ALGOS.length : i);
  };
  return [...byAlgo.keys()].sort((a, b) => order(a) - order(b) || a.localeCompare(b)).map(
    (algo) => {
      const rs = byAlgo.get(algo)!;
      const logEvery = Math.max(...rs.map((r) => r.logEvery));
      return {
        algo,
        stats: curveStats(rs.map((r) => r.points), logEvery),
        runs: rs.length,
        unfinished: rs.filter((r) => r.finished === false).length,
      };
    },
  );
}

/** Build one Figure 1 panel as a Plotly figure. */
export function figure1Panel(input: PanelInput): PlotlyFigure {
  const data: Partial<PlotData>[] = [];
  let xMax = 0;
  const stats = panelStats(input.runs, input.styles);
  for (const { algo, stats: s, runs } of stats) {
    const style = input.styles?.[algo];
    const color = style?.color ?? ALGO_COLORS[algo] ?? FALLBACK_COLOR;
    const name = style?.label ?? ALGO_LABELS[algo] ?? algo;
    if (s.x.length === 0) continue;
    xMax = Math.max(xMax, s.x[s.x.length - 1]);
    const upper = s.mean.map((m, i) => m + s.se[i]);
    const lower = s.mean.map((m, i) => m - s.se[i]);
    data.push({
      type: "scatter",
      mode: "lines",
      name: `${name} ±1 SE`,
      legendgroup: algo,
      showlegend: false,
      x: [...s.x, ...[...s.x].reverse()],
      y: [...upper, ...[...lower].reverse()],
      fill: "toself",
      fillcolor: withAlpha(color, 0.2),
      line: { width: 0, color },
      hoverinfo: "skip",
    });
    data.push({
      type: "scatter",
      mode: "lines",
      name: `${name} (${runs} run${runs === 1 ? "" : "s"})`,
      legendgroup: algo,
      x: s.x,
      y: s.mean,
      line: { color, width: 2 },
      customdata: s.x.map((_, i) => [s.se[i], s.n[i]]) as unknown as PlotData["customdata"],
      hovertemplate: `${name}<br>step %{x}<br>mean %{y:.3f} ± %{customdata[0]:.3f} SE` +
        `<br>n = %{customdata[1]}<extra></extra>`,
    });
  }
  if (input.reference) {
    data.push({
      type: "scatter",
      mode: "lines",
      name: input.reference.label,
      x: [0, xMax > 0 ? xMax : 1],
      y: [input.reference.value, input.reference.value],
      line: { color: "#222222", width: 1.5, dash: "dash" },
      hoverinfo: "name",
    });
  }
  const unfinished = stats.reduce((a, s) => a + s.unfinished, 0);
  const notes = [
    input.subtitle,
    unfinished > 0 ? `${unfinished} run${unfinished === 1 ? "" : "s"} unfinished` : undefined,
  ].filter((x) => x);
  const title = input.id ? `Figure ${input.id}: ${input.title}` : input.title;
  const layout: Partial<Layout> = {
    title: {
      text: notes.length
        ? `${title}<br><span style="font-size:12px">${notes.join("; ")}</span>`
        : title,
    },
    width: input.width ?? 720,
    height: input.height ?? 440,
    // automargin + standoff keep each axis title right next to its tick labels
    xaxis: {
      title: { text: "environment steps", standoff: 8 },
      automargin: true,
      rangemode: "tozero",
      zeroline: false,
    },
    yaxis: {
      title: { text: input.yTitle ?? "average return (last 100 episodes)", standoff: 8 },
      automargin: true,
      zeroline: false,
    },
    legend: { orientation: "v", x: 1.02, y: 1, xanchor: "left" },
    margin: { l: 70, r: 20, t: notes.length ? 80 : 60, b: 60 },
    paper_bgcolor: "white",
    plot_bgcolor: "white",
    font: { family: "Liberation Sans, Arial, sans-serif", size: 13 },
  };
  (layout.xaxis as Record<string, unknown>).gridcolor = "#e5e5e5";
  (layout.yaxis as Record<string, unknown>).gridcolor = "#e5e5e5";
  return { data: data as PlotlyTrace[], layout: layout as PlotlyLayout };
}

/** Options of {@link combineFigure1}. */
export interface CombineOptions {
  /** Title above the panels (default "Figure 1"). */
  title?: string;
  /** Width of one panel in pixels (default 360). */
  panelWidth?: number;
  /** Height in pixels (default 440). */
  height?: number;
}

/**
 * Put panels of {@link figure1Panel} side by side as one figure, as in the paper's Figure 1: one
 * row of subplots with their own axes, the panel titles above them, and one shared legend below
 * (each algorithm once, without the per-panel run counts; the optimum line once). Works on the
 * figure JSON, so committed panel files can be combined without their database.
 *
 * @example
 * ```ts
 * import { combineFigure1, figure1Panel } from "./figure1.ts";
 * const panel = (id: string) =>
 *   figure1Panel({ id, title: id, runs: [{ algo: "adqn", seed: 0, logEvery: 10, points: [{ envStep: 10, avgReturn: 1 }] }] });
 * const fig = combineFigure1([panel("1a"), panel("1b")]);
 * console.log((fig.layout.grid as { columns: number }).columns); // 2
 * ```
 */
export function combineFigure1(
  panels: readonly PlotlyFigure[],
  options: CombineOptions = {},
): PlotlyFigure {
  if (panels.length === 0) throw new RangeError("combineFigure1: no panels to combine");
  const data: PlotlyTrace[] = [];
  const layout: PlotlyLayout = {};
  const annotations: Record<string, unknown>[] = [];
  const inLegend = new Set<string>();
  panels.forEach((panel, i) => {
    const s = i === 0 ? "" : String(i + 1);
    for (const trace of panel.data) {
      const t: PlotlyTrace = { ...trace, xaxis: `x${s}`, yaxis: `y${s}` };
      const group = typeof t.legendgroup === "string" ? t.legendgroup : "reference";
      t.legendgroup = group;
      if (typeof t.name === "string") t.name = t.name.replace(/ \(\d+ runs?\)$/, "");
      if (group === "reference") t.name = "optimum (per panel)";
      if (t.showlegend !== false) {
        t.showlegend = !inLegend.has(group);
        inLegend.add(group);
      }
      data.push(t);
    }
    const pl = panel.layout as Record<string, Record<string, unknown> | undefined>;
    // Axis titles right next to their tick labels, also for panels written before that default.
    const axis = (a: Record<string, unknown> | undefined, anchor: string, keepTitle = true) => ({
      ...a,
      anchor,
      automargin: true,
      title: keepTitle ? { ...(a?.title as object | undefined), standoff: 8 } : { text: "" },
    });
    layout[`xaxis${s}`] = axis(pl.xaxis, `y${s}`);
    layout[`yaxis${s}`] = axis(pl.yaxis, `x${s}`, i === 0); // one y title, on the first panel
    const title = String((pl.title as { text?: unknown } | undefined)?.text ?? "").split("<br>")[0];
    annotations.push({
      text: title,
      xref: `x${s} domain`,
      yref: `y${s} domain`,
      x: 0.5,
      y: 1.04,
      xanchor: "center",
      yanchor: "bottom",
      showarrow: false,
      font: { size: 13 },
    });
  });
  const base = panels[0].layout as Record<string, unknown>;
  Object.assign(layout, {
    title: { text: options.title ?? "Figure 1" },
    grid: { rows: 1, columns: panels.length, pattern: "independent", xgap: 0.25 },
    annotations,
    width: (options.panelWidth ?? 360) * panels.length,
    height: options.height ?? 440,
    legend: { orientation: "h", x: 0.5, xanchor: "center", y: -0.3, yanchor: "top" },
    margin: { l: 70, r: 20, t: 80, b: 120 },
    paper_bgcolor: base.paper_bgcolor ?? "white",
    plot_bgcolor: base.plot_bgcolor ?? "white",
    font: base.font,
  });
  return { data, layout };
}
