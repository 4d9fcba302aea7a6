/**
 * Figure output: Plotly figure JSON (always), PNG and SVG rendered by headless Chromium (Debian
 * `chromium` driven by `npm:playwright-core`) when it is installed, and, on demand only, a
 * self-contained HTML page (figure JSON and the 4.6 MB plotly.min.js inlined: opens offline). The
 * files committed to the repository are JSON + PNG + SVG; HTML is generated when asked for
 * (`deno task figures --html`), so that the repository does not carry one Plotly copy per panel.
 *
 * @example Write a figure as JSON, and HTML on demand
 * ```ts
 * import { writeFigureFiles } from "./export.ts";
 * const dir = Deno.makeTempDirSync();
 * const fig = { data: [{ type: "scatter" as const, x: [0, 1], y: [0, 1] }], layout: { title: { text: "demo" } } };
 * const out = await writeFigureFiles(fig, `${dir}/demo`, { images: false, html: true });
 * console.log(out.json.endsWith("demo.json"), out.html?.endsWith("demo.html")); // true true
 * ```
 * @module
 */
import type { PlotlyFigure } from "./figure1.ts";
import { toCsv } from "../results/csv.ts";

/** Chromium flags for headless rendering on servers and CI (platform.md). */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function parentDirs(start: string): string[] {
  const out: string[] = [];
  let d = start.replace(/\/+$/, "") || "/";
  for (;;) {
    out.push(d);
    const i = d.lastIndexOf("/");
    if (i <= 0) {
      if (d !== "/") out.push("/");
      return out;
    }
    d = d.slice(0, i);
  }
}

/**
 * Path of `plotly.min.js` from npm:plotly.js-dist-min: `$PLOTLY_JS` if set, else the first
 * `node_modules/plotly.js-dist-min/plotly.min.js` above this module or the working directory.
 */
export function findPlotlyJs(): string {
  const env = Deno.env.get("PLOTLY_JS");
  if (env) {
    if (isFile(env)) return env;
    throw new Error(`PLOTLY_JS=${env} is not a file; unset it or point it at plotly.min.js`);
  }
  const starts: string[] = [Deno.cwd()];
  const here = new URL(".", import.meta.url);
  if (here.protocol === "file:") starts.unshift(decodeURIComponent(here.pathname));
  const tried: string[] = [];
  for (const s of starts) {
    for (const d of parentDirs(s)) {
      const p = `${d === "/" ? "" : d}/node_modules/plotly.js-dist-min/plotly.min.js`;
      if (isFile(p)) return p;
      tried.push(p);
    }
  }
  throw new Error(
    `plotly.min.js not found (looked in node_modules above ${starts.join(" and ")}); ` +
      `run "deno install" in the repository, or set PLOTLY_JS to the file`,
  );
}

let plotlyCache: string | undefined;

function plotlySource(): string {
  if (plotlyCache === undefined) {
    plotlyCache = Deno.readTextFileSync(findPlotlyJs()).replace(/<\/script/gi, "<\\/script");
  }
  return plotlyCache;
}

