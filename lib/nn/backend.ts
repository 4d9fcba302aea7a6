/**
 * Choosing and starting the TensorFlow.js backend.
 *
 * Importing this module registers the `wasm` backend (`npm:@tensorflow/tfjs-backend-wasm`, SIMD,
 * single thread), the fast one under Deno. Call {@link initBackend} once, and await it, before
 * building any agent.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { type BlasBackendName, enableBlasBackend } from "./fast_backend.ts";

/**
 * Backends {@link initBackend} accepts. `auto` picks `wasm-blas` (wasm with OpenBLAS matrix
 * products through Deno FFI, about 3x faster) when the library and FFI are available, else `wasm`.
 */
export const BACKEND_NAMES = ["auto", "wasm", "wasm-blas", "cpu", "cpu-blas", "webgpu"] as const;

/** One of {@link BACKEND_NAMES}. */
export type BackendName = typeof BACKEND_NAMES[number];

/** Training speed of plain `wasm` relative to `wasm-blas` (bench --compare here: 2.8-3× slower). */
export const WASM_SLOWDOWN_VS_BLAS = "about 3× slower";

export { backendReady, requireBackend } from "./ready.ts";

/** The permission plain `wasm` needs (it reads its .wasm file), or undefined when granted. */
function missingWasmPermission(): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "read" }).state === "granted") return undefined;
  } catch {
    /* no permissions API: let tfjs try */ return undefined;
  }
  return "--allow-read (tfjs-backend-wasm reads its .wasm file)";
}

/**
 * Select a TensorFlow.js backend, falling back to `cpu` (with a console warning) when the requested
 * one cannot start, and switch tfjs to production mode (no debug checks, no banner).
 *
 * The agents of lib/models read tensors synchronously, so they need `wasm` (fast) or `cpu` (slow,
 * reference); `webgpu` is not registered by this library and would fall back to `cpu`.
 *
 * @param name The backend to use (default `"wasm"`).
 * @returns The name of the backend actually in use.
 * @example
 * ```ts
 * import { initBackend } from "./backend.ts";
 * const used = await initBackend("wasm");
 * console.log(used); // "wasm"
 * ```
 */
export async function initBackend(name: BackendName = "wasm"): Promise<string> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new Error(
      `initBackend: unknown backend "${name}"; expected one of ${BACKEND_NAMES.join(", ")}`,
    );
  }
  if (name === "auto" || name === "wasm-blas" || name === "cpu-blas") {
    const blasName: BlasBackendName = name === "cpu-blas" ? "cpu-blas" : "wasm-blas";
    const status = await enableBlasBackend(blasName);
    if (status.ok) {
      tf.enableProdMode();
      return tf.getBackend();
    }
    if (name !== "auto") {
      console.warn(
        `WARNING initBackend: ${name} unavailable (${status.reason}); falling back to "wasm"`,
      );
    } else {
      console.warn(
        `NOTICE initBackend: auto is using plain "wasm", ${WASM_SLOWDOWN_VS_BLAS} than "wasm-blas" ` +
          `(${status.reason}); install OpenBLAS (Debian: apt-get install libopenblas0) and run ` +
          `with --allow-ffi for the fast backend`,
      );
    }
    name = "wasm";
  }
  let ok = false;
  let reason = "";
  const missing = name === "wasm" ? missingWasmPermission() : undefined;
  if (missing) {
    reason = `: it needs the permission ${missing}`;
  } else {
    try {
      ok = await tf.setBackend(name);
    } catch (e) {
      reason = `: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  if (!ok) {
    console.warn(
      `WARNING initBackend: the "${name}" backend could not start${reason}; ` +
        `falling back to "cpu" (pure JavaScript, much slower)`,
    );
    if (!(await tf.setBackend("cpu"))) throw new Error("initBackend: the cpu backend failed too");
  }
  await tf.ready();
  tf.enableProdMode();
  return tf.getBackend();
}
