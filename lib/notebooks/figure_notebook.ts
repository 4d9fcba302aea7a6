/**
 * The generator of the Figure 1 notebooks: one template
 * (`figure_notebook.template.txt`, next to this file) and the per-panel text below make
 * `notebooks/figure_1a.ipynb` ... `figure_1e.ipynb`, so that the five notebooks never drift apart.
 *
 * Run it after editing the template or the panel text, then execute the notebooks:
 *
 * ```sh
 * deno run -A lib/notebooks/figure_notebook.ts          # rewrite the notebooks whose sources changed
 * deno run -A lib/notebooks/figure_notebook.ts --check  # exit 1 when a committed notebook is stale
 * deno task notebooks notebooks/figure_1*.ipynb         # execute them and save their outputs
 * ```
 *
 * Rewritten notebooks have no outputs until they are executed; unchanged ones are left alone.
 *
 * @example Build Figure 1c's notebook in memory
 * ```ts
 * import { renderFigureNotebook } from "./figure_notebook.ts";
 * const nb = await renderFigureNotebook("1c");
 * console.log(nb.cells.map((c) => c.id).join(" ")); // title claim setup figure-md figure ...
 * ```
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FIGURE_IDS, type FigureId, FIGURES } from "../experiments/presets.ts";
import { FIGURE_CLAIMS } from "./figure_report.ts";
import { CAMPAIGN_SETTINGS, GATE_RETURN, STAGE0, STAGE1 } from "../experiments/campaign_stages.ts";
import { MIN_VERDICT_SEEDS } from "../experiments/campaign_verdicts.ts";
import { OPTIMAL_LEVEL } from "../experiments/verdicts.ts";
import { checkoutPath } from "../checkout.ts";
import { joinText, type Notebook, type NotebookCell, readNotebook } from "./runner.ts";

/** Path of the template the notebooks are made from (needs a checkout of the repository). */
export function figureNotebookTemplate(): string {
  return checkoutPath(
    new URL("./figure_notebook.template.txt", import.meta.url),
    "the figure notebook generator",
  );
}

/** Folder of the repository's notebooks (needs a checkout of the repository). */
export function notebookDir(): string {
  return checkoutPath(new URL("../../notebooks", import.meta.url), "the figure notebook generator");
}

/**
 * The ids of the cells of the figure notebooks without a campaign (1c, 1d, 1e), in order
 * (markdown and code); see {@link figureNotebookCells} for 1a and 1b.
 */
export const FIGURE_NOTEBOOK_CELLS: readonly string[] = [
  "title",
  "claim",
  "setup",
  "figure-md",
  "figure",
  "table-md",
  "table",
  "verdict-md",
  "verdict",
  "rerun-md",
  "rerun",
  "rerun-figure",
];

/** The panels whose notebooks also show the paper-protocol campaign (lib/experiments/campaign_stages.ts). */
export const CAMPAIGN_FIGURES: readonly FigureId[] = ["1a", "1b"];

/** The cells the campaign's panels add after "setup" and after "figure", in order. */
export const CAMPAIGN_NOTEBOOK_CELLS: Readonly<{ afterSetup: string[]; afterFigure: string[] }> =
  Object.freeze({
    afterSetup: ["campaign-md", "campaign"],
    afterFigure: [
      "selection-md",
      "selection",
      "outcomes-md",
      "outcomes",
      "evaluation-md",
      "evaluation",
      "campaign-verdict-md",
      "campaign-verdict",
    ],
  });

/** The ids of the cells of one panel's notebook, in order. */
export function figureNotebookCells(figure: FigureId): string[] {
  if (!CAMPAIGN_FIGURES.includes(figure)) return [...FIGURE_NOTEBOOK_CELLS];
  return FIGURE_NOTEBOOK_CELLS.flatMap((id) =>
    id === "setup"
      ? [id, ...CAMPAIGN_NOTEBOOK_CELLS.afterSetup]
      : id === "figure"
      ? [id, ...CAMPAIGN_NOTEBOOK_CELLS.afterFigure]
      : [id]
  );
}

/** What differs between the panels' notebooks besides the panel id. */
export interface FigurePanelText {
  /** The environment's name in the paper. */
  title: string;
  /** One paragraph on the environment (markdown). */
  environment: string;
  /** Verbatim quotes of section 5.1 about this panel (markdown, one paragraph each). */
  quotes: readonly string[];
  /** The claims in one plain sentence (markdown). */
  summary: string;
  /** Environment steps per run of the notebook's from-scratch rerun (kept tiny for CI). */
  rerunSteps: number;
}

