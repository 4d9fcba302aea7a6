/**
 * TensorFlow.js backends whose matrix products run in native OpenBLAS (`sgemm` through Deno FFI,
 * see {@link openBlas}):
 *
 * - `wasm-blas`: the `wasm` backend (SIMD elementwise kernels) with native products. The product
 *   reads its operands straight from the WebAssembly heap and writes its result into it: no
 *   copies. The fastest choice when the library is present.
 * - `cpu-blas`: the pure-JavaScript `cpu` backend with native products. Products are fast, but the
 *   `cpu` backend's other kernels are slow (strided `slice`/`split`, broadcasting binary ops,
 *   `transpose` cost 10-100× their wasm versions), so it mainly serves as a second reference.
 *
 * Each is registered as a new backend that reuses the base backend's factory and kernels, with
 * `BatchMatMul` and `_FusedMatMul` replaced. `tf.matMul`, `tf.dot` and `tf.fused.matMul` (used by
 * tf.layers' Dense) dispatch to these two kernels, and tfjs's gradients of both are written with
 * `tf.matMul`, so forward and backward products both run natively. Transposed operands cost
 * nothing extra (they become BLAS transpose flags), unlike on plain `wasm`, whose transposed
 * products are ~20× slower. Batch dimensions broadcast with numpy rules (tfjs 4.22's own `cpu` and
 * `wasm` kernels mis-handle e.g. [2,1,…]×[1,3,…]). Reads stay synchronous (`dataSync`).
 * Non-float32 products go to the base backend's own kernel. The base backends are left untouched,
 * so all can be compared in one process.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { type Blas, blasError, openBlas, type OpenBlasOptions } from "./blas.ts";

/** The native-product backends and the tfjs backend each one extends. */
export const BLAS_BACKENDS = { "wasm-blas": "wasm", "cpu-blas": "cpu" } as const;

/** Name of a backend of {@link BLAS_BACKENDS}. */
export type BlasBackendName = keyof typeof BLAS_BACKENDS;

/** The recommended native-product backend (wasm elementwise kernels + OpenBLAS products). */
export const BLAS_BACKEND_NAME: BlasBackendName = "wasm-blas";

/** Registry priority: below `cpu` (1) and `wasm` (2), so tfjs never picks these by itself. */
const PRIORITY = 0;

/** What {@link registerBlasBackend} and {@link enableBlasBackend} report. */
export interface BlasBackendStatus {
  /** Whether the backend is registered (and, for {@link enableBlasBackend}, active). */
  ok: boolean;
  /** The backend name. */
  backend: BlasBackendName;
  /** Why not, when `ok` is false. */
  reason?: string;
  /** The library loaded, when `ok`. */
  library?: string;
}

/** Counters of the kernels of the native-product backends (for tests and profiling). */
export interface BlasKernelStats {
  /** Products computed by native `sgemm` (one kernel call may make several). */
  sgemmCalls: number;
  /** Kernel calls handed to the base backend's own kernel (non-float32 operands). */
  fallbacks: number;
}

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** How the kernels reach a base backend's float32 storage. */
interface Storage {
  /** The float32 values of `t` (a view, valid until the next allocation), or null. */
  values(backend: unknown, t: tf.TensorInfo): Float32Array | null;
  /**
   * A new float32 output and a view of its values (not necessarily zeroed: every product writes
   * all of its output, with beta = 0 unless a bias was written first).
   */
  alloc(backend: unknown, shape: number[]): { info: tf.TensorInfo; view: Float32Array };
  /** Free an intermediate result. */
  dispose(backend: unknown, t: tf.TensorInfo): void;
}

/** The `cpu` backend keeps each tensor's values in a typed array. */
const cpuStorage: Storage = {
  values(backend, t) {
    if (t.dtype !== "float32") return null;
    const v = (backend as CpuBackendLike).data.get(t.dataId).values;
    return v instanceof Float32Array ? v : null;
  },
  alloc(backend, shape) {
    const view = new Float32Array(sizeOf(shape));
    return { info: (backend as CpuBackendLike).makeTensorInfo(shape, "float32", view), view };
  },
  dispose(backend, t) {
    (backend as CpuBackendLike).disposeIntermediateTensorInfo(t);
  },
};

