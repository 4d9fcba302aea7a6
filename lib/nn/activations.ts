/**
 * The activations of the native-product kernels (./fast_backend.ts, ./grouped_ops.ts): in place on
 * a fresh output where that is exact and cheap, else as the tfjs kernel to dispatch.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { leb, section, WASM_HEADER } from "./wasm_asm.ts";

/**
 * ReLU in place, branch-free: every value with its sign bit set (negatives, -0) becomes +0. A
 * compare-and-branch loop mispredicts on about half of the values of a layer's pre-activations and
 * runs 8× slower (5 ns against 0.6 ns per value on the 2-core reference machine).
 *
 * @example
 * ```ts
 * import { reluInPlace } from "./activations.ts";
 * const v = Float32Array.of(-2, 0.5, -0, 3);
 * reluInPlace(v);
 * console.log(Array.from(v)); // [0, 0.5, 0, 3]
 * ```
 */
export function reluInPlace(v: Float32Array): void {
  const simd = wasmRelu(v.buffer);
  if (simd !== null) {
    simd(v.byteOffset, v.length);
    return;
  }
  const bits = new Int32Array(v.buffer, v.byteOffset, v.length);
  const n = bits.length;
  for (let i = 0; i < n; i++) {
    const x = bits[i];
    bits[i] = x & ~(x >> 31); // x >> 31 is all ones exactly when the sign bit is set
  }
}

/**
 * The same bit operation as a WebAssembly SIMD loop over the wasm backend's own heap (4 lanes at
 * a time): for a view into that heap (every output of the wasm-family kernels), about 4× faster
 * than the JavaScript loop.
 */
type ReluFn = (byteOffset: number, count: number) => void;

let reluModule: WebAssembly.Module | null | undefined;
const reluInstances = new WeakMap<WebAssembly.Memory, ReluFn | null>();

/** The SIMD ReLU bound to the current wasm backend's memory, if `buffer` is that memory's. */
function wasmRelu(buffer: ArrayBufferLike): ReluFn | null {
  // backendName, unlike backend, never starts a backend.
  const engine = tf.engine(), name = engine.backendName as string | null;
  if (name !== "wasm" && name !== "wasm-blas") return null;
  const memory = (engine.backend as unknown as { wasm?: { asm?: { memory?: unknown } } })
    ?.wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory) || memory.buffer !== buffer) return null;
  const known = reluInstances.get(memory);
  if (known !== undefined) return known;
  let fn: ReluFn | null = null;
  try {
    reluModule ??= new WebAssembly.Module(reluWasm());
    fn = new WebAssembly.Instance(reluModule, { env: { memory } }).exports.relu as ReluFn;
  } catch {
    reluModule ??= null; // no SIMD, or a heap the module does not declare: the JavaScript loop
  }
  reluInstances.set(memory, fn);
  return fn;
}

/** relu(p, n): x ← x & ~(x >> 31) for the n int32 words from byte offset p. */
function reluWasm(): Uint8Array<ArrayBuffer> {
  const name = (t: string) => [t.length, ...[...t].map((c) => c.charCodeAt(0))];
  const simd = (op: number[]) => [0xfd, ...op];
  const [get, set, tee] = [0x20, 0x21, 0x22].map((o) => (i: number) => [o, i]);
  const i32 = (v: number) => [0x41, v & 0x7f]; // one-byte signed LEB128 (−64..63)
  const P = 0, N = 1, END = 2, V = 3, X = 4;
  const loop = (step: number, body: number[]) => [
    0x02,
    0x40,
    0x03,
    0x40, // block, loop
    ...get(P),
    ...get(END),
    0x4f,
    0x0d,
    0x01, // p >= end: break
    ...get(P),
    ...body, // the store's address, then its value
    ...get(P),
    ...i32(step),
    0x6a,
    ...set(P),
    0x0c,
    0x00, // p += step, continue
    0x0b,
    0x0b, // end loop, end block
  ];
  const code = [
    ...get(P),
    ...get(N),
    ...i32(2),
    0x76,
    ...i32(4),
    0x74,
    0x6a,
    ...set(END), // p + (n >> 2)·16
    ...loop(16, [
      ...get(P),
      ...simd([0x00, 0x00, 0x00]),
      ...tee(V), // v128.load
      ...get(V),
      ...i32(31),
      ...simd([0xac, 0x01]), // i32x4.shr_s
      ...simd([0x4f]), // v128.andnot: v & ~(v >> 31)
      ...simd([0x0b, 0x00, 0x00]), // v128.store
    ]),
    ...get(END),
    ...get(N),
    ...i32(3),
    0x71,
    ...i32(2),
    0x74,
    0x6a,
    ...set(END), // + (n & 3)·4
    ...loop(4, [
      ...get(P),
      0x28,
      0x02,
      0x00,
      ...tee(X), // i32.load
      ...get(X),
      ...i32(31),
      0x75,
      ...i32(-1),
      0x73,
      0x71, // x & ~(x >> 31)
      0x36,
      0x02,
      0x00, // i32.store
    ]),
    0x0b,
  ];
  const body = [0x03, 0x01, 0x7f, 0x01, 0x7b, 0x01, 0x7f, ...code];
  return new Uint8Array([
    ...WASM_HEADER,
    ...section(1, [0x01, 0x60, 0x02, 0x7f, 0x7f, 0x00]),
    ...section(2, [0x01, ...name("env"), ...name("memory"), 0x02, 0x00, 0x01]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, ...name("relu"), 0x00, 0x00]),
    ...section(10, [0x01, ...leb(body.length), ...body]),
  ]);
}

/** Apply an activation in place; false when it must go through a kernel (prelu, unknown). */
export function applyInPlace(v: Float32Array, activation: string, alpha: number): boolean {
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

/** The tfjs kernel (name, inputs, attributes) that applies `activation` to `x`. */
export function activationKernel(
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
