/**
 * Native BLAS (lib/nn/blas.ts) and the `wasm-blas` / `cpu-blas` tfjs backends
 * (lib/nn/fast_backend.ts).
 *
 * Products are checked against a float64 reference written here, on `wasm-blas`, `cpu-blas` and
 * the plain `wasm` and `cpu` backends, within the classic float32 dot-product error bound
 * |computed − exact| ≤ K·2⁻²³·Σₖ|aᵢₖ·bₖⱼ| (K the inner size; 2⁻²⁴ is float32's unit round-off).
 * Tests that need the library or --allow-ffi are skipped with a warning when those are missing.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import assert from "assert";
import {
  ACCELERATE_PATH,
  BLAS_LIBRARY_CANDIDATES,
  blasError,
  blasLibraryCandidates,
  openBlas,
} from "../../lib/nn/blas.ts";
import {
  BLAS_BACKENDS,
  type BlasBackendName,
  blasKernelStats,
  enableBlasBackend,
  isBlasBackend,
  registerBlasBackend,
} from "../../lib/nn/fast_backend.ts";
import { makeRng, type Rng } from "../../lib/rng.ts";

tf.enableProdMode();

const blas = openBlas();
const ignore = blas === null;
if (ignore) {
  console.warn(`WARNING tests/nn/blas_test.ts: native BLAS tests SKIPPED: ${blasError()}`);
}

/** The native-product backends, each followed by the tfjs backend it extends. */
const NATIVE = Object.keys(BLAS_BACKENDS) as BlasBackendName[];
const ALL_BACKENDS = [...NATIVE, "wasm", "cpu"];
const isNative = (backend: string) => (NATIVE as string[]).includes(backend);

/** float32 unit round-off ×2: the per-operation bound used in the tolerance. */
const EPS = 2 ** -23;

function randomArray(rng: Rng, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = 2 * rng() - 1;
  return out;
}

/** A matmul case: operand shapes and transpose flags. */
interface Case {
  a: number[];
  b: number[];
  transA?: boolean;
  transB?: boolean;
  /** tfjs backends known to get this case wrong (checked only on the others). */
  wrongOn?: string[];
}

/**
 * float64 reference of tf.matMul with numpy batch broadcasting, written independently of the
 * kernel: element (batch idx, i, j) = Σ_k opA[i,k]·opB[k,j]. Also returns Σ_k |opA·opB| per
 * element for the error bound.
 */
function reference(
  c: Case,
  av: Float32Array,
  bv: Float32Array,
): { shape: number[]; values: Float64Array; absSum: Float64Array; k: number } {
  const ra = c.a.length, rb = c.b.length;
  const m = c.transA ? c.a[ra - 1] : c.a[ra - 2];
  const k = c.transA ? c.a[ra - 2] : c.a[ra - 1];
  const n = c.transB ? c.b[rb - 2] : c.b[rb - 1];
  const aOuter = c.a.slice(0, -2), bOuter = c.b.slice(0, -2);
  const rank = Math.max(aOuter.length, bOuter.length);
  const padA = [...Array(rank - aOuter.length).fill(1), ...aOuter];
  const padB = [...Array(rank - bOuter.length).fill(1), ...bOuter];
  const outer = padA.map((d, i) => Math.max(d, padB[i]));
  const batch = outer.reduce((p, d) => p * d, 1);
  const values = new Float64Array(batch * m * n), absSum = new Float64Array(batch * m * n);
  for (let flat = 0; flat < batch; flat++) {
    // Multi-index of this batch entry, then the operands' own flat batch indices.
    let rest = flat, ai = 0, bi = 0, aStride = 1, bStride = 1;
    for (let axis = rank - 1; axis >= 0; axis--) {
      const idx = rest % outer[axis];
      rest = Math.floor(rest / outer[axis]);
      ai += (padA[axis] === 1 ? 0 : idx) * aStride;
      bi += (padB[axis] === 1 ? 0 : idx) * bStride;
      aStride *= padA[axis];
      bStride *= padB[axis];
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, abs = 0;
        for (let kk = 0; kk < k; kk++) {
          const x = c.transA ? av[ai * m * k + kk * m + i] : av[ai * m * k + i * k + kk];
          const y = c.transB ? bv[bi * k * n + j * k + kk] : bv[bi * k * n + kk * n + j];
          s += x * y;
          abs += Math.abs(x * y);
        }
        values[flat * m * n + i * n + j] = s;
        absSum[flat * m * n + i * n + j] = abs;
      }
    }
  }
  return { shape: [...outer, m, n], values, absSum, k };
}

