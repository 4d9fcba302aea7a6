/**
 * Shared test problems for the solver tests: Heaven-Hell-3/4 at the horizon of their optimal
 * episode, the tiger problem at short horizons, and seeded random POMDPs (with reset pairs).
 * @module
 */
import { heavenHellModel } from "../../lib/pomdp/heaven_hell.ts";
import {
  buildHistoryTree,
  type HistoryTree,
  type MergeMode,
} from "../../lib/pomdp/history_tree.ts";
import type { TabularPOMDP } from "../../lib/pomdp/model.ts";
import { parsePOMDP } from "../../lib/pomdp/parser.ts";
import { randomPOMDP } from "../../lib/pomdp/random.ts";
import { makeRng } from "../../lib/rng.ts";

/** The tiger problem from data/pomdp/tiger.pomdp. */
export function tigerModel(): TabularPOMDP {
  const url = new URL("../../data/pomdp/tiger.pomdp", import.meta.url);
  return parsePOMDP(Deno.readTextFileSync(url), { source: url.pathname });
}

/** A named test problem. */
export interface Problem {
  /** Label for messages. */
  name: string;
  /** The model. */
  model: TabularPOMDP;
  /** Horizon H. */
  horizon: number;
  /** Merge mode of its tree. */
  merge: MergeMode;
}

/** A random POMDP with reset pairs and sparse rows (seeded). */
export function randomTestModel(seed: number): TabularPOMDP {
  return randomPOMDP(makeRng(`random-pomdp/${seed}`), {
    states: 2 + (seed % 3),
    actions: 2 + (seed % 2),
    observations: 2 + ((seed >> 1) % 2),
    resetProbability: 0.15,
    density: 0.7,
    rewardNoise: 0.3,
    discount: 0.9,
  });
}

/** The problems on which every exact solver must agree. */
export function exactProblems(): Problem[] {
  const problems: Problem[] = [
    { name: "heaven-hell-3 H=15", model: heavenHellModel(3), horizon: 15, merge: "belief" },
    { name: "heaven-hell-4 H=19", model: heavenHellModel(4), horizon: 19, merge: "belief" },
    { name: "heaven-hell-3 H=7 tree", model: heavenHellModel(3), horizon: 7, merge: "none" },
    { name: "tiger H=4 tree", model: tigerModel(), horizon: 4, merge: "none" },
    { name: "tiger H=5", model: tigerModel(), horizon: 5, merge: "belief" },
  ];
  for (let seed = 1; seed <= 6; seed++) {
    const model = randomTestModel(seed);
    problems.push({ name: `random#${seed} H=4 tree`, model, horizon: 4, merge: "none" });
    problems.push({ name: `random#${seed} H=5`, model, horizon: 5, merge: "belief" });
  }
  return problems;
}

/** Build the tree of a problem. */
export function treeOf(p: Problem): HistoryTree {
  return buildHistoryTree(p.model, { horizon: p.horizon, merge: p.merge });
}