/** The `wasm` backend keeps each tensor in its WebAssembly heap. */
const wasmStorage: Storage = {
  values(backend, t) {
    if (t.dtype !== "float32") return null;
    return (backend as WasmBackendLike).typedArrayFromHeap(t) as Float32Array;
  },
  alloc(backend, shape) {
    const b = backend as WasmBackendLike;
    const info = b.makeOutput(shape, "float32");
    return { info, view: b.typedArrayFromHeap(info) as Float32Array };
  },
  dispose(backend, t) {
    (backend as WasmBackendLike).disposeData(t.dataId);
  },
};

/** The parts of tfjs's `MathBackendCPU` used here. */
interface CpuBackendLike {
  data: { get(dataId: unknown): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void;
}

/** The parts of tfjs's `BackendWasm` used here. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: unknown): boolean;
  incRef(dataId: unknown): void;
}

const STORAGE: Record<BlasBackendName, Storage> = {
  "wasm-blas": wasmStorage,
  "cpu-blas": cpuStorage,
};

let blas: Blas | null = null;
const stats: BlasKernelStats = { sgemmCalls: 0, fallbacks: 0 };

/**
 * A copy of the kernel counters of the native-product backends since the process started.
 *
 * @example
 * ```ts
 * import { blasKernelStats } from "./fast_backend.ts";
 * const before = blasKernelStats().sgemmCalls;
 * // ... tf.matMul on the wasm-blas backend ...
 * console.log(blasKernelStats().sgemmCalls - before);
 * ```
 */
export function blasKernelStats(): BlasKernelStats {
  return { ...stats };
}

/**
 * Whether `backend` (default: the current tfjs backend) is one of {@link BLAS_BACKENDS}, i.e.
 * whether products with `transposeA`/`transposeB` flags cost the same as plain ones (on plain
 * `wasm` an explicit `tf.transpose` followed by a plain product is ~20× faster).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { isBlasBackend } from "./fast_backend.ts";
 * await tf.setBackend("cpu");
 * const x = tf.ones([4, 3]), g = tf.ones([4, 2]);
 * const dw = isBlasBackend() ? tf.matMul(x, g, true, false) : tf.matMul(tf.transpose(x), g);
 * console.log(dw.shape); // [3, 2]
 * ```
 */
export function isBlasBackend(backend?: string): boolean {
  // engine().backendName, unlike tf.getBackend(), never starts a backend (false when none is set).
  const name = backend ?? (tf.engine().backendName as string | null) ?? "";
  return Object.hasOwn(BLAS_BACKENDS, name);
}

/**
 * Load the native BLAS and register a native-product backend (idempotent; does not switch to it).
 * Returns `{ ok: false, reason }` when the library or `--allow-ffi` is missing or the base backend
 * is not registered; never throws for those.
 *
 * @param name `"wasm-blas"` (default) or `"cpu-blas"`.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { registerBlasBackend } from "./fast_backend.ts";
 * const status = registerBlasBackend("wasm-blas");
 * if (status.ok) await tf.setBackend(status.backend);
 * else console.warn(status.reason);
 * ```
 */
export function registerBlasBackend(
  name: BlasBackendName = BLAS_BACKEND_NAME,
  options: OpenBlasOptions = {},
): BlasBackendStatus {
  const base = BLAS_BACKENDS[name];
  if (base === undefined) {
    throw new Error(
      `registerBlasBackend: unknown backend "${name}"; expected ${
        Object.keys(BLAS_BACKENDS).join(" or ")
      }`,
    );
  }
  const lib = openBlas(options);
  if (lib === null) return { ok: false, backend: name, reason: blasError() ?? "openBlas failed" };
  blas = lib;
  if (tf.findBackendFactory(name) === null) {
    const factory = tf.findBackendFactory(base);
    const baseMatMul = tf.getKernel(tf.BatchMatMul, base);
    const baseFused = tf.getKernel(tf._FusedMatMul, base);
    if (factory === null || baseMatMul === undefined || baseFused === undefined) {
      return {
        ok: false,
        backend: name,
        reason: `registerBlasBackend: the tfjs "${base}" backend or its matMul kernels are not ` +
          `registered`,
      };
    }
    const replaced = new Set<string>([tf.BatchMatMul, tf._FusedMatMul]);
    if (name === "wasm-blas") {
      replaced.add(tf.Identity);
      tf.registerKernel({
        kernelName: tf.Identity,
        backendName: name,
        kernelFunc: (args) => aliasIdentity(args as KernelArgs),
      });
    }
    for (const config of tf.getKernelsForBackend(base)) {
      if (replaced.has(config.kernelName)) continue;
      if (tf.getKernel(config.kernelName, name) === undefined) {
        tf.registerKernel({ ...config, backendName: name });
      }
    }
    const storage = STORAGE[name];
    tf.registerKernel({
      kernelName: tf.BatchMatMul,
      backendName: name,
      kernelFunc: (args) => batchMatMulKernel(args, storage, baseMatMul.kernelFunc),
    });
    tf.registerKernel({
      kernelName: tf._FusedMatMul,
      backendName: name,
      kernelFunc: (args) => fusedMatMulKernel(args, storage, name, baseFused.kernelFunc),
    });
    tf.registerBackend(name, factory, PRIORITY);
  }
  return { ok: true, backend: name, library: lib.path };
}

/**
 * Load the native BLAS, register a native-product backend and make it tfjs's current backend
 * (production mode is left to the caller). On failure the current backend is kept and `reason`
 * says why.
 *
 * @param name `"wasm-blas"` (default) or `"cpu-blas"`.
 * @example
 * ```ts
 * import { enableBlasBackend } from "./fast_backend.ts";
 * const { ok, reason } = await enableBlasBackend();
 * if (!ok) console.warn(`staying on the current backend: ${reason}`);
 * ```
 */
export async function enableBlasBackend(
  name: BlasBackendName = BLAS_BACKEND_NAME,
  options: OpenBlasOptions = {},
): Promise<BlasBackendStatus> {
  const status = registerBlasBackend(name, options);
  if (!status.ok) return status;
  const previous = tf.getBackend();
  let ok = false;
  let reason = `tf.setBackend("${name}") returned false`;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    reason = `tf.setBackend("${name}") failed: ${(e as Error).message}`;
  }
  if (!ok) {
    if (previous !== undefined && previous !== name) await tf.setBackend(previous);
    return { ok: false, backend: name, reason };
  }
  await tf.ready();
  return status;
}

