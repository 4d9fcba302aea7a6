import { heavenHellModel } from "./lib/pomdp/heaven_hell.ts";
import { buildHistoryTree } from "./lib/pomdp/history_tree.ts";
import { backwardInduction } from "./lib/solvers/value_iteration.ts";
import { stateOnlyValueIteration, stateOnlyQLearning } from "./lib/solvers/state_ql.ts";
import { makeRng } from "./lib/rng.ts";
for (const [n, H] of [[3, 15], [3, 40], [4, 19], [1, 10]]) {
  const m = heavenHellModel(n);
  const C = 4 * n + 2;
  m.start.fill(0); m.start[C] = 1; // heaven on the right, known
  const tree = buildHistoryTree(m, { horizon: H });
  const bi = backwardInduction(tree);
  for (const variant of ["bootstrap", "vr"] as const) {
    const r = stateOnlyValueIteration(tree, { variant, reference: bi.Q });
    const l = r.trace.at(-1)!;
    console.log(n, H, variant, r.iterations, r.converged, bi.V[0].toFixed(4), l.rootValue.toFixed(4), l.greedyValue.toFixed(4));
  }
  if (n === 1) {
    const st = stateOnlyQLearning(tree, makeRng(1), { episodes: 20000, omega: 0.6 }).trace.at(-1)!;
    console.log("sampled", st.greedyValue, st.rootValue);
  }
}