function assertWithinBound(
  label: string,
  got: ArrayLike<number>,
  ref: { values: Float64Array; absSum: Float64Array; k: number },
) {
  assert.equal(got.length, ref.values.length, `${label}: size`);
  for (let i = 0; i < got.length; i++) {
    const tol = ref.k * EPS * ref.absSum[i] + 1e-30;
    const err = Math.abs(got[i] - ref.values[i]);
    if (!(err <= tol)) {
      assert.fail(`${label}: element ${i} is ${got[i]}, expected ${ref.values[i]} ± ${tol}`);
    }
  }
}

const CASES: Case[] = [
  { a: [7, 5], b: [5, 3] },
  { a: [5, 7], b: [5, 3], transA: true },
  { a: [7, 5], b: [3, 5], transB: true },
  { a: [5, 7], b: [3, 5], transA: true, transB: true },
  { a: [3, 4, 6], b: [3, 6, 2] },
  { a: [3, 6, 4], b: [3, 2, 6], transA: true, transB: true },
  { a: [4, 5, 6], b: [6, 3] }, // shared B: one merged product
  { a: [4, 6, 5], b: [6, 3], transA: true },
  { a: [5, 6], b: [4, 6, 3] }, // shared A
  // Numpy broadcasting of batch dimensions: tfjs 4.22's cpu and wasm kernels index batches by
  // modulo and return 45 of the 90 values.
  { a: [2, 1, 3, 4], b: [1, 3, 4, 5], wrongOn: ["wasm", "cpu"] },
  { a: [1, 128], b: [128, 384] }, // one GRU step, B = 1
  { a: [32, 128], b: [128, 384] }, // one GRU step, B = 32
  { a: [33, 65], b: [17, 65], transB: true },
  { a: [0, 4], b: [4, 3] },
  { a: [3, 0], b: [0, 2], wrongOn: ["wasm"] }, // empty sum: zeros (XNNPACK fails, wasm: garbage)
];

function caseName(c: Case): string {
  return `[${c.a}]${c.transA ? "ᵀ" : ""}×[${c.b}]${c.transB ? "ᵀ" : ""}`;
}

/** Run `fn` with `backend` current; returns null (after a warning) when it cannot start. */
async function onBackend<T>(backend: string, fn: () => T): Promise<T | null> {
  if (!(await tf.setBackend(backend))) {
    console.warn(`WARNING tests/nn/blas_test.ts: backend ${backend} unavailable, not compared`);
    return null;
  }
  return fn();
}

