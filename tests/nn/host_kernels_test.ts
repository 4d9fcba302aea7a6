/**
 * The host-side helpers of the native-product kernels: float32 storage access (lib/nn/storage.ts),
 * the JavaScript `sgemm` and transposes (lib/nn/host_gemm.ts), the batched product planning
 * (lib/nn/blas_product.ts) and the in-place activations (lib/nn/activations.ts). Expected values
 * are worked by hand.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import assert from "assert";
import { applyInPlace, reluInPlace } from "../../lib/nn/activations.ts";
import { planProduct } from "../../lib/nn/blas_product.ts";
import { jsGemm, transposeInto } from "../../lib/nn/host_gemm.ts";
import { floatValues, hostView, storageOf } from "../../lib/nn/storage.ts";

Deno.test("`reluInPlace()` zeroes negatives and -0 (to +0), keeps positives; `applyInPlace()` does relu6/leaky/elu/sigmoid and declines prelu", () => {
  const v = Float32Array.of(-2, 0.5, -0, 3, -1e-30);
  reluInPlace(v);
  assert.deepEqual(Array.from(v), [0, 0.5, 0, 3, 0]);
  assert.ok(Object.is(v[2], 0)); // +0, not -0
  const w = Float32Array.of(-1, 7, 2);
  assert.ok(applyInPlace(w, "relu6", 0));
  assert.deepEqual(Array.from(w), [0, 6, 2]);
  const l = Float32Array.of(-2, 3);
  assert.ok(applyInPlace(l, "leakyrelu", 0.25));
  assert.deepEqual(Array.from(l), [-0.5, 3]);
  const s = Float32Array.of(0);
  assert.ok(applyInPlace(s, "sigmoid", 0));
  assert.equal(s[0], 0.5);
  const e = Float32Array.of(0, 1);
  assert.ok(applyInPlace(e, "elu", 0));
  assert.deepEqual(Array.from(e), [0, 1]);
  assert.equal(applyInPlace(new Float32Array(1), "prelu", 0), false);
});

Deno.test("`reluInPlace()` on views of the wasm heap (the SIMD loop): the same bits as by hand, every length and offset, nothing outside the view touched", async () => {
  await tf.setBackend("wasm");
  const backend = tf.engine().backend as unknown as {
    makeOutput(shape: number[], dtype: string): tf.TensorInfo;
    typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
    disposeData(id: unknown): boolean;
  };
  for (const n of [0, 1, 3, 4, 5, 7, 8, 17, 1001]) {
    for (const start of [0, 1, 2, 3]) {
      const info = backend.makeOutput([n + 8], "float32");
      const all = backend.typedArrayFromHeap(info);
      const values = Array.from(
        { length: n + 8 },
        (_, i) => [-(i + 0.5), i + 0.25, -0, 0, -1e-40][i % 5],
      );
      all.set(values);
      reluInPlace(all.subarray(start, start + n));
      const want = values.map((x, i) => (i >= start && i < start + n ? (x > 0 ? x : 0) : x));
      Array.from(backend.typedArrayFromHeap(info)).forEach((x, i) =>
        assert.ok(Object.is(x, Math.fround(want[i])), `n ${n} start ${start} index ${i}: ${x}`)
      );
      backend.disposeData(info.dataId);
    }
  }
});

Deno.test("`jsGemm()` computes hand-worked products with both transpose flags, alpha and beta; `transposeInto()` transposes", () => {
  // A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]: AB = [[58,64],[139,154]].
  const a = Float32Array.of(1, 2, 3, 4, 5, 6), b = Float32Array.of(7, 8, 9, 10, 11, 12);
  const c = new Float32Array(4);
  jsGemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2);
  assert.deepEqual(Array.from(c), [58, 64, 139, 154]);
  const at = new Float32Array(6), bt = new Float32Array(6);
  transposeInto(a, 2, 3, at);
  transposeInto(b, 3, 2, bt);
  assert.deepEqual(Array.from(at), [1, 4, 2, 5, 3, 6]);
  assert.deepEqual(Array.from(bt), [7, 9, 11, 8, 10, 12]);
  const c2 = new Float32Array(4).fill(1);
  jsGemm(true, true, 2, 2, 3, 2, at, 2, bt, 3, 1, c2, 2); // 2·AB + 1
  assert.deepEqual(Array.from(c2), [117, 129, 279, 309]);
});

Deno.test("`planProduct()` broadcasts batch axes with numpy rules and names mismatched shapes", () => {
  const p = planProduct([2, 1, 4, 3], [1, 5, 3, 6], false, false);
  assert.deepEqual(p.shape, [2, 5, 4, 6]);
  assert.deepEqual([p.m, p.n, p.k], [4, 6, 3]);
  const t = planProduct([3, 4], [6, 3], true, true);
  assert.deepEqual(t.shape, [4, 6]);
  assert.throws(() => planProduct([4, 3], [4, 6], false, false), /inner shapes \(3\) and \(4\)/);
  assert.throws(() => planProduct([2, 4, 3], [3, 3, 6], false, false), /could not be broadcast/);
  assert.throws(() => planProduct([3], [3, 2], false, false), /rank >= 2/);
});

Deno.test("`storageOf()`, `hostView()`, `floatValues()`: views of float32 data on wasm and cpu, clear errors otherwise", async () => {
  assert.throws(
    () => storageOf("webgl"),
    /backend "webgl" keeps no float32 storage.*wasm, wasm-blas, cpu, cpu-blas/,
  );
  for (const backend of ["cpu", "wasm"]) {
    await tf.setBackend(backend);
    const x = tf.tensor([1, 2, 3]), i = tf.tensor([1, 2], [2], "int32");
    assert.deepEqual(Array.from(hostView(x)), [1, 2, 3], backend);
    assert.throws(
      () => hostView(i),
      /hostView: expected a float32 tensor with host values, got int32 \[2\]/,
    );
    const s = storageOf(backend);
    assert.equal(s.values(tf.engine().backend, i), null);
    const out = s.alloc(tf.engine().backend, [2]);
    out.view.set([5, 6]);
    assert.deepEqual(Array.from(floatValues(s, tf.engine().backend, out.info, "test")), [5, 6]);
    s.dispose(tf.engine().backend, out.info);
    x.dispose();
    i.dispose();
  }
});
