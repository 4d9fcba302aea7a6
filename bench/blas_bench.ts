/**
 * Matrix products and a GRU-like recurrent loop on the tfjs backends `wasm`, `cpu`, and their
 * native-product versions `wasm-blas` and `cpu-blas` (OpenBLAS through Deno FFI,
 * lib/nn/fast_backend.ts), all in one process.
 *
 *   deno bench -A bench/blas_bench.ts            # Deno's bench runner (times per iteration)
 *   deno run -A bench/blas_bench.ts [--quick]    # a table in GFLOP/s and ms, for reports
 *
 * Products are [M,K]×[K,N] on tensors created on the measured backend (no data moves). The
 * recurrent workload is T = 100 steps of h·W_h ([B,128]×[128,384]) plus the GRU gate arithmetic
 * written as ordinary tfjs ops (split, add, sigmoid, tanh, mul, sub, sum: ~16 ops per step), forward
 * only ("fwd") and forward + backward through tfjs autodiff ("fwd+bwd", gradients of W_h and b_h).
 * Without the native library (or --allow-ffi) the *-blas cases are skipped with a warning.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { parseArgs } from "node:util";
import { blasError, openBlas } from "../lib/nn/blas.ts";
import {
  BLAS_BACKENDS,
  type BlasBackendName,
  registerBlasBackend,
} from "../lib/nn/fast_backend.ts";
import { makeRng } from "../lib/rng.ts";

tf.enableProdMode();

/** Product shapes [M, K, N]. */
const SHAPES: [number, number, number][] = [
  [3200, 192, 512],
  [512, 512, 512],
  [32, 128, 384],
  [1, 128, 384],
];
const T = 100, H = 128, H3 = 3 * H;

const NATIVE = Object.keys(BLAS_BACKENDS) as BlasBackendName[];
const blasStatus = NATIVE.map((name) => registerBlasBackend(name))[0];
if (!blasStatus.ok) {
  console.warn(`WARNING bench/blas_bench.ts: wasm-blas and cpu-blas SKIPPED: ${blasStatus.reason}`);
}
const BACKENDS = ["wasm", "cpu", ...(blasStatus.ok ? NATIVE : [])];

async function use(backend: string): Promise<void> {
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) {
    throw new Error(`bench: backend ${backend} failed to start`);
  }
}

const rng = makeRng("blas-bench");
function randomTensor(shape: number[], scale = 1): tf.Tensor {
  const size = shape.reduce((p, d) => p * d, 1);
  const v = new Float32Array(size);
  for (let i = 0; i < size; i++) v[i] = scale * (2 * rng() - 1);
  return tf.tensor(v, shape);
}

/** Operands of one product, created on the current backend. */
function productInputs([m, k, n]: [number, number, number]): { a: tf.Tensor; b: tf.Tensor } {
  return { a: randomTensor([m, k]), b: randomTensor([k, n]) };
}

/** GRU-like weights and per-step input projections (already split by gate). */
interface GruInputs {
  wh: tf.Tensor2D;
  bh: tf.Tensor1D;
  xs: tf.Tensor2D[][];
}

function gruInputs(batch: number): GruInputs {
  const xs: tf.Tensor2D[][] = [];
  for (let t = 0; t < T; t++) {
    xs.push(tf.split(randomTensor([batch, H3]) as tf.Tensor2D, 3, 1));
  }
  return {
    wh: randomTensor([H, H3], 1 / Math.sqrt(H)) as tf.Tensor2D,
    bh: randomTensor([H3], 0.1) as tf.Tensor1D,
    xs,
  };
}

