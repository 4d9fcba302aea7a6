/**
 * A fake trainer with the contract of `trainBatch()` (lib/train/loop.ts), for tests of the
 * experiment layer: the K runs of a call train one after another; each has deterministic episodes drawn from the seed, metric points at each crossing of logEvery and
 * at the end, JSON checkpoints written atomically (resumed when present), and a clean stop on the
 * abort signal. Optional delay per episode and failure at a step.
 */
import { makeRng, randInt, type RngState } from "../../lib/rng.ts";
import type { TrainConfig } from "../../lib/train/config.ts";
import type { MetricPoint, TrainOptions, TrainResult } from "../../lib/train/loop.ts";
import type { Trainer } from "../../lib/experiments/runner.ts";
import type { WorkerCommand } from "../../lib/experiments/reproduce.ts";
import { CORRUPT_CHECKPOINT_ADVICE } from "../../lib/train/checkpoint.ts";

/** Options of the fake. */
export interface FakeOptions {
  /** Milliseconds to sleep per episode, may be fractional (default 0; yields every 20 ms anyway). */
  delayMs?: number;
  /** Throw once the step count reaches this. */
  failAtStep?: number;
  /** Count of calls, for "did no work" assertions. */
  calls?: { n: number };
}

interface FakeState {
  envSteps: number;
  episodes: number;
  returns: number[];
  nextLog: number;
  lastMetricStep: number;
  wallSeconds: number;
  finished: boolean;
  rng: RngState | null;
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** One run of a fake: the options of `train()` for that run. */
export type FakeRun = (config: TrainConfig, options: TrainOptions) => Promise<TrainResult>;

class DroppedRun extends Error {}

/**
 * A {@link Trainer} of K ≥ 1 runs out of a fake of one run: the runs train one after another, each
 * with its own share of the options; a dropped run stops at its next callback (by an exception, so
 * that it writes no checkpoint) and its result says not finished.
 */
export function fakeRunsOneByOne(one: FakeRun): Trainer {
  return async (configs, options) => {
    const out: TrainResult[] = [];
    for (const [k, config] of configs.entries()) {
      const notFinished = { config, metrics: [], finished: false, envSteps: 0, episodes: 0 };
      const check = () => {
        if (options.dropped?.(k)) throw new DroppedRun();
      };
      const o: TrainOptions = {
        checkpointPath: options.checkpointPaths?.[k],
        signal: options.signal,
        mayWriteCheckpoint: () =>
          !options.dropped?.(k) && options.mayWriteCheckpoint?.(k) !== false,
        onMetric: (p) => {
          check();
          return options.onMetric?.(k, p);
        },
        onProgress: (p) => {
          check();
          options.onProgress?.(k, p);
        },
      };
      if (options.checkpointEverySteps !== undefined) {
        o.checkpointEverySteps = options.checkpointEverySteps;
      }
      try {
        check();
        out.push(await one(config, o));
      } catch (e) {
        if (!(e instanceof DroppedRun)) throw e;
        out.push({ ...notFinished, wallSeconds: 0 });
      }
    }
    return out;
  };
}

/** A fake trainer. */
export function fakeTrainer(options: FakeOptions = {}): Trainer {
  return fakeRunsOneByOne(async (config, opts) => {
    if (options.calls) options.calls.n++;
    const c = config;
    const every = opts.checkpointEverySteps ?? c.logEvery;
    let state: FakeState = {
      envSteps: 0,
      episodes: 0,
      returns: [],
      nextLog: c.logEvery,
      lastMetricStep: -1,
      wallSeconds: 0,
      finished: false,
      rng: null,
    };
    if (opts.checkpointPath) {
      try {
        const text = Deno.readTextFileSync(opts.checkpointPath);
        let saved;
        try {
          saved = JSON.parse(text);
        } catch (e) {
          // As the real trainer does on a damaged file: the error says what to do.
          throw new Error(
            `corrupt or unreadable checkpoint ${opts.checkpointPath}: ${(e as Error).message}. ` +
              CORRUPT_CHECKPOINT_ADVICE,
          );
        }
        if (saved.seed !== c.seed || saved.totalSteps !== c.totalSteps) {
          throw new Error(`checkpoint ${opts.checkpointPath} belongs to another run`);
        }
        state = saved.state;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    const rng = makeRng(`${c.seed}/fake`, state.rng ?? undefined);
    const t0 = performance.now();
    const base = state.wallSeconds;
    const wall = () => base + (performance.now() - t0) / 1000;
    const metrics: MetricPoint[] = [];
    const save = () => {
      if (!opts.checkpointPath || opts.mayWriteCheckpoint?.() === false) return;
      state.rng = rng.state();
      state.wallSeconds = wall();
      const tmp = `${opts.checkpointPath}.tmp`;
      Deno.writeTextFileSync(
        tmp,
        JSON.stringify({ seed: c.seed, totalSteps: c.totalSteps, state }),
      );
      Deno.renameSync(tmp, opts.checkpointPath);
    };
    const emit = async () => {
      const post = Math.max(0, state.envSteps - c.prepopulateSteps);
      const p: MetricPoint = {
        envStep: state.envSteps,
        episodes: state.episodes,
        avgReturn: mean(state.returns),
        epsilon: Math.max(c.epsilonEnd, 1 - post / Math.max(1, c.epsilonDecaySteps)),
        lossQ: state.episodes % 7 === 0 ? NaN : 1 / (1 + state.episodes),
        lossU: c.algo === "dqn" ? 0 : 2 / (1 + state.episodes),
        trainedSteps: Math.floor(post * c.replayRatio),
        wallSeconds: wall(),
      };
      state.lastMetricStep = state.envSteps;
      metrics.push(p);
      await opts.onMetric?.(p);
    };
    let nextCkpt = (Math.floor(state.envSteps / every) + 1) * every;
    let debt = 0;
    let lastYield = performance.now();
    while (!state.finished && state.envSteps < c.totalSteps) {
      if (opts.signal?.aborted) break;
      const len = 3 + randInt(rng, Math.min(20, c.timeLimit));
      const ret = Math.round((rng() * 2 - 1 + state.envSteps / c.totalSteps) * 100) / 100;
      state.envSteps += len;
      state.episodes++;
      state.returns.push(ret);
      if (state.returns.length > c.returnWindow) state.returns.shift();
      if (options.failAtStep !== undefined && state.envSteps >= options.failAtStep) {
        throw new Error(`fake failure at step ${state.envSteps}`);
      }
      if (state.envSteps >= state.nextLog) {
        state.nextLog = (Math.floor(state.envSteps / c.logEvery) + 1) * c.logEvery;
        await emit();
      }
      opts.onProgress?.({
        envStep: state.envSteps,
        totalSteps: c.totalSteps,
        episodes: state.episodes,
        lastReturn: ret,
      });
      if (state.envSteps >= c.totalSteps) break;
      if (state.envSteps >= nextCkpt) {
        nextCkpt = (Math.floor(state.envSteps / every) + 1) * every;
        save();
      }
      debt += options.delayMs ?? 0;
      if (debt >= 1) {
        await new Promise((r) => setTimeout(r, Math.floor(debt)));
        debt -= Math.floor(debt);
        lastYield = performance.now();
      } else if (performance.now() - lastYield > 20) {
        await new Promise((r) => setTimeout(r, 0));
        lastYield = performance.now();
      }
    }
    const finished = state.envSteps >= c.totalSteps;
    if (finished && !state.finished) {
      if (state.lastMetricStep !== state.envSteps) await emit();
      state.finished = true;
      save();
    } else if (!finished) {
      save();
    }
    return {
      config: c,
      metrics,
      finished,
      envSteps: state.envSteps,
      episodes: state.episodes,
      wallSeconds: wall(),
    };
  });
}

/** Metric points without their wall-clock times (which differ between runs). */
export function withoutWall(points: readonly MetricPoint[]): Omit<MetricPoint, "wallSeconds">[] {
  return points.map(({ wallSeconds: _w, ...rest }) => rest);
}

const ROOT = new URL("../../", import.meta.url).pathname;

/** Start fake-trainer workers (tests/experiments/fixtures/fake_worker.ts) instead of real ones. */
export const fakeWorkerCommand: WorkerCommand = (args) => ({
  command: Deno.execPath(),
  args: [
    "run",
    "-A",
    "--config",
    `${ROOT}deno.json`,
    `${ROOT}tests/experiments/fixtures/fake_worker.ts`,
    ...args,
  ],
});
