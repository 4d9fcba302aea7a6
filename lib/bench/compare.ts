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
 * @module
 */
import { DEFAULT_TRAIN_CONFIG } from "../train/config.ts";
import { ALGO_IDS } from "../train/agent.ts";
export { benchEpisode, timeIt } from "../train/batched_bench.ts";

/** Steps in every benchmark episode (the Heaven-Hell bench episode of the spec). */
export const EPISODE_STEPS = 100;

/** The Python that has Debian's PyTorch (the first `python3` on PATH may be another one). */
export const DEFAULT_PYTHON = "/usr/bin/python3";

/** The PyTorch workload script. */
export const TORCH_SCRIPT: string = new URL("../../bench/torch_workload.py", import.meta.url)
  .pathname;

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

/** Parsed output of bench/torch_workload.py. */
export interface TorchReport {
  /** PyTorch version. */
  torch: string;
  /** Threads PyTorch used. */
  threads: number;
  /** Measurements by mode (train-1, train-32, seq-K, bmm-K, act, act-K). */
  results: Record<string, Measurement>;
}

/**
 * Parse the JSON object bench/torch_workload.py prints as its last stdout line; throws an error
 * naming what is wrong.
 *
 * @example
 * ```ts
 * import { parseTorchOutput } from "./compare.ts";
 * const r = parseTorchOutput('{"torch": "1.13", "threads": 1, "results": [{"mode": "train-1",' +
 *   ' "steps_per_s": 20, "env_steps_per_s": 2000, "iterations": 60, "seconds": 3}]}');
 * console.log(r.results["train-1"].envStepsPerSecond); // 2000
 * ```
 */
export function parseTorchOutput(stdout: string): TorchReport {
  const lines = stdout.trim().split("\n");
  const last = lines[lines.length - 1] ?? "";
  let data: unknown;
  try {
    data = JSON.parse(last);
  } catch {
    throw new Error(
      `torch workload: expected a JSON object on the last stdout line, got ${
        JSON.stringify(last.slice(0, 200))
      }`,
    );
  }
  const o = data as Record<string, unknown>;
  if (typeof o !== "object" || o === null || !Array.isArray(o.results)) {
    throw new Error(`torch workload: output lacks a "results" array: ${last.slice(0, 200)}`);
  }
  if (typeof o.torch !== "string" || typeof o.threads !== "number") {
    throw new Error(`torch workload: output lacks "torch" (string) or "threads" (number)`);
  }
  const results: Record<string, Measurement> = {};
  for (const r of o.results as Record<string, unknown>[]) {
    const ok = typeof r?.mode === "string" &&
      [r.steps_per_s, r.env_steps_per_s, r.iterations].every((v) =>
        typeof v === "number" && Number.isFinite(v) && v >= 0
      );
    if (!ok) throw new Error(`torch workload: invalid result ${JSON.stringify(r)}`);
    results[r.mode as string] = {
      perSecond: r.steps_per_s as number,
      envStepsPerSecond: r.env_steps_per_s as number,
      iterations: r.iterations as number,
    };
  }
  return { torch: o.torch, threads: o.threads, results };
}

/**
 * Environment of the PyTorch child process for `threads` threads: OpenMP/OpenBLAS thread counts,
 * and `OMP_WAIT_POLICY=PASSIVE` above one thread (busy-waiting threads are several times slower on
 * a shared 2-core machine).
 */
export function torchEnv(threads: number): Record<string, string> {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`torchEnv: invalid thread count ${threads}; expected a positive integer`);
  }
  const env: Record<string, string> = {
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
    MKL_NUM_THREADS: String(threads),
  };
  if (threads > 1) env.OMP_WAIT_POLICY = "PASSIVE";
  return env;
}

/** What {@link runTorch} returns: a report, or why there is none. */
export type TorchRun = { ok: true; report: TorchReport } | { ok: false; message: string };

/** Options of {@link runTorch}. */
export interface TorchRunOptions {
  /** Threads (default 1). */
  threads?: number;
  /** Minimum seconds per measurement (default 3). */
  seconds?: number;
  /** Modes (default {@link TORCH_MODES}). */
  modes?: readonly string[];
  /** Python interpreter (default {@link DEFAULT_PYTHON}). */
  python?: string;
  /** Workload script (default {@link TORCH_SCRIPT}). */
  script?: string;
  /** Wall-clock start of the timed work, ms since the epoch (lines up concurrent processes). */
  startAt?: number;
}

/** How to get PyTorch for these rows. */
export const TORCH_INSTALL_HINT =
  "install Debian's PyTorch: apt-get install -y --no-install-recommends python3-torch";

/**
 * Run bench/torch_workload.py; never throws for a missing interpreter or PyTorch (returns
 * `{ ok: false, message }` saying why and how to install it).
 */