Deno.test({
  name: "`openBlas()` sgemm computes hand-worked products with flags, strides and offsets",
  ignore,
  fn() {
    const lib = blas!;
    // A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]: AB = [[58,64],[139,154]].
    const a = Float32Array.of(1, 2, 3, 4, 5, 6), b = Float32Array.of(7, 8, 9, 10, 11, 12);
    const c = new Float32Array(4);
    lib.sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2);
    assert.deepEqual([...c], [58, 64, 139, 154]);
    // Aᵀ stored 3×2 and Bᵀ stored 2×3, alpha 2, beta 1 onto C = 1: 2·AB + 1.
    const at = Float32Array.of(1, 4, 2, 5, 3, 6), bt = Float32Array.of(7, 9, 11, 8, 10, 12);
    const c2 = new Float32Array(4).fill(1);
    lib.sgemm(true, true, 2, 2, 3, 2, at, 2, bt, 3, 1, c2, 2);
    assert.deepEqual([...c2], [117, 129, 279, 309]);
    // A inside a wider, offset buffer (stride 4, starting at element 2); C written at offset 1.
    const wide = Float32Array.of(9, 9, 1, 2, 3, 9, 4, 5, 6, 9);
    const out = new Float32Array(6);
    lib.sgemm(false, false, 2, 2, 3, 1, wide.subarray(2), 4, b, 2, 0, out.subarray(1), 2);
    assert.deepEqual([...out], [0, 58, 64, 139, 154, 0]);
  },
});

Deno.test({
  name: "`openBlas()` sgemm rejects buffers too small for the stated shape",
  ignore,
  fn() {
    const small = new Float32Array(5);
    assert.throws(
      () =>
        blas!.sgemm(
          false,
          false,
          2,
          2,
          3,
          1,
          small,
          3,
          new Float32Array(6),
          2,
          0,
          new Float32Array(4),
          2,
        ),
      /A needs a Float32Array of at least 6 values/,
    );
    assert.throws(
      () =>
        blas!.sgemm(
          false,
          false,
          2,
          2,
          3,
          1,
          new Float32Array(6),
          2,
          new Float32Array(6),
          2,
          0,
          new Float32Array(4),
          2,
        ),
      /leading dimension of A is 2; expected >= 3/,
    );
  },
});

Deno.test({
  name:
    "`openBlas()` sgemv computes hand-worked matrix-vector products, both orientations, with beta and offsets",
  ignore,
  fn() {
    const lib = blas!;
    // A = [[1,2,3],[4,5,6]]: A·[1,1,1] = [6,15]; Aᵀ·[1,10] = [41,52,63].
    const a = Float32Array.of(1, 2, 3, 4, 5, 6);
    const y = new Float32Array(2);
    lib.sgemv(false, 2, 3, 1, a, 3, Float32Array.of(1, 1, 1), 0, y);
    assert.deepEqual([...y], [6, 15]);
    const yt = Float32Array.of(1, 1, 1);
    lib.sgemv(true, 2, 3, 2, a, 3, Float32Array.of(1, 10), 1, yt); // 2·Aᵀx + y
    assert.deepEqual([...yt], [83, 105, 127]);
    // A inside a wider buffer (stride 4, from element 2); y written at offset 1.
    const wide = Float32Array.of(9, 9, 1, 2, 3, 9, 4, 5, 6, 9);
    const out = new Float32Array(4);
    lib.sgemv(false, 2, 3, 1, wide.subarray(2), 4, Float32Array.of(1, 0, -1), 0, out.subarray(1));
    assert.deepEqual([...out], [0, -2, -2, 0]);
    // No columns: y = beta·y.
    const z = Float32Array.of(3, 4);
    lib.sgemv(false, 2, 0, 1, new Float32Array(0), 1, new Float32Array(0), 0.5, z);
    assert.deepEqual([...z], [1.5, 2]);
    assert.throws(
      () => lib.sgemv(false, 2, 3, 1, a, 3, new Float32Array(2), 0, y),
      /x needs a Float32Array of at least 3 values/,
    );
    assert.throws(
      () => lib.sgemv(true, 2, 3, 1, a, 3, new Float32Array(2), 0, y),
      /y needs a Float32Array of at least 3 values/,
    );
  },
});

