/**
 * Rich display helpers for notebooks: Plotly figures and tables as Jupyter MIME bundles.
 *
 * Importable anywhere: outside the Deno kernel (`deno run`, `deno test`) the `show*` functions
 * build the bundle without displaying anything, and the `*Bundle` functions are pure.
 *
 * @example Show a figure, with a PNG for viewers that cannot run Plotly (GitHub, nbviewer)
 * ```ts ignore
 * import { showFigure } from "../lib/notebooks/display.ts";
 * const fig = { data: [{ type: "scatter", y: [1, 3, 2] }], layout: { title: { text: "demo" } } };
 * await showFigure(fig, { png: (f) => renderPng(f) }); // renderPng: any figure → PNG bytes
 * ```
 *
 * @module
 */

/** A Plotly figure as JSON: what `application/vnd.plotly.v1+json` carries. */
export interface FigureJson {
  /** The traces. */
  data: readonly unknown[];
  /** The layout (title, axes, ...). */
  layout?: object;
  /** Plotly config (responsive, displayModeBar, ...). */
  config?: object;
  /** Animation frames. */
  frames?: readonly unknown[];
}

/** A Jupyter MIME bundle: MIME type → value (a string, or a JSON object for JSON types). */
export type MimeBundle = Record<string, string | object>;

/**
 * PNG bytes, or a function that renders the figure to PNG bytes (e.g. with headless Chromium);
 * `F` is the caller's figure type, passed through to the renderer unchanged.
 */
export type PngSource<F extends FigureJson = FigureJson> =
  | Uint8Array
  | ((figure: F) => Uint8Array | Promise<Uint8Array>);

/** Options for {@link figureBundle} and {@link showFigure}. */
export interface ShowFigureOptions<F extends FigureJson = FigureJson> {
  /** Add an `image/png` entry from these bytes or this renderer (errors propagate). */
  png?: PngSource<F>;
  /** The `text/plain` entry; default: a one-line summary of the figure. */
  text?: string;
}

/** Plotly's MIME type in Jupyter. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/**
 * True inside the Deno Jupyter kernel (where `Deno.jupyter` exists). Outside it, reading
 * `Deno.jupyter` throws; this function never does.
 */
export function inJupyter(): boolean {
  try {
    return typeof Deno.jupyter?.display === "function";
  } catch {
    return false;
  }
}

/**
 * Encode bytes as standard base64 (with padding), as Jupyter expects for `image/png`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toBase64 } from "./display.ts";
 * assert.equal(toBase64(new TextEncoder().encode("hello")), "aGVsbG8=");
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

function titleOf(figure: FigureJson): string | undefined {
  const title = (figure.layout as { title?: unknown } | undefined)?.title;
  if (typeof title === "string") return title;
  if (
    title && typeof title === "object" && typeof (title as { text?: unknown }).text === "string"
  ) {
    return (title as { text: string }).text;
  }
  return undefined;
}

/**
 * A one-line text summary of a figure: its title and trace types, e.g.
 * `Plotly figure "Heaven-Hell": 2 traces (scatter ×2)`.
 */
export function describeFigure(figure: FigureJson): string {
  const counts = new Map<string, number>();
  for (const trace of figure.data) {
    const type = (trace as { type?: unknown } | null)?.type;
    const name = typeof type === "string" ? type : "scatter"; // Plotly's default trace type
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const kinds = [...counts].map(([type, n]) => (n > 1 ? `${type} ×${n}` : type)).join(", ");
  const title = titleOf(figure);
  const n = figure.data.length;
  return `Plotly figure${title ? ` "${title}"` : ""}: ${n} trace${n === 1 ? "" : "s"}` +
    (n ? ` (${kinds})` : "");
}

/**
 * Build the MIME bundle of a figure: `application/vnd.plotly.v1+json` (interactive in JupyterLab
 * and VS Code), `image/png` when `options.png` is given (static viewers), and `text/plain`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { figureBundle, PLOTLY_MIME } from "./display.ts";
 * const bundle = await figureBundle({ data: [{ type: "bar", y: [1, 2] }] });
 * assert.ok(PLOTLY_MIME in bundle);
 * assert.equal(bundle["text/plain"], "Plotly figure: 1 trace (bar)");
 * ```
 */
export async function figureBundle<F extends FigureJson>(
  figure: F,
  options: ShowFigureOptions<F> = {},
): Promise<MimeBundle> {
  if (!figure || !Array.isArray(figure.data)) {
    throw new TypeError(`a figure needs a "data" array of traces; got ${JSON.stringify(figure)}`);
  }
  const json: Record<string, unknown> = { data: figure.data, layout: figure.layout ?? {} };
  if (figure.config) json.config = figure.config;
  if (figure.frames) json.frames = figure.frames;
  const bundle: MimeBundle = { [PLOTLY_MIME]: json };
  if (options.png) {
    const bytes = typeof options.png === "function" ? await options.png(figure) : options.png;
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
      throw new TypeError("the png option must give non-empty PNG bytes (a Uint8Array)");
    }
    bundle["image/png"] = toBase64(bytes);
  }
  bundle["text/plain"] = options.text ?? describeFigure(figure);
  return bundle;
}

