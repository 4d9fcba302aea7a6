/**
 * Verdicts on the claims of the paper's section 5.1 for panels 1a and 1b, decided from confidence
 * intervals only (never from point estimates), with the statistics of rliable (lib/results/stats.ts).
 *
 * - A comparison claim "X outperforms Y" is `reproduced` when the whole 95% interval of the
 *   probability of improvement P(X > Y) lies above 1/2, `not reproduced` when it lies at or below
 *   1/2, and `inconclusive` when it contains values on both sides.
 * - A level claim "X reaches R" is `reproduced` when the whole IQM interval lies at or above R,
 *   `not reproduced` when it lies below R, `inconclusive` otherwise.
 *
 * @example
 * ```ts
 * import { classifyComparison } from "./verdicts.ts";
 * console.log(classifyComparison({ point: 0.9, lo: 0.7, hi: 1 })); // "reproduced"
 * console.log(classifyComparison({ point: 0.6, lo: 0.4, hi: 0.8 })); // "inconclusive"
 * ```
 * @module
 */
import type { AlgoId } from "../train/agent.ts";
import {
  type BootstrapOptions,
  type Interval,
  iqm,
  meanSe,
  probabilityOfImprovementCi,
  type Scores,
  stratifiedBootstrapCi,
} from "../results/stats.ts";

/** The outcome of a claim. */
export type Verdict = "reproduced" | "not reproduced" | "inconclusive";

/** A claim of section 5.1. */
export type Claim =
  | { kind: "outperforms"; x: AlgoId; y: AlgoId; text: string }
  | { kind: "reaches"; x: AlgoId; level: number; text: string };

const STRONG: AlgoId[] = ["adqn", "adqn-vr"];
const BASELINES: AlgoId[] = ["dqn", "adqn-state", "adqn-state-vr"];

/**
 * The level taken as "optimal performance" on Heaven-Hell (optimum 1.0): 0.9, because the return
 * is averaged over the last 100 episodes during ε-greedy training (ε = 0.1 at the end), which
 * keeps even an optimal greedy policy somewhat below 1.
 */
export const OPTIMAL_LEVEL = 0.9;

/**
 * The claims of section 5.1 on panels 1a and 1b: "ADQN and ADQN-VR outperform all baselines in
 * final performance" (one claim per pair) and "ADQN and ADQN-VR ... are able to reach optimal
 * performance".
 */
export const FIG1AB_CLAIMS: readonly Claim[] = [
  ...STRONG.flatMap((x) =>
    BASELINES.map((y): Claim => ({
      kind: "outperforms",
      x,
      y,
      text: `${x} outperforms ${y} in final performance`,
    }))
  ),
  ...STRONG.map((x): Claim => ({
    kind: "reaches",
    x,
    level: OPTIMAL_LEVEL,
    text: `${x} reaches optimal performance (IQM ≥ ${OPTIMAL_LEVEL})`,
  })),
];

/** The verdict of "X outperforms Y" from the interval of P(X > Y). */
export function classifyComparison(poi: Interval): Verdict {
  if (poi.lo > 0.5) return "reproduced";
  if (poi.hi <= 0.5) return "not reproduced";
  return "inconclusive";
}

/** The verdict of "X reaches `level`" from the interval of X's IQM. */
export function classifyLevel(ci: Interval, level: number): Verdict {
  if (ci.lo >= level) return "reproduced";
  if (ci.hi < level) return "not reproduced";
  return "inconclusive";
}

/** The statistics of one algorithm over the strata (panels). */
export interface AlgoSummary {
  /** Algorithm. */
  algo: AlgoId;
  /** Runs per stratum. */
  runs: number[];
  /** Mean ± SE of final performance, per stratum. */
  meanSe: { mean: number; se: number; n: number }[];
  /** IQM over all strata with its stratified bootstrap interval. */
  iqm: Interval;
}

/** One decided claim. */
export interface ClaimResult {
  /** The claim. */
  claim: Claim;
  /** The interval it was decided on: P(X > Y) or X's IQM. */
  interval: Interval;
  /** The verdict. */
  verdict: Verdict;
}

/** Summaries and verdicts of a set of claims. */
export interface VerdictReport {
  /** Per-algorithm statistics. */
  summaries: AlgoSummary[];
  /** Claims with their verdicts. */
  claims: ClaimResult[];
}

/**
 * Decide `claims` from final performances per algorithm: `scores[algo][stratum][run]` (strata =
 * panels, in the same order for every algorithm). Each bootstrap uses its own child stream of
 * `options.seed`, so the report is reproducible.
 */
export function verdicts(
  scores: Partial<Record<AlgoId, Scores>>,
  options: BootstrapOptions,
  claims: readonly Claim[] = FIG1AB_CLAIMS,
): VerdictReport {
  const get = (a: AlgoId): Scores => {
    const s = scores[a];
    if (!s) {
      throw new Error(`verdicts: no scores for "${a}"; have ${Object.keys(scores).join(", ")}`);
    }
    return s;
  };
  const sub = (...labels: string[]) => ({ ...options, seed: [options.seed, ...labels].join("/") });
  const summaries = (Object.keys(scores) as AlgoId[]).map((algo): AlgoSummary => ({
    algo,
    runs: get(algo).map((s) => s.length),
    meanSe: get(algo).map((s) => meanSe(s)),
    iqm: stratifiedBootstrapCi(get(algo), iqm, sub("iqm", algo)),
  }));
  const results = claims.map((claim): ClaimResult => {
    if (claim.kind === "outperforms") {
      const interval = probabilityOfImprovementCi(
        get(claim.x),
        get(claim.y),
        sub("poi", claim.x, claim.y),
      );
      return { claim, interval, verdict: classifyComparison(interval) };
    }
    const interval = stratifiedBootstrapCi(get(claim.x), iqm, sub("iqm", claim.x));
    return { claim, interval, verdict: classifyLevel(interval, claim.level) };
  });
  return { summaries, claims: results };
}

/** A Markdown table of the claims and their verdicts. */
export function formatVerdicts(report: VerdictReport): string {
  const f = (v: number) => v.toFixed(3);
  const lines = [
    "| claim | statistic | 95% CI | verdict |",
    "|---|---|---|---|",
    ...report.claims.map(({ claim, interval, verdict }) =>
      `| ${claim.text} | ${claim.kind === "outperforms" ? "P(X>Y)" : "IQM"} ${
        f(interval.point)
      } | ` +
      `[${f(interval.lo)}, ${f(interval.hi)}] | ${verdict} |`
    ),
  ];
  return lines.join("\n");
}
