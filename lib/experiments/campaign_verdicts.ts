/**
 * The verdicts of the Figure 1 campaign (campaign.ts) on the claims of section 5.1 for panels 1a
 * and 1b (verdicts.ts, with rliable's statistics): final performances of the finished stage-1
 * runs, per panel and for both panels together (two strata), each claim decided only once every
 * algorithm it names has {@link MIN_VERDICT_SEEDS} finished seeds on each panel.
 *
 * @example
 * ```ts
 * import { scopedVerdicts } from "./campaign_verdicts.ts";
 * const pending = scopedVerdicts({ runs: [], others: [] }, "1a");
 * console.log(pending.every((c) => c.result === null)); // true: no stage-1 run yet
 * ```
 * @module
 */
import { existsSync } from "../files.ts";
import { type BootstrapOptions, iqm, meanSe, stratifiedBootstrapCi } from "../results/stats.ts";
import { ALGO_IDS, type AlgoId } from "../train/agent.ts";
import type { FigureId } from "./presets.ts";
import { campaignFiles } from "./campaign.ts";
import { formatSelection, runFinal, STAGE1 } from "./campaign_stages.ts";
import {
  type CampaignData,
  campaignSelection,
  gateSentence,
  gateState,
  loadCampaignFile,
  markdownTable,
  selectionComplete,
  stage1Runs,
  stageRows,
  stageSummaries,
} from "./campaign_data.ts";
import {
  type Claim,
  type ClaimResult,
  FIG1AB_CLAIMS,
  formatVerdicts,
  type Verdict,
  verdicts,
} from "./verdicts.ts";

/** Finite final performances of the finished stage-1 runs of `algo` on `figure`. */
export function stage1Finals(data: CampaignData, figure: FigureId, algo: AlgoId): number[] {
  return stage1Runs(data, figure).filter((r) => r.algo === algo && r.run.status === "finished")
    .map((r) => runFinal(r.points)).filter(Number.isFinite);
}

/**
 * Final performances of the finished stage-1 runs per algorithm and panel (strata 1a, 1b), the
 * input of {@link verdicts}; an algorithm without a finished run on every panel is left out.
 */
export function stage1Scores(data: CampaignData): Partial<Record<AlgoId, number[][]>> {
  const out: Partial<Record<AlgoId, number[][]>> = {};
  for (const algo of ALGO_IDS) {
    const strata = STAGE1.figures.map((f) => stage1Finals(data, f, algo));
    if (strata.every((s) => s.length > 0)) out[algo] = strata;
  }
  return out;
}

/** Finished seeds every algorithm of a claim needs on each panel before it is decided. */
export const MIN_VERDICT_SEEDS = 2;

/** The panels a verdict can be given on: one panel, or 1a and 1b together (two strata). */
export type VerdictScope = FigureId | "1a+1b";

/** A claim decided (or not yet) on one scope. */
export interface ScopedClaim {
  /** The claim. */
  claim: Claim;
  /** The result when every algorithm it names has {@link MIN_VERDICT_SEEDS} finished seeds. */
  result: ClaimResult | null;
  /** Finished seeds per named algorithm and panel: "ADQN 3/5, DQN 5/5". */
  seeds: string;
}

function scopeFigures(scope: VerdictScope): FigureId[] {
  return scope === "1a+1b" ? [...STAGE1.figures] : [scope];
}

/**
 * The claims of section 5.1 (verdicts.ts) on one scope, each decided from the finished stage-1
 * runs once every algorithm it names has {@link MIN_VERDICT_SEEDS} of them on each panel.
 */
export function scopedVerdicts(
  data: CampaignData,
  scope: VerdictScope,
  options: BootstrapOptions = { seed: 0, resamples: 10_000 },
  claims: readonly Claim[] = FIG1AB_CLAIMS,
): ScopedClaim[] {
  const figures = scopeFigures(scope);
  return claims.map((claim) => {
    const algos = claim.kind === "outperforms" ? [claim.x, claim.y] : [claim.x];
    const scores = Object.fromEntries(
      algos.map((a) => [a, figures.map((f) => stage1Finals(data, f, a))]),
    ) as Partial<Record<AlgoId, number[][]>>;
    const seeds = algos.map((a) =>
      `${a} ${scores[a]!.map((s) => `${s.length}/${STAGE1.seeds}`).join(" + ")}`
    ).join(", ");
    const ready = algos.every((a) => scores[a]!.every((s) => s.length >= MIN_VERDICT_SEEDS));
    return {
      claim,
      result: ready ? verdicts(scores, options, [claim]).claims[0] : null,
      seeds,
    };
  });
}

/** One algorithm's final performance on one scope: mean ± SE per panel, IQM with its 95% CI. */
export interface FinalSummary {
  /** Algorithm. */
  algo: AlgoId;
  /** Finished runs per panel. */
  runs: number[];
  /** "0.912 ± 0.031" per panel ("n/a" without a finished run). */
  meanSe: string[];
  /** "0.950 [0.900, 1.000]" over the panels, "n/a" below {@link MIN_VERDICT_SEEDS} seeds. */
  iqm: string;
}

/** Final performances per algorithm on a scope (mean ± SE, IQM with stratified bootstrap CI). */
export function finalSummaries(
  data: CampaignData,
  scope: VerdictScope,
  options: BootstrapOptions = { seed: 0, resamples: 10_000 },
): FinalSummary[] {
  const figures = scopeFigures(scope);
  const f = (x: number) => x.toFixed(3);
  return ALGO_IDS.map((algo) => {
    const strata = figures.map((fig) => stage1Finals(data, fig, algo));
    const ready = strata.every((s) => s.length >= MIN_VERDICT_SEEDS);
    const ci = ready
      ? stratifiedBootstrapCi(strata, iqm, { ...options, seed: `${options.seed}/iqm/${algo}` })
      : undefined;
    return {
      algo,
      runs: strata.map((s) => s.length),
      meanSe: strata.map((s) => {
        if (s.length === 0) return "n/a";
        const m = meanSe(s);
        return `${f(m.mean)} ± ${f(m.se)}`;
      }),
      iqm: ci ? `${f(ci.point)} [${f(ci.lo)}, ${f(ci.hi)}]` : "n/a",
    };
  });
}

