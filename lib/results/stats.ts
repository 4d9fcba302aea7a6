/**
 * Aggregate statistics over runs as rliable defines them (Agarwal et al., "Deep RL at the Edge of the
 * Statistical Precipice", NeurIPS 2021): final performance per run, mean ± standard error, the
 * interquartile mean (IQM), stratified bootstrap percentile confidence intervals and the probability
 * of improvement P(X > Y). Every bootstrap draw comes from an explicit seeded stream (lib/rng.ts).
 *
 * Scores are given per stratum (task / panel): `scores[task][run]`. Strata may have different run
 * counts; the bootstrap resamples runs within each stratum, never across.
 *
 * @example
 * ```ts
 * import { iqm, stratifiedBootstrapCi } from "./stats.ts";
 * const scores = [[0, 0.2, 0.9, 1, 1, 0.4, 0.7, 0.8]];
 * console.log(iqm(scores)); // mean of the middle half: 0.7
 * const ci = stratifiedBootstrapCi(scores, iqm, { seed: 1, resamples: 500 });
 * console.log(ci.lo <= 0.7 && 0.7 <= ci.hi); // true
 * ```
 * @module
 */
import { makeRng, randInt } from "../rng.ts";

/** Scores per stratum: `scores[task][run]`. */
export type Scores = readonly (readonly number[])[];

/** A point estimate with its confidence interval. */
export interface Interval {
  /** The statistic on the observed data. */
  point: number;
  /** Lower bound of the interval. */
  lo: number;
  /** Upper bound of the interval. */
  hi: number;
}

function checkScores(scores: Scores, what: string): void {
  if (scores.length === 0) throw new Error(`${what}: no strata; expected at least one task`);
  scores.forEach((s, i) => {
    if (s.length === 0) throw new Error(`${what}: stratum ${i} has no runs`);
    s.forEach((v, j) => {
      if (!Number.isFinite(v)) {
        throw new Error(`${what}: score [${i}][${j}] is ${v}; expected a finite number`);
      }
    });
  });
}

/**
 * Final performance of one run: the mean of its last `k` logged values (default 10, the issue's
 * protocol); fewer points than `k` use all of them.
 */
export function finalPerformance(values: readonly number[], k = 10): number {
  if (!Number.isInteger(k) || k < 1) throw new Error(`finalPerformance: k=${k}; expected >= 1`);
  if (values.length === 0) throw new Error("finalPerformance: a run with no logged points");
  const tail = values.slice(-k);
  return tail.reduce((a, b) => a + b, 0) / tail.length;
}

/** Mean and standard error (sample standard deviation / √n; 0 for a single value). */
export function meanSe(values: readonly number[]): { mean: number; se: number; n: number } {
  checkScores([values], "meanSe");
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, se: 0, n };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, se: Math.sqrt(ss / (n - 1) / n), n };
}

/**
 * Trimmed mean as scipy.stats.trim_mean: sort, drop ⌊p·n⌋ values at each end, average the rest.
 */
export function trimMean(values: readonly number[], proportion: number): number {
  if (!(proportion >= 0 && proportion < 0.5)) {
    throw new Error(`trimMean: proportion ${proportion}; expected 0 <= p < 0.5`);
  }
  checkScores([values], "trimMean");
  const sorted = [...values].sort((a, b) => a - b);
  const cut = Math.floor(proportion * sorted.length);
  const kept = sorted.slice(cut, sorted.length - cut);
  return kept.reduce((a, b) => a + b, 0) / kept.length;
}

/** Interquartile mean (rliable): the 25% trimmed mean of all run scores of all strata together. */
export function iqm(scores: Scores): number {
  checkScores(scores, "iqm");
  return trimMean(scores.flat(), 0.25);
}

/** Mean of all run scores of all strata together. */
export function mean(scores: Scores): number {
  checkScores(scores, "mean");
  const all = scores.flat();
  return all.reduce((a, b) => a + b, 0) / all.length;
}

/**
 * Probability of improvement (rliable): per stratum, P(X > Y) over all pairs of runs with ties
 * counting 1/2 (the Mann–Whitney U statistic divided by n·m), averaged over strata.
 */
export function probabilityOfImprovement(x: Scores, y: Scores): number {
  checkScores(x, "probabilityOfImprovement x");
  checkScores(y, "probabilityOfImprovement y");
  if (x.length !== y.length) {
    throw new Error(`probabilityOfImprovement: x has ${x.length} strata, y ${y.length}`);
  }
  let total = 0;
  for (let t = 0; t < x.length; t++) {
    let s = 0;
    for (const a of x[t]) for (const b of y[t]) s += a > b ? 1 : a === b ? 0.5 : 0;
    total += s / (x[t].length * y[t].length);
  }
  return total / x.length;
}

/** Linear-interpolation percentile of sorted values (numpy's default), q in [0, 100]. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error("percentile: no values");
  if (!(q >= 0 && q <= 100)) throw new Error(`percentile: q=${q}; expected 0..100`);
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/** Options of the bootstrap. */
export interface BootstrapOptions {
  /** Seed of the resampling stream. */
  seed: number | string;
  /** Number of bootstrap resamples (default 2000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  confidence?: number;
}

function resampleStrata(scores: Scores, rng: () => number): number[][] {
  return scores.map((s) => s.map(() => s[randInt(rng, s.length)]));
}

function percentileInterval(point: number, stats: number[], confidence: number): Interval {
  stats.sort((a, b) => a - b);
  const alpha = (1 - confidence) / 2;
  return { point, lo: percentile(stats, 100 * alpha), hi: percentile(stats, 100 * (1 - alpha)) };
}

function checkBootstrap(o: BootstrapOptions): { resamples: number; confidence: number } {
  const resamples = o.resamples ?? 2000;
  const confidence = o.confidence ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new Error(`bootstrap: resamples=${resamples}; expected a positive integer`);
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new Error(`bootstrap: confidence=${confidence}; expected 0 < c < 1`);
  }
  return { resamples, confidence };
}

/**
 * Stratified bootstrap percentile confidence interval of `statistic` (rliable's
 * StratifiedBootstrap): each resample draws, within every stratum, as many runs as it has, with
 * replacement.
 */
export function stratifiedBootstrapCi(
  scores: Scores,
  statistic: (s: Scores) => number,
  options: BootstrapOptions,
): Interval {
  checkScores(scores, "stratifiedBootstrapCi");
  const { resamples, confidence } = checkBootstrap(options);
  const rng = makeRng(options.seed);
  const stats: number[] = [];
  for (let b = 0; b < resamples; b++) stats.push(statistic(resampleStrata(scores, rng)));
  return percentileInterval(statistic(scores), stats, confidence);
}

/**
 * Probability of improvement P(X > Y) with its stratified bootstrap interval: X and Y are
 * resampled independently within each stratum (rliable's StratifiedIndependentBootstrap).
 */
export function probabilityOfImprovementCi(
  x: Scores,
  y: Scores,
  options: BootstrapOptions,
): Interval {
  const point = probabilityOfImprovement(x, y);
  const { resamples, confidence } = checkBootstrap(options);
  const rng = makeRng(options.seed);
  const stats: number[] = [];
  for (let b = 0; b < resamples; b++) {
    stats.push(probabilityOfImprovement(resampleStrata(x, rng), resampleStrata(y, rng)));
  }
  return percentileInterval(point, stats, confidence);
}
