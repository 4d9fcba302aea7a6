import assert from "assert";
import {
  type Claim,
  classifyComparison,
  classifyLevel,
  FIG1AB_CLAIMS,
  formatVerdicts,
  verdicts,
} from "../../lib/experiments/verdicts.ts";

Deno.test("classifyComparison: decided by the P(X>Y) interval, not the point", () => {
  assert.equal(classifyComparison({ point: 0.6, lo: 0.51, hi: 0.7 }), "reproduced");
  assert.equal(classifyComparison({ point: 0.9, lo: 0.45, hi: 1 }), "inconclusive");
  assert.equal(classifyComparison({ point: 0.5, lo: 0.5, hi: 0.5 }), "not reproduced");
  assert.equal(classifyComparison({ point: 0.2, lo: 0.1, hi: 0.4 }), "not reproduced");
});

Deno.test("classifyLevel: decided by the IQM interval against the level", () => {
  assert.equal(classifyLevel({ point: 0.95, lo: 0.9, hi: 1 }, 0.9), "reproduced");
  assert.equal(classifyLevel({ point: 0.95, lo: 0.85, hi: 1 }, 0.9), "inconclusive");
  assert.equal(classifyLevel({ point: 0.5, lo: 0.4, hi: 0.89 }, 0.9), "not reproduced");
});

Deno.test("FIG1AB_CLAIMS: ADQN and ADQN-VR against each of 3 baselines, and reaching the optimum", () => {
  assert.equal(FIG1AB_CLAIMS.length, 2 * 3 + 2);
});

Deno.test("verdicts: separated, overlapping and missing data", () => {
  // Two strata (panels) of 5 runs; ADQN always at 1, DQN always at 0: every resample agrees.
  const ones = [1, 1, 1, 1, 1], zeros = [0, 0, 0, 0, 0];
  const scores = { adqn: [ones, ones], dqn: [zeros, zeros] };
  const claims: Claim[] = [
    { kind: "outperforms", x: "adqn", y: "dqn", text: "a>d" },
    { kind: "outperforms", x: "dqn", y: "adqn", text: "d>a" },
    { kind: "reaches", x: "adqn", level: 0.9, text: "a opt" },
    { kind: "reaches", x: "dqn", level: 0.9, text: "d opt" },
  ];
  const r = verdicts(scores, { seed: 1, resamples: 500 }, claims);
  assert.deepEqual(r.claims.map((c) => c.verdict), [
    "reproduced",
    "not reproduced",
    "reproduced",
    "not reproduced",
  ]);
  assert.deepEqual(r.summaries.map((s) => [s.algo, s.runs, s.iqm.point]), [
    ["adqn", [5, 5], 1],
    ["dqn", [5, 5], 0],
  ]);
  assert.deepEqual(verdicts(scores, { seed: 1, resamples: 500 }, claims), r);
  assert.match(
    formatVerdicts(r),
    /\| a>d \| P\(X>Y\) 1\.000 \| \[1\.000, 1\.000\] \| reproduced \|/,
  );
  // X = (0, 1) against Y = (0.5, 0.5): P = 1/2, but resamples (0, 0) and (1, 1) (each 1/4) give
  // 0 and 1, so the interval is [0, 1]: inconclusive.
  const split = verdicts({ adqn: [[0, 1]], dqn: [[0.5, 0.5]] }, { seed: 2, resamples: 500 }, [
    claims[0],
  ]);
  assert.deepEqual(split.claims[0].interval, { point: 0.5, lo: 0, hi: 1 });
  assert.equal(split.claims[0].verdict, "inconclusive");
  assert.throws(
    () => verdicts({ adqn: [ones] }, { seed: 1 }, claims),
    { message: /no scores for "dqn"/ },
  );
});