export async function runTorch(options: TorchRunOptions = {}): Promise<TorchRun> {
  const python = options.python ?? DEFAULT_PYTHON;
  const threads = options.threads ?? 1;
  const args = [
    options.script ?? TORCH_SCRIPT,
    "--threads",
    String(threads),
    "--seconds",
    String(options.seconds ?? 3),
    "--modes",
    (options.modes ?? TORCH_MODES).join(","),
    ...(options.startAt === undefined ? [] : ["--start-at", String(options.startAt / 1000)]),
  ];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(python, {
      args,
      env: torchEnv(threads),
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? `${python} not found`
      : `cannot start ${python}: ${e instanceof Error ? e.message : String(e)}`;
    return { ok: false, message: `PyTorch rows skipped: ${why}; ${TORCH_INSTALL_HINT}` };
  }
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    if (/No module named ['"]?torch/.test(stderr)) {
      return {
        ok: false,
        message: `PyTorch rows skipped: ${python} has no torch module; ${TORCH_INSTALL_HINT}`,
      };
    }
    const tail = stderr.trim().split("\n").slice(-3).join(" | ");
    return {
      ok: false,
      message: `PyTorch rows skipped: ${python} ${args[0]} exited with code ${out.code}: ${tail}`,
    };
  }
  try {
    return { ok: true, report: parseTorchOutput(new TextDecoder().decode(out.stdout)) };
  } catch (e) {
    return { ok: false, message: `PyTorch rows skipped: ${(e as Error).message}` };
  }
}

/**
 * `processes` concurrent runs of {@link runTorch} (1 thread each, the same start time), summed mode
 * by mode: what PyTorch gets out of the machine by running one reference-protocol run per core.
 */
export async function runTorchParallel(
  processes: number,
  options: Omit<TorchRunOptions, "threads" | "startAt"> = {},
): Promise<TorchRun> {
  if (!Number.isInteger(processes) || processes < 1) {
    throw new Error(
      `runTorchParallel: invalid process count ${processes}; expected an integer ≥ 1`,
    );
  }
  const startAt = Date.now() + 8000; // after every interpreter has imported torch
  const runs = await Promise.all(
    Array.from(
      { length: processes },
      () => runTorch({ modes: PARALLEL_TORCH_MODES, ...options, threads: 1, startAt }),
    ),
  );
  const failed = runs.find((r) => !r.ok);
  if (failed !== undefined) return failed;
  return { ok: true, report: sumReports(runs.map((r) => (r as { report: TorchReport }).report)) };
}

/** Mode-by-mode sums of concurrent processes' reports (modes every report has). */
export function sumReports(reports: readonly TorchReport[]): TorchReport {
  const results: Record<string, Measurement> = {};
  for (const mode of Object.keys(reports[0]?.results ?? {})) {
    if (!reports.every((r) => r.results[mode] !== undefined)) continue;
    results[mode] = sumMeasurements(reports.map((r) => r.results[mode]));
  }
  return { torch: reports[0]?.torch ?? "", threads: reports[0]?.threads ?? 1, results };
}

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

/** A PyTorch column: a thread count and its report, or why it is missing. */
export interface TorchColumn {
  /** Threads (per process). */
  threads: number;
  /** Concurrent processes summed in this column (default 1). */
  processes?: number;
  /** The run. */
  run: TorchRun;
}

/** Why a several-process PyTorch column has no cell for a mode (shown as "-"). */
export const NOT_PARALLEL = "mode not measured with several processes";

/** The cell of one PyTorch mode. */
export function torchCell(col: TorchColumn, mode: string): Cell {
  if (!col.run.ok) return { status: "skipped", message: col.run.message };
  if ((col.processes ?? 1) > 1 && !PARALLEL_TORCH_MODES.includes(mode)) {
    return { status: "skipped", message: NOT_PARALLEL };
  }
  const m = col.run.report.results[mode];
  return m
    ? { status: "ok", value: m }
    : { status: "error", message: `torch mode ${mode} not measured` };
}

/** ours / theirs in environment steps per second, or null when either is missing or zero. */
export function ratio(ours: Cell | undefined, theirs: Cell | undefined): number | null {
  if (ours?.status !== "ok" || theirs?.status !== "ok") return null;
  const d = theirs.value.envStepsPerSecond;
  return d > 0 ? ours.value.envStepsPerSecond / d : null;
}

/** A throughput as text: thousands separators at ≥ 100, two significant decimals below. */
export function formatRate(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x >= 100) return Math.round(x).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** A ratio as text ("3.2×"), "-" when absent. */
export function formatRatio(r: number | null): string {
  if (r === null) return "-";
  return r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`;
}

/** A cell as table text: the rate, or its status ("pending", "skipped", "error"). */
export function formatCell(c: Cell | undefined): string {
  if (c === undefined) return "-";
  return c.status === "ok" ? formatRate(c.value.envStepsPerSecond) : c.status;
}

/** Machine facts printed above the table. */
export interface BenchMachine {
  /** Logical cores. */
  cores: number;
  /** Load averages (1, 5, 15 min) before the measurements. */
  loadBefore: number[];
  /** Load averages after the measurements. */
  loadAfter: number[];
  /** Deno version. */
  deno: string;
  /** CPU model (Linux: /proc/cpuinfo), when known. */
  cpu?: string;
  /**
   * The kernels OpenBLAS picked for this CPU (`openblas_get_corename`), when OpenBLAS is loaded.
   * The rates depend on it: OpenBLAS 0.3.21 runs AMD Zen 5 on its Haswell kernels, whose one-row
   * `sgemm` is 4× slower than its SkylakeX kernels' on the same CPU.
   */
  blasKernels?: string;
}

/** The machine line: cores, CPU, BLAS kernels, load averages before and after, Deno and PyTorch. */
export function formatMachine(m: BenchMachine, torch: TorchColumn[]): string {
  const la = (x: number[]) => x.map((v) => v.toFixed(2)).join(" ");
  const tv = torch.find((t) => t.run.ok);
  const torchText = tv?.run.ok ? `PyTorch ${tv.run.report.torch}` : "PyTorch absent";
  const cpu = m.cpu === undefined ? "" : ` (${m.cpu})`;
  const blas = m.blasKernels === undefined ? "" : `OpenBLAS kernels ${m.blasKernels}, `;
  return `machine: ${m.cores} cores${cpu}, ${blas}load average ${la(m.loadBefore)} before, ` +
    `${la(m.loadAfter)} after; Deno ${m.deno}; ${torchText}`;
}

/**
 * The comparison as a Markdown table: one row per {@link WORKLOADS} entry; columns: each of our
 * backends, each PyTorch thread count, then ours (first backend) / PyTorch for each thread count.
 */
export function formatCompareTable(ours: OursColumn[], torch: TorchColumn[]): string {
  const head = [
    "workload (env-steps/s)",
    ...ours.map((o) => `ours ${o.backend}`),
    ...torch.map((t) => torchLabel(t)),
    ...torch.map((t) => `ours/${torchLabel(t)}`),
  ];
  const lines = [
    `| ${head.join(" | ")} |`,
    `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
  ];
  for (const w of WORKLOADS) {
    const info = WORKLOAD_INFO[w];
    const oc = ours.map((o) => o.cells[info.ours]);
    const tc = torch.map((t) => torchCell(t, info.torchMode));
    const cells = [
      info.label,
      ...oc.map(formatCell),
      ...tc.map((t) => (isNotParallel(t) ? "-" : formatCell(t))),
      ...tc.map((t) => formatRatio(ratio(oc[0], t))),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

function isNotParallel(c: Cell): boolean {
  return c.status === "skipped" && c.message === NOT_PARALLEL;
}

/** A PyTorch column's name: "torch 1 thr", or "torch 2×1 thr" for two 1-thread processes. */
export function torchLabel(t: TorchColumn): string {
  const p = t.processes ?? 1;
  return p > 1 ? `torch ${p}×${t.threads} thr` : `torch ${t.threads} thr`;
}

/** The best (highest) single-process PyTorch cell of a mode over the thread counts, or undefined. */
export function bestTorch(torch: TorchColumn[], mode: string): Cell | undefined {
  let best: Cell | undefined;
  for (const t of torch) {
    if ((t.processes ?? 1) > 1) continue; // one process: the reference protocol
    const c = torchCell(t, mode);
    if (c.status !== "ok") continue;
    if (best?.status !== "ok" || c.value.envStepsPerSecond > best.value.envStepsPerSecond) {
      best = c;
    }
  }
  return best;
}

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
 * import { figureBudget } from "./compare.ts";
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
 * import { figureBudget, panelSeconds } from "./compare.ts";
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
 * import { figureBudget, panelSecondsByAlgorithm } from "./compare.ts";
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

/** Mode-by-mode best of two PyTorch rounds (a failed round keeps the other's results). */
export function mergeTorchRuns(a: TorchRun, b: TorchRun): TorchRun {
  if (!a.ok || !b.ok) return a.ok ? a : b;
  const results: Record<string, Measurement> = { ...a.report.results };
  for (const [mode, m] of Object.entries(b.report.results)) {
    if (!results[mode] || m.envStepsPerSecond > results[mode].envStepsPerSecond) {
      results[mode] = m;
    }
  }
  return { ok: true, report: { ...a.report, results } };
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
