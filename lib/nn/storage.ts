/**
 * Host access to the float32 storage of the `wasm` and `cpu` tfjs backends (and of the
 * native-product backends built on them, ./fast_backend.ts): the kernels of ./fast_backend.ts and
 * ./grouped_ops.ts read their operands and write their outputs in place through these, with no
 * copies (the WebAssembly heap, or the `cpu` backend's typed arrays).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Backends whose float32 storage host code can address. */
export const HOST_STORAGE_BACKENDS = ["wasm", "wasm-blas", "cpu", "cpu-blas"] as const;

/** How kernels reach a backend's float32 storage. */
export interface Storage {
  /**
   * The float32 values of `t` (a view, valid until the next allocation on this backend), or null
   * when `t` is not float32 or has no typed-array values.
   */
  values(backend: unknown, t: tf.TensorInfo): Float32Array | null;
  /** A new float32 output (not zeroed) and a view of its values. */
  alloc(backend: unknown, shape: number[]): { info: tf.TensorInfo; view: Float32Array };
  /** Free an intermediate result. */
  dispose(backend: unknown, t: tf.TensorInfo): void;
}

/** The parts of tfjs's `MathBackendCPU` used here. */
interface CpuBackendLike {
  data: { get(dataId: unknown): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void;
}

/** The parts of tfjs's `BackendWasm` used here. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: unknown): boolean;
  incRef(dataId: unknown): void;
}

/** The `cpu` backend keeps each tensor's values in a typed array. */
export const cpuStorage: Storage = {
  values(backend, t) {
    if (t.dtype !== "float32") return null;
    const v = (backend as CpuBackendLike).data.get(t.dataId).values;
    return v instanceof Float32Array ? v : null;
  },
  alloc(backend, shape) {
    const view = new Float32Array(shape.reduce((a, b) => a * b, 1));
    return { info: (backend as CpuBackendLike).makeTensorInfo(shape, "float32", view), view };
  },
  dispose(backend, t) {
    (backend as CpuBackendLike).disposeIntermediateTensorInfo(t);
  },
};

/** The `wasm` backend keeps each tensor in its WebAssembly heap. */
export const wasmStorage: Storage = {
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

/** The storage of `backendName`; throws for backends without host-addressable storage. */
export function storageOf(backendName: string): Storage {
  if (backendName === "wasm" || backendName === "wasm-blas") return wasmStorage;
  if (backendName === "cpu" || backendName === "cpu-blas") return cpuStorage;
  throw new Error(
    `backend "${backendName}" keeps no float32 storage that host code can address; expected ` +
      `one of ${HOST_STORAGE_BACKENDS.join(", ")}`,
  );
}

/** {@link Storage.values}, throwing (naming `what`) where it would return null. */
export function floatValues(
  storage: Storage,
  backend: unknown,
  t: tf.TensorInfo,
  what: string,
): Float32Array {
  const v = storage.values(backend, t);
  if (v === null) {
    throw new Error(
      `${what}: expected a float32 tensor with host values, got ${t.dtype} [${t.shape}]`,
    );
  }
  return v;
}

/**
 * A read-only view of a tensor's float32 values in the current backend's memory, valid until the
 * next tensor allocation. Cheaper than `dataSync()` (no copy of the whole tensor) when only a part
 * is read: copy what you need out of it at once.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { hostView } from "./storage.ts";
 * await tf.setBackend("cpu");
 * console.log(hostView(tf.tensor([1, 2, 3]))[1]); // 2
 * ```
 */
export function hostView(t: tf.Tensor): Float32Array {
  const engine = tf.engine();
  return floatValues(storageOf(engine.backendName), engine.backend, t, "hostView");
}
