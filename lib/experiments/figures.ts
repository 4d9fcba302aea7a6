/**
 * From the results database to Figure 1: select the runs of a (panel, preset) by configuration
 * hash, build the panel (lib/plots), write JSON, PNG and SVG files (HTML on demand), and summarise final returns.
 *
 * @example
 * ```ts ignore
 * import { ResultsDb } from "../results/db.ts";
 * import { writeFigures } from "./figures.ts";
 * const db = ResultsDb.open("data/results.sqlite", { readOnly: true });
 * const out = await writeFigures(db, { figures: ["1a"], outDir: "out" });
 * console.log(out.written.map((w) => w.files.json));
 * ```
 * @module
 */
import type { ResultsDb, RunRecord } from "../results/db.ts";
import { createHash } from "node:crypto";
import { canonicalJson, configHash } from "../train/config.ts";
import {
  ALGO_LABELS,
  combineFigure1,
  figure1Panel,
  type PanelInput,
  type PlotlyFigure,
} from "../plots/figure1.ts";
import {
  type FigureFiles,
  type ImageFormat,
  imageJobs,
  renderImages,
  writeFigureFiles,
} from "../plots/export.ts";
import { finalReturn, meanStdErr } from "../plots/stats.ts";
import {
  FIGURE_ALGOS,
  type FigureId,
  FIGURES,
  type Overrides,
  PRESET_IDS,
  presetConfig,
  type PresetId,
  PRESETS,
} from "./presets.ts";

/**
 * The configuration hashes of a panel's runs under a preset and extra overrides (one per
 * algorithm), mapped to the algorithm.
 */
export function presetHashes(
  figure: FigureId,
  preset: PresetId,
  extra: Overrides = {},
): Map<string, string> {
  const out = new Map<string, string>();
  for (const algo of FIGURE_ALGOS) {
    out.set(configHash(presetConfig(preset, figure, algo, 0, extra)), algo);
  }
  return out;
}

/** Every run of a panel under a preset (and extra overrides) stored in the database. */
export function figureRuns(
  db: ResultsDb,
  figure: FigureId,
  preset: PresetId,
  extra: Overrides = {},
): RunRecord[] {
  const hashes = presetHashes(figure, preset, extra);
  return db.listRuns({ env: FIGURES[figure].env }).filter((r) => hashes.has(r.hash));
}

/** Presets with at least one logged point for this panel (with these extra overrides). */
export function presetsWithData(
  db: ResultsDb,
  figure: FigureId,
  extra: Overrides = {},
): PresetId[] {
  return PRESET_IDS.filter((p) => {
    const runs = figureRuns(db, figure, p, extra);
    const m = db.metricsOf(runs.map((r) => r.id));
    return runs.some((r) => (m.get(r.id) ?? []).length > 0);
  });
}

/** The plot input of one panel from stored runs. */
export function panelInput(
  db: ResultsDb,
  figure: FigureId,
  preset: PresetId,
  runs: readonly RunRecord[] = figureRuns(db, figure, preset),
): PanelInput {
  const spec = FIGURES[figure];
  const metrics = db.metricsOf(runs.map((r) => r.id));
  const seeds = new Set(runs.map((r) => r.seed));
  const p = PRESETS[preset];
  return {
    id: figure,
    title: spec.title,
    subtitle: `preset ${preset}${p.provisional ? " (provisional budget)" : ""}, ` +
      `${seeds.size} seed${seeds.size === 1 ? "" : "s"}; mean ± 1 standard error over seeds`,
    reference: spec.reference,
    runs: runs.map((r) => ({
      algo: r.algo,
      seed: r.seed,
      logEvery: Number(r.config.logEvery) || 1,
      finished: r.status === "finished",
      points: metrics.get(r.id) ?? [],
    })),
  };
}

/** The Figure 1 panel of a preset as Plotly JSON. */
export function buildPanel(
  db: ResultsDb,
  figure: FigureId,
  preset: PresetId,
  runs?: readonly RunRecord[],
): PlotlyFigure {
  return figure1Panel(panelInput(db, figure, preset, runs));
}

/** One written panel. */
export interface WrittenFigure {
  /** Panel. */
  figure: FigureId;
  /** Preset. */
  preset: PresetId;
  /** Files. */
  files: FigureFiles;
}

/** Options of {@link writeFigures}. */
export interface WriteFiguresOptions {
  /** Panels. */
  figures: readonly FigureId[];
  /** Preset (default: every preset with data for the panel). */
  preset?: PresetId;
  /** Output directory. */
  outDir: string;
  /** Render PNG and SVG files (default true; skipped with a reason when Chromium is missing). */
  png?: boolean;
  /** Also write a self-contained HTML file per panel (default false: 4.6 MB of Plotly each). */
  html?: boolean;
  /** Overrides applied on top of the preset's when selecting runs by configuration. */
  extra?: Overrides;
  /** Plot exactly these runs (those of each panel's environment) instead of selecting by preset. */
  runs?: readonly RunRecord[];
}