/** JSON safe to inline in a `<script>` element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A self-contained HTML page showing the figures (plotly.min.js inlined). */
export function figureHtml(
  figures: PlotlyFigure | readonly PlotlyFigure[],
  options: { title?: string } = {},
): string {
  const figs = Array.isArray(figures) ? figures : [figures as PlotlyFigure];
  const title = options.title ?? "Figure";
  const divs = figs.map((_, i) => `<div id="fig${i}" class="figure"></div>`).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>body { font-family: sans-serif; margin: 16px; } .figure { margin-bottom: 24px; }</style>
<script>${plotlySource()}</script>
</head>
<body>
${divs}
<script>
const figures = ${scriptJson(figs)};
figures.forEach((f, i) => Plotly.newPlot("fig" + i, f.data, f.layout,
  { displaylogo: false, responsive: false }));
</script>
</body>
</html>
`;
}

/** Chromium to render with: `$CHROMIUM_PATH`, else /usr/bin/chromium(-browser); undefined if none. */
export function findChromium(): string | undefined {
  const env = Deno.env.get("CHROMIUM_PATH");
  if (env) return isFile(env) ? env : undefined;
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) if (isFile(p)) return p;
  return undefined;
}

/** Why PNG output is unavailable here, or undefined when Chromium was found. */
export function pngUnavailableReason(): string | undefined {
  if (findChromium()) return undefined;
  return "PNG skipped: Chromium not found at /usr/bin/chromium (install it with " +
    "`apt-get install -y --no-install-recommends chromium fonts-liberation` or set CHROMIUM_PATH)";
}

type Browser = {
  newPage(): Promise<Page>;
  close(): Promise<void>;
};
type Page = {
  addScriptTag(o: { path?: string; content?: string }): Promise<unknown>;
  setContent(html: string): Promise<void>;
  goto(url: string, o?: Record<string, unknown>): Promise<unknown>;
  evaluate<T, A>(fn: (arg: A) => T | Promise<T>, arg: A): Promise<T>;
  on(event: string, fn: (x: unknown) => void): void;
  waitForFunction(fn: string, arg?: unknown, o?: Record<string, unknown>): Promise<unknown>;
};

/** Launch headless Chromium at `executablePath` with {@link CHROMIUM_FLAGS} (playwright-core). */
export async function launchChromium(
  executablePath: string,
): Promise<import("playwright-core").Browser> {
  const { chromium } = await import("playwright-core");
  return await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_FLAGS] });
}

async function launch(executablePath: string): Promise<Browser> {
  return await launchChromium(executablePath) as unknown as Browser;
}

/** An image format that Plotly's `toImage` writes. */
export type ImageFormat = "png" | "svg";

/** Result of {@link renderImages} and {@link renderPngs}. */
export interface PngResult {
  /** Files written. */
  written: string[];
  /** Why nothing was written, when Chromium is missing. */
  skipped?: string;
}

/** The bytes of a `data:` URL as Plotly's `toImage` returns it (base64 for PNG, URI-encoded SVG). */
function dataUrlBytes(url: string): Uint8Array {
  const comma = url.indexOf(",");
  const head = url.slice(0, comma), body = url.slice(comma + 1);
  if (!head.endsWith(";base64")) return new TextEncoder().encode(decodeURIComponent(body));
  const bin = atob(body);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/**
 * Render figures to image files (PNG or SVG, per job; PNG by default) with headless Chromium: one
 * browser, Plotly loaded once, `scale` 2 by default for PNG. Skips with a reason when Chromium is
 * not installed.
 */
export async function renderImages(
  jobs: readonly { figure: PlotlyFigure; path: string; format?: ImageFormat }[],
  options: { chromium?: string; scale?: number } = {},
): Promise<PngResult> {
  const exe = options.chromium ?? findChromium();
  if (!exe) return { written: [], skipped: pngUnavailableReason() };
  if (jobs.length === 0) return { written: [] };
  const browser = await launch(exe);
  try {
    const page = await browser.newPage();
    await page.setContent("<!DOCTYPE html><html><body><div id='g'></div></body></html>");
    await page.addScriptTag({ path: findPlotlyJs() });
    const written: string[] = [];
    for (const job of jobs) {
      const layout = job.figure.layout as { width?: number; height?: number };
      const url = await page.evaluate(
        (a: { fig: PlotlyFigure; w: number; h: number; s: number; f: ImageFormat }) =>
          // deno-lint-ignore no-explicit-any
          (globalThis as any).Plotly.toImage(a.fig, {
            format: a.f,
            width: a.w,
            height: a.h,
            scale: a.s,
          }) as Promise<string>,
        {
          fig: job.figure,
          w: layout.width ?? 720,
          h: layout.height ?? 440,
          s: job.format === "svg" ? 1 : options.scale ?? 2,
          f: job.format ?? "png",
        },
      );
      await Deno.writeFile(job.path, dataUrlBytes(url));
      written.push(job.path);
    }
    return { written };
  } finally {
    await browser.close();
  }
}

/**
 * Render figures to PNG files with headless Chromium ({@link renderImages} with PNG jobs; `scale`
 * 2 by default). Skips with a reason when Chromium is not installed.
 */
export function renderPngs(
  jobs: readonly { figure: PlotlyFigure; path: string }[],
  options: { chromium?: string; scale?: number } = {},
): Promise<PngResult> {
  return renderImages(jobs.map((j) => ({ ...j, format: "png" as const })), options);
}

/** What a browser saw when opening an HTML file: errors and the number of rendered plots. */
export interface HtmlInspection {
  /** Console errors and uncaught exceptions. */
  errors: string[];
  /** Plotly plots rendered (elements with class main-svg inside .js-plotly-plot). */
  plots: number;
}

/**
 * Open an HTML file in headless Chromium and report console errors and rendered plots
 * (undefined when Chromium is not installed).
 */
export async function inspectHtml(path: string): Promise<HtmlInspection | undefined> {
  const exe = findChromium();
  if (!exe) return undefined;
  const browser = await launch(exe);
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      const msg = m as { type(): string; text(): string };
      if (msg.type() === "error") errors.push(msg.text());
    });
    page.on("pageerror", (e) => errors.push(String((e as Error).message ?? e)));
    const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
    await page.goto(`file://${abs}`, { waitUntil: "load" });
    await page.waitForFunction(
      "document.querySelectorAll('.js-plotly-plot').length === document.querySelectorAll('.figure').length",
      undefined,
      { timeout: 15_000 },
    ).catch(() => {});
    const plots = await page.evaluate(
        (sel: string) =>
          // deno-lint-ignore no-explicit-any
          ((globalThis as any).document.querySelectorAll(sel) as { length: number }).length,
        ".js-plotly-plot .main-svg",
      ) > 0
      ? await page.evaluate(
        // deno-lint-ignore no-explicit-any
        (sel: string) => ((globalThis as any).document.querySelectorAll(sel)).length as number,
        ".js-plotly-plot",
      )
      : 0;
    return { errors, plots };
  } finally {
    await browser.close();
  }
}

