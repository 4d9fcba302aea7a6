/**
 * Fully connected layers with hand-written gradients.
 *
 * tfjs's own matMul gradient multiplies with transpose flags, which the wasm backend runs about
 * 20× slower than a plain product (measured with tfjs-backend-wasm 4.22). {@link dense} transposes
 * explicitly and then calls a plain `matMul`, and skips the input gradient when the input is data.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D } from "./tensors.ts";

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
  x: Tensor2D,
  w: Tensor2D,
  b: Tensor1D | null,
  options: DenseOptions = {},
): Tensor2D {
  const activation = options.activation ?? "linear";
  const inputGrad = options.inputGrad ?? true;
  if (x.rank !== 2 || w.rank !== 2 || x.shape[1] !== w.shape[0]) {
    throw new Error(`dense: cannot multiply x ${shapeText(x)} by w ${shapeText(w)}`);
  }
  if (b !== null && (b.rank !== 1 || b.shape[0] !== w.shape[1])) {
    throw new Error(`dense: bias ${shapeText(b)} does not match w ${shapeText(w)}`);
  }
  const relu = activation === "relu";
  const forward = (xv: Tensor2D, wv: Tensor2D, bv: Tensor1D | null): Tensor2D =>
    tf.fused.matMul({
      a: xv,
      b: wv,
      bias: bv ?? undefined,
      activation: relu ? "relu" : "linear",
    }) as Tensor2D;
  return customDense(x, w, b, {
    relu,
    inputGrad,
    saveWeight: true,
    forward,
    dx: (g, wv) => tf.matMul(g, tf.transpose(wv)),
    dw: (g, xv) => tf.matMul(tf.transpose(xv), g),
    db: (g) => tf.sum(g, 0),
  });
}

/**
 * The pieces of a dense-like layer y = act(x·w + b) that {@link customDense} wires into a
 * differentiable op: its forward product and the three backward products.
 */
export interface DenseParts<W extends Tensor, B extends Tensor> {
  /** Whether the activation is ReLU (else linear): g = dy ⊙ step(y). */
  relu: boolean;
  /** Whether gradients flow back into `x` (false when `x` is data). */
  inputGrad: boolean;
  /**
   * Save `w` for the backward pass (tfjs disposes the forward pass's intermediates); false reads
   * it from the closure, which is safe only when `w` outlives the pass (a variable).
   */
  saveWeight: boolean;
  /** y = act(x·w + b). */
  forward(x: Tensor2D, w: W, b: B | null): Tensor2D;
  /** dx = g · wᵀ. */
  dx(g: Tensor2D, w: W): Tensor2D;
  /** dw = xᵀ · g. */
  dw(g: Tensor2D, x: Tensor2D): Tensor;
  /** db = Σ_rows g. */
  db(g: Tensor2D): Tensor;
}

/**
 * A dense-like layer with the hand-written gradient of `parts`: the op of {@link dense} and of the
 * batched layers (lib/nn/grouped_ops.ts `groupedDense`), which differ only in their products.
 * Gradients come in the order dx, dw, db; without `inputGrad`, `x` is not an input of the op (the
 * tape holds no path into it) and is saved rather than closed over.
 */
export function customDense<W extends Tensor, B extends Tensor>(
  x: Tensor2D,
  w: W,
  b: B | null,
  parts: DenseParts<W, B>,
): Tensor2D {
  const { relu, saveWeight } = parts;
  // g = dy ⊙ act'(y)
  const preGrad = (dy: Tensor, y: Tensor | undefined): Tensor2D =>
    (relu ? tf.mul(dy, tf.step(y!)) : dy) as Tensor2D;
  type Save = tf.GradSaveFunc;
  if (parts.inputGrad) {
    const run = (xv: Tensor, wv: Tensor, bv: Tensor | null, save: Save) => {
      const y = parts.forward(xv as Tensor2D, wv as W, bv as B | null);
      save([xv, ...(saveWeight ? [wv] : []), ...(relu ? [y] : [])]);
      return {
        value: y,
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const g = preGrad(dy, relu ? saved[saved.length - 1] : undefined);
          const ws = (saveWeight ? saved[1] : w) as W;
          const grads = [parts.dx(g, ws), parts.dw(g, saved[0] as Tensor2D)];
          return bv === null ? grads : [...grads, parts.db(g)];
        },
      };
    };
    const op = b === null
      ? tf.customGrad((xv, wv, save) => run(xv as Tensor, wv as Tensor, null, save as Save))
      : tf.customGrad((xv, wv, bv, save) =>
        run(xv as Tensor, wv as Tensor, bv as Tensor, save as Save)
      );
    return (b === null ? op(x, w) : op(x, w, b)) as Tensor2D;
  }
  const run = (wv: Tensor, bv: Tensor | null, save: Save) => {
    const y = parts.forward(x, wv as W, bv as B | null);
    save(relu ? [x, y] : [x]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const g = preGrad(dy, saved[1]);
        const dw = parts.dw(g, saved[0] as Tensor2D);
        return bv === null ? [dw] : [dw, parts.db(g)];
      },
    };
  };
  const op = b === null
    ? tf.customGrad((wv, save) => run(wv as Tensor, null, save as Save))
    : tf.customGrad((wv, bv, save) => run(wv as Tensor, bv as Tensor, save as Save));
  return (b === null ? op(w) : op(w, b)) as Tensor2D;
}

/**
 * The identity with a zero gradient: values pass, gradients stop (the SG[·] of the paper's
 * equations 16-23). Used on every bootstrapped target.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { stopGradient } from "./dense.ts";
 * const g = tf.grad((x: Tensor) => tf.sum(tf.mul(stopGradient(x), x)))(tf.tensor([3]));
 * console.log(g.dataSync()[0]); // 3: only the second factor is differentiated
 * ```
 */
export function stopGradient<T extends Tensor>(x: T): T {
  const op = tf.customGrad((xv) => ({
    value: tf.clone(xv as Tensor),
    gradFunc: (dy: Tensor) => tf.zerosLike(dy),
  }));
  return op(x) as T;
}

function shapeText(t: Tensor): string {
  return `[${t.shape.join(", ")}]`;
}
