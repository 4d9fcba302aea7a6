/**
 * The losses of the five DQN-family algorithms (paper section 4.4; algorithms.md §2), as pure
 * functions of tensors. All inputs are per-step rows (N steps, |A| actions); a row-mask excludes
 * padding steps. Every bootstrapped quantity passes through a stop-gradient (the paper's SG[·]), so
 * no gradient reaches the target networks through these functions.
 *
 * Targets (Q̄, Ū are the target networks):
 * - a*_t = argmax_a Q̄(h_{t+1}, a), first maximal index on ties;
 * - y_t  = r_t + γ m_t Ū(h_{t+1}, s_{t+1}, a*_t)  (ADQN, ADQN-VR);
 * - yˢ_t = r_t + γ m_t Ū(s_{t+1}, a*_t)  (ADQN-State, ADQN-State-VR);
 * where m_t = 0 where the target must not bootstrap (the last stored step of an episode) and 1
 * otherwise. Means are over the unmasked steps (and over actions for the variance-reduced Q-loss).
 * The optimised total is (L_U + L_Q) / 2, or L_Q alone for DQN.
 *
 * The same functions serve K runs at once: with a `reduce` that averages within each run's rows,
 * every loss is a [K] vector of per-run losses (lib/models/batched_agent.ts), with the same ops.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor1D, Tensor2D } from "../nn/tensors.ts";
import { stopGradient } from "../nn/dense.ts";

/** The per-step data every loss reads. */
export interface TdInputs {
  /** Actions a_t, int32 [N]. */
  actions: Tensor1D;
  /** Rewards r_t [N]. */
  rewards: Tensor1D;
  /** m_t [N]: 1 where the target bootstraps from step t+1, 0 where it does not. */
  continues: Tensor1D;
  /** 1 for real steps, 0 for padding [N] (default: every step counts). */
  mask?: Tensor1D;
  /**
   * How per-step values [N] are averaged (default: {@link maskedMean} with `mask`, a scalar). K
   * runs whose rows are stacked pass a mean within each run's rows; the losses then have its shape.
   */
  reduce?: (values: Tensor1D) => Tensor;
  /** Discount γ. */
  gamma: number;
}

/** The online Q values and the target network's Q̄ at the next steps (every loss needs them). */
export interface QInputs extends TdInputs {
  /** Q(h_t, ·) of the online network [N, |A|]. */
  q: Tensor2D;
  /** Q̄(h_{t+1}, ·) of the target network [N, |A|] (rows with m_t = 0 are ignored). */
  targetQNext: Tensor2D;
}

/** Inputs of the asymmetric losses (ADQN, ADQN-State). */
export interface AsymInputs extends QInputs {
  /** U(h_t, s_t, ·) (ADQN) or U(s_t, ·) (ADQN-State) of the online network [N, |A|]. */
  u: Tensor2D;
  /** Ū(h_{t+1}, s_{t+1}, ·) or Ū(s_{t+1}, ·) of the target network [N, |A|]. */
  targetUNext: Tensor2D;
}

/** Inputs of the variance-reduced losses (ADQN-VR, ADQN-State-VR). */
export interface VrInputs extends AsymInputs {
  /** Ū(h_t, s_t, ·) or Ū(s_t, ·) of the target network [N, |A|]. */
  targetU: Tensor2D;
}

/** The losses a loss function returns: scalars, or the shape of the inputs' `reduce`. */
export type LossTensors<T extends Tensor = Scalar> = {
  /** The optimised total: (L_U + L_Q) / 2, or L_Q for DQN. */
  loss: T;
  /** L_Q. */
  lossQ: T;
  /** L_U (zero for DQN). */
  lossU: T;
};

/**
 * DQN (paper eq. 3, with histories): L_Q = mean_t (Q(h_t, a_t) - [r_t + γ m_t max_a Q̄(h_{t+1}, a)])².
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { dqnLoss } from "./losses.ts";
 * const { lossQ } = dqnLoss({
 *   q: tf.tensor2d([[1, 0]]), targetQNext: tf.tensor2d([[0, 0]]),
 *   actions: tf.tensor1d([0], "int32"), rewards: tf.tensor1d([3]), continues: tf.tensor1d([0]),
 *   gamma: 0.9,
 * });
 * console.log(lossQ.dataSync()[0]); // (1 - 3)² = 4
 * ```
 */
export function dqnLoss<T extends Tensor = Scalar>(x: QInputs): LossTensors<T> {
  return tf.tidy(() => {
    checkRows(x);
    const y = stopGradient(
      tf.add(x.rewards, tf.mul(tf.mul(x.continues, x.gamma), tf.max(x.targetQNext, 1))),
    );
    const lossQ = reduce(x, tf.square(tf.sub(pick(x.q, x.actions), y)));
    return { loss: lossQ, lossQ: tf.clone(lossQ), lossU: tf.zerosLike(lossQ) } as LossTensors<T>;
  });
}

/**
 * ADQN (paper eqs. 16-17): L_U = mean_t (U(h_t, s_t, a_t) - y_t)², L_Q = mean_t (Q(h_t, a_t) - y_t)²,
 * y_t = r_t + γ m_t Ū(h_{t+1}, s_{t+1}, argmax_a Q̄(h_{t+1}, a)); total (L_U + L_Q) / 2.
 */
