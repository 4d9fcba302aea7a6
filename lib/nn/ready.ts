/**
 * Whether a TensorFlow.js backend is running, and the clear error when it is not. Kept apart from
 * ./backend.ts so that models can check without registering backends themselves.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Whether a TensorFlow.js backend is running (after `initBackend` (./backend.ts)). */
export function backendReady(): boolean {
  return (tf.engine() as unknown as { backendInstance?: unknown }).backendInstance != null;
}

/**
 * Throw an error naming `initBackend` (./backend.ts) unless a backend is running: models and agents call
 * this before creating tensors, so that a missing `await initBackend()` is not reported as a
 * TensorFlow.js internal ("The highest priority backend 'wasm' has not yet been initialized").
 *
 * @example
 * ```ts
 * import { initBackend } from "./backend.ts";
 * import { requireBackend } from "./ready.ts";
 * await initBackend("wasm");
 * requireBackend("makeAgent"); // passes
 * ```
 */
export function requireBackend(what: string): void {
  if (!backendReady()) {
    throw new Error(
      `${what}: no TensorFlow.js backend is running; call \`await initBackend()\` first ` +
        `(import { initBackend } from "@adqn/asym/nn", or from the root module)`,
    );
  }
}
