/**
 * The product routines of the grouped kernels (./grouped_ops.ts) and of the batched network's
 * host loops: native `sgemm` on the BLAS backends (transposed operands as flags), elsewhere a plain
 * JavaScript `sgemm` and a tiled transpose (that loop reads a transposed operand faster as a copy).
 *
 * @module
 */
import { type Blas, openBlas } from "./blas.ts";
import { isBlasBackend } from "./fast_backend.ts";

/** The `sgemm` signature of lib/nn/blas.ts (row-major). */
export type Gemm = Blas["sgemm"];

/**
 * A plain JavaScript `sgemm` (row-major, C ← alpha·op(A)·op(B) + beta·C) for backends without a
 * native BLAS. Accumulates each product term into C in float32, in order of the inner index.
 */
export const jsGemm: Gemm = (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
  for (let i = 0; i < m; i++) {
    const ci = i * ldc;
    if (beta === 0) c.fill(0, ci, ci + n);
    else if (beta !== 1) { for (let j = 0; j < n; j++) c[ci + j] *= beta; }
    for (let p = 0; p < k; p++) {
      const av = alpha * (transA ? a[p * lda + i] : a[i * lda + p]);
      if (av === 0) continue;
      if (transB) {
        for (let j = 0; j < n; j++) c[ci + j] += av * b[j * ldb + p];
      } else {
        const bp = p * ldb;
        for (let j = 0; j < n; j++) c[ci + j] += av * b[bp + j];
      }
    }
  }
};

const gemms = new Map<string, Gemm>();

/**
 * The product routine the grouped kernels use on `backendName`: native sgemm or {@link jsGemm}.
 * Resolved once per backend name (looking the library up costs a permission query).
 */
export function gemmFor(backendName: string): Gemm {
  let g = gemms.get(backendName);
  if (g === undefined) {
    const blas = isBlasBackend(backendName) ? openBlas() : null;
    g = blas === null ? jsGemm : blas.sgemm.bind(blas);
    gemms.set(backendName, g);
  }
  return g;
}

/**
 * Write the transpose of the rows × cols row-major matrix `a` into `out` (cols × rows), in tiles.
 * The JavaScript product loop reads a transposed operand faster as such a copy.
 */
export function transposeInto(
  a: Float32Array,
  rows: number,
  cols: number,
  out: Float32Array,
): void {
  const TILE = 32;
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(rows, i0 + TILE);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(cols, j0 + TILE);
      for (let i = i0; i < i1; i++) {
        const src = i * cols;
        for (let j = j0; j < j1; j++) out[j * rows + i] = a[src + j];
      }
    }
  }
}
