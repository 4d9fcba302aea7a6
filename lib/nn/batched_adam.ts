/**
 * Adam over K independent runs' stacked parameters ([K, ...shape]), with a step count per run and
 * per-run masked updates: a run left out of a step keeps its parameters, moments and step count
 * exactly. For the runs that step, the update is PyTorch's (`torch.optim.Adam`) at step t:
 * m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²;  p ← p - (lr / (1-β1ᵗ)) · m / (√v / √(1-β2ᵗ) + ε),
 * with that run's own bias corrections, so a run's update does not depend on the other runs. On the wasm and cpu backend families each parameter is updated
 * in one fused pass (./fused_adam.ts); elsewhere with tfjs ops.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Variable } from "./tensors.ts";
import { hostView } from "./storage.ts";
import { fusedAdamAvailable, fusedAdamStep } from "./fused_adam.ts";

/** Hyper-parameters of {@link BatchedAdam}. */
export interface AdamOptions {
  /** Learning rate (default 1e-4, algorithms.md §4): one for every run, or one per run. */
  lr?: number | readonly number[];
  /** ε added to the denominator (default 1e-4, algorithms.md §4). */
  eps?: number;
  /** First-moment decay (default 0.9). */
  beta1?: number;
  /** Second-moment decay (default 0.999). */
  beta2?: number;
}

/** The saved state of one run's optimizer (its moments and step count). */
export interface AdamState {
  /** Steps taken so far. */
  step: number;
  /** First moments by parameter name. */
  m: Record<string, { shape: number[]; data: Float32Array }>;
  /** Second moments by parameter name. */
  v: Record<string, { shape: number[]; data: Float32Array }>;
}

/**
 * Per-run Adam over stacked variables.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { BatchedAdam } from "./batched_adam.ts";
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.tensor2d([[1], [1]])); // two runs, one parameter each
 * const opt = new BatchedAdam({ w }, 2, { lr: 0.1 });
 * opt.apply({ w: tf.tensor2d([[2], [2]]) }, [true, false]); // only run 0 steps
 * console.log(Array.from(w.dataSync()), opt.steps); // [≈0.9, 1] [1, 0]
 * ```
 */
export class BatchedAdam {
  /** Learning rate of each run. */
  readonly lr: readonly number[];
  /** ε of the denominator. */
  readonly eps: number;
  /** First-moment decay. */
  readonly beta1: number;
  /** Second-moment decay. */
  readonly beta2: number;
  /** Number of runs K. */
  readonly size: number;
  readonly #steps: number[];
  readonly #params: Record<string, tf.Variable>;
  readonly #m: Record<string, tf.Variable> = {};
  readonly #v: Record<string, tf.Variable> = {};