// ---------------------------------------------------------------------------------------------
// Kernels.

/**
 * `Identity` (`tf.clone`, and the copy tfjs makes of every tensor a custom gradient saves for the
 * backward pass) as a second reference to the same data, as on the `cpu` backend; the `wasm`
 * kernel copies it. Safe because no kernel writes into its inputs (variables are reassigned, never
 * overwritten): on the Heaven-Hell-3 model this saves about 55 copies of layer activations per
 * training round.
 */
function aliasIdentity(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === "string") throw new Error("wasm-blas Identity: string tensors are not supported");
  (args.backend as WasmBackendLike).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

function batchMatMulKernel(
  args: KernelArgs,
  storage: Storage,
  fallback: tf.KernelFunc,
): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA = false, transposeB = false } = (args.attrs ?? {}) as {
    transposeA?: boolean;
    transposeB?: boolean;
  };
  if (blas === null || a.dtype !== "float32" || b.dtype !== "float32") {
    stats.fallbacks++;
    return fallback(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  const plan = planProduct(a.shape, b.shape, transposeA, transposeB);
  const out = storage.alloc(args.backend, plan.shape);
  // Views of the inputs only now: an allocation may grow (and move) the wasm heap.
  const av = storage.values(args.backend, a), bv = storage.values(args.backend, b);
  if (av === null || bv === null) {
    storage.dispose(args.backend, out.info);
    stats.fallbacks++;
    return fallback(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  runProduct(blas, plan, av, bv, out.view, null);
  return out.info;
}

function fusedMatMulKernel(
  args: KernelArgs,
  storage: Storage,
  backendName: string,
  fallback: tf.KernelFunc,
): tf.TensorInfo {
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
  if (
    blas === null || a.dtype !== "float32" || b.dtype !== "float32" ||
    (bias !== undefined && bias.dtype !== "float32")
  ) {
    stats.fallbacks++;
    return fallback(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  const plan = planProduct(a.shape, b.shape, attrs.transposeA ?? false, attrs.transposeB ?? false);
  // A bias that is one row (shape [..., 1, N] or [N]) or a scalar is written into the output
  // first and accumulated by sgemm (beta = 1); any other broadcast goes through the Add kernel.
  const rowBias = bias !== undefined && isRowBias(bias.shape, plan.n);
  const out = storage.alloc(args.backend, plan.shape);
  const av = storage.values(args.backend, a), bv = storage.values(args.backend, b);
  const biasValues = rowBias ? storage.values(args.backend, bias!) : null;
  if (av === null || bv === null || (rowBias && biasValues === null)) {
    storage.dispose(args.backend, out.info);
    stats.fallbacks++;
    return fallback(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  runProduct(blas, plan, av, bv, out.view, biasValues);
  const biasPending = bias !== undefined && !rowBias;
  if (!biasPending && applyInPlace(out.view, activation, attrs.leakyreluAlpha ?? 0.2)) {
    return out.info;
  }
  let current = out.info;
  if (biasPending) {
    const sum = runKernel(backendName, tf.Add, { a: current, b: bias }, args.backend, {});
    storage.dispose(args.backend, current);
    current = sum;
  }
  if (activation !== "linear") {
    const act = activationKernel(activation, current, preluActivationWeights, attrs);
    const next = runKernel(backendName, act.name, act.inputs, args.backend, act.attrs);
    storage.dispose(args.backend, current);
    current = next;
  }
  return current;
}

/** Whether a bias of this shape adds the same N values to every output row (or is a scalar). */
function isRowBias(shape: number[], n: number): boolean {
  const size = sizeOf(shape);
  return size === 1 || (shape.length > 0 && shape[shape.length - 1] === n && size === n);
}

/**
 * ReLU in place, branch-free: every value with its sign bit set (negatives, -0) becomes +0. A
 * compare-and-branch loop mispredicts on about half of the values of a layer's pre-activations and
 * runs 8× slower (5 ns against 0.6 ns per value on the 2-core reference machine).
 *
 * @example
 * ```ts
 * import { reluInPlace } from "./fast_backend.ts";
 * const v = Float32Array.of(-2, 0.5, -0, 3);
 * reluInPlace(v);
 * console.log(Array.from(v)); // [0, 0.5, 0, 3]
 * ```
 */
export function reluInPlace(v: Float32Array): void {
  const bits = new Int32Array(v.buffer, v.byteOffset, v.length);
  const n = bits.length;
  for (let i = 0; i < n; i++) {
    const x = bits[i];
    bits[i] = x & ~(x >> 31); // x >> 31 is all ones exactly when the sign bit is set
  }
}

/** Apply an activation in place; false when it must go through a kernel (prelu, unknown). */
function applyInPlace(v: Float32Array, activation: string, alpha: number): boolean {
  switch (activation) {
    case "linear":
      return true;
    case "relu":
      reluInPlace(v);
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
    case "prelu":
      if (preluWeights === undefined) {
        throw new Error("fused matMul: activation prelu needs preluActivationWeights");
      }
      return { name: tf.Prelu, inputs: { x, alpha: preluWeights }, attrs: {} };
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
    default:
      throw new Error(
        `fused matMul: activation "${activation}" is not implemented; expected linear, relu, ` +
          `relu6, elu, sigmoid, leakyrelu or prelu`,
      );
  }
}

function runKernel(
  backendName: string,
  name: string,
  inputs: tf.NamedTensorInfoMap,
  backend: unknown,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  const kernel = tf.getKernel(name, backendName);
  if (kernel === undefined) throw new Error(`${backendName}: kernel ${name} is not registered`);
  return kernel.kernelFunc({
    inputs,
    backend: backend as tf.KernelBackend,
    attrs,
  }) as tf.TensorInfo;
}

/** Sizes of op(A)·op(B) over broadcast batch dimensions. */
interface ProductPlan {
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

function planProduct(
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
 * output row first).
 */
function runProduct(
  lib: Blas,
  plan: ProductPlan,
  av: Float32Array,
  bv: Float32Array,
  out: Float32Array,
  rowBias: Float32Array | null,
): void {
  const { m, n, k, transA, transB, outer, aOuter, bOuter } = plan;
  if (out.length === 0) return;
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
    stats.sgemmCalls++;
    return;
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
  stats.sgemmCalls += batch;
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
