/**
 * A one-layer GRU over whole sequences with hand-written backpropagation through time.
 *
 * Gates follow PyTorch's `nn.GRU` (in tfjs terms `resetAfter: true`, sigmoid recurrent
 * activation), with the gate blocks ordered r, z, n along the 3H axis:
 *
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr)
 *   z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
 *   h' = (1 - z) ⊙ n + z ⊙ h
 *
 * Weights are stored input-major for plain products: `wi` [I, 3H] (PyTorch's `weight_ih_l0`
 * transposed), `wh` [H, 3H], `bi` and `bh` [3H].
 *
 * Speed (wasm backend): the input projections of all steps are one product (a {@link dense}
 * layer). The recurrence makes one small `h · wh` product per step on the backend and does the gate
 * arithmetic in JavaScript on the read-back values, so a step costs one kernel call instead of a
 * dozen; no op ever slices the whole sequence (wasm's `slice` copies its entire input, which makes
 * per-step slicing O(T²)). The backward pass likewise makes one `dgh · whᵀ` product per step and
 * then computes the weight gradients of all steps in one product each. This needs synchronous
 * reads (`dataSync`), i.e. the wasm or cpu backend.
 *
 * Sequences are stored time-major and flattened: row `t·B + b` is step t of sequence b.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D } from "./tensors.ts";
import { dense } from "./dense.ts";
import {
  gruBackwardHost,
  type GruBackwardOutputs,
  gruForwardHost,
  type GruTrace,
  newGruTrace,
  type RowProduct,
} from "./gru_host.ts";

/** The weights of one GRU layer (see the module doc for the layout). */
export interface GruWeights {
  /** Input weights [I, 3H], gate blocks r, z, n. */
  wi: Tensor2D;
  /** Recurrent weights [H, 3H], gate blocks r, z, n. */
  wh: Tensor2D;
  /** Input bias [3H]. */
  bi: Tensor1D;
  /** Recurrent bias [3H]. */
  bh: Tensor1D;
}

/** Options of {@link gruSequence}. */
export interface GruSequenceOptions {
  /**
   * Record the gradient (default true). With false the recurrence is computed without a tape
   * record: faster, and no gradient can reach the GRU weights (used for target networks).
   */
  grad?: boolean;
  /** Whether the gradient flows back into `x` (default true). */
  inputGrad?: boolean;
}

/**
 * Run a GRU over `batch` sequences of `steps` steps from a zero initial state.
 *
 * @param x Inputs [steps·batch, I], time-major (row t·batch + b).
 * @returns Hidden states h_0..h_{steps-1} after each input, [steps·batch, H], time-major.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { gruSequence } from "./gru.ts";
 * const H = 2, I = 3;
 * const w = { wi: tf.ones([I, 3 * H]) as Tensor2D, wh: tf.ones([H, 3 * H]) as Tensor2D,
 *   bi: tf.zeros([3 * H]) as Tensor1D, bh: tf.zeros([3 * H]) as Tensor1D };
 * const h = gruSequence(tf.zeros([4 * 2, I]), w, 4, 2);
 * console.log(h.shape); // [8, 2]
 * ```
 */
export function gruSequence(
  x: Tensor2D,
  weights: GruWeights,
  steps: number,
  batch: number,
  options: GruSequenceOptions = {},
): Tensor2D {
  checkShapes(weights, x.shape[1]);
  if (x.shape[0] !== steps * batch) {
    throw new Error(
      `gruSequence: x has ${x.shape[0]} rows, expected steps·batch = ${steps * batch}`,
    );
  }
  const gi = dense(x, weights.wi, weights.bi, { inputGrad: options.inputGrad ?? true });
  return (options.grad ?? true)
    ? gruRecurrence(gi, weights.wh, weights.bh, steps, batch)
    : gruRecurrenceNoGrad(gi, weights.wh, weights.bh, steps, batch);
}

/**
 * The recurrence of {@link gruSequence} given precomputed input projections `gi` = x·wi + bi
 * [steps·batch, 3H], differentiable in `gi`, `wh` and `bh` (hand-written BPTT via tf.customGrad).
 * Zero initial state.
 */
