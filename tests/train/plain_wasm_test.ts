/**
 * Plain `wasm` in CI: the suite runs on `wasm-blas` where OpenBLAS loads, so this file runs the
 * numerics fingerprint (the committed `wasm` table) and the agent's acting-equals-forward check
 * once more on plain wasm (`ADQN_TEST_BACKEND=wasm`), in a child `deno test`: the backend is global
 * state of a process. Plain wasm has its own kernels (lib/nn/grouped_wasm.ts, the JavaScript
 * one-row products of `BatchedNetwork.actMany`) that nothing else in CI would reach.
 */
import assert from "assert";

const ROOT = new URL("../..", import.meta.url).pathname;

Deno.test("plain wasm: the committed fingerprints hold and acting step by step equals the whole-episode forward", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "test",
      "-A",
      "--config",
      `${ROOT}deno.json`,
      "--filter",
      "/numerics fingerprint on wasm:|acting step by step equals the whole-episode forward/",
      `${ROOT}tests/train/fingerprint_test.ts`,
      `${ROOT}tests/models/batched_agent_test.ts`,
    ],
    env: { ADQN_TEST_BACKEND: "wasm", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `the plain-wasm tests failed:\n${text}`);
  for (
    const name of [
      "numerics fingerprint on wasm: the metric rows of a fixed small run per algorithm match",
      "numerics fingerprint on wasm: same seed ⇒ same rows",
      "acting step by step equals the whole-episode forward",
    ]
  ) {
    const passed = text.split("\n").some((l) => l.startsWith(name) && l.includes(" ... ok"));
    assert.ok(passed, `${name}: not run or not passed on plain wasm:\n${text}`);
  }
});
