import assert from "assert";
import { beliefReward, beliefUpdate, endProbability } from "../../lib/pomdp/belief.ts";
import { heavenHellModel } from "../../lib/pomdp/heaven_hell.ts";
import {
  buildHistoryTree,
  entryOf,
  findChild,
  historyOf,
  type HistoryTree,
  nodeBelief,
  nodeOf,
  treeStats,
} from "../../lib/pomdp/history_tree.ts";
import { emptyDenseModel, fromDense } from "../../lib/pomdp/model.ts";
import { randomTestModel, tigerModel } from "../solvers/problems.ts";

/** Number of histories of each depth, from historyCount. */
function historiesPerDepth(tree: HistoryTree): number[] {
  const out: number[] = [];
  for (let d = 0; d < tree.horizon; d++) {
    let c = 0;
    for (let n = tree.layerStart[d]; n < tree.layerStart[d + 1]; n++) c += tree.historyCount[n];
    out.push(c);
  }
  return out;
}

Deno.test("`buildHistoryTree()` enumerates every history of a literal tree (hand counts)", () => {
  const dense = emptyDenseModel(["s"], ["a", "b"], ["o"]);
  dense.start[0] = 1;
  dense.T.fill(1);
  dense.O.fill(1);
  const t = buildHistoryTree(fromDense(dense), { horizon: 3, merge: "none" });
  assert.equal(t.numNodes, 1 + 2 + 4);
  assert.equal(t.truncatedHistories, 8);
  // Heaven-Hell-3: observations are deterministic, and the priest (4 moves away: S, E, E, E) is
  // the only place where one action sequence splits into two histories.
  const hh = buildHistoryTree(heavenHellModel(3), { horizon: 5, merge: "none" });
  assert.deepEqual(historiesPerDepth(hh), [1, 4, 16, 64, 256 + 1]);
  assert.equal(hh.numNodes, 1 + 4 + 16 + 64 + 257);
  assert.deepEqual(Array.from(hh.layerStart), [0, 1, 5, 21, 85, 342]);
});

Deno.test("`buildHistoryTree()` merging by belief keeps every history's count", () => {
  for (const model of [heavenHellModel(3), tigerModel(), randomTestModel(2), randomTestModel(5)]) {
    const H = model.states.length > 10 ? 7 : 5;
    const tree = buildHistoryTree(model, { horizon: H, merge: "none" });
    const dag = buildHistoryTree(model, { horizon: H, merge: "belief" });
    assert.ok(dag.numNodes <= tree.numNodes);
    assert.deepEqual(historiesPerDepth(dag), historiesPerDepth(tree));
    assert.deepEqual(
      historiesPerDepth(tree),
      Array.from({ length: H }, (_, d) => tree.layerStart[d + 1] - tree.layerStart[d]),
    );
    assert.equal(dag.totalHistories, tree.numNodes);
    assert.equal(dag.truncatedHistories, tree.truncatedHistories);
  }
});

Deno.test("`buildHistoryTree()` beliefs, rewards and Pr(o|h,a) agree with direct Bayes updates", () => {
  for (const model of [tigerModel(), randomTestModel(1), randomTestModel(3), randomTestModel(4)]) {
    for (const merge of ["none", "belief"] as const) {
      const tree = buildHistoryTree(model, { horizon: 4, merge });
      const A = tree.numActions;
      for (let n = 0; n < tree.numNodes; n++) {
        const b = nodeBelief(tree, n);
        let mass = 0;
        for (const p of b) mass += p;
        assert.ok(Math.abs(mass - 1) < 1e-12, `belief of node ${n} sums to ${mass}`);
        for (let a = 0; a < A; a++) {
          const i = n * A + a;
          assert.ok(Math.abs(tree.reward[i] - beliefReward(model, b, a)) < 1e-12);
          assert.ok(Math.abs(tree.endProb[i] - endProbability(model, b, a)) < 1e-12);
          let total = tree.endProb[i];
          for (let e = tree.edgeStart[i]; e < tree.edgeStart[i + 1]; e++) {
            total += tree.edgeProb[e];
            const u = beliefUpdate(model, b, a, tree.edgeObs[e]);
            assert.ok(Math.abs(u.probability - tree.edgeProb[e]) < 1e-12);
            const c = tree.edgeChild[e];
            if (c < 0) continue;
            const cb = nodeBelief(tree, c);
            for (let s = 0; s < cb.length; s++) {
              assert.ok(Math.abs(cb[s] - u.belief![s]) < 1e-11, `child ${c} of ${n}: state ${s}`);
            }
          }
          assert.ok(
            Math.abs(total - 1) < 1e-12,
            `Σ_o Pr(o|h,a) + Pr(end) = ${total} at (${n}, ${a})`,
          );
        }
      }
    }
  }
});

