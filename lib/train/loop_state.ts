/**
 * Bookkeeping of the training loop (loop.ts): how a run counts steps, schedules logging and
 * averages returns.
 *
 * @module
 */
import type { Episode } from "./agent.ts";
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
    outcomes: [],
    lengths: [],
    nextEval: c.evalEvery > 0 ? c.evalEvery : undefined,
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

/**
 * How an episode ended: terminated with a positive, negative or zero final reward (Heaven-Hell:
 * heaven, hell, —), or cut by the time limit / the environment's truncation.
 */
export type EpisodeOutcome = "positive" | "negative" | "zero" | "truncated";

/** The {@link EpisodeOutcome} of a played episode. */
export function episodeOutcome(episode: Episode): EpisodeOutcome {
  if (!episode.terminated) return "truncated";
  const r = episode.length > 0 ? episode.rewards[episode.length - 1] : 0;
  return r > 0 ? "positive" : r < 0 ? "negative" : "zero";
}

/** Share of each outcome among `outcomes` (every share NaN when empty). */
export function outcomeShares(
  outcomes: readonly EpisodeOutcome[],
): Record<EpisodeOutcome, number> {
  const n = outcomes.length;
  const count = (o: EpisodeOutcome) => n === 0 ? NaN : outcomes.filter((x) => x === o).length / n;
  return {
    positive: count("positive"),
    negative: count("negative"),
    zero: count("zero"),
    truncated: count("truncated"),
  };
}

/** Append `x` to the sliding window `xs`, keeping its last `size` entries. */
export function pushWindow<T>(xs: T[], x: T, size: number): void {
  xs.push(x);
  if (xs.length > size) xs.shift();
}
