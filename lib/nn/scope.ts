/**
 * A `tf.tidy` for functions that return plain host values.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Run `fn` in a tensor scope: every tensor it creates (and does not `tf.keep`) is disposed when it
 * returns or throws. Unlike `tf.tidy`, the result may be any value (it must not hold tensors
 * created inside, which would be disposed).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scoped } from "./scope.ts";
 * const sum = scoped(() => tf.sum(tf.ones([3])).dataSync()[0]);
 * console.log(sum); // 3
 * ```
 */
export function scoped<T>(fn: () => T): T {
  const engine = tf.engine();
  engine.startScope();
  try {
    return fn();
  } finally {
    engine.endScope();
  }
}