const ACROSS =
  "Across the board, **ADQN** and **ADQN-VR** outperform all baselines in final performance, " +
  "convergence speed, and/or overall learning stability.";
const STARK = "The contrast between methods is particularly stark in Figures 1a and 1b, where " +
  "**ADQN** and **ADQN-VR** are not just the only methods that demonstrate any substantial " +
  "improvement, but are also able to reach optimal performance.";
const STATE_ONLY = "On the other hand, the state-only variants fail to outperform even the " +
  "**DQN** baseline in most environments (with a single exception discussed later), which " +
  "further confirms the theoretical issues that have been recently associated with state-only " +
  "forms of asymmetry.";
const VR = "Broadly, the variance-reduced variants **ADQN-VR** and **ADQN-State-VR** only differ " +
  "in relatively minor ways from their default counterparts. Such differences can be found in " +
  "Figures 1a and 1d, where **ADQN** is more stable or has better convergence properties than " +
  "**ADQN-State-VR**, and in Figures 1c and 1d, where **ADQN-State-VR** has better final " +
  "convergence values than **ADQN-State**.";
const MEMORY = "In Figure 1e too, **ADQN** and **ADQN-VR** outperform all other baselines. " +
  "However, these results also represent an interesting exception to some of the above " +
  "analysis, e.g., **ADQN-State** outperforms **DQN** and **ADQN-VR** outperforms **ADQN**. To " +
  "explain this, we note that this is the only task not reliably solved by any of the methods, " +
  "which is likely due to the highly dynamic nature of the randomly generated map and object " +
  "locations.";

function heavenHell(n: 3 | 4): FigurePanelText {
  return {
    title: `Heaven-Hell-${n}`,
    environment: `**Heaven-Hell-${n}** [Bonet, 1998] is one of the paper's "corridor ` +
      `environments where the agent must reach the exit to *heaven* and avoid the exit to *hell*, ` +
      `but must first backtrack to visit a *priest* to learn which exit is which" (section 5)` +
      (n === 4 ? ", with longer corridors than Heaven-Hell-3" : "") +
      `. Acting in heaven's end cell pays +1 and ends the episode, hell's pays −1; the agent ` +
      `observes only the cell it is in, so the optimal undiscounted return, 1, needs the detour ` +
      `to the priest and a memory of what he said.`,
    quotes: [ACROSS, STARK, STATE_ONLY, ...(n === 3 ? [VR] : [])],
    summary: `In short: on Heaven-Hell-${n}, ADQN and ADQN-VR reach the optimal return 1.0, ` +
      `while DQN, ADQN-State and ADQN-State-VR show little improvement.`,
    rerunSteps: 3_000,
  };
}

/** The per-panel text of the five notebooks. */
export const FIGURE_PANEL_TEXT: Readonly<Record<FigureId, FigurePanelText>> = Object.freeze({
  "1a": heavenHell(3),
  "1b": heavenHell(4),
  "1c": {
    title: "Car-Flag",
    environment: `**Car-Flag** [Nguyen, 2021] is "a 1-dimensional continuous control variant ` +
      `of Heaven-Hell" (section 5): a car on a line, pushed by one of 7 forces, must reach the ` +
      `flag at heaven's end (+1) and not the one at hell's end (−1); which side is heaven is ` +
      `seen only inside the priest's zone. The agent observes position, velocity and that ` +
      `direction; the optimal undiscounted return is 1.`,
    quotes: [ACROSS, STATE_ONLY, VR],
    summary: "In short: on Car-Flag, ADQN and ADQN-VR outperform DQN and the state-only " +
      "variants; the state-only variants do not outperform DQN, and ADQN-State-VR ends higher " +
      "than ADQN-State.",
    rerunSteps: 3_000,
  },
  "1d": {
    title: "Cleaner",
    environment: `**Cleaner** [Jiang and Amato, 2021] is "a maze environment where two agents ` +
      `must reach all tiles to clean them. In our experiments, the two agents are treated as a ` +
      `single agent, and controlled in a centralized fashion" (section 5): 16 joint actions, ` +
      `two 3×3 views as the observation, +1 per cleaned cell, episodes of exactly 200 steps. ` +
      `The maximum return is 71 (every free cell cleaned).`,
    quotes: [ACROSS, STATE_ONLY, VR],
    summary: "In short: on Cleaner, ADQN and ADQN-VR outperform DQN and the state-only " +
      "variants; the state-only variants do not outperform DQN, and ADQN-State-VR ends higher " +
      "than ADQN-State.",
    rerunSteps: 3_000,
  },
  "1e": {
    title: "GV-MemoryFourRooms-7x7",
    environment: `**GV-MemoryFourRooms-7x7** [Baisero and Katt, 2021] is "a dynamically ` +
      `generated gridworld with 4 connected rooms, where the agent must reach the *good* exit ` +
      `and avoid the *bad* exit, but must first find and memorize a *beacon* to learn which is ` +
      `which" (section 5). The agent sees an egocentric, occluded 7×7 window; +5 on the good ` +
      `exit, −5 on the bad one, −0.05 per step. The optimum is unknown: the fully observed ` +
      `shortest path bounds it at about 4.78.`,
    quotes: [ACROSS, STATE_ONLY, MEMORY],
    summary: "In short: on MemoryFourRooms, ADQN and ADQN-VR are again the best, but no method " +
      "solves the task reliably, and, unlike elsewhere, ADQN-State beats DQN and ADQN-VR beats " +
      "ADQN.",
    rerunSteps: 1_500,
  },
});

