import assert from "assert";
import { buildHistoryTree } from "../../lib/pomdp/history_tree.ts";
import { randomPOMDP } from "../../lib/pomdp/random.ts";
import { makeRng } from "../../lib/rng.ts";
import { asymmetricQLearning } from "../../lib/solvers/aql.ts";
import { expectation, maxAbsDiff } from "../../lib/solvers/operators.ts";
import { backwardInduction, evaluatePolicyU } from "../../lib/solvers/value_iteration.ts";

// Budget: 200,000 episodes of 3 steps (600,000 samples) per run, about 0.2 s each.
const EPISODES = 200_000;
const TOLERANCE = 0.03; // max |Q - Q*| and max |U - U*| over every (h, s, a), rewards in [-1, 1]

function smallProblem(seed: number) {
  const model = randomPOMDP(makeRng(`aql/${seed}`), {
    states: 3,
    actions: 2,
    observations: 2,
    resetProbability: 0.1,
  });
  const tree = buildHistoryTree(model, { horizon: 3 });
  const opt = backwardInduction(tree);
  return { tree, opt, Ustar: evaluatePolicyU(tree, opt.policy) };
}

Deno.test("`asymmetricQLearning()` converges to Q* and U* on small POMDPs (Theorem 4.4)", () => {
  for (const seed of [1, 2, 3]) {
    const { tree, opt, Ustar } = smallProblem(seed);
    const res = asymmetricQLearning(tree, makeRng(`aql-run/${seed}`), {
      episodes: EPISODES,
      reference: opt.Q,
      referenceU: Ustar,
      traceEvery: EPISODES / 10,
    });
    const first = res.trace[1], last = res.trace.at(-1)!;
    assert.equal(last.unvisited, 0);
    assert.ok(last.errorQ < TOLERANCE, `seed ${seed}: max |Q - Q*| = ${last.errorQ}`);
    assert.ok(last.errorU < TOLERANCE, `seed ${seed}: max |U - U*| = ${last.errorU}`);
    assert.ok(last.errorQ < first.errorQ, `seed ${seed}: the error must shrink`);
    assert.ok(last.consistencyGap < TOLERANCE, `seed ${seed}: gap ${last.consistencyGap}`);
    assert.ok(
      Math.abs(last.greedyValue - opt.V[0]) < 1e-9,
      `seed ${seed}: greedy policy not optimal`,
    );
    assert.equal(res.samples, last.samples);
  }
});

Deno.test("`asymmetricQLearning()` without the Pr(s|h) factor leaves Q and E U inconsistent", () => {
  for (const seed of [1, 2, 3]) {
    const { tree, opt } = smallProblem(seed);
    const rng = makeRng(`aql-run/${seed}`);
    const res = asymmetricQLearning(tree, rng, {
      episodes: EPISODES,
      stateFactor: false,
      reference: opt.Q,
    });
    const last = res.trace.at(-1)!;
    const gap = maxAbsDiff(res.Q, expectation(tree, res.U));
    assert.equal(gap, last.consistencyGap);
    assert.ok(gap > 2 * TOLERANCE, `seed ${seed}: gap ${gap} should be measurable`);
    assert.ok(last.errorQ > 2 * TOLERANCE, `seed ${seed}: Q error ${last.errorQ} should be biased`);
  }
});

Deno.test("`asymmetricQLearning()` rejects invalid options", () => {
  const { tree } = smallProblem(1);
  const rng = makeRng(0);
  assert.throws(() => asymmetricQLearning(tree, rng, { episodes: 0 }), /invalid episodes 0/);
  assert.throws(
    () => asymmetricQLearning(tree, rng, { episodes: 1, epsilon: 2 }),
    /invalid epsilon 2/,
  );
  assert.throws(
    () => asymmetricQLearning(tree, rng, { episodes: 1, omega: 0.4 }),
    /invalid omega 0.4/,
  );
});
