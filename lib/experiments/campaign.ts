/**
 * The Figure 1 campaign at the paper's protocol (issue 16): stage 0 selects, per algorithm, a
 * learning rate and an episode time limit on Heaven-Hell-3 with selection-only seeds; a gate
 * decides whether stage 1 (panels 1a and 1b at the selected settings, seeds 0–4) starts.
 *
 * Every run goes through {@link reproduce}: runs are keyed by configuration and seed, so rerunning
 * a stage only adds what is missing. The live database and the checkpoints live in a cache
 * directory outside the work tree. The background process (start, status, stop, snapshot) is in
 * campaign_process.ts; reading the campaign's data (stages, panels, verdicts) in campaign_data.ts,
 * publishing it (CSV files, README) in campaign_publish.ts.
 *
 * @example
 * ```ts ignore
 * import { campaignDir, runCampaign } from "./campaign.ts";
 * console.log(await runCampaign({ dir: campaignDir(), workers: 2 })); // "done", "blocked", ...
 * ```
 * @module
 */
import { existsSync } from "../files.ts";
import { ALGO_IDS, type AlgoId } from "../train/agent.ts";
import { ResultsDb } from "../results/db.ts";
import { finalPerformance } from "../results/stats.ts";
import { type FigureId, type Overrides, type Preset, PRESETS } from "./presets.ts";
import { reproduce, type WorkerCommand } from "./reproduce.ts";
import { buildGrid, type GridRun } from "./grid.ts";
import { ProgressView } from "./progress.ts";
import type { TrainerBackend } from "./runner.ts";

/** One cell of the stage-0 grid. */
export interface Cell {
  /** Learning rate. */
  lr: number;
  /** Episode time limit. */
  timeLimit: number;
}

/** The stage-0 grid. */
export interface Stage0 {
  /** Preset of every run. */
  preset: "paper";
  /** Panel (Heaven-Hell-3). */
  figure: FigureId;
  /** Cells: learning rate × time limit. */
  cells: readonly Cell[];
  /** Seeds kept for selection only. */
  seeds: readonly number[];
}

/** Stage 0 as data: the grid of issue 16, at the `paper` preset (reference defaults, 2M steps). */
export const STAGE0: Readonly<Stage0> = Object.freeze({
  preset: "paper" as const,
  figure: "1a" as FigureId,
  cells: [
    { lr: 1e-4, timeLimit: 1000 },
    { lr: 1e-4, timeLimit: 100 },
    { lr: 3e-4, timeLimit: 1000 },
    { lr: 3e-4, timeLimit: 100 },
  ] as readonly Cell[],
  /** Seeds kept for selection only. */
  seeds: [1000, 1001] as readonly number[],
});

/** Stage 1: panels 1a and 1b (Heaven-Hell-4 uses the setting selected on Heaven-Hell-3), seeds 0–4. */
export const STAGE1: Readonly<{ preset: "paper"; figures: readonly FigureId[]; seeds: number }> =
  Object.freeze({
    preset: "paper" as const,
    figures: ["1a", "1b"] as readonly FigureId[],
    seeds: 5,
  });

/** The gate: stage 1 starts only if some cell brings one of these above {@link GATE_RETURN}. */
export const GATE_ALGOS: readonly AlgoId[] = ["adqn", "adqn-vr"];
/** The gate's final average return. */
export const GATE_RETURN = 0.5;

/** Runs of stage 0: 40. */
export const PLANNED_STAGE0: number = ALGO_IDS.length * STAGE0.cells.length * STAGE0.seeds.length;
/** Runs the campaign plans: 40 in stage 0, 50 in stage 1. */
export const PLANNED_RUNS: number = PLANNED_STAGE0 +
  ALGO_IDS.length * STAGE1.figures.length * STAGE1.seeds;

/** The final performance of one finished stage-0 run. */
export interface CellRow {
  /** Algorithm. */
  algo: AlgoId;
  /** Cell. */
  cell: Cell;
  /** Seed. */
  seed: number;
  /** Mean of its last 10 logged average returns. */
  final: number;
}

