import assert from "assert";
import {
  beliefKey,
  beliefReward,
  beliefUpdate,
  endProbability,
  initialBelief,
  observationProbabilities,
  stateActionRewards,
} from "../../lib/pomdp/belief.ts";
import { emptyDenseModel, fromDense } from "../../lib/pomdp/model.ts";
import { tigerModel } from "../solvers/problems.ts";

const close = (x: number, y: number, tol = 1e-12) =>
  assert.ok(Math.abs(x - y) <= tol, `${x} != ${y} (tolerance ${tol})`);

Deno.test("`beliefUpdate()` listens in the tiger problem by hand-computed Bayes' rule", () => {
  const m = tigerModel();
  const b0 = initialBelief(m);
  const first = beliefUpdate(m, b0, 0, 0); // listen, hear-left
  close(first.probability, 0.5);
  close(first.belief![0], 0.85);
  close(first.belief![1], 0.15);
  const second = beliefUpdate(m, first.belief!, 0, 0);
  // Pr(hear-left | b) = 0.85·0.85 + 0.15·0.15 = 0.745; b(tiger-left) = 0.7225 / 0.745.
  close(second.probability, 0.745);
  close(second.belief![0], 0.7225 / 0.745);
  const opened = beliefUpdate(m, second.belief!, 1, 1); // open-left: the tiger is re-placed
  close(opened.probability, 0.5);
  close(opened.belief![0], 0.5);
});

Deno.test("`beliefUpdate()` conditions on the episode continuing after a reset pair", () => {
  const d = emptyDenseModel(["x", "y"], ["go"], ["ox", "oy"]);
  d.start.set([0.25, 0.75]);
  d.reset[0] = 1; // (x, go) ends the episode
  d.T.set([0, 0, 0.5, 0.5]); // y -> x or y
  d.O.set([1, 0, 0, 1]); // the observation names the next state
  d.R.fill(2, 0, 4); // reward of (x, go): 2
  d.R.fill(-1, 4, 8); // reward of (y, go): -1
  const m = fromDense(d);
  const b0 = initialBelief(m);
  close(endProbability(m, b0, 0), 0.25);
  const p = observationProbabilities(m, b0, 0);
  close(p[0], 0.375);
  close(p[1], 0.375);
  const u = beliefUpdate(m, b0, 0, 0);
  close(u.probability, 0.375);
  assert.deepEqual(Array.from(u.belief!), [1, 0]);
  close(beliefReward(m, b0, 0), 0.25 * 2 + 0.75 * -1);
  assert.deepEqual(Array.from(stateActionRewards(m)), [2, -1]);
});

Deno.test("`beliefUpdate()` returns a null belief for an impossible observation", () => {
  const d = emptyDenseModel(["x"], ["a"], ["o0", "o1"]);
  d.start[0] = 1;
  d.T[0] = 1;
  d.O.set([1, 0]);
  const m = fromDense(d);
  assert.deepEqual(beliefUpdate(m, initialBelief(m), 0, 1), { belief: null, probability: 0 });
});

Deno.test("`beliefUpdate()` rejects bad beliefs, actions and observations", () => {
  const m = tigerModel();
  assert.throws(() => beliefUpdate(m, [1], 0, 0), /length 1; expected \|S\| = 2/);
  assert.throws(() => beliefUpdate(m, [0.5, 0.5], 3, 0), /invalid action 3/);
  assert.throws(() => beliefUpdate(m, [0.5, 0.5], 0, 2), /invalid observation 2/);
});

Deno.test("`beliefKey()` equates equal beliefs and separates different ones", () => {
  assert.equal(beliefKey([0.1 + 0.2, 0.7]), beliefKey([0.3, 0.7]));
  assert.notEqual(beliefKey([0.3, 0.7]), beliefKey([0.7, 0.3]));
  assert.notEqual(beliefKey([1, 0]), beliefKey([0, 1]));
});
