/**
 * One fused pass of Adam over stacked per-run parameters ([K, ...]): a TensorFlow.js kernel,
 * `AdqnFusedAdam`, that reads p, m, v, g once and writes p', m', v' in one sweep, run segment by run
 * segment, each with its own bias corrections; segments of inactive runs are copied unchanged.
 *
 * The arithmetic is exactly that of BatchedAdam's thirteen elementwise tfjs ops (./batched_adam.ts) (the same float32
 * operations in the same order: m' = m·β1 + g·(1−β1), v' = v·β2 + (g·g)·(1−β2),
 * p' = p − (m' / (√v' / √(1−β2ᵗ) + ε)) · lr/(1−β1ᵗ)), so results are bit-identical; it is about three
 * times faster on large models because it makes one pass over memory instead of thirteen.
 *
 * On the `wasm` and `wasm-blas` backends the sweep is a small WebAssembly SIMD function (assembled
 * below, 128-bit lanes, no fused multiply-add) that works directly in the backend's heap; on `cpu`
 * and `cpu-blas` it is a JavaScript loop rounding to float32 after every operation.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { leb, section, sleb, WASM_HEADER } from "./wasm_asm.ts";

/** Kernel name of the fused Adam step. */
export const FUSED_ADAM = "AdqnFusedAdam";

/** Per-run hyper-parameters of one fused step. */
export interface FusedAdamRuns {
  /** lr / (1 − β1ᵗ) of each run (any finite value for inactive runs). */
  stepSize: ArrayLike<number>;
  /** √(1 − β2ᵗ) of each run (any finite value for inactive runs). */
  sqrtBc2: ArrayLike<number>;
  /** Whether each run steps (false: its segment is copied unchanged). */
  active: readonly boolean[];
}

// ---------------------------------------------------------------------------------------------
// The WebAssembly function adam(p, m, v, g, po, mo, vo, n, b1, c1, b2, c2, bc, eps, ss): byte
// offsets of the four inputs and three outputs, the element count, then the seven float32 scalars.

