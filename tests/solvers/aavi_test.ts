import assert from "assert";
import { makeRng } from "../../lib/rng.ts";
import { asymmetricValueIteration } from "../../lib/solvers/aavi.ts";
import {
  bellmanOptimalityQ,
  expectation,
  greedy,
  maxAbsDiff,
  randomU,
} from "../../lib/solvers/operators.ts";
import { backwardInduction, evaluatePolicyU } from "../../lib/solvers/value_iteration.ts";
import { exactProblems, treeOf } from "./problems.ts";

Deno.test("`asymmetricValueIteration()` reaches the Q* of value iteration (Theorem 4.3)", () => {
  for (const p of exactProblems()) {
    const tree = treeOf(p);
    const opt = backwardInduction(tree);
    const res = asymmetricValueIteration(tree, { reference: opt.Q });
    assert.ok(res.converged, p.name);
    assert.ok(res.iterations <= p.horizon + 1, `${p.name}: ${res.iterations} iterations`);
    assert.ok(maxAbsDiff(res.Q, opt.Q) <= 1e-9, `${p.name}: ${maxAbsDiff(res.Q, opt.Q)}`);
    // U converges to U^{π*} for the greedy policy it ends with.
    assert.ok(maxAbsDiff(res.U, evaluatePolicyU(tree, greedy(tree, res.Q))) <= 1e-9, p.name);
    assert.ok(maxAbsDiff(expectation(tree, res.U), res.Q) === 0, p.name);
  }
});

Deno.test("`asymmetricValueIteration()` iterates are Q_k = B^k Q_0 from a random U_0", () => {
  const rng = makeRng("aavi-bk");
  for (const p of exactProblems()) {
    const tree = treeOf(p);
    const U0 = randomU(tree, rng, 5);
    const res = asymmetricValueIteration(tree, { U0, keepIterates: true });
    let BkQ0 = expectation(tree, U0);
    for (let k = 0; k < res.iterates.length; k++) {
      assert.ok(maxAbsDiff(res.iterates[k], BkQ0) <= 1e-10, `${p.name}: k=${k}`);
      BkQ0 = bellmanOptimalityQ(tree, BkQ0);
    }
    for (const point of res.trace.slice(1)) assert.ok(point.lemmaGap <= 1e-10, p.name);
    assert.ok(maxAbsDiff(res.Q, backwardInduction(tree).Q) <= 1e-9, p.name);
  }
});
