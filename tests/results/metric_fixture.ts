// One metric point for the tests that write runs through the results database: plain values that
// the tests' expectations can be checked against by hand, with per-test overrides.
import type { MetricRecord } from "../../lib/results/db.ts";

/**
 * A point at `envStep` with average return `avgReturn`: envStep/10 episodes, ε 0.5, losses 0.25 and
 * 0.125, 2·envStep trained steps, envStep/100 s of training, outcome shares 0.5 / 0.25 / 0 / 0.25,
 * mean length 7.5, no greedy evaluation (NaN); `o` replaces any of these.
 */
export function metricPoint(
  envStep: number,
  avgReturn: number,
  o: Partial<MetricRecord> = {},
): MetricRecord {
  return {
    envStep,
    episodes: envStep / 10,
    avgReturn,
    epsilon: 0.5,
    lossQ: 0.25,
    lossU: 0.125,
    trainedSteps: envStep * 2,
    wallSeconds: envStep / 100,
    sharePositive: 0.5,
    shareNegative: 0.25,
    shareZero: 0,
    shareTruncated: 0.25,
    avgLength: 7.5,
    evalReturn: NaN,
    evalLength: NaN,
    ...o,
  };
}
