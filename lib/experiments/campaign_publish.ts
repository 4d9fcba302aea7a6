/**
 * The campaign's published raw data (issue 16, item 8): beside the committed snapshot of its
 * database (`data/fig1-paper/results.sqlite`), per-seed CSV files per panel (stage 0's
 * Heaven-Hell-3 selection runs in their own file), the selection table as CSV, and a README made
 * from the database: what the campaign is, the commands, the code version, backend and machine of
 * the runs, their progress per stage and their wall time.
 *
 * Everything is computed from the database alone (no clock, no git, no host), so publishing the
 * same database twice writes the same bytes.
 *
 * @example
 * ```ts ignore
 * import { publishCampaign } from "./campaign_publish.ts";
 * console.log(publishCampaign("data/fig1-paper/results.sqlite")); // the files written
 * ```
 * @module
 */
import { basename, dirname, join } from "node:path";
import { existsSync } from "../files.ts";
import { METRIC_FIELD_COLUMNS, metricFields, toCsv } from "../results/csv.ts";
import type { RunRecord } from "../results/db.ts";
import { ALGO_IDS } from "../train/agent.ts";
import { FIGURES } from "./presets.ts";
import {
  CAMPAIGN_SETTINGS,
  formatSelection,
  GATE_ALGOS,
  GATE_RETURN,
  type SelectionEntry,
  STAGE0,
  STAGE1,
} from "./campaign_stages.ts";
import {
  type CampaignData,
  type CampaignRun,
  campaignSelection,
  type Counted,
  gateSentence,
  loadCampaignFile,
  markdownTable,
  PROTOCOL_STEPS,
  selectionComplete,
  stageRows,
  stageSummaries,
  unfinishedRuns,
} from "./campaign_data.ts";

/** The files written beside the database, by what they hold. */
export const PUBLISHED_FILES = Object.freeze({
  readme: "README.md",
  /** Stage 0: the selection runs on Heaven-Hell-3 (seeds 1000, 1001). */
  selectionRuns: "selection-hh3.csv",
  /** Stage 1, panel 1a (Heaven-Hell-3, seeds 0–4). */
  fig1a: "fig1a.csv",
  /** Stage 1, panel 1b (Heaven-Hell-4, seeds 0–4). */
  fig1b: "fig1b.csv",
  /** The selection table (so far). */
  selection: "selection.csv",
});

/** Columns of {@link runsCsv}: the run's identity, then every metric column of a point. */
export const CAMPAIGN_CSV_COLUMNS: readonly string[] = [
  "stage",
  "figure",
  "env",
  "algo",
  "lr",
  "time_limit",
  "seed",
  "run_id",
  "config_hash",
  "status",
  "total_steps",
  ...METRIC_FIELD_COLUMNS,
];

/** Per-seed CSV of campaign runs: one line per logged point (RFC 4180, CRLF). */
export function runsCsv(runs: readonly CampaignRun[]): string {
  const rows = runs.flatMap((r) =>
    r.points.map((p) => [
      r.stage,
      r.figure,
      r.run.env,
      r.algo,
      r.cell.lr,
      r.cell.timeLimit,
      r.run.seed,
      r.run.id,
      r.run.hash,
      r.run.status,
      r.run.totalSteps,
      ...metricFields(p),
    ])
  );
  return toCsv(CAMPAIGN_CSV_COLUMNS, rows);
}

/** Columns of {@link selectionCsv}. */
export const SELECTION_CSV_COLUMNS: readonly string[] = [
  "algo",
  "lr",
  "time_limit",
  "final_return_seed_mean",
  "seeds_finished",
  "seeds_planned",
  "selected",
];

/** The selection table (so far) as CSV; a score without any finished seed is empty. */
export function selectionCsv(table: readonly SelectionEntry[]): string {
  return toCsv(
    SELECTION_CSV_COLUMNS,
    table.map((e) => [
      e.algo,
      e.cell.lr,
      e.cell.timeLimit,
      e.score,
      e.seeds,
      STAGE0.seeds.length,
      e.selected ? "yes" : "no",
    ]),
  );
}

/** 1234567 → "1,234,567". */
function n(x: number): string {
  return x.toLocaleString("en-US");
}

function countedText(cs: readonly Counted[], unknown: string): string {
  if (cs.length === 0) return "none yet (no run started)";
  return cs.map((c) => `${c.value || unknown} (${c.runs} run${c.runs === 1 ? "" : "s"})`)
    .join("; ");
}

