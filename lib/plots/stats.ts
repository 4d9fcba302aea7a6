/**
 * Statistics of learning curves over seeds: alignment of runs on a common logging grid, the mean
 * and the standard error of the mean (sample standard deviation / √n) at each grid step.
 *
 * Alignment: a run's points are binned by `floor(envStep / logEvery) · logEvery` (a point is logged
 * when the step count crosses a multiple of `logEvery`, so it lands a few steps past it); when a
 * bin holds several points (the end-of-run point right after a crossing) the latest one counts.
 * Points whose value is not finite (NaN before the first completed episode) are missing.
 *
 * Missing points: at each grid step the statistics use the runs that have a value there, and `n`
 * says how many (a run may lack a step when one episode jumped over a whole logging interval, or
 * when it has not reached it yet). Values are never interpolated or carried forward. Steps no run
 * has are left out. With n = 1 the standard error is 0 (no band).
 *
 * @example
 * ```ts
 * import { meanStdErr } from "./stats.ts";
 * console.log(meanStdErr([1, 2, 3, 4])); // { n: 4, mean: 2.5, se: 0.6454972243679028 }
 * ```
 * @module
 */

/** A point of a learning curve. */
export interface CurvePoint {
  /** Environment steps. */
  envStep: number;
  /** Average return (non-finite = missing). */
  avgReturn: number;
}

/** Mean, standard error of the mean, and count of the finite values. */
export interface MeanSe {
  /** Number of finite values. */
  n: number;
  /** Their mean (NaN when n = 0). */
  mean: number;
  /** Sample standard deviation (n − 1) over √n; 0 when n = 1, NaN when n = 0. */
  se: number;
}

/** Mean and standard error of the finite values of `values`. */
export function meanStdErr(values: readonly number[]): MeanSe {
  const xs = values.filter(Number.isFinite);
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, se: NaN };
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / n;
  if (n === 1) return { n, mean, se: 0 };
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  return { n, mean, se: Math.sqrt(ss / (n - 1)) / Math.sqrt(n) };
}

/** One run's values on the grid: grid step → value (only finite values are kept). */
export function alignToGrid(points: readonly CurvePoint[], logEvery: number): Map<number, number> {
  if (!(logEvery > 0)) throw new Error(`invalid logEvery ${logEvery}; expected a positive number`);
  const out = new Map<number, number>();
  const sorted = [...points].sort((a, b) => a.envStep - b.envStep);
  for (const p of sorted) {
    if (!Number.isFinite(p.avgReturn) || !Number.isFinite(p.envStep)) continue;
    out.set(Math.floor(p.envStep / logEvery) * logEvery, p.avgReturn);
  }
  return out;
}

/** A mean curve with its band. */
export interface CurveStats {
  /** Grid steps (ascending). */
  x: number[];
  /** Mean over the runs present at each step. */
  mean: number[];
  /** Standard error of the mean at each step. */
  se: number[];
  /** Number of runs present at each step. */
  n: number[];
}

/** Mean ± standard error over runs at every grid step that at least one run has. */
export function curveStats(runs: readonly (readonly CurvePoint[])[], logEvery: number): CurveStats {
  const aligned = runs.map((r) => alignToGrid(r, logEvery));
  const steps = [...new Set(aligned.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  const out: CurveStats = { x: [], mean: [], se: [], n: [] };
  for (const s of steps) {
    const vals: number[] = [];
    for (const m of aligned) {
      const v = m.get(s);
      if (v !== undefined) vals.push(v);
    }
    const { n, mean, se } = meanStdErr(vals);
    out.x.push(s);
    out.mean.push(mean);
    out.se.push(se);
    out.n.push(n);
  }
  return out;
}

/** The last finite average return of a run (NaN when it has none). */
export function finalReturn(points: readonly CurvePoint[]): number {
  let best: CurvePoint | undefined;
  for (const p of points) {
    if (Number.isFinite(p.avgReturn) && (!best || p.envStep >= best.envStep)) best = p;
  }
  return best ? best.avgReturn : NaN;
}