Deno.test("`buildHistoryTree()` U transitions carry T·O mass except on ends and at the horizon", () => {
  const model = randomTestModel(6);
  const tree = buildHistoryTree(model, { horizon: 4 });
  const S = tree.numStates, A = tree.numActions;
  for (let k = 0; k < tree.numEntries; k++) {
    const n = tree.entryNode[k], s = tree.beliefState[k];
    assert.equal(entryOf(tree, n, s), k);
    for (let a = 0; a < A; a++) {
      let mass = 0;
      for (let t = tree.uStart[k * A + a]; t < tree.uStart[k * A + a + 1]; t++) {
        mass += tree.uProb[t];
      }
      const expected = model.reset[a * S + s] || tree.depth[n] === tree.horizon - 1 ? 0 : 1;
      assert.ok(Math.abs(mass - expected) < 1e-12, `entry ${k} action ${a}: ${mass}`);
    }
  }
});

Deno.test("`buildHistoryTree()` ends Heaven-Hell episodes in the end cells", () => {
  const tree = buildHistoryTree(heavenHellModel(3), { horizon: 15 });
  const C = 14, A = 4;
  let endNodes = 0;
  for (let n = 0; n < tree.numNodes; n++) {
    const cells = new Set<number>();
    for (let k = tree.beliefStart[n]; k < tree.beliefStart[n + 1]; k++) {
      cells.add(tree.beliefState[k] % C);
    }
    if (!cells.has(6) && !cells.has(9)) continue;
    assert.equal(cells.size, 1, "cells are observed, so a belief sits on one cell");
    endNodes++;
    for (let a = 0; a < A; a++) {
      assert.equal(tree.endProb[n * A + a], 1);
      assert.equal(tree.edgeStart[n * A + a + 1] - tree.edgeStart[n * A + a], 0);
    }
  }
  assert.ok(endNodes > 0);
});

Deno.test("`buildHistoryTree()` fits Heaven-Hell-4 at horizon 19 in a small DAG", () => {
  const tree = buildHistoryTree(heavenHellModel(4), { horizon: 19 });
  const stats = treeStats(tree);
  assert.ok(stats.nodes < 1000, `${stats.nodes} nodes`);
  assert.ok(stats.histories > 1e10, `${stats.histories} histories`); // a literal tree is infeasible
  assert.ok(stats.bytes < 1e6);
  // The priest's answer splits the belief: after S, E, E, E, E the side is known.
  const priest = nodeOf(tree, [1, 2, 2, 2, 2], [13, 14, 15, 16, 17]);
  assert.ok(priest > 0);
  assert.deepEqual(Array.from(nodeBelief(tree, priest)).flatMap((p, s) => p > 0 ? [s] : []), [17]);
  const { actions, observations } = historyOf(tree, priest);
  assert.deepEqual(actions, [1, 2, 2, 2, 2]);
  assert.deepEqual(observations, [13, 14, 15, 16, 17]);
  assert.equal(findChild(tree, 0, 0, 5), -1); // N from the start never shows cell 5
});

Deno.test("`buildHistoryTree()` rejects bad options with clear errors", () => {
  const m = heavenHellModel(3);
  assert.throws(() => buildHistoryTree(m, { horizon: 0 }), /invalid horizon 0/);
  assert.throws(() => buildHistoryTree(m, { horizon: 2.5 }), /invalid horizon 2.5/);
  assert.throws(
    () => buildHistoryTree(m, { horizon: 3, merge: "dag" as "none" }),
    /invalid merge "dag"; expected "none" or "belief"/,
  );
  assert.throws(
    () => buildHistoryTree(m, { horizon: 12, merge: "none", maxNodes: 1000 }),
    /more than maxNodes = 1000 .* use merge: "belief"/,
  );
  assert.throws(() => buildHistoryTree(m, { horizon: 3, discount: 1.5 }), /invalid discount 1.5/);
});