/**
 * The budget lines: every run of the database (stage or not) without the protocol's 2M steps is
 * named by label and steps; runs outside the stages are listed too.
 */
function budgetLines(data: CampaignData): string[] {
  const all = [...data.runs.map((r) => r.run), ...data.others];
  const byLabel = (runs: readonly RunRecord[]) => {
    const m = new Map<string, number[]>();
    for (const r of runs) {
      const key = r.label || "(no label)";
      m.set(key, [...(m.get(key) ?? []), r.totalSteps]);
    }
    return [...m].sort(([a], [b]) => a.localeCompare(b)).map(([label, s]) =>
      `- ${label}: ${s.length} run${s.length === 1 ? "" : "s"} of ${
        [...new Set(s)].sort((a, b) => a - b).map(n).join(", ")
      } steps`
    );
  };
  const reduced = all.filter((r) => r.totalSteps !== PROTOCOL_STEPS);
  const lines = reduced.length === 0
    ? [`Every run has the protocol's budget: ${n(PROTOCOL_STEPS)} environment steps.`]
    : [
      `**Reduced budget**: ${reduced.length} of ${all.length} runs do not have the protocol's ` +
      `${n(PROTOCOL_STEPS)} environment steps; they are not the paper's protocol:`,
      "",
      ...byLabel(reduced),
    ];
  if (data.others.length > 0) {
    lines.push(
      "",
      `Runs in the database outside the two stages (not counted above): ${data.others.length}`,
      "",
      ...byLabel(data.others),
    );
  }
  return lines;
}

