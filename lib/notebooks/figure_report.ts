/**
 * What the paper claims for each panel of Figure 1 (section 5.1), and an honest check of those
 * claims against stored runs: which runs make a panel ({@link selectPanelRuns}), the budget they were
 * trained with ({@link describeBudget}), claim-by-claim checks on final returns ({@link checkClaims})
 * and a one-sentence verdict ({@link panelVerdict}). The figure notebooks
 * (notebooks/figure_1a.ipynb ... figure_1e.ipynb) are built on it.
 *
 * The checks only use final returns (mean ± standard error over seeds of each run's last logged
 * average return). Rules, stated once here and in every notebook:
 *
 * - "A beats B": both have at least 2 finished seeds and mean(A) − mean(B) > z · √(SE(A)² + SE(B)²)
 *   with z = 2 ({@link DEFAULT_Z}); "A does not beat B" is its negation (same data requirements).
 * - "A reaches the optimum": mean(A) ≥ fraction × reference (fraction 0.9 for Heaven-Hell).
 * - "A shows little improvement" / "nobody solves it reliably": mean < fraction × reference.
 *
 * A check is `undetermined` when an algorithm it needs has no finished run, or (comparisons) fewer
 * than 2 seeds. The paper's claims about convergence speed and learning stability are not checked.
 *
 * @example Check Figure 1a's claims on made-up final returns
 * ```ts
 * import { checkClaims, panelVerdict } from "./figure_report.ts";
 * const stats = ["dqn", "adqn", "adqn-vr", "adqn-state", "adqn-state-vr"].map((algo) => ({
 *   algo, n: 3, mean: algo.startsWith("adqn") && !algo.includes("state") ? 0.97 : 0.02, se: 0.01,
 * }));
 * const results = checkClaims("1a", stats);
 * console.log(panelVerdict("1a", results).outcome); // "reproduced"
 * ```
 * @module
 */
import { join } from "node:path";
import { ResultsDb, type RunRecord } from "../results/db.ts";
import { DEFAULT_TRAIN_CONFIG } from "../train/config.ts";
import { figureRuns } from "../experiments/figures.ts";
import {
  checkFigureId,
  type FigureId,
  FIGURES,
  presetConfig,
  type PresetId,
  PRESETS,
} from "../experiments/presets.ts";
import { ALGO_LABELS } from "../plots/figure1.ts";

/** The z multiplier of the standard error of a difference for "A beats B" (2: about 95%). */
export const DEFAULT_Z = 2;

/** How one claim is tested on final returns (see the module documentation for the rules). */
export type ClaimTest =
  /** `algo`'s final mean is at least `fraction` × the panel's reference value. */
  | { kind: "reaches"; algo: string; fraction: number }
  /** Every algorithm of `algos` has a final mean below `fraction` × the reference value. */
  | { kind: "below"; algos: readonly string[]; fraction: number }
  /** `algo` beats every algorithm of `others` (difference of means > z standard errors). */
  | { kind: "beats"; algo: string; others: readonly string[] }
  /** `algo` does not beat `other`. */
  | { kind: "notAbove"; algo: string; other: string };

/** One claim of the paper about a panel, and how it is tested. */
export interface PanelClaim {
  /** The claim in words, e.g. "ADQN reaches the optimum". */
  text: string;
  /**
   * True for the claims that carry the panel's message (what ADQN and ADQN-VR achieve); the panel
   * counts as reproduced only when these hold. False for supporting claims, several of which
   * (someone fails) an undertrained run satisfies trivially.
   */
  headline: boolean;
  /** The test. */
  test: ClaimTest;
}

const BASELINES = ["dqn", "adqn-state", "adqn-state-vr"] as const;
const STATE_ONLY = ["adqn-state", "adqn-state-vr"] as const;