/** A claim's cell of a verdict table: "P(X>Y) 0.840 [0.600, 1.000]: reproduced", or pending. */
export function claimText(c: ScopedClaim): string {
  if (!c.result) return `pending (finished seeds: ${c.seeds}; needs ${MIN_VERDICT_SEEDS} each)`;
  const { interval: i, verdict } = c.result;
  const stat = c.claim.kind === "outperforms" ? "P(X>Y)" : "IQM";
  return `${stat} ${i.point.toFixed(3)} [${i.lo.toFixed(3)}, ${i.hi.toFixed(3)}]: ${verdict}`;
}

/** Counts of decided verdicts among scoped claims. */
export function verdictCounts(claims: readonly ScopedClaim[]): Record<Verdict | "pending", number> {
  const out = { "reproduced": 0, "not reproduced": 0, "inconclusive": 0, "pending": 0 };
  for (const c of claims) out[c.result?.verdict ?? "pending"]++;
  return out;
}

/**
 * The campaign in Markdown: the stages' progress, the selection table (so far), the gate, and the
 * verdicts on 1a and 1b together once stage 1 has every algorithm's runs (`deno task campaign
 * report`), from the live database of the campaign directory `dir`, or from the database file
 * `db` when given (a snapshot, or the database collected from the campaign's cluster sweeps).
 */
export function campaignReport(dir: string, seed = 0, db?: string): string {
  const path = db ?? campaignFiles(dir).db;
  if (!existsSync(path)) {
    if (db !== undefined) throw new Error(`campaign database ${db} does not exist`);
    return `no campaign database in ${dir} yet`;
  }
  return formatCampaign(loadCampaignFile(path), seed);
}

/** {@link campaignReport} of loaded data. */
export function formatCampaign(data: CampaignData, seed = 0): string {
  const table = campaignSelection(data);
  const parts = [
    markdownTable(stageRows(stageSummaries(data))),
    formatSelection(table),
    `gate: ${gateSentence(table)}`,
  ];
  const scores = stage1Scores(data);
  if (Object.keys(scores).length === ALGO_IDS.length) {
    parts.push(formatVerdicts(verdicts(scores, { seed, resamples: 10_000 })));
  } else parts.push("stage 1: verdicts once every algorithm has finished runs on 1a and 1b");
  return parts.join("\n\n");
}

/** Per algorithm, its final performance on one panel and on 1a and 1b together, as table rows. */
export function summaryRows(
  data: CampaignData,
  figure: FigureId,
  options?: BootstrapOptions,
): Record<string, string>[] {
  const here = finalSummaries(data, figure, options);
  const both = finalSummaries(data, "1a+1b", options);
  return here.map((h, i) => ({
    algorithm: h.algo,
    [`finished seeds (${figure})`]: `${h.runs[0]}/${STAGE1.seeds}`,
    [`mean ± SE (${figure})`]: h.meanSe[0],
    [`IQM [95% CI] (${figure})`]: h.iqm,
    "IQM [95% CI] (1a and 1b)": both[i].iqm,
  }));
}

/** The claims with their verdicts on one panel and on 1a and 1b together, as table rows. */
export function verdictRows(
  here: readonly ScopedClaim[],
  both: readonly ScopedClaim[],
  figure: FigureId,
): Record<string, string>[] {
  return here.map((c, i) => ({
    claim: c.claim.text,
    [`Figure ${figure}`]: claimText(c),
    "Figures 1a and 1b": claimText(both[i]),
  }));
}

/**
 * One sentence on the verdicts: that stage 1 has no finished run yet (or was blocked by the gate),
 * or how many claims are reproduced, not reproduced, inconclusive and pending, noting that they
 * are provisional while some stage-1 runs are unfinished.
 */
export function verdictSentence(
  data: CampaignData,
  here: readonly ScopedClaim[],
  both: readonly ScopedClaim[],
  figure: FigureId,
): string {
  const selection = campaignSelection(data);
  const gate = gateState(selection);
  const s1 = STAGE1.figures.flatMap((f) => stage1Runs(data, f));
  const finished = s1.filter((r) => r.run.status === "finished").length;
  if (gate === "blocked") {
    return "The gate stopped the campaign after stage 0: no cell brought ADQN or ADQN-VR above " +
      "the gate's final return, so stage 1 was not run and the claims were not tested at the " +
      "paper's protocol.";
  }
  if (finished === 0) {
    return `Stage 1 has no finished run yet, so no claim is decided${
      selectionComplete(selection) ? "" : " (stage 0, the selection, is still running)"
    }.`;
  }
  const count = (cs: readonly ScopedClaim[]) => {
    const c = verdictCounts(cs);
    return `${c.reproduced} reproduced, ${c["not reproduced"]} not reproduced, ` +
      `${c.inconclusive} inconclusive, ${c.pending} pending`;
  };
  const planned = STAGE1.figures.length * ALGO_IDS.length * STAGE1.seeds;
  const provisional = finished < planned
    ? ` Provisional: ${finished} of ${planned} stage-1 runs have finished; the verdicts may ` +
      "change as the others do."
    : "";
  return `Of the ${here.length} claims, on Figure ${figure}: ${count(here)}; on Figures 1a and ` +
    `1b together: ${count(both)}.${provisional}`;
}
