import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { initBackend } from "../../lib/nn/backend.ts";

Deno.test("`initBackend()` starts wasm, falls back to cpu with a warning, rejects unknown names", async () => {
  assert.equal(await initBackend(), "wasm");
  assert.equal(tf.getBackend(), "wasm");
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
  try {
    // This library registers no webgpu backend: the request must fall back, loudly.
    assert.equal(await initBackend("webgpu"), "cpu");
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /webgpu.*falling back to "cpu"/);
  assert.equal(tf.getBackend(), "cpu");
  await assert.rejects(() => initBackend("tpu" as "cpu"), /unknown backend "tpu"/);
  assert.equal(await initBackend("wasm"), "wasm");
});
