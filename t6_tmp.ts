import { buildHistoryTree } from "./lib/pomdp/history_tree.ts";
import { randomPOMDP } from "./lib/pomdp/random.ts";
import { makeRng } from "./lib/rng.ts";
import { asymmetricQLearning } from "./lib/solvers/aql.ts";
import { backwardInduction, evaluatePolicyU } from "./lib/solvers/value_iteration.ts";
for (const seed of [1,2,3]) {
  const model = randomPOMDP(makeRng(`aql/${seed}`), { states: 3, actions: 2, observations: 2, resetProbability: 0.1 });
  const tree = buildHistoryTree(model, { horizon: 3 });
  const opt = backwardInduction(tree);
  const Ustar = evaluatePolicyU(tree, opt.policy);
  for (const f of [true, false]) {
    const r = asymmetricQLearning(tree, makeRng(`aql-run/${seed}`), { episodes: 200000, stateFactor: f, reference: opt.Q, referenceU: Ustar });
    const l = r.trace.at(-1)!;
    console.log(seed, f, tree.numNodes, l.errorQ.toFixed(4), l.errorU.toFixed(4), l.consistencyGap.toFixed(4), l.greedyValue - opt.V[0]);
  }
}