/** Columns of {@link figureCsv}. */
export const FIGURE_CSV_COLUMNS: readonly string[] = ["series", "x", "y", "se", "n"];

/**
 * The data of a figure as CSV (RFC 4180, CRLF): one row per point of every line trace, with the
 * standard error and number of runs where the trace carries them (`customdata` [se, n], as the
 * mean curves of Figure 1 do). Filled band outlines are left out: they are mean ± se.
 *
 * @example
 * ```ts
 * import { figureCsv } from "./export.ts";
 * const csv = figureCsv({ data: [{ type: "scatter", name: "ADQN", x: [10], y: [0.5], customdata: [[0.1, 2]] }] });
 * console.log(JSON.stringify(csv)); // "series,x,y,se,n\r\nADQN,10,0.5,0.1,2\r\n"
 * ```
 */
export function figureCsv(figure: PlotlyFigure): string {
  const rows: unknown[][] = [];
  for (const trace of figure.data as Record<string, unknown>[]) {
    if (trace.fill === "toself" || !Array.isArray(trace.x) || !Array.isArray(trace.y)) continue;
    const custom = Array.isArray(trace.customdata) ? trace.customdata as unknown[][] : [];
    trace.x.forEach((x, i) => {
      const extra = Array.isArray(custom[i]) ? custom[i] : [];
      rows.push([trace.name ?? "", x, (trace.y as unknown[])[i], extra[0], extra[1]]);
    });
  }
  return toCsv(FIGURE_CSV_COLUMNS, rows);
}

/** Paths written by {@link writeFigureFiles}. */
export interface FigureFiles {
  /** Plotly figure JSON. */
  json: string;
  /** The figure's data as CSV ({@link figureCsv}). */
  csv: string;
  /** Self-contained HTML, when asked for (`html: true`). */
  html?: string;
  /** PNG, when rendered. */
  png?: string;
  /** SVG, when rendered. */
  svg?: string;
  /** Why the PNG and SVG were skipped. */
  pngSkipped?: string;
}

/** Options of {@link writeFigureFiles}. */
export interface WriteFigureOptions {
  /** Render `<base>.png` and `<base>.svg` (default true; skipped with a reason without Chromium). */
  images?: boolean;
  /** Also write the self-contained `<base>.html` (default false: 4.6 MB of Plotly per file). */
  html?: boolean;
  /** Title of the HTML page (default: the file name). */
  title?: string;
}

/** The image jobs (PNG and SVG) of the figure files at `base`. */
export function imageJobs(
  figure: PlotlyFigure,
  base: string,
): { figure: PlotlyFigure; path: string; format: ImageFormat }[] {
  return (["png", "svg"] as const).map((format) => ({
    figure,
    path: `${base}.${format}`,
    format,
  }));
}

/**
 * Write `<base>.json`, `<base>.csv`, `<base>.png` and `<base>.svg` (images when `images` is true, the default,
 * and Chromium is installed), and `<base>.html` when `html` is true. Parent directories are created.
 */
export async function writeFigureFiles(
  figure: PlotlyFigure,
  base: string,
  options: WriteFigureOptions = {},
): Promise<FigureFiles> {
  const slash = base.lastIndexOf("/");
  if (slash > 0) Deno.mkdirSync(base.slice(0, slash), { recursive: true });
  const out: FigureFiles = { json: `${base}.json`, csv: `${base}.csv` };
  Deno.writeTextFileSync(out.json, JSON.stringify(figure, null, 1) + "\n");
  Deno.writeTextFileSync(out.csv, figureCsv(figure));
  if (options.html) {
    out.html = `${base}.html`;
    Deno.writeTextFileSync(
      out.html,
      figureHtml(figure, { title: options.title ?? base.slice(slash + 1) }),
    );
  }
  if (options.images ?? true) {
    const r = await renderImages(imageJobs(figure, base));
    if (r.skipped) out.pngSkipped = r.skipped;
    else [out.png, out.svg] = [`${base}.png`, `${base}.svg`];
  }
  return out;
}
