/**
 * Our side of `deno task bench --compare`: the Heaven-Hell-3 ADQN workloads of
 * bench/torch_workload.py timed with this library on the current TensorFlow.js backend.
 *
 * @module
 */
import { makeEnv } from "../envs/mod.ts";
import { makeAgent } from "../models/agent.ts";
import { type BackendName, initBackend } from "../nn/backend.ts";
import type { AlgoId } from "../train/agent.ts";
import {
  benchEpisode,
  type Cell,
  type ComparisonResult,
  EPISODE_STEPS,
  type Measurement,
  type OursColumn,
  runTorch,
  timeIt,
  type TorchColumn,
} from "./compare.ts";

/** Batched multi-run measurements (K independent runs in one computation). */
export interface BatchedBench {
  /** One gradient step of each of `k` runs on its own 100-step episode, timed. */
  train(k: number, seconds: number): Measurement;
  /** One acting step (GRU step + Q head + argmax) of each of `k` runs, timed. */
  act(k: number, seconds: number): Measurement;
}

/** Where the batched trainer may appear, relative to this file. */
export const BATCHED_CANDIDATES: readonly string[] = [
  "../train/batched_bench.ts",
  "../../bench/batched_bench.ts",
];

/**
 * The batched multi-run benchmark if the batched trainer exists, else why not (the rows then read
 * "pending").
 */
export async function loadBatchedBench(): Promise<{ bench: BatchedBench } | { message: string }> {
  for (const rel of BATCHED_CANDIDATES) {
    const url = new URL(rel, import.meta.url);
    try {
      await Deno.stat(url);
    } catch {
      continue;
    }
    return {
      message: `batched trainer found at ${url.pathname} but not wired into the comparison yet`,
    };
  }
  return {
    message: `batched multi-run trainer not available yet (looked for ${
      BATCHED_CANDIDATES.map((c) => new URL(c, import.meta.url).pathname).join(", ")
    })`,
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
  /** Progress messages (default: none). */
  log?: (line: string) => void;
}

/**
 * Time our workloads on the current backend (initialise it first): `train-1`, `train-32`,
 * `act-1` with one {@link makeAgent} agent, and `runs-8`, `runs-20`, `act-20` with the batched
 * trainer when available.
 */
export function measureOurs(options: MeasureOursOptions): Record<string, Cell> {
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
    for (const k of ["runs-8", "runs-20", "act-20"]) cells[k] = { status: "pending", message };
  } else {
    for (const k of [8, 20]) {
      log(`ours runs-${k}`);
      cells[`runs-${k}`] = measureSafely(() => batched.bench.train(k, options.seconds));
    }
    log("ours act-20");
    cells["act-20"] = measureSafely(() => batched.bench.act(20, options.seconds));
  }
  return cells;
}

function measureSafely(fn: () => Measurement): Cell {
  try {
    return { status: "ok", value: fn() };
  } catch (e) {
    return { status: "error", message: e instanceof Error ? e.message : String(e) };
  }
}

/** First index of the largest value. */
function argmax(q: Float32Array): number {
  let best = 0;
  for (let i = 1; i < q.length; i++) if (q[i] > q[best]) best = i;
  return best;
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
}

/**
 * Measure our workloads on each backend, then PyTorch's with each thread count, one after the
 * other (never concurrently: the machine has few cores).
 */
export async function runComparison(options: ComparisonOptions): Promise<ComparisonResult> {
  const log = options.log ?? (() => {});
  const loadBefore = Deno.loadavg();
  const batched = await loadBatchedBench();
  if ("message" in batched) log(`note: ${batched.message}`);
  const ours: OursColumn[] = [];
  for (const name of options.backends ?? ["auto", "wasm"]) {
    const used = await initBackend(name);
    if (ours.some((o) => o.backend === used)) continue;
    log(`timing ours on ${used}...`);
    ours.push({
      backend: used,
      cells: measureOurs({ seconds: options.seconds, batched, log: (l) => log(`  ${l}`) }),
    });
  }
  const torch: TorchColumn[] = [];
  for (const threads of options.torchThreads ?? [1, 2]) {
    log(`timing PyTorch with ${threads} thread(s)...`);
    const run = await runTorch({ threads, seconds: options.seconds, python: options.python });
    if (!run.ok) log(`  ${run.message}`);
    torch.push({ threads, run });
  }
  return {
    machine: {
      cores: navigator.hardwareConcurrency,
      loadBefore,
      loadAfter: Deno.loadavg(),
      deno: Deno.version.deno,
    },
    ours,
    torch,
  };
}
