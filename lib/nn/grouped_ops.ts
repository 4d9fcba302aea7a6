/**
 * Tensor operations over *row groups*: the rows of a 2-D tensor are split into K consecutive groups
 * (one per independent training run, possibly empty), and group k is multiplied by run k's own
 * weights. This is how {@link BatchedNetwork} (./batched_network.ts) trains K runs as one
 * computation without padding: every elementwise op sees one ragged [R, ·] tensor, and only the
 * products and the per-run reductions know about the groups.
 *
 * The three kernels work in the backend's own memory (the wasm heap or the cpu backend's arrays, no
 * copies) and are registered under their own kernel names for the `wasm`, `wasm-blas`, `cpu` and
 * `cpu-blas` backends (see {@link ensureGroupedKernels}):
 *
 * - `AdqnGroupedMatMul`: y[rows of k] = act(x[rows of k] · op(w_k) + b_k) with w [K, in, out];
 * - `AdqnGroupedOuter`: d_k = x[rows of k]ᵀ · g[rows of k] → [K, in, out] (zeros for empty groups);
 * - `AdqnGroupedSum`: s_k = Σ_{rows of k} x → [K, ·].
 *
 * On the native-BLAS backends (lib/nn/fast_backend.ts) each group's product is one `sgemm` call
 * (transposed operands passed as transpose flags, which cost nothing there) and each group's
 * 2-D row sum one `sgemv` with a vector of ones; the forward products are the 2-D products of
 * lib/nn/dense.ts, so a run's values equal those of `dense` on `wasm-blas` exactly, and its
 * gradients to float32 rounding (OpenBLAS orders the sums of the transposed products and of
 * `sgemv` its own way). On plain `wasm` the products and outer products are tfjs's own products,
 * one per group (./grouped_wasm.ts: the wasm SIMD kernel, about 8× faster than a JavaScript loop);
 * on `cpu` they are a plain JavaScript loop over explicitly transposed copies (correct, slow).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { reluInPlace } from "./activations.ts";
import { type Blas, openBlas } from "./blas.ts";
import { customDense } from "./dense.ts";
import { isBlasBackend } from "./fast_backend.ts";
import { wasmGroupedMatMul, wasmGroupedOuter } from "./grouped_wasm.ts";
import { type Gemm, gemmFor, transposeInto } from "./host_gemm.ts";
import { floatValues, HOST_STORAGE_BACKENDS, type Storage, storageOf } from "./storage.ts";

/** Kernel name of the grouped product. */
export const GROUPED_MATMUL = "AdqnGroupedMatMul";
/** Kernel name of the grouped outer product (weight gradients). */
export const GROUPED_OUTER = "AdqnGroupedOuter";
/** Kernel name of the grouped row sum. */
export const GROUPED_SUM = "AdqnGroupedSum";

/** Backends the grouped kernels support (they need host-addressable float32 storage). */
export const GROUPED_BACKENDS = HOST_STORAGE_BACKENDS;

/**
 * A split of R rows into K consecutive groups: group k holds rows `offsets[k]..offsets[k+1]-1`.
 * `offsets` has K+1 non-decreasing entries, `offsets[0] = 0`, `offsets[K] = R`.
 */
export interface RowGroups {
  /** The K+1 row offsets. */
  readonly offsets: readonly number[];
}

/** Build {@link RowGroups} from per-group row counts. */
export function rowGroups(counts: readonly number[]): RowGroups {
  const offsets = [0];
  for (const c of counts) {
    if (!Number.isInteger(c) || c < 0) {
      throw new Error(`rowGroups: group sizes must be non-negative integers, got ${c}`);
    }
    offsets.push(offsets[offsets.length - 1] + c);
  }
  return { offsets };
}

/** The same groups with every row repeated `factor` times (e.g. categorical codes per row). */
export function scaleGroups(groups: RowGroups, factor: number): RowGroups {
  return factor === 1 ? groups : { offsets: groups.offsets.map((o) => o * factor) };
}

/** The group index of every row, as int32 (for broadcasting per-group values back to rows). */
export function groupOfRows(groups: RowGroups): Int32Array {
  const o = groups.offsets;
  const out = new Int32Array(o[o.length - 1]);
  for (let g = 0; g + 1 < o.length; g++) out.fill(g, o[g], o[g + 1]);
  return out;
}