/** T GRU steps from h = 0 with plain tfjs ops; returns Σ of all hidden states. */
function gruLoss(wh: tf.Tensor2D, bh: tf.Tensor1D, xs: tf.Tensor2D[][]): tf.Scalar {
  const batch = xs[0][0].shape[0];
  let h: tf.Tensor2D = tf.zeros([batch, H]);
  let total: tf.Scalar = tf.scalar(0);
  for (let t = 0; t < T; t++) {
    const [xr, xz, xn] = xs[t];
    const gh = tf.add(tf.matMul(h, wh), bh);
    const [ghr, ghz, ghn] = tf.split(gh, 3, 1);
    const r = tf.sigmoid(tf.add(xr, ghr));
    const z = tf.sigmoid(tf.add(xz, ghz));
    const n = tf.tanh(tf.add(xn, tf.mul(r, ghn)));
    h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
    total = tf.add(total, tf.sum(h));
  }
  return total;
}

function gruForward(g: GruInputs): void {
  tf.tidy(() => gruLoss(g.wh, g.bh, g.xs).dataSync());
}

function gruForwardBackward(g: GruInputs): void {
  tf.tidy(() => {
    const grads = tf.grads((wh, bh) => gruLoss(wh as tf.Tensor2D, bh as tf.Tensor1D, g.xs))([
      g.wh,
      g.bh,
    ]);
    grads[0].dataSync();
  });
}

function disposeGru(g: GruInputs): void {
  tf.dispose([g.wh, g.bh, ...g.xs.flat()]);
}

// ---------------------------------------------------------------------------------------------
// `deno bench`: one group per workload, wasm as the baseline.

for (const shape of SHAPES) {
  const [m, k, n] = shape;
  const big = m * k * n > 1e7;
  for (const backend of BACKENDS) {
    let inputs: { a: tf.Tensor; b: tf.Tensor } | null = null;
    Deno.bench({
      name: `matMul ${m}×${k}×${n} ${backend}`,
      group: `matMul ${m}×${k}×${n}`,
      baseline: backend === "wasm",
      // The pure-JS cpu products take seconds at these sizes: keep the count small.
      ...(big && backend === "cpu" ? { n: 2, warmup: 1 } : {}),
      async fn(b) {
        await use(backend);
        inputs ??= productInputs(shape);
        b.start();
        tf.matMul(inputs.a, inputs.b).dispose();
        b.end();
      },
    });
  }
}

