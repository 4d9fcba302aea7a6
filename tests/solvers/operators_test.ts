import assert from "assert";
import { buildHistoryTree } from "../../lib/pomdp/history_tree.ts";
import { emptyDenseModel, fromDense } from "../../lib/pomdp/model.ts";
import { makeRng } from "../../lib/rng.ts";
import {
  bellmanOptimalityQ,
  bellmanQ,
  bellmanU,
  constantPolicy,
  expectation,
  greedy,
  maxAbsDiff,
  randomU,
  rootValue,
  zerosQ,
} from "../../lib/solvers/operators.ts";
import { evaluatePolicy, evaluatePolicyU } from "../../lib/solvers/value_iteration.ts";
import { exactProblems, randomTestModel, treeOf } from "./problems.ts";

Deno.test("`bellmanU()` satisfies Lemma 4.2: E B_{g(Q)} U = B Q for Q = E U (random U)", () => {
  const rng = makeRng("lemma-4.2");
  for (const p of exactProblems()) {
    const tree = treeOf(p);
    for (let rep = 0; rep < 3; rep++) {
      const U = randomU(tree, rng, 2);
      const Q = expectation(tree, U);
      const lhs = expectation(tree, bellmanU(tree, U, greedy(tree, Q)));
      const rhs = bellmanOptimalityQ(tree, Q);
      const gap = maxAbsDiff(lhs, rhs);
      assert.ok(gap <= 1e-10, `${p.name}: gap ${gap}`);
    }
  }
});

Deno.test("`bellmanU()` also satisfies E B_π U = B_π E U for any policy π", () => {
  const rng = makeRng("e-b-pi");
  for (let seed = 1; seed <= 6; seed++) {
    const tree = buildHistoryTree(randomTestModel(seed), { horizon: 5 });
    const U = randomU(tree, rng);
    const pi = new Int32Array(tree.numNodes).map(() => Math.floor(rng() * tree.numActions));
    const gap = maxAbsDiff(
      expectation(tree, bellmanU(tree, U, pi)),
      bellmanQ(tree, expectation(tree, U), pi),
    );
    assert.ok(gap <= 1e-10, `seed ${seed}: gap ${gap}`);
  }
});

Deno.test("`evaluatePolicyU()` gives Q^π = E U^π (Eq. 5), fixed points of B_π on U and Q", () => {
  const rng = makeRng("eq-5");
  for (const p of exactProblems()) {
    const tree = treeOf(p);
    const pi = new Int32Array(tree.numNodes).map(() => Math.floor(rng() * tree.numActions));
    const U = evaluatePolicyU(tree, pi);
    const Q = evaluatePolicy(tree, pi);
    assert.ok(maxAbsDiff(expectation(tree, U), Q) <= 1e-10, p.name);
    assert.ok(maxAbsDiff(bellmanU(tree, U, pi), U) <= 1e-12, p.name);
    assert.ok(maxAbsDiff(bellmanQ(tree, Q, pi), Q) <= 1e-12, p.name);
  }
});

Deno.test("`greedy()` breaks ties toward the first maximal action", () => {
  const m = emptyDenseModel(["s"], ["a", "b", "c"], ["o"]);
  m.start[0] = 1;
  m.T.fill(1);
  m.O.fill(1);
  const tree = buildHistoryTree(fromDense(m), { horizon: 1 });
  const Q = zerosQ(tree);
  Q.set([1, 3, 3]);
  assert.deepEqual(Array.from(greedy(tree, Q)), [1]);
  Q.set([2, 2, 2]);
  assert.deepEqual(Array.from(greedy(tree, Q)), [0]);
  assert.equal(rootValue(tree, Q), 2);
});

Deno.test("operators reject tables and policies of the wrong shape", () => {
  const tree = buildHistoryTree(randomTestModel(1), { horizon: 2 });
  assert.throws(() => expectation(tree, new Float64Array(3)), /U table has 3 values; expected/);
  assert.throws(() => greedy(tree, new Float64Array(1)), /Q table has 1 values; expected/);
  const bad = constantPolicy(tree);
  bad[0] = 7;
  assert.throws(() => bellmanQ(tree, zerosQ(tree), bad), /policy\[0\] = 7; expected an action/);
  assert.throws(() => constantPolicy(tree, -1), /invalid action -1/);
  assert.throws(() => maxAbsDiff([1], [1, 2]), /lengths 1 and 2 differ/);
});
