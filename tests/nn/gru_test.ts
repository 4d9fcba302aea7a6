import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { initBackend } from "../../lib/nn/backend.ts";
import {
  gruCell,
  gruRecurrenceNoGrad,
  gruSequence,
  gruSequenceReference,
  type GruWeights,
} from "../../lib/nn/gru.ts";
import { makeRng } from "../../lib/rng.ts";
import { normalArray } from "../../lib/nn/init.ts";

await initBackend("wasm");

const T = 5, B = 3, I = 4, H = 6;

function randomWeights(seed: number, scale = 0.5): GruWeights {
  const rng = makeRng(seed);
  return {
    wi: tf.tensor2d(normalArray(rng, I * 3 * H, scale), [I, 3 * H]),
    wh: tf.tensor2d(normalArray(rng, H * 3 * H, scale), [H, 3 * H]),
    bi: tf.tensor1d(normalArray(rng, 3 * H, scale)),
    bh: tf.tensor1d(normalArray(rng, 3 * H, scale)),
  };
}

function randomInput(seed: number, rows = T * B): tf.Tensor2D {
  return tf.tensor2d(normalArray(makeRng(seed), rows * I), [rows, I]);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A fixed random readout so every output element gets a distinct gradient. */
function readout(seed: number): tf.Tensor2D {
  return tf.tensor2d(normalArray(makeRng(seed), T * B * H), [T * B, H]);
}

Deno.test("`gruSequence()` forward matches the plain-op reference", () => {
  tf.tidy(() => {
    const w = randomWeights(1);
    const x = randomInput(2);
    const ours = gruSequence(x, w, T, B).dataSync();
    const ref = gruSequenceReference(x, w, T, B).dataSync();
    // float32 throughout in the reference, float64 gate arithmetic in ours: 1e-5 is ample.
    assert.ok(maxAbsDiff(ours, ref) < 1e-5, `max diff ${maxAbsDiff(ours, ref)}`);
    const noGrad = gruSequence(x, w, T, B, { grad: false }).dataSync();
    assert.deepEqual(Array.from(noGrad), Array.from(ours));
  });
});

Deno.test("`gruSequence()` gradients match tfjs autodiff of the reference", () => {
  tf.tidy(() => {
    const w = randomWeights(3);
    const x = randomInput(4);
    const R = readout(5);
    const lossOf =
      (run: typeof gruSequence) =>
      (xv: tf.Tensor, wi: tf.Tensor, wh: tf.Tensor, bi: tf.Tensor, bh: tf.Tensor) =>
        tf.sum(tf.mul(
          run(
            xv as tf.Tensor2D,
            {
              wi: wi as tf.Tensor2D,
              wh: wh as tf.Tensor2D,
              bi: bi as tf.Tensor1D,
              bh: bh as tf.Tensor1D,
            },
            T,
            B,
          ),
          R,
        ));
    const args = [x, w.wi, w.wh, w.bi, w.bh];
    const ours = tf.grads(lossOf(gruSequence))(args);
    const ref = tf.grads(lossOf((xv, wv, s, b) => gruSequenceReference(xv, wv, s, b)))(args);
    const names = ["x", "wi", "wh", "bi", "bh"];
    ours.forEach((g, i) => {
      const d = maxAbsDiff(g.dataSync(), ref[i].dataSync());
      // Gradients are O(1); float32 accumulation over T·B rows stays well under 1e-4.
      assert.ok(d < 1e-4, `${names[i]}: max diff ${d}`);
    });
  });
});

Deno.test("`gruSequence()` gradients match central finite differences", () => {
  tf.tidy(() => {
    const w = randomWeights(6);
    const x = randomInput(7);
    const R = readout(8);
    const loss = (wv: GruWeights, xv: tf.Tensor2D) =>
      tf.sum(tf.mul(gruSequence(xv, wv, T, B), R)).dataSync()[0];
    const [gWh, gBi, gX] = tf.grads((wh: tf.Tensor, bi: tf.Tensor, xv: tf.Tensor) =>
      tf.sum(tf.mul(
        gruSequence(
          xv as tf.Tensor2D,
          { ...w, wh: wh as tf.Tensor2D, bi: bi as tf.Tensor1D },
          T,
          B,
        ),
        R,
      ))
    )([w.wh, w.bi, x]).map((g) => g.dataSync());
    const eps = 1e-2;
    const check = (
      name: string,
      base: tf.Tensor,
      grad: ArrayLike<number>,
      make: (t: tf.Tensor) => number,
    ) => {
      const data = base.dataSync();
      for (const k of [0, 7, data.length - 1]) {
        const plus = Float32Array.from(data), minus = Float32Array.from(data);
        plus[k] += eps;
        minus[k] -= eps;
        const fd = (make(tf.tensor(plus, base.shape)) - make(tf.tensor(minus, base.shape))) /
          (2 * eps);
        // Central differences in float32 with ε = 1e-2: truncation O(ε²) plus rounding ~1e-5.
        assert.ok(Math.abs(fd - grad[k]) < 2e-3, `${name}[${k}]: fd ${fd} vs grad ${grad[k]}`);
      }
    };
    check("wh", w.wh, gWh, (t) => loss({ ...w, wh: t as tf.Tensor2D }, x));
    check("bi", w.bi, gBi, (t) => loss({ ...w, bi: t as tf.Tensor1D }, x));
    check("x", x, gX, (t) => loss(w, t as tf.Tensor2D));
  });
});

Deno.test("`gruCell()` and `gruRecurrenceNoGrad()` continue from a given state like the reference", () => {
  tf.tidy(() => {
    const w = randomWeights(9);
    const x = randomInput(10);
    const h0 = normalArray(makeRng(11), B * H, 0.5);
    const ref = gruSequenceReference(x, w, T, B, tf.tensor2d(h0, [B, H])).dataSync();
    const gi = tf.add(tf.matMul(x, w.wi), w.bi) as tf.Tensor2D;
    const seq = gruRecurrenceNoGrad(gi, w.wh, w.bh, T, B, h0).dataSync();
    assert.ok(maxAbsDiff(seq, ref) < 1e-5);
    // Step by step with the cell.
    const giData = gi.dataSync();
    let h = h0;
    const bh = w.bh.dataSync() as Float32Array;
    for (let t = 0; t < T; t++) {
      const next = gruCell(
        giData.slice(t * B * 3 * H, (t + 1) * B * 3 * H) as Float32Array,
        h,
        w.wh,
        bh,
        B,
      );
      assert.ok(maxAbsDiff(next, ref.slice(t * B * H, (t + 1) * B * H)) < 1e-5, `step ${t}`);
      h = next;
    }
    assert.deepEqual(
      Array.from(h0),
      Array.from(normalArray(makeRng(11), B * H, 0.5)),
      "h0 unchanged",
    );
  });
});

Deno.test("`gruSequence()` follows PyTorch's gate equations on a hand-computed step", () => {
  tf.tidy(() => {
    // H = 1, I = 1, one step from h = 0 with input x = 1.
    // wi = [a_r, a_z, a_n] = [1, -1, 0.5], bi = [0, 0, 0.25], wh anything (h = 0), bh = [0.5, 0, 2].
    // r = σ(1 + 0.5) = σ(1.5); z = σ(-1); n = tanh(0.5 + 0.25 + r · 2); h' = (1 - z) n.
    const w: GruWeights = {
      wi: tf.tensor2d([[1, -1, 0.5]]),
      wh: tf.tensor2d([[3, 3, 3]]),
      bi: tf.tensor1d([0, 0, 0.25]),
      bh: tf.tensor1d([0.5, 0, 2]),
    };
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const r = sig(1.5), z = sig(-1), n = Math.tanh(0.75 + 2 * r);
    const h1 = (1 - z) * n;
    // Second step, x = 0: r = σ(3 h1 + 0.5), z = σ(3 h1), n = tanh(0.25 + r (3 h1 + 2)).
    const r2 = sig(3 * h1 + 0.5), z2 = sig(3 * h1), n2 = Math.tanh(0.25 + r2 * (3 * h1 + 2));
    const h2 = (1 - z2) * n2 + z2 * h1;
    const out = gruSequence(tf.tensor2d([[1], [0]]), w, 2, 1).dataSync();
    assert.ok(
      Math.abs(out[0] - h1) < 1e-6 && Math.abs(out[1] - h2) < 1e-6,
      `${out} vs ${h1}, ${h2}`,
    );
  });
});

Deno.test("`gruSequence()` rejects inconsistent shapes", () => {
  tf.tidy(() => {
    const w = randomWeights(12);
    assert.throws(() => gruSequence(randomInput(1, 7), w, T, B), /rows/);
    assert.throws(
      () => gruSequence(tf.zeros([T * B, I + 1]) as tf.Tensor2D, w, T, B),
      /inconsistent/,
    );
  });
});
