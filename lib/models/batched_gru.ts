/**
 * The GRU recurrence of K runs over row groups (lib/nn/grouped_ops.ts): lib/nn/gru_host.ts's
 * forward and backward loops driven run by run, each with its own recurrent weights, as the
 * differentiable op of the batched network's history features (./batched_network.ts) and its
 * gradient-free version for target networks.
 *
 * On the BLAS backends the per-step products go to OpenBLAS (`sgemv` for one sequence per run,
 * `sgemm` for several); elsewhere through tfjs.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Blas, openBlas } from "../nn/blas.ts";
import { isBlasBackend } from "../nn/fast_backend.ts";
import { groupedOuter, type RowGroups, rowGroups } from "../nn/grouped_ops.ts";
import { gemmFor } from "../nn/host_gemm.ts";
import { hostMatMul } from "../nn/gru.ts";
import {
  gruBackwardHost,
  gruForwardHost,
  type GruTrace,
  newGruTrace,
  type RowProduct,
  subGruTrace,
} from "../nn/gru_host.ts";

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