export function gruRecurrence(
  gi: Tensor2D,
  wh: Tensor2D,
  bh: Tensor1D,
  steps: number,
  batch: number,
): Tensor2D {
  const H = checkRecurrence(gi, wh, bh, steps, batch);
  const op = tf.customGrad((giT, whT, bhT, save) => {
    (save as tf.GradSaveFunc)([whT as Tensor]); // intermediates are disposed before backprop
    const trace = newGruTrace(steps * batch * H);
    const hs = runForward(
      (giT as Tensor).dataSync() as Float32Array,
      steps,
      batch,
      H,
      whT as Tensor2D,
      (bhT as Tensor).dataSync() as Float32Array,
      null,
      trace,
    );
    return {
      value: tf.tensor2d(hs, [steps * batch, H]),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const { dGi, dGh, dbh, hPrev } = runBackward(
          dy.dataSync() as Float32Array,
          steps,
          batch,
          H,
          saved[0] as Tensor2D,
          hs,
          trace,
        );
        const dGhT = tf.tensor2d(dGh, [steps * batch, 3 * H]);
        const hPrevT = tf.tensor2d(hPrev, [steps * batch, H]);
        const dWh = tf.matMul(tf.transpose(hPrevT), dGhT);
        return [tf.tensor2d(dGi, [steps * batch, 3 * H]), dWh, tf.tensor1d(dbh)];
      },
    };
  });
  return op(gi, wh, bh) as Tensor2D;
}

/** {@link gruRecurrence} without gradient bookkeeping (no gradient reaches its inputs). */
export function gruRecurrenceNoGrad(
  gi: Tensor2D,
  wh: Tensor2D,
  bh: Tensor1D,
  steps: number,
  batch: number,
  h0?: Float32Array,
): Tensor2D {
  const H = checkRecurrence(gi, wh, bh, steps, batch);
  if (h0 !== undefined && h0.length !== batch * H) {
    throw new Error(`gruRecurrenceNoGrad: h0 has ${h0.length} values, expected ${batch * H}`);
  }
  const hs = runForward(
    gi.dataSync() as Float32Array,
    steps,
    batch,
    H,
    wh,
    bh.dataSync() as Float32Array,
    h0 ?? null,
    null,
  );
  return tf.tensor2d(hs, [steps * batch, H]);
}

/**
 * One GRU step on host arrays, for acting: `gi` = x·wi + bi [batch·3H], `h` [batch·H] (not
 * modified), `bh` the recurrent bias values [3H]. Returns the next hidden state [batch·H].
 */
export function gruCell(
  gi: Float32Array,
  h: Float32Array,
  wh: Tensor2D,
  bh: Float32Array,
  batch = 1,
): Float32Array {
  const H = wh.shape[0];
  if (gi.length !== batch * 3 * H || h.length !== batch * H || bh.length !== 3 * H) {
    throw new Error(
      `gruCell: expected gi ${batch * 3 * H}, h ${batch * H}, bh ${3 * H} values; got ` +
        `${gi.length}, ${h.length}, ${bh.length}`,
    );
  }
  return runForward(gi, 1, batch, H, wh, bh, h, null);
}

/**
 * The same GRU written with plain tfjs ops and left to tfjs's autodiff (slow: per-step slicing and
 * transposed products). A reference for tests, and a fallback for backends without synchronous
 * reads.
 */
export function gruSequenceReference(
  x: Tensor2D,
  weights: GruWeights,
  steps: number,
  batch: number,
  h0?: Tensor2D,
): Tensor2D {
  const H = checkShapes(weights, x.shape[1]);
  const gi = tf.add(tf.matMul(x, weights.wi), weights.bi);
  let h: Tensor2D = h0 ?? tf.zeros([batch, H]);
  const outs: Tensor2D[] = [];
  for (let t = 0; t < steps; t++) {
    const git = tf.slice(gi, [t * batch, 0], [batch, 3 * H]);
    const gh = tf.add(tf.matMul(h, weights.wh), weights.bh);
    const [gir, giz, gin] = tf.split(git, 3, 1);
    const [ghr, ghz, ghn] = tf.split(gh, 3, 1);
    const r = tf.sigmoid(tf.add(gir, ghr));
    const z = tf.sigmoid(tf.add(giz, ghz));
    const n = tf.tanh(tf.add(gin, tf.mul(r, ghn)));
    h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as Tensor2D;
    outs.push(h);
  }
  return tf.concat(outs, 0);
}

