/**
 * The workloads of `deno task bench --compare` and the cells that hold their measurements: what
 * each table row times on our side, which PyTorch mode (bench/torch_workload.py) it is compared
 * with, and how measurements combine (summed over concurrent processes, best of several rounds).
 *
 * @module
 */

/** Steps in every benchmark episode (the Heaven-Hell bench episode of the spec). */
export const EPISODE_STEPS = 100;

/** One timed throughput. */
export interface Measurement {
  /** Calls per second of the timed unit (a gradient step of every run, or one acting step). */
  perSecond: number;
  /** Trained environment steps per second (training) or environment steps per second (acting). */
  envStepsPerSecond: number;
  /** Timed iterations (after one warm-up call). */
  iterations: number;
}

/** A table cell: a measurement, or why there is none. */
export type Cell =
  | { status: "ok"; value: Measurement }
  | { status: "pending" | "skipped" | "error"; message: string };

/** The workloads of the comparison table, in display order. */
export const WORKLOADS = [
  "train-1",
  "train-32",
  "runs-8",
  "runs-8-bmm",
  "runs-20",
  "runs-20-bmm",
  "runs-20-2p",
  "act-1",
  "act-20",
  "act-20-rm",
  "act-20-2p",
] as const;

/** One of {@link WORKLOADS}. */
export type WorkloadId = typeof WORKLOADS[number];

/** What each workload means on our side and which PyTorch mode it is compared with. */
export const WORKLOAD_INFO: Readonly<
  Record<WorkloadId, { label: string; ours: string; torchMode: string }>
> = {
  "train-1": {
    label: "single run, 1 episode/step",
    ours: "train-1",
    torchMode: "train-1",
  },
  "train-32": {
    label: "one run, B=32 episodes/step",
    ours: "train-32",
    torchMode: "train-32",
  },
  "runs-8": {
    label: "K=8 runs (torch: 8 runs in turn)",
    ours: "runs-8",
    torchMode: "seq-8",
  },
  "runs-8-bmm": {
    label: "K=8 runs (torch: bmm-batched)",
    ours: "runs-8",
    torchMode: "bmm-8",
  },
  "runs-20": {
    label: "K=20 runs (torch: 20 runs in turn)",
    ours: "runs-20",
    torchMode: "seq-20",
  },
  "runs-20-bmm": {
    label: "K=20 runs (torch: bmm-batched)",
    ours: "runs-20",
    torchMode: "bmm-20",
  },
  "runs-20-2p": {
    label: "K=20 runs on 2 cores: 2 processes × 10 (torch: 1 run per process)",
    ours: "runs-20-2p",
    torchMode: "train-1",
  },
  "act-1": { label: "acting, 1 env", ours: "act-1", torchMode: "act" },
  "act-20": {
    label: "acting, K=20 envs, one batched forward per step (torch: 1 env)",
    ours: "act-20",
    torchMode: "act",
  },
  "act-20-rm": {
    label: "acting, K=20 envs, run after run as the trainer acts (torch: 1 env)",
    ours: "act-20-rm",
    torchMode: "act",
  },
  "act-20-2p": {
    label:
      "acting, K=20 envs on 2 cores: 2 processes × 10, run after run (torch: 1 env per process)",
    ours: "act-20-2p",
    torchMode: "act",
  },
};

/** PyTorch modes also measured as several concurrent processes (the machine-filling columns). */
export const PARALLEL_TORCH_MODES: readonly string[] = ["train-1", "act"];

/** The PyTorch modes the table needs (arguments of torch_workload.py --modes). */
export const TORCH_MODES: readonly string[] = [
  ...new Set(WORKLOADS.map((w) => WORKLOAD_INFO[w].torchMode)),
];

/** The aggregate of concurrent measurements: rates and iterations add up. */
export function sumMeasurements(ms: readonly Measurement[]): Measurement {
  return {
    perSecond: ms.reduce((a, m) => a + m.perSecond, 0),
    envStepsPerSecond: ms.reduce((a, m) => a + m.envStepsPerSecond, 0),
    iterations: ms.reduce((a, m) => a + m.iterations, 0),
  };
}

/** One measured configuration of our side: a backend and its cells by our workload name. */
export interface OursColumn {
  /** Backend actually in use (e.g. `wasm-blas`). */
  backend: string;
  /** Cells by our workload key (`train-1`, `train-32`, `runs-8`, `runs-20`, `act-1`, `act-20`). */
  cells: Record<string, Cell>;
}

/** ours / theirs in environment steps per second, or null when either is missing or zero. */
export function ratio(ours: Cell | undefined, theirs: Cell | undefined): number | null {
  if (ours?.status !== "ok" || theirs?.status !== "ok") return null;
  const d = theirs.value.envStepsPerSecond;
  return d > 0 ? ours.value.envStepsPerSecond / d : null;
}

/** The better of two cells: a measurement beats a missing one, a higher rate a lower one. */
export function bestCell(a: Cell | undefined, b: Cell | undefined): Cell | undefined {
  if (a?.status !== "ok") return b?.status === "ok" ? b : a ?? b;
  if (b?.status !== "ok") return a;
  return b.value.envStepsPerSecond > a.value.envStepsPerSecond ? b : a;
}

/** Cell-by-cell {@link bestCell} of two rounds of our measurements. */
export function mergeCells(a: Record<string, Cell>, b: Record<string, Cell>): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    out[key] = bestCell(a[key], b[key])!;
  }
  return out;
}