function assemble(): Uint8Array<ArrayBuffer> {
  const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;
  const get = (i: number) => [0x20, ...leb(i)], set = (i: number) => [0x21, ...leb(i)];
  const simd = (op: number) => [0xfd, ...leb(op)];
  const load = [...simd(0x00), 0x00, 0x00], store = [...simd(0x0b), 0x00, 0x00];
  const splat = simd(0x13);
  const [sqrt, add, sub, mul, div] = [0xe3, 0xe4, 0xe5, 0xe6, 0xe7].map(simd);
  const fload = [0x2a, 0x02, 0x00], fstore = [0x38, 0x02, 0x00];
  const [fsqrt, fadd, fsub, fmul, fdiv] = [[0x91], [0x92], [0x93], [0x94], [0x95]];
  const iadd = [0x6a], iconst = (v: number) => [0x41, ...sleb(v)];
  // Parameters 0-14; locals: 15 off, 16 end (i32); 17-23 splats, 24 g, 25 m, 26 v (v128);
  // 27 g, 28 m, 29 v (f32).
  const P = 0, M = 1, V = 2, G = 3, PO = 4, MO = 5, VO = 6, N = 7;
  const OFF = 15, END = 16, SPLAT = 17, G4 = 24, M4 = 25, V4 = 26, GS = 27, MS = 28, VS = 29;
  const at = (base: number) => [...get(base), ...get(OFF), ...iadd];
  const code: number[] = [];
  for (let s = 0; s < 7; s++) code.push(...get(8 + s), ...splat, ...set(SPLAT + s));
  const [B1, C1, B2, C2, BC, EPS, SS] = [0, 1, 2, 3, 4, 5, 6].map((s) => SPLAT + s);
  // Vector part: end = (n & ~3) · 4 bytes.
  code.push(...get(N), ...iconst(-4), 0x71, ...iconst(2), 0x74, ...set(END));
  code.push(...iconst(0), ...set(OFF));
  code.push(0x02, 0x40, 0x03, 0x40); // block, loop
  code.push(...get(OFF), ...get(END), 0x4f, 0x0d, 0x01); // off ≥ end: break
  code.push(...at(G), ...load, ...set(G4));
  code.push(
    ...at(M),
    ...load,
    ...get(B1),
    ...mul,
    ...get(G4),
    ...get(C1),
    ...mul,
    ...add,
    ...set(M4),
  );
  code.push(
    ...at(V),
    ...load,
    ...get(B2),
    ...mul,
    ...get(G4),
    ...get(G4),
    ...mul,
    ...get(C2),
    ...mul,
    ...add,
    ...set(V4),
  );
  code.push(...at(MO), ...get(M4), ...store);
  code.push(...at(VO), ...get(V4), ...store);
  code.push(
    ...at(PO),
    ...at(P),
    ...load,
    ...get(M4),
    ...get(V4),
    ...sqrt,
    ...get(BC),
    ...div,
    ...get(EPS),
    ...add,
    ...div,
    ...get(SS),
    ...mul,
    ...sub,
    ...store,
  );
  code.push(...get(OFF), ...iconst(16), ...iadd, ...set(OFF), 0x0c, 0x00, 0x0b, 0x0b); // br loop
  // Scalar tail: end = n · 4 bytes.
  code.push(...get(N), ...iconst(2), 0x74, ...set(END));
  code.push(0x02, 0x40, 0x03, 0x40);
  code.push(...get(OFF), ...get(END), 0x4f, 0x0d, 0x01);
  code.push(...at(G), ...fload, ...set(GS));
  code.push(
    ...at(M),
    ...fload,
    ...get(8),
    ...fmul,
    ...get(GS),
    ...get(9),
    ...fmul,
    ...fadd,
    ...set(MS),
  );
  code.push(
    ...at(V),
    ...fload,
    ...get(10),
    ...fmul,
    ...get(GS),
    ...get(GS),
    ...fmul,
    ...get(11),
    ...fmul,
    ...fadd,
    ...set(VS),
  );
  code.push(...at(MO), ...get(MS), ...fstore);
  code.push(...at(VO), ...get(VS), ...fstore);
  code.push(
    ...at(PO),
    ...at(P),
    ...fload,
    ...get(MS),
    ...get(VS),
    ...fsqrt,
    ...get(12),
    ...fdiv,
    ...get(13),
    ...fadd,
    ...fdiv,
    ...get(14),
    ...fmul,
    ...fsub,
    ...fstore,
  );
  code.push(...get(OFF), ...iconst(4), ...iadd, ...set(OFF), 0x0c, 0x00, 0x0b, 0x0b);
  code.push(0x0b); // end of function
  const locals = [0x03, 0x02, I32, 0x0a, V128, 0x03, F32];
  const body = [...locals, ...code];
  const params = [...new Array(8).fill(I32), ...new Array(7).fill(F32)];
  const bytes = [
    ...WASM_HEADER,
    ...section(1, [0x01, 0x60, ...leb(params.length), ...params, 0x00]),
    ...section(2, [
      0x01,
      0x03,
      ...[..."env"].map((c) => c.charCodeAt(0)),
      0x06,
      ...[..."memory"].map((c) => c.charCodeAt(0)),
      0x02,
      0x00,
      0x01,
    ]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, 0x04, ...[..."adam"].map((c) => c.charCodeAt(0)), 0x00, 0x00]),
    ...section(10, [0x01, ...leb(body.length), ...body]),
  ];
  return new Uint8Array(bytes);
}

type AdamFn = (
  p: number,
  m: number,
  v: number,
  g: number,
  po: number,
  mo: number,
  vo: number,
  n: number,
  b1: number,
  c1: number,
  b2: number,
  c2: number,
  bc: number,
  eps: number,
  ss: number,
) => void;

const instances = new WeakMap<WebAssembly.Memory, AdamFn>();
let compiled: WebAssembly.Module | null | undefined;