/** One line of the selection table: a cell of one algorithm with its seed-averaged score. */
export interface SelectionEntry {
  /** Algorithm. */
  algo: AlgoId;
  /** Cell. */
  cell: Cell;
  /** Final performance averaged over the seeds. */
  score: number;
  /** Seeds behind the score. */
  seeds: number;
  /** Whether this cell is the algorithm's selection. */
  selected: boolean;
}

const cellKey = (c: Cell) => `${c.lr}/${c.timeLimit}`;

/**
 * The selection table: per algorithm and cell, the final performance averaged over the seeds; per
 * algorithm the best cell is selected (ties: the first in {@link STAGE0} order). Every cell must
 * have all its seeds (for a table while stage 0 runs, see {@link selectionProgress}).
 */
export function selectionTable(
  rows: readonly CellRow[],
  cells: readonly Cell[] = STAGE0.cells,
  seeds = STAGE0.seeds.length,
): SelectionEntry[] {
  const table = selectionProgress(rows, cells, seeds);
  const short = table.find((e) => e.seeds !== seeds);
  if (short) {
    throw new Error(
      `selection: ${short.algo} at lr ${short.cell.lr}, time limit ${short.cell.timeLimit} has ` +
        `${short.seeds} finished runs; expected ${seeds}`,
    );
  }
  return table;
}

/**
 * The selection table so far: per algorithm and cell, the final performance averaged over the
 * finished seeds (NaN without any), `seeds` saying how many. An algorithm's best cell is
 * `selected` only once every one of its cells has all `seeds` seeds; a cell whose score is not a
 * number never wins. With every seed of every cell, this is {@link selectionTable}.
 */
export function selectionProgress(
  rows: readonly CellRow[],
  cells: readonly Cell[] = STAGE0.cells,
  seeds = STAGE0.seeds.length,
): SelectionEntry[] {
  const out: SelectionEntry[] = [];
  for (const algo of ALGO_IDS) {
    const entries = cells.map((cell): SelectionEntry => {
      const rs = rows.filter((r) => r.algo === algo && cellKey(r.cell) === cellKey(cell));
      const score = rs.length ? rs.reduce((a, r) => a + r.final, 0) / rs.length : NaN;
      return { algo, cell, score, seeds: rs.length, selected: false };
    });
    const rank = (e: SelectionEntry) => Number.isNaN(e.score) ? -Infinity : e.score;
    let best = 0;
    entries.forEach((e, i) => rank(e) > rank(entries[best]) && (best = i));
    if (entries.every((e) => e.seeds === seeds)) entries[best].selected = true;
    out.push(...entries);
  }
  return out;
}

/** The gate: whether some cell brings ADQN or ADQN-VR above {@link GATE_RETURN} (seed average). */
export function gateOpen(table: readonly SelectionEntry[]): boolean {
  return table.some((e) => GATE_ALGOS.includes(e.algo) && e.score > GATE_RETURN);
}

/** The selected cell of every algorithm. */
export function selected(table: readonly SelectionEntry[]): Record<AlgoId, Cell> {
  const out = {} as Record<AlgoId, Cell>;
  for (const e of table) if (e.selected) out[e.algo] = e.cell;
  return out;
}

/**
 * A Markdown selection table; the seeds column reads "finished/planned" (`seeds`, default
 * {@link STAGE0}'s), a score without any finished seed "n/a".
 */
export function formatSelection(
  table: readonly SelectionEntry[],
  seeds = STAGE0.seeds.length,
): string {
  return [
    "| algorithm | lr | time limit | final return (seed mean) | seeds | selected |",
    "|---|---|---|---|---|---|",
    ...table.map((e) =>
      `| ${e.algo} | ${e.cell.lr} | ${e.cell.timeLimit} | ${
        Number.isNaN(e.score) ? "n/a" : e.score.toFixed(3)
      } | ${e.seeds}/${seeds} | ${e.selected ? "yes" : ""} |`
    ),
  ].join("\n");
}

