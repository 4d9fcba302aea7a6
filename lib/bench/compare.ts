/**
 * `deno task bench --compare`: this project and PyTorch side by side on the same machine, in one
 * invocation. Our measurements run in this process (the tensor backend must be initialised first);
 * PyTorch's run in `bench/torch_workload.py` under Debian's `/usr/bin/python3` (package
 * `python3-torch`), once with 1 thread and once with 2. When Python or PyTorch is missing, the
 * PyTorch columns are skipped with a message saying why and how to install it.
 *
 * Every throughput is compared in environment steps per second: *trained* environment steps
 * (gradient steps × episodes × 100 steps per episode) for training, environment steps (one GRU step
 * + Q head + argmax per environment) for acting, so that batch sizes and run counts compare directly.
 *
 * The pieces live by concern: workloads.ts (what is measured, cells), torch.ts (the PyTorch side),
 * table.ts (the report's text and table), estimate.ts (the Figure 1a wall-time estimate); this
 * module checks the speed targets, assembles the report, and re-exports them all.
 *
 * @module
 */
import { type Cell, type OursColumn, ratio } from "./workloads.ts";
import { bestTorch, torchCell, type TorchColumn, torchLabel } from "./torch.ts";
import { type BenchMachine, formatCompareTable, formatMachine, formatRatio } from "./table.ts";
import { formatFigureEstimate } from "./estimate.ts";
export { benchEpisode, timeIt } from "../train/batched_bench.ts";
export * from "./workloads.ts";
export * from "./torch.ts";
export * from "./table.ts";
export * from "./estimate.ts";

/** One target of the comparison and whether it is met. */
export interface TargetCheck {
  /** The target in words. */
  what: string;
  /** ours / PyTorch (best thread count), null when unmeasured. */
  ratio: number | null;
  /** Ratio needed. */
  need: number;
  /** "met", "missed", or "n/a" (a side is missing). */
  verdict: "met" | "missed" | "n/a";
}

/**
 * The project's speed targets. Against PyTorch's reference protocol (one run in one process, the
 * best thread count): K = 20 batched training ≥ 3× its one-episode training, on one core (one
 * process of 20 runs) and on the whole machine (2 processes × 10 runs); stretch: above its B = 32
 * training; K = 20 batched acting ≥ 10× its acting in one environment. And, for a like-for-like
 * view, the whole machine against PyTorch filling the machine too (one run per core, when a column
 * with several processes was measured).
 */
export function checkTargets(ours: OursColumn, torch: TorchColumn[]): TargetCheck[] {
  const check = (what: string, mine: string, theirs: Cell | undefined, need: number) => {
    const r = ratio(ours.cells[mine], theirs);
    const verdict: TargetCheck["verdict"] = r === null ? "n/a" : r >= need ? "met" : "missed";
    return { what, ratio: r, need, verdict };
  };
  const checks = [
    check(
      "K=20 batched training on 1 core ≥ 3× torch 1-episode training",
      "runs-20",
      bestTorch(torch, "train-1"),
      3,
    ),
    check(
      "K=20 batched training on 2 cores (2 × 10) ≥ 3× torch 1-episode training",
      "runs-20-2p",
      bestTorch(torch, "train-1"),
      3,
    ),
    check(
      "stretch: K=20 batched training on 1 core > torch B=32 training",
      "runs-20",
      bestTorch(torch, "train-32"),
      1,
    ),
    check(
      "K=20 batched acting (one forward per step) ≥ 10× torch acting in 1 env",
      "act-20",
      bestTorch(torch, "act"),
      10,
    ),
    check(
      "K=20 acting on 2 cores (2 × 10, run after run) ≥ 10× torch acting in 1 env",
      "act-20-2p",
      bestTorch(torch, "act"),
      10,
    ),
  ];
  for (const col of torch.filter((t) => (t.processes ?? 1) > 1)) {
    const n = col.processes!;
    checks.push(
      check(
        `like for like: K=20 training on ${n} cores vs torch ${n} runs in ${n} processes, ≥ 3×`,
        "runs-20-2p",
        torchCell(col, "train-1"),
        3,
      ),
      check(
        `like for like: K=20 acting on ${n} cores vs torch ${n} envs in ${n} processes, ≥ 10×`,
        "act-20-2p",
        torchCell(col, "act"),
        10,
      ),
    );
  }
  return checks;
}

/** Targets as text lines. */
export function formatTargets(checks: TargetCheck[]): string {
  return checks.map((c) =>
    `- ${c.what}: ${formatRatio(c.ratio)} (need ${c.need}×): ${c.verdict.toUpperCase()}`
  ).join("\n");
}

/** Everything one `--compare` invocation measured. */
export interface ComparisonResult {
  /** Machine facts. */
  machine: BenchMachine;
  /** Rounds measured (each cell is the best round); default 1. */
  rounds?: number;
  /** Our columns, the default backend first. */
  ours: OursColumn[];
  /** PyTorch columns by thread count. */
  torch: TorchColumn[];
}

/**
 * The full report: machine line, table, notes on missing cells, targets and the Figure 1a
 * estimate.
 */
export function formatComparison(r: ComparisonResult): string {
  const best = (r.rounds ?? 1) > 1 ? `; each cell the best of ${r.rounds} rounds` : "";
  const parts = [
    formatMachine(r.machine, r.torch) + best,
    "",
    formatCompareTable(r.ours, r.torch),
  ];
  // One note per distinct message, naming the columns it applies to.
  const notes = new Map<string, Set<string>>();
  const note = (message: string, column: string) => {
    if (!notes.has(message)) notes.set(message, new Set());
    notes.get(message)!.add(column);
  };
  for (const o of r.ours) {
    for (const c of Object.values(o.cells)) {
      if (c.status !== "ok") note(`${c.status}: ${c.message}`, `ours ${o.backend}`);
    }
  }
  for (const t of r.torch) if (!t.run.ok) note(t.run.message, torchLabel(t));
  if (notes.size > 0) {
    parts.push("", ...[...notes].map(([m, cols]) => `- ${[...cols].join(", ")}: ${m}`));
  }
  parts.push(
    "",
    "Training rows count trained env-steps/s (gradient steps × episodes × 100 steps), acting rows " +
      "env steps/s. torch modes: bench/torch_workload.py (train-1, train-32, seq-K = K runs in " +
      "turn, bmm-K = K runs hand-batched with torch.bmm, act = 1 env).",
  );
  if (r.ours.length > 0) {
    parts.push("", `Targets (ours ${r.ours[0].backend} vs the best torch thread count):`);
    parts.push(formatTargets(checkTargets(r.ours[0], r.torch)));
    parts.push("", formatFigureEstimate(r.ours[0], r.torch, 2));
  }
  return parts.join("\n");
}
