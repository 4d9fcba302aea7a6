/**
 * The grouped products of ./grouped_ops.ts on plain `wasm` (no native BLAS): one tfjs product per
 * group, so each runs in the wasm backend's SIMD kernel instead of a JavaScript loop (about 8×
 * faster for the Heaven-Hell-3 heads: 19 against 156 ms for 20 groups of 100×256·256×512).
 * tfjs's batched `matMul` (a batch dimension) is slower still on wasm than the loop, and `tf.slice`
 * copies slowly there, so each group's operands are copied out of the wasm heap directly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { transposeInto } from "./host_gemm.ts";
import type { WasmBackendLike } from "./storage.ts";

function backend(): WasmBackendLike {
  return tf.engine().backend as unknown as WasmBackendLike;
}

/** A view of `t`'s values in the wasm heap, valid until the next allocation. */
function heap(t: tf.TensorInfo): Float32Array {
  return backend().typedArrayFromHeap(t) as Float32Array;
}

/** A new tensor of `shape` holding `t`'s values from `start` on (one copy inside the heap). */
function part(t: tf.Tensor, start: number, shape: number[]): tf.Tensor {
  const info = backend().makeOutput(shape, "float32");
  const size = shape.reduce((a, b) => a * b, 1);
  heap(info).set(heap(t).subarray(start, start + size)); // views taken after the allocation
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * A new [cols, rows] tensor holding the transpose of the rows × cols matrix at `start` in `t`
 * (wasm's products with a transposed operand are 10× slower than with a transposed copy).
 */
function partT(t: tf.Tensor, start: number, rows: number, cols: number): tf.Tensor {
  const info = backend().makeOutput([cols, rows], "float32");
  transposeInto(heap(t).subarray(start, start + rows * cols), rows, cols, heap(info));
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** One output tensor of `shape` from per-group results written at the given element offsets. */
function assemble(
  shape: number[],
  pieces: readonly { at: number; t: tf.Tensor }[],
  zeroFill: boolean,
): tf.Tensor {
  const info = backend().makeOutput(shape, "float32");
  const out = heap(info);
  if (zeroFill) out.fill(0);
  for (const { at, t } of pieces) out.set(heap(t), at);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * y = act(x[rows of k] · op(w_k) + b_k) for every group k (`offsets`: K + 1 row offsets), as
 * `groupedMatMulRaw` of ./grouped_ops.ts: x [R, in], w [K, in, out] (or [K, out, in] with
 * `transB`), bias [K, out] or null → [R, out].
 */
export function wasmGroupedMatMul(
  x: tf.Tensor2D,
  w: tf.Tensor3D,
  bias: tf.Tensor | null,
  offsets: readonly number[],
  transB: boolean,
  relu: boolean,
): tf.Tensor2D {
  const [R, inner] = x.shape;
  const K = offsets.length - 1;
  const wShape = [w.shape[1], w.shape[2]];
  const n = transB ? w.shape[1] : w.shape[2];
  const wSize = wShape[0] * wShape[1];
  const temps: tf.Tensor[] = [];
  const pieces: { at: number; t: tf.Tensor }[] = [];
  try {
    for (let k = 0; k < K; k++) {
      const r0 = offsets[k], rows = offsets[k + 1] - r0;
      if (rows === 0) continue;
      const xk = part(x, r0 * inner, [rows, inner]);
      const wk = transB ? partT(w, k * wSize, wShape[0], wShape[1]) : part(w, k * wSize, wShape);
      const bk = bias === null ? undefined : part(bias, k * n, [n]);
      temps.push(xk, wk, ...(bk === undefined ? [] : [bk]));
      const y = tf.fused.matMul({
        a: xk as tf.Tensor2D,
        b: wk as tf.Tensor2D,
        bias: bk,
        activation: relu ? "relu" : "linear",
      });
      temps.push(y);
      pieces.push({ at: r0 * n, t: y });
    }
    return assemble([R, n], pieces, false) as tf.Tensor2D;
  } finally {
    for (const t of temps) t.dispose();
  }
}

/**
 * d_k = x[rows of k]ᵀ · g[rows of k] for every group (zeros for an empty one), as `groupedOuter`
 * of ./grouped_ops.ts: x [R, m], g [R, n] → [K, m, n].
 */
export function wasmGroupedOuter(
  x: tf.Tensor2D,
  g: tf.Tensor2D,
  offsets: readonly number[],
): tf.Tensor3D {
  const m = x.shape[1], n = g.shape[1];
  const K = offsets.length - 1;
  const temps: tf.Tensor[] = [];
  const pieces: { at: number; t: tf.Tensor }[] = [];
  try {
    for (let k = 0; k < K; k++) {
      const r0 = offsets[k], rows = offsets[k + 1] - r0;
      if (rows === 0) continue;
      const xkT = partT(x, r0 * m, rows, m), gk = part(g, r0 * n, [rows, n]);
      const d = tf.matMul(xkT as tf.Tensor2D, gk as tf.Tensor2D);
      temps.push(xkT, gk, d);
      pieces.push({ at: k * m * n, t: d });
    }
    return assemble([K, m, n], pieces, pieces.length < K) as tf.Tensor3D;
  } finally {
    for (const t of temps) t.dispose();
  }
}
