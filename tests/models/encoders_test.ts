import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { featureSpec } from "../../lib/envs/types.ts";
import { FeatureEncoder } from "../../lib/models/encoders.ts";
import { initBackend } from "../../lib/nn/backend.ts";

await initBackend("wasm");

Deno.test("`FeatureEncoder` reads one-hot, vector and categorical parts as documented", () => {
  // Parts: onehot(2) | vector(1) | categorical(2 codes, vocab 3) | onehot(3) | categorical(1, vocab 2)
  const spec = featureSpec([
    { kind: "onehot", size: 2 },
    { kind: "vector", size: 1, low: -1, high: 1 },
    { kind: "categorical", count: 2, vocab: 3 },
    { kind: "onehot", size: 3 },
    { kind: "categorical", count: 1, vocab: 2 },
  ]);
  assert.equal(spec.size, 9);
  const enc = new FeatureEncoder("obs", spec, { onehot: 2, categorical: 1 });
  // identity(1) + 2 one-hot embeddings of width 2 + 3 codes × 1
  assert.equal(enc.outSize, 1 + 2 + 2 + 3);
  assert.deepEqual(enc.params.map((p) => [p.name, p.shape]), [
    ["obs.onehot0", [2, 2]],
    ["obs.onehot3", [3, 2]],
    ["obs.categorical", [3, 1]], // the largest vocabulary, shared
  ]);
  const row = new Float32Array([0, 1, 0.5, 2, 0, 0, 0, 1, 1]);
  const W = {
    "obs.onehot0": tf.tensor2d([[1, 2], [3, 4]]),
    "obs.onehot3": tf.tensor2d([[5, 6], [7, 8], [9, 10]]),
    "obs.categorical": tf.tensor2d([[100], [200], [300]]),
  };
  const y = tf.tidy(() => {
    const inputs = enc.prepare(row, 1).map((a, i) => tf.tensor2d(a, enc.inputShape(i, 1)));
    return enc.apply(inputs, W, 1).dataSync();
  });
  // [vector 0.5 | onehot0 row 1 = (3, 4) | onehot3 row 2 = (9, 10) | codes 2, 0, 1 → 300, 100, 200]
  assert.deepEqual(Array.from(y), [0.5, 3, 4, 9, 10, 300, 100, 200]);
  // Width 0 keeps one-hot parts as they are.
  const id = new FeatureEncoder("s", spec, { onehot: 0, categorical: 1 });
  assert.equal(id.outSize, 2 + 1 + 3 + 3);
  assert.throws(() => enc.prepare(new Float32Array([0, 1, 0.5, 3, 0, 0, 0, 1, 1]), 1), /code 3/);
  assert.throws(
    () => new FeatureEncoder("s", spec, { onehot: 2, categorical: 0 }),
    /categorical width/,
  );
  Object.values(W).forEach((t) => t.dispose());
});
