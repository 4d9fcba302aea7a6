/**
 * Our side of `deno task bench --compare`: the Heaven-Hell-3 ADQN workloads of
 * bench/torch_workload.py timed with this library on the current TensorFlow.js backend.
 *
 * @module
 */
import { makeEnv } from "../envs/mod.ts";
import { makeAgent } from "../models/batched_agent.ts";
import { type BackendName, initBackend } from "../nn/backend.ts";
import { openBlas } from "../nn/blas.ts";
import { machineInfo } from "../results/db.ts";
import { ALGO_IDS, type AlgoId } from "../train/agent.ts";
import { argmax } from "../train/episode.ts";
import { benchBatched } from "../train/batched_bench.ts";
import {
  benchEpisode,
  type Cell,
  type ComparisonResult,
  EPISODE_STEPS,
  type Measurement,
  mergeCells,
  mergeTorchRuns,
  type OursColumn,
  runTorch,
  runTorchParallel,
  sumMeasurements,
  timeIt,
  type TorchColumn,
} from "./compare.ts";

/** Batched multi-run measurements (K independent runs in one computation). */
export interface BatchedBench {
  /**
   * Time `k` runs on `backend`: one gradient step of each run on its own 100-step episode, and,
   * when `act` is true, one acting step (batched forward + argmax + environment step) of each run.
   */
  measure(
    k: number,
    backend: BackendName,
    seconds: number,
    act: boolean,
  ): Promise<{ train: Measurement; act: Measurement | null; actRunMajor: Measurement | null }>;
}

/**
 * The batched multi-run benchmark of the batched trainer: `benchBatched` of
 * lib/train/batched_bench.ts (K runs of `algo` for `envId` in one `makeBatchedAgent`, seeds
 * 0..K-1; its acting steps real environments too).
 */
export function batchedBench(envId = "heaven-hell-3", algo: AlgoId = "adqn"): BatchedBench {
  return {
    async measure(k, backend, seconds, act) {
      const r = await benchBatched({ k, backend, seconds, env: envId, algo, act });
      return {
        train: {
          perSecond: r.roundsPerSecond,
          envStepsPerSecond: r.trainedStepsPerSecond,
          iterations: r.iterations.train,
        },
        act: r.actStepsPerSecond === null ? null : {
          perSecond: r.actStepsPerSecond / k,
          envStepsPerSecond: r.actStepsPerSecond,
          iterations: r.iterations.act ?? 0,
        },
        actRunMajor: r.actRunMajorStepsPerSecond === null ? null : {
          perSecond: r.actRunMajorStepsPerSecond / k,
          envStepsPerSecond: r.actRunMajorStepsPerSecond,
          iterations: 0,
        },
      };
    },
  };
}

/** The batched benchmark script that {@link measureParallel} starts in each process. */
export const BATCHED_BENCH_SCRIPT: string = new URL("../../bench/batched_bench.ts", import.meta.url)
  .pathname;

/** Options of {@link measureParallel}. */
export interface ParallelOptions {
  /** Concurrent processes (one per core). */
  processes: number;
  /** Runs batched in each process. */
  k: number;
  /** Minimum seconds of each timed measurement. */
  seconds: number;
  /** Backend of every process (default `auto`). */
  backend?: BackendName;
  /** Script to run (default {@link BATCHED_BENCH_SCRIPT}; it must accept its flags). */
  script?: string;
  /** Algorithm of every run (default adqn). */
  algo?: AlgoId;
  /** Also time acting (default true). */
  act?: boolean;
}

/**
 * Aggregate throughput of `processes` concurrent processes, each training `k` batched runs (and
 * acting in k environments run after run, as the trainer does): the deployment `reproduce` uses,
 * one worker per core. The processes start timing at the same wall-clock instant; rates add up.
 */
export async function measureParallel(
  options: ParallelOptions,
): Promise<{ train: Measurement; actRunMajor: Measurement | null }> {
  const { processes, k, seconds } = options;
  if (!Number.isInteger(processes) || processes < 1 || !Number.isInteger(k) || k < 1) {
    throw new Error(
      `measureParallel: invalid processes ${processes} or k ${k}; expected integers ≥ 1`,
    );
  }
  const startAt = Date.now() + 8_000; // after every process has loaded and warmed up (~3 s)
  const act = options.act ?? true;
  const args = [
    "run",
    "-A",
    options.script ?? BATCHED_BENCH_SCRIPT,
    "--k",
    String(k),
    "--seconds",
    String(seconds),
    "--backends",
    options.backend ?? "auto",
    "--start-at",
    String(startAt),
    "--algo",
    options.algo ?? "adqn",
    ...(act ? [] : ["--no-act"]),
    "--json",
  ];
  const outs = await Promise.all(
    Array.from(
      { length: processes },
      () => new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).output(),
    ),
  );
  const rows = outs.map((out, i) => {
    if (!out.success) {
      const tail = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
      throw new Error(`measureParallel: process ${i + 1} exited with code ${out.code}: ${tail}`);
    }
    const parsed = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      roundsPerSecond: number;
      trainedStepsPerSecond: number;
      actRunMajorStepsPerSecond: number | null;
      iterations: { train: number };
    }[];
    if (parsed.length !== 1 || (act && parsed[0].actRunMajorStepsPerSecond === null)) {
      throw new Error(`measureParallel: process ${i + 1} printed no acting measurement`);
    }
    return parsed[0];
  });
  return {
    train: sumMeasurements(rows.map((r) => ({
      perSecond: r.roundsPerSecond,
      envStepsPerSecond: r.trainedStepsPerSecond,
      iterations: r.iterations.train,
    }))),
    actRunMajor: act
      ? sumMeasurements(rows.map((r) => ({
        perSecond: r.actRunMajorStepsPerSecond! / k,
        envStepsPerSecond: r.actRunMajorStepsPerSecond!,
        iterations: 0,
      })))
      : null,
  };
}