function reachClaims(): PanelClaim[] {
  return [
    ...(["adqn", "adqn-vr"] as const).map((algo) => ({
      text: `${ALGO_LABELS[algo]} reaches the optimum (final mean ≥ 90% of it)`,
      headline: true,
      test: { kind: "reaches" as const, algo, fraction: 0.9 },
    })),
    ...beatsBaselines(false),
    ...(["dqn", ...STATE_ONLY] as const).map((algo) => ({
      text: `${ALGO_LABELS[algo]} shows little improvement (final mean < 25% of the optimum)`,
      headline: false,
      test: { kind: "below" as const, algos: [algo], fraction: 0.25 },
    })),
  ];
}

function beatsBaselines(headline = true): PanelClaim[] {
  return (["adqn", "adqn-vr"] as const).map((algo) => ({
    text: `${ALGO_LABELS[algo]} beats DQN, ADQN-State and ADQN-State-VR`,
    headline,
    test: { kind: "beats" as const, algo, others: BASELINES },
  }));
}

function stateOnlyNotAboveDqn(): PanelClaim[] {
  return STATE_ONLY.map((algo) => ({
    text: `${ALGO_LABELS[algo]} does not beat DQN`,
    headline: false,
    test: { kind: "notAbove" as const, algo, other: "dqn" },
  }));
}

const STATE_VR_BEATS_STATE: PanelClaim = {
  text: "ADQN-State-VR beats ADQN-State",
  headline: false,
  test: { kind: "beats", algo: "adqn-state-vr", others: ["adqn-state"] },
};

/**
 * The claims of section 5.1 tested for each panel, headline claims first. Heaven-Hell (1a, 1b):
 * ADQN and ADQN-VR reach the optimum (headline) and beat the three baselines, DQN and the
 * state-only variants show little improvement.
 * Car-Flag and Cleaner (1c, 1d): ADQN and ADQN-VR beat the three baselines, the state-only
 * variants do not beat DQN, ADQN-State-VR beats ADQN-State. MemoryFourRooms (1e): ADQN and ADQN-VR
 * beat the baselines, ADQN-State beats DQN, ADQN-VR beats ADQN, and no method solves it reliably
 * (final mean < 75% of the fully observed upper bound).
 */
export const FIGURE_CLAIMS: Readonly<Record<FigureId, readonly PanelClaim[]>> = Object.freeze({
  "1a": reachClaims(),
  "1b": reachClaims(),
  "1c": [...beatsBaselines(), ...stateOnlyNotAboveDqn(), STATE_VR_BEATS_STATE],
  "1d": [...beatsBaselines(), ...stateOnlyNotAboveDqn(), STATE_VR_BEATS_STATE],
  "1e": [
    ...beatsBaselines(),
    {
      text: "ADQN-State beats DQN",
      headline: false,
      test: { kind: "beats", algo: "adqn-state", others: ["dqn"] },
    },
    {
      text: "ADQN-VR beats ADQN",
      headline: false,
      test: { kind: "beats", algo: "adqn-vr", others: ["adqn"] },
    },
    {
      text: "no method solves it reliably (every final mean < 75% of the upper bound)",
      headline: false,
      test: {
        kind: "below",
        algos: ["dqn", "adqn", "adqn-vr", "adqn-state", "adqn-state-vr"],
        fraction: 0.75,
      },
    },
  ],
});

/** Final return of one algorithm over seeds (the fields of `FinalRow` that the checks read). */
export interface FinalStat {
  /** Algorithm id. */
  algo: string;
  /** Finished runs (seeds) counted. */
  n: number;
  /** Mean over seeds of the final average return (NaN when n = 0). */
  mean: number;
  /** Standard error of that mean (0 when n = 1). */
  se: number;
}

/** Outcome of one check. */
export type ClaimStatus = "holds" | "fails" | "undetermined";

/** One checked claim. */
export interface ClaimResult {
  /** The claim in words. */
  text: string;
  /** Whether it is a headline claim (see {@link PanelClaim}). */
  headline: boolean;
  /** Its test. */
  test: ClaimTest;
  /** The outcome. */
  status: ClaimStatus;
  /** The numbers behind the outcome, in one line (the texts of `details` joined by "; "). */
  evidence: string;
  /**
   * The parts of the evidence: one per comparison ("ADQN − DQN = +0.40 (2 SE = 0.22)") or
   * threshold, each with whether it is in the claim's favour; the parts that make a claim fail are
   * those with `ok` false.
   */
  details: { text: string; ok: boolean }[];
}

