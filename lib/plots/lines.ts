/**
 * A small generic line-chart builder: named series of (x, y) points in, Plotly figure JSON out
 * (titles as `{ text }` objects), with optional log axes and dashed horizontal reference lines.
 * Used by the notebooks for convergence plots and learning curves; render the result with
 * ./export.ts (HTML, PNG) or `showFigure` of lib/notebooks/display.ts.
 *
 * Non-finite y values (NaN, ±Infinity) become gaps (`null`). On a log y axis, values ≤ 0 cannot be
 * drawn: they become gaps too, or are drawn at `logFloor` when one is given (useful for errors that
 * reach exactly 0).
 *
 * @example Two curves and a reference line
 * ```ts
 * import { lineChart } from "./lines.ts";
 * const fig = lineChart(
 *   [
 *     { name: "value iteration", x: [0, 1, 2, 3], y: [1, 0.5, 0.25, 0] },
 *     { name: "policy iteration", x: [0, 1, 2], y: [0.4, 0.1, 0] },
 *   ],
 *   { title: "Convergence", xTitle: "iteration", yTitle: "max |Q_k − Q*|", logY: true, logFloor: 1e-16 },
 * );
 * console.log(fig.data.length, fig.layout.yaxis); // 2 { title: { text: "max |Q_k − Q*|" }, type: "log", ... }
 * ```
 * @module
 */

/**
 * A Plotly figure as plain JSON (structurally the `PlotlyFigure` of ./figure1.ts, so it can be
 * passed to the exporters of ./export.ts and to `showFigure`).
 */
export interface LineFigure {
  /** The traces. */
  data: Record<string, unknown>[];
  /** The layout. */
  layout: Record<string, unknown>;
}

/** Line dash styles Plotly accepts. */
export type LineDash = "solid" | "dot" | "dash" | "longdash" | "dashdot" | "longdashdot";

/** One line of a {@link lineChart}. */
export interface LineSeries {
  /** Legend label. */
  name: string;
  /** x values (finite numbers; positive on a log x axis). */
  x: readonly number[];
  /** y values, as many as x; non-finite values are drawn as gaps. */
  y: readonly number[];
  /** Colour (`#rrggbb` or any CSS colour); default: the next colour of {@link LINE_COLORS}. */
  color?: string;
  /** Dash style (default "solid"). */
  dash?: LineDash;
  /** Draw a marker at each point as well (default false). */
  markers?: boolean;
  /** Line width in pixels (default 2). */
  width?: number;
}

/** A horizontal reference line across the x range of the data (e.g. an optimal value). */
export interface ChartReference {
  /** Its y value. */
  value: number;
  /** Legend label, e.g. "optimum 0.99^14". */
  label: string;
  /** Colour (default dark grey). */
  color?: string;
  /** Dash style (default "dash"). */
  dash?: LineDash;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  /** Figure title. */
  title: string;
  /** A smaller second line under the title. */
  subtitle?: string;
  /** x axis title. */
  xTitle?: string;
  /** y axis title. */
  yTitle?: string;
  /** Log-scaled x axis (every x must then be > 0). */
  logX?: boolean;
  /** Log-scaled y axis (values ≤ 0 become gaps, or are drawn at `logFloor`). */
  logY?: boolean;
  /** With `logY`: draw values ≤ 0 at this positive value instead of leaving gaps. */
  logFloor?: number;
  /** Horizontal reference lines. */
  references?: readonly ChartReference[];
  /** Fixed y range [min, max] (in data units, also on a log axis). */
  yRange?: readonly [number, number];
  /** Width in pixels (default 720). */
  width?: number;
  /** Height in pixels (default 440). */
  height?: number;
}

/** The default colours, in order (Okabe-Ito, colour-blind safe). */
export const LINE_COLORS: readonly string[] = Object.freeze([
  "#D55E00",
  "#0072B2",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#555555",
  "#F0E442",
]);

const REFERENCE_COLOR = "#222222";

function checkSeries(s: LineSeries, index: number, logX: boolean): void {
  const label = `series ${index} ("${s?.name}")`;
  if (!s || typeof s.name !== "string") {
    throw new TypeError(`series ${index} needs a string name; got ${JSON.stringify(s)}`);
  }
  if (!Array.isArray(s.x) || !Array.isArray(s.y)) {
    throw new TypeError(`${label}: x and y must be arrays of numbers`);
  }
  if (s.x.length !== s.y.length) {
    throw new RangeError(`${label}: x has ${s.x.length} values but y has ${s.y.length}`);
  }
  s.x.forEach((x, i) => {
    if (typeof x !== "number" || !Number.isFinite(x)) {
      throw new RangeError(`${label}: x[${i}] = ${x} is not a finite number`);
    }
    if (logX && x <= 0) {
      throw new RangeError(`${label}: x[${i}] = ${x} cannot be drawn on a log x axis (x > 0)`);
    }
  });
  if (s.width !== undefined && !(s.width > 0)) {
    throw new RangeError(`${label}: width ${s.width} must be a positive number`);
  }
}

