import assert from "assert";
import { makeRng } from "../../lib/rng.ts";
import { asymmetricPolicyIteration } from "../../lib/solvers/api.ts";
import { expectation, maxAbsDiff, randomU } from "../../lib/solvers/operators.ts";
import {
  backwardInduction,
  evaluatePolicyU,
  policyValue,
} from "../../lib/solvers/value_iteration.ts";
import { exactProblems, treeOf } from "./problems.ts";

Deno.test("`asymmetricPolicyIteration()` reaches the Q* of value iteration (Theorem 4.1)", () => {
  for (const p of exactProblems()) {
    const tree = treeOf(p);
    const opt = backwardInduction(tree);
    const res = asymmetricPolicyIteration(tree, { reference: opt.Q });
    assert.ok(res.converged, p.name);
    assert.ok(maxAbsDiff(res.Q, opt.Q) <= 1e-9, `${p.name}: ${maxAbsDiff(res.Q, opt.Q)}`);
    assert.ok(Math.abs(policyValue(tree, res.policy) - opt.V[0]) <= 1e-9, p.name);
    // U is U^{π} of the last evaluated policy, and mutually consistent with Q.
    assert.ok(maxAbsDiff(expectation(tree, res.U), res.Q) <= 1e-12, p.name);
    assert.ok(maxAbsDiff(res.U, evaluatePolicyU(tree, res.policy)) <= 1e-9, p.name);
  }
});

Deno.test("`asymmetricPolicyIteration()` policy values improve monotonically", () => {
  const rng = makeRng("api-monotone");
  for (const p of exactProblems()) {
    const tree = treeOf(p);
    const U0 = randomU(tree, rng, 3);
    const res = asymmetricPolicyIteration(tree, { U0, keepIterates: true });
    for (let k = 1; k < res.iterates.length; k++) {
      const prev = res.iterates[k - 1], cur = res.iterates[k];
      for (let i = 0; i < cur.length; i++) {
        assert.ok(cur[i] >= prev[i] - 1e-12, `${p.name}: Q_${k + 1} < Q_${k} at ${i}`);
      }
    }
    for (let k = 1; k < res.trace.length; k++) {
      assert.ok(res.trace[k].rootValue >= res.trace[k - 1].rootValue - 1e-12, p.name);
    }
    assert.ok(maxAbsDiff(res.Q, backwardInduction(tree).Q) <= 1e-9, p.name);
  }
});

Deno.test("`asymmetricPolicyIteration()` U-evaluation by sweeps equals the exact solve", () => {
  for (const p of exactProblems().slice(0, 6)) {
    const tree = treeOf(p);
    const sweeps = asymmetricPolicyIteration(tree, { evaluation: "sweeps" });
    const exact = asymmetricPolicyIteration(tree, { evaluation: "exact" });
    assert.deepEqual(Array.from(sweeps.policy), Array.from(exact.policy), p.name);
    assert.ok(maxAbsDiff(sweeps.U, exact.U) <= 1e-12, p.name);
    for (const point of sweeps.trace) assert.ok(point.evaluationSweeps <= p.horizon + 1, p.name);
  }
  assert.throws(
    () => asymmetricPolicyIteration(treeOf(exactProblems()[0]), { evaluation: "lu" as "exact" }),
    /invalid evaluation "lu"/,
  );
});
