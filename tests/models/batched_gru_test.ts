import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { initBackend } from "../../lib/nn/backend.ts";
import { enableBlasBackend } from "../../lib/nn/fast_backend.ts";
import { gruSequenceReference } from "../../lib/nn/gru.ts";
import { rowGroups } from "../../lib/nn/grouped_ops.ts";
import { makeRng } from "../../lib/rng.ts";
import { normalArray } from "../../lib/nn/init.ts";
import { groupedGruNoGrad, groupedGruRecurrence } from "../../lib/models/batched_gru.ts";

// The products of the recurrence differ by backend (tfjs on plain wasm; on wasm-blas `sgemv` for
// one sequence per run, `sgemm` for several): each is checked where it runs.
const BACKENDS = (await enableBlasBackend("wasm-blas")).ok ? ["wasm", "wasm-blas"] : ["wasm"];
if (BACKENDS.length === 1) console.warn("tests/models/batched_gru_test.ts: no OpenBLAS, wasm only");
await initBackend("wasm");

// The batched network's GRU recurrence against the plain-op reference run by run: K = 1 (a single
// run) and K = 3 with runs of different lengths, `batch` sequences each (1: the reference's one
// episode per gradient step; 2: several).
const B = 2, H = 6, H3 = 3 * H;
const CASES: { name: string; steps: number[]; batch: number }[] = [
  { name: "K = 1", steps: [5], batch: B },
  { name: "K = 3", steps: [5, 3, 4], batch: B },
  { name: "K = 1, one sequence", steps: [5], batch: 1 },
  { name: "K = 3, one sequence each", steps: [5, 3, 4], batch: 1 },
];

interface Problem {
  gi: tf.Tensor2D;
  wh: tf.Tensor3D;
  bh: tf.Tensor2D;
  readout: tf.Tensor2D;
}

function problem(seed: number, steps: number[], batch = B): Problem {
  const rng = makeRng(seed), K = steps.length;
  const R = steps.reduce((a, s) => a + s * batch, 0);
  return {
    gi: tf.tensor2d(normalArray(rng, R * H3), [R, H3]),
    wh: tf.tensor3d(normalArray(rng, K * H * H3, 0.5), [K, H, H3]),
    bh: tf.tensor2d(normalArray(rng, K * H3, 0.5), [K, H3]),
    // A fixed random readout so every output element gets a distinct gradient.
    readout: tf.tensor2d(normalArray(rng, R * H), [R, H]),
  };
}

/**
 * Run k of the batch through the reference, given its input projections directly (wi = identity,
 * bi = 0: x·I + 0 is exact in float32), then the runs concatenated in row order.
 */
function reference(
  gi: tf.Tensor2D,
  wh: tf.Tensor3D,
  bh: tf.Tensor2D,
  steps: number[],
  batch: number,
) {
  const eye = tf.eye(H3) as tf.Tensor2D, zero = tf.zeros([H3]) as tf.Tensor1D;
  const outs: tf.Tensor2D[] = [];
  let o = 0;
  steps.forEach((s, k) => {
    const rows = s * batch;
    const weights = {
      wi: eye,
      bi: zero,
      wh: tf.reshape(tf.slice(wh, [k, 0, 0], [1, H, H3]), [H, H3]) as tf.Tensor2D,
      bh: tf.reshape(tf.slice(bh, [k, 0], [1, H3]), [H3]) as tf.Tensor1D,
    };
    outs.push(gruSequenceReference(tf.slice(gi, [o, 0], [rows, H3]), weights, s, batch));
    o += rows;
  });
  return tf.concat(outs, 0);
}

