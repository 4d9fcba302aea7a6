/**
 * Timings of the theory module on Heaven-Hell-3 (H = 15) and Heaven-Hell-4 (H = 19): building the
 * merged history tree, and each exact solver on it; plus AQL and the belief-space oracle.
 * Run: `deno bench -A bench/theory_bench.ts`.
 * @module
 */
import { heavenHellModel } from "../lib/pomdp/heaven_hell.ts";
import { buildHistoryTree } from "../lib/pomdp/history_tree.ts";
import { makeRng } from "../lib/rng.ts";
import {
  asymmetricPolicyIteration,
  asymmetricQLearning,
  asymmetricValueIteration,
  backwardInduction,
  beliefValueIteration,
  policyIteration,
  stateOnlyValueIteration,
  valueIteration,
} from "../lib/solvers/mod.ts";

for (const n of [3, 4]) {
  const model = heavenHellModel(n);
  const horizon = 4 * n + 3;
  const tree = buildHistoryTree(model, { horizon });
  const group = `heaven-hell-${n} (H=${horizon}, ${tree.numNodes} nodes)`;
  Deno.bench(`build history tree: heaven-hell-${n}`, { group, baseline: true }, () => {
    buildHistoryTree(model, { horizon });
  });
  Deno.bench(`backward induction: heaven-hell-${n}`, { group }, () => {
    backwardInduction(tree);
  });
  Deno.bench(`value iteration sweeps: heaven-hell-${n}`, { group }, () => {
    valueIteration(tree);
  });
  Deno.bench(`policy iteration: heaven-hell-${n}`, { group }, () => {
    policyIteration(tree);
  });
  Deno.bench(`API (Alg. 1): heaven-hell-${n}`, { group }, () => {
    asymmetricPolicyIteration(tree);
  });
  Deno.bench(`AAVI (Alg. 2): heaven-hell-${n}`, { group }, () => {
    asymmetricValueIteration(tree);
  });
  Deno.bench(`state-only expected updates: heaven-hell-${n}`, { group }, () => {
    stateOnlyValueIteration(tree, { maxIterations: horizon + 1 });
  });
  Deno.bench(`belief-space oracle: heaven-hell-${n}`, { group }, () => {
    beliefValueIteration(model, { horizon });
  });
  Deno.bench(`AQL (Alg. 3), 1,000 episodes: heaven-hell-${n}`, { group }, () => {
    asymmetricQLearning(tree, makeRng(1), { episodes: 1000, traceEvery: 1000 });
  });
}