/** One cell of the template: its kind, id and source (placeholders not yet filled). */
export interface TemplateCell {
  /** "markdown" or "code". */
  cellType: "markdown" | "code";
  /** Cell id. */
  id: string;
  /** Source text. */
  source: string;
  /** The panels whose notebooks have this cell; absent: every panel's. */
  figures?: string[];
}

/**
 * Parse a template: cells start at lines `%% markdown <id>` or `%% code <id>`, optionally followed
 * by the panels whose notebooks have the cell (`%% code campaign 1a 1b`); trailing blank lines of a
 * cell are dropped. Two cells may share an id only when their panel lists are disjoint (one
 * variant of a cell per panel).
 */
export function parseTemplate(text: string): TemplateCell[] {
  const cells: TemplateCell[] = [];
  let current: { cell: Omit<TemplateCell, "source">; lines: string[] } | undefined;
  const flush = () => {
    if (!current) return;
    while (current.lines.length && current.lines.at(-1)!.trim() === "") current.lines.pop();
    cells.push({ ...current.cell, source: current.lines.join("\n") });
  };
  for (const [i, line] of text.replace(/\r\n/g, "\n").split("\n").entries()) {
    const header = line.match(/^%% (markdown|code) ([A-Za-z0-9_-]+)((?: [0-9a-z]+)*)\s*$/);
    if (header) {
      flush();
      const figures = header[3].trim() ? header[3].trim().split(" ") : undefined;
      const cell = { cellType: header[1] as "markdown" | "code", id: header[2] };
      current = { cell: figures ? { ...cell, figures } : cell, lines: [] };
    } else if (current) {
      current.lines.push(line);
    } else if (line.trim() !== "") {
      throw new Error(`template line ${i + 1} is outside any cell: "${line}"`);
    }
  }
  flush();
  const overlap = (a: TemplateCell, b: TemplateCell) =>
    !a.figures || !b.figures || a.figures.some((f) => b.figures!.includes(f));
  const duplicate = cells.find((c, i) =>
    cells.slice(0, i).some((d) => d.id === c.id && overlap(c, d))
  );
  if (duplicate) throw new Error(`template cell id "${duplicate.id}" is used twice`);
  return cells;
}

