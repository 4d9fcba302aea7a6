/**
 * Adam with PyTorch's update rule and a snapshot-able state (moments and step count), so a
 * checkpointed run resumes with exactly the optimizer it had.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Variable } from "./tensors.ts";

/** Hyper-parameters of {@link Adam}. */
export interface AdamOptions {
  /** Learning rate (default 1e-4, algorithms.md §4). */
  lr?: number;
  /** ε added to the denominator (default 1e-4, algorithms.md §4). */
  eps?: number;
  /** First-moment decay (default 0.9). */
  beta1?: number;
  /** Second-moment decay (default 0.999). */
  beta2?: number;
}

/** The saved state of an {@link Adam} optimizer. */
export interface AdamState {
  /** Steps taken so far. */
  step: number;
  /** First moments by parameter name. */
  m: Record<string, { shape: number[]; data: Float32Array }>;
  /** Second moments by parameter name. */
  v: Record<string, { shape: number[]; data: Float32Array }>;
}

/**
 * Adam over a fixed, named set of variables. Update at step t (as `torch.optim.Adam`):
 * m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²;
 * p ← p - (lr / (1-β1ᵗ)) · m / (√v / √(1-β2ᵗ) + ε).
 * Parameters without a gradient in a step are left alone (moments included); the step count is
 * shared, which equals PyTorch's per-parameter count when every parameter gets a gradient each
 * step (true for the agents here).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Adam } from "./adam.ts";
 * const w = tf.variable(tf.tensor1d([1]));
 * const opt = new Adam({ w }, { lr: 0.1 });
 * opt.apply({ w: tf.tensor1d([2]) });
 * console.log(w.dataSync()[0]); // ≈ 0.9: the first step moves by about lr
 * ```
 */
export class Adam {
  /** Learning rate. */
  readonly lr: number;
  /** ε of the denominator. */
  readonly eps: number;
  /** First-moment decay. */
  readonly beta1: number;
  /** Second-moment decay. */
  readonly beta2: number;
  #step = 0;
  readonly #params: Record<string, Variable>;
  readonly #m: Record<string, Variable> = {};
  readonly #v: Record<string, Variable> = {};

  /** Optimise `params` (by name); moments start at zero. */
  constructor(params: Record<string, Variable>, options: AdamOptions = {}) {
    this.lr = checkPositive("lr", options.lr ?? 1e-4);
    this.eps = checkPositive("eps", options.eps ?? 1e-4);
    this.beta1 = checkBeta("beta1", options.beta1 ?? 0.9);
    this.beta2 = checkBeta("beta2", options.beta2 ?? 0.999);
    this.#params = { ...params };
    for (const [name, p] of Object.entries(params)) {
      const zeros = tf.zerosLike(p);
      this.#m[name] = tf.variable(zeros, false);
      this.#v[name] = tf.variable(zeros, false);
      zeros.dispose();
    }
  }

  /** Steps taken so far. */
  get step(): number {
    return this.#step;
  }

  /** Take one step with the given gradients (by parameter name; missing names are skipped). */
  apply(grads: Record<string, Tensor>): void {
    for (const name of Object.keys(grads)) {
      if (!(name in this.#params)) {
        throw new Error(`Adam.apply: gradient for unknown parameter "${name}"`);
      }
    }
    this.#step++;
    const t = this.#step;
    const stepSize = this.lr / (1 - this.beta1 ** t);
    const sqrtBc2 = Math.sqrt(1 - this.beta2 ** t);
    const { beta1, beta2, eps } = this;
    tf.tidy(() => {
      for (const [name, p] of Object.entries(this.#params)) {
        const g = grads[name];
        if (g === undefined || g === null) continue;
        const m = tf.add(tf.mul(this.#m[name], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.#v[name], beta2), tf.mul(tf.square(g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), sqrtBc2), eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
        this.#m[name].assign(m);
        this.#v[name].assign(v);
      }
    });
  }

  /** Copy out the step count and both moments. */
  getState(): AdamState {
    const m: AdamState["m"] = {}, v: AdamState["v"] = {};
    for (const name of Object.keys(this.#params)) {
      m[name] = { shape: [...this.#m[name].shape], data: copyData(this.#m[name]) };
      v[name] = { shape: [...this.#v[name].shape], data: copyData(this.#v[name]) };
    }
    return { step: this.#step, m, v };
  }

  /** Restore a state from {@link Adam.getState} (names and shapes must match). */
  setState(state: AdamState): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new Error(`Adam.setState: invalid step ${state.step}; expected a non-negative integer`);
    }
    for (const name of Object.keys(this.#params)) {
      for (const [kind, vars, src] of [["m", this.#m, state.m], ["v", this.#v, state.v]] as const) {
        const s = src[name];
        if (s === undefined) throw new Error(`Adam.setState: missing moment ${kind} of "${name}"`);
        assignChecked(vars[name], s, `Adam ${kind} of "${name}"`);
      }
    }
    this.#step = state.step;
  }

  /** Free the moment tensors (not the parameters). */
  dispose(): void {
    for (const name of Object.keys(this.#params)) {
      this.#m[name].dispose();
      this.#v[name].dispose();
    }
  }
}

/** A fresh copy of a tensor's values. */
export function copyData(t: Tensor): Float32Array {
  return Float32Array.from(t.dataSync() as Float32Array);
}

/** Assign `{shape, data}` into a variable after checking the shape; `what` names it in errors. */
export function assignChecked(
  v: Variable,
  src: { shape: readonly number[]; data: ArrayLike<number> },
  what: string,
): void {
  const same = src.shape.length === v.shape.length && src.shape.every((d, i) => d === v.shape[i]);
  if (!same || src.data.length !== v.size) {
    throw new Error(
      `${what}: shape [${src.shape}] with ${src.data.length} values does not match [${v.shape}]`,
    );
  }
  tf.tidy(() => v.assign(tf.tensor(Float32Array.from(src.data), [...v.shape])));
}

function checkPositive(name: string, x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new Error(`Adam: ${name} must be positive, got ${x}`);
  return x;
}

function checkBeta(name: string, x: number): number {
  if (!(x >= 0 && x < 1)) throw new Error(`Adam: ${name} must lie in [0, 1), got ${x}`);
  return x;
}
