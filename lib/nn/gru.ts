/**
 * The GRU layer's weight layout, its plain-op reference, and the host-matrix product that the
 * batched network's recurrence (lib/models/batched_network.ts over ./gru_host.ts) uses on
 * backends without a native BLAS.
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
 * Sequences are stored time-major and flattened: row `t·B + b` is step t of sequence b.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D } from "./tensors.ts";

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

/**
 * The same GRU written with plain tfjs ops and left to tfjs's autodiff (slow: per-step slicing and
 * transposed products): the independent reference the tests check the batched network's GRU
 * (lib/models/batched_network.ts's `groupedGruRecurrence`) against, values and autodiff gradients.
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
