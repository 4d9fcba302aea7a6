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
import { activationKernel, applyInPlace } from "./activations.ts";
import { type Blas, blasError, openBlas, type OpenBlasOptions } from "./blas.ts";
import { planProduct, runProduct, sizeOf } from "./blas_product.ts";
import { type Storage, storageOf, type WasmBackendLike } from "./storage.ts";

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
    const storage = storageOf(name);
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
  stats.sgemmCalls += runProduct(blas, plan, av, bv, out.view, null);
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
  stats.sgemmCalls += runProduct(blas, plan, av, bv, out.view, biasValues);
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
