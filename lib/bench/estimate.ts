/**
 * The compute budget of a Figure 1 panel at the paper's settings and its wall-time estimate from
 * measured rates: ours with K = 20 batched runs, PyTorch with one run per core, and the reference
 * code's own speed.
 *
 * @module
 */
import { DEFAULT_TRAIN_CONFIG } from "../train/config.ts";
import { ALGO_IDS } from "../train/agent.ts";
import { bestCell, type Cell, type Measurement, type OursColumn } from "./workloads.ts";
import { torchCell, type TorchColumn } from "./torch.ts";
import { formatCell, formatRate } from "./table.ts";

/** The compute budget of one figure panel at the paper's settings (algorithms.md §4-§6). */
export interface FigureBudget {
  /** Independent runs: algorithms × seeds. */
  runs: number;
  /** Environment steps per run (prepopulation included). */
  envSteps: number;
  /** Trained environment steps per run: (envSteps - prepopulation) × replay ratio. */
  trainedSteps: number;
  /** Network acting steps per run (prepopulation acts uniformly at random, without the network). */
  actingSteps: number;
}

/**
 * One panel of Figure 1 at the reference settings: 5 algorithms × 20 seeds, 2M environment steps
 * each of which (2M - 50k) × 8 = 15.6M are trained steps and 1.95M network acting steps.
 *
 * @example
 * ```ts
 * import { figureBudget } from "./estimate.ts";
 * const b = figureBudget();
 * console.log(b.runs, b.trainedSteps); // 100 15600000
 * ```
 */
export function figureBudget(
  config: {
    totalSteps: number;
    prepopulateSteps: number;
    replayRatio: number;
  } = DEFAULT_TRAIN_CONFIG,
  seeds = 20,
  algorithms: number = ALGO_IDS.length,
): FigureBudget {
  const trained = Math.max(0, config.totalSteps - config.prepopulateSteps) * config.replayRatio;
  return {
    runs: seeds * algorithms,
    envSteps: config.totalSteps,
    trainedSteps: trained,
    actingSteps: Math.max(0, config.totalSteps - config.prepopulateSteps),
  };
}

/**
 * Wall-clock seconds of a figure panel on `cores` cores, each core running batched groups at the
 * given per-core rates (trained env-steps/s and acting env-steps/s), work split evenly.
 *
 * @example
 * ```ts
 * import { figureBudget, panelSeconds } from "./estimate.ts";
 * // 100 runs × 15.6M trained steps at 10,000/s on 2 cores, acting 1.95M at 1e9/s
 * console.log(Math.round(panelSeconds(figureBudget(), 10_000, 1e9, 2))); // 78000
 * ```
 */
export function panelSeconds(
  budget: FigureBudget,
  trainPerSecond: number,
  actPerSecond: number,
  cores: number,
): number {
  if (!(trainPerSecond > 0) || !(actPerSecond > 0) || !(cores >= 1)) {
    throw new Error(
      `panelSeconds: rates must be positive and cores ≥ 1, got ${trainPerSecond}, ${actPerSecond}, ${cores}`,
    );
  }
  const perRun = budget.trainedSteps / trainPerSecond + budget.actingSteps / actPerSecond;
  return (budget.runs * perRun) / cores;
}

/**
 * {@link panelSeconds} with each algorithm's own training rate: the budget's runs split evenly
 * over the algorithms (acting costs the same for all: the GRU and the Q head).
 *
 * @example
 * ```ts
 * import { figureBudget, panelSecondsByAlgorithm } from "./estimate.ts";
 * // 50 runs at 15,600 and 50 at 7,800 trained steps/s, acting 19,500/s, one machine-wide rate
 * console.log(panelSecondsByAlgorithm(figureBudget(), [15_600, 7_800], 19_500, 1)); // 160000
 * ```
 */
export function panelSecondsByAlgorithm(
  budget: FigureBudget,
  trainRates: readonly number[],
  actPerSecond: number,
  cores: number,
): number {
  if (trainRates.length === 0) throw new Error("panelSecondsByAlgorithm: no training rates");
  const share = { ...budget, runs: budget.runs / trainRates.length };
  return trainRates.reduce((s, r) => s + panelSeconds(share, r, actPerSecond, cores), 0);
}

