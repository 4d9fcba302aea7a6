/**
 * K copies of the recurrent Q/U network of ./network.ts, one per independent training run, computed
 * together: every parameter is stacked on a leading run axis ([K, ...shape]), and a forward pass
 * takes the rows of all runs' sequences as one ragged tensor whose row groups belong to the runs
 * (lib/nn/grouped_ops.ts). Runs may have different sequence lengths and an empty group (a run that takes
 * no step); there is no padding between runs.
 *
 * Within its group, a run's rows are laid out exactly as the single-run network lays out its batch
 * (time-major, row t·B + b), and each computation is the single-run one: the same products per run
 * (on the BLAS backends the same `sgemm` calls), the same GRU arithmetic (lib/nn/gru_host.ts's
 * loops, driven run by run), the same elementwise ops. Acting ({@link BatchedNetwork.actMany})
 * steps any subset of the runs in one call, on host copies of the weights.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Blas, openBlas } from "../nn/blas.ts";
import { isBlasBackend, reluInPlace } from "../nn/fast_backend.ts";
import { hostMatMul } from "../nn/gru.ts";
import {
  gruBackwardHost,
  gruForwardHost,
  type GruTrace,
  newGruTrace,
  type RowProduct,
  subGruTrace,
} from "../nn/gru_host.ts";
import { scoped } from "../nn/scope.ts";
import { makeRng, type Seed } from "../rng.ts";
import type { FeatureEncoder } from "./encoders.ts";
import {
  gemmFor,
  groupedDense,
  groupedOuter,
  jsGemm,
  type RowGroups,
  rowGroups,
  scaleGroups,
} from "../nn/grouped_ops.ts";
import { readRun } from "../nn/batched_adam.ts";
import type { ActCache, NetworkLayout, PreparedSequence, Weights } from "./layout.ts";

/** Stacked weights of K runs: each parameter as a variable of shape [K, ...shape]. */
export type StackedWeights = Record<string, tf.Variable>;

/** Host-side ragged inputs of K runs: each run's prepared rows, or null for an empty group. */
export interface GroupedInputs {
  /** Rows of each run's group (steps·batch), as offsets. */
  groups: RowGroups;
  /** Sequence length of each run (0 for an empty group). */
  steps: number[];
  /** Sequences per run (the same for every run). */
  batch: number;
  /** Action encoder inputs [Σ rows·mult, width]. */
  action: tf.Tensor2D[];
  /** Observation encoder inputs. */
  obs: tf.Tensor2D[];
  /** State encoder inputs (null without a U head). */
  state: tf.Tensor2D[] | null;
}

/** Outputs of {@link BatchedNetwork.forward}, all ragged [R, ·] with R = Σ rows. */
export interface GroupedOutputs {
  /** GRU history features [R, H]. */
  hist: tf.Tensor2D;
  /** Q(h_t, ·) [R, |A|]. */
  q: tf.Tensor2D;
  /** U [R, |A|] (when requested and the network has one). */
  u?: tf.Tensor2D;
}

/** One acting request of {@link BatchedNetwork.actMany}. */
export interface ActRequest {
  /** Run index 0..K-1. */
  run: number;
  /** Recurrent state before the step (not modified). */
  hidden: Float32Array;
  /** Previous action, -1 for none. */
  prevAction: number;
  /** Encoded observation. */
  obs: Float32Array;
  /** Compute Q (default true); false only advances the recurrent state (q is then empty). */
  q?: boolean;
}

interface Segment {
  kind: "identity" | "onehot" | "categorical";
  /** Embedding table name (not for identity). */
  param?: string;
  /** Rows of input per sequence row (the categorical code count; else 1). */
  mult: number;
  /** Embedding width (categorical). */
  dim: number;
}

