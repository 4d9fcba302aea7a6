/**
 * The read side of the Figure 1 campaign (campaign.ts): which stage and panel each run of its
 * database belongs to, the progress of each stage (runs, environment steps, training time, code
 * version, machine), the selection table so far, and the curves of a panel. The verdicts are in
 * campaign_verdicts.ts. The notebooks of panels 1a and 1b, the published README
 * (campaign_publish.ts) and `deno task campaign report` are built on it.
 *
 * Everything is computed from a {@link CampaignData} loaded once from the database, so that a
 * notebook can close its snapshot right after loading.
 *
 * @example
 * ```ts ignore
 * import { ResultsDb } from "../results/db.ts";
 * import { loadCampaign, stageSummaries } from "./campaign_data.ts";
 * const db = ResultsDb.open("data/fig1-paper/results.sqlite", { readOnly: true });
 * const data = loadCampaign(db);
 * db.close();
 * console.log(stageSummaries(data).map((s) => `${s.finished}/${s.planned}`));
 * ```
 * @module
 */
import { existsSync } from "../files.ts";
import { type MetricRecord, ResultsDb, type RunRecord, type RunStatus } from "../results/db.ts";
import { ALGO_IDS, type AlgoId } from "../train/agent.ts";
import type { PanelInput } from "../plots/figure1.ts";
import type { MetricRun } from "../plots/metrics.ts";
import { FIGURE_IDS, type FigureId, FIGURES } from "./presets.ts";
import {
  type Cell,
  type CellRow,
  GATE_ALGOS,
  GATE_RETURN,
  gateOpen,
  PLANNED_STAGE0,
  runFinal,
  type SelectionEntry,
  selectionProgress,
  STAGE0,
  STAGE1,
} from "./campaign_stages.ts";

/** A stage of the campaign: 0 (selection on Heaven-Hell-3), 1 (panels 1a and 1b). */
export type StageId = 0 | 1;

/** Runs each stage plans: 40 and 50. */
export const PLANNED_PER_STAGE: Readonly<Record<StageId, number>> = Object.freeze({
  0: PLANNED_STAGE0,
  1: ALGO_IDS.length * STAGE1.figures.length * STAGE1.seeds,
});

/** Stage-1 runs each panel plans per algorithm (its seeds). */
export const STAGE1_SEEDS: number = STAGE1.seeds;

/** One run of the campaign with its metric points. */
export interface CampaignRun {
  /** The stored run. */
  run: RunRecord;
  /** Its stage. */
  stage: StageId;
  /** Its panel (stage 0: Heaven-Hell-3's, 1a). */
  figure: FigureId;
  /** Algorithm. */
  algo: AlgoId;
  /** Its learning rate and time limit (from its stored configuration). */
  cell: Cell;
  /** Its logged points, by environment step. */
  points: MetricRecord[];
}

/** The campaign's runs, loaded once. */
export interface CampaignData {
  /** Every run of a stage, ordered by stage, panel, algorithm, cell, seed. */
  runs: CampaignRun[];
  /** The database's other runs (of no stage: other labels or seeds), by id. */
  others: RunRecord[];
}

/** Campaign data without any run (no database yet). */
export function emptyCampaign(): CampaignData {
  return { runs: [], others: [] };
}

/** The panel named by a run's label ("paper:1a" → "1a"), or null. */
function labelFigure(label: string): FigureId | null {
  const [preset, figure] = label.split(":");
  return preset === STAGE1.preset && (FIGURE_IDS as readonly string[]).includes(figure)
    ? figure as FigureId
    : null;
}

/**
 * The stage of a stored run: 0 for Heaven-Hell-3 runs on a selection seed (1000, 1001), 1 for
 * runs of panels 1a and 1b on seeds 0–4, null for any other run.
 */
export function runStage(run: Pick<RunRecord, "label" | "seed">): StageId | null {
  const figure = labelFigure(run.label);
  if (figure === STAGE0.figure && STAGE0.seeds.includes(run.seed)) return 0;
  if (figure && STAGE1.figures.includes(figure) && run.seed >= 0 && run.seed < STAGE1.seeds) {
    return 1;
  }
  return null;
}