/** The values of the template's `{{NAME}}` placeholders for one panel. */
export function figurePlaceholders(figure: FigureId): Record<string, string> {
  const text = FIGURE_PANEL_TEXT[figure];
  const spec = FIGURES[figure];
  const checks = FIGURE_CLAIMS[figure].map((c) =>
    c.headline ? `- **${c.text}** (headline)` : `- ${c.text}`
  );
  return {
    ID: figure,
    TITLE: text.title,
    ENV_DESCRIPTION: text.environment,
    QUOTES: [text.quotes.map((q) => `> ${q}`).join("\n>\n"), "", text.summary].join("\n"),
    CHECKS: checks.join("\n"),
    REFERENCE: spec.reference ? `the ${spec.reference.label}` : "absent (no reference value)",
    PRESET: "quick",
    PANEL_SOURCE: CAMPAIGN_FIGURES.includes(figure)
      ? "from the paper-protocol campaign's database `data/fig1-paper/results.sqlite` once it " +
        "has stage-1 points of this panel (else from the quick preset's\n" +
        "`data/fig1-quick/results.sqlite`), with the campaign's selection table, outcome shares, " +
        "greedy\nevaluation and verdicts"
      : "from the committed results database `data/fig1-quick/results.sqlite`",
    SELECTION_LRS: [...new Set(STAGE0.cells.map((c) => c.lr))].join(", "),
    SELECTION_LIMITS: [...new Set(STAGE0.cells.map((c) => c.timeLimit))].join(", "),
    SELECTION_SEEDS: STAGE0.seeds.join(" and "),
    PANEL_SEEDS: `0–${STAGE1.seeds - 1}`,
    GATE_RETURN: String(GATE_RETURN),
    EVAL_EVERY: String(CAMPAIGN_SETTINGS.evalEvery).replace(/\B(?=(\d{3})+(?!\d))/g, ","),
    EVAL_EPISODES: String(CAMPAIGN_SETTINGS.evalEpisodes),
    OPTIMAL_LEVEL: String(OPTIMAL_LEVEL),
    MIN_VERDICT_SEEDS: String(MIN_VERDICT_SEEDS),
    RERUN_STEPS: formatNumber(text.rerunSteps),
    RERUN_DECAY: formatNumber(Math.floor(text.rerunSteps / 2)),
  };
}

/** 3000 → "3_000" (a TypeScript numeric literal). */
function formatNumber(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "_");
}

/** Replace every `{{NAME}}`; an unknown name is an error. */
export function fillPlaceholders(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    if (!(name in values)) {
      throw new Error(
        `unknown template placeholder {{${name}}}; expected one of ${
          Object.keys(values).join(", ")
        }`,
      );
    }
    return values[name];
  });
}

/** Split a cell source into Jupyter's list of lines (each but the last keeps its "\n"). */
export function sourceLines(source: string): string[] {
  if (source === "") return [];
  const lines = source.split("\n");
  return lines.map((line, i) => (i < lines.length - 1 ? `${line}\n` : line)).filter((l) =>
    l !== ""
  );
}

/** A generated cell: a notebook cell with its id. */
export interface FigureNotebookCell extends NotebookCell {
  /** Cell id (the template's). */
  id: string;
}

/** A generated notebook: its cells have ids. */
export interface FigureNotebook extends Notebook {
  /** The cells, in order. */
  cells: FigureNotebookCell[];
}

/** The notebook metadata of the repository's notebooks (the Deno kernel). */
export const DENO_NOTEBOOK_METADATA: Readonly<Record<string, unknown>> = Object.freeze({
  kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
  language_info: {
    codemirror_mode: "typescript",
    file_extension: ".ts",
    mimetype: "text/x.typescript",
    name: "typescript",
    nbconvert_exporter: "script",
    pygments_lexer: "typescript",
  },
});

/**
 * The notebook of one panel, without outputs, from the template (default: the file
 * {@link figureNotebookTemplate}).
 */
