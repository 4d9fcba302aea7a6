/**
 * The Figure 1 campaign's stages as data (issue 16): stage 0's grid of learning rate × time limit
 * on Heaven-Hell-3 with selection-only seeds, the selection table and the gate, and stage 1's runs
 * at the selected settings; also as a {@link Preset} and for training elsewhere (a Slurm sweep).
 * Running them is campaign.ts's job.
 *
 * @example
 * ```ts
 * import { PLANNED_RUNS, stage0Grid } from "./campaign_stages.ts";
 * console.log(stage0Grid().length, PLANNED_RUNS); // 40 90
 * ```
 * @module
 */
import { existsSync } from "../files.ts";
import { ALGO_IDS, type AlgoId } from "../train/agent.ts";
import { ResultsDb } from "../results/db.ts";
import { finalPerformance } from "../results/stats.ts";
import { type FigureId, type Overrides, type Preset, PRESETS } from "./presets.ts";
import { buildGrid, type GridRun } from "./grid.ts";

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

/**
 * Settings every campaign run adds to the `paper` preset: a greedy evaluation (issue 16, item 5) of
 * 10 episodes every 50k environment steps, 40 per run, which changes no training number.
 */
export const CAMPAIGN_SETTINGS: Readonly<Overrides> = Object.freeze({
  evalEvery: 50_000,
  evalEpisodes: 10,
});

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

/**
 * Every run of stage 1 (50): each algorithm at its selected cell, panels 1a and 1b, seeds 0–4,
 * in seed order (then panel, then the gate's algorithms first). Workers claim runs by id and fill a
 * batch with the same configuration's next seeds, so every algorithm gets seeds 0 and 1 on both
 * panels within the first 20 runs: the verdicts, which need 2 seeds per algorithm and panel
 * (./campaign_verdicts.ts), can be given then, and firm up as the later seeds arrive.
 */
export function stage1Grid(chosen: Record<AlgoId, Cell>, budget: Overrides = {}): GridRun[] {
  const order = (r: GridRun) =>
    (r.seed * STAGE1.figures.length + STAGE1.figures.indexOf(r.figure)) * ALGO_IDS.length +
    STAGE0_ORDER.indexOf(r.algo);
  return stage1Runs(chosen, budget).sort((a, b) => order(a) - order(b));
}

function stage1Runs(chosen: Record<AlgoId, Cell>, budget: Overrides): GridRun[] {
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

/**
 * The runs of `stage` (exactly those the local campaign trains in that stage, same hashes) for
 * training outside the local campaign, e.g. as a Slurm job array: stage
 * 0's grid, or stage 1's at the settings selected by the finished stage-0 runs of `selectionDb` (a
 * database holding the campaign's stage 0, such as a cluster sweep's collected one, or
 * data/fig1-paper/results.sqlite). Stage 1 needs every stage-0 cell complete and the gate open,
 * as in the local campaign; otherwise this throws and says what is missing.
 */
export function campaignStageRuns(
  stage: CampaignStage,
  options: { selectionDb?: string; budget?: Overrides } = {},
): GridRun[] {
  if (stage === "stage0") return stage0Grid(options.budget);
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
  return stage1Grid(selected(table), options.budget);
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