// ---------------------------------------------------------------------------------------------
// Host-side kernels: ./gru_host.ts's loops with products on the backend.

/**
 * A rows × cols host matrix times a backend matrix, read back (the per-step product of the GRU
 * recurrence on backends without a native BLAS).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { hostMatMul } from "./gru.ts";
 * await tf.setBackend("cpu");
 * const w = tf.tensor2d([[1, 2], [3, 4]]);
 * console.log(Array.from(hostMatMul(Float32Array.of(1, 1), 1, 2, w))); // [4, 6]
 * ```
 */
export function hostMatMul(
  a: Float32Array,
  rows: number,
  cols: number,
  w: Tensor2D,
): Float32Array {
  const at = tf.tensor2d(a, [rows, cols]);
  const y = tf.matMul(at, w);
  const out = y.dataSync() as Float32Array;
  at.dispose();
  y.dispose();
  return out;
}

function runForward(
  gi: Float32Array,
  steps: number,
  batch: number,
  H: number,
  wh: Tensor2D,
  bh: Float32Array,
  h0: Float32Array | null,
  trace: GruTrace | null,
): Float32Array {
  const hs = new Float32Array(steps * batch * H);
  const mul: RowProduct = (a, rows) => hostMatMul(a, rows, H, wh);
  gruForwardHost(gi, steps, batch, H, mul, bh, h0, trace, hs);
  return hs;
}

function runBackward(
  dH: Float32Array,
  steps: number,
  batch: number,
  H: number,
  wh: Tensor2D,
  hs: Float32Array,
  trace: GruTrace,
): GruBackwardOutputs {
  const rows = steps * batch;
  const out: GruBackwardOutputs = {
    dGi: new Float32Array(rows * 3 * H),
    dGh: new Float32Array(rows * 3 * H),
    dbh: new Float32Array(3 * H),
    hPrev: new Float32Array(rows * H),
  };
  const whT = tf.transpose(wh);
  try {
    gruBackwardHost(dH, steps, batch, H, (a, n) => hostMatMul(a, n, 3 * H, whT), hs, trace, out);
  } finally {
    whT.dispose();
  }
  return out;
}

function checkShapes(w: GruWeights, inputSize: number): number {
  const H = w.wh.shape[0];
  const ok = w.wi.rank === 2 && w.wi.shape[0] === inputSize && w.wi.shape[1] === 3 * H &&
    w.wh.shape[1] === 3 * H && w.bi.shape[0] === 3 * H && w.bh.shape[0] === 3 * H;
  if (!ok) {
    throw new Error(
      `gru: inconsistent shapes: input ${inputSize}, wi [${w.wi.shape}], wh [${w.wh.shape}], ` +
        `bi [${w.bi.shape}], bh [${w.bh.shape}]; expected wi [I, 3H], wh [H, 3H], biases [3H]`,
    );
  }
  return H;
}

function checkRecurrence(
  gi: Tensor2D,
  wh: Tensor2D,
  bh: Tensor1D,
  steps: number,
  batch: number,
): number {
  const H = wh.shape[0];
  if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(batch) || batch < 1) {
    throw new Error(`gru: steps and batch must be positive integers, got ${steps} and ${batch}`);
  }
  if (
    gi.shape[0] !== steps * batch || gi.shape[1] !== 3 * H || wh.shape[1] !== 3 * H ||
    bh.shape[0] !== 3 * H
  ) {
    throw new Error(
      `gru: gi [${gi.shape}], wh [${wh.shape}], bh [${bh.shape}] do not fit steps ${steps}, ` +
        `batch ${batch}; expected gi [${steps * batch}, 3H], wh [H, 3H], bh [3H]`,
    );
  }
  return H;
}
