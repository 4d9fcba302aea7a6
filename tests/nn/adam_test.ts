/**
 * `BatchedAdam`, the one optimizer: PyTorch's update per run (checked against the formula written
 * out), K = 3 equal to three K = 1 optimizers, state round trips, no tensor growth.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { BatchedAdam } from "../../lib/nn/batched_adam.ts";
import { initBackend } from "../../lib/nn/backend.ts";
import { makeRng, normal } from "../../lib/rng.ts";

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

Deno.test("`BatchedAdam` follows PyTorch's update with bias correction, at K = 1 and 3", () => {
  // Run k starts at p0[k] and gets grads[t][k]; at K = 3 the middle run sits out the second step.
  const p0 = [[1, -2], [0.5, 3], [-1, 0.25]];
  const grads = [[[0.5, -3], [2, 1], [-1, 4]], [[0.25, 1], [9, 9], [0.5, -0.5]], [
    [-1, 0.001],
    [-2, 0.1],
    [3, 1e-3],
  ]];
  for (const K of [1, 3]) {
    const w = tf.variable(tf.tensor2d(p0.slice(0, K)));
    const opt = new BatchedAdam({ w }, K, { lr: 0.1, eps: 1e-4 });
    const sitsOut = (t: number, k: number) => K === 3 && k === 1 && t === 1;
    grads.forEach((g, t) => {
      const active = Array.from({ length: K }, (_, k) => !sitsOut(t, k));
      tf.tidy(() => opt.apply({ w: tf.tensor2d(g.slice(0, K)) }, active));
    });
    const got = w.dataSync();
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < 2; i++) {
        const gs = grads.filter((_, t) => !sitsOut(t, k)).map((g) => g[k][i]);
        const want = pytorchAdam(p0[k][i], gs, 0.1, 1e-4);
        assert.ok(
          Math.abs(got[2 * k + i] - want) < 1e-6,
          `K=${K} run ${k}[${i}]: ${got} vs ${want}`,
        );
      }
    }
    assert.deepEqual(opt.steps, K === 1 ? [3] : [3, 2, 3]);
    opt.dispose();
    w.dispose();
  }
});

Deno.test("`BatchedAdam` steps each run of K = 3, each with its own learning rate, as a K = 1 optimizer does and leaves inactive runs untouched", () => {
  const rng = makeRng(5);
  const K = 3;
  const lrs = [0.01, 0.003, 0.03];
  const rand = (n: number) => Float32Array.from({ length: n }, () => normal(rng));
  const p0 = rand(K * 6);
  const w = tf.variable(tf.tensor(p0, [K, 2, 3]));
  const opt = new BatchedAdam({ w }, K, { lr: lrs, eps: 1e-4 });
  assert.deepEqual(opt.lr, lrs);
  const singles = Array.from({ length: K }, (_, k) => {
    const v = tf.variable(tf.tensor(p0.slice(6 * k, 6 * k + 6), [1, 2, 3]));
    return { v, opt: new BatchedAdam({ w: v }, 1, { lr: lrs[k], eps: 1e-4 }) };
  });
  assert.throws(() => new BatchedAdam({ w }, K, { lr: [0.1, 0.1] }), /2 learning rates for 3 runs/);
  assert.throws(
    () => new BatchedAdam({ w }, K, { lr: [0.1, -1, 0.1] }),
    /lr of run 1 must be positive, got -1/,
  );
  const patterns = [[true, true, true], [true, false, true], [false, false, true], [
    true,
    true,
    false,
  ]];
  try {
    for (const active of patterns) {
      const g = rand(K * 6);
      const before = [0, 1, 2].map((k) => opt.getState(k));
      const wBefore = Float32Array.from(w.dataSync() as Float32Array);
      const gt = tf.tensor(g, [K, 2, 3]);
      opt.apply({ w: gt }, active);
      gt.dispose();
      const wAfter = w.dataSync() as Float32Array;
      active.forEach((on, k) => {
        const mine = Array.from(wAfter.slice(6 * k, 6 * k + 6));
        if (on) {
          const gk = tf.tensor(g.slice(6 * k, 6 * k + 6), [1, 2, 3]);
          singles[k].opt.apply({ w: gk }, [true]);
          gk.dispose();
          assert.deepEqual(mine, Array.from(singles[k].v.dataSync()));
          assert.deepEqual(opt.getState(k), singles[k].opt.getState(0));
        } else {
          assert.deepEqual(mine, Array.from(wBefore.slice(6 * k, 6 * k + 6)));
          assert.deepEqual(opt.getState(k), before[k]);
        }
      });
    }
    assert.deepEqual(opt.steps, [3, 2, 3]);
  } finally {
    opt.dispose();
    w.dispose();
    singles.forEach((s) => {
      s.opt.dispose();
      s.v.dispose();
    });
  }
});

Deno.test("`BatchedAdam` state round-trips: a restored optimizer continues identically", () => {
  const a = tf.variable(tf.tensor2d([[0.3, 0.7]]));
  const optA = new BatchedAdam({ a }, 1, { lr: 0.01 });
  tf.tidy(() => optA.apply({ a: tf.tensor2d([[1, 2]]) }, [true]));
  const saved = optA.getState(0);
  const pSaved = Array.from(a.dataSync());
  tf.tidy(() => optA.apply({ a: tf.tensor2d([[-1, 0.5]]) }, [true]));
  const afterA = Array.from(a.dataSync());

  // Restored into run 1 of a K = 2 optimizer.
  const b = tf.variable(tf.tensor2d([[9, 9], pSaved]));
  const optB = new BatchedAdam({ a: b }, 2, { lr: 0.01 });
  optB.setState(1, saved);
  assert.deepEqual(optB.steps, [0, 1]);
  tf.tidy(() => optB.apply({ a: tf.tensor2d([[0, 0], [-1, 0.5]]) }, [false, true]));
  assert.deepEqual(Array.from(b.dataSync()).slice(2), afterA);
  assert.throws(() => optB.setState(0, { step: 1, m: {}, v: {} }), /missing moment m of "a"/);
  assert.throws(() => optB.setState(2, saved), /run 2 out of range 0\.\.1/);
  assert.throws(
    () => optB.apply({ zzz: tf.tensor2d([[1], [1]]) }, [true, true]),
    /unknown parameter "zzz"/,
  );
  assert.throws(() => new BatchedAdam({ a: b }, 3), /not stacked over 3/);
  for (const t of [a, b]) t.dispose();
  optA.dispose();
  optB.dispose();
});

Deno.test("`BatchedAdam` does not leak tensors", () => {
  const w = tf.variable(tf.ones([2, 3, 3]));
  const opt = new BatchedAdam({ w }, 2);
  const g = tf.ones([2, 3, 3]);
  opt.apply({ w: g }, [true, true]);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) opt.apply({ w: g }, [i % 2 === 0, true]);
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
  w.dispose();
  g.dispose();
});
