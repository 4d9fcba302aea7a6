/**
 * The structure of the recurrent networks of the five algorithms (algorithms.md §2-3): a history
 * encoder (φ_A(a_{t-1}) ⊕ φ_O(o_t) → GRU, with φ_A(a_{-1}) = 0), a Q head on the history features,
 * and for the asymmetric algorithms a U head:
 * - `"history"` (ADQN, ADQN-VR): U(h, s) reads concat(history features, φ_S(s)); the history
 *   encoder (φ_A, φ_O, GRU) is SHARED with Q, so U's loss also trains it;
 * - `"state"` (ADQN-State, ADQN-State-VR): U(s) reads φ_S(s) only, with nothing shared;
 * - `"none"` (DQN): no U.
 *
 * Heads are MLPs Linear-ReLU-…-Linear(|A|) with Xavier-normal weights (gain √2 before a ReLU, 1 for
 * the output layer) and zero biases; embeddings are N(0, 1); the GRU uses PyTorch's default
 * U(-1/√H, 1/√H) for all its weights and biases (the reference leaves `nn.GRU` at its default).
 *
 * A {@link NetworkLayout} is pure structure (parameters, initialisation, input preparation); the
 * computation over K runs' stacked weights is ./batched_network.ts.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { FeatureSpec } from "../envs/types.ts";
import type { AlgoId } from "./contract.ts";
import type { Rng } from "../rng.ts";
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

/**
 * The structure of a recurrent Q (and U) network.
 *
 * @example
 * ```ts
 * import { NetworkLayout } from "./layout.ts";
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
}

/** Host-side values acting needs (derived from the weights), see {@link NetworkLayout.actCache}. */
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
