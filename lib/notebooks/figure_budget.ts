/**
 * The training budget of a panel's runs, read from their stored configurations, and its text
 * against the paper's protocol (steps per run, seeds, settings that differ).
 *
 * @module
 */
import type { RunRecord } from "../results/db.ts";
import { DEFAULT_TRAIN_CONFIG } from "../train/config.ts";
import { PRESETS } from "../experiments/presets.ts";

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
