/**
 * What the paper claims for each panel of Figure 1 (section 5.1), and an honest check of those
 * claims against stored runs: which runs make a panel ({@link selectPanelRuns}, figure_runs.ts), the
 * budget they were trained with ({@link describeBudget}, figure_budget.ts), claim-by-claim checks on
 * final returns ({@link checkClaims}, figure_claims.ts, which states the rules) and a one-sentence
 * verdict ({@link panelVerdict}, here). The figure notebooks (notebooks/figure_1a.ipynb ...
 * figure_1e.ipynb) are built on it.
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
import { checkFigureId, type FigureId, FIGURES } from "../experiments/presets.ts";
import type { ClaimResult, ClaimTest } from "./figure_claims.ts";
import { type Budget, budgetText } from "./figure_budget.ts";
export * from "./figure_claims.ts";
export * from "./figure_budget.ts";
export * from "./figure_runs.ts";

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