/** Seconds as "12.3 h" / "4.5 d" / "37 min". */
export function formatWallTime(seconds: number): string {
  const h = seconds / 3600;
  if (h >= 48) return `${(h / 24).toFixed(1)} d`;
  if (h >= 1) return `${h.toFixed(1)} h`;
  return `${Math.round(seconds / 60)} min`;
}

/**
 * The Figure 1a (Heaven-Hell-3) wall-time estimate at the paper budget on `cores` cores: ours with
 * K = 20 batched runs, acting run after run as the trainer does, at the whole-machine rates
 * (`runs-20-2p`, `act-20-2p`) when measured, else the one-process rates times `cores`; PyTorch with
 * one run per core (1 thread, one episode per step), from its several-process column when measured.
 * Uses ADQN's cost for all five algorithms (DQN and the state variants are somewhat cheaper).
 */
export function formatFigureEstimate(
  ours: OursColumn,
  torch: TorchColumn[],
  cores = 2,
): string {
  const b = figureBudget();
  const lines = [
    `Figure 1a at the paper budget: ${b.runs} runs (5 algorithms × 20 seeds) × ` +
    `${formatRate(b.envSteps)} env steps = ${formatRate(b.runs * b.trainedSteps)} trained ` +
    `env-steps ((2M - 50k prepopulation) × replay ratio 8 per run) and ` +
    `${formatRate(b.runs * b.actingSteps)} network acting steps; on ${cores} cores:`,
  ];
  const whole = (cell: Cell | undefined) => cell?.status === "ok";
  const [train, act, scale, how] = whole(ours.cells["runs-20-2p"]) &&
      whole(ours.cells["act-20-2p"])
    ? [ours.cells["runs-20-2p"], ours.cells["act-20-2p"], 1, "measured on both cores at once"]
    : [
      ours.cells["runs-20"],
      bestCell(ours.cells["act-20-rm"], ours.cells["act-20"]),
      cores,
      "one core measured, times the cores",
    ];
  if (train?.status === "ok" && act?.status === "ok") {
    const actRate = act.value.envStepsPerSecond;
    const s = panelSeconds(b, train.value.envStepsPerSecond, actRate, scale);
    const each = ALGO_IDS.map((a) => (a === "adqn" ? train : ours.cells[`runs-20-2p:${a}`]));
    if (scale === 1 && each.every((c) => c?.status === "ok")) {
      const rates = each.map((c) => (c as { value: Measurement }).value.envStepsPerSecond);
      const sa = panelSecondsByAlgorithm(b, rates, actRate, 1);
      const list = ALGO_IDS.map((a, i) => `${a} ${formatRate(rates[i])}`).join(", ");
      lines.push(
        `- ours (${ours.backend}, K=20 batched runs, ${how}, each algorithm at its own measured ` +
          `training rate: ${list} trained env-steps/s): ${formatWallTime(sa)}`,
        `- ours, with ADQN's rate for all five algorithms: ${formatWallTime(s)}`,
      );
    } else {
      lines.push(`- ours (${ours.backend}, K=20 batched runs, ${how}): ${formatWallTime(s)}`);
    }
  } else {
    lines.push(`- ours: needs the K=20 rows (${formatCell(train)} / ${formatCell(act)})`);
  }
  const par = torch.find((t) => (t.processes ?? 1) === cores && t.threads === 1);
  const t1 = par ?? torch.find((t) => t.threads === 1 && (t.processes ?? 1) === 1);
  const tt = t1 ? torchCell(t1, "train-1") : undefined, ta = t1 ? torchCell(t1, "act") : undefined;
  if (tt?.status === "ok" && ta?.status === "ok") {
    const s = panelSeconds(
      b,
      tt.value.envStepsPerSecond,
      ta.value.envStepsPerSecond,
      par ? 1 : cores,
    );
    lines.push(
      `- PyTorch (1 thread, one run per core, tensor work only${
        par ? ", measured on both cores at once" : ""
      }): ${formatWallTime(s)}`,
    );
  } else {
    lines.push("- PyTorch: not measured");
  }
  const ref = b.runs * b.envSteps / 300 / cores;
  lines.push(
    `- the reference code itself (algorithms.md §6: ~300 env steps/s per core, all overheads): ` +
      `${formatWallTime(ref)}`,
  );
  return lines.join("\n");
}
