/**
 * Bookkeeping of the training loop (loop.ts): how a run counts steps, schedules logging and
 * averages returns.
 *
 * @module
 */
import type { LoopState } from "./checkpoint.ts";
import type { TrainConfig } from "./config.ts";

/** The counters of a run that has not started. */
export function freshState(c: TrainConfig): LoopState {
  return {
    envSteps: 0,
    episodes: 0,
    trainedSteps: 0,
    gradientSteps: 0,
    targetUpdates: 0,
    nextTargetUpdate: 0,
    nextLog: c.logEvery,
    returns: [],
    lastReturn: NaN,
    epsilon: 1,
    lossQSum: 0,
    lossUSum: 0,
    lossCount: 0,
    lastMetricStep: -1,
    wallSeconds: 0,
    finished: false,
  };
}

/** The smallest multiple of `every` strictly above `x`. */
export function nextMultiple(x: number, every: number): number {
  return (Math.floor(x / every) + 1) * every;
}

/** Mean of `xs`; NaN when empty. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}