Deno.test({
  name:
    "`wasm-blas`: tf.clone shares the data (no copy), and each reference outlives the other's dispose",
  ignore,
  async fn() {
    const before = tf.engine().backendName as string | null;
    const status = await enableBlasBackend("wasm-blas");
    assert.ok(status.ok, status.reason);
    try {
      const x = tf.tensor1d([1, 2, 3]);
      const dataIds = tf.engine().backend.numDataIds();
      const y = tf.clone(x);
      assert.equal(tf.engine().backend.numDataIds(), dataIds); // same data, one more reference
      x.dispose();
      assert.deepEqual([...y.dataSync()], [1, 2, 3]);
      const z = tf.clone(y);
      y.dispose();
      assert.deepEqual([...z.dataSync()], [1, 2, 3]);
      z.dispose();
      assert.equal(tf.engine().backend.numDataIds(), dataIds - 1);
    } finally {
      if (before) await tf.setBackend(before);
    }
  },
});

const canProbe = (["run", "write"] as const).every((name) =>
  Deno.permissions.querySync({ name }).state === "granted"
);
if (!canProbe) console.warn("WARNING tests/nn/blas_test.ts: probe test SKIPPED (needs -A)");

Deno.test({
  name: "`openBlas()` returns null with a reason without --allow-ffi or with a bad path",
  ignore: !canProbe,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const script = `${dir}/probe.ts`;
      const url = new URL("../../lib/nn/blas.ts", import.meta.url).href;
      await Deno.writeTextFile(
        script,
        `import { blasError, openBlas } from "${url}";\n` +
          `console.log(JSON.stringify({ ok: openBlas() !== null, reason: blasError() }));\n`,
      );
      const probe = async (flags: string[], env: Record<string, string> = {}) => {
        const { stdout, code } = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--no-config", "--no-prompt", "--allow-read", ...flags, script],
          cwd: dir,
          env,
          stderr: "null",
        }).output();
        assert.equal(code, 0);
        return JSON.parse(new TextDecoder().decode(stdout)) as { ok: boolean; reason: string };
      };
      const noFfi = await probe([]);
      assert.equal(noFfi.ok, false);
      assert.match(noFfi.reason, /ffi permission is not granted/);
      const badPath = await probe(["--allow-ffi", "--allow-env"], {
        ADQN_BLAS_PATH: `${dir}/missing-libblas.so`,
      });
      assert.equal(badPath.ok, false);
      assert.match(badPath.reason, /missing-libblas\.so/);
      assert.match(badPath.reason, /libopenblas0/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "`registerBlasBackend()` matMuls on wasm-blas, cpu-blas, wasm, cpu match a float64 reference",
  ignore,
  async fn() {
    for (const name of NATIVE) assert.equal(registerBlasBackend(name).ok, true);
    const rng = makeRng("blas-matmul");
    for (const c of CASES) {
      const av = randomArray(rng, c.a.reduce((p, d) => p * d, 1));
      const bv = randomArray(rng, c.b.reduce((p, d) => p * d, 1));
      const ref = reference(c, av, bv);
      const backends = ALL_BACKENDS.filter((x) => !c.wrongOn?.includes(x));
      for (const backend of backends) {
        const before = blasKernelStats();
        const got = await onBackend(backend, () =>
          tf.tidy(() => {
            const y = tf.matMul(tf.tensor(av, c.a), tf.tensor(bv, c.b), c.transA, c.transB);
            return { shape: y.shape, values: y.dataSync() };
          }));
        if (got === null) continue;
        const label = `${caseName(c)} on ${backend}`;
        assert.deepEqual(got.shape, ref.shape, `${label}: shape`);
        assertWithinBound(label, got.values, ref);
        const after = blasKernelStats();
        if (isNative(backend)) {
          assert.equal(after.fallbacks, before.fallbacks, `${label}: fell back to tfjs`);
          if (ref.values.length > 0 && ref.k > 0) assert.ok(after.sgemmCalls > before.sgemmCalls);
        } else {
          assert.equal(after.sgemmCalls, before.sgemmCalls, `${label}: ${backend} used BLAS`);
        }
      }
    }
    assert.equal(tf.memory().numTensors, 0);
  },
});

