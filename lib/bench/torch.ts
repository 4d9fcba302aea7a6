/**
 * The PyTorch side of `deno task bench --compare`: running `bench/torch_workload.py` under Debian's
 * `/usr/bin/python3` (package `python3-torch`) with 1 or more threads, or as several concurrent
 * 1-thread processes, parsing its JSON report, and reading a PyTorch column's cells. A missing
 * Python or PyTorch is not an error: the run says why and how to install it.
 *
 * @module
 */
import {
  type Cell,
  type Measurement,
  PARALLEL_TORCH_MODES,
  sumMeasurements,
  TORCH_MODES,
} from "./workloads.ts";

/** The Python that has Debian's PyTorch (the first `python3` on PATH may be another one). */
export const DEFAULT_PYTHON = "/usr/bin/python3";

/** The PyTorch workload script. */
export const TORCH_SCRIPT: string = new URL("../../bench/torch_workload.py", import.meta.url)
  .pathname;

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
 * import { parseTorchOutput } from "./torch.ts";
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
