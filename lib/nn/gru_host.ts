/**
 * The GRU recurrence on host arrays: the gate arithmetic of lib/nn/gru.ts, forward and backward
 * through time, with the per-step product `h · wh` (and `dgh · whᵀ`) left to the caller. The
 * batched network of K runs (lib/models/batched_network.ts) drives these two loops run by run,
 * for training and for acting.
 *
 * Layout: sequences are time-major and flattened (row `t·batch + b`), gate blocks r, z, n along
 * the 3H axis; intermediate sums are in float64 and stored as float32. The gate nonlinearities are
 * ./fast_math.ts's (absolute error ≤ 1e-8, below float32's resolution of the gates).
 *
 * @module
 */
import { fastSigmoid, fastTanh } from "./fast_math.ts";

/**
 * `a` [rows, cols] times the recurrent weights (or their transpose), as a row-major host array.
 * The result may be a buffer that the next call overwrites: the loops read it before multiplying
 * again (allocating a typed array costs as much as one of these small products).
 */
export type RowProduct = (a: Float32Array, rows: number) => Float32Array;

/** Per-step gate values kept for the backward pass, each [steps·batch·H]. */
export interface GruTrace {
  /** Reset gate. */
  r: Float32Array;
  /** Update gate. */
  z: Float32Array;
  /** Candidate state. */
  n: Float32Array;
  /** W_hn h + b_hn. */
  ghn: Float32Array;
}

/** A zeroed trace for `size` = steps·batch·H values. */
export function newGruTrace(size: number): GruTrace {
  return {
    r: new Float32Array(size),
    z: new Float32Array(size),
    n: new Float32Array(size),
    ghn: new Float32Array(size),
  };
}

/** The values `from..to-1` of a trace, as views. */
export function subGruTrace(t: GruTrace, from: number, to: number): GruTrace {
  return {
    r: t.r.subarray(from, to),
    z: t.z.subarray(from, to),
    n: t.n.subarray(from, to),
    ghn: t.ghn.subarray(from, to),
  };
}

/**
 * The forward recurrence: from `h0` (null: zeros, and the first product is skipped), write the
 * hidden states of `steps` steps of `batch` sequences into `hs` [steps·batch·H], and the gates into
 * `trace` when given.
 *
 * @param gi Input projections x·wi + bi [steps·batch·3H].
 * @param mul `h [batch, H] · wh [H, 3H]`.
 * @param bh Recurrent bias [3H].
 * @example
 * ```ts
 * import { gruForwardHost } from "./gru_host.ts";
 * // H = 1, zero weights: r = z = σ(0) = 0.5, n = tanh(0) = 0, so h = 0.5·h_prev.
 * const hs = new Float32Array(2);
 * gruForwardHost(new Float32Array(6), 2, 1, 1, () => new Float32Array(3),
 *   new Float32Array(3), Float32Array.of(1), null, hs);
 * console.log(Array.from(hs)); // [0.5, 0.25]
 * ```
 */
export function gruForwardHost(
  gi: Float32Array,
  steps: number,
  batch: number,
  H: number,
  mul: RowProduct,
  bh: Float32Array,
  h0: Float32Array | null,
  trace: GruTrace | null,
  hs: Float32Array,
): void {
  const BH = batch * H, H3 = 3 * H;
  // A zero state stands in for a missing one (0 + x is x exactly), so the loop has no branches.
  const zeros = h0 === null ? new Float32Array(batch * H3) : null;
  let hPrev: Float32Array = h0 ?? zeros!;
  const keep = trace !== null;
  const tr = trace ?? newGruTrace(0);
  const R = tr.r, Z = tr.z, N = tr.n, GHN = tr.ghn;
  for (let t = 0; t < steps; t++) {
    // gh = h_{t-1} · wh (without bias); skipped while the state is exactly zero.
    const gh = t === 0 && h0 === null ? zeros! : mul(hPrev, batch);
    for (let b = 0; b < batch; b++) {
      const row = t * batch + b;
      const giOff = row * H3, ghOff = b * H3, hOff = row * H, pOff = b * H;
      for (let j = 0; j < H; j++) {
        const ghr = gh[ghOff + j] + bh[j];
        const ghz = gh[ghOff + H + j] + bh[H + j];
        const ghn = gh[ghOff + 2 * H + j] + bh[2 * H + j];
        const r = fastSigmoid(gi[giOff + j] + ghr);
        const z = fastSigmoid(gi[giOff + H + j] + ghz);
        const n = fastTanh(gi[giOff + 2 * H + j] + r * ghn);
        const hp = hPrev[pOff + j];
        hs[hOff + j] = n + z * (hp - n);
        if (keep) {
          R[hOff + j] = r;
          Z[hOff + j] = z;
          N[hOff + j] = n;
          GHN[hOff + j] = ghn;
        }
      }
    }
    hPrev = hs.subarray(t * BH, (t + 1) * BH);
  }
}