/** Load the campaign's runs and their points from its database (one query for the points). */
export function loadCampaign(db: ResultsDb): CampaignData {
  const all = db.listRuns();
  const runs = all.filter((r) => runStage(r) !== null);
  const metrics = db.metricsOf(runs.map((r) => r.id));
  const algoIndex = (a: string) => ALGO_IDS.indexOf(a as AlgoId);
  const out = runs.map((run): CampaignRun => ({
    run,
    stage: runStage(run)!,
    figure: labelFigure(run.label)!,
    algo: run.algo as AlgoId,
    cell: { lr: Number(run.config.lr), timeLimit: Number(run.config.timeLimit) },
    points: metrics.get(run.id) ?? [],
  }));
  out.sort((a, b) =>
    a.stage - b.stage || a.figure.localeCompare(b.figure) ||
    algoIndex(a.algo) - algoIndex(b.algo) ||
    a.cell.lr - b.cell.lr || b.cell.timeLimit - a.cell.timeLimit || a.run.seed - b.run.seed
  );
  return { runs: out, others: all.filter((r) => runStage(r) === null) };
}

/** {@link loadCampaign} on the database at `path`, opened read-only; no runs when it is absent. */
export function loadCampaignFile(path: string): CampaignData {
  if (!existsSync(path)) return emptyCampaign();
  const db = ResultsDb.open(path, { readOnly: true });
  try {
    return loadCampaign(db);
  } finally {
    db.close();
  }
}

/** Environment steps a run has done: all of them once finished, else its last logged point's. */
export function runSteps(r: CampaignRun | { run: RunRecord; points: MetricRecord[] }): number {
  if (r.run.status === "finished") return r.run.totalSteps;
  return r.points.length ? r.points[r.points.length - 1].envStep : 0;
}

/**
 * Training wall-clock seconds of a run: its last logged point's (training so far, across resumes),
 * else, for a finished run without one, the trainer's total.
 */
export function runSeconds(r: CampaignRun): number {
  const last = r.points.length ? r.points[r.points.length - 1].wallSeconds : NaN;
  const s = Number.isFinite(last) ? last : r.run.wallSeconds ?? NaN;
  return Number.isFinite(s) ? s : 0;
}

/** A value and how many runs have it. */
export interface Counted {
  /** The value ("" where unknown). */
  value: string;
  /** Runs with it. */
  runs: number;
}

function counted(values: readonly string[]): Counted[] {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m].map(([value, runs]) => ({ value, runs }))
    .sort((a, b) => b.runs - a.runs || a.value.localeCompare(b.value));
}

/** The progress of one stage, read from its runs only. */
export interface StageSummary {
  /** Stage. */
  stage: StageId;
  /** Runs planned. */
  planned: number;
  /** Runs in the database. */
  registered: number;
  /** Runs per status. */
  status: Record<RunStatus, number>;
  /** Runs finished. */
  finished: number;
  /** Environment steps done (finished runs fully, others up to their last logged point). */
  envSteps: number;
  /** Environment steps of the whole stage (planned runs × steps per run). */
  plannedSteps: number;
  /** Sum over its runs of their training wall-clock seconds (runs train in parallel). */
  trainingSeconds: number;
  /** ISO time of the first start of one of its runs, null before any. */
  firstStart: string | null;
  /** ISO time the last of its finished runs ended, null before any. */
  lastEnd: string | null;
  /** Distinct environment steps per run (the budget), ascending. */
  totalSteps: number[];
  /** Code versions (git commits) of the runs' last claims. */
  codeVersions: Counted[];
  /** Tensor backends (with OpenBLAS's kernels where recorded). */
  backends: Counted[];
  /** Machines: "cpu model, N cores". */
  machines: Counted[];
}

/** The steps per run of the campaign's protocol (the `paper` preset's). */
export const PROTOCOL_STEPS = 2_000_000;