/** Read an encoder's segment structure from its public description (see ./encoders.ts). */
function segmentsOf(enc: FeatureEncoder): Segment[] {
  const n = enc.numInputs, p = enc.params.length;
  if (n - p !== 0 && n - p !== 1) {
    throw new Error(`batched network: ${enc.name} encoder has ${n} inputs but ${p} tables`);
  }
  const offset = n - p;
  const out: Segment[] = [];
  for (let i = 0; i < n; i++) {
    if (i < offset) {
      out.push({ kind: "identity", mult: 1, dim: 0 });
      continue;
    }
    const param = enc.params[i - offset];
    const categorical = param.name.endsWith(".categorical");
    out.push({
      kind: categorical ? "categorical" : "onehot",
      param: param.name,
      mult: categorical ? enc.inputShape(i, 1)[0] : 1,
      dim: param.shape[1],
    });
  }
  return out;
}

/** Host copies of one run's weights for acting. */
interface RunActCache {
  fold: ActCache;
  wh: Float32Array;
  head: { w: Float32Array; b: Float32Array; inSize: number; outSize: number }[];
}

/**
 * The batched network of K runs over one {@link NetworkLayout} (see the module doc).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { NetworkLayout } from "./layout.ts";
 * import { resolveModelConfig } from "./presets.ts";
 * import { BatchedNetwork } from "./batched_network.ts";
 * await tf.setBackend("cpu");
 * const spec = { size: 3, parts: [{ kind: "onehot" as const, size: 3 }] };
 * const layout = new NetworkLayout({ numActions: 2, obsSpec: spec, stateSpec: spec }, "none",
 *   resolveModelConfig("heaven-hell-3", { gruHidden: 4, headHidden: [8] }));
 * const net = new BatchedNetwork(layout, 2);
 * const W = net.initWeights([0, 1], true);
 * console.log(W["gru.wh"].shape); // [2, 4, 12]
 * Object.values(W).forEach((v) => v.dispose());
 * ```
 */
export class BatchedNetwork {
  /** The single-run structure shared by every run. */
  readonly layout: NetworkLayout;
  /** Number of runs K. */
  readonly size: number;
  readonly #segments: { action: Segment[]; obs: Segment[]; state: Segment[] | null };

