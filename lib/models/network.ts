/**
 * The recurrent networks of the five algorithms (algorithms.md §2-3): a history encoder
 * (φ_A(a_{t-1}) ⊕ φ_O(o_t) → GRU, with φ_A(a_{-1}) = 0), a Q head on the history features, and
 * for the asymmetric algorithms a U head:
 * - `"history"` (ADQN, ADQN-VR): U(h, s) reads concat(history features, φ_S(s)); the history
 *   encoder (φ_A, φ_O, GRU) is SHARED with Q, so U's loss also trains it;
 * - `"state"` (ADQN-State, ADQN-State-VR): U(s) reads φ_S(s) only, with nothing shared;
 * - `"none"` (DQN): no U.
 *
 * Heads are MLPs Linear-ReLU-…-Linear(|A|) with Xavier-normal weights (gain √2 before a ReLU, 1 for
 * the output layer) and zero biases; embeddings are N(0, 1); the GRU uses PyTorch's default
 * U(-1/√H, 1/√H) for all its weights and biases (the reference leaves `nn.GRU` at its default).
 *
 * A {@link NetworkLayout} is pure structure; weights live in a separate {@link Weights} record, so
 * the online and target networks share one layout.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { FeatureSpec } from "../envs/types.ts";
import type { AlgoId } from "./contract.ts";
import type { Rng } from "../rng.ts";
import { dense } from "../nn/dense.ts";
import { gruCell, gruSequence, type GruWeights } from "../nn/gru.ts";
import { normalArray, uniformArray, xavierNormal } from "../nn/init.ts";
import { FeatureEncoder, type ParamSpec } from "./encoders.ts";
import type { ModelConfig } from "./presets.ts";

/** Which U head a network has. */
export type UKind = "none" | "history" | "state";

/** The U head each algorithm uses. */
export function uKindOf(algo: AlgoId): UKind {
  switch (algo) {
    case "dqn":
      return "none";
    case "adqn":
    case "adqn-vr":
      return "history";
    case "adqn-state":
    case "adqn-state-vr":
      return "state";
  }
  throw new Error(`uKindOf: unknown algorithm "${algo}"`);
}

/** What a layout needs to know about the environment. */
export interface NetworkShape {
  /** Number of actions. */
  numActions: number;
  /** Layout of the encoded observations. */
  obsSpec: FeatureSpec;
  /** Layout of the encoded states. */
  stateSpec: FeatureSpec;
}

/** The weights of one network by parameter name. */
export type Weights = Record<string, tf.Variable>;

/** Raw sequence features, time-major rows (row t·B + b). */
export interface RawSequence {
  /** One-hot previous actions [rows × |A|] (all-zero rows for "no previous action"). */
  prevAction: Float32Array;
  /** Encoded observations [rows × obsSpec.size]. */
  obs: Float32Array;
  /** Encoded states [rows × stateSpec.size] (needed when the network has a U head). */
  state?: Float32Array;
}

/** Host-side inputs prepared by {@link NetworkLayout.prepare} (row-major, rows first). */
export interface PreparedSequence {
  /** Number of rows prepared. */
  rows: number;
  /** Inputs of the action encoder. */
  action: Float32Array[];
  /** Inputs of the observation encoder. */
  obs: Float32Array[];
  /** Inputs of the state encoder (absent without U). */
  state: Float32Array[] | null;
}

/** Backend tensors of the first `rows` prepared rows. */
export interface SequenceTensors {
  /** Number of rows. */
  rows: number;
  /** Action encoder inputs. */
  action: tf.Tensor2D[];
  /** Observation encoder inputs. */
  obs: tf.Tensor2D[];
  /** State encoder inputs (null without U). */
  state: tf.Tensor2D[] | null;
}

/** Outputs of {@link NetworkLayout.forward}, all [steps·batch, ·] time-major. */
export interface ForwardOutputs {
  /** GRU history features [rows, H]. */
  hist: tf.Tensor2D;
  /** Q(h_t, ·) [rows, |A|]. */
  q: tf.Tensor2D;
  /** U(h_t, s_t, ·) or U(s_t, ·) [rows, |A|] (when requested and the network has U). */
  u?: tf.Tensor2D;
}