/** Options of {@link measureOurs}. */
export interface MeasureOursOptions {
  /** Minimum seconds per measurement after one warm-up call. */
  seconds: number;
  /** Environment whose model preset is timed (default heaven-hell-3). */
  envId?: string;
  /** Algorithm (default adqn). */
  algo?: AlgoId;
  /** The batched benchmark, or why it is missing (its rows then read "pending"). */
  batched?: { bench: BatchedBench } | { message: string };
  /** Backend the batched benchmark (re)initialises; pass the one in use (default `auto`). */
  backend?: BackendName;
  /** Progress messages (default: none). */
  log?: (line: string) => void;
  /** Processes of the whole-machine rows (default 2; must divide 20). */
  processes?: number;
  /**
   * Also time the four other algorithms on both cores (default true): the Figure 1a estimate
   * reads them from the first backend's column only.
   */
  everyAlgorithm?: boolean;
}

/**
 * Time our workloads on the current backend (initialise it first): `train-1`, `train-32`,
 * `act-1` with one {@link makeAgent} agent, and `runs-8`, `runs-20`, `act-20` with the batched
 * trainer when available.
 */
export async function measureOurs(options: MeasureOursOptions): Promise<Record<string, Cell>> {
  const env = makeEnv(options.envId ?? "heaven-hell-3");
  const agent = makeAgent(env, options.algo ?? "adqn", { seed: 0 });
  const cells: Record<string, Cell> = {};
  const log = options.log ?? (() => {});
  const ok = (value: Measurement): Cell => ({ status: "ok", value });
  try {
    const one = [benchEpisode(env, 1, EPISODE_STEPS)];
    const many = Array.from({ length: 32 }, (_, i) => benchEpisode(env, 100 + i, EPISODE_STEPS));
    log("ours train-1");
    const t1 = timeIt(() => agent.trainStep(one, { gamma: 0.99 }), options.seconds);
    cells["train-1"] = ok({ ...t1, envStepsPerSecond: t1.perSecond * EPISODE_STEPS });
    log("ours train-32");
    const t32 = timeIt(() => agent.trainStep(many, { gamma: 0.99 }), options.seconds);
    cells["train-32"] = ok({ ...t32, envStepsPerSecond: t32.perSecond * 32 * EPISODE_STEPS });
    log("ours act-1");
    const ow = env.obsSpec.size;
    let h = agent.initialHidden();
    let t = 0;
    const act = timeIt(() => {
      for (let i = 0; i < EPISODE_STEPS; i++, t = (t + 1) % EPISODE_STEPS) {
        const prev = t === 0 ? -1 : one[0].actions[t - 1];
        const out = agent.act(h, prev, one[0].obs.subarray(t * ow, (t + 1) * ow));
        argmax(out.q);
        h = out.hidden;
      }
    }, options.seconds);
    const perStep = act.perSecond * EPISODE_STEPS;
    cells["act-1"] = ok({
      perSecond: perStep,
      envStepsPerSecond: perStep,
      iterations: act.iterations * EPISODE_STEPS,
    });
  } finally {
    agent.dispose();
  }
  const batched = options.batched;
  if (batched === undefined || "message" in batched) {
    const message = batched?.message ?? "batched trainer not measured";
    for (const k of ["runs-8", "runs-20", "act-20", "act-20-rm", "runs-20-2p", "act-20-2p"]) {
      cells[k] = { status: "pending", message };
    }
  } else {
    for (const k of [8, 20]) {
      log(`ours runs-${k}${k === 20 ? " and act-20" : ""}`);
      try {
        const r = await batched.bench.measure(
          k,
          options.backend ?? "auto",
          options.seconds,
          k === 20,
        );
        cells[`runs-${k}`] = ok(r.train);
        if (r.act) cells[`act-${k}`] = ok(r.act);
        if (r.actRunMajor) cells[`act-${k}-rm`] = ok(r.actRunMajor);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        cells[`runs-${k}`] = { status: "error", message };
        if (k === 20) cells["act-20"] = cells["act-20-rm"] = { status: "error", message };
      }
    }
    // Both cores at once: ADQN with acting, then the other algorithms' training alone, for the
    // Figure 1a estimate (acting is the same GRU + Q head for all five).
    const processes = options.processes ?? 2;
    const others = options.everyAlgorithm ?? true ? ALGO_IDS.filter((a) => a !== "adqn") : [];
    for (const algo of ["adqn", ...others] as AlgoId[]) {
      const act = algo === "adqn";
      const key = act ? "runs-20-2p" : `runs-20-2p:${algo}`;
      log(`ours ${key}${act ? " and act-20-2p" : ""} (${processes} processes × ${20 / processes})`);
      try {
        const r = await measureParallel({
          processes,
          k: 20 / processes,
          seconds: options.seconds,
          backend: options.backend ?? "auto",
          algo,
          act,
        });
        cells[key] = ok(r.train);
        if (r.actRunMajor) cells["act-20-2p"] = ok(r.actRunMajor);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        cells[key] = { status: "error", message };
        if (act) cells["act-20-2p"] = { status: "error", message };
      }
    }
  }
  return cells;
}

