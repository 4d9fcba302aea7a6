/**
 * The grouped products of lib/nn/grouped_ops.ts against the plain dense layer, group by group. On
 * the `wasm-blas` backend (when OpenBLAS loads) the values agree exactly and the gradients to
 * float32 rounding (sgemm with transpose flags and sgemv sum in OpenBLAS's order, `dense` through
 * tfjs's transpose and Sum kernels); on plain `wasm` the grouped products are tfjs products per
 * group (lib/nn/grouped_wasm.ts) and everything agrees to float32 rounding.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { groupedDense, rowGroups } from "../../lib/nn/grouped_ops.ts";
import { dense } from "../../lib/nn/dense.ts";
import { makeRng, normal } from "../../lib/rng.ts";
import { initTestBackend } from "../models/helpers.ts";

// ADQN_TEST_BACKEND=wasm runs these tests on plain wasm (tolerances instead of exact equality).
const BLAS = await initTestBackend();
/** Bit-identical values are expected on the BLAS backend. */
const EXACT = BLAS;

function assertSameArrays(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  assert.equal(a.length, b.length, what);
  if (tol === 0) {
    assert.deepEqual(Array.from(b), Array.from(a), what);
  } else {
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
    assert.ok(d <= tol, `${what}: max difference ${d} > ${tol}`);
  }
}

Deno.test("`groupedDense()` computes each group's rows with its own weights, values and gradients, empty groups included", () => {
  const rng = makeRng(3);
  const rand = (shape: number[]) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => normal(rng)),
      shape,
    );
  const counts = [3, 0, 5];
  const K = counts.length, I = 6, O = 4, R = 8;
  const x = rand([R, I]) as tf.Tensor2D, dy = rand([R, O]) as tf.Tensor2D;
  const w = tf.variable(rand([K, I, O])), b = tf.variable(rand([K, O]));
  const groups = rowGroups(counts);
  const tol = EXACT ? 0 : 1e-5;
  /** Gradients: sums of at most 5 products of standard normals, float32 rounding in any order. */
  const gradTol = 1e-5;
  try {
    for (const activation of ["linear", "relu"] as const) {
      const grouped = tf.engine().gradients(() => {
        const y = groupedDense(
          x,
          w as tf.Tensor as tf.Tensor3D,
          b as tf.Tensor as tf.Tensor2D,
          groups,
          {
            activation,
          },
        );
        return tf.sum(tf.mul(y, dy)) as tf.Scalar;
      }, [w, b, x]);
      const gw = grouped.grads[0].dataSync(), gb = grouped.grads[1].dataSync();
      const gx = grouped.grads[2].dataSync();
      let row = 0;
      for (let k = 0; k < K; k++) {
        const n = counts[k];
        // Fresh tensors: tfjs-wasm's fused product reads the bias rank from the data's first shape.
        const wk = tf.variable(tf.tensor(w.dataSync().slice(k * I * O, (k + 1) * I * O), [I, O]));
        const bk = tf.variable(tf.tensor(b.dataSync().slice(k * O, (k + 1) * O), [O]));
        if (n === 0) {
          assert.deepEqual(
            Array.from(gw.slice(k * I * O, (k + 1) * I * O)),
            new Array(I * O).fill(0),
          );
          assert.deepEqual(Array.from(gb.slice(k * O, (k + 1) * O)), new Array(O).fill(0));
        } else {
          const xk = tf.slice(x, [row, 0], [n, I]) as tf.Tensor2D;
          const dyk = tf.slice(dy, [row, 0], [n, O]);
          const single = tf.engine().gradients(
            () =>
              tf.sum(
                tf.mul(
                  dense(xk, wk as tf.Tensor as tf.Tensor2D, bk as tf.Tensor as tf.Tensor1D, {
                    activation,
                  }),
                  dyk,
                ),
              ) as tf.Scalar,
            [wk, bk, xk],
          );
          assertSameArrays(
            single.grads[0].dataSync(),
            gw.slice(k * I * O, (k + 1) * I * O),
            gradTol,
            `dw ${k}`,
          );
          assertSameArrays(
            single.grads[1].dataSync(),
            gb.slice(k * O, (k + 1) * O),
            gradTol,
            `db ${k}`,
          );
          assertSameArrays(
            single.grads[2].dataSync(),
            gx.slice(row * I, (row + n) * I),
            gradTol,
            `dx ${k}`,
          );
          const yk = dense(xk, wk as tf.Tensor as tf.Tensor2D, bk as tf.Tensor as tf.Tensor1D, {
            activation,
          });
          const yg = groupedDense(
            x,
            w as tf.Tensor as tf.Tensor3D,
            b as tf.Tensor as tf.Tensor2D,
            groups,
            {
              activation,
            },
          );
          assertSameArrays(
            yk.dataSync(),
            yg.dataSync().slice(row * O, (row + n) * O),
            tol,
            `y ${k}`,
          );
        }
        wk.dispose();
        bk.dispose();
        row += n;
      }
    }
  } finally {
    w.dispose();
    b.dispose();
  }
});
