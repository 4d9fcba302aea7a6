/**
 * The TensorFlow.js tensor types that this library's signatures use, under documented names, so
 * that the reference documentation of `./nn`, `./losses` and `./models` is complete without
 * re-exporting TensorFlow.js itself. Values of these types are ordinary `@tensorflow/tfjs` tensors.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** A TensorFlow.js tensor of any rank. */
export type Tensor = tf.Tensor;
/** A TensorFlow.js rank-0 tensor (a scalar), e.g. a loss. */
export type Scalar = tf.Scalar;
/** A TensorFlow.js rank-1 tensor, e.g. a batch of actions or rewards. */
export type Tensor1D = tf.Tensor1D;
/** A TensorFlow.js rank-2 tensor, e.g. a batch of Q-value rows `[batch, actions]`. */
export type Tensor2D = tf.Tensor2D;
/** A trainable TensorFlow.js variable (a weight matrix or bias). */
export type Variable = tf.Variable;
