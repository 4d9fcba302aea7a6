/**
 * What the paper claims for each panel of Figure 1 (section 5.1), and claim-by-claim checks of
 * those claims on final returns ({@link checkClaims}).
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
 * @module
 */
import { checkFigureId, type FigureId, FIGURES } from "../experiments/presets.ts";
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
