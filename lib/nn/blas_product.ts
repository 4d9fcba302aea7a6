/**
 * Batched matrix products on native `sgemm` for the `wasm-blas` and `cpu-blas` kernels
 * (./fast_backend.ts): the product's sizes over numpy-broadcast batch axes ({@link planProduct})
 * and its `sgemm` calls ({@link runProduct}), one call when the second operand is shared.
 *
 * @module
 */
import type { Blas } from "./blas.ts";

/** Sizes of op(A)·op(B) over broadcast batch dimensions. */
export interface ProductPlan {
  shape: number[];
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  outer: number[];
  aOuter: number[];
  bOuter: number[];
}

/** The sizes of op(A)·op(B) for operands of these shapes (numpy broadcasting of batch axes). */
export function planProduct(
  aShape: number[],
  bShape: number[],
  transA: boolean,
  transB: boolean,
): ProductPlan {
  const ra = aShape.length, rb = bShape.length;
  if (ra < 2 || rb < 2) {
    throw new Error(`matMul: operands must have rank >= 2, got shapes [${aShape}] and [${bShape}]`);
  }
  const m = transA ? aShape[ra - 1] : aShape[ra - 2];
  const k = transA ? aShape[ra - 2] : aShape[ra - 1];
  const kb = transB ? bShape[rb - 1] : bShape[rb - 2];
  const n = transB ? bShape[rb - 2] : bShape[rb - 1];
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${aShape} and ` +
        `${bShape} and transposeA=${transA} and transposeB=${transB} must match.`,
    );
  }
  const aOuter = aShape.slice(0, -2), bOuter = bShape.slice(0, -2);
  const outer = broadcastShape(aOuter, bOuter, aShape, bShape);
  return { shape: [...outer, m, n], m, n, k, transA, transB, outer, aOuter, bOuter };
}

/**
 * op(A)·op(B) into `out`, overwriting it (or, with `rowBias`, onto that row written into every
 * output row first). Returns the number of `sgemm` calls made.
 */
export function runProduct(
  lib: Blas,
  plan: ProductPlan,
  av: Float32Array,
  bv: Float32Array,
  out: Float32Array,
  rowBias: Float32Array | null,
): number {
  const { m, n, k, transA, transB, outer, aOuter, bOuter } = plan;
  if (out.length === 0) return 0;
  const batch = sizeOf(outer), batchA = sizeOf(aOuter), batchB = sizeOf(bOuter);
  let beta = 0;
  if (rowBias !== null) {
    beta = 1;
    if (rowBias.length === 1) out.fill(rowBias[0]);
    else for (let row = 0; row < batch * m; row++) out.set(rowBias, row * n);
  }
  const lda = transA ? m : k, ldb = transB ? k : n;
  const aMat = m * k, bMat = k * n, cMat = m * n;
  if (batchB === 1 && !transA && batchA === batch) {
    // Shared B and stacked, untransposed A: one product of (batch·m)×k by k×n.
    lib.sgemm(false, transB, batch * m, n, k, 1, av, lda, bv, ldb, beta, out, n);
    return 1;
  }
  const aIndex = batchIndex(outer, aOuter), bIndex = batchIndex(outer, bOuter);
  for (let i = 0; i < batch; i++) {
    const ai = aIndex[i] * aMat, bi = bIndex[i] * bMat;
    lib.sgemm(
      transA,
      transB,
      m,
      n,
      k,
      1,
      av.subarray(ai, ai + aMat),
      lda,
      bv.subarray(bi, bi + bMat),
      ldb,
      beta,
      out.subarray(i * cMat, (i + 1) * cMat),
      n,
    );
  }
  return batch;
}

/** The number of elements of a tensor of this shape. */
export function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

/** Numpy broadcast of two batch shapes (right-aligned; 1 stretches), with tfjs's error text. */
function broadcastShape(a: number[], b: number[], aFull: number[], bFull: number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1, db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `Operands could not be broadcast together with shapes ${aFull} and ${bFull}.`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** For each flat index of `outer`, the flat index into the broadcast operand of shape `dims`. */
function batchIndex(outer: number[], dims: number[]): Int32Array {
  const total = sizeOf(outer);
  const index = new Int32Array(total);
  if (sizeOf(dims) === 1) return index;
  const rank = outer.length, offset = rank - dims.length;
  // Stride of each output axis in the operand (0 where the operand has 1 or lacks the axis).
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    strides[i + offset] = dims[i] === 1 ? 0 : s;
    s *= dims[i];
  }
  const counter = new Array<number>(rank).fill(0);
  let current = 0;
  for (let flat = 0; flat < total; flat++) {
    index[flat] = current;
    for (let axis = rank - 1; axis >= 0; axis--) {
      counter[axis]++;
      current += strides[axis];
      if (counter[axis] < outer[axis]) break;
      current -= strides[axis] * counter[axis];
      counter[axis] = 0;
    }
  }
  return index;
}
