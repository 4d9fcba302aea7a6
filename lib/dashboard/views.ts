/**
 * What the dashboard's JSON routes answer: the overview (every Figure 1 panel in the database,
 * built by lib/plots' figure1Panel, and the campaign's progress), the runs table, and one run.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { CurvePoint } from "../plots/stats.ts";
import { figure1Panel, type PlotlyFigure, type PlotlyTrace } from "../plots/figure1.ts";
import { ALGO_COLORS, FALLBACK_COLOR } from "../plots/figure1.ts";
import {
  FIGURE_IDS,
  type FigureId,
  FIGURES,
  PRESET_IDS,
  presetConfig,
  type PresetId,
} from "../experiments/presets.ts";
import type { AlgoId } from "../train/mod.ts";
import { RateMeter } from "../experiments/progress.ts";
import { runStage } from "../experiments/campaign_data.ts";
import type { DashboardSource, RunSeries, RunSummary } from "./source.ts";

/** Campaign progress over every run in the database. */
export interface Progress {
  /** Runs finished. */
  finished: number;
  /** Runs running (leased). */
  running: number;
  /** Runs waiting (queued or interrupted). */
  waiting: number;
  /** Runs failed. */
  failed: number;
  /** Environment steps done, each run capped at its total. */
  stepsDone: number;
  /** Environment steps of every run together. */
  stepsTotal: number;
  /** Environment steps per second over the last minute (null until measured). */
  rate: number | null;
  /** Projected finish, ms since the epoch (null while the rate is unknown). */
  etaMs: number | null;
}

/** One overview panel: its key ("quick:1c") and Plotly figure. */
export interface OverviewPanel {
  /** Label of its runs. */
  key: string;
  /** The figure (mean ± 1 SE, reference line; per-seed lines when asked). */
  figure: PlotlyFigure;
}

/** A (preset, panel) parsed from a run label, or undefined for other labels. */
export function parseLabel(label: string): { preset: PresetId; figure: FigureId } | undefined {
  const [preset, figure, ...rest] = label.split(":");
  if (rest.length || !(PRESET_IDS as readonly string[]).includes(preset)) return undefined;
  if (!(FIGURE_IDS as readonly string[]).includes(figure)) return undefined;
  return { preset: preset as PresetId, figure: figure as FigureId };
}

/** Thin per-seed lines, grouped with their algorithm's mean in the legend. */
function seedTraces(runs: readonly RunSummary[], metrics: Map<number, CurvePoint[]>) {
  return runs.map((r): PlotlyTrace => {
    const pts = (metrics.get(r.id) ?? []).filter((p) => Number.isFinite(p.avgReturn));
    return {
      type: "scatter",
      mode: "lines",
      name: `${r.algo} seed ${r.seed}`,
      legendgroup: r.algo,
      showlegend: false,
      x: pts.map((p) => p.envStep),
      y: pts.map((p) => p.avgReturn),
      line: { color: ALGO_COLORS[r.algo] ?? FALLBACK_COLOR, width: 0.7 },
      opacity: 0.5,
      hoverinfo: "name",
    };
  });
}

/**
 * The overview panel of a run: its label ("paper:1a"), and for a stage-0 run of the Figure 1
 * campaign (selection seeds) also its grid cell, so that each cell of the selection is a panel of
 * its own and never averaged with the others or with stage 1; undefined for other labels.
 */
export function panelKey(r: RunSummary): string | undefined {
  if (!parseLabel(r.label)) return undefined;
  return runStage(r) === 0 ? `${r.label} stage 0: lr ${r.lr}, time limit ${r.timeLimit}` : r.label;
}