/** The progress of both stages. */
export function stageSummaries(data: CampaignData): StageSummary[] {
  return ([0, 1] as const).map((stage): StageSummary => {
    const rs = data.runs.filter((r) => r.stage === stage);
    const status: Record<RunStatus, number> = { queued: 0, running: 0, finished: 0, failed: 0 };
    for (const r of rs) status[r.run.status]++;
    const steps = [...new Set(rs.map((r) => r.run.totalSteps))].sort((a, b) => a - b);
    const starts = rs.flatMap((r) => r.run.startedAt ?? []).sort();
    const ends = rs.filter((r) => r.run.status === "finished").flatMap((r) => r.run.endedAt ?? [])
      .sort();
    const claimed = rs.filter((r) => r.run.attempts > 0);
    const perRun = steps.length === 1 ? steps[0] : PROTOCOL_STEPS;
    return {
      stage,
      planned: PLANNED_PER_STAGE[stage],
      registered: rs.length,
      status,
      finished: status.finished,
      envSteps: rs.reduce((a, r) => a + runSteps(r), 0),
      plannedSteps: PLANNED_PER_STAGE[stage] * perRun,
      trainingSeconds: rs.reduce((a, r) => a + runSeconds(r), 0),
      firstStart: starts[0] ?? null,
      lastEnd: ends.at(-1) ?? null,
      totalSteps: steps,
      codeVersions: counted(claimed.map((r) => r.run.codeVersion ?? "")),
      backends: counted(claimed.map((r) => {
        const m = r.run.machine;
        return m?.blasKernels
          ? `${m.backend} (OpenBLAS ${m.blasKernels} kernels)`
          : m?.backend ?? "";
      })),
      machines: counted(
        claimed.map((r) =>
          r.run.machine ? `${r.run.machine.cpu || "unknown cpu"}, ${r.run.machine.cores} cores` : ""
        ),
      ),
    };
  });
}

/** Finished stage-0 runs as the selection's {@link CellRow}s. */
export function cellRows(data: CampaignData): CellRow[] {
  return data.runs.filter((r) => r.stage === 0 && r.run.status === "finished").map((r) => ({
    algo: r.algo,
    cell: r.cell,
    seed: r.run.seed,
    final: runFinal(r.points),
  }));
}

/** The selection table so far (campaign_stages.ts's {@link selectionProgress} of the finished runs). */
export function campaignSelection(data: CampaignData): SelectionEntry[] {
  return selectionProgress(cellRows(data));
}

/**
 * The gate (campaign_stages.ts's {@link gateOpen}) as far as it is decided: "open" as soon as a cell of
 * ADQN or ADQN-VR with all its seeds finished is above the gate's return (later cells cannot close
 * it again), "blocked" once stage 0 is complete without one, "pending" until either.
 */
export function gateState(selection: readonly SelectionEntry[]): "pending" | "open" | "blocked" {
  if (gateOpen(selection.filter(cellComplete))) return "open";
  return selectionComplete(selection) ? "blocked" : "pending";
}

const cellComplete = (e: SelectionEntry) => e.seeds >= STAGE0.seeds.length;

/** Whether every cell of the selection table has all its seeds finished (stage 0 complete). */
export function selectionComplete(selection: readonly SelectionEntry[]): boolean {
  return selection.every(cellComplete);
}

/**
 * The gate in words, for the README, the report and the notebooks: its state, the cell that
 * opened it, and when stage 1 starts.
 */
export function gateSentence(selection: readonly SelectionEntry[]): string {
  const state = gateState(selection);
  const who = GATE_ALGOS.join(" or ");
  if (state === "blocked") {
    return `blocked: no cell brought ${who} above a final return of ${GATE_RETURN}, so stage 1 ` +
      "does not run";
  }
  if (state === "pending") {
    return `pending: no complete cell of ${who} is above a final return of ${GATE_RETURN} yet, ` +
      "and stage 0 is not complete";
  }
  const best = selection.filter((e) => cellComplete(e) && GATE_ALGOS.includes(e.algo))
    .reduce((a, e) => (e.score > a.score ? e : a));
  return `open: ${best.algo} at lr ${best.cell.lr}, time limit ${best.cell.timeLimit} reached a ` +
    `final return of ${best.score.toFixed(3)} (above ${GATE_RETURN}); ` +
    (selectionComplete(selection)
      ? "stage 1 runs at the selected settings"
      : "stage 1 starts once stage 0 has selected every algorithm's setting");
}

/** Each algorithm's selected cell, and null for one whose cells are not all finished. */
export function selectedCells(selection: readonly SelectionEntry[]): Record<AlgoId, Cell | null> {
  const out = Object.fromEntries(ALGO_IDS.map((a) => [a, null])) as Record<AlgoId, Cell | null>;
  for (const e of selection) if (e.selected) out[e.algo] = e.cell;
  return out;
}

/**
 * Each algorithm's leading cell so far: the one with the highest seed-averaged score among its
 * cells with a finished seed (the selected one once its cells are complete), null without any.
 */