/** Whether two series draw the same curve (same points, to 1e-12 relative). */
function sameCurve(a: LineSeries, b: LineSeries): boolean {
  const close = (p: number, q: number) =>
    p === q || Math.abs(p - q) <= 1e-12 * Math.max(Math.abs(p), Math.abs(q));
  return a.x.length === b.x.length && a.y.length === b.y.length &&
    a.x.every((x, i) => close(x, b.x[i])) && a.y.every((y, i) => close(y, b.y[i]));
}

/**
 * Build a line chart as Plotly figure JSON: one `scatter` trace per series (in order, coloured
 * from {@link LINE_COLORS} unless given), then one dashed trace per reference line spanning the
 * x range of the series. A series that draws exactly over an earlier one gets open markers, a
 * dotted line and "(coincides with ...)" in its legend name, so that it stays visible. Throws on
 * mismatched x/y lengths, non-finite x, x ≤ 0 on a log x axis
 * and a non-positive `logFloor`, naming the series and value.
 */
export function lineChart(
  series: readonly LineSeries[],
  options: LineChartOptions,
): LineFigure {
  if (!Array.isArray(series)) {
    throw new TypeError(`lineChart: series must be an array; got ${JSON.stringify(series)}`);
  }
  if (!options || typeof options.title !== "string") {
    throw new TypeError("lineChart: options.title (a string) is required");
  }
  const logX = options.logX ?? false, logY = options.logY ?? false;
  const floor = options.logFloor;
  if (floor !== undefined && !(Number.isFinite(floor) && floor > 0)) {
    throw new RangeError(`lineChart: logFloor ${floor} must be a finite number > 0`);
  }
  series.forEach((s, i) => checkSeries(s, i, logX));
  const yValue = (y: number): number | null => {
    if (typeof y !== "number" || !Number.isFinite(y)) return null;
    if (logY && y <= 0) return floor ?? null;
    return y;
  };
  const data: Record<string, unknown>[] = series.map((s, i) => {
    // A curve drawn exactly over an earlier one would hide it: mark it, dash it, and say so.
    const twin = series.slice(0, i).find((t) => sameCurve(t, s));
    const name = twin ? `${s.name} (coincides with ${twin.name})` : s.name;
    return {
      type: "scatter",
      mode: s.markers || twin ? "lines+markers" : "lines",
      name,
      x: [...s.x],
      y: s.y.map(yValue),
      line: {
        color: s.color ?? LINE_COLORS[i % LINE_COLORS.length],
        width: s.width ?? 2,
        dash: s.dash ?? (twin ? "dot" : "solid"),
      },
      ...(twin ? { marker: { symbol: "circle-open", size: 9 } } : {}),
      hovertemplate: `${name}<br>x = %{x}<br>y = %{y:.4g}<extra></extra>`,
    };
  });
  let xMin = Infinity, xMax = -Infinity;
  for (const s of series) {
    for (const x of s.x) {
      xMin = Math.min(xMin, x);
      xMax = Math.max(xMax, x);
    }
  }
  if (xMin > xMax) [xMin, xMax] = logX ? [1, 10] : [0, 1];
  if (xMin === xMax) xMax = xMin + 1;
  for (const ref of options.references ?? []) {
    if (!ref || typeof ref.label !== "string" || !Number.isFinite(ref.value)) {
      throw new RangeError(
        `lineChart: a reference line needs a finite value and a label; got ${JSON.stringify(ref)}`,
      );
    }
    data.push({
      type: "scatter",
      mode: "lines",
      name: ref.label,
      x: [xMin, xMax],
      y: [yValue(ref.value), yValue(ref.value)],
      line: { color: ref.color ?? REFERENCE_COLOR, width: 1.5, dash: ref.dash ?? "dash" },
      hoverinfo: "name",
    });
  }
  const axis = (title: string | undefined, log: boolean, range?: readonly [number, number]) => {
    const out: Record<string, unknown> = {
      // automargin + standoff keep the title right next to its tick labels
      title: { text: title ?? "", standoff: 8 },
      automargin: true,
      type: log ? "log" : "linear",
      zeroline: false,
      gridcolor: "#e5e5e5",
    };
    if (log) out.exponentformat = "power"; // 10^-16 rather than 100a on log axes
    if (range) {
      if (!(range.length === 2 && range.every(Number.isFinite) && range[0] < range[1])) {
        throw new RangeError(`lineChart: yRange [${range}] must be two finite numbers, min < max`);
      }
      if (log && range[0] <= 0) {
        throw new RangeError(`lineChart: yRange [${range}] must be positive on a log y axis`);
      }
      out.range = log ? range.map(Math.log10) : [...range];
    }
    return out;
  };
  const title = options.subtitle
    ? `${options.title}<br><span style="font-size:12px">${options.subtitle}</span>`
    : options.title;
  return {
    data,
    layout: {
      title: { text: title },
      width: options.width ?? 720,
      height: options.height ?? 440,
      xaxis: axis(options.xTitle, logX),
      yaxis: axis(options.yTitle, logY, options.yRange),
      legend: { orientation: "v", x: 1.02, y: 1, xanchor: "left" },
      margin: { l: 70, r: 20, t: options.subtitle ? 80 : 60, b: 60 },
      paper_bgcolor: "white",
      plot_bgcolor: "white",
      font: { family: "Liberation Sans, Arial, sans-serif", size: 13 },
    },
  };
}
