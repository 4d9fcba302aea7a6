/**
 * Fully connected layers with hand-written gradients.
 *
 * tfjs's own matMul gradient multiplies with transpose flags, which the wasm backend runs about
 * 20× slower than a plain product (docs: shared/spec/platform.md). {@link dense} transposes
 * explicitly and then calls a plain `matMul`, and skips the input gradient when the input is data.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The activations a {@link dense} layer can fuse. */
export type Activation = "linear" | "relu";

/** Options of {@link dense}. */
export interface DenseOptions {
  /** Activation applied after the bias (default `"linear"`). */
  activation?: Activation;
  /**
   * Whether gradients flow back into `x` (default true). Pass false when `x` is data (one-hot
   * inputs, raw features): its gradient is then neither computed nor defined.
   */
  inputGrad?: boolean;
}

/**
 * `act(x · w + b)` for `x` [N, in], `w` [in, out], `b` [out] (or null for no bias), differentiable
 * in `w`, `b` and (unless `inputGrad` is false) `x`. Gradients: dx = g · wᵀ, dw = xᵀ · g,
 * db = Σ_rows g with g = dy ⊙ act'(y) (ReLU'(0) = 0, as PyTorch).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { dense } from "./dense.ts";
 * const y = dense(tf.ones([2, 3]), tf.ones([3, 4]), tf.zeros([4]), { activation: "relu" });
 * console.log(y.shape); // [2, 4]
 * ```
 */
export function dense(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D | null,
  options: DenseOptions = {},
): tf.Tensor2D {
  const activation = options.activation ?? "linear";
  const inputGrad = options.inputGrad ?? true;
  if (x.rank !== 2 || w.rank !== 2 || x.shape[1] !== w.shape[0]) {
    throw new Error(`dense: cannot multiply x ${shapeText(x)} by w ${shapeText(w)}`);
  }
  if (b !== null && (b.rank !== 1 || b.shape[0] !== w.shape[1])) {
    throw new Error(`dense: bias ${shapeText(b)} does not match w ${shapeText(w)}`);
  }
  const relu = activation === "relu";
  const forward = (xv: tf.Tensor2D, wv: tf.Tensor2D, bv: tf.Tensor1D | null): tf.Tensor2D =>
    tf.fused.matMul({
      a: xv,
      b: wv,
      bias: bv ?? undefined,
      activation: relu ? "relu" : "linear",
    }) as tf.Tensor2D;
  // g = dy ⊙ act'(y)
  const preGrad = (dy: tf.Tensor2D, y: tf.Tensor2D | undefined): tf.Tensor2D =>
    relu ? tf.mul(dy, tf.step(y as tf.Tensor2D)) : dy;
  const dxOf = (g: tf.Tensor2D, wv: tf.Tensor2D) => tf.matMul(g, tf.transpose(wv));
  const dwOf = (g: tf.Tensor2D, xv: tf.Tensor2D) => tf.matMul(tf.transpose(xv), g);
  const dbOf = (g: tf.Tensor2D) => tf.sum(g, 0);

  if (inputGrad && b !== null) {
    const op = tf.customGrad((xv, wv, bv, save) => {
      const y = forward(xv as tf.Tensor2D, wv as tf.Tensor2D, bv as tf.Tensor1D);
      (save as tf.GradSaveFunc)(
        relu ? [xv as tf.Tensor, wv as tf.Tensor, y] : [xv as tf.Tensor, wv as tf.Tensor],
      );
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const g = preGrad(dy as tf.Tensor2D, saved[2] as tf.Tensor2D | undefined);
          return [dxOf(g, saved[1] as tf.Tensor2D), dwOf(g, saved[0] as tf.Tensor2D), dbOf(g)];
        },
      };
    });
    return op(x, w, b) as tf.Tensor2D;
  }
  if (inputGrad) {
    const op = tf.customGrad((xv, wv, save) => {
      const y = forward(xv as tf.Tensor2D, wv as tf.Tensor2D, null);
      (save as tf.GradSaveFunc)(
        relu ? [xv as tf.Tensor, wv as tf.Tensor, y] : [xv as tf.Tensor, wv as tf.Tensor],
      );
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const g = preGrad(dy as tf.Tensor2D, saved[2] as tf.Tensor2D | undefined);
          return [dxOf(g, saved[1] as tf.Tensor2D), dwOf(g, saved[0] as tf.Tensor2D)];
        },
      };
    });
    return op(x, w) as tf.Tensor2D;
  }
  // x is data: not an input of the op, so the tape holds no gradient path into it. It is saved
  // (not merely closed over): tfjs disposes the forward pass's intermediates before backprop.
  if (b !== null) {
    const op = tf.customGrad((wv, bv, save) => {
      const y = forward(x, wv as tf.Tensor2D, bv as tf.Tensor1D);
      (save as tf.GradSaveFunc)(relu ? [x, y] : [x]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const g = preGrad(dy as tf.Tensor2D, saved[1] as tf.Tensor2D | undefined);
          return [dwOf(g, saved[0] as tf.Tensor2D), dbOf(g)];
        },
      };
    });
    return op(w, b) as tf.Tensor2D;
  }
  const op = tf.customGrad((wv, save) => {
    const y = forward(x, wv as tf.Tensor2D, null);
    (save as tf.GradSaveFunc)(relu ? [x, y] : [x]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = preGrad(dy as tf.Tensor2D, saved[1] as tf.Tensor2D | undefined);
        return [dwOf(g, saved[0] as tf.Tensor2D)];
      },
    };
  });
  return op(w) as tf.Tensor2D;
}

/**
 * The identity with a zero gradient: values pass, gradients stop (the SG[·] of the paper's
 * equations 16-23). Used on every bootstrapped target.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { stopGradient } from "./dense.ts";
 * const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(stopGradient(x), x)))(tf.tensor([3]));
 * console.log(g.dataSync()[0]); // 3: only the second factor is differentiated
 * ```
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const op = tf.customGrad((xv) => ({
    value: tf.clone(xv as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return op(x) as T;
}

function shapeText(t: tf.Tensor): string {
  return `[${t.shape.join(", ")}]`;
}
