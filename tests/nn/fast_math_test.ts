/**
 * The fast gate functions of lib/nn/fast_math.ts against V8's full-precision `Math.exp` and
 * `Math.tanh` (correctly rounded to within an ulp, far below the bounds checked) on dense grids,
 * and their values at the points where the exact answer is known by hand.
 */
import assert from "assert";
import {
  FAST_EXP_REL_ERROR,
  FAST_GATE_ABS_ERROR,
  fastExp,
  fastSigmoid,
  fastTanh,
} from "../../lib/nn/fast_math.ts";

/** n+1 evenly spaced points from a to b, plus the float32 neighbours of each (within [a, b]). */
function grid(a: number, b: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i <= n; i++) {
    const x = a + ((b - a) * i) / n;
    const f = Math.fround(x);
    out.push(x, f, f * (1 + 2 ** -23), f * (1 - 2 ** -23));
  }
  return out.filter((x) => x >= a && x <= b);
}

Deno.test("fastExp: relative error within FAST_EXP_REL_ERROR on [-87, 88], including every range-reduction boundary", () => {
  let worst = 0;
  for (const x of grid(-87, 88, 400_000)) {
    worst = Math.max(worst, Math.abs(fastExp(x) / Math.exp(x) - 1));
  }
  // The reduction switches k at odd multiples of ln(2)/2, where |r| is largest.
  for (let k = -125; k <= 126; k++) {
    for (const x of [(k + 0.5) * Math.LN2, (k - 0.5) * Math.LN2]) {
      if (x < -87 || x > 88) continue;
      worst = Math.max(worst, Math.abs(fastExp(x) / Math.exp(x) - 1));
    }
  }
  assert.ok(worst <= FAST_EXP_REL_ERROR, `worst relative error ${worst}`);
  assert.ok(worst > 0, "fastExp equals Math.exp everywhere: the test would not see an error");
});

Deno.test("fastExp: exact at 0, clamped outside [-87, 88], NaN stays NaN", () => {
  assert.equal(fastExp(0), 1);
  assert.equal(fastExp(-Infinity), fastExp(-87));
  assert.equal(fastExp(Infinity), fastExp(88));
  assert.ok(fastExp(-1000) > 0 && fastExp(-1000) < 1e-37);
  assert.ok(Number.isNaN(fastExp(NaN)));
});

Deno.test("fastSigmoid and fastTanh: absolute error within FAST_GATE_ABS_ERROR on [-60, 60], saturated beyond", () => {
  let sig = 0, tanh = 0;
  for (const x of grid(-60, 60, 600_000)) {
    sig = Math.max(sig, Math.abs(fastSigmoid(x) - 1 / (1 + Math.exp(-x))));
    tanh = Math.max(tanh, Math.abs(fastTanh(x) - Math.tanh(x)));
  }
  assert.ok(sig <= FAST_GATE_ABS_ERROR, `sigmoid worst absolute error ${sig}`);
  assert.ok(tanh <= FAST_GATE_ABS_ERROR, `tanh worst absolute error ${tanh}`);
  // Known values: σ(0) = 1/2, tanh(0) = 0, odd symmetry of tanh to the bound.
  assert.equal(fastSigmoid(0), 0.5);
  assert.equal(fastTanh(0), 0);
  for (const x of [0.1, 1, 3, 20]) {
    assert.ok(Math.abs(fastTanh(x) + fastTanh(-x)) <= 2 * FAST_GATE_ABS_ERROR);
    assert.ok(Math.abs(fastSigmoid(x) + fastSigmoid(-x) - 1) <= 2 * FAST_GATE_ABS_ERROR);
  }
  assert.equal(fastTanh(1e6), 1);
  assert.equal(fastTanh(-1e6), -1);
  assert.equal(fastSigmoid(1e6), 1);
  assert.ok(fastSigmoid(-1e6) >= 0 && fastSigmoid(-1e6) < 1e-37);
});