let scratch = new Float32Array(1 << 16);

function scratchOf(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(Math.max(size, scratch.length * 2));
  return scratch;
}

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

function offsetsOf(attrs: tf.NamedAttrMap | undefined, rows: number, what: string): number[] {
  const o = (attrs?.offsets ?? []) as number[];
  if (o.length < 1 || o[0] !== 0 || o[o.length - 1] !== rows) {
    throw new Error(`${what}: group offsets [${o}] do not split ${rows} rows`);
  }
  return o;
}

function groupedMatMulKernel(
  args: KernelArgs,
  storage: Storage,
  gemm: Gemm,
  flags: boolean,
): tf.TensorInfo {
  const { x, w, bias } = args.inputs as {
    x: tf.TensorInfo;
    w: tf.TensorInfo;
    bias?: tf.TensorInfo;
  };
  const transB = (args.attrs?.transB ?? false) as boolean;
  const relu = args.attrs?.activation === "relu";
  const [R, inner] = x.shape;
  const K = w.shape[0];
  const n = transB ? w.shape[1] : w.shape[2];
  const wInner = transB ? w.shape[2] : w.shape[1];
  const offsets = offsetsOf(args.attrs, R, GROUPED_MATMUL);
  if (
    x.shape.length !== 2 || w.shape.length !== 3 || wInner !== inner || offsets.length !== K + 1
  ) {
    throw new Error(
      `${GROUPED_MATMUL}: x [${x.shape}] and w [${w.shape}] (transB ${transB}) do not fit ` +
        `${offsets.length - 1} groups`,
    );
  }
  if (bias !== undefined && (bias.shape[0] !== K || bias.shape[bias.shape.length - 1] !== n)) {
    throw new Error(`${GROUPED_MATMUL}: bias [${bias.shape}] does not fit w [${w.shape}]`);
  }
  const out = storage.alloc(args.backend, [R, n]);
  const read = (t: tf.TensorInfo) => floatValues(storage, args.backend, t, GROUPED_MATMUL);
  const xv = read(x), wv = read(w);
  const bv = bias === undefined ? null : read(bias);
  const y = out.view;
  const wSize = inner * n;
  for (let g = 0; g < K; g++) {
    const r0 = offsets[g], rows = offsets[g + 1] - r0;
    if (rows === 0) continue;
    const c = y.subarray(r0 * n, (r0 + rows) * n);
    let beta = 0;
    const b = bv === null ? null : bv.subarray(g * n, (g + 1) * n);
    if (b !== null) { // bias first, then accumulate (as fast_backend's fused product)
      for (let r = 0; r < rows; r++) c.set(b, r * n);
      beta = 1;
    }
    let wg = wv.subarray(g * wSize, (g + 1) * wSize);
    const xg = xv.subarray(r0 * inner, (r0 + rows) * inner);
    if (transB && !flags) { // an explicit transpose, then a plain product
      const t = scratchOf(wSize);
      transposeInto(wg, n, inner, t);
      wg = t;
    }
    if (transB && flags) {
      gemm(false, true, rows, n, inner, 1, xg, inner, wg, inner, beta, c, n);
    } else gemm(false, false, rows, n, inner, 1, xg, inner, wg, n, beta, c, n);
    if (relu) reluInPlace(c);
  }
  return out.info;
}

function groupedOuterKernel(
  args: KernelArgs,
  storage: Storage,
  gemm: Gemm,
  flags: boolean,
): tf.TensorInfo {
  const { x, g } = args.inputs as { x: tf.TensorInfo; g: tf.TensorInfo };
  const [R, m] = x.shape;
  const n = g.shape[1];
  const offsets = offsetsOf(args.attrs, R, GROUPED_OUTER);
  if (x.shape.length !== 2 || g.shape.length !== 2 || g.shape[0] !== R) {
    throw new Error(`${GROUPED_OUTER}: x [${x.shape}] and g [${g.shape}] differ in rows`);
  }
  const K = offsets.length - 1;
  const out = storage.alloc(args.backend, [K, m, n]);
  const maxRows = offsets.reduce((a, o, i) => i === 0 ? 0 : Math.max(a, o - offsets[i - 1]), 0);
  const xT = flags ? null : scratchOf(m * maxRows);
  const xv = floatValues(storage, args.backend, x, GROUPED_OUTER);
  const gv = floatValues(storage, args.backend, g, GROUPED_OUTER);
  const d = out.view;
  for (let k = 0; k < K; k++) {
    const r0 = offsets[k], rows = offsets[k + 1] - r0;
    const c = d.subarray(k * m * n, (k + 1) * m * n);
    if (rows === 0) {
      c.fill(0);
      continue;
    }
    const xg = xv.subarray(r0 * m, (r0 + rows) * m), gg = gv.subarray(r0 * n, (r0 + rows) * n);
    if (xT === null) gemm(true, false, m, n, rows, 1, xg, m, gg, n, 0, c, n);
    else {
      transposeInto(xg, rows, m, xT);
      gemm(false, false, m, n, rows, 1, xT, rows, gg, n, 0, c, n);
    }
  }
  return out.info;
}

