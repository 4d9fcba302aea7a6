/**
 * The `cpu-blas` TensorFlow.js backend: tfjs's pure-JavaScript `cpu` backend with its matrix
 * products (`BatchMatMul`, `_FusedMatMul`) replaced by native OpenBLAS `sgemm` calls through Deno
 * FFI (see {@link openBlas}).
 *
 * `tf.matMul`, `tf.dot` and `tf.fused.matMul` (used by tf.layers' Dense) dispatch to these two
 * kernels, and tfjs's gradients of both are written with `tf.matMul`, so forward and backward
 * products both run natively. Transposed operands cost nothing extra (they become BLAS transpose
 * flags), unlike on the wasm backend. Batch dimensions broadcast with the usual numpy rules. All
 * other kernels are the `cpu` backend's own (copied under the new backend name), so every op tfjs
 * has on `cpu` works, and reads stay synchronous (`dataSync`). Non-float32 products fall back to
 * the `cpu` kernels.
 *
 * The plain `cpu` backend is left untouched, so both can be compared in one process.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Blas, blasError, openBlas, type OpenBlasOptions } from "./blas.ts";

/** Name under which {@link registerBlasBackend} registers the backend. */
export const BLAS_BACKEND_NAME = "cpu-blas";

/** Registry priority of the backend: below `cpu` (1), so tfjs never picks it by itself. */
const PRIORITY = 0;

/** What {@link registerBlasBackend} and {@link enableBlasBackend} report. */
export interface BlasBackendStatus {
  /** Whether the backend is registered (and, for {@link enableBlasBackend}, active). */
  ok: boolean;
  /** Why not, when `ok` is false. */
  reason?: string;
  /** The library loaded, when `ok`. */
  library?: string;
}

/** Counters of the kernels of the `cpu-blas` backend (for tests and profiling). */
export interface BlasKernelStats {
  /** Products computed by native `sgemm` (one kernel call may make several). */
  sgemmCalls: number;
  /** Kernel calls handed to the `cpu` backend's own kernel (non-float32 operands). */
  fallbacks: number;
}

