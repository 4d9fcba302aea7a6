/**
 * Our side of `deno task bench --compare`: the Heaven-Hell-3 ADQN workloads of
 * bench/torch_workload.py timed with this library on the current TensorFlow.js backend.
 *
 * @module
 */
import { makeEnv } from "../envs/mod.ts";
import { makeAgent } from "../models/agent.ts";
import { makeBatchedAgent } from "../models/batched_agent.ts";
import { type BackendName, initBackend } from "../nn/backend.ts";
import type { AlgoId } from "../train/agent.ts";
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

/**
 * The batched multi-run benchmark on the current backend, built on `makeBatchedAgent`
 * (lib/models/batched_agent.ts): K runs of `algo` for `envId` with seeds 0..K-1, each training on
 * its own 100-step episode and acting in its own environment.
 */
export function batchedBench(envId = "heaven-hell-3", algo: AlgoId = "adqn"): BatchedBench {
  const env = makeEnv(envId);
  const episodes = (k: number) =>
    Array.from({ length: k }, (_, i) => [benchEpisode(env, 1000 + i, EPISODE_STEPS)]);
  const seeds = (k: number) => Array.from({ length: k }, (_, i) => i);
  return {
    train(k, seconds) {
      const agents = makeBatchedAgent(env, algo, { seeds: seeds(k) });
      try {
        const batches = episodes(k);
        const r = timeIt(() => agents.trainStep(batches, { gamma: 0.99 }), seconds);
        return { ...r, envStepsPerSecond: r.perSecond * k * EPISODE_STEPS };
      } finally {
        agents.dispose();
      }
    },
    act(k, seconds) {
      const agents = makeBatchedAgent(env, algo, { seeds: seeds(k) });
      try {
        const eps = episodes(k).map((b) => b[0]);
        const ow = env.obsSpec.size;
        let hidden = eps.map(() => agents.initialHidden());
        let t = 0;
        const r = timeIt(() => {
          for (let i = 0; i < EPISODE_STEPS; i++, t = (t + 1) % EPISODE_STEPS) {
            const out = agents.actMany(eps.map((ep, run) => ({
              run,
              hidden: hidden[run],
              prevAction: t === 0 ? -1 : ep.actions[t - 1],
              obs: ep.obs.subarray(t * ow, (t + 1) * ow),
            })));
            for (const o of out) argmax(o.q);
            hidden = out.map((o) => o.hidden);
          }
        }, seconds);
        const calls = r.perSecond * EPISODE_STEPS;
        return {
          perSecond: calls,
          envStepsPerSecond: calls * k,
          iterations: r.iterations * EPISODE_STEPS,
        };
      } finally {
        agents.dispose();
      }
    },
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
      const cells = measureOurs({
        seconds: options.seconds,
        batched: { bench: batchedBench() },
        log: (l) => log(`  ${l}`),
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
  }
  return {
    machine: {
      cores: navigator.hardwareConcurrency,
      loadBefore,
      loadAfter: Deno.loadavg(),
      deno: Deno.version.deno,
    },
    rounds,
    ours,
    torch,
  };
}