let ones = new Float32Array(0);

function groupedSumKernel(args: KernelArgs, storage: Storage, blas: Blas | null): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const R = x.shape[0];
  const n = x.shape.length === 1 ? 1 : x.shape[1];
  const offsets = offsetsOf(args.attrs, R, GROUPED_SUM);
  const K = offsets.length - 1;
  const out = storage.alloc(args.backend, x.shape.length === 1 ? [K] : [K, n]);
  const xv = floatValues(storage, args.backend, x, GROUPED_SUM);
  const s = out.view;
  if (blas !== null && n > 1) { // s_k = 1ᵀ · x_k, one matrix-vector product per group
    const maxRows = offsets.reduce((a, o, i) => i === 0 ? 0 : Math.max(a, o - offsets[i - 1]), 0);
    if (ones.length < maxRows) ones = new Float32Array(maxRows).fill(1);
    for (let k = 0; k < K; k++) {
      const r0 = offsets[k], rows = offsets[k + 1] - r0;
      blas.sgemv(true, rows, n, 1, xv.subarray(r0 * n), n, ones, 0, s.subarray(k * n, (k + 1) * n));
    }
    return out.info;
  }
  s.fill(0);
  // Row by row into float32 accumulators: each column is summed in row order with float32
  // rounding after every addition, as the wasm Sum kernel does.
  for (let k = 0; k < K; k++) {
    const acc = s.subarray(k * n, (k + 1) * n);
    for (let r = offsets[k]; r < offsets[k + 1]; r++) {
      const off = r * n;
      for (let j = 0; j < n; j++) acc[j] += xv[off + j];
    }
  }
  return out.info;
}

const registered = new Set<string>();

/**
 * Register the grouped kernels for `backendName` (default: the current backend); idempotent.
 * Throws for backends without host-addressable storage (e.g. `webgpu`).
 */
export function ensureGroupedKernels(backendName: string = tf.getBackend()): void {
  if (registered.has(backendName)) return;
  const storage = storageOf(backendName);
  const gemm = gemmFor(backendName);
  // Native sgemm takes transposed operands as flags; the JavaScript loop reads them faster as
  // an explicitly transposed copy.
  const blas = isBlasBackend(backendName) ? openBlas() : null;
  const flags = blas !== null;
  tf.registerKernel({
    kernelName: GROUPED_MATMUL,
    backendName,
    kernelFunc: (args) => groupedMatMulKernel(args as KernelArgs, storage, gemm, flags),
  });
  tf.registerKernel({
    kernelName: GROUPED_OUTER,
    backendName,
    kernelFunc: (args) => groupedOuterKernel(args as KernelArgs, storage, gemm, flags),
  });
  tf.registerKernel({
    kernelName: GROUPED_SUM,
    backendName,
    kernelFunc: (args) => groupedSumKernel(args as KernelArgs, storage, blas),
  });
  registered.add(backendName);
}

function run(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap): tf.Tensor {
  ensureGroupedKernels(tf.engine().backendName);
  return tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;
}

/**
 * y = act(x[rows of k] · op(w_k) + b_k) for every group k, without gradient: x [R, in], w
 * [K, in, out] (or [K, out, in] with `transB`), bias [K, out] or null → [R, out].
 */
