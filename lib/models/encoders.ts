/**
 * Feature encoders φ built from an environment's {@link FeatureSpec}: how raw encoded observations,
 * states and actions become network inputs (algorithms.md §3).
 *
 * Each part of the spec is read by its kind:
 * - `onehot` parts: a learned embedding (one-hot × table, width `onehot`) or, with width 0, the
 *   one-hot itself. An all-zero block embeds to zeros.
 * - `vector` parts: passed through unchanged.
 * - `categorical` parts: every code of every categorical part of the group is embedded through ONE
 *   shared table of width `categorical` whose vocabulary is the largest among those parts (as the
 *   reference's GridVerse representations do).
 *
 * The encoder's output is the concatenation, in this order, of: all pass-through columns (in spec
 * order), each one-hot part's embedding (in spec order), then the categorical embeddings (codes in
 * spec order). Host-side {@link FeatureEncoder.prepare} turns raw rows into the per-segment input
 * arrays (columns regrouped, codes expanded to one-hot), so the tensor side is a few products and
 * one concat.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { FeatureSpec } from "../envs/types.ts";
import { embedCategorical, embedOneHot, oneHotCodes } from "../nn/embedding.ts";

/** How a parameter tensor is initialised (see lib/nn/init.ts). */
export type ParamInit =
  /** N(0, 1) (embedding tables, as PyTorch's `nn.Embedding`). */
  | { kind: "normal" }
  /** Xavier-normal with the given gain. */
  | { kind: "xavier"; gain: number }
  /** Uniform in [-bound, bound) (PyTorch's default for GRU weights and biases). */
  | { kind: "uniform"; bound: number }
  /** All zeros (linear biases). */
  | { kind: "zeros" };

/** A named parameter tensor of a network: its shape and initialiser. */
export interface ParamSpec {
  /** Unique name, e.g. `"gru.wh"`, `"q.0.w"`. */
  name: string;
  /** Shape ([in, out] for matrices). */
  shape: number[];
  /** Initialiser. */
  init: ParamInit;
}

/** Embedding widths of one feature group. */
export interface EncoderWidths {
  /** Embedding width of each one-hot part; 0 passes the one-hot through (identity). */
  onehot: number;
  /** Width of the shared embedding table of the categorical parts. */
  categorical: number;
}

type Segment =
  | { kind: "identity"; ranges: [number, number][]; width: number }
  | { kind: "onehot"; offset: number; size: number; param: string; dim: number }
  | {
    kind: "categorical";
    ranges: [number, number][];
    count: number;
    vocab: number;
    param: string;
    dim: number;
  };

/**
 * The encoder of one feature group (action, observation or state): its parameters, its host-side
 * input preparation and its tensor computation.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { FeatureEncoder } from "./encoders.ts";
 * const enc = new FeatureEncoder("obs", { size: 3, parts: [{ kind: "onehot", size: 3 }] }, {
 *   onehot: 4, categorical: 0 });
 * console.log(enc.outSize, enc.params[0].shape); // 4 [3, 4]
 * const inputs = enc.prepare(new Float32Array([0, 1, 0]), 1).map((a, i) =>
 *   tf.tensor2d(a, enc.inputShape(i, 1)));
 * const y = enc.apply(inputs, { "obs.onehot0": tf.ones([3, 4]) }, 1); // [1, 4]
 * ```
 */
export class FeatureEncoder {
  /** Name prefix of the parameters (e.g. `"obs"`). */
  readonly name: string;
  /** The spec it reads. */
  readonly spec: FeatureSpec;
  /** Width of the encoded features. */
  readonly outSize: number;
  /** Its parameters (embedding tables). */
  readonly params: ParamSpec[];
  readonly #segments: Segment[];

