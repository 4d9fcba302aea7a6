import assert from "assert";

function near(a: number, b: number, tol: number): void {
  assert.ok(Math.abs(a - b) <= tol, `${a} is not within ${tol} of ${b}`);
}
import {
  finalPerformance,
  iqm,
  mean,
  meanSe,
  percentile,
  probabilityOfImprovement,
  probabilityOfImprovementCi,
  stratifiedBootstrapCi,
  trimMean,
} from "../../lib/results/stats.ts";

Deno.test("finalPerformance: mean of the last 10 logged points (fewer: all)", () => {
  const v = Array.from({ length: 12 }, (_, i) => i + 1); // 1..12: last 10 are 3..12
  assert.deepStrictEqual(finalPerformance(v), 7.5);
  assert.deepStrictEqual(finalPerformance([2, 4]), 3);
  assert.throws(() => finalPerformance([]), { message: /no logged points/ });
});

Deno.test("meanSe: sample standard deviation over sqrt(n)", () => {
  const r = meanSe([1, 2, 3, 4]); // deviations ±1.5, ±0.5: ss = 5, var = 5/3
  assert.deepStrictEqual(r.mean, 2.5);
  near(r.se, Math.sqrt(5 / 3) / 2, 1e-12);
  assert.deepStrictEqual(meanSe([7]).se, 0);
});

Deno.test("trimMean / iqm: drop floor(n/4) at each end of all runs of all strata", () => {
  // sorted: 0 .2 .4 .7 .8 .9 1 1 -> keep .4 .7 .8 .9
  near(iqm([[0, 0.2, 0.9, 1], [1, 0.4, 0.7, 0.8]]), 0.7, 1e-12);
  // n = 5: floor(1.25) = 1 dropped at each end -> mean of 2, 3, 4
  assert.deepStrictEqual(trimMean([5, 1, 4, 2, 3], 0.25), 3);
  assert.deepStrictEqual(mean([[1, 2], [3]]), 2);
  assert.throws(() => trimMean([1], 0.5), { message: /proportion 0\.5/ });
  assert.throws(() => iqm([[1, NaN]]), { message: /score \[0\]\[1\] is NaN/ });
});

Deno.test("probabilityOfImprovement: pairs, ties count 1/2, averaged over strata", () => {
  // 1 vs (2, 0): 0 + 1; 2 vs (2, 0): 0.5 + 1 -> 2.5 / 4
  assert.deepStrictEqual(probabilityOfImprovement([[1, 2]], [[2, 0]]), 0.625);
  // stratum 1: X always wins (1), stratum 2: always ties (0.5) -> 0.75
  assert.deepStrictEqual(probabilityOfImprovement([[1], [0, 0]], [[0], [0]]), 0.75);
  assert.throws(() => probabilityOfImprovement([[1]], [[1], [2]]), { message: /1 strata, y 2/ });
});

Deno.test("percentile: linear interpolation as numpy", () => {
  assert.deepStrictEqual(percentile([0, 10, 20], 25), 5);
  assert.deepStrictEqual(percentile([0, 10, 20], 100), 20);
});

Deno.test("stratifiedBootstrapCi: resamples within strata, seeded", () => {
  // Each stratum is constant: every stratified resample has the same mean, so the CI is a point.
  // (An unstratified bootstrap of [0, 0, 1, 1] would vary.)
  const ci = stratifiedBootstrapCi([[0, 0], [1, 1]], mean, { seed: 3, resamples: 200 });
  assert.deepStrictEqual(ci, { point: 0.5, lo: 0.5, hi: 0.5 });
  // Two runs 0 and 1: resample means are 0, 0.5, 1 with probability 1/4, 1/2, 1/4, so the
  // 2.5% and 97.5% percentiles of many resamples are 0 and 1.
  const two = stratifiedBootstrapCi([[0, 1]], mean, { seed: 4, resamples: 2000 });
  assert.deepStrictEqual([two.lo, two.point, two.hi], [0, 0.5, 1]);
  const a = stratifiedBootstrapCi([[0.1, 0.5, 0.9, 0.3]], iqm, { seed: 9, resamples: 300 });
  const b = stratifiedBootstrapCi([[0.1, 0.5, 0.9, 0.3]], iqm, { seed: 9, resamples: 300 });
  assert.deepStrictEqual(a, b);
  assert.throws(() => stratifiedBootstrapCi([[1]], mean, { seed: 1, resamples: 0 }), {
    message: /resamples=0/,
  });
});

Deno.test("probabilityOfImprovementCi: X always above Y gives [1, 1]", () => {
  const ci = probabilityOfImprovementCi([[2, 3, 4]], [[0, 1]], { seed: 1, resamples: 300 });
  assert.deepStrictEqual(ci, { point: 1, lo: 1, hi: 1 });
});