/** Options of {@link checkClaims}. */
export interface CheckOptions {
  /** z multiplier for comparisons (default {@link DEFAULT_Z}). */
  z?: number;
  /** Reference value (default: the panel's reference line, `FIGURES[figure].reference.value`). */
  reference?: number;
  /** Claims to check (default {@link FIGURE_CLAIMS}[figure]). */
  claims?: readonly PanelClaim[];
}

function label(algo: string): string {
  return ALGO_LABELS[algo] ?? algo;
}

/** Digits for values of a panel whose reference value is `reference`. */
function digitsFor(reference: number): number {
  return Math.abs(reference) >= 10 ? 2 : 3;
}

/** "0.031 ± 0.020 over 3 seeds"; "0.031 over 1 seed (no standard error)" for one seed. */
export function formatMeanSe(stat: FinalStat, digits = 3): string {
  if (stat.n === 0) return "no finished run";
  if (stat.n === 1) return `${stat.mean.toFixed(digits)} over 1 seed (no standard error)`;
  return `${stat.mean.toFixed(digits)} ± ${stat.se.toFixed(digits)} over ${stat.n} seed${
    stat.n === 1 ? "" : "s"
  }`;
}

function comparison(
  a: FinalStat,
  b: FinalStat,
  z: number,
  digits: number,
): { beats: boolean; text: string } {
  const diff = a.mean - b.mean;
  const margin = z * Math.sqrt(a.se * a.se + b.se * b.se);
  const sign = diff >= 0 ? "+" : "−";
  return {
    beats: diff > margin,
    text: `${label(a.algo)} − ${label(b.algo)} = ${sign}${Math.abs(diff).toFixed(digits)} ` +
      `(${z} SE = ${margin.toFixed(digits)})`,
  };
}

/**
 * Check the claims of a panel against final returns per algorithm (`finalReturns()` rows of
 * lib/experiments/figures.ts, or any {@link FinalStat}s). Returns one result per claim, in order.
 */
export function checkClaims(
  figure: FigureId,
  stats: readonly FinalStat[],
  options: CheckOptions = {},
): ClaimResult[] {
  const spec = FIGURES[checkFigureId(figure)];
  const z = options.z ?? DEFAULT_Z;
  const reference = options.reference ?? spec.reference?.value;
  const digits = digitsFor(reference ?? 1);
  const byAlgo = new Map(stats.filter((s) => s.n > 0).map((s) => [s.algo, s]));
  const claims = options.claims ?? FIGURE_CLAIMS[figure];
  return claims.map((claim) => {
    const result = (
      status: ClaimStatus,
      details: string | { text: string; ok: boolean }[],
    ): ClaimResult => {
      const parts = typeof details === "string"
        ? [{ text: details, ok: status === "holds" }]
        : details;
      return {
        text: claim.text,
        headline: claim.headline,
        test: claim.test,
        status,
        evidence: parts.map((p) => p.text).join("; "),
        details: parts,
      };
    };
    const t = claim.test;
    const needed = t.kind === "reaches"
      ? [t.algo]
      : t.kind === "below"
      ? t.algos
      : t.kind === "beats"
      ? [t.algo, ...t.others]
      : [t.algo, t.other];
    const missing = needed.filter((a) => !byAlgo.has(a));
    if (missing.length > 0) {
      return result("undetermined", `no finished run of ${missing.map(label).join(", ")}`);
    }
    if (t.kind === "reaches" || t.kind === "below") {
      if (reference === undefined) {
        return result("undetermined", `panel ${figure} has no reference value`);
      }
      const threshold = t.fraction * reference;
      const values = needed.map((a) => byAlgo.get(a)!);
      if (t.kind === "reaches") {
        const s = values[0];
        return result(
          s.mean >= threshold ? "holds" : "fails",
          `${label(s.algo)}: ${formatMeanSe(s, digits)}, needs ≥ ${threshold.toFixed(digits)}`,
        );
      }
      const worst = values.reduce((a, b) => (b.mean > a.mean ? b : a));
      const shown = values.length === 1 ? "" : "highest: ";
      return result(
        values.every((s) => s.mean < threshold) ? "holds" : "fails",
        `${shown}${label(worst.algo)}: ${formatMeanSe(worst, digits)}, needs < ${
          threshold.toFixed(digits)
        }`,
      );
    }
    const few = needed.filter((a) => byAlgo.get(a)!.n < 2);
    if (few.length > 0) {
      return result(
        "undetermined",
        `fewer than 2 seeds of ${few.map(label).join(", ")}: no standard error to compare with`,
      );
    }
    if (t.kind === "beats") {
      const a = byAlgo.get(t.algo)!;
      const parts = t.others.map((o) => comparison(a, byAlgo.get(o)!, z, digits));
      return result(
        parts.every((p) => p.beats) ? "holds" : "fails",
        parts.map((p) => ({ text: p.text, ok: p.beats })),
      );
    }
    const c = comparison(byAlgo.get(t.algo)!, byAlgo.get(t.other)!, z, digits);
    return result(c.beats ? "fails" : "holds", c.text);
  });
}