  /** Build the encoder of `spec` with the given embedding widths. */
  constructor(name: string, spec: FeatureSpec, widths: EncoderWidths) {
    for (const [k, v] of Object.entries(widths)) {
      if (!Number.isInteger(v) || v < 0) {
        throw new Error(`${name} encoder: width ${k} must be a non-negative integer, got ${v}`);
      }
    }
    if (spec.parts.length === 0 || spec.size <= 0) {
      throw new Error(`${name} encoder: empty feature spec`);
    }
    this.name = name;
    this.spec = spec;
    const identity: [number, number][] = [];
    const onehots: Segment[] = [];
    const cats: [number, number][] = [];
    let catCount = 0, catVocab = 0;
    let offset = 0;
    spec.parts.forEach((part, i) => {
      if (part.kind === "vector" || (part.kind === "onehot" && widths.onehot === 0)) {
        identity.push([offset, offset + part.size]);
        offset += part.size;
      } else if (part.kind === "onehot") {
        onehots.push({
          kind: "onehot",
          offset,
          size: part.size,
          param: `${name}.onehot${i}`,
          dim: widths.onehot,
        });
        offset += part.size;
      } else if (part.kind === "categorical") {
        cats.push([offset, offset + part.count]);
        catCount += part.count;
        catVocab = Math.max(catVocab, part.vocab);
        offset += part.count;
      } else {
        throw new Error(`${name} encoder: unknown feature part ${JSON.stringify(part)}`);
      }
    });
    if (offset !== spec.size) {
      throw new Error(
        `${name} encoder: spec size ${spec.size} differs from its parts' sum ${offset}`,
      );
    }
    this.#segments = [];
    if (identity.length > 0) {
      const width = identity.reduce((s, [a, b]) => s + b - a, 0);
      this.#segments.push({ kind: "identity", ranges: identity, width });
    }
    this.#segments.push(...onehots);
    if (cats.length > 0) {
      if (widths.categorical === 0) {
        throw new Error(`${name} encoder: categorical parts need a categorical width ≥ 1, got 0`);
      }
      this.#segments.push({
        kind: "categorical",
        ranges: cats,
        count: catCount,
        vocab: catVocab,
        param: `${name}.categorical`,
        dim: widths.categorical,
      });
    }
    this.params = [];
    let out = 0;
    for (const s of this.#segments) {
      if (s.kind === "identity") out += s.width;
      else if (s.kind === "onehot") {
        this.params.push({ name: s.param, shape: [s.size, s.dim], init: { kind: "normal" } });
        out += s.dim;
      } else {
        this.params.push({ name: s.param, shape: [s.vocab, s.dim], init: { kind: "normal" } });
        out += s.count * s.dim;
      }
    }
    this.outSize = out;
  }

  /** Number of input arrays/tensors {@link FeatureEncoder.prepare} produces. */
  get numInputs(): number {
    return this.#segments.length;
  }

  /** Shape of input `i` for `rows` rows. */
  inputShape(i: number, rows: number): [number, number] {
    const s = this.#segments[i];
    if (s === undefined) throw new Error(`${this.name} encoder: no input ${i}`);
    if (s.kind === "identity") return [rows, s.width];
    if (s.kind === "onehot") return [rows, s.size];
    return [rows * s.count, s.vocab];
  }

  /** Width of one row of input `i`, flattened (a categorical input's row holds count × vocab). */
  inputRowWidth(i: number): number {
    const s = this.#segments[i];
    if (s === undefined) throw new Error(`${this.name} encoder: no input ${i}`);
    if (s.kind === "identity") return s.width;
    if (s.kind === "onehot") return s.size;
    return s.count * s.vocab;
  }

  /**
   * Fold a following linear map into the encoder: given `w` [outSize, K] (the rows of a layer's
   * weight that read this encoder's output), return M [Σ_i inputRowWidth(i), K] such that
   * apply(inputs) · w equals the concatenated flattened input rows times M. Used to act with one
   * sparse host-side product instead of several kernel calls.
   */
  foldInto(weights: Record<string, tf.Tensor>, w: tf.Tensor2D): tf.Tensor2D {
    if (w.shape[0] !== this.outSize) {
      throw new Error(
        `${this.name} encoder: cannot fold a [${w.shape}] map into width ${this.outSize}`,
      );
    }
    const K = w.shape[1];
    return tf.tidy(() => {
      const parts: tf.Tensor2D[] = [];
      let o = 0;
      for (const s of this.#segments) {
        if (s.kind === "identity") {
          parts.push(tf.slice(w, [o, 0], [s.width, K]));
          o += s.width;
        } else if (s.kind === "onehot") {
          parts.push(tf.matMul(weights[s.param] as tf.Tensor2D, tf.slice(w, [o, 0], [s.dim, K])));
          o += s.dim;
        } else {
          // Row c·V + v of M is table[v] · w[o + c·d .. o + (c+1)·d).
          const table = tf.reshape(weights[s.param], [1, s.vocab, s.dim]);
          const wc = tf.reshape(tf.slice(w, [o, 0], [s.count * s.dim, K]), [s.count, s.dim, K]);
          parts.push(tf.reshape(tf.matMul(table, wc), [s.count * s.vocab, K]));
          o += s.count * s.dim;
        }
      }
      return parts.length === 1 ? parts[0] : tf.concat(parts, 0);
    });
  }

  /**
   * Turn `rows` raw rows (row-major, `spec.size` each) into the input arrays of
   * {@link FeatureEncoder.apply}. Throws on a categorical code outside its vocabulary.
   */
  prepare(raw: Float32Array, rows: number): Float32Array[] {
    const F = this.spec.size;
    if (raw.length !== rows * F) {
      throw new Error(`${this.name} encoder: expected ${rows}×${F} values, got ${raw.length}`);
    }
    return this.#segments.map((s) => {
      if (s.kind === "identity") {
        if (s.ranges.length === 1 && s.ranges[0][0] === 0 && s.ranges[0][1] === F) return raw;
        return gatherColumns(raw, rows, F, s.ranges, s.width);
      }
      if (s.kind === "onehot") {
        if (s.offset === 0 && s.size === F) return raw;
        return gatherColumns(raw, rows, F, [[s.offset, s.offset + s.size]], s.size);
      }
      const codes = gatherColumns(raw, rows, F, s.ranges, s.count);
      try {
        return oneHotCodes(codes, s.vocab);
      } catch (e) {
        throw new Error(`${this.name} encoder: ${(e as Error).message}`);
      }
    });
  }

  /** Encode prepared inputs (as tensors, shapes from {@link FeatureEncoder.inputShape}): [rows, outSize]. */
  apply(inputs: tf.Tensor2D[], weights: Record<string, tf.Tensor>, rows: number): tf.Tensor2D {
    if (inputs.length !== this.#segments.length) {
      throw new Error(
        `${this.name} encoder: expected ${this.#segments.length} inputs, got ${inputs.length}`,
      );
    }
    const outs = this.#segments.map((s, i) => {
      if (s.kind === "identity") return inputs[i];
      const table = weights[s.param] as tf.Tensor2D | undefined;
      if (table === undefined) throw new Error(`${this.name} encoder: missing weight "${s.param}"`);
      if (s.kind === "onehot") return embedOneHot(inputs[i], table);
      return embedCategorical(inputs[i], table, rows, s.count);
    });
    return outs.length === 1 ? outs[0] : tf.concat(outs, 1);
  }
}

function gatherColumns(
  raw: Float32Array,
  rows: number,
  F: number,
  ranges: [number, number][],
  width: number,
): Float32Array {
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    let o = r * width;
    for (const [a, b] of ranges) {
      out.set(raw.subarray(r * F + a, r * F + b), o);
      o += b - a;
    }
  }
  return out;
}
