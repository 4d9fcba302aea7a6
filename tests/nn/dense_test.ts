import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { initBackend } from "../../lib/nn/backend.ts";
import { dense, stopGradient } from "../../lib/nn/dense.ts";
import { normalArray } from "../../lib/nn/init.ts";
import { makeRng } from "../../lib/rng.ts";

await initBackend("wasm");

const N = 5, IN = 4, OUT = 3;
const rnd = (seed: number, shape: number[]) =>
  tf.tensor(normalArray(makeRng(seed), shape.reduce((a, b) => a * b, 1)), shape);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const activation of ["linear", "relu"] as const) {
  Deno.test(`\`dense()\` (${activation}) values and gradients match tfjs autodiff`, () => {
    tf.tidy(() => {
      const x = rnd(1, [N, IN]), w = rnd(2, [IN, OUT]), b = rnd(3, [OUT]), R = rnd(4, [N, OUT]);
      const plain = (xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) => {
        const y = tf.add(tf.matMul(xv as tf.Tensor2D, wv as tf.Tensor2D), bv);
        return activation === "relu" ? tf.relu(y) : y;
      };
      const ours = (xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) =>
        dense(xv as tf.Tensor2D, wv as tf.Tensor2D, bv as tf.Tensor1D, { activation });
      assert.ok(maxAbsDiff(ours(x, w, b).dataSync(), plain(x, w, b).dataSync()) < 1e-6);
      const loss = (f: typeof plain) => (xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) =>
        tf.sum(tf.mul(f(xv, wv, bv), R));
      const g1 = tf.grads(loss(ours))([x, w, b]);
      const g2 = tf.grads(loss(plain))([x, w, b]);
      g1.forEach((g, i) =>
        assert.ok(maxAbsDiff(g.dataSync(), g2[i].dataSync()) < 1e-5, `input ${i}`)
      );
      // Without bias, and with x as data: gradients of w agree with the full version's.
      const [gw] = tf.grads((wv: tf.Tensor) =>
        tf.sum(
          tf.mul(
            dense(x as tf.Tensor2D, wv as tf.Tensor2D, null, { activation, inputGrad: false }),
            R,
          ),
        )
      )([w]);
      const [, gwRef] = tf.grads((xv: tf.Tensor, wv: tf.Tensor) =>
        tf.sum(tf.mul(plain(xv, wv, tf.zeros([OUT])), R))
      )([x, w]);
      assert.ok(maxAbsDiff(gw.dataSync(), gwRef.dataSync()) < 1e-5);
    });
  });
}

Deno.test("`dense()` gradients match central finite differences", () => {
  tf.tidy(() => {
    const x = rnd(5, [N, IN]), w = rnd(6, [IN, OUT]), b = rnd(7, [OUT]), R = rnd(8, [N, OUT]);
    const f = (wv: tf.Tensor) =>
      tf.sum(
        tf.mul(
          dense(x as tf.Tensor2D, wv as tf.Tensor2D, b as tf.Tensor1D, { activation: "relu" }),
          R,
        ),
      );
    const g = tf.grad(f)(w).dataSync();
    const base = w.dataSync();
    const eps = 1e-3;
    for (let k = 0; k < base.length; k++) {
      const p = Float32Array.from(base), m = Float32Array.from(base);
      p[k] += eps;
      m[k] -= eps;
      const fd = (f(tf.tensor(p, w.shape)).dataSync()[0] - f(tf.tensor(m, w.shape)).dataSync()[0]) /
        (2 * eps);
      // Piecewise-linear in w away from ReLU kinks: FD is exact up to float32 rounding (~1e-4 here).
      assert.ok(Math.abs(fd - g[k]) < 2e-3, `w[${k}]: fd ${fd} vs ${g[k]}`);
    }
  });
});

Deno.test("`dense()` rejects mismatched shapes", () => {
  tf.tidy(() => {
    assert.throws(() => dense(tf.zeros([2, 3]), tf.zeros([4, 5]), null), /cannot multiply/);
    assert.throws(() => dense(tf.zeros([2, 3]), tf.zeros([3, 5]), tf.zeros([4])), /bias/);
  });
});

Deno.test("`stopGradient()` passes values and stops gradients", () => {
  tf.tidy(() => {
    const x = tf.tensor1d([1, -2, 3]);
    assert.deepEqual(Array.from(stopGradient(x).dataSync()), [1, -2, 3]);
    // d/dx Σ SG(x)·x = SG(x) = x (only the second factor is differentiated).
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(stopGradient(v), v)))(x);
    assert.deepEqual(Array.from(g.dataSync()), [1, -2, 3]);
    const g2 = tf.grad((v: tf.Tensor) => tf.sum(stopGradient(tf.square(v))))(x);
    assert.deepEqual(Array.from(g2.dataSync(), (v) => v + 0), [0, 0, 0]); // -0 → 0
  });
});
