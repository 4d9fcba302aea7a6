import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { initBackend } from "../../lib/nn/backend.ts";
import { embedCategorical, embedOneHot, oneHotCodes } from "../../lib/nn/embedding.ts";

await initBackend("wasm");

Deno.test("`oneHotCodes()` expands codes and rejects codes outside the vocabulary", () => {
  assert.deepEqual(Array.from(oneHotCodes([1, 0, 2], 3)), [0, 1, 0, 1, 0, 0, 0, 0, 1]);
  const out = new Float32Array(8);
  oneHotCodes([3], 4, out, 1);
  assert.deepEqual(Array.from(out), [0, 0, 0, 0, 0, 0, 0, 1]);
  assert.throws(() => oneHotCodes([3], 3), /code 3 .* 0\.\.2/);
  assert.throws(() => oneHotCodes([0.5], 3), /code 0.5/);
});

Deno.test("`embedOneHot()` looks rows up, maps an all-zero row to zeros, and trains the table", () => {
  tf.tidy(() => {
    const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    const x = tf.tensor2d([[0, 0, 1], [0, 0, 0], [1, 0, 0], [0, 0, 1]]);
    assert.deepEqual(Array.from(embedOneHot(x, table).dataSync()), [5, 6, 0, 0, 1, 2, 5, 6]);
    // d Σ e / d table = number of times each row was looked up.
    const g = tf.grad((t: tf.Tensor) => tf.sum(embedOneHot(x, t as tf.Tensor2D)))(table);
    assert.deepEqual(Array.from(g.dataSync()), [1, 1, 0, 0, 2, 2]);
  });
});

Deno.test("`embedCategorical()` concatenates each row's code vectors in order", () => {
  tf.tidy(() => {
    const table = tf.tensor2d([[10, 11], [20, 21], [30, 31]]);
    // 2 rows × 3 codes: [2, 0, 1] and [1, 1, 0].
    const oh = tf.tensor2d(oneHotCodes([2, 0, 1, 1, 1, 0], 3), [6, 3]);
    const e = embedCategorical(oh, table, 2, 3);
    assert.deepEqual(e.shape, [2, 6]);
    assert.deepEqual(Array.from(e.dataSync()), [30, 31, 10, 11, 20, 21, 20, 21, 20, 21, 10, 11]);
  });
});
