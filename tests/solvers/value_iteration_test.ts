import assert from "assert";
import { heavenHellModel } from "../../lib/pomdp/heaven_hell.ts";
import { observationProb, transitionProb } from "../../lib/pomdp/model.ts";
import { buildHistoryTree, findChild, nodeBelief } from "../../lib/pomdp/history_tree.ts";
import { beliefValue, beliefValueIteration } from "../../lib/solvers/belief_vi.ts";
import { maxAbsDiff } from "../../lib/solvers/operators.ts";
import { policyIteration } from "../../lib/solvers/policy_iteration.ts";
import {
  backwardInduction,
  evaluatePolicy,
  policyValue,
  valueIteration,
} from "../../lib/solvers/value_iteration.ts";
import { exactProblems, randomTestModel, tigerModel, treeOf } from "./problems.ts";

const close = (x: number, y: number, tol: number, what = "") =>
  assert.ok(Math.abs(x - y) <= tol, `${what}: ${x} != ${y} (tolerance ${tol})`);

Deno.test("`backwardInduction()` finds Heaven-Hell's optimum 0.99^(4n+2) at H = 4n+3 and 0 below", () => {
  // The optimal episode is S, E×n, W×n, N×(n+1), n moves along heaven's arm, one action in heaven:
  // 4n+3 actions, the +1 paid by action index 4n+2 (spec, section 1). One action fewer cannot
  // reach heaven knowingly, and guessing a side is worth 0.5·(+1) + 0.5·(-1) = 0.
  for (const n of [3, 4]) {
    const model = heavenHellModel(n);
    const opt = backwardInduction(buildHistoryTree(model, { horizon: 4 * n + 3 }));
    close(opt.V[0], 0.99 ** (4 * n + 2), 1e-12, `heaven-hell-${n}`);
    const short = backwardInduction(buildHistoryTree(model, { horizon: 4 * n + 2 }));
    close(short.V[0], 0, 1e-12, `heaven-hell-${n} one step short`);
  }
  close(0.99 ** 14, 0.86875, 5e-6);
  close(0.99 ** 18, 0.83451, 5e-6);
});

Deno.test("`backwardInduction()` greedy policy visits the priest, then walks to heaven", () => {
  for (const n of [3, 4]) {
    const C = 4 * n + 2;
    const model = heavenHellModel(n);
    const tree = buildHistoryTree(model, { horizon: 4 * n + 3 });
    const { policy } = backwardInduction(tree);
    for (const side of [0, 1]) {
      const toHeaven = side === 0 ? 3 : 2; // W toward the left arm, E toward the right one
      const expected = [
        1,
        ...Array(n).fill(2),
        ...Array(n).fill(3),
        ...Array(n + 1).fill(0),
        ...Array(n).fill(toHeaven),
        0, // any action in heaven; ties go to the first (N)
      ];
      const actions: number[] = [];
      let node = 0, s = side * C;
      while (node >= 0) {
        const a = policy[node];
        actions.push(a);
        if (model.reset[a * 2 * C + s]) break;
        let next = -1;
        for (let s2 = 0; s2 < 2 * C; s2++) {
          if (transitionProb(model, a, s, s2) === 1) next = s2;
        }
        s = next;
        let o = -1;
        for (let q = 0; q <= C; q++) if (observationProb(model, a, s, q) === 1) o = q;
        node = findChild(tree, node, a, o);
      }
      assert.deepEqual(actions, expected, `heaven-hell-${n}, heaven on side ${side}`);
    }
  }
});

Deno.test("`backwardInduction()` matches the tiger problem's hand-computed values", () => {
  // H=1: listen (-1) beats opening (0.5·10 + 0.5·(-100) = -45).
  // H=2: listen twice, -1 - 0.95 = -1.95 (opening after one listen: 0.85·10 - 0.15·100 = -6.5).
  // H=3: listen, listen, then open the quiet door if both listens agreed (probability 0.745,
  // expected 0.7225·10 - 0.0225·100 = 4.975 in total), else listen: -1.95 + 0.95²·(4.975 - 0.255).
  const model = tigerModel();
  const expected = [-1, -1.95, -1.95 + 0.95 ** 2 * (4.975 - 0.255)];
  for (let H = 1; H <= 3; H++) {
    for (const merge of ["none", "belief"] as const) {
      close(
        backwardInduction(buildHistoryTree(model, { horizon: H, merge })).V[0],
        expected[H - 1],
        1e-12,
        `H=${H}`,
      );
    }
  }
});

Deno.test("`beliefValueIteration()` oracle agrees with the history-tree solution", () => {
  for (const p of exactProblems()) {
    const tree = treeOf(p);
    const { V, Q } = backwardInduction(tree);
    const oracle = beliefValueIteration(p.model, { horizon: p.horizon });
    close(V[0], oracle.value, 1e-9, p.name);
    for (let a = 0; a < tree.numActions; a++) {
      close(Q[a], oracle.q[a], 1e-9, `${p.name} Q(root, ${a})`);
    }
  }
});

Deno.test("`beliefValue()` agrees with V* at every node of small trees, memoised or not", () => {
  for (const model of [tigerModel(), randomTestModel(1), randomTestModel(4)]) {
    const H = 4;
    const tree = buildHistoryTree(model, { horizon: H, merge: "none" });
    const { V } = backwardInduction(tree);
    for (let n = 0; n < tree.numNodes; n++) {
      const left = H - tree.depth[n];
      close(
        V[n],
        beliefValue(model, nodeBelief(tree, n), left, { memo: n % 2 === 0 }).value,
        1e-9,
        `node ${n}`,
      );
    }
  }
  assert.throws(() => beliefValue(tigerModel(), [1, 0], -1), /invalid number of actions left -1/);
});

Deno.test("`valueIteration()` sweeps reach the exact Q* within H sweeps", () => {
  for (const p of exactProblems()) {
    const tree = treeOf(p);
    const { Q } = backwardInduction(tree);
    const vi = valueIteration(tree, { reference: Q });
    assert.ok(vi.converged, p.name);
    assert.ok(vi.sweeps <= p.horizon + 1, `${p.name}: ${vi.sweeps} sweeps`);
    assert.ok(vi.trace[Math.min(p.horizon, vi.sweeps)].error <= 1e-12, p.name);
    assert.ok(maxAbsDiff(vi.Q, Q) <= 1e-12, p.name);
    assert.equal(vi.trace.length, vi.sweeps + 1);
  }
});

Deno.test("`policyIteration()` reaches Q* with monotonically improving policies", () => {
  for (const p of exactProblems()) {
    const tree = treeOf(p);
    const { Q } = backwardInduction(tree);
    const pi = policyIteration(tree, { reference: Q, keepIterates: true });
    assert.ok(pi.converged, p.name);
    assert.ok(maxAbsDiff(pi.Q, Q) <= 1e-9, p.name);
    for (let k = 1; k < pi.iterates.length; k++) {
      const prev = pi.iterates[k - 1], cur = pi.iterates[k];
      for (let i = 0; i < cur.length; i++) {
        assert.ok(cur[i] >= prev[i] - 1e-12, `${p.name}: k=${k} i=${i}`);
      }
    }
    close(policyValue(tree, pi.policy), Math.max(...Q.slice(0, tree.numActions)), 1e-9, p.name);
    assert.ok(maxAbsDiff(evaluatePolicy(tree, backwardInduction(tree).policy), Q) <= 1e-12, p.name);
  }
});