  /** Optimise the stacked `params` of `size` runs; moments start at zero, step counts at 0. */
  constructor(params: Record<string, Variable>, size: number, options: AdamOptions = {}) {
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`BatchedAdam: invalid number of runs ${size}; expected an integer ≥ 1`);
    }
    const lr = options.lr ?? 1e-4;
    if (typeof lr !== "number" && lr.length !== size) {
      throw new Error(`BatchedAdam: ${lr.length} learning rates for ${size} runs`);
    }
    this.lr = Object.freeze(
      typeof lr === "number"
        ? new Array<number>(size).fill(checkPositive("lr", lr))
        : lr.map((x, k) => checkPositive(`lr of run ${k}`, x)),
    );
    this.eps = checkPositive("eps", options.eps ?? 1e-4);
    this.beta1 = checkBeta("beta1", options.beta1 ?? 0.9);
    this.beta2 = checkBeta("beta2", options.beta2 ?? 0.999);
    this.size = size;
    this.#steps = new Array(size).fill(0);
    this.#params = { ...params };
    for (const [name, p] of Object.entries(params)) {
      if (p.shape[0] !== size) {
        throw new Error(
          `BatchedAdam: parameter "${name}" [${p.shape}] is not stacked over ${size}`,
        );
      }
      const zeros = tf.zerosLike(p);
      this.#m[name] = tf.variable(zeros, false);
      this.#v[name] = tf.variable(zeros, false);
      zeros.dispose();
    }
  }

  /** Steps taken so far by each run. */
  get steps(): readonly number[] {
    return [...this.#steps];
  }

  /**
   * One step for the runs with `active[k]` true, with the given stacked gradients (by parameter
   * name; missing names are skipped). Inactive runs are left exactly as they were (their gradient
   * rows are ignored; they must be finite).
   */
  apply(grads: Record<string, Tensor>, active: readonly boolean[]): void {
    if (active.length !== this.size) {
      throw new Error(`BatchedAdam.apply: ${active.length} flags for ${this.size} runs`);
    }
    for (const name of Object.keys(grads)) {
      if (!(name in this.#params)) {
        throw new Error(`BatchedAdam.apply: gradient for unknown parameter "${name}"`);
      }
    }
    if (!active.some(Boolean)) return;
    const all = active.every(Boolean);
    const K = this.size;
    const stepSize = new Float32Array(K), sqrtBc2 = new Float32Array(K), mask = new Float32Array(K);
    for (let k = 0; k < K; k++) {
      if (active[k]) this.#steps[k]++;
      // Inactive runs get finite, unused values.
      const t = active[k] ? this.#steps[k] : this.#steps[k] + 1;
      stepSize[k] = this.lr[k] / (1 - this.beta1 ** t);
      sqrtBc2[k] = Math.sqrt(1 - this.beta2 ** t);
      mask[k] = active[k] ? 1 : 0;
    }
    const { beta1, beta2, eps } = this;
    if (fusedAdamAvailable(tf.engine().backendName)) {
      const runs = { stepSize, sqrtBc2, active };
      tf.tidy(() => {
        for (const [name, p] of Object.entries(this.#params)) {
          const g = grads[name];
          if (g === undefined || g === null) continue;
          const [np, nm, nv] = fusedAdamStep(p, this.#m[name], this.#v[name], g, runs, {
            beta1,
            beta2,
            eps,
          });
          p.assign(np);
          this.#m[name].assign(nm);
          this.#v[name].assign(nv);
        }
      });
      return;
    }
    tf.tidy(() => {
      const byRank = new Map<
        number,
        { ss: tf.Tensor; bc: tf.Tensor; on: tf.Tensor; off: tf.Tensor }
      >();
      const perRun = (rank: number) => {
        let r = byRank.get(rank);
        if (r === undefined) {
          const shape = [K, ...new Array(rank - 1).fill(1)];
          r = {
            ss: tf.tensor(stepSize, shape),
            bc: tf.tensor(sqrtBc2, shape),
            on: tf.tensor(mask, shape),
            off: tf.sub(1, tf.tensor(mask, shape)),
          };
          byRank.set(rank, r);
        }
        return r;
      };
      for (const [name, p] of Object.entries(this.#params)) {
        const g = grads[name];
        if (g === undefined || g === null) continue;
        const { ss, bc, on, off } = perRun(p.rank);
        const m = tf.add(tf.mul(this.#m[name], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.#v[name], beta2), tf.mul(tf.square(g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), bc), eps);
        const next = tf.sub(p, tf.mul(tf.div(m, denom), ss));
        if (all) {
          p.assign(next);
          this.#m[name].assign(m);
          this.#v[name].assign(v);
        } else { // x·1 + y·0 = x and x·0 + y·1 = y exactly for finite x, y
          const blend = (a: tf.Tensor, b: tf.Tensor) => tf.add(tf.mul(a, on), tf.mul(b, off));
          p.assign(blend(next, p));
          this.#m[name].assign(blend(m, this.#m[name]));
          this.#v[name].assign(blend(v, this.#v[name]));
        }
      }
    });
  }

  /** Run k's optimizer state (unstacked moments). */
  getState(k: number): AdamState {
    const m: AdamState["m"] = {}, v: AdamState["v"] = {};
    for (const [name, p] of Object.entries(this.#params)) {
      m[name] = { shape: p.shape.slice(1), data: readRun(this.#m[name], k) };
      v[name] = { shape: p.shape.slice(1), data: readRun(this.#v[name], k) };
    }
    return { step: this.#steps[k], m, v };
  }

  /** Set run k's state from {@link BatchedAdam.getState}'s format (names and shapes must match). */
  setState(k: number, state: AdamState): void {
    if (!Number.isInteger(k) || k < 0 || k >= this.size) {
      throw new Error(`BatchedAdam.setState: run ${k} out of range 0..${this.size - 1}`);
    }
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new Error(
        `BatchedAdam.setState: invalid step ${state.step}; expected a non-negative integer`,
      );
    }
    for (const [name, p] of Object.entries(this.#params)) {
      for (const [kind, src] of [["m", state.m], ["v", state.v]] as const) {
        const s = src[name];
        if (s === undefined) {
          throw new Error(`BatchedAdam.setState: missing moment ${kind} of "${name}"`);
        }
        checkShape(s, p.shape.slice(1), `Adam ${kind} of "${name}"`);
      }
    }
    for (const name of Object.keys(this.#params)) {
      setRun(this.#m[name], k, state.m[name].data);
      setRun(this.#v[name], k, state.v[name].data);
    }
    this.#steps[k] = state.step;
  }

  /** Free the moment tensors (not the parameters). */
  dispose(): void {
    for (const name of Object.keys(this.#params)) {
      this.#m[name].dispose();
      this.#v[name].dispose();
    }
  }
}

/** Replace run k's slice of a stacked variable (the rest is kept). */
export function setRun(v: Variable, k: number, data: ArrayLike<number>): void {
  const K = v.shape[0], n = v.size / K;
  if (!Number.isInteger(k) || k < 0 || k >= K) throw new Error(`run ${k} out of range 0..${K - 1}`);
  if (data.length !== n) throw new Error(`run ${k}: ${data.length} values, expected ${n}`);
  const full = Float32Array.from(v.dataSync() as Float32Array);
  full.set(data, k * n);
  tf.tidy(() => v.assign(tf.tensor(full, v.shape)));
}

/** Throw unless `s` has exactly `shape`. */
export function checkShape(
  s: { shape: readonly number[]; data: ArrayLike<number> },
  shape: readonly number[],
  what: string,
): void {
  const same = s.shape.length === shape.length && s.shape.every((d, i) => d === shape[i]);
  const n = shape.reduce((a, b) => a * b, 1);
  if (!same || s.data.length !== n) {
    throw new Error(
      `${what}: shape [${s.shape}] with ${s.data.length} values, expected [${shape}]`,
    );
  }
}

function checkPositive(name: string, x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) {
    throw new Error(`BatchedAdam: ${name} must be positive, got ${x}`);
  }
  return x;
}

function checkBeta(name: string, x: number): number {
  if (!(x >= 0 && x < 1)) throw new Error(`BatchedAdam: ${name} must lie in [0, 1), got ${x}`);
  return x;
}

/** Run k's slice of a stacked tensor, as a fresh array. */
export function readRun(t: Tensor, k: number): Float32Array {
  const K = t.shape[0];
  if (!Number.isInteger(k) || k < 0 || k >= K) {
    throw new Error(`run index ${k} out of range 0..${K - 1}`);
  }
  const n = t.size / K;
  return hostView(t).slice(k * n, (k + 1) * n);
}
