import assert from "assert";
import { normalArray, uniformArray, xavierNormal } from "../../lib/nn/init.ts";
import { makeRng } from "../../lib/rng.ts";

function std(a: Float32Array): number {
  let s = 0, s2 = 0;
  for (const v of a) {
    s += v;
    s2 += v * v;
  }
  const m = s / a.length;
  return Math.sqrt(s2 / a.length - m * m);
}

Deno.test("`xavierNormal()` has std gain·√(2/(fanIn+fanOut)) and is reproducible", () => {
  const w = xavierNormal(makeRng(1), 200, 300, Math.SQRT2);
  // Expected std √2·√(2/500) = 0.08944; 60 000 draws estimate it within ~0.3% (1σ).
  assert.ok(Math.abs(std(w) / 0.0894427 - 1) < 0.02, `std ${std(w)}`);
  assert.deepEqual(xavierNormal(makeRng(1), 200, 300, Math.SQRT2), w);
  assert.notDeepEqual(xavierNormal(makeRng(2), 200, 300, Math.SQRT2), w);
});

Deno.test("`normalArray()` and `uniformArray()` draw the requested distributions", () => {
  const n = normalArray(makeRng(3), 20000);
  assert.ok(Math.abs(std(n) - 1) < 0.03);
  const u = uniformArray(makeRng(4), 20000, -0.5, 0.5);
  assert.ok(u.every((v) => v >= -0.5 && v < 0.5));
  // Uniform on [-0.5, 0.5): std 1/√12 = 0.2887.
  assert.ok(Math.abs(std(u) - 0.288675) < 0.01);
  assert.throws(() => uniformArray(makeRng(1), 3, 1, 1), /low < high/);
  assert.throws(() => xavierNormal(makeRng(1), -1, 2), /non-negative/);
});
