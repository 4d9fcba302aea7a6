/**
 * Embeddings as one-hot × table products. The wasm backend lacks the `UnsortedSegmentSum` kernel
 * that the gradient of `tf.gather` needs, and the extra FLOPs of the product are negligible here.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D } from "./tensors.ts";
import { dense } from "./dense.ts";

/**
 * Embed one-hot rows: `onehot` [N, V] · `table` [V, D] → [N, D]. An all-zero row (e.g. "no previous
 * action", Heaven-Hell's reset observation) embeds to the zero vector. Gradients flow into the
 * table only.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { embedOneHot } from "./embedding.ts";
 * const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
 * embedOneHot(tf.tensor2d([[0, 1, 0], [0, 0, 0]]), table).print(); // [[3, 4], [0, 0]]
 * ```
 */
export function embedOneHot(onehot: Tensor2D, table: Tensor2D): Tensor2D {
  return dense(onehot, table, null, { inputGrad: false });
}

/**
 * Embed `count` categorical codes per row through one shared table: `codesOneHot`
 * [rows·count, V] (see {@link oneHotCodes}) · `table` [V, D] → [rows, count·D], the codes' vectors
 * concatenated in order.
 */
export function embedCategorical(
  codesOneHot: Tensor2D,
  table: Tensor2D,
  rows: number,
  count: number,
): Tensor2D {
  if (codesOneHot.shape[0] !== rows * count) {
    throw new Error(
      `embedCategorical: expected ${rows}·${count} one-hot rows, got ${codesOneHot.shape[0]}`,
    );
  }
  const e = embedOneHot(codesOneHot, table);
  return tf.reshape(e, [rows, count * table.shape[1]]);
}

/**
 * Expand integer codes (stored as floats, as the environments encode them) into one-hot rows of
 * width `vocab`, written into `out` at row `outRow` onwards (allocated when omitted).
 *
 * @example
 * ```ts
 * import { oneHotCodes } from "./embedding.ts";
 * console.log(Array.from(oneHotCodes([2, 0], 3))); // [0, 0, 1, 1, 0, 0]
 * ```
 */
export function oneHotCodes(
  codes: ArrayLike<number>,
  vocab: number,
  out?: Float32Array,
  outRow = 0,
): Float32Array {
  const n = codes.length;
  const dst = out ?? new Float32Array(n * vocab);
  if (dst.length < (outRow + n) * vocab) {
    throw new Error(`oneHotCodes: output holds ${dst.length} values, need ${(outRow + n) * vocab}`);
  }
  for (let i = 0; i < n; i++) {
    const c = codes[i];
    if (!Number.isInteger(c) || c < 0 || c >= vocab) {
      throw new Error(
        `oneHotCodes: code ${c} at position ${i} is not an integer in 0..${vocab - 1}`,
      );
    }
    dst[(outRow + i) * vocab + c] = 1;
  }
  return dst;
}