/** What {@link writeFigures} did. */
export interface WriteFiguresResult {
  /** Panels written. */
  written: WrittenFigure[];
  /** Panels without any data. */
  missing: FigureId[];
  /** Why PNG and SVG files were skipped. */
  pngSkipped?: string;
  /**
   * The panels of each preset side by side as one figure with a shared legend, as in the paper
   * (`figure1-<preset>[-<overrides>].*`), when two or more panels of that preset were written.
   */
  combined: { preset: PresetId; files: FigureFiles }[];
}

/** "" without overrides, else "-" and 8 hex digits identifying them (for file names). */
export function extraSuffix(extra: Overrides = {}): string {
  if (Object.keys(extra).length === 0) return "";
  return "-" + createHash("sha256").update(canonicalJson(extra)).digest("hex").slice(0, 8);
}

/**
 * Write `<outDir>/figure<id>-<preset>[-<overrides>].{json,png,svg}` (and `.html` with `html`) for
 * each panel with data
 * (the suffix identifies extra overrides, see {@link extraSuffix}).
 */
export async function writeFigures(
  db: ResultsDb,
  options: WriteFiguresOptions,
): Promise<WriteFiguresResult> {
  const written: WrittenFigure[] = [];
  const missing: FigureId[] = [];
  const pngJobs: {
    figure: PlotlyFigure;
    path: string;
    format: ImageFormat;
    w: { files: FigureFiles };
  }[] = [];
  const panelsByPreset = new Map<PresetId, PlotlyFigure[]>();
  for (const figure of options.figures) {
    const presets = options.preset ? [options.preset] : presetsWithData(db, figure, options.extra);
    let any = false;
    for (const preset of presets) {
      const runs = options.runs
        ? options.runs.filter((r) => r.env === FIGURES[figure].env)
        : figureRuns(db, figure, preset, options.extra);
      const input = panelInput(db, figure, preset, runs);
      if (!input.runs.some((r) => r.points.length > 0)) continue;
      any = true;
      const fig = figure1Panel(input);
      const base = `${options.outDir.replace(/\/+$/, "") || "."}/figure${figure}-${preset}` +
        extraSuffix(options.extra);
      const files = await writeFigureFiles(fig, base, {
        images: false,
        html: options.html ?? false,
        title: `Figure ${figure} (${preset})`,
      });
      const w = { figure, preset, files };
      written.push(w);
      panelsByPreset.set(preset, [...(panelsByPreset.get(preset) ?? []), fig]);
      for (const job of imageJobs(fig, base)) pngJobs.push({ ...job, w });
    }
    if (!any) missing.push(figure);
  }
  const combined: { preset: PresetId; files: FigureFiles }[] = [];
  for (const [preset, panels] of panelsByPreset) {
    if (panels.length < 2) continue;
    const fig = combineFigure1(panels, { title: `Figure 1 (${preset} preset)` });
    const base = `${options.outDir.replace(/\/+$/, "") || "."}/figure1-${preset}` +
      extraSuffix(options.extra);
    const files = await writeFigureFiles(fig, base, {
      images: false,
      html: options.html ?? false,
      title: `Figure 1 (${preset})`,
    });
    const c = { preset, files };
    combined.push(c);
    for (const job of imageJobs(fig, base)) pngJobs.push({ ...job, w: c });
  }
  let pngSkipped: string | undefined;
  if ((options.png ?? true) && pngJobs.length > 0) {
    const r = await renderImages(pngJobs);
    if (r.skipped) {
      pngSkipped = r.skipped;
      for (const j of pngJobs) j.w.files.pngSkipped = r.skipped;
    } else {
      for (const j of pngJobs) j.w.files[j.format] = j.path;
    }
  }
  return { written, missing, pngSkipped, combined };
}

/** Final average return of one algorithm on one panel, over seeds. */
export interface FinalRow {
  /** Panel. */
  figure: FigureId;
  /** Algorithm. */
  algo: string;
  /** Finished runs counted. */
  n: number;
  /** Mean of their final average returns. */
  mean: number;
  /** Standard error of that mean. */
  se: number;
  /** Runs of this algorithm not finished (not counted). */
  unfinished: number;
}

/** Mean ± standard error over seeds of the final average return of finished runs. */
export function finalReturns(
  db: ResultsDb,
  figure: FigureId,
  runs: readonly RunRecord[],
): FinalRow[] {
  const metrics = db.metricsOf(runs.map((r) => r.id));
  return FIGURE_ALGOS.map((algo) => {
    const mine = runs.filter((r) => r.algo === algo);
    const done = mine.filter((r) => r.status === "finished");
    const s = meanStdErr(done.map((r) => finalReturn(metrics.get(r.id) ?? [])));
    return { figure, algo, n: s.n, mean: s.mean, se: s.se, unfinished: mine.length - done.length };
  }).filter((r) => r.n > 0 || r.unfinished > 0);
}

/** A plain-text table of {@link FinalRow}s. */
export function formatFinalTable(rows: readonly FinalRow[]): string {
  const header = ["figure", "algorithm", "final avg return (mean ± SE)", "seeds", "unfinished"];
  const body = rows.map((r) => [
    r.figure,
    ALGO_LABELS[r.algo] ?? r.algo,
    r.n > 0 ? `${r.mean.toFixed(3)} ± ${r.se.toFixed(3)}` : "n/a",
    String(r.n),
    String(r.unfinished),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}