/**
 * The structure of a recurrent Q (and U) network.
 *
 * @example
 * ```ts
 * import { NetworkLayout } from "./network.ts";
 * import { resolveModelConfig } from "./presets.ts";
 * const spec = { size: 3, parts: [{ kind: "onehot" as const, size: 3 }] };
 * const layout = new NetworkLayout({ numActions: 2, obsSpec: spec, stateSpec: spec }, "history",
 *   resolveModelConfig("heaven-hell-3", { gruHidden: 8, headHidden: [16] }));
 * console.log(layout.params.map((p) => p.name).slice(0, 3)); // ["action.onehot0", "obs.onehot0", "gru.wi"]
 * ```
 */
export class NetworkLayout {
  /** Number of actions. */
  readonly numActions: number;
  /** GRU hidden size. */
  readonly hidden: number;
  /** Which U head. */
  readonly uKind: UKind;
  /** The model configuration it was built from. */
  readonly config: ModelConfig;
  /** φ_A. */
  readonly action: FeatureEncoder;
  /** φ_O. */
  readonly obs: FeatureEncoder;
  /** φ_S of the U head (null without U). */
  readonly state: FeatureEncoder | null;
  /** Every parameter, in initialisation order. */
  readonly params: ParamSpec[];

  /** Build the layout for an environment shape, a U kind and a model configuration. */
  constructor(shape: NetworkShape, uKind: UKind, config: ModelConfig) {
    const A = shape.numActions;
    if (!Number.isInteger(A) || A < 1) throw new Error(`network: invalid numActions ${A}`);
    this.numActions = A;
    this.hidden = config.gruHidden;
    this.uKind = uKind;
    this.config = config;
    this.action = new FeatureEncoder("action", { size: A, parts: [{ kind: "onehot", size: A }] }, {
      onehot: config.actionEmbedding,
      categorical: 1,
    });
    this.obs = new FeatureEncoder("obs", shape.obsSpec, {
      onehot: config.obsEmbedding,
      categorical: config.obsCategoricalEmbedding,
    });
    this.state = uKind === "none" ? null : new FeatureEncoder("state", shape.stateSpec, {
      onehot: config.stateEmbedding,
      categorical: config.stateCategoricalEmbedding,
    });
    const H = this.hidden, I = this.action.outSize + this.obs.outSize;
    const k = 1 / Math.sqrt(H);
    const gruInit = { kind: "uniform" as const, bound: k };
    this.params = [
      ...this.action.params,
      ...this.obs.params,
      { name: "gru.wi", shape: [I, 3 * H], init: gruInit },
      { name: "gru.wh", shape: [H, 3 * H], init: gruInit },
      { name: "gru.bi", shape: [3 * H], init: gruInit },
      { name: "gru.bh", shape: [3 * H], init: gruInit },
      ...mlpParams("q", H, config.headHidden, A),
    ];
    if (this.state !== null) {
      const uIn = (uKind === "history" ? H : 0) + this.state.outSize;
      this.params.push(...this.state.params, ...mlpParams("u", uIn, config.headHidden, A));
    }
    const names = new Set<string>();
    for (const p of this.params) {
      if (names.has(p.name)) throw new Error(`network: duplicate parameter name "${p.name}"`);
      names.add(p.name);
    }
  }

  /** Draw fresh weights from `rng`, parameter by parameter in {@link NetworkLayout.params} order. */
  initWeights(rng: Rng, trainable = true): Weights {
    const W: Weights = {};
    for (const p of this.params) {
      const size = p.shape.reduce((a, b) => a * b, 1);
      let data: Float32Array;
      switch (p.init.kind) {
        case "normal":
          data = normalArray(rng, size, 1);
          break;
        case "xavier":
          data = xavierNormal(rng, p.shape[0], p.shape[1], p.init.gain);
          break;
        case "uniform":
          data = uniformArray(rng, size, -p.init.bound, p.init.bound);
          break;
        case "zeros":
          data = new Float32Array(size);
          break;
      }
      const t = tf.tensor(data, p.shape);
      W[p.name] = tf.variable(t, trainable);
      t.dispose();
    }
    return W;
  }

  /** New variables holding copies of `src`'s values. */
  copyWeights(src: Weights, trainable: boolean): Weights {
    const W: Weights = {};
    for (const p of this.params) W[p.name] = tf.variable(src[p.name], trainable);
    return W;
  }