/** The training budget of a set of runs, read from their stored configurations. */
export interface Budget {
  /** Distinct `totalSteps` (environment steps per run), ascending. */
  totalSteps: number[];
  /** Distinct seeds among the runs. */
  seeds: number;
  /** Number of runs. */
  runs: number;
  /** Number of finished runs (the only ones final returns count). */
  finished: number;
  /** Distinct `returnWindow`s (episodes averaged into a logged return), ascending. */
  returnWindow: number[];
  /** Distinct preset ids named by the runs' labels ("quick:1a" → "quick"). */
  presets: string[];
  /** Settings that differ from the paper's protocol (`DEFAULT_TRAIN_CONFIG`), in key order. */
  differences: { key: string; values: unknown[]; paper: unknown }[];
}

function distinct(values: readonly unknown[]): unknown[] {
  const seen = new Map<string, unknown>();
  for (const v of values) seen.set(JSON.stringify(v), v);
  return [...seen.values()];
}

function ascending(values: readonly unknown[]): number[] {
  return (distinct(values).filter((v) => typeof v === "number") as number[]).sort((a, b) => a - b);
}

/** Read the training budget of runs from their stored configurations. */
export function describeBudget(runs: readonly RunRecord[]): Budget {
  const configs = runs.map((r) => r.config);
  const differences: Budget["differences"] = [];
  for (const [key, paper] of Object.entries(DEFAULT_TRAIN_CONFIG)) {
    if (key === "seed") continue;
    const values = distinct(configs.map((c) => c[key] ?? paper));
    if (values.length !== 1 || JSON.stringify(values[0]) !== JSON.stringify(paper)) {
      differences.push({ key, values, paper });
    }
  }
  return {
    totalSteps: ascending(configs.map((c) => c.totalSteps)),
    seeds: new Set(runs.map((r) => r.seed)).size,
    runs: runs.length,
    finished: runs.filter((r) => r.status === "finished").length,
    returnWindow: ascending(
      configs.map((c) => c.returnWindow ?? DEFAULT_TRAIN_CONFIG.returnWindow),
    ),
    presets: distinct(runs.map((r) => r.label.split(":")[0]).filter((p) => p)) as string[],
    differences,
  };
}

/** A number with thousands separators: 30000 → "30,000". */
export function formatSteps(n: number): string {
  return n.toLocaleString("en-US");
}

function formatValue(v: unknown): string {
  if (typeof v === "number") return Number.isInteger(v) ? formatSteps(v) : String(v);
  return JSON.stringify(v);
}