for (const batch of [1, 32]) {
  for (const pass of ["fwd", "fwd+bwd"] as const) {
    for (const backend of BACKENDS) {
      let g: GruInputs | null = null;
      Deno.bench({
        name: `GRU loop T=${T} B=${batch} ${pass} ${backend}`,
        group: `GRU loop B=${batch} ${pass}`,
        baseline: backend === "wasm",
        n: 5,
        warmup: 1,
        async fn(b) {
          await use(backend);
          g ??= gruInputs(batch);
          b.start();
          if (pass === "fwd") gruForward(g);
          else gruForwardBackward(g);
          b.end();
        },
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// `deno run`: a table.

/** Seconds per call of a workload. */
interface Timing {
  /** Fastest run: the best estimate on a machine shared with other work. */
  best: number;
  /** Median run. */
  median: number;
}

/** A workload measured on one backend (or on none, for the raw FFI call). */
interface Contender {
  /** tfjs backend to switch to before running, or null. */
  backend: string | null;
  /** One call of the workload. */
  run: () => void;
  /** Minimum calls per round. */
  minRuns: number;
}

/**
 * Time contenders in interleaved rounds (A B C A B C ...), each round at least `minRuns` calls
 * and `seconds / rounds` seconds per contender, after one warm-up call: load changes on a shared
 * machine then hit all contenders alike.
 */
async function timeInterleaved(
  contenders: Contender[],
  rounds: number,
  seconds: number,
): Promise<Timing[]> {
  const samples = contenders.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const { backend, run, minRuns } = contenders[i];
      if (backend !== null) await use(backend);
      if (round === 0) run(); // warm-up
      const start = performance.now();
      let runs = 0;
      while (runs < minRuns || performance.now() - start < (seconds / rounds) * 1000) {
        const t0 = performance.now();
        run();
        samples[i].push((performance.now() - t0) / 1000);
        runs++;
      }
    }
  }
  return samples.map((s) => {
    s.sort((x, y) => x - y);
    return { best: s[0], median: s[Math.floor(s.length / 2)] };
  });
}

async function table(quick: boolean): Promise<void> {
  const seconds = quick ? 0.3 : 1.5, rounds = quick ? 2 : 4;
  const blas = openBlas();
  console.log(
    `native BLAS: ${blasStatus.ok ? blasStatus.library : `none (${blasError()})`}, ` +
      `threads ${blas?.threads() ?? "-"}; tfjs ${tf.version.tfjs}; Deno ${Deno.version.deno}; ` +
      `${rounds} interleaved rounds per row\n`,
  );
  const cols = [...BACKENDS, ...(blas !== null ? ["raw sgemm"] : [])];
  console.log("GFLOP/s of the fastest run (of the median run), time of the fastest run\n");
  console.log(`| product M×K×N | ${cols.join(" | ")} |`);
  console.log(`|---|${cols.map(() => "---:").join("|")}|`);
  for (const shape of SHAPES) {
    const [m, k, n] = shape;
    const flops = 2 * m * k * n;
    const slowCpu = m * k * n > 1e7;
    const backends = BACKENDS.filter((b) => !(quick && b === "cpu" && slowCpu));
    const contenders: Contender[] = [];
    const owned: tf.Tensor[] = [];
    for (const backend of backends) {
      await use(backend);
      const { a, b } = productInputs(shape);
      owned.push(a, b);
      contenders.push({
        backend,
        run: () => tf.matMul(a, b).dispose(),
        minRuns: backend === "cpu" ? (slowCpu ? 1 : 2) : 5,
      });
    }
    if (blas !== null) {
      // The FFI call alone, on preallocated arrays: the ceiling for the *-blas kernels.
      const a = new Float32Array(m * k).fill(0.5), b = new Float32Array(k * n).fill(0.25);
      const c = new Float32Array(m * n);
      contenders.push({
        backend: null,
        run: () => blas.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n),
        minRuns: 5,
      });
    }
    const timings = await timeInterleaved(contenders, rounds, seconds);
    const cells = cols.map((col) => {
      const i = col === "raw sgemm" ? contenders.length - 1 : backends.indexOf(col);
      return i < 0 ? "-" : gflops(flops, timings[i]);
    });
    console.log(`| ${m}×${k}×${n} | ${cells.join(" | ")} |`);
    tf.dispose(owned);
  }
  console.log(`\nms per call, fastest run (median run)\n`);
  console.log(`| GRU-like loop, T=${T}, H=${H} | ${BACKENDS.join(" | ")} |`);
  console.log(`|---|${BACKENDS.map(() => "---:").join("|")}|`);
  for (const batch of [1, 32]) {
    for (const pass of ["fwd", "fwd+bwd"] as const) {
      const contenders: Contender[] = [];
      const inputs: GruInputs[] = [];
      for (const backend of BACKENDS) {
        await use(backend);
        const g = gruInputs(batch);
        inputs.push(g);
        const run = pass === "fwd" ? () => gruForward(g) : () => gruForwardBackward(g);
        contenders.push({ backend, run, minRuns: 2 });
      }
      const timings = await timeInterleaved(contenders, rounds, seconds);
      const cells = timings.map((t) =>
        `${(t.best * 1000).toFixed(1)} (${(t.median * 1000).toFixed(1)})`
      );
      console.log(`| B=${batch} ${pass} | ${cells.join(" | ")} |`);
      inputs.forEach(disposeGru);
    }
  }
}

function gflops(flops: number, s: Timing): string {
  const rate = (t: number) => (flops / t / 1e9).toFixed(1);
  return `${rate(s.best)} (${rate(s.median)}), ${fmtTime(s.best)}`;
}

function fmtTime(s: number): string {
  return s >= 1e-3 ? `${(s * 1e3).toFixed(2)} ms` : `${(s * 1e6).toFixed(1)} µs`;
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { quick: { type: "boolean" } } });
  await table(values.quick ?? false);
}