  /** Prepare `rows` raw rows for the encoders (host side, no tensors). */
  prepare(raw: RawSequence, rows: number): PreparedSequence {
    let state: Float32Array[] | null = null;
    if (this.state !== null) {
      if (raw.state === undefined) throw new Error("network: states are required with a U head");
      state = this.state.prepare(raw.state, rows);
    }
    return {
      rows,
      action: this.action.prepare(raw.prevAction, rows),
      obs: this.obs.prepare(raw.obs, rows),
      state,
    };
  }

  /** Upload the first `rows` prepared rows (all when omitted) as tensors. */
  toTensors(prep: PreparedSequence, rows = prep.rows): SequenceTensors {
    if (rows > prep.rows) throw new Error(`network: ${rows} rows requested, ${prep.rows} prepared`);
    const up = (enc: FeatureEncoder, arrays: Float32Array[]) =>
      arrays.map((a, i) => {
        const shape = enc.inputShape(i, rows);
        return tf.tensor2d(a.subarray(0, shape[0] * shape[1]), shape);
      });
    return {
      rows,
      action: up(this.action, prep.action),
      obs: up(this.obs, prep.obs),
      state: this.state === null || prep.state === null ? null : up(this.state, prep.state),
    };
  }

  /**
   * Run the network over `batch` sequences of `steps` steps from a zero state.
   *
   * @param options.grad Record gradients through the GRU (false for target networks).
   * @param options.u Also compute U (when the network has one).
   */
  forward(
    W: Weights,
    x: SequenceTensors,
    steps: number,
    batch: number,
    options: { grad: boolean; u: boolean },
  ): ForwardOutputs {
    const rows = steps * batch;
    if (x.rows !== rows) throw new Error(`network: ${x.rows} input rows, expected ${rows}`);
    const hist = this.history(W, x, steps, batch, options.grad);
    const q = mlp(W, "q", hist, this.config.headHidden.length);
    const out: ForwardOutputs = { hist, q };
    if (options.u && this.state !== null) {
      if (x.state === null) throw new Error("network: U needs state inputs");
      const phiS = this.state.apply(x.state, W, rows);
      const uIn = this.uKind === "history" ? tf.concat([hist, phiS], 1) : phiS;
      // φ_S of data with no embedding (identity states) needs no input gradient.
      const dataOnly = this.uKind === "state" && this.state.params.length === 0;
      out.u = mlp(W, "u", uIn, this.config.headHidden.length, !dataOnly);
    }
    return out;
  }

  /** The history features (GRU outputs) [steps·batch, H]. */
  history(
    W: Weights,
    x: SequenceTensors,
    steps: number,
    batch: number,
    grad: boolean,
  ): tf.Tensor2D {
    const rows = steps * batch;
    const input = tf.concat(
      [this.action.apply(x.action, W, rows), this.obs.apply(x.obs, W, rows)],
      1,
    );
    const embedded = this.action.params.length + this.obs.params.length > 0;
    return gruSequence(input, gruWeights(W), steps, batch, { grad, inputGrad: embedded });
  }

  /**
   * Host copies for fast acting: the GRU input map with the embeddings folded in (see
   * {@link FeatureEncoder.foldInto}) and the GRU biases. Valid until the weights change.
   */
  actCache(W: Weights): ActCache {
    return tf.tidy(() => {
      const wi = W["gru.wi"] as tf.Tensor2D;
      const dA = this.action.outSize, dO = this.obs.outSize, K = 3 * this.hidden;
      const mA = this.action.foldInto(W, tf.slice(wi, [0, 0], [dA, K]));
      const mO = this.obs.foldInto(W, tf.slice(wi, [dA, 0], [dO, K]));
      return {
        inputMap: copy(tf.concat([mA, mO], 0)),
        bi: copy(W["gru.bi"]),
        bh: copy(W["gru.bh"]),
      };
    });
  }