Deno.test({
  name: "`registerBlasBackend()` fused matMul applies bias and activations like the reference",
  ignore,
  async fn() {
    for (const name of NATIVE) assert.equal(registerBlasBackend(name).ok, true);
    const rng = makeRng("blas-fused");
    const M = 6, K = 9, N = 5;
    type Act = "linear" | "relu" | "relu6" | "elu" | "sigmoid" | "leakyrelu" | "prelu";
    const acts: Record<Act, (x: number, j: number, alpha: Float32Array) => number> = {
      linear: (x) => x,
      relu: (x) => Math.max(x, 0),
      relu6: (x) => Math.min(Math.max(x, 0), 6),
      elu: (x) => x >= 0 ? x : Math.exp(x) - 1,
      sigmoid: (x) => 1 / (1 + Math.exp(-x)),
      leakyrelu: (x) => x >= 0 ? x : 0.1 * x,
      prelu: (x, j, alpha) => x >= 0 ? x : alpha[j] * x,
    };
    const biasShapes: (number[] | null)[] = [null, [N], [1, N], [], [M, N], [M, 1]];
    let checked = 0;
    for (const [act, f] of Object.entries(acts) as [Act, typeof acts[Act]][]) {
      for (const biasShape of biasShapes) {
        for (const transB of [false, true]) {
          const av = randomArray(rng, M * K), bv = randomArray(rng, K * N);
          const biasV = randomArray(rng, biasShape === null ? 0 : Math.max(1, M * N));
          const biasSize = biasShape === null ? 0 : biasShape.reduce((p, d) => p * d, 1);
          const alpha = randomArray(rng, N);
          const c: Case = { a: [M, K], b: transB ? [N, K] : [K, N], transB };
          const ref = reference(c, av, bv);
          // Bias broadcast by hand: [N] and [1,N] per column, [M,1] per row, [] everywhere.
          const biasAt = (i: number, j: number) =>
            biasShape === null
              ? 0
              : biasShape.length === 0
              ? biasV[0]
              : biasShape[0] === M && biasShape[1] === 1
              ? biasV[i]
              : biasSize === N
              ? biasV[j]
              : biasV[i * N + j];
          const expected = new Float64Array(M * N);
          const slack = new Float64Array(M * N);
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < N; j++) {
              const pre = ref.values[i * N + j] + biasAt(i, j);
              expected[i * N + j] = f(pre, j, alpha);
              slack[i * N + j] = ref.absSum[i * N + j] + Math.abs(biasAt(i, j));
            }
          }
          // (plain wasm supports only rank-1 biases in fused products: not compared here)
          for (const backend of [...NATIVE, "cpu"]) {
            const got = await onBackend(backend, () =>
              tf.tidy(() =>
                tf.fused.matMul({
                  a: tf.tensor(av, c.a),
                  b: tf.tensor(bv, c.b),
                  transposeB: transB,
                  bias: biasShape === null
                    ? undefined
                    : tf.tensor(biasV.subarray(0, biasSize), biasShape),
                  activation: act,
                  preluActivationWeights: act === "prelu" ? tf.tensor1d(alpha) : undefined,
                  leakyreluAlpha: 0.1,
                }).dataSync()
              ));
            if (got === null) continue;
            const label = `${act}, bias ${JSON.stringify(biasShape)}, transB ${transB}, ${backend}`;
            // Activations have slopes ≤ 1 here, so the pre-activation bound (K+1 terms with the
            // bias) carries over; add 2⁻²² relative for rounding the activation itself.
            const tol = slack.map((s, i) => (K + 1) * EPS * s + 2 ** -22 * Math.abs(expected[i]));
            assertWithinBound(label, got, {
              values: expected,
              absSum: tol.map((t) => t / ((K + 1) * EPS)),
              k: K + 1,
            });
            checked++;
          }
        }
      }
    }
    assert.ok(checked >= 7 * 6 * 2 * 2);
    assert.equal(tf.memory().numTensors, 0);
  },
});

