import assert from "assert";
import {
  gruBackwardHost,
  type GruBackwardOutputs,
  gruForwardHost,
  newGruTrace,
  type RowProduct,
} from "../../lib/nn/gru_host.ts";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** H = 1: the product h·wh is a scalar times [wr, wz, wn]. */
function scalarProduct(w: number[]): RowProduct {
  return (a, rows) => {
    const out = new Float32Array(rows * 3);
    for (let r = 0; r < rows; r++) for (let g = 0; g < 3; g++) out[r * 3 + g] = a[r] * w[g];
    return out;
  };
}

Deno.test("`gruForwardHost()` follows the GRU equations (H = 1, by hand)", () => {
  const gi = Float32Array.of(0.5, -0.25, 1, -1, 0.75, 0.2); // two steps, blocks r, z, n
  const w = [0.3, -0.6, 0.9], bh = Float32Array.of(0.1, 0.2, -0.3);
  const hs = new Float32Array(2);
  const trace = newGruTrace(2);
  gruForwardHost(gi, 2, 1, 1, scalarProduct(w), bh, null, trace, hs);
  // Step 0 from h = 0: gh = bh.
  const r0 = sigmoid(0.5 + 0.1), z0 = sigmoid(-0.25 + 0.2), n0 = Math.tanh(1 + r0 * -0.3);
  const h0 = (1 - z0) * n0;
  assert.ok(Math.abs(hs[0] - h0) < 1e-6, `${hs[0]} vs ${h0}`);
  // Step 1: gh = h0·w + bh.
  const h0f = Math.fround(h0);
  const r1 = sigmoid(-1 + h0f * 0.3 + 0.1), z1 = sigmoid(0.75 + h0f * -0.6 + 0.2);
  const n1 = Math.tanh(0.2 + r1 * (h0f * 0.9 - 0.3));
  const h1 = (1 - z1) * n1 + z1 * h0f;
  assert.ok(Math.abs(hs[1] - h1) < 1e-6, `${hs[1]} vs ${h1}`);
  assert.ok(Math.abs(trace.ghn[1] - (h0f * 0.9 - 0.3)) < 1e-6);
});

Deno.test("`gruBackwardHost()` matches finite differences of the forward pass", () => {
  const steps = 3, batch = 2, H = 2, H3 = 6;
  const w = Float32Array.from({ length: H * H3 }, (_, i) => Math.sin(i + 1) * 0.5);
  const mul: RowProduct = (a, rows) => {
    const out = new Float32Array(rows * H3);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < H3; c++) {
        let s = 0;
        for (let k = 0; k < H; k++) s += a[r * H + k] * w[k * H3 + c];
        out[r * H3 + c] = s;
      }
    }
    return out;
  };
  const mulT: RowProduct = (a, rows) => {
    const out = new Float32Array(rows * H);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < H; k++) {
        let s = 0;
        for (let c = 0; c < H3; c++) s += a[r * H3 + c] * w[k * H3 + c];
        out[r * H + k] = s;
      }
    }
    return out;
  };
  const bh = Float32Array.from({ length: H3 }, (_, i) => Math.cos(i) * 0.1);
  const gi = Float32Array.from({ length: steps * batch * H3 }, (_, i) => Math.sin(3 * i) * 0.8);
  const dH = Float32Array.from({ length: steps * batch * H }, (_, i) => Math.cos(2 * i));
  // L = Σ dH · hs
  const loss = (g: Float32Array) => {
    const hs = new Float64Array(steps * batch * H);
    const h32 = new Float32Array(steps * batch * H);
    gruForwardHost(g, steps, batch, H, mul, bh, null, null, h32);
    hs.set(h32);
    return hs.reduce((s, v, i) => s + v * dH[i], 0);
  };
  const hs = new Float32Array(steps * batch * H);
  const trace = newGruTrace(hs.length);
  gruForwardHost(gi, steps, batch, H, mul, bh, null, trace, hs);
  const out: GruBackwardOutputs = {
    dGi: new Float32Array(gi.length),
    dGh: new Float32Array(gi.length),
    dbh: new Float32Array(H3),
    hPrev: new Float32Array(hs.length).fill(7), // overwritten, first step included
  };
  gruBackwardHost(dH, steps, batch, H, mulT, hs, trace, out);
  for (const i of [0, 5, 7, 13, 20, 35]) {
    const eps = 1e-2;
    const up = Float32Array.from(gi), down = Float32Array.from(gi);
    up[i] += eps;
    down[i] -= eps;
    const numeric = (loss(up) - loss(down)) / (2 * eps);
    assert.ok(Math.abs(numeric - out.dGi[i]) < 2e-3, `dGi[${i}]: ${out.dGi[i]} vs ${numeric}`);
  }
  // dbh is the sum of dGh over rows; hPrev is hs shifted by one step with zeros first.
  for (let c = 0; c < H3; c++) {
    let s = 0;
    for (let r = 0; r < steps * batch; r++) s += out.dGh[r * H3 + c];
    assert.ok(Math.abs(out.dbh[c] - s) < 1e-6);
  }
  assert.deepEqual(Array.from(out.hPrev.subarray(0, batch * H)), [0, 0, 0, 0]);
  assert.deepEqual(out.hPrev.subarray(batch * H), hs.subarray(0, (steps - 1) * batch * H));
});