  /**
   * One acting step from host arrays: feed (a_{t-1}, o_t) to the GRU state `hidden` (not modified),
   * get Q(h_t, ·) and the next state. `prevAction` -1 means "no previous action". `cache` must
   * come from {@link NetworkLayout.actCache} of the same weights.
   *
   * Cost: the input projection is a sparse product on the host (the inputs are mostly one-hot);
   * the backend does h·W_hh and the Q head (5 kernel calls, 2 reads).
   */
  act(
    W: Weights,
    cache: ActCache,
    hidden: Float32Array,
    prevAction: number,
    obs: Float32Array,
  ): { q: Float32Array; hidden: Float32Array } {
    const A = this.numActions, H = this.hidden, K = 3 * H;
    if (!Number.isInteger(prevAction) || prevAction < -1 || prevAction >= A) {
      throw new Error(`act: invalid previous action ${prevAction}; expected -1..${A - 1}`);
    }
    if (hidden.length !== H) {
      throw new Error(`act: hidden has ${hidden.length} values, expected ${H}`);
    }
    const aRaw = new Float32Array(A);
    if (prevAction >= 0) aRaw[prevAction] = 1;
    // gi = bi + Σ_k x_k · M[k, :] over the non-zero inputs x_k.
    const gi = Float64Array.from(cache.bi);
    const M = cache.inputMap;
    let base = 0;
    for (
      const [enc, inputs] of [[this.action, this.action.prepare(aRaw, 1)], [
        this.obs,
        this.obs.prepare(obs, 1),
      ]] as const
    ) {
      inputs.forEach((x, i) => {
        for (let k = 0; k < x.length; k++) {
          const v = x[k];
          if (v === 0) continue;
          const off = (base + k) * K;
          for (let j = 0; j < K; j++) gi[j] += v * M[off + j];
        }
        base += enc.inputRowWidth(i);
      });
    }
    return tf.tidy(() => {
      const h = gruCell(Float32Array.from(gi), hidden, W["gru.wh"] as tf.Tensor2D, cache.bh);
      let y: tf.Tensor2D = tf.tensor2d(h, [1, H]);
      const L = this.config.headHidden.length;
      for (let i = 0; i <= L; i++) {
        y = tf.fused.matMul({
          a: y,
          b: W[`q.${i}.w`],
          bias: W[`q.${i}.b`],
          activation: i < L ? "relu" : "linear",
        }) as tf.Tensor2D;
      }
      return { q: Float32Array.from(y.dataSync() as Float32Array), hidden: h };
    });
  }
}

/** Host-side values {@link NetworkLayout.act} needs (derived from the weights). */
export interface ActCache {
  /** GRU input map with the encoders folded in: [Σ input row widths, 3H], row-major. */
  inputMap: Float32Array;
  /** GRU input bias [3H]. */
  bi: Float32Array;
  /** GRU recurrent bias [3H]. */
  bh: Float32Array;
}

function copy(t: tf.Tensor): Float32Array {
  return Float32Array.from(t.dataSync() as Float32Array);
}

/** The GRU weights inside a {@link Weights} record. */
export function gruWeights(W: Weights): GruWeights {
  return {
    wi: W["gru.wi"] as tf.Tensor2D,
    wh: W["gru.wh"] as tf.Tensor2D,
    bi: W["gru.bi"] as tf.Tensor1D,
    bh: W["gru.bh"] as tf.Tensor1D,
  };
}

/** Parameters of an MLP head `name`: Linear(in, h1)-ReLU-…-Linear(·, out). */
function mlpParams(
  name: string,
  inSize: number,
  hidden: readonly number[],
  out: number,
): ParamSpec[] {
  const widths = [inSize, ...hidden, out];
  const ps: ParamSpec[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    const last = i + 2 === widths.length;
    ps.push({
      name: `${name}.${i}.w`,
      shape: [widths[i], widths[i + 1]],
      init: { kind: "xavier", gain: last ? 1 : Math.SQRT2 },
    });
    ps.push({ name: `${name}.${i}.b`, shape: [widths[i + 1]], init: { kind: "zeros" } });
  }
  return ps;
}

function mlp(
  W: Weights,
  name: string,
  x: tf.Tensor2D,
  numHidden: number,
  inputGrad = true,
): tf.Tensor2D {
  let y = x;
  for (let i = 0; i <= numHidden; i++) {
    y = dense(y, W[`${name}.${i}.w`] as tf.Tensor2D, W[`${name}.${i}.b`] as tf.Tensor1D, {
      activation: i < numHidden ? "relu" : "linear",
      inputGrad: i > 0 || inputGrad,
    });
  }
  return y;
}
