import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { Adam } from "../../lib/nn/adam.ts";
import { initBackend } from "../../lib/nn/backend.ts";

await initBackend("wasm");

/** PyTorch's Adam written out for one scalar parameter. */
function pytorchAdam(p: number, grads: number[], lr: number, eps: number): number {
  let m = 0, v = 0;
  grads.forEach((g, i) => {
    const t = i + 1;
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    const stepSize = lr / (1 - 0.9 ** t);
    const denom = Math.sqrt(v) / Math.sqrt(1 - 0.999 ** t) + eps;
    p -= stepSize * m / denom;
  });
  return p;
}

Deno.test("`Adam` follows PyTorch's update with bias correction", () => {
  const w = tf.variable(tf.tensor1d([1, -2]));
  const opt = new Adam({ w }, { lr: 0.1, eps: 1e-4 });
  const grads = [[0.5, -3], [0.25, 1], [-1, 0.001]];
  for (const g of grads) tf.tidy(() => opt.apply({ w: tf.tensor1d(g) }));
  const got = w.dataSync();
  const want0 = pytorchAdam(1, grads.map((g) => g[0]), 0.1, 1e-4);
  const want1 = pytorchAdam(-2, grads.map((g) => g[1]), 0.1, 1e-4);
  assert.ok(
    Math.abs(got[0] - want0) < 1e-6 && Math.abs(got[1] - want1) < 1e-6,
    `${got} vs ${want0}, ${want1}`,
  );
  // The first step of Adam moves each weight by about lr·sign(g) (here: ε-corrected).
  assert.equal(opt.step, 3);
  opt.dispose();
  w.dispose();
});

Deno.test("`Adam` state round-trips: a restored optimizer continues identically", () => {
  const a = tf.variable(tf.tensor1d([0.3, 0.7]));
  const optA = new Adam({ a }, { lr: 0.01 });
  tf.tidy(() => optA.apply({ a: tf.tensor1d([1, 2]) }));
  const saved = optA.getState();
  const pSaved = Array.from(a.dataSync());
  tf.tidy(() => optA.apply({ a: tf.tensor1d([-1, 0.5]) }));
  const afterA = Array.from(a.dataSync());

  const b = tf.variable(tf.tensor1d(pSaved));
  const optB = new Adam({ a: b }, { lr: 0.01 });
  optB.setState(saved);
  assert.equal(optB.step, 1);
  tf.tidy(() => optB.apply({ a: tf.tensor1d([-1, 0.5]) }));
  assert.deepEqual(Array.from(b.dataSync()), afterA);
  assert.throws(() => optB.setState({ step: 1, m: {}, v: {} }), /missing moment m of "a"/);
  assert.throws(() => optB.apply({ zzz: tf.tensor1d([1]) }), /unknown parameter "zzz"/);
  for (const t of [a, b]) t.dispose();
  optA.dispose();
  optB.dispose();
});

Deno.test("`Adam` does not leak tensors", () => {
  const w = tf.variable(tf.ones([3, 3]));
  const opt = new Adam({ w });
  const g = tf.ones([3, 3]);
  opt.apply({ w: g });
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) opt.apply({ w: g });
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
  w.dispose();
  g.dispose();
});
