import assert from "assert";
import { ENV_IDS, makeEnv } from "../../lib/envs/mod.ts";
import { NetworkLayout } from "../../lib/models/layout.ts";
import { modelPreset, resolveModelConfig } from "../../lib/models/presets.ts";

Deno.test("`modelPreset()` follows algorithms.md §3 for every environment", () => {
  const hh = modelPreset("heaven-hell-3");
  assert.deepEqual(hh, {
    actionEmbedding: 64,
    obsEmbedding: 64,
    obsCategoricalEmbedding: 8,
    stateEmbedding: 64,
    stateCategoricalEmbedding: 8,
    gruHidden: 128,
    headHidden: [512, 256],
  });
  assert.deepEqual(modelPreset("heaven-hell-4"), hh);
  assert.deepEqual(modelPreset("pomdp:data/tiger.pomdp"), hh);
  for (const id of ["car-flag", "cleaner"]) {
    const p = modelPreset(id);
    assert.equal(p.actionEmbedding, 0, id); // one-hot action
    assert.equal(p.obsEmbedding, 0, id);
    assert.equal(p.stateEmbedding, 0, id);
    assert.equal(p.gruHidden, 128, id);
    assert.deepEqual(p.headHidden, [512, 256], id);
  }
  const mfr = modelPreset("memory-four-rooms-7x7");
  assert.equal(mfr.actionEmbedding, 1);
  assert.equal(mfr.obsCategoricalEmbedding, 8);
  assert.equal(mfr.stateCategoricalEmbedding, 1);
  assert.equal(mfr.gruHidden, 64);
  assert.deepEqual(mfr.headHidden, [512]);
});

Deno.test("`modelPreset()` feature widths match algorithms.md §3 on the real environments", () => {
  // [φ_A, φ_O, φ_S] widths from the table in algorithms.md §3.
  const want: Record<string, [number, number, number]> = {
    "heaven-hell-3": [64, 64, 64],
    "heaven-hell-4": [64, 64, 64],
    "car-flag": [7, 3, 3],
    "cleaner": [16, 54, 845],
    "memory-four-rooms-7x7": [1, 1200, 205],
  };
  for (const id of ENV_IDS) {
    const env = makeEnv(id);
    const layout = new NetworkLayout(env, "history", modelPreset(id));
    assert.deepEqual(
      [layout.action.outSize, layout.obs.outSize, layout.state!.outSize],
      want[id],
      id,
    );
  }
});

Deno.test("`resolveModelConfig()` applies overrides and rejects bad ones clearly", () => {
  const c = resolveModelConfig("car-flag", { gruHidden: 16, headHidden: [8, 4] });
  assert.equal(c.gruHidden, 16);
  assert.deepEqual(c.headHidden, [8, 4]);
  assert.equal(c.actionEmbedding, 0);
  assert.throws(
    () => resolveModelConfig("car-flag", { gruHiden: 3 }),
    /unknown model setting "gruHiden"/,
  );
  assert.throws(
    () => resolveModelConfig("car-flag", { gruHidden: 0 }),
    /gruHidden must be an integer ≥ 1/,
  );
  assert.throws(() => resolveModelConfig("car-flag", { obsEmbedding: 1.5 }), /obsEmbedding/);
  assert.throws(() => resolveModelConfig("car-flag", { headHidden: [0] }), /headHidden/);
  // The preset object itself is never modified.
  assert.equal(modelPreset("car-flag").gruHidden, 128);
});
