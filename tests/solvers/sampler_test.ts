import assert from "assert";
import { heavenHellModel } from "../../lib/pomdp/heaven_hell.ts";
import { expectedReward, observationProb, transitionProb } from "../../lib/pomdp/model.ts";
import { randomPOMDP } from "../../lib/pomdp/random.ts";
import { makeRng } from "../../lib/rng.ts";
import { PomdpSampler } from "../../lib/solvers/sampler.ts";

Deno.test("`PomdpSampler` draws starts, transitions, observations and rewards at model frequencies", () => {
  const m = randomPOMDP(makeRng("sampler"), {
    states: 3,
    actions: 2,
    observations: 3,
    rewardNoise: 0.5,
  });
  const sim = new PomdpSampler(m);
  const rng = makeRng(1);
  const N = 100_000, S = 3, O = 3;
  const starts = new Float64Array(S);
  for (let i = 0; i < N; i++) starts[sim.start(rng)]++;
  for (let s = 0; s < S; s++) assert.ok(Math.abs(starts[s] / N - m.start[s]) < 0.01);
  const s = 1, a = 1;
  const joint = new Float64Array(S * O);
  let reward = 0;
  for (let i = 0; i < N; i++) {
    const st = sim.step(s, a, rng);
    joint[st.next * O + st.observation]++;
    reward += st.reward;
  }
  for (let s2 = 0; s2 < S; s2++) {
    for (let o = 0; o < O; o++) {
      const p = transitionProb(m, a, s, s2) * observationProb(m, a, s2, o);
      assert.ok(Math.abs(joint[s2 * O + o] / N - p) < 0.01, `(${s2}, ${o})`);
    }
  }
  assert.ok(Math.abs(reward / N - expectedReward(m, s, a)) < 0.02);
});

Deno.test("`PomdpSampler` ends Heaven-Hell episodes with ±1 in the end cells", () => {
  const sim = new PomdpSampler(heavenHellModel(3));
  const rng = makeRng(2);
  assert.deepEqual({ ...sim.step(6, 0, rng) }, {
    next: -1,
    observation: -1,
    reward: 1,
    ended: true,
  });
  assert.deepEqual({ ...sim.step(14 + 6, 2, rng) }, {
    next: -1,
    observation: -1,
    reward: -1,
    ended: true,
  });
  assert.deepEqual({ ...sim.step(14 + 12, 2, rng) }, {
    next: 14 + 13,
    observation: 14,
    reward: 0,
    ended: false,
  });
});