export function adqnLoss<T extends Tensor = Scalar>(x: AsymInputs): LossTensors<T> {
  return tf.tidy(() => {
    checkRows(x, { u: x.u, targetUNext: x.targetUNext });
    const y = asymTarget(x);
    const lossU = reduce(x, tf.square(tf.sub(pick(x.u, x.actions), y)));
    const lossQ = reduce(x, tf.square(tf.sub(pick(x.q, x.actions), y)));
    return total<T>(lossQ, lossU);
  });
}

/**
 * ADQN-VR (paper eqs. 18-19): L_U as {@link adqnLoss}; L_Q = mean_{t,a} (Q(h_t, a) - Ū(h_t, s_t, a))²
 * over all actions; total (L_U + L_Q) / 2.
 */
export function adqnVrLoss<T extends Tensor = Scalar>(x: VrInputs): LossTensors<T> {
  return tf.tidy(() => {
    checkRows(x, { u: x.u, targetUNext: x.targetUNext, targetU: x.targetU });
    const y = asymTarget(x);
    const lossU = reduce(x, tf.square(tf.sub(pick(x.u, x.actions), y)));
    const perStep: Tensor1D = tf.mean(
      tf.square(tf.sub(x.q, stopGradient(x.targetU))),
      1,
    ) as Tensor1D;
    const lossQ = reduce(x, perStep);
    return total<T>(lossQ, lossU);
  });
}

/**
 * ADQN-State (paper eqs. 20-21): as {@link adqnLoss} with U(s_t, ·) and Ū(s_{t+1}, ·):
 * yˢ_t = r_t + γ m_t Ū(s_{t+1}, argmax_a Q̄(h_{t+1}, a)).
 */
export function adqnStateLoss<T extends Tensor = Scalar>(x: AsymInputs): LossTensors<T> {
  return adqnLoss<T>(x);
}

/**
 * ADQN-State-VR (paper eqs. 22-23): as {@link adqnVrLoss} with U(s_t, ·), Ū(s_{t+1}, ·) and
 * L_Q = mean_{t,a} (Q(h_t, a) - Ū(s_t, a))².
 */
export function adqnStateVrLoss<T extends Tensor = Scalar>(x: VrInputs): LossTensors<T> {
  return adqnVrLoss<T>(x);
}

/** a*_t = argmax_a Q̄(h_{t+1}, a), first maximal index on ties, as int32 [N]. */
export function greedyActions(targetQNext: Tensor2D): Tensor1D {
  return tf.argMax(targetQNext, 1) as Tensor1D;
}

/** v[t, a_t] for each row t: `v` [N, |A|], `actions` int32 [N] (differentiable in `v`). */
export function pick(v: Tensor2D, actions: Tensor1D): Tensor1D {
  return tf.sum(tf.mul(v, tf.oneHot(actions, v.shape[1])), 1) as Tensor1D;
}

/** mean of `values` [N] over rows with mask 1 (plain mean without a mask). */
export function maskedMean(values: Tensor1D, mask?: Tensor1D): Scalar {
  if (mask === undefined) return tf.mean(values) as Scalar;
  return tf.div(tf.sum(tf.mul(values, mask)), tf.maximum(tf.sum(mask), 1)) as Scalar;
}

function asymTarget(x: AsymInputs): Tensor1D {
  const a = greedyActions(x.targetQNext);
  const next = pick(x.targetUNext, a);
  return stopGradient(tf.add(x.rewards, tf.mul(tf.mul(x.continues, x.gamma), next)));
}

/** The inputs' reduction of per-step values (default: the masked mean). */
function reduce(x: TdInputs, values: Tensor1D): Tensor {
  return x.reduce ? x.reduce(values) : maskedMean(values, x.mask);
}

function total<T extends Tensor>(lossQ: Tensor, lossU: Tensor): LossTensors<T> {
  return { loss: tf.div(tf.add(lossU, lossQ), 2), lossQ, lossU } as LossTensors<T>;
}

function checkRows(x: QInputs, more: Record<string, Tensor2D> = {}): void {
  const [N, A] = x.q.shape;
  const bad = (t: Tensor, shape: number[]) =>
    t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]);
  const problems: string[] = [];
  for (const [name, t] of Object.entries({ targetQNext: x.targetQNext, ...more })) {
    if (t === undefined) problems.push(`${name} missing`);
    else if (bad(t, [N, A])) problems.push(`${name} [${t.shape}]`);
  }
  const rows = { actions: x.actions, rewards: x.rewards, continues: x.continues, mask: x.mask };
  for (const [name, t] of Object.entries(rows)) {
    if (t !== undefined && bad(t, [N])) problems.push(`${name} [${t.shape}]`);
  }
  if (x.actions.dtype !== "int32") problems.push(`actions dtype ${x.actions.dtype} (need int32)`);
  if (!Number.isFinite(x.gamma) || x.gamma < 0 || x.gamma > 1) problems.push(`gamma ${x.gamma}`);
  if (problems.length > 0) {
    throw new Error(`loss: inputs do not fit q [${N}, ${A}]: ${problems.join(", ")}`);
  }
}