export function groupedMatMulRaw(
  x: tf.Tensor2D,
  w: tf.Tensor3D,
  bias: tf.Tensor | null,
  groups: RowGroups,
  options: { transB?: boolean; activation?: "linear" | "relu" } = {},
): tf.Tensor2D {
  if (tf.engine().backendName === "wasm") { // plain wasm: tfjs's own products (./grouped_wasm.ts)
    const relu = options.activation === "relu";
    return wasmGroupedMatMul(x, w, bias, groups.offsets, options.transB ?? false, relu);
  }
  const inputs: tf.NamedTensorMap = { x, w };
  if (bias !== null) inputs.bias = bias;
  return run(GROUPED_MATMUL, inputs, {
    offsets: [...groups.offsets],
    transB: options.transB ?? false,
    activation: options.activation ?? "linear",
  }) as tf.Tensor2D;
}

/** d_k = x[rows of k]ᵀ · g[rows of k] for every group: x [R, m], g [R, n] → [K, m, n]. */
export function groupedOuter(x: tf.Tensor2D, g: tf.Tensor2D, groups: RowGroups): tf.Tensor3D {
  if (tf.engine().backendName === "wasm") return wasmGroupedOuter(x, g, groups.offsets);
  return run(GROUPED_OUTER, { x, g }, { offsets: [...groups.offsets] }) as tf.Tensor3D;
}

/** s_k = Σ_{rows of k} x without gradient: x [R] or [R, n] → [K] or [K, n]. */
export function groupedSumRaw<T extends tf.Tensor>(x: T, groups: RowGroups): T {
  return run(GROUPED_SUM, { x }, { offsets: [...groups.offsets] }) as T;
}

/**
 * s_k = Σ_{rows of k} x, differentiable: the gradient of row r is the output gradient of its group.
 * x [R] or [R, n] → [K] or [K, n].
 */
export function groupedSum<T extends tf.Tensor1D | tf.Tensor2D>(x: T, groups: RowGroups): T {
  const op = tf.customGrad((xv) => ({
    value: groupedSumRaw(xv as T, groups),
    gradFunc: (dy: tf.Tensor) => tf.gather(dy, tf.tensor1d(groupOfRows(groups), "int32")),
  }));
  return op(x) as T;
}

/** Options of {@link groupedDense}. */
export interface GroupedDenseOptions {
  /** Activation after the bias (default "linear"). */
  activation?: "linear" | "relu";
  /** Whether gradients flow back into `x` (default true; false when x is data). */
  inputGrad?: boolean;
}

/**
 * The grouped version of `dense` (lib/nn/dense.ts): y = act(x[rows of k] · w_k + b_k) with
 * x [R, in], w [K, in, out], b [K, out] or null, differentiable in w, b and (unless `inputGrad` is
 * false) x. Gradients per group as `dense`'s: g = dy ⊙ act'(y), dx = g · w_kᵀ, dw_k = x_kᵀ · g_k,
 * db_k = Σ_rows g_k.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { groupedDense, rowGroups } from "./grouped_ops.ts";
 * await tf.setBackend("cpu");
 * // Two runs: run 0 has 2 rows, run 1 has 1 row; each has its own 3×2 weights.
 * const x = tf.ones([3, 3]) as tf.Tensor2D;
 * const w = tf.stack([tf.ones([3, 2]), tf.zeros([3, 2])]) as tf.Tensor3D;
 * const y = groupedDense(x, w, null, rowGroups([2, 1]));
 * console.log(Array.from(y.dataSync())); // [3, 3, 3, 3, 0, 0]
 * ```
 */
export function groupedDense(
  x: tf.Tensor2D,
  w: tf.Tensor3D,
  b: tf.Tensor2D | null,
  groups: RowGroups,
  options: GroupedDenseOptions = {},
): tf.Tensor2D {
  const relu = (options.activation ?? "linear") === "relu";
  const act = relu ? "relu" : "linear";
  return customDense(x, w, b, {
    relu,
    inputGrad: options.inputGrad ?? true,
    // Saving copies a tensor on wasm; a weight that is a variable outlives the backward pass, so
    // it is read from the closure instead.
    saveWeight: !(w instanceof tf.Variable),
    forward: (xv, wv, bv) => groupedMatMulRaw(xv, wv, bv, groups, { activation: act }),
    dx: (g, wv) => groupedMatMulRaw(g, wv, null, groups, { transB: true }),
    dw: (g, xv) => groupedOuter(xv, g, groups),
    db: (g) => groupedSumRaw(g, groups),
  });
}