/**
 * The budget in words, against the paper's: "30,000 environment steps per run (the paper:
 * 2,000,000) and 3 seeds (the paper: 20)".
 */
export function budgetText(budget: Budget): string {
  const paperSteps = formatSteps(DEFAULT_TRAIN_CONFIG.totalSteps);
  const steps = budget.totalSteps.length === 0
    ? "an unknown number of environment steps"
    : `${budget.totalSteps.map(formatSteps).join(" or ")} environment steps per run`;
  return `${steps} (the paper: ${paperSteps}) and ${budget.seeds} seed${
    budget.seeds === 1 ? "" : "s"
  } (the paper: ${PRESETS.paper.seeds})`;
}

/**
 * The budget in a few words, for a figure's subtitle: "30,000 env steps per run, 3 seeds (the
 * paper: 2,000,000 and 20)".
 */
export function budgetShort(budget: Budget): string {
  const steps = budget.totalSteps.length ? budget.totalSteps.map(formatSteps).join(" or ") : "?";
  return `${steps} env steps per run, ${budget.seeds} seed${
    budget.seeds === 1 ? "" : "s"
  } (the paper: ${formatSteps(DEFAULT_TRAIN_CONFIG.totalSteps)} and ${PRESETS.paper.seeds})`;
}

/** The settings that differ from the paper's protocol, one "key: ours (paper: theirs)" each. */
export function budgetDifferences(budget: Budget): string[] {
  return budget.differences.map((d) =>
    `${d.key}: ${d.values.map(formatValue).join(" or ")} (the paper: ${formatValue(d.paper)})`
  );
}

/** Outcome of a panel: see {@link panelVerdict}. */
export type VerdictOutcome = "reproduced" | "partly reproduced" | "not reproduced" | "undetermined";

/** The verdict of a panel. */
export interface Verdict {
  /** The outcome. */
  outcome: VerdictOutcome;
  /** Checks that hold. */
  holds: number;
  /** Checks in all. */
  total: number;
  /** One sentence for the reader, naming the budget when one is given. */
  sentence: string;
}

function isNegative(test: ClaimTest): boolean {
  return test.kind === "below" || test.kind === "notAbove";
}

/**
 * The verdict of a panel from its checks: `reproduced` when every check holds; `partly reproduced`
 * when every headline check holds but not every supporting one; `not reproduced` when a headline
 * check fails; `undetermined` when no headline check fails but some cannot be decided (missing
 * algorithms, fewer than 2 seeds). The sentence names the budget, the headline numbers, and says
 * when the only checks that hold are ones that a method failing to learn satisfies trivially.
 */
export function panelVerdict(
  figure: FigureId,
  results: readonly ClaimResult[],
  budget?: Budget,
): Verdict {
  const spec = FIGURES[checkFigureId(figure)];
  const holds = results.filter((r) => r.status === "holds").length;
  const total = results.length;
  const headline = results.filter((r) => r.headline);
  const where = budget ? `At ${budgetText(budget)}, the` : "The";
  const subject = `paper's claim for Figure ${figure} (${spec.title})`;
  const count = `${holds} of ${total} checks hold`;
  const name = (r: ClaimResult) => `“${r.text.replace(/ \(.*\)$/, "")}”`;
  const evidence = headline.map((r) => `${name(r)}: ${r.evidence}`).join("; ");
  let outcome: VerdictOutcome;
  let sentence: string;
  if (holds === total) {
    outcome = "reproduced";
    sentence = `${where} ${subject} is reproduced: all ${total} checks hold (${evidence}).`;
  } else if (headline.every((r) => r.status === "holds")) {
    outcome = "partly reproduced";
    const others = results.filter((r) => r.status !== "holds");
    sentence = `${where} ${subject} is partly reproduced: its headline holds (${evidence}), ` +
      `but ${
        others.map((r) => `${name(r)} ${r.status === "fails" ? "fails" : "is undetermined"}`)
          .join(" and ")
      } (${count}).`;
  } else if (headline.some((r) => r.status === "fails")) {
    outcome = "not reproduced";
    const failed = headline.filter((r) => r.status === "fails");
    const held = results.filter((r) => r.status === "holds");
    const trivial = held.length > 0 && held.every((r) => isNegative(r.test))
      ? "; those that hold only say that methods fail, which runs that have not learnt yet " +
        "satisfy trivially"
      : "";
    sentence = `${where} ${subject} is not reproduced: ${
      failed.map((r) =>
        `${name(r)} fails (${r.details.filter((d) => !d.ok).map((d) => d.text).join("; ")})`
      ).join(", and ")
    }; ${count}${trivial}.`;
  } else {
    outcome = "undetermined";
    const open = headline.filter((r) => r.status === "undetermined");
    sentence = `${where} ${subject} cannot be decided: ${
      open.map((r) => `${name(r)} is undetermined (${r.evidence})`).join(", and ")
    }; ${count}.`;
  }
  if (budget && budget.finished < budget.runs) {
    const open = budget.runs - budget.finished;
    sentence = `${sentence.slice(0, -1)}; ${open} of ${budget.runs} runs ${
      open === 1 ? "is" : "are"
    } not finished and not counted.`;
  }
  return { outcome, holds, total, sentence };
}