/** The README of the published folder, from the database's contents only. */
export function campaignReadme(data: CampaignData, dbFile = "results.sqlite"): string {
  const stages = stageSummaries(data);
  const table = campaignSelection(data);
  const open = unfinishedRuns(data);
  const f = PUBLISHED_FILES;
  const settings = Object.entries(CAMPAIGN_SETTINGS).map(([k, v]) => `${k} ${n(Number(v))}`)
    .join(", ");
  const lines = [
    "# Figure 1 at the paper's protocol: the campaign's raw data",
    "",
    `Generated from \`${dbFile}\` by \`deno task campaign snapshot\` (or \`deno task campaign ` +
    `publish\` for an existing snapshot); do not edit by hand. Every number below comes from ` +
    `that database, which is a consistent snapshot of the campaign's live database (finished ` +
    `runs and the logged points of unfinished ones; never checkpoints).`,
    "",
    "## What the campaign is",
    "",
    `The runs behind panels 1a (Heaven-Hell-3) and 1b (Heaven-Hell-4) of the paper's Figure 1, ` +
    `at the paper's protocol (the \`paper\` preset: the reference implementation's defaults, ` +
    `${n(PROTOCOL_STEPS)} environment steps per run), with the paper's hyper-parameter ` +
    `selection done in the open:`,
    "",
    `- **Stage 0** (${stages[0].planned} runs): on ${FIGURES[STAGE0.figure].title}, each of the ` +
    `${ALGO_IDS.length} algorithms on the grid learning rate ∈ {${
      [...new Set(STAGE0.cells.map((c) => c.lr))].join(", ")
    }} × episode time limit ∈ {${
      [...new Set(STAGE0.cells.map((c) => c.timeLimit))].join(", ")
    }}, with the selection-only seeds ${STAGE0.seeds.join(" and ")}. Each algorithm's ` +
    `setting is the cell with the best final performance (mean of the last 10 logged average ` +
    `returns, averaged over the seeds).`,
    `- **Gate**: stage 1 starts only if some cell brings ${GATE_ALGOS.join(" or ")} above a ` +
    `final average return of ${GATE_RETURN}.`,
    `- **Stage 1** (${stages[1].planned} runs): panels 1a and 1b, each algorithm at its selected ` +
    `setting, seeds 0–${STAGE1.seeds - 1}, in seed order (seeds 0 and 1 of every algorithm on ` +
    `both panels first, so that verdicts come early). Heaven-Hell-4 uses the setting selected on ` +
    `Heaven-Hell-3.`,
    "",
    `Every run also records, per logged point, the shares of the last 100 episodes that ended ` +
    `with a positive final reward (heaven), a negative one (hell), a zero one, or by the time ` +
    `limit, their mean length, and a greedy evaluation (${settings}) that changes no training ` +
    `number.`,
    "",
    "## Commands",
    "",
    "From the repository root:",
    "",
    "```sh",
    "deno task campaign start      # start (or resume) in the background at low priority",
    "deno task campaign status     # runs done, running and left; steps, rate, finish; each run in training",
    "deno task campaign stop       # every run checkpoints, then the process exits",
    "deno task campaign snapshot   # snapshot the live database here and rewrite these files",
    "deno task campaign report     # the selection table, the gate and the verdicts",
    "```",
    "",
    "The live database and the checkpoints live outside the work tree, in `$ADQN_CAMPAIGN_DIR`, " +
    "else `~/.cache/adqn/fig1-paper`. On a machine without the checkpoints, finished runs are " +
    "never redone and unfinished ones start over.",
    "",
    "The notebooks `notebooks/figure_1a.ipynb` and `notebooks/figure_1b.ipynb` draw these data: " +
    "the selection table with a learning curve per algorithm and cell of the grid, the panels " +
    "once stage 1 has points, how the episodes ended, the greedy evaluation, and the verdicts.",
    "",
    "## Progress",
    "",
    markdownTable(stageRows(stages)),
    "",
    "Training time is the sum of the runs' own training wall-clock times (runs train in " +
    "parallel, so the campaign takes less); the first start and last finish span the pauses " +
    "between working sessions.",
    "",
    `Gate: ${gateSentence(table)}.`,
    "",
    "## Code, backend and machine of the runs",
    "",
    ...stages.flatMap((s) => [
      `Stage ${s.stage}:`,
      "",
      `- code version (git commit of the runs' last claims): ${
        countedText(s.codeVersions, "unknown")
      }`,
      `- backend: ${countedText(s.backends, "not recorded")}`,
      `- machine: ${countedText(s.machines, "not recorded")}`,
      "",
    ]),
    "## Budget",
    "",
    ...budgetLines(data),
    "",
    "## Selection table (stage 0)",
    "",
    !selectionComplete(table)
      ? "Stage 0 is not complete: scores average the finished seeds so far (seeds column: " +
        "finished/planned), and an algorithm's setting is selected once all its cells are complete."
      : "Stage 0 is complete.",
    "",
    formatSelection(table),
    "",
    "## Unfinished runs",
    "",
    ...(open.length ? open.map((l) => `- ${l}`) : ["None."]),
    "",
    "## Files",
    "",
    `- \`${dbFile}\`: the results database (SQLite; schema in lib/results/schema.ts).`,
    `- \`${f.selectionRuns}\`: stage 0, the selection runs on Heaven-Hell-3.`,
    `- \`${f.fig1a}\`, \`${f.fig1b}\`: stage 1, panels 1a and 1b.`,
    `- \`${f.selection}\`: the selection table above.`,
    "",
    `The per-seed files have one line per logged point of every run (finished or not; its ` +
    `\`status\` says which) with the columns ${
      CAMPAIGN_CSV_COLUMNS.map((c) => `\`${c}\``).join(", ")
    }. Empty fields are values not defined at that point (no episode finished yet; no greedy ` +
    `evaluation at that step). The shares are of the last 100 episodes (\`share_positive\`: ` +
    `heaven, \`share_negative\`: hell, \`share_truncated\`: time limit); \`eval_return\` and ` +
    `\`eval_length\` are the greedy evaluation's.`,
    "",
  ];
  return lines.join("\n");
}

/**
 * Write the published files beside the database at `dbPath` (see {@link PUBLISHED_FILES});
 * returns their paths. The same database gives the same bytes.
 */
export function publishCampaign(dbPath: string): string[] {
  if (!existsSync(dbPath)) {
    throw new Error(
      `no campaign snapshot ${dbPath}; make one with \`deno task campaign snapshot\``,
    );
  }
  const data = loadCampaignFile(dbPath);
  const dir = dirname(dbPath);
  const f = PUBLISHED_FILES;
  const files: [string, string][] = [
    [f.readme, campaignReadme(data, basename(dbPath))],
    [f.selectionRuns, runsCsv(data.runs.filter((r) => r.stage === 0))],
    [f.fig1a, runsCsv(data.runs.filter((r) => r.stage === 1 && r.figure === "1a"))],
    [f.fig1b, runsCsv(data.runs.filter((r) => r.stage === 1 && r.figure === "1b"))],
    [f.selection, selectionCsv(campaignSelection(data))],
  ];
  return files.map(([name, text]) => {
    const path = join(dir, name);
    Deno.writeTextFileSync(path, text);
    return path;
  });
}