  /** K runs of `layout`. */
  constructor(layout: NetworkLayout, size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`batched network: invalid number of runs ${size}; expected an integer ≥ 1`);
    }
    this.layout = layout;
    this.size = size;
    this.#segments = {
      action: segmentsOf(layout.action),
      obs: segmentsOf(layout.obs),
      state: layout.state === null ? null : segmentsOf(layout.state),
    };
  }

  /**
   * Fresh weights: run k's are exactly `layout.initWeights(makeRng(seeds[k]))`, the single-run
   * agent's initialisation for that seed.
   */
  initWeights(seeds: readonly Seed[], trainable: boolean): StackedWeights {
    if (seeds.length !== this.size) {
      throw new Error(`batched network: ${seeds.length} seeds for ${this.size} runs`);
    }
    const data: Record<string, Float32Array> = {};
    for (const p of this.layout.params) {
      data[p.name] = new Float32Array(this.size * sizeOf(p.shape));
    }
    seeds.forEach((seed, k) => {
      const W = this.layout.initWeights(makeRng(seed), false);
      for (const p of this.layout.params) {
        const n = sizeOf(p.shape);
        data[p.name].set(W[p.name].dataSync() as Float32Array, k * n);
        W[p.name].dispose();
      }
    });
    const out: StackedWeights = {};
    for (const p of this.layout.params) {
      const t = tf.tensor(data[p.name], [this.size, ...p.shape]);
      out[p.name] = tf.variable(t, trainable);
      t.dispose();
    }
    return out;
  }

  /** New variables holding copies of `src`. */
  copyWeights(src: StackedWeights, trainable: boolean): StackedWeights {
    const out: StackedWeights = {};
    for (const p of this.layout.params) out[p.name] = tf.variable(src[p.name], trainable);
    return out;
  }

  /**
   * Upload ragged inputs: `preps[k]` holds run k's prepared rows (of which the first `rows[k]` are
   * used), or null for an empty group; `steps[k]·batch` must equal `rows[k]`.
   */
  toTensors(
    preps: readonly (PreparedSequence | null)[],
    steps: readonly number[],
    batch: number,
  ): GroupedInputs {
    if (preps.length !== this.size || steps.length !== this.size) {
      throw new Error(`batched network: inputs for ${preps.length} runs, expected ${this.size}`);
    }
    const rows = steps.map((s, k) => (preps[k] === null ? 0 : s * batch));
    preps.forEach((p, k) => {
      if (p !== null && p.rows < rows[k]) {
        throw new Error(`batched network: run ${k} has ${p.rows} rows prepared, needs ${rows[k]}`);
      }
    });
    const offsets = [0];
    for (const r of rows) offsets.push(offsets[offsets.length - 1] + r);
    const total = offsets[this.size];
    const up = (enc: FeatureEncoder, pick: (p: PreparedSequence) => Float32Array[]) => {
      const out: tf.Tensor2D[] = [];
      for (let i = 0; i < enc.numInputs; i++) {
        const [, width] = enc.inputShape(i, 1);
        const mult = enc.inputShape(i, 1)[0];
        const data = new Float32Array(total * mult * width);
        let o = 0;
        preps.forEach((p, k) => {
          if (p === null || rows[k] === 0) return;
          const n = rows[k] * mult * width;
          data.set(pick(p)[i].subarray(0, n), o);
          o += n;
        });
        out.push(tf.tensor2d(data, [total * mult, width]));
      }
      return out;
    };
    const L = this.layout;
    return {
      groups: { offsets },
      steps: steps.map((s, k) => (preps[k] === null ? 0 : s)),
      batch,
      action: up(L.action, (p) => p.action),
      obs: up(L.obs, (p) => p.obs),
      state: L.state === null ? null : up(L.state, (p) => {
        if (p.state === null) throw new Error("batched network: states are required with U");
        return p.state;
      }),
    };
  }

  /** Free the tensors of {@link BatchedNetwork.toTensors}. */
  disposeInputs(x: GroupedInputs): void {
    for (const t of [...x.action, ...x.obs, ...(x.state ?? [])]) t.dispose();
  }

  /**
   * Run the K networks over their groups from a zero state.
   *
   * @param options.grad Record gradients through the GRU (false for target networks).
   * @param options.u Also compute U (when the network has one).
   */
  forward(
    W: StackedWeights,
    x: GroupedInputs,
    options: { grad: boolean; u: boolean },
  ): GroupedOutputs {
    const L = this.layout;
    const hist = this.history(W, x, options.grad);
    const depth = L.config.headHidden.length;
    const q = mlp(W, "q", hist, depth, x.groups, true);
    const out: GroupedOutputs = { hist, q };
    if (options.u && L.state !== null && this.#segments.state !== null) {
      if (x.state === null) throw new Error("batched network: U needs state inputs");
      const phiS = encode(this.#segments.state, x.state, W, x.groups);
      const uIn = L.uKind === "history" ? tf.concat([hist, phiS], 1) : phiS;
      const dataOnly = L.uKind === "state" && L.state.params.length === 0;
      out.u = mlp(W, "u", uIn, depth, x.groups, !dataOnly);
    }
    return out;
  }

  /** The GRU history features [R, H]. */
  history(W: StackedWeights, x: GroupedInputs, grad: boolean): tf.Tensor2D {
    const L = this.layout;
    const input = tf.concat([
      encode(this.#segments.action, x.action, W, x.groups),
      encode(this.#segments.obs, x.obs, W, x.groups),
    ], 1);
    const embedded = L.action.params.length + L.obs.params.length > 0;
    const gi = groupedDense(
      input,
      W["gru.wi"] as tf.Tensor3D,
      W["gru.bi"] as tf.Tensor2D,
      x.groups,
      { inputGrad: embedded },
    );
    const wh = W["gru.wh"] as tf.Tensor3D, bh = W["gru.bh"] as tf.Tensor2D;
    return grad
      ? groupedGruRecurrence(gi, wh, bh, x.steps, x.batch, x.groups)
      : groupedGruNoGrad(gi, wh, bh, x.steps, x.batch);
  }

  /**
   * Host copies of the weights run `k` acts with (the single-run `actCache` plus the recurrent and
   * Q-head weights), read from the stacked variables.
   */
  actCache(W: StackedWeights, k: number): RunActCache {
    const L = this.layout;
    const names = [
      ...L.action.params.map((p) => p.name),
      ...L.obs.params.map((p) => p.name),
      "gru.wi",
      "gru.bi",
      "gru.bh",
    ];
    const fold = scoped(() => {
      const Wk: Weights = {};
      for (const name of names) {
        const t = tf.tensor(readRun(W[name], k), W[name].shape.slice(1));
        Wk[name] = t as unknown as tf.Variable;
      }
      return L.actCache(Wk);
    });
    const depth = L.config.headHidden.length;
    const head: RunActCache["head"] = [];
    for (let i = 0; i <= depth; i++) {
      const w = W[`q.${i}.w`];
      head.push({
        w: readRun(w, k),
        b: readRun(W[`q.${i}.b`], k),
        inSize: w.shape[1]!,
        outSize: w.shape[2]!,
      });
    }
    return { fold, wh: readRun(W["gru.wh"], k), head };
  }

  /**
   * One acting step for each request (any subset of runs, each at most once or more): the
   * single-run `NetworkLayout.act` computation, run by run, on host copies of the weights
   * (`caches[run]` from {@link BatchedNetwork.actCache}). Each one-row product is one `sgemv` call
   * on the BLAS backends, a JavaScript loop elsewhere.
   */
  actMany(
    caches: readonly (RunActCache | undefined)[],
    requests: readonly ActRequest[],
  ): { q: Float32Array; hidden: Float32Array }[] {
    const L = this.layout;
    const A = L.numActions, H = L.hidden, K3 = 3 * H;
    // One-row products y ← wᵀ·x + beta·y (w [inSize, outSize] row-major). On the BLAS backends
    // `sgemv`: `sgemm` with m = 1 pays blocking overhead that dominates at one row on OpenBLAS's
    // Haswell/Zen kernels (53 against 9 µs per step on the Heaven-Hell-3 model). Elsewhere a
    // JavaScript loop: a tfjs product would copy the host weights in every step (about 6× slower).
    const blas = isBlasBackend(tf.engine().backendName) ? openBlas() : null;
    const rowTimes: RowTimes = blas !== null
      ? (x, w, inSize, outSize, beta, y) =>
        blas.sgemv(true, inSize, outSize, 1, w, outSize, x, beta, y)
      : (x, w, inSize, outSize, beta, y) =>
        jsGemm(false, false, 1, outSize, inSize, 1, x, inSize, w, outSize, beta, y, outSize);
    // Scratch reused across steps: a typed array over 64 bytes has its own backing store, and
    // allocating one costs about 1.5 µs, as much as the recurrent product itself.
    const scratch = this.#actScratch ??= {
      gi: new Float64Array(K3),
      gi32: new Float32Array(K3),
      gh: new Float32Array(K3),
      head: [...L.config.headHidden, A].map((n) => new Float32Array(n)),
    };
    return requests.map((req) => {
      const cache = caches[req.run];
      if (cache === undefined) throw new Error(`act: no weights cached for run ${req.run}`);
      if (!Number.isInteger(req.prevAction) || req.prevAction < -1 || req.prevAction >= A) {
        throw new Error(`act: invalid previous action ${req.prevAction}; expected -1..${A - 1}`);
      }
      if (req.hidden.length !== H) {
        throw new Error(`act: hidden has ${req.hidden.length} values, expected ${H}`);
      }
      const aRaw = new Float32Array(A);
      if (req.prevAction >= 0) aRaw[req.prevAction] = 1;
      const gi = scratch.gi;
      gi.set(cache.fold.bi);
      const M = cache.fold.inputMap;
      let base = 0;
      const groups: [FeatureEncoder, Float32Array[]][] = [
        [L.action, L.action.prepare(aRaw, 1)],
        [L.obs, L.obs.prepare(req.obs, 1)],
      ];
      for (const [enc, inputs] of groups) {
        inputs.forEach((x, i) => {
          for (let k = 0; k < x.length; k++) {
            const v = x[k];
            if (v === 0) continue;
            const off = (base + k) * K3;
            for (let j = 0; j < K3; j++) gi[j] += v * M[off + j];
          }
          base += enc.inputRowWidth(i);
        });
      }
      const gi32 = scratch.gi32;
      gi32.set(gi); // rounds each sum to float32, as the single-run Float32Array.from(gi)
      const mul = (a: Float32Array) => { // one row: the state of this single step
        rowTimes(a, cache.wh, H, K3, 0, scratch.gh);
        return scratch.gh;
      };
      const h = new Float32Array(H);
      gruForwardHost(gi32, 1, 1, H, mul, cache.fold.bh, req.hidden, null, h);
      if (req.q === false) return { q: new Float32Array(0), hidden: h };
      let y: Float32Array = h;
      cache.head.forEach((layer, i) => {
        const out = scratch.head[i];
        out.set(layer.b); // bias first, then out += wᵀ · y (beta 1)
        rowTimes(y, layer.w, layer.inSize, layer.outSize, 1, out);
        if (i + 1 < cache.head.length) reluInPlace(out);
        y = out;
      });
      return { q: y.slice(), hidden: h };
    });
  }

  #actScratch?: { gi: Float64Array; gi32: Float32Array; gh: Float32Array; head: Float32Array[] };
}

/** y ← wᵀ·x + beta·y for one row x [inSize] and w [inSize, outSize] row-major. */
type RowTimes = (
  x: Float32Array,
  w: Float32Array,
  inSize: number,
  outSize: number,
  beta: number,
  y: Float32Array,
) => void;

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function encode(
  segments: Segment[],
  inputs: tf.Tensor2D[],
  W: StackedWeights,
  groups: RowGroups,
): tf.Tensor2D {
  if (inputs.length !== segments.length) {
    throw new Error(
      `batched network: ${inputs.length} encoder inputs, expected ${segments.length}`,
    );
  }
  const rows = groups.offsets[groups.offsets.length - 1];
  const outs = segments.map((s, i) => {
    if (s.kind === "identity") return inputs[i];
    const table = W[s.param!] as tf.Tensor3D;
    if (s.kind === "onehot") {
      return groupedDense(inputs[i], table, null, groups, { inputGrad: false });
    }
    const e = groupedDense(inputs[i], table, null, scaleGroups(groups, s.mult), {
      inputGrad: false,
    });
    return tf.reshape(e, [rows, s.mult * s.dim]) as tf.Tensor2D;
  });
  return outs.length === 1 ? outs[0] : tf.concat(outs, 1);
}

function mlp(
  W: StackedWeights,
  name: string,
  x: tf.Tensor2D,
  numHidden: number,
  groups: RowGroups,
  inputGrad: boolean,
): tf.Tensor2D {
  let y = x;
  for (let i = 0; i <= numHidden; i++) {
    y = groupedDense(
      y,
      W[`${name}.${i}.w`] as tf.Tensor3D,
      W[`${name}.${i}.b`] as tf.Tensor2D,
      groups,
      { activation: i < numHidden ? "relu" : "linear", inputGrad: i > 0 || inputGrad },
    );
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// The GRU recurrence over groups: lib/nn/gru_host.ts's loops, run by run.

/** Per-run products with the recurrent weights [K, H, 3H] for the current backend. */
class RecurrentProducts {
  readonly #wh: Float32Array;
  readonly #H: number;
  /** The native BLAS on the BLAS backends, else null (products through tfjs). */
  readonly #blas: Blas | null;
  readonly #gemm = gemmFor(tf.engine().backendName);
  #tensors: (tf.Tensor2D | undefined)[] = [];
  #transposed: (tf.Tensor2D | undefined)[] = [];

  constructor(wh: tf.Tensor3D) {
    this.#H = wh.shape[1];
    this.#wh = wh.dataSync() as Float32Array;
    this.#blas = isBlasBackend(tf.engine().backendName) ? openBlas() : null;
  }

  #slice(k: number): Float32Array {
    const n = this.#H * 3 * this.#H;
    return this.#wh.subarray(k * n, (k + 1) * n);
  }

  /**
   * A reusable output of `size` floats: each product's result is read before the next product
   * (allocating a typed array costs as much as a small product).
   */
  #out(size: number): Float32Array {
    if (this.#scratch.length !== size) this.#scratch = new Float32Array(size);
    return this.#scratch;
  }
  #scratch = new Float32Array(0);

  /** a [rows, H] · wh_k [H, 3H]. */
  mul(k: number): RowProduct {
    const H = this.#H, H3 = 3 * H;
    if (this.#blas !== null) {
      const w = this.#slice(k), blas = this.#blas;
      return (a, rows) => {
        const out = this.#out(rows * H3);
        // One sequence per run (the reference's one episode per step) is a matrix-vector product.
        if (rows === 1) blas.sgemv(true, H, H3, 1, w, H3, a, 0, out);
        else this.#gemm(false, false, rows, H3, H, 1, a, H, w, H3, 0, out, H3);
        return out;
      };
    }
    this.#tensors[k] ??= tf.tensor2d(this.#slice(k), [H, H3]);
    const w = this.#tensors[k]!;
    return (a, rows) => hostMatMul(a, rows, H, w);
  }

  /** a [rows, 3H] · wh_kᵀ [3H, H]. */
  mulT(k: number): RowProduct {
    const H = this.#H, H3 = 3 * H;
    if (this.#blas !== null) {
      const w = this.#slice(k), blas = this.#blas;
      return (a, rows) => {
        const out = this.#out(rows * H);
        if (rows === 1) blas.sgemv(false, H, H3, 1, w, H3, a, 0, out); // wh_k · aᵀ
        else this.#gemm(false, true, rows, H, H3, 1, a, H3, w, H3, 0, out, H);
        return out;
      };
    }
    if (this.#transposed[k] === undefined) {
      const w = this.#tensors[k] ?? tf.tensor2d(this.#slice(k), [H, H3]);
      this.#transposed[k] = tf.transpose(w);
      if (this.#tensors[k] === undefined) w.dispose();
    }
    const wT = this.#transposed[k]!;
    return (a, rows) => hostMatMul(a, rows, H3, wT);
  }

  dispose(): void {
    for (const t of [...this.#tensors, ...this.#transposed]) t?.dispose();
    this.#tensors = [];
    this.#transposed = [];
  }
}

/**
 * The GRU recurrence of every group given its input projections `gi` [R, 3H], differentiable in
 * `gi`, `wh` [K, H, 3H] and `bh` [K, 3H]; zero initial state; run k has `steps[k]` steps of `batch`
 * sequences (rows time-major within its group).
 */
export function groupedGruRecurrence(
  gi: tf.Tensor2D,
  wh: tf.Tensor3D,
  bh: tf.Tensor2D,
  steps: readonly number[],
  batch: number,
  groups: RowGroups,
): tf.Tensor2D {
  const K = wh.shape[0], H = wh.shape[1], H3 = 3 * H;
  const R = gi.shape[0];
  checkGroups(steps, batch, groups, R);
  const op = tf.customGrad((giT, whT, bhT) => {
    const products = new RecurrentProducts(whT as tf.Tensor3D);
    const giv = (giT as tf.Tensor).dataSync() as Float32Array;
    const bhv = (bhT as tf.Tensor).dataSync() as Float32Array;
    const hs = new Float32Array(R * H);
    const trace = newGruTrace(R * H);
    try {
      forwardGroups(giv, bhv, products, steps, batch, H, groups, trace, hs);
    } finally {
      products.dispose(); // tensors made here would not survive until the backward pass
    }
    return {
      value: tf.tensor2d(hs, [R, H]),
      gradFunc: (dy: tf.Tensor) => {
        const dyv = dy.dataSync() as Float32Array;
        const dGi = new Float32Array(R * H3), dGh = new Float32Array(R * H3);
        const dbh = new Float32Array(K * H3), hPrev = new Float32Array(R * H);
        try {
          for (let k = 0; k < K; k++) {
            const o = groups.offsets[k], rows = groups.offsets[k + 1] - o;
            if (rows === 0) continue;
            gruBackwardHost(
              dyv.subarray(o * H, (o + rows) * H),
              steps[k],
              batch,
              H,
              products.mulT(k),
              hs.subarray(o * H, (o + rows) * H),
              subGruTrace(trace, o * H, (o + rows) * H),
              {
                dGi: dGi.subarray(o * H3, (o + rows) * H3),
                dGh: dGh.subarray(o * H3, (o + rows) * H3),
                dbh: dbh.subarray(k * H3, (k + 1) * H3),
                hPrev: hPrev.subarray(o * H, (o + rows) * H),
              },
            );
          }
        } finally {
          products.dispose();
        }
        const dWh = groupedOuter(tf.tensor2d(hPrev, [R, H]), tf.tensor2d(dGh, [R, H3]), groups);
        return [tf.tensor2d(dGi, [R, H3]), dWh, tf.tensor2d(dbh, [K, H3])];
      },
    };
  });
  return op(gi, wh, bh) as tf.Tensor2D;
}

/** {@link groupedGruRecurrence} without gradient bookkeeping (target networks). */
export function groupedGruNoGrad(
  gi: tf.Tensor2D,
  wh: tf.Tensor3D,
  bh: tf.Tensor2D,
  steps: readonly number[],
  batch: number,
): tf.Tensor2D {
  const H = wh.shape[1];
  const R = gi.shape[0];
  const groups = rowGroups(steps.map((s) => s * batch));
  const held = groups.offsets[groups.offsets.length - 1];
  if (held !== R) throw new Error(`batched GRU: ${R} rows, but the groups hold ${held}`);
  const products = new RecurrentProducts(wh);
  try {
    const hs = new Float32Array(R * H);
    const giv = gi.dataSync() as Float32Array, bhv = bh.dataSync() as Float32Array;
    forwardGroups(giv, bhv, products, steps, batch, H, groups, null, hs);
    return tf.tensor2d(hs, [R, H]);
  } finally {
    products.dispose();
  }
}

/** The forward recurrence of every non-empty group k with run k's weights, into `hs` (and `trace`). */
function forwardGroups(
  giv: Float32Array,
  bhv: Float32Array,
  products: RecurrentProducts,
  steps: readonly number[],
  batch: number,
  H: number,
  groups: RowGroups,
  trace: GruTrace | null,
  hs: Float32Array,
): void {
  const H3 = 3 * H;
  for (let k = 0; k + 1 < groups.offsets.length; k++) {
    const o = groups.offsets[k], rows = groups.offsets[k + 1] - o;
    if (rows === 0) continue;
    gruForwardHost(
      giv.subarray(o * H3, (o + rows) * H3),
      steps[k],
      batch,
      H,
      products.mul(k),
      bhv.subarray(k * H3, (k + 1) * H3),
      null,
      trace === null ? null : subGruTrace(trace, o * H, (o + rows) * H),
      hs.subarray(o * H, (o + rows) * H),
    );
  }
}

function checkGroups(steps: readonly number[], batch: number, groups: RowGroups, R: number) {
  const o = groups.offsets;
  const ok = o.length === steps.length + 1 && o[o.length - 1] === R &&
    steps.every((s, k) => o[k + 1] - o[k] === s * batch);
  if (!ok) {
    throw new Error(
      `batched GRU: groups [${o}] do not match steps [${steps}] × batch ${batch} (${R} rows)`,
    );
  }
}