export async function renderFigureNotebook(
  figure: FigureId,
  template?: string,
): Promise<FigureNotebook> {
  if (!(FIGURE_IDS as readonly string[]).includes(figure)) {
    throw new Error(`unknown figure "${figure}"; expected one of ${FIGURE_IDS.join(", ")}`);
  }
  const text = template ?? await Deno.readTextFile(figureNotebookTemplate());
  const values = figurePlaceholders(figure);
  const mine = parseTemplate(text).filter((c) => !c.figures || c.figures.includes(figure));
  const cells: FigureNotebookCell[] = mine.map((cell) => {
    const source = sourceLines(fillPlaceholders(cell.source, values));
    return cell.cellType === "code"
      ? { cell_type: "code", execution_count: null, id: cell.id, metadata: {}, outputs: [], source }
      : { cell_type: "markdown", id: cell.id, metadata: {}, source };
  });
  return {
    cells,
    metadata: structuredClone(DENO_NOTEBOOK_METADATA) as Record<string, unknown>,
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/** Where a panel's notebook lives: `<dir>/figure_<id>.ipynb`. */
export function figureNotebookPath(figure: FigureId, dir: string = notebookDir()): string {
  return join(dir, `figure_${figure}.ipynb`);
}

/** A notebook as Jupyter writes it: JSON indented by 1, keys sorted, a final newline. */
export function notebookJson(notebook: Notebook): string {
  const sortKeys = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sortKeys)
      : value && typeof value === "object"
      ? Object.fromEntries(
        Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
      )
      : value;
  return JSON.stringify(sortKeys(notebook), null, 1) + "\n";
}

/** One difference between a committed notebook's cells and the generator's. */
export interface SourceDiff {
  /** Cell position (0-based) in the generated notebook, or -1 for the notebook as a whole. */
  index: number;
  /** What differs. */
  message: string;
}

/**
 * Compare the cells of a committed notebook with the generated ones: same number, kinds, ids and
 * sources (outputs, execution counts and metadata are not compared).
 */
export function compareSources(committed: Notebook, generated: FigureNotebook): SourceDiff[] {
  const diffs: SourceDiff[] = [];
  if (committed.cells.length !== generated.cells.length) {
    diffs.push({
      index: -1,
      message: `${committed.cells.length} cells, the generator makes ${generated.cells.length}`,
    });
  }
  const n = Math.min(committed.cells.length, generated.cells.length);
  for (let i = 0; i < n; i++) {
    const a = committed.cells[i] as NotebookCell & { id?: string };
    const b = generated.cells[i];
    if (a.cell_type !== b.cell_type || a.id !== b.id) {
      diffs.push({
        index: i,
        message: `cell ${i} is ${a.cell_type} "${a.id}", expected ${b.cell_type} "${b.id}"`,
      });
    } else if (joinText(a.source) !== joinText(b.source)) {
      const x = joinText(a.source).split("\n"), y = joinText(b.source).split("\n");
      const line = x.findIndex((l, j) => l !== y[j]);
      const at = line < 0 ? x.length : line;
      diffs.push({
        index: i,
        message: `cell ${i} ("${b.id}") differs from line ${at + 1}: ` +
          `${JSON.stringify(x[at] ?? "")} vs generated ${JSON.stringify(y[at] ?? "")}`,
      });
    }
  }
  return diffs;
}

/** What {@link writeFigureNotebooks} did for one notebook. */
export interface WrittenNotebook {
  /** Panel. */
  figure: FigureId;
  /** Notebook path. */
  path: string;
  /** "unchanged" (sources equal: left alone), "written" (created or rewritten), "stale" (check). */
  status: "unchanged" | "written" | "stale";
  /** Differences found (empty when unchanged). */
  diffs: SourceDiff[];
}

/**
 * Generate the five notebooks into `dir` (default the repository's notebooks/): those whose sources
 * differ from the generator's are rewritten without outputs, the others are left untouched. With
 * `check`, nothing is written and differing notebooks are reported as "stale".
 */
export async function writeFigureNotebooks(
  options: { dir?: string; check?: boolean; figures?: readonly FigureId[] } = {},
): Promise<WrittenNotebook[]> {
  const template = await Deno.readTextFile(figureNotebookTemplate());
  const out: WrittenNotebook[] = [];
  for (const figure of options.figures ?? FIGURE_IDS) {
    const path = figureNotebookPath(figure, options.dir);
    const generated = await renderFigureNotebook(figure, template);
    let diffs: SourceDiff[];
    try {
      diffs = compareSources(await readNotebook(path), generated);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      diffs = [{ index: -1, message: "missing" }];
    }
    if (diffs.length === 0) {
      out.push({ figure, path, status: "unchanged", diffs });
    } else if (options.check) {
      out.push({ figure, path, status: "stale", diffs });
    } else {
      await Deno.writeTextFile(path, notebookJson(generated));
      out.push({ figure, path, status: "written", diffs });
    }
  }
  return out;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      check: { type: "boolean", default: false },
      dir: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log("usage: deno run -A lib/notebooks/figure_notebook.ts [--check] [--dir notebooks]");
    return 0;
  }
  const results = await writeFigureNotebooks({ dir: values.dir, check: values.check });
  for (const r of results) {
    console.log(
      `${r.status.padEnd(9)} ${r.path}${r.diffs.length ? `: ${r.diffs[0].message}` : ""}`,
    );
  }
  const written = results.filter((r) => r.status === "written").map((r) => r.path);
  if (written.length) {
    console.log(`now execute them: deno task notebooks ${written.join(" ")}`);
  }
  return results.some((r) => r.status === "stale") ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(2);
  }
}