/** The parts of tfjs's `MathBackendCPU` these kernels use. */
interface CpuBackendLike {
  data: { get(dataId: unknown): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void;
}

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

let blas: Blas | null = null;
const stats: BlasKernelStats = { sgemmCalls: 0, fallbacks: 0 };

/**
 * A copy of the kernel counters of the `cpu-blas` backend since the process started.
 *
 * @example
 * ```ts
 * import { blasKernelStats } from "./fast_backend.ts";
 * const before = blasKernelStats().sgemmCalls;
 * // ... tf.matMul on the cpu-blas backend ...
 * console.log(blasKernelStats().sgemmCalls - before);
 * ```
 */
export function blasKernelStats(): BlasKernelStats {
  return { ...stats };
}

/**
 * Load the native BLAS and register the `cpu-blas` backend (idempotent; does not switch to it).
 * Returns `{ ok: false, reason }` when the library or `--allow-ffi` is missing or the `cpu` backend
 * is not registered; never throws for those.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { BLAS_BACKEND_NAME, registerBlasBackend } from "./fast_backend.ts";
 * const status = registerBlasBackend();
 * if (status.ok) await tf.setBackend(BLAS_BACKEND_NAME);
 * else console.warn(status.reason);
 * ```
 */
export function registerBlasBackend(options: OpenBlasOptions = {}): BlasBackendStatus {
  const lib = openBlas(options);
  if (lib === null) return { ok: false, reason: blasError() ?? "openBlas failed" };
  blas = lib;
  if (tf.findBackendFactory(BLAS_BACKEND_NAME) === null) {
    const cpuFactory = tf.findBackendFactory("cpu");
    if (cpuFactory === null) {
      return { ok: false, reason: "registerBlasBackend: the tfjs cpu backend is not registered" };
    }
    const cpuMatMul = tf.getKernel(tf.BatchMatMul, "cpu");
    const cpuFused = tf.getKernel(tf._FusedMatMul, "cpu");
    if (cpuMatMul === undefined || cpuFused === undefined) {
      return { ok: false, reason: "registerBlasBackend: the cpu backend lacks the matMul kernels" };
    }
    for (const config of tf.getKernelsForBackend("cpu")) {
      if (config.kernelName === tf.BatchMatMul || config.kernelName === tf._FusedMatMul) continue;
      if (tf.getKernel(config.kernelName, BLAS_BACKEND_NAME) === undefined) {
        tf.registerKernel({ ...config, backendName: BLAS_BACKEND_NAME });
      }
    }
    tf.registerKernel({
      kernelName: tf.BatchMatMul,
      backendName: BLAS_BACKEND_NAME,
      kernelFunc: (args) => batchMatMulKernel(args, cpuMatMul.kernelFunc),
    });
    tf.registerKernel({
      kernelName: tf._FusedMatMul,
      backendName: BLAS_BACKEND_NAME,
      kernelFunc: (args) => fusedMatMulKernel(args, cpuFused.kernelFunc),
    });
    tf.registerBackend(BLAS_BACKEND_NAME, cpuFactory, PRIORITY);
  }
  return { ok: true, library: lib.path };
}

/**
 * Load the native BLAS, register the `cpu-blas` backend and make it tfjs's current backend
 * (production mode is left to the caller). On failure nothing changes and `reason` says why.
 *
 * @example
 * ```ts
 * import { enableBlasBackend } from "./fast_backend.ts";
 * const { ok, reason } = await enableBlasBackend();
 * if (!ok) console.warn(`staying on the current backend: ${reason}`);
 * ```
 */
export async function enableBlasBackend(options: OpenBlasOptions = {}): Promise<BlasBackendStatus> {
  const status = registerBlasBackend(options);
  if (!status.ok) return status;
  let ok = false;
  let reason = `tf.setBackend("${BLAS_BACKEND_NAME}") returned false`;
  try {
    ok = await tf.setBackend(BLAS_BACKEND_NAME);
  } catch (e) {
    reason = `tf.setBackend("${BLAS_BACKEND_NAME}") failed: ${(e as Error).message}`;
  }
  if (!ok) return { ok: false, reason };
  await tf.ready();
  return status;
}

// ---------------------------------------------------------------------------------------------
// Kernels.

function batchMatMulKernel(args: KernelArgs, fallback: tf.KernelFunc): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA = false, transposeB = false } = (args.attrs ?? {}) as {
    transposeA?: boolean;
    transposeB?: boolean;
  };
  const backend = args.backend as CpuBackendLike;
  const av = float32Values(backend, a), bv = float32Values(backend, b);
  if (blas === null || av === null || bv === null) {
    stats.fallbacks++;
    return fallback(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  const { shape, values } = product(blas, a.shape, av, b.shape, bv, transposeA, transposeB, null);
  return backend.makeTensorInfo(shape, "float32", values);
}

function fusedMatMulKernel(args: KernelArgs, fallback: tf.KernelFunc): tf.TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs as {
    a: tf.TensorInfo;
    b: tf.TensorInfo;
    bias?: tf.TensorInfo;
    preluActivationWeights?: tf.TensorInfo;
  };
  const attrs = (args.attrs ?? {}) as {
    transposeA?: boolean;
    transposeB?: boolean;
    activation?: string;
    leakyreluAlpha?: number;
  };
  const activation = attrs.activation ?? "linear";
  const backend = args.backend as CpuBackendLike;
  const av = float32Values(backend, a), bv = float32Values(backend, b);
  const biasValues = bias === undefined ? null : float32Values(backend, bias);
  if (blas === null || av === null || bv === null || (bias !== undefined && biasValues === null)) {
    stats.fallbacks++;
    return fallback(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  // A bias that is one row (shape [..., 1, N] or [N]) or a scalar is written into the output
  // first and accumulated by sgemm (beta = 1); any other broadcast goes through the Add kernel.
  const n = attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const rowBias = bias !== undefined && biasValues !== null && isRowBias(bias.shape, n)
    ? biasValues
    : null;
  const { shape, values } = product(
    blas,
    a.shape,
    av,
    b.shape,
    bv,
    attrs.transposeA ?? false,
    attrs.transposeB ?? false,
    rowBias,
  );
  const biasPending = bias !== undefined && rowBias === null;
  if (!biasPending && applyInPlace(values, activation, attrs.leakyreluAlpha ?? 0.2)) {
    return backend.makeTensorInfo(shape, "float32", values);
  }
  let current = backend.makeTensorInfo(shape, "float32", values);
  if (biasPending) {
    const sum = runCpuKernel(tf.Add, { a: current, b: bias }, backend, {});
    backend.disposeIntermediateTensorInfo(current);
    current = sum;
  }
  if (activation !== "linear") {
    const act = activationKernel(activation, current, preluActivationWeights, attrs);
    const next = runCpuKernel(act.name, act.inputs, backend, act.attrs);
    backend.disposeIntermediateTensorInfo(current);
    current = next;
  }
  return current;
}

/** The float32 values of a tensor on a cpu-like backend, or null (other dtypes, odd storage). */
function float32Values(backend: CpuBackendLike, t: tf.TensorInfo): Float32Array | null {
  if (t.dtype !== "float32") return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : null;
}

/** Whether a bias of this shape adds the same N values to every output row (or is a scalar). */
function isRowBias(shape: number[], n: number): boolean {
  const size = shape.reduce((p, d) => p * d, 1);
  if (size === 1) return true;
  if (shape.length === 0 || shape[shape.length - 1] !== n || size !== n) return false;
  return true;
}

/** Apply an activation in place; false when it must go through a kernel (prelu, unknown). */
function applyInPlace(v: Float32Array, activation: string, alpha: number): boolean {
  switch (activation) {
    case "linear":
      return true;
    case "relu":
      for (let i = 0; i < v.length; i++) if (v[i] < 0) v[i] = 0;
      return true;
    case "relu6":
      for (let i = 0; i < v.length; i++) v[i] = v[i] < 0 ? 0 : v[i] > 6 ? 6 : v[i];
      return true;
    case "leakyrelu":
      for (let i = 0; i < v.length; i++) if (v[i] < 0) v[i] = alpha * v[i];
      return true;
    case "elu":
      for (let i = 0; i < v.length; i++) if (v[i] < 0) v[i] = Math.exp(v[i]) - 1;
      return true;
    case "sigmoid":
      for (let i = 0; i < v.length; i++) v[i] = 1 / (1 + Math.exp(-v[i]));
      return true;
    default:
      return false;
  }
}

function activationKernel(
  activation: string,
  x: tf.TensorInfo,
  preluWeights: tf.TensorInfo | undefined,
  attrs: { leakyreluAlpha?: number },
): { name: string; inputs: tf.NamedTensorInfoMap; attrs: tf.NamedAttrMap } {
  switch (activation) {
    case "relu":
      return { name: tf.Relu, inputs: { x }, attrs: {} };
    case "relu6":
      return { name: tf.Relu6, inputs: { x }, attrs: {} };
    case "elu":
      return { name: tf.Elu, inputs: { x }, attrs: {} };
    case "sigmoid":
      return { name: tf.Sigmoid, inputs: { x }, attrs: {} };
    case "leakyrelu":
      return { name: tf.LeakyRelu, inputs: { x }, attrs: { alpha: attrs.leakyreluAlpha ?? 0.2 } };
    case "prelu":
      if (preluWeights === undefined) {
        throw new Error("fused matMul: activation prelu needs preluActivationWeights");
      }
      return { name: tf.Prelu, inputs: { x, alpha: preluWeights }, attrs: {} };
    default:
      throw new Error(
        `fused matMul: activation "${activation}" is not implemented; expected linear, relu, ` +
          `relu6, elu, sigmoid, leakyrelu or prelu`,
      );
  }
}

function runCpuKernel(
  name: string,
  inputs: tf.NamedTensorInfoMap,
  backend: CpuBackendLike,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  const kernel = tf.getKernel(name, BLAS_BACKEND_NAME);
  if (kernel === undefined) throw new Error(`cpu-blas: kernel ${name} is not registered`);
  return kernel.kernelFunc({
    inputs,
    backend: backend as unknown as tf.KernelBackend,
    attrs,
  }) as tf.TensorInfo;
}

/**
 * op(A)·op(B) over broadcast batch dimensions, row-major, into a new array (prefilled with
 * `rowBias` repeated on every row when given, which sgemm then accumulates onto).
 */
function product(
  lib: Blas,
  aShape: number[],
  av: Float32Array,
  bShape: number[],
  bv: Float32Array,
  transA: boolean,
  transB: boolean,
  rowBias: Float32Array | null,
): { shape: number[]; values: Float32Array } {
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
  const outOuter = broadcastShape(aOuter, bOuter, aShape, bShape);
  const batch = sizeOf(outOuter), batchA = sizeOf(aOuter), batchB = sizeOf(bOuter);
  const shape = [...outOuter, m, n];
  const out = new Float32Array(batch * m * n);
  if (out.length === 0) return { shape, values: out };
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
    stats.sgemmCalls++;
    return { shape, values: out };
  }
  const aIndex = batchIndex(outOuter, aOuter), bIndex = batchIndex(outOuter, bOuter);
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
  stats.sgemmCalls += batch;
  return { shape, values: out };
}

function sizeOf(shape: number[]): number {
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