interface WasmBackendLike {
  wasm: { asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(id: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

interface CpuBackendLike {
  data: { get(id: unknown): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
}

/** The assembled function bound to a wasm backend's memory, or null when it cannot be built. */
function wasmAdam(backend: WasmBackendLike): AdamFn | null {
  const memory = backend.wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  const known = instances.get(memory);
  if (known) return known;
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(assemble());
    } catch {
      compiled = null;
    }
  }
  if (compiled === null) return null;
  let fn: AdamFn;
  try {
    fn = new WebAssembly.Instance(compiled, { env: { memory } }).exports.adam as AdamFn;
  } catch {
    return null; // e.g. a shared (threaded) heap the module does not declare
  }
  instances.set(memory, fn);
  return fn;
}

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

function fusedAdamKernel(args: KernelArgs, family: "wasm" | "cpu"): tf.TensorInfo[] {
  const { p, m, v, g } = args.inputs as Record<string, tf.TensorInfo>;
  const a = args.attrs as {
    stepSize: number[];
    sqrtBc2: number[];
    active: number[];
    beta1: number;
    beta2: number;
    eps: number;
  };
  const K = p.shape[0];
  const size = p.shape.reduce((x, y) => x * y, 1);
  const n = size / K;
  for (const t of [m, v, g]) {
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(`${FUSED_ADAM}: shapes [${p.shape}] and [${t.shape}] differ`);
    }
  }
  const f = Math.fround;
  const b1 = f(a.beta1), c1 = f(1 - a.beta1), b2 = f(a.beta2), c2 = f(1 - a.beta2), eps = f(a.eps);
  if (family === "wasm") {
    const b = args.backend as WasmBackendLike;
    const adam = wasmAdam(b);
    if (adam === null) throw new Error(`${FUSED_ADAM}: WebAssembly SIMD is unavailable`);
    const outs = [0, 1, 2].map(() => b.makeOutput([...p.shape], "float32"));
    const off = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
    const [po, mo, vo] = outs.map(off);
    const [pi, mi, vi, gi] = [p, m, v, g].map(off);
    const heap = new Uint8Array(b.wasm.asm.memory.buffer);
    const bytes = 4 * n;
    for (let k = 0; k < K; k++) {
      const o = k * bytes;
      if (a.active[k]) {
        adam(
          pi + o,
          mi + o,
          vi + o,
          gi + o,
          po + o,
          mo + o,
          vo + o,
          n,
          b1,
          c1,
          b2,
          c2,
          a.sqrtBc2[k],
          eps,
          a.stepSize[k],
        );
      } else {
        heap.copyWithin(po + o, pi + o, pi + o + bytes);
        heap.copyWithin(mo + o, mi + o, mi + o + bytes);
        heap.copyWithin(vo + o, vi + o, vi + o + bytes);
      }
    }
    return outs;
  }
  const b = args.backend as CpuBackendLike;
  const val = (t: tf.TensorInfo) => b.data.get(t.dataId).values as Float32Array;
  const [P, M, V, G] = [p, m, v, g].map(val);
  const PO = new Float32Array(size), MO = new Float32Array(size), VO = new Float32Array(size);
  for (let k = 0; k < K; k++) {
    const lo = k * n, hi = lo + n;
    if (!a.active[k]) {
      PO.set(P.subarray(lo, hi), lo);
      MO.set(M.subarray(lo, hi), lo);
      VO.set(V.subarray(lo, hi), lo);
      continue;
    }
    const bc = f(a.sqrtBc2[k]), ss = f(a.stepSize[k]);
    for (let i = lo; i < hi; i++) {
      const gi = G[i];
      const mi = f(f(M[i] * b1) + f(gi * c1));
      const vi = f(f(V[i] * b2) + f(f(gi * gi) * c2));
      MO[i] = mi;
      VO[i] = vi;
      PO[i] = f(P[i] - f(f(mi / f(f(f(Math.sqrt(vi)) / bc) + eps)) * ss));
    }
  }
  return [PO, MO, VO].map((x) => b.makeTensorInfo([...p.shape], "float32", x));
}

const registered = new Set<string>();

/**
 * Whether the fused kernel runs on `backendName` (registering it on first use): the wasm and cpu
 * families, with float32 storage the kernel can address.
 */
export function fusedAdamAvailable(backendName: string = tf.getBackend()): boolean {
  const family = backendName === "wasm" || backendName === "wasm-blas"
    ? "wasm"
    : backendName === "cpu" || backendName === "cpu-blas"
    ? "cpu"
    : null;
  if (family === null) return false;
  if (family === "wasm") {
    const backend = tf.engine().findBackend(backendName) as unknown as WasmBackendLike | null;
    if (backend === null || wasmAdam(backend) === null) return false;
  }
  if (!registered.has(backendName)) {
    tf.registerKernel({
      kernelName: FUSED_ADAM,
      backendName,
      kernelFunc: (args) => fusedAdamKernel(args as KernelArgs, family),
    });
    registered.add(backendName);
  }
  return true;
}

/**
 * One fused Adam step on stacked tensors p, m, v with gradient g (all [K, ...]): returns new
 * [p', m', v'] (the inputs are not modified). Check {@link fusedAdamAvailable} first.
 */
export function fusedAdamStep(
  p: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  g: tf.Tensor,
  runs: FusedAdamRuns,
  hyper: { beta1: number; beta2: number; eps: number },
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const out = tf.engine().runKernel(FUSED_ADAM, { p, m, v, g }, {
    stepSize: Array.from(runs.stepSize),
    sqrtBc2: Array.from(runs.sqrtBc2),
    active: runs.active.map((x) => (x ? 1 : 0)),
    beta1: hyper.beta1,
    beta2: hyper.beta2,
    eps: hyper.eps,
  }) as tf.Tensor[];
  return [out[0], out[1], out[2]];
}