/** Options of {@link runComparison}. */
export interface ComparisonOptions {
  /** Minimum seconds per measurement (after one warm-up call). */
  seconds: number;
  /** Our backends, the default first (default `["auto", "wasm"]`; duplicates resolved away). */
  backends?: BackendName[];
  /** PyTorch thread counts (default `[1, 2]`); empty skips PyTorch. */
  torchThreads?: number[];
  /** Python interpreter with PyTorch (default /usr/bin/python3). */
  python?: string;
  /** Progress messages (default: none). */
  log?: (line: string) => void;
  /** Rounds of every measurement; each cell keeps its best round (default 1). */
  rounds?: number;
}

/**
 * Measure our workloads on each backend, then PyTorch's with each thread count, one after the
 * other (never concurrently: the machine has few cores), `rounds` times over; every cell keeps
 * its fastest round, which filters out the slowdowns other jobs on a shared machine cause.
 */
export async function runComparison(options: ComparisonOptions): Promise<ComparisonResult> {
  const log = options.log ?? (() => {});
  const rounds = options.rounds ?? 1;
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new Error(`runComparison: invalid rounds ${rounds}; expected a positive integer`);
  }
  const loadBefore = Deno.loadavg();
  const ours: OursColumn[] = [];
  const torch: TorchColumn[] = [];
  for (let round = 1; round <= rounds; round++) {
    const tag = rounds > 1 ? ` (round ${round}/${rounds})` : "";
    const seen = new Set<string>();
    for (const name of options.backends ?? ["auto", "wasm"]) {
      const used = await initBackend(name);
      if (seen.has(used)) continue;
      seen.add(used);
      log(`timing ours on ${used}${tag}...`);
      const cells = await measureOurs({
        seconds: options.seconds,
        backend: name,
        batched: { bench: batchedBench() },
        log: (l) => log(`  ${l}`),
        everyAlgorithm: ours.length === 0 || ours[0].backend === used,
      });
      const prev = ours.find((o) => o.backend === used);
      if (prev) prev.cells = mergeCells(prev.cells, cells);
      else ours.push({ backend: used, cells });
    }
    for (const threads of options.torchThreads ?? [1, 2]) {
      log(`timing PyTorch with ${threads} thread(s)${tag}...`);
      const run = await runTorch({ threads, seconds: options.seconds, python: options.python });
      if (!run.ok) log(`  ${run.message}`);
      const prev = torch.find((t) => t.threads === threads);
      if (prev) prev.run = mergeTorchRuns(prev.run, run);
      else torch.push({ threads, run });
    }
    if ((options.torchThreads ?? [1, 2]).length > 0) {
      log(`timing PyTorch as 2 concurrent 1-thread processes${tag}...`);
      const run = await runTorchParallel(2, { seconds: options.seconds, python: options.python });
      if (!run.ok) log(`  ${run.message}`);
      const prev = torch.find((t) => t.processes === 2);
      if (prev) prev.run = mergeTorchRuns(prev.run, run);
      else torch.push({ threads: 1, processes: 2, run });
    }
  }
  return {
    machine: {
      cores: navigator.hardwareConcurrency,
      loadBefore,
      loadAfter: Deno.loadavg(),
      deno: Deno.version.deno,
      ...machineDetails(),
    },
    rounds,
    ours,
    torch,
  };
}

/** The CPU model and OpenBLAS's kernel choice, where they can be read (else left out). */
function machineDetails(): { cpu?: string; blasKernels?: string } {
  const cpu = machineInfo().cpu, kernels = openBlas()?.kernels ?? "";
  return { ...(cpu ? { cpu } : {}), ...(kernels ? { blasKernels: kernels } : {}) };
}