/** Where {@link gruBackwardHost} writes its results. */
export interface GruBackwardOutputs {
  /** ∂L/∂gi [steps·batch·3H]. */
  dGi: Float32Array;
  /** ∂L/∂(h·wh) [steps·batch·3H] (before the recurrent bias). */
  dGh: Float32Array;
  /** ∂L/∂bh [3H]. */
  dbh: Float32Array;
  /** The state each step started from, h_{t-1} (zeros at t = 0) [steps·batch·H]. */
  hPrev: Float32Array;
}

/**
 * Backpropagation through time from a zero initial state: given ∂L/∂h_t for every step (`dH`),
 * the forward states `hs` and `trace`, write the gradients into `out`. The weight gradient is then
 * hPrevᵀ · dGh, one product for all steps (left to the caller).
 *
 * @param mulT `dgh [batch, 3H] · whᵀ [3H, H]`.
 */
export function gruBackwardHost(
  dH: Float32Array,
  steps: number,
  batch: number,
  H: number,
  mulT: RowProduct,
  hs: Float32Array,
  trace: GruTrace,
  out: GruBackwardOutputs,
): void {
  const BH = batch * H, H3 = 3 * H;
  const { dGi, dGh } = out;
  const carry = new Float64Array(BH); // ∂L/∂h_t arriving from step t+1
  const { r: R, z: Z, n: N, ghn: GHN } = trace;
  for (let t = steps - 1; t >= 0; t--) {
    for (let b = 0; b < batch; b++) {
      const row = t * batch + b;
      const hOff = row * H, gOff = row * H3, cOff = b * H;
      for (let j = 0; j < H; j++) {
        const i = hOff + j;
        const dh = dH[i] + carry[cOff + j];
        const r = R[i], z = Z[i], n = N[i];
        const hp = t === 0 ? 0 : hs[i - BH];
        const dn = dh * (1 - z);
        const dz = dh * (hp - n);
        const dan = dn * (1 - n * n);
        const dar = dan * GHN[i] * r * (1 - r);
        const daz = dz * z * (1 - z);
        dGi[gOff + j] = dar;
        dGi[gOff + H + j] = daz;
        dGi[gOff + 2 * H + j] = dan;
        dGh[gOff + j] = dar;
        dGh[gOff + H + j] = daz;
        dGh[gOff + 2 * H + j] = dan * r;
        carry[cOff + j] = dh * z;
      }
    }
    if (t > 0) {
      const back = mulT(dGh.subarray(t * batch * H3, (t + 1) * batch * H3), batch);
      for (let k = 0; k < BH; k++) carry[k] += back[k];
    }
  }
  const dbhAcc = new Float64Array(H3);
  for (let row = 0; row < steps * batch; row++) {
    const off = row * H3;
    for (let k = 0; k < H3; k++) dbhAcc[k] += dGh[off + k];
  }
  out.dbh.set(dbhAcc);
  out.hPrev.fill(0, 0, BH);
  out.hPrev.set(hs.subarray(0, (steps - 1) * BH), BH);
}
