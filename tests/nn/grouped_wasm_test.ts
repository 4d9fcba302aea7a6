/**
 * The plain-`wasm` grouped products of lib/nn/grouped_wasm.ts (what groupedMatMulRaw and
 * groupedOuter of lib/nn/grouped_ops.ts run on plain wasm) against a float64 triple loop per group,
 * with ragged and empty groups. Runs on plain wasm whatever backend the other tests use.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { initBackend } from "../../lib/nn/backend.ts";
import { groupedMatMulRaw, groupedOuter, rowGroups } from "../../lib/nn/grouped_ops.ts";
import { makeRng, normal } from "../../lib/rng.ts";

await initBackend("wasm");
assert.equal(tf.getBackend(), "wasm");

const rng = makeRng(7);
const rand = (n: number) => Float32Array.from({ length: n }, () => normal(rng));

/** Max |a - b| relative to the largest |b| (float32 products of ≤ 40 terms: ≤ 1e-6 expected). */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 1e-12;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

const COUNTS = [3, 0, 7, 1]; // ragged, with an empty group
const K = COUNTS.length, R = 11, IN = 40, OUT = 9;

Deno.test("plain wasm `groupedMatMulRaw()`: each group's rows times its own weights (plain and transposed), plus bias, ReLU", () => {
  const before = tf.memory().numTensors;
  const groups = rowGroups(COUNTS);
  const xv = rand(R * IN), wv = rand(K * IN * OUT), bv = rand(K * OUT);
  for (const transB of [false, true]) {
    for (const relu of [false, true]) {
      // Reference in float64: w_k is [IN, OUT] (or [OUT, IN] read transposed).
      const want = new Float64Array(R * OUT);
      for (let k = 0; k < K; k++) {
        for (let r = groups.offsets[k]; r < groups.offsets[k + 1]; r++) {
          for (let j = 0; j < OUT; j++) {
            let s = bv[k * OUT + j];
            for (let i = 0; i < IN; i++) {
              const w = transB ? wv[k * IN * OUT + j * IN + i] : wv[k * IN * OUT + i * OUT + j];
              s += xv[r * IN + i] * w;
            }
            want[r * OUT + j] = relu ? Math.max(0, s) : s;
          }
        }
      }
      const got = tf.tidy(() => {
        const x = tf.tensor2d(xv, [R, IN]);
        const w = tf.tensor3d(wv, transB ? [K, OUT, IN] : [K, IN, OUT]);
        const b = tf.tensor2d(bv, [K, OUT]);
        const y = groupedMatMulRaw(x, w, b, groups, {
          transB,
          activation: relu ? "relu" : "linear",
        });
        assert.deepEqual(y.shape, [R, OUT]);
        return y.dataSync().slice();
      });
      const e = relError(got, want);
      assert.ok(e < 1e-5, `transB ${transB}, relu ${relu}: relative error ${e}`);
    }
  }
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});

Deno.test("plain wasm `groupedOuter()`: x_kᵀ · g_k per group, zeros for an empty group", () => {
  const before = tf.memory().numTensors;
  const groups = rowGroups(COUNTS);
  const xv = rand(R * IN), gv = rand(R * OUT);
  const want = new Float64Array(K * IN * OUT);
  for (let k = 0; k < K; k++) {
    for (let r = groups.offsets[k]; r < groups.offsets[k + 1]; r++) {
      for (let i = 0; i < IN; i++) {
        for (let j = 0; j < OUT; j++) {
          want[(k * IN + i) * OUT + j] += xv[r * IN + i] * gv[r * OUT + j];
        }
      }
    }
  }
  const got = tf.tidy(() => {
    const d = groupedOuter(tf.tensor2d(xv, [R, IN]), tf.tensor2d(gv, [R, OUT]), groups);
    assert.deepEqual(d.shape, [K, IN, OUT]);
    return d.dataSync().slice();
  });
  assert.ok(got.slice(IN * OUT, 2 * IN * OUT).every((v) => v === 0), "empty group: zeros");
  const e = relError(got, want);
  assert.ok(e < 1e-5, `relative error ${e}`);
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});
