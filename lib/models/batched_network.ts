/**
 * K copies of the recurrent Q/U network described by a {@link NetworkLayout} (./layout.ts), one per
 * independent training run, computed together: every parameter is stacked on a leading run axis
 * ([K, ...shape]), and a forward pass takes the rows of all runs' sequences as one ragged tensor
 * whose row groups belong to the runs (lib/nn/grouped_ops.ts). Runs may have different sequence
 * lengths and an empty group (a run that takes no step); there is no padding between runs.
 *
 * Within its group, a run's rows are time-major (row t·B + b), and each computation is that of
 * the K = 1 network: the same products per run (on the BLAS backends the same `sgemm` calls), the
 * same GRU arithmetic (./batched_gru.ts), the same elementwise ops, so run k's numbers do not
 * depend on the other runs. Acting ({@link BatchedNetwork.actMany}) steps any subset of the runs
 * in one call, on host copies of the weights.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { readRun } from "../nn/batched_adam.ts";
import { openBlas } from "../nn/blas.ts";
import { reluInPlace } from "../nn/activations.ts";
import { isBlasBackend } from "../nn/fast_backend.ts";
import { groupedDense, type RowGroups, scaleGroups } from "../nn/grouped_ops.ts";
import { jsGemm } from "../nn/host_gemm.ts";
import { gruForwardHost } from "../nn/gru_host.ts";
import { scoped } from "../nn/scope.ts";
import { makeRng, type Seed } from "../rng.ts";
import { groupedGruNoGrad, groupedGruRecurrence } from "./batched_gru.ts";
import type { FeatureEncoder } from "./encoders.ts";
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