/**
 * Let the Deno kernel send what was displayed before the cell ends. `Deno.jupyter.display`
 * resolves once the message is queued, not sent: the kernel forwards it to IOPub on the same event
 * loop, and a cell that ends right away can be reported idle first. Stock Jupyter clients
 * (`jupyter nbconvert --execute`, papermill, nbclient in VS Code and CI) stop reading a cell's
 * outputs at idle and drop such late ones (measured: 13 of 60 large displays lost without this,
 * none with it). Two macrotask turns and a short grace let the kernel flush the queue (about 15 ms).
 *
 * @example After displaying with `Deno.jupyter.display` directly
 * ```ts ignore
 * import { flushDisplay } from "../lib/notebooks/display.ts";
 * await Deno.jupyter.display({ "text/plain": "hello" }, { raw: true });
 * await flushDisplay();
 * ```
 */
export async function flushDisplay(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setTimeout(resolve, 0));
  // On a loaded machine two turns were not always enough (one display in 80 lost once in CI, with
  // both cores busy): a few milliseconds more, a small price per display.
  await new Promise((resolve) => setTimeout(resolve, FLUSH_GRACE_MS));
}

/** How long {@link flushDisplay} waits after its two macrotask turns. */
const FLUSH_GRACE_MS = 15;

/** Display a bundle in the Deno kernel and wait until the kernel has sent it (no-op elsewhere). */
async function publish(bundle: MimeBundle): Promise<void> {
  if (!inJupyter()) return;
  await Deno.jupyter.display(bundle, { raw: true });
  await flushDisplay();
}

/**
 * Display a Plotly figure in the notebook (the bundle of {@link figureBundle}). Resolves to
 * nothing, so that `await showFigure(fig)` as a cell's last line adds no result output. Outside
 * Jupyter it builds the bundle (so errors still surface) and displays nothing.
 */
export async function showFigure<F extends FigureJson>(
  figure: F,
  options: ShowFigureOptions<F> = {},
): Promise<void> {
  await publish(await figureBundle(figure, options));
}

/** Options for {@link tableBundle} and {@link showTable}. */
export interface TableOptions {
  /** Columns, in order; default: every key of the rows, in order of first appearance. */
  columns?: string[];
  /** Significant digits for non-integer numbers (default 4). */
  digits?: number;
  /** A caption above the table. */
  caption?: string;
}

/** Format one table cell: integers exactly, other numbers to `digits` significant digits. */
export function formatCell(value: unknown, digits = 4): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
    return String(Number(value.toPrecision(digits)));
  }
  if (typeof value === "string") return value;
  if (typeof value === "bigint" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

/**
 * Build the MIME bundle of a table of rows: `text/html` (a plain `<table>`, numbers right-aligned)
 * and `text/plain` (aligned columns separated by ` | `).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableBundle } from "./display.ts";
 * const { "text/plain": text } = tableBundle([{ algo: "adqn", ret: 9.5 }, { algo: "dqn", ret: 10 }]);
 * assert.equal(text, "algo | ret\n-----|----\nadqn | 9.5\ndqn  |  10");
 * ```
 */
export function tableBundle(
  rows: readonly Record<string, unknown>[],
  options: TableOptions = {},
): { "text/html": string; "text/plain": string } {
  const digits = options.digits ?? 4;
  const columns = options.columns ?? [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cells = rows.map((row) => columns.map((c) => formatCell(row[c], digits)));
  const numeric = columns.map((c) =>
    rows.some((row) => typeof row[c] === "number") &&
    rows.every((row) => typeof row[c] === "number" || row[c] === undefined || row[c] === null)
  );
  const widths = columns.map((c, j) => Math.max(c.length, ...cells.map((r) => r[j].length)));
  const pad = (text: string, j: number) =>
    numeric[j] ? text.padStart(widths[j]) : text.padEnd(widths[j]);
  const line = (values: string[]) => values.map(pad).join(" | ").trimEnd();
  const text = [
    ...(options.caption ? [options.caption] : []),
    line(columns.map((c, j) => numeric[j] ? c.padEnd(widths[j]) : c)),
    widths.map((w) => "-".repeat(w)).join("-|-"),
    ...cells.map(line),
  ].join("\n");
  const align = (j: number) => (numeric[j] ? ' style="text-align:right"' : "");
  const html = [
    "<table>",
    ...(options.caption ? [`<caption>${escapeHtml(options.caption)}</caption>`] : []),
    `<thead><tr>${
      columns.map((c, j) => `<th${align(j)}>${escapeHtml(c)}</th>`).join("")
    }</tr></thead>`,
    "<tbody>",
    ...cells.map((r) =>
      `<tr>${r.map((v, j) => `<td${align(j)}>${escapeHtml(v)}</td>`).join("")}</tr>`
    ),
    "</tbody>",
    "</table>",
  ].join("\n");
  return { "text/html": html, "text/plain": text };
}

/**
 * Display rows as a table in the notebook (the bundle of {@link tableBundle}). Resolves to
 * nothing (no extra result output); outside Jupyter it displays nothing.
 */
export async function showTable(
  rows: readonly Record<string, unknown>[],
  options: TableOptions = {},
): Promise<void> {
  await publish(tableBundle(rows, options));
}