function ours(
  gi: tf.Tensor2D,
  wh: tf.Tensor3D,
  bh: tf.Tensor2D,
  steps: number[],
  batch: number,
) {
  return groupedGruRecurrence(gi, wh, bh, steps, batch, rowGroups(steps.map((s) => s * batch)));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const backend of BACKENDS) {
  for (const { name, steps, batch } of CASES) {
    Deno.test(`batched GRU recurrence forward matches the plain-op reference run by run, ${name}, on ${backend}`, async () => {
      await tf.setBackend(backend);
      tf.tidy(() => {
        const p = problem(1, steps, batch);
        const got = ours(p.gi, p.wh, p.bh, steps, batch).dataSync();
        const ref = reference(p.gi, p.wh, p.bh, steps, batch).dataSync();
        // float32 throughout in both: 1e-5 is ample for O(1) hidden states.
        assert.ok(maxAbsDiff(got, ref) < 1e-5, `max diff ${maxAbsDiff(got, ref)}`);
        const noGrad = groupedGruNoGrad(p.gi, p.wh, p.bh, steps, batch).dataSync();
        assert.deepEqual(Array.from(noGrad), Array.from(got));
      });
    });

    Deno.test(`batched GRU recurrence gradients match tfjs autodiff of the reference, ${name}, on ${backend}`, async () => {
      await tf.setBackend(backend);
      tf.tidy(() => {
        const p = problem(2, steps, batch);
        type Run = typeof ours;
        const lossOf = (run: Run) => (gi: tf.Tensor, wh: tf.Tensor, bh: tf.Tensor) =>
          tf.sum(tf.mul(
            run(gi as tf.Tensor2D, wh as tf.Tensor3D, bh as tf.Tensor2D, steps, batch),
            p.readout,
          ));
        const args = [p.gi, p.wh, p.bh];
        const got = tf.grads(lossOf(ours))(args);
        const ref = tf.grads(lossOf(reference))(args);
        ["gi", "wh", "bh"].forEach((n, i) => {
          assert.deepEqual(got[i].shape, ref[i].shape, n);
          const d = maxAbsDiff(got[i].dataSync(), ref[i].dataSync());
          // Gradients are O(1); float32 accumulation over the rows stays well under 1e-4.
          assert.ok(d < 1e-4, `${n}: max diff ${d}`);
        });
      });
    });
  }
}

Deno.test("batched GRU recurrence follows PyTorch's gate equations on hand-computed steps (K = 1)", async () => {
  await tf.setBackend("wasm");
  tf.tidy(() => {
    // H = 1, two steps from h = 0: gi = x·wi + bi with wi = [1, -1, 0.5], bi = [0, 0, 0.25],
    // x = 1 then 0; wh = [3, 3, 3], bh = [0.5, 0, 2].
    // Step 1 (h = 0): r = σ(1.5), z = σ(-1), n = tanh(0.75 + 2r), h1 = (1 - z) n.
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const r = sig(1.5), z = sig(-1), n = Math.tanh(0.75 + 2 * r);
    const h1 = (1 - z) * n;
    // Step 2: r = σ(3 h1 + 0.5), z = σ(3 h1), n = tanh(0.25 + r (3 h1 + 2)).
    const r2 = sig(3 * h1 + 0.5), z2 = sig(3 * h1), n2 = Math.tanh(0.25 + r2 * (3 * h1 + 2));
    const h2 = (1 - z2) * n2 + z2 * h1;
    const gi = tf.tensor2d([[1, -1, 0.75], [0, 0, 0.25]]);
    const wh = tf.tensor3d([[[3, 3, 3]]]), bh = tf.tensor2d([[0.5, 0, 2]]);
    const out = groupedGruRecurrence(gi, wh, bh, [2], 1, rowGroups([2])).dataSync();
    assert.ok(
      Math.abs(out[0] - h1) < 1e-6 && Math.abs(out[1] - h2) < 1e-6,
      `${out} vs ${h1}, ${h2}`,
    );
  });
});

Deno.test("batched GRU recurrence rejects groups that do not fit the steps", async () => {
  await tf.setBackend("wasm");
  tf.tidy(() => {
    const steps = [5, 3, 4];
    const p = problem(3, steps);
    assert.throws(
      () => groupedGruRecurrence(p.gi, p.wh, p.bh, steps, B, rowGroups([10, 8, 6])),
      /groups \[0,10,18,24\] do not match steps \[5,3,4\] × batch 2/,
    );
    assert.throws(() => groupedGruNoGrad(p.gi, p.wh, p.bh, [5, 3, 3], B), /24 rows.*hold 22/);
  });
});