/**
 * Final performance of one run (issue 16): the mean of its last 10 logged finite average returns;
 * NaN for a run without any.
 */
export function runFinal(points: readonly { avgReturn: number }[]): number {
  const values = points.map((m) => m.avgReturn).filter(Number.isFinite);
  return values.length > 0 ? finalPerformance(values) : NaN;
}

/** Finished stage-0 runs of the database as {@link CellRow}s (runs with a selection seed). */
export function stage0Rows(db: ResultsDb): CellRow[] {
  const runs = db.listRuns({ status: "finished" }).filter((r) =>
    STAGE0.seeds.includes(r.seed) && r.label === `${STAGE0.preset}:${STAGE0.figure}`
  );
  const metrics = db.metricsOf(runs.map((r) => r.id));
  return runs.map((r) => ({
    algo: r.algo as AlgoId,
    cell: { lr: Number(r.config.lr), timeLimit: Number(r.config.timeLimit) },
    seed: r.seed,
    final: runFinal(metrics.get(r.id) ?? []),
  }));
}

/** The paths of a campaign directory. */
export interface CampaignFiles {
  /** Live results database. */
  db: string;
  /** Checkpoint directory. */
  checkpoints: string;
  /** Figures written by reproduce. */
  out: string;
  /** Pidfile of the background process. */
  pid: string;
  /** Log of the background process. */
  log: string;
  /** Start record (time, steps) for the rate. */
  state: string;
}

/** The campaign's files inside its directory. */
export function campaignFiles(dir: string): CampaignFiles {
  return {
    db: `${dir}/campaign.sqlite`,
    checkpoints: `${dir}/checkpoints`,
    out: `${dir}/out`,
    pid: `${dir}/campaign.pid`,
    log: `${dir}/campaign.log`,
    state: `${dir}/campaign.json`,
  };
}

/**
 * The committed snapshot of a checkout (data/fig1-paper/results.sqlite beside this code), or null
 * when this module is not loaded from files.
 */