export function leadingCells(selection: readonly SelectionEntry[]): Record<AlgoId, Cell | null> {
  const out = Object.fromEntries(ALGO_IDS.map((a) => [a, null])) as Record<AlgoId, Cell | null>;
  for (const algo of ALGO_IDS) {
    const es = selection.filter((e) => e.algo === algo && !Number.isNaN(e.score));
    const best = es.find((e) => e.selected) ??
      es.reduce<SelectionEntry | undefined>((a, e) => (!a || e.score > a.score ? e : a), undefined);
    out[algo] = best?.cell ?? null;
  }
  return out;
}

const sameCell = (a: Cell, b: Cell) => a.lr === b.lr && a.timeLimit === b.timeLimit;

/**
 * Each algorithm's leading stage-0 cell for the notebooks' curves: {@link leadingCells}; for an
 * algorithm without a finished run yet, the cell whose started runs score best so far (mean over
 * them of the mean of their last 10 logged returns), so that the first hours of the campaign
 * show something; null for an algorithm without a logged point.
 */
export function stage0Leaders(data: CampaignData): Record<AlgoId, Cell | null> {
  const out = leadingCells(campaignSelection(data));
  for (const algo of ALGO_IDS) {
    if (out[algo]) continue;
    let best: { cell: Cell; score: number } | null = null;
    for (const cell of STAGE0.cells) {
      const finals = data.runs.filter((r) =>
        r.stage === 0 && r.algo === algo && sameCell(r.cell, cell)
      )
        .map((r) => runFinal(r.points)).filter(Number.isFinite);
      if (finals.length === 0) continue;
      const score = finals.reduce((a, b) => a + b, 0) / finals.length;
      if (!best || score > best.score) best = { cell, score };
    }
    out[algo] = best?.cell ?? null;
  }
  return out;
}

/** The runs behind one set of curves, and where they come from. */
export interface CampaignCurves {
  /** "stage 1" (the panel's runs), "stage 0" (selection runs at each algorithm's leading cell, {@link stage0Leaders}), or "none". */
  source: "stage 1" | "stage 0" | "none";
  /** What they are, in words. */
  description: string;
  /** The runs. */
  runs: CampaignRun[];
}

function hasPoints(rs: readonly CampaignRun[]): boolean {
  return rs.some((r) => r.points.length > 0);
}

/** The stage-1 runs of a panel (possibly none). */
export function stage1Runs(data: CampaignData, figure: FigureId): CampaignRun[] {
  return data.runs.filter((r) => r.stage === 1 && r.figure === figure);
}

/**
 * The runs whose curves a panel's notebook shows: the panel's stage-1 runs when one has a logged
 * point; else (with `fallback`) the stage-0 runs at each algorithm's leading cell on Heaven-Hell-3;
 * else none.
 */
export function campaignCurves(
  data: CampaignData,
  figure: FigureId,
  fallback = true,
): CampaignCurves {
  const s1 = stage1Runs(data, figure);
  if (hasPoints(s1)) {
    return {
      source: "stage 1",
      description: `stage 1, Figure ${figure} (${FIGURES[figure].title}), seeds 0–${
        STAGE1.seeds - 1
      } at each algorithm's selected setting`,
      runs: s1,
    };
  }
  if (fallback) {
    const lead = stage0Leaders(data);
    const s0 = data.runs.filter((r) =>
      r.stage === 0 && lead[r.algo] && sameCell(r.cell, lead[r.algo]!)
    );
    if (hasPoints(s0)) {
      return {
        source: "stage 0",
        description: `stage 0 (selection on ${FIGURES[STAGE0.figure].title}, seeds ${
          STAGE0.seeds.join(" and ")
        }), each algorithm at its leading setting so far`,
        runs: s0,
      };
    }
  }
  return { source: "none", description: "no campaign run has logged a point yet", runs: [] };
}

/**
 * The input of `figure1Panel` (lib/plots) for a set of campaign runs; its runs keep every metric
 * (for `outcomeSharesFigure` and `evaluationFigure`).
 */
export function campaignPanelInput(
  curves: CampaignCurves,
  figure: FigureId,
): PanelInput & { runs: MetricRun[] } {
  const spec = FIGURES[curves.source === "stage 0" ? STAGE0.figure : figure];
  const seeds = new Set(curves.runs.map((r) => r.run.seed)).size;
  return {
    id: curves.source === "stage 0" ? undefined : figure,
    title: spec.title,
    subtitle: curves.source === "none"
      ? "paper protocol campaign: no run has logged a point yet"
      : `paper protocol campaign, ${curves.source}: ${seeds} seed${
        seeds === 1 ? "" : "s"
      }; mean ± 1 standard error over seeds`,
    reference: spec.reference,
    runs: curves.runs.map((r) => ({
      algo: r.algo,
      seed: r.run.seed,
      logEvery: Number(r.run.config.logEvery) || 1,
      finished: r.run.status === "finished",
      points: r.points,
    })),
  };
}

