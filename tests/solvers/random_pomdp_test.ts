import assert from "assert";
import { toDense } from "../../lib/pomdp/model.ts";
import { randomPOMDP } from "../../lib/pomdp/random.ts";
import { makeRng } from "../../lib/rng.ts";

Deno.test("`randomPOMDP()` draws valid, seeded models with reset pairs", () => {
  const opts = { states: 4, actions: 3, observations: 2, resetProbability: 0.3, density: 0.5 };
  const m = toDense(randomPOMDP(makeRng(7), opts));
  const again = toDense(randomPOMDP(makeRng(7), opts));
  assert.deepEqual(Array.from(m.T), Array.from(again.T));
  assert.deepEqual(Array.from(m.R), Array.from(again.R));
  const S = 4, A = 3, O = 2;
  const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((x, y) => x + y, 0);
  assert.ok(Math.abs(sum(m.start) - 1) < 1e-12);
  let resets = 0;
  for (let i = 0; i < A * S; i++) {
    const t = sum(m.T.subarray(i * S, (i + 1) * S));
    if (m.reset[i]) {
      resets++;
      assert.equal(t, 0);
    } else assert.ok(Math.abs(t - 1) < 1e-12);
    assert.ok(Math.abs(sum(m.O.subarray(i * O, (i + 1) * O)) - 1) < 1e-12);
  }
  assert.ok(resets > 0 && resets < A * S);
  for (const r of m.R) assert.ok(r >= -1 && r <= 1);
  assert.notDeepEqual(Array.from(toDense(randomPOMDP(makeRng(8), opts)).T), Array.from(m.T));
});

Deno.test("`randomPOMDP()` rejects bad sizes and probabilities", () => {
  const rng = makeRng(1);
  assert.throws(
    () => randomPOMDP(rng, { states: 0, actions: 1, observations: 1 }),
    /invalid states 0/,
  );
  assert.throws(
    () => randomPOMDP(rng, { states: 1, actions: 1, observations: 1, density: 2 }),
    /invalid density 2; expected a number in \[0, 1\]/,
  );
});