export function committedSnapshot(): string | null {
  const url = new URL("../../data/fig1-paper/results.sqlite", import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : null;
}

/**
 * On a machine without the campaign's live database (a new machine, or a lost cache), start from the
 * committed snapshot instead of from nothing, so that finished runs are never redone: copy it in as
 * the live database and set aside any checkpoints left in the directory (they may be newer than the
 * snapshot's points, which would resume a run with a gap), so that unfinished runs start over
 * cleanly (their old points replaced, attempts counted, once their stale leases time out).
 * Returns what it did, or null when there was nothing to do.
 */
export function restoreFromSnapshot(
  dir: string,
  snapshot: string | null = committedSnapshot(),
): { finished: number; unfinished: number; setAside: number } | null {
  const f = campaignFiles(dir);
  if (existsSync(f.db) || snapshot === null || !existsSync(snapshot)) return null;
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${f.db}.restore-${Deno.pid}`;
  Deno.copyFileSync(snapshot, tmp);
  Deno.renameSync(tmp, f.db);
  let setAside = 0;
  if (existsSync(f.checkpoints)) {
    const aside = `${f.checkpoints}.before-restore-${Date.now()}`;
    setAside = [...Deno.readDirSync(f.checkpoints)].length;
    Deno.renameSync(f.checkpoints, aside);
  }
  const db = ResultsDb.open(f.db);
  try {
    const runs = db.listRuns();
    const finished = runs.filter((r) => r.status === "finished").length;
    return { finished, unfinished: runs.length - finished, setAside };
  } finally {
    db.close();
  }
}

/**
 * The campaign directory: `ADQN_CAMPAIGN_DIR`, else `$XDG_CACHE_HOME/adqn/fig1-paper`, else
 * `~/.cache/adqn/fig1-paper` (outside the work tree, so a fresh checkout does not erase it).
 */
export function campaignDir(): string {
  const env = Deno.env.get("ADQN_CAMPAIGN_DIR");
  if (env) return env;
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  return `${cache}/adqn/fig1-paper`;
}

/** Options of {@link runCampaign}. */
export interface RunCampaignOptions {
  /** Campaign directory. */
  dir: string;
  /** Parallel workers (default 2). */
  workers?: number;
  /**
   * Tensor backend of the workers (default `wasm-blas`, never `auto`: a machine without OpenBLAS
   * must fail rather than train some runs with other numbers).
   */
  backend?: TrainerBackend;
  /** Extra overrides for every run: for tests only (a tiny budget); they change the runs' hashes. */
  budget?: Overrides;
  /** How to start a worker (tests: the fake trainer). */
  workerCommand?: WorkerCommand;
  /**
   * The snapshot to start from when the directory has no database (default the checkout's
   * committed one, {@link committedSnapshot}; null: start empty). See {@link restoreFromSnapshot}.
   */
  snapshot?: string | null;
  /** Stop cleanly. */
  signal?: AbortSignal;
  /** Where lines go (default console.log). */
  print?(line: string): void;
  /** Called once the database is in place (restored or live), before any run trains. */
  onReady?(): void;
}

/** How a campaign run ended. */
export type CampaignOutcome = "done" | "blocked" | "stopped" | "failed";

/**
 * Settings every campaign run adds to the `paper` preset: a greedy evaluation (issue 16, item 5) of
 * 10 episodes every 50k environment steps, 40 per run, which changes no training number.
 */
export const CAMPAIGN_SETTINGS: Readonly<Overrides> = Object.freeze({
  evalEvery: 50_000,
  evalEpisodes: 10,
});

/** The campaign's tensor backend, whose numerics fingerprint (tests/train) its runs rely on. */
export const CAMPAIGN_BACKEND: TrainerBackend = "wasm-blas";

/**
 * The OpenBLAS kernels of every campaign run (`OPENBLAS_CORETYPE`): products round differently per
 * kernel, and a campaign that moves to another machine must go on with the same numbers. Haswell
 * runs on every x86-64 CPU with AVX2 and is what the committed fingerprints were made with.
 */
export const CAMPAIGN_BLAS_KERNELS = "Haswell";

/**
 * Make the workers' OpenBLAS run {@link CAMPAIGN_BLAS_KERNELS}: set `OPENBLAS_CORETYPE` for this
 * process and its children when unset; throw, naming both, when it is set to other kernels.
 */
export function pinCampaignKernels(env: Pick<typeof Deno.env, "get" | "set"> = Deno.env): void {
  const set = env.get("OPENBLAS_CORETYPE");
  if (set === undefined || set === "") env.set("OPENBLAS_CORETYPE", CAMPAIGN_BLAS_KERNELS);
  else if (set.toLowerCase() !== CAMPAIGN_BLAS_KERNELS.toLowerCase()) {
    throw new Error(
      `OPENBLAS_CORETYPE is ${set}, but the campaign's runs train on OpenBLAS's ` +
        `${CAMPAIGN_BLAS_KERNELS} kernels (other kernels round differently); unset it or set it ` +
        `to ${CAMPAIGN_BLAS_KERNELS}`,
    );
  }
}

/** Stage 0 trains the gate's algorithms first, so that the gate's evidence comes soonest. */
const STAGE0_ORDER: readonly AlgoId[] = [
  ...GATE_ALGOS,
  ...ALGO_IDS.filter((a) => !GATE_ALGOS.includes(a)),
];

/** Every run of stage 0 (40 with the default budget), the gate's algorithms first. */
export function stage0Grid(budget: Overrides = {}): GridRun[] {
  return STAGE0_ORDER.flatMap((algo) =>
    STAGE0.cells.flatMap((cell) =>
      buildGrid({
        figures: [STAGE0.figure],
        preset: STAGE0.preset,
        seedList: STAGE0.seeds,
        algos: [algo],
        extra: { ...CAMPAIGN_SETTINGS, ...budget, lr: cell.lr, timeLimit: cell.timeLimit },
      })
    )
  );
}

/** Every run of stage 1 (50): each algorithm at its selected cell, panels 1a and 1b, seeds 0–4. */
export function stage1Grid(chosen: Record<AlgoId, Cell>, budget: Overrides = {}): GridRun[] {
  return ALGO_IDS.flatMap((algo) =>
    buildGrid({
      figures: STAGE1.figures,
      preset: STAGE1.preset,
      seeds: STAGE1.seeds,
      algos: [algo],
      extra: {
        ...CAMPAIGN_SETTINGS,
        ...budget,
        lr: chosen[algo].lr,
        timeLimit: chosen[algo].timeLimit,
      },
    })
  );
}

/** The stages of the campaign that can be trained elsewhere (a Slurm sweep, lib/cluster/sweep.ts). */
export const CAMPAIGN_STAGES = ["stage0", "stage1"] as const;

/** One of {@link CAMPAIGN_STAGES}. */
export type CampaignStage = typeof CAMPAIGN_STAGES[number];

/** Throw a clear error unless `stage` names a campaign stage. */
export function checkCampaignStage(stage: string): CampaignStage {
  if (!(CAMPAIGN_STAGES as readonly string[]).includes(stage)) {
    throw new Error(
      `unknown campaign stage ${JSON.stringify(stage)}; expected ${CAMPAIGN_STAGES.join(" or ")}`,
    );
  }
  return stage as CampaignStage;
}

/** The runs of one campaign stage, and for stage 1 the selection they come from. */
export interface StageRuns {
  /** The runs, exactly those the local campaign trains in that stage (same hashes). */
  grid: GridRun[];
  /** Stage 1: the complete stage-0 selection table read from the selection database. */
  selection?: SelectionEntry[];
}

/**
 * The runs of `stage` for training outside {@link runCampaign}, e.g. as a Slurm job array: stage
 * 0's grid, or stage 1's at the settings selected by the finished stage-0 runs of `selectionDb` (a
 * database holding the campaign's stage 0, such as a cluster sweep's collected one, or
 * data/fig1-paper/results.sqlite). Stage 1 needs every stage-0 cell complete and the gate open,
 * as in the local campaign; otherwise this throws and says what is missing.
 */
export function campaignStageRuns(
  stage: CampaignStage,
  options: { selectionDb?: string; budget?: Overrides } = {},
): StageRuns {
  if (stage === "stage0") return { grid: stage0Grid(options.budget) };
  const path = options.selectionDb;
  if (path === undefined) {
    throw new Error(
      "stage 1 needs the database that holds stage 0's finished runs, to read the selection from",
    );
  }
  if (!existsSync(path)) throw new Error(`selection database ${path} does not exist`);
  const db = ResultsDb.open(path, { readOnly: true });
  let rows: CellRow[];
  try {
    rows = stage0Rows(db);
  } finally {
    db.close();
  }
  let table: SelectionEntry[];
  try {
    table = selectionTable(rows);
  } catch (e) {
    throw new Error(
      `stage 0 in ${path} is not complete (${rows.length}/${PLANNED_STAGE0} runs finished): ` +
        (e as Error).message.replace(/^selection: /, ""),
    );
  }
  if (!gateOpen(table)) {
    throw new Error(
      `the gate is closed in ${path}: no stage-0 cell brings ${GATE_ALGOS.join(" or ")} above ` +
        `${GATE_RETURN}, so stage 1 does not start (issue 16)`,
    );
  }
  return { grid: stage1Grid(selected(table), options.budget), selection: table };
}

/**
 * The preset that stage 1 trains, as a {@link Preset}: the `paper` preset plus
 * {@link CAMPAIGN_SETTINGS}, with each algorithm's selected learning rate and time limit as its
 * `algos` overrides, seeds 0–4. Its resolved runs are {@link stage1Grid}'s, configuration for
 * configuration (tested). Once stage 0 is complete, this is what becomes the named preset in
 * presets.ts, beside its selection table.
 *
 * @example
 * ```ts
 * import { selectedPreset, STAGE0 } from "./campaign.ts";
 * const cell = STAGE0.cells[1];
 * const p = selectedPreset({ dqn: cell, adqn: cell, "adqn-vr": cell, "adqn-state": cell, "adqn-state-vr": cell });
 * console.log(p.algos.adqn); // { lr: 0.0001, timeLimit: 100 }
 * ```
 */
export function selectedPreset(chosen: Record<AlgoId, Cell>, id = "paper-selected"): Preset {
  const paper = PRESETS[STAGE1.preset];
  return {
    id,
    description:
      "the paper's protocol at the learning rate and time limit stage 0 of the campaign selected " +
      "per algorithm on Heaven-Hell-3, with a greedy evaluation every 50k steps",
    seeds: STAGE1.seeds,
    provisional: false,
    settings: { ...paper.settings, ...CAMPAIGN_SETTINGS },
    figures: { ...paper.figures },
    algos: Object.fromEntries(
      ALGO_IDS.map((
        a,
      ) => [a, { ...paper.algos[a], lr: chosen[a].lr, timeLimit: chosen[a].timeLimit }]),
    ),
  };
}

/** The campaign in the foreground: stage 0, the gate, the selection, stage 1. */
export async function runCampaign(o: RunCampaignOptions): Promise<CampaignOutcome> {
  const print = o.print ?? ((l: string) => console.log(l));
  const f = campaignFiles(o.dir);
  if ((o.backend ?? CAMPAIGN_BACKEND).endsWith("-blas")) pinCampaignKernels();
  const restored = restoreFromSnapshot(o.dir, o.snapshot); // undefined: the committed one
  if (restored !== null) {
    print(
      `no live database in ${o.dir}: started from the committed snapshot (${restored.finished} ` +
        `finished runs kept, ${restored.unfinished} unfinished start over` +
        (restored.setAside > 0 ? `; ${restored.setAside} old checkpoints set aside` : "") + ")",
    );
  }
  Deno.mkdirSync(f.checkpoints, { recursive: true });
  o.onReady?.();
  const common = {
    preset: "paper" as const,
    workers: o.workers ?? 2,
    backend: o.backend ?? CAMPAIGN_BACKEND,
    dbPath: f.db,
    outDir: f.out,
    checkpointDir: f.checkpoints,
    png: false,
    workerCommand: o.workerCommand,
    signal: o.signal,
    view: new ProgressView({ tty: false }),
    print,
  };
  const ended = (code: number): CampaignOutcome | null =>
    code === 130 ? "stopped" : code !== 0 ? "failed" : null;
  print(
    `stage 0: ${STAGE0.cells.length} cells × ${ALGO_IDS.length} algorithms × ${STAGE0.seeds.length} seeds`,
  );
  const end0 = ended(
    (await reproduce({ ...common, figures: [STAGE0.figure], grid: stage0Grid(o.budget) })).exitCode,
  );
  if (end0) return end0;
  const db = ResultsDb.open(f.db);
  let table: SelectionEntry[];
  try {
    table = selectionTable(stage0Rows(db));
  } finally {
    db.close();
  }
  print(formatSelection(table));
  if (!gateOpen(table)) {
    print(`blocked: no cell brings ADQN or ADQN-VR above ${GATE_RETURN}; stage 1 not started`);
    return "blocked";
  }
  const chosen = selected(table);
  for (const algo of ALGO_IDS) {
    print(`stage 1: ${algo} at lr ${chosen[algo].lr}, time limit ${chosen[algo].timeLimit}`);
  }
  const grid1 = stage1Grid(chosen, o.budget);
  const end1 = ended(
    (await reproduce({ ...common, figures: STAGE1.figures, grid: grid1 })).exitCode,
  );
  if (end1) return end1;
  return "done";
}