Deno.test({
  name:
    "`enableBlasBackend()` backends give the gradients of wasm and cpu on a dense + matMul graph",
  ignore,
  async fn() {
    const rng = makeRng("blas-grad");
    const x = randomArray(rng, 6 * 5), w1 = randomArray(rng, 5 * 4), b1 = randomArray(rng, 4);
    const v = randomArray(rng, 2 * 3 * 4), w2 = randomArray(rng, 4 * 3);
    const gradsOn = async (backend: string) => {
      if (isNative(backend)) {
        const status = await enableBlasBackend(backend as BlasBackendName);
        assert.equal(status.ok, true, status.reason);
        assert.equal(tf.getBackend(), backend);
      }
      return await onBackend(backend, () =>
        tf.tidy(() => {
          const xs = tf.tensor2d(x, [6, 5]);
          const loss = (W1: tf.Tensor, B1: tf.Tensor, V: tf.Tensor, W2: tf.Tensor) => {
            // Dense layer with bias (fused kernel; linear so it stays fused under the tape).
            const h = tf.relu(tf.fused.matMul({ a: xs, b: W1, bias: B1 })) as tf.Tensor2D;
            const h3 = tf.reshape(h, [2, 3, 4]);
            const y = tf.matMul(h3, V, false, true); // [2,3,3], batched with transposeB
            const z = tf.matMul(W2, h, true, true); // W2ᵀ·hᵀ: [3,6], both transposed
            return tf.add(tf.sum(tf.mul(y, y)), tf.sum(tf.tanh(z))) as tf.Scalar;
          };
          const g = tf.grads(loss)([
            tf.tensor2d(w1, [5, 4]),
            tf.tensor1d(b1),
            tf.tensor3d(v, [2, 3, 4]),
            tf.tensor2d(w2, [4, 3]),
          ]);
          return g.map((t) => Array.from(t.dataSync()));
        }));
    };
    const others: [string, number[][]][] = [];
    for (const backend of ["wasm", "cpu"]) {
      const g = await gradsOn(backend);
      if (g !== null) others.push([backend, g]);
    }
    assert.ok(others.length >= 1, "no second backend to compare with");
    for (const name of NATIVE) {
      const before = blasKernelStats();
      const native = (await gradsOn(name))!;
      const after = blasKernelStats();
      assert.ok(after.sgemmCalls - before.sgemmCalls >= 6, `${name}: products must use BLAS`);
      assert.equal(after.fallbacks, before.fallbacks);
      assert.deepEqual(await gradsOn(name), native, `${name}: a rerun must give identical bits`);
      for (const [backend, other] of others) {
        for (let p = 0; p < native.length; p++) {
          const scale = Math.max(1, ...other[p].map(Math.abs));
          for (let i = 0; i < native[p].length; i++) {
            const err = Math.abs(native[p][i] - other[p][i]);
            assert.ok(
              err <= 1e-5 * scale,
              `gradient ${p}[${i}]: ${name} ${native[p][i]} vs ${backend} ${other[p][i]}`,
            );
          }
        }
      }
    }
    assert.equal(tf.memory().numTensors, 0);
  },
});