/** The runs of a panel found by {@link selectPanelRuns}. */
export interface PanelRuns {
  /** The runs (possibly none). */
  runs: RunRecord[];
  /**
   * How they were found: `preset` (configuration hashes of the current preset, as `deno task
   * figures` selects them), `label` (stored label "<preset>:<figure>", when the preset's values
   * changed since the runs were made), or `none`.
   */
  matched: "preset" | "label" | "none";
  /** A note for the reader when the runs do not match the current preset's configuration. */
  note?: string;
}

/**
 * The runs of a panel in a results database: those of the preset's current configuration
 * (`figureRuns`), else those labelled "<preset>:<figure>" (made with other values of the preset),
 * with a note saying so.
 */
export function selectPanelRuns(db: ResultsDb, figure: FigureId, preset: PresetId): PanelRuns {
  const exact = figureRuns(db, figure, preset);
  if (exact.length > 0) return { runs: exact, matched: "preset" };
  const env = FIGURES[checkFigureId(figure)].env;
  const labelled = db.listRuns({ env }).filter((r) => r.label === `${preset}:${figure}`);
  if (labelled.length === 0) return { runs: [], matched: "none" };
  const current = presetConfig(preset, figure, "adqn", 0);
  const budget = describeBudget(labelled);
  return {
    runs: labelled,
    matched: "label",
    note:
      `these ${labelled.length} runs are labelled ${preset}:${figure} but were made with other ` +
      `settings than the current ${preset} preset (e.g. ${
        budget.totalSteps.map(formatSteps).join(" or ")
      } environment steps per run, now ${formatSteps(current.totalSteps)})`,
  };
}

/** A read-only snapshot of a results database: see {@link openResultsSnapshot}. */
export interface ResultsSnapshot {
  /** The database, opened read-only on a temporary copy. */
  db: ResultsDb;
  /** Close it and delete the copy. */
  close(): Promise<void>;
}

/**
 * Open a read-only copy of a results database (its `-wal` file included), so that reading a
 * committed database never creates or changes anything beside it (SQLite's read-only opening of a
 * WAL database still creates `-shm` and `-wal` files). Resolves to `undefined` when `path` does not
 * exist.
 */
export async function openResultsSnapshot(path: string): Promise<ResultsSnapshot | undefined> {
  try {
    if (!(await Deno.stat(path)).isFile) return undefined;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const dir = await Deno.makeTempDir({ prefix: "results-snapshot-" });
  try {
    const copy = join(dir, "results.sqlite");
    await Deno.copyFile(path, copy);
    try {
      await Deno.copyFile(`${path}-wal`, `${copy}-wal`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const db = ResultsDb.open(copy, { readOnly: true });
    return {
      db,
      async close() {
        db.close();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (e) {
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
}