/** "1200000" → "1,200,000". */
function steps(n: number): string {
  return n.toLocaleString("en-US");
}

/** A cell in words. */
export function cellText(c: Cell): string {
  return `lr ${c.lr}, time limit ${c.timeLimit}`;
}

/**
 * Per algorithm, as table rows: its selected setting and the stage-1 seeds of the panel behind its
 * curve (finished "n/5", and the unfinished ones with their progress).
 */
export function seedsTable(data: CampaignData, figure: FigureId): Record<string, string>[] {
  const chosen = selectedCells(campaignSelection(data));
  const s1 = stage1Runs(data, figure);
  return ALGO_IDS.map((algo) => {
    const rs = s1.filter((r) => r.algo === algo);
    const done = rs.filter((r) => r.run.status === "finished").length;
    const open = rs.filter((r) => r.run.status !== "finished").map((r) =>
      `seed ${r.run.seed}: ${steps(runSteps(r))}/${steps(r.run.totalSteps)} steps (${r.run.status})`
    );
    const c = chosen[algo];
    return {
      algorithm: algo,
      "selected setting": c ? cellText(c) : "not selected yet (stage 0 unfinished)",
      "seeds finished": `${done}/${STAGE1.seeds}`,
      "unfinished runs": rs.length === 0 ? "not registered yet" : open.join("; ") || "none",
    };
  });
}

/**
 * Every started but unfinished campaign run (runs never started are counted by
 * {@link stageSummaries}), one line each: "stage 0, 1a, adqn, lr 0.0001, ..., seed 1000: ...".
 */
export function unfinishedRuns(data: CampaignData): string[] {
  return data.runs.filter((r) => r.run.status !== "finished" && r.run.attempts > 0).map((r) =>
    `stage ${r.stage}, ${r.figure}, ${r.algo}, ${cellText(r.cell)}, seed ${r.run.seed}: ` +
    `${steps(runSteps(r))}/${steps(r.run.totalSteps)} steps (${r.run.status}, ` +
    `${r.run.attempts} attempt${r.run.attempts === 1 ? "" : "s"})`
  );
}

/** Seconds as hours with one decimal: 5400 → "1.5 h". */
export function hours(seconds: number): string {
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** The progress of the stages as table rows (the notebooks' table, the README's). */
export function stageRows(stages: readonly StageSummary[]): Record<string, string>[] {
  return stages.map((s) => ({
    stage: s.stage === 0
      ? `0: selection on ${FIGURES[STAGE0.figure].title}`
      : `1: panels ${STAGE1.figures.join(", ")}`,
    "runs finished": `${s.finished}/${s.planned}`,
    running: String(s.status.running),
    "queued or not started": String(s.status.queued + (s.planned - s.registered)),
    failed: String(s.status.failed),
    "environment steps done": `${steps(s.envSteps)}/${steps(s.plannedSteps)}`,
    "training time (sum over runs)": hours(s.trainingSeconds),
    "first start": s.firstStart ?? "—",
    "last finished": s.lastEnd ?? "—",
  }));
}

/** The selection table (so far) as table rows; seeds read "finished/planned". */
export function selectionRows(table: readonly SelectionEntry[]): Record<string, string>[] {
  return table.map((e) => ({
    algorithm: e.algo,
    lr: String(e.cell.lr),
    "time limit": String(e.cell.timeLimit),
    "final return (seed mean)": Number.isNaN(e.score) ? "n/a" : e.score.toFixed(3),
    seeds: `${e.seeds}/${STAGE0.seeds.length}`,
    selected: e.selected ? "yes" : "",
  }));
}

/** Rows as a Markdown table (columns from the first row's keys). */
export function markdownTable(rows: readonly Record<string, string>[]): string {
  if (rows.length === 0) return "";
  const keys = Object.keys(rows[0]);
  return [
    `| ${keys.join(" | ")} |`,
    `|${keys.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${keys.map((k) => r[k]).join(" | ")} |`),
  ].join("\n");
}