Deno.test({
  name: "`enableBlasBackend()` leaves wasm and cpu untouched and hands int32 products to cpu",
  ignore,
  async fn() {
    assert.equal((await enableBlasBackend("cpu-blas")).ok, true);
    assert.equal((await enableBlasBackend("cpu-blas")).ok, true); // idempotent
    assert.equal(tf.getBackend(), "cpu-blas");
    assert.equal(isBlasBackend(), true);
    assert.equal(isBlasBackend("wasm-blas"), true);
    assert.equal(isBlasBackend("wasm"), false);
    const before = blasKernelStats();
    const ints = tf.tidy(() =>
      Array.from(
        tf.matMul(
          tf.tensor2d([1, 2, 3, 4], [2, 2], "int32"),
          tf.tensor2d([5, 6, 7, 8], [2, 2], "int32"),
        )
          .dataSync(),
      )
    );
    assert.deepEqual(ints, [19, 22, 43, 50]);
    assert.equal(blasKernelStats().fallbacks, before.fallbacks + 1);
    await tf.setBackend("cpu");
    const mid = blasKernelStats();
    const floats = tf.tidy(() =>
      Array.from(
        tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])).dataSync(),
      )
    );
    assert.deepEqual(floats, [19, 22, 43, 50]);
    assert.deepEqual(blasKernelStats(), mid, "the plain cpu backend must not call BLAS");
    assert.equal(await tf.setBackend("wasm"), true);
    const onWasm = tf.tidy(() =>
      Array.from(
        tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])).dataSync(),
      )
    );
    assert.deepEqual(onWasm, [19, 22, 43, 50]);
    assert.deepEqual(blasKernelStats(), mid, "the plain wasm backend must not call BLAS");
    assert.deepEqual(
      await enableBlasBackend("no-such" as BlasBackendName).catch((e) => e.message),
      'registerBlasBackend: unknown backend "no-such"; expected wasm-blas or cpu-blas',
    );
    assert.equal(tf.memory().numTensors, 0);
  },
});

Deno.test("`blasLibraryCandidates()` covers Debian/Ubuntu, Fedora, Homebrew and Accelerate, loader names first", () => {
  // Only Linux can be run here: the other rows are checked as a table against the distributions'
  // documented install paths.
  const x86 = blasLibraryCandidates("linux", "x86_64");
  assert.equal(x86[0], "libopenblas.so.0"); // the dynamic loader's search comes first
  for (
    const path of [
      "/usr/lib/x86_64-linux-gnu/libopenblas.so.0", // Debian/Ubuntu libopenblas0
      "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
      "/usr/lib64/libopenblas.so.0", // Fedora openblas
      "/usr/lib64/libopenblasp.so.0",
      "/home/linuxbrew/.linuxbrew/opt/openblas/lib/libopenblas.so", // Homebrew on Linux
    ]
  ) assert.ok(x86.includes(path), `linux x86_64 lacks ${path}`);
  const arm = blasLibraryCandidates("linux", "aarch64");
  assert.ok(arm.includes("/usr/lib/aarch64-linux-gnu/libopenblas.so.0"));
  assert.ok(!arm.some((p) => p.includes("x86_64")), "no x86_64 paths on aarch64");
  const mac = blasLibraryCandidates("darwin", "aarch64");
  assert.deepEqual(mac, [
    "libopenblas.dylib",
    "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
    "/usr/local/opt/openblas/lib/libopenblas.dylib",
    "/System/Library/Frameworks/Accelerate.framework/Versions/A/Accelerate",
  ]);
  assert.equal(mac.at(-1), ACCELERATE_PATH); // OpenBLAS preferred, Accelerate as the fallback
  assert.deepEqual(blasLibraryCandidates("windows", "x86_64"), ["libopenblas.dll", "openblas.dll"]);
  for (const list of [x86, arm, mac]) assert.equal(new Set(list).size, list.length, "duplicates");
  assert.deepEqual(BLAS_LIBRARY_CANDIDATES, blasLibraryCandidates(Deno.build.os, Deno.build.arch));
});

Deno.test({
  name: "openBlas: kernels names the OpenBLAS kernels in use (OPENBLAS_CORETYPE's, when it is set)",
  ignore,
}, () => {
  const forced = Deno.env.get("OPENBLAS_CORETYPE");
  if (blas!.path.includes("openblas")) assert.match(blas!.kernels, /^[A-Za-z0-9_]+$/);
  if (forced) assert.equal(blas!.kernels.toLowerCase(), forced.toLowerCase());
});