/** The Figure 1 panels present in the database, in panel then preset order. */
export function overviewPanels(
  source: DashboardSource,
  db: DatabaseSync,
  runs: readonly RunSummary[],
  seeds: boolean,
): OverviewPanel[] {
  const groups = new Map<string, RunSummary[]>();
  for (const r of runs) {
    const key = panelKey(r);
    if (key === undefined) continue;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(r);
  }
  const labelOf = (key: string) => parseLabel(groups.get(key)![0].label)!;
  const keys = [...groups.keys()].sort((a, b) => {
    const pa = labelOf(a), pb = labelOf(b);
    return pa.figure.localeCompare(pb.figure) || pa.preset.localeCompare(pb.preset) ||
      a.localeCompare(b);
  });
  const metrics = source.curvesOf(db, runs.filter((r) => panelKey(r)).map((r) => r.id));
  return keys.map((key) => {
    const { preset, figure } = labelOf(key);
    const group = groups.get(key)!;
    const cell = key.includes(" stage 0: ") ? `, ${key.split(" stage 0: ")[1]}` : "";
    const fig = figure1Panel({
      id: figure,
      title: FIGURES[figure].title,
      subtitle: `preset ${preset}${cell ? ` (campaign stage 0${cell})` : ""}, ` +
        `${new Set(group.map((r) => r.seed)).size} seed(s)`,
      reference: FIGURES[figure].reference,
      width: 560,
      height: 380,
      runs: group.map((r) => ({
        algo: r.algo,
        seed: r.seed,
        logEvery: r.logEvery,
        finished: r.status === "finished",
        points: metrics.get(r.id) ?? [],
      })),
    });
    if (seeds) fig.data.push(...seedTraces(group, metrics));
    return { key, figure: fig };
  });
}

/** Campaign progress; `meter` is sampled with the steps done so the rate spans polls. */
export function progress(runs: readonly RunSummary[], meter: RateMeter, nowMs: number): Progress {
  const count = (s: string) => runs.filter((r) => r.status === s).length;
  const stepsDone = runs.reduce((a, r) => a + Math.min(r.envSteps, r.totalSteps), 0);
  const stepsTotal = runs.reduce((a, r) => a + r.totalSteps, 0);
  meter.add(stepsDone, nowMs);
  const rate = meter.rate();
  const known = Number.isFinite(rate) && rate > 0;
  return {
    finished: count("finished"),
    running: count("running"),
    waiting: count("queued"),
    failed: count("failed"),
    stepsDone,
    stepsTotal,
    rate: Number.isFinite(rate) ? rate : null,
    etaMs: known ? nowMs + ((stepsTotal - stepsDone) / rate) * 1000 : null,
  };
}

/** A new meter for {@link progress}: a one-minute window. */
export function progressMeter(): RateMeter {
  return new RateMeter(60);
}

function flatten(obj: unknown, prefix = "", out: Record<string, unknown> = {}) {
  if (obj && typeof obj === "object" && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = obj;
  return out;
}

/** Keys (dotted) where `config` differs from `reference`, with both values. */
export function configDiff(
  config: Record<string, unknown>,
  reference: Record<string, unknown>,
): { key: string; value: unknown; preset: unknown }[] {
  const a = flatten(config), b = flatten(reference);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => ({ key: k, value: a[k] ?? null, preset: b[k] ?? null }));
}

/** What `/api/run/<id>` answers. */
export interface RunView {
  /** The run's table row. */
  run: RunSummary;
  /** Its stored configuration. */
  config: Record<string, unknown>;
  /** Its "preset:panel" label, null when it has none. */
  preset: string | null;
  /** Differences from the preset's configuration, null without a preset. */
  diff: { key: string; value: unknown; preset: unknown }[] | null;
  /** Its logged series against environment steps (null where not finite). */
  series: RunSeries;
}

/** One run: its table row, configuration, differences from its preset, and its series. */
export function runView(
  source: DashboardSource,
  db: DatabaseSync,
  id: number,
): RunView | undefined {
  const config = source.config(db, id);
  if (!config) return undefined;
  const run = source.runs(db).find((r) => r.id === id)!;
  const parsed = parseLabel(run.label);
  let reference: Record<string, unknown> | undefined;
  if (parsed) {
    try {
      reference = presetConfig(
        parsed.preset,
        parsed.figure,
        run.algo as AlgoId,
        run.seed,
      ) as unknown as Record<string, unknown>;
    } catch { /* an algorithm the presets do not know: no reference to compare with */ }
  }
  return {
    run,
    config,
    preset: parsed ? `${parsed.preset}:${parsed.figure}` : null,
    diff: reference ? configDiff(config, reference) : null,
    series: source.series(db, id),
  };
}
