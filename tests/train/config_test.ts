import assert from "assert";
import { createHash } from "node:crypto";
import {
  applySettings,
  batchKey,
  canonicalJson,
  configHash,
  DEFAULT_TRAIN_CONFIG,
  parseNumber,
  parseSetting,
  PER_RUN_FIELDS,
  resolveTrainConfig,
  TRAIN_CONFIG_DOCS,
  type TrainConfig,
} from "../../lib/train/config.ts";

const base = { env: "heaven-hell-3", algo: "adqn" } as const;

Deno.test("`resolveTrainConfig()` fills in the reference defaults of algorithms.md §4", () => {
  const c = resolveTrainConfig(base);
  // Written out from the spec's table, not from DEFAULT_TRAIN_CONFIG.
  assert.deepEqual(c, {
    env: "heaven-hell-3",
    algo: "adqn",
    seed: 0,
    totalSteps: 2_000_000,
    timeLimit: 1000,
    bufferCapacity: 1_000_000,
    prepopulateSteps: 50_000,
    episodesPerBatch: 1,
    replayRatio: 8,
    lr: 1e-4,
    adamEps: 1e-4,
    epsilonStart: 1,
    epsilonEnd: 0.1,
    epsilonDecaySteps: 1_000_000,
    targetUpdateSteps: 10_000,
    gamma: 0.99,
    logEvery: 10_000,
    returnWindow: 100,
    bootstrapOnTruncation: false,
    model: {},
    evalEvery: 0,
    evalEpisodes: 10,
  });
  // Every field is documented, and only those.
  assert.deepEqual(Object.keys(TRAIN_CONFIG_DOCS).sort(), Object.keys(c).sort());
  assert.deepEqual(
    Object.keys(DEFAULT_TRAIN_CONFIG).sort(),
    Object.keys(c).filter((k) => k !== "env" && k !== "algo").sort(),
  );
});

Deno.test("`resolveTrainConfig()` keeps given values and treats undefined as the default", () => {
  const c = resolveTrainConfig({
    ...base,
    seed: "run-a",
    totalSteps: 1000,
    prepopulateSteps: 1000,
    lr: undefined,
    model: { gruHidden: 64, headHidden: [32, 16] },
    env: "pomdp:/tmp/x.pomdp",
  });
  assert.equal(c.seed, "run-a");
  assert.equal(c.totalSteps, 1000);
  assert.equal(c.prepopulateSteps, 1000);
  assert.equal(c.lr, 1e-4);
  assert.deepEqual(c.model, { gruHidden: 64, headHidden: [32, 16] });
  assert.equal(c.env, "pomdp:/tmp/x.pomdp");
  // Idempotent.
  assert.deepEqual(resolveTrainConfig(c), c);
});

Deno.test("`resolveTrainConfig()` rejects each kind of bad input with a clear message", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    // unknown keys
    [{ totlSteps: 5 }, /unknown config key "totlSteps"; expected one of .*totalSteps/],
    // missing or unknown ids
    [{ env: undefined }, /invalid env undefined; expected an environment id/],
    [{ env: "hh3" }, /unknown environment "hh3"; expected one of heaven-hell-3, .*pomdp:<path>/],
    [{ env: "pomdp:" }, /invalid env "pomdp:"; expected "pomdp:<path>" with a non-empty path/],
    [{ env: 3 }, /invalid env 3; expected a string/],
    [{ algo: "ddqn" }, /unknown algorithm "ddqn"; expected one of dqn, adqn/],
    // wrong types
    [{ totalSteps: "100" }, /invalid totalSteps "100"; expected a finite number/],
    [{ lr: NaN }, /invalid lr NaN; expected a finite number/],
    [
      { bootstrapOnTruncation: "yes" },
      /invalid bootstrapOnTruncation "yes"; expected true or false/,
    ],
    [{ seed: 1.5 }, /invalid seed 1.5; expected a safe integer or a non-empty string/],
    [{ seed: "" }, /invalid seed ""; expected a safe integer or a non-empty string/],
    [{ model: [1] }, /invalid model \[1\]; expected an object of model overrides/],
    [{ model: { gruSize: 3 } }, /unknown model setting "gruSize"; expected one of .*gruHidden/],
    [{ model: { gruHidden: 0 } }, /model setting gruHidden must be an integer ≥ 1, got 0/],
    [{ model: { headHidden: [0] } }, /headHidden must be an array of positive integers, got \[0\]/],
    // ranges
    [{ timeLimit: 1.5 }, /invalid timeLimit 1.5; expected a positive integer/],
    [{ bufferCapacity: 0 }, /invalid bufferCapacity 0; expected a positive integer/],
    [{ prepopulateSteps: -1 }, /invalid prepopulateSteps -1; expected a non-negative integer/],
    [{ episodesPerBatch: 0 }, /invalid episodesPerBatch 0; expected a positive integer/],
    [{ replayRatio: -1 }, /invalid replayRatio -1; expected a non-negative number/],
    [{ lr: 0 }, /invalid lr 0; expected a positive number/],
    [{ adamEps: -1e-8 }, /invalid adamEps -1e-8; expected a positive number/],
    [{ epsilonEnd: 1.5 }, /invalid epsilonEnd 1.5; expected a number in \[0, 1\]/],
    [{ gamma: -0.1 }, /invalid gamma -0.1; expected a number in \[0, 1\]/],
    [{ logEvery: 0 }, /invalid logEvery 0; expected a positive integer/],
    [{ returnWindow: 2.5 }, /invalid returnWindow 2.5; expected a positive integer/],
    [{ targetUpdateSteps: 1e300 }, /invalid targetUpdateSteps 1e\+300; expected a positive int/],
    // contradictions
    [
      { totalSteps: 1000, prepopulateSteps: 1001 },
      /invalid prepopulateSteps 1001; expected at most totalSteps \(1000\)/,
    ],
  ];
  for (const [patch, re] of cases) {
    assert.throws(
      () => resolveTrainConfig({ ...base, ...patch } as never),
      re,
      `patch ${JSON.stringify(patch)}`,
    );
  }
  assert.throws(() => resolveTrainConfig(null as never), /invalid config null/);
});

Deno.test("`configHash()` is SHA-256 of the canonical key-sorted JSON without the seed", async () => {
  const c = resolveTrainConfig({ ...base, seed: 5, model: { headHidden: [2, 3], gruHidden: 1 } });
  // Canonical text written by hand (keys sorted, model keys sorted too, seed left out).
  const text = '{"adamEps":0.0001,"algo":"adqn","bootstrapOnTruncation":false,' +
    '"bufferCapacity":1000000,"env":"heaven-hell-3","episodesPerBatch":1,"epsilonDecaySteps":1000000,' +
    '"epsilonEnd":0.1,"epsilonStart":1,"gamma":0.99,"logEvery":10000,"lr":0.0001,' +
    '"model":{"gruHidden":1,"headHidden":[2,3]},"prepopulateSteps":50000,"replayRatio":8,"returnWindow":100,' +
    '"targetUpdateSteps":10000,"timeLimit":1000,"totalSteps":2000000}';
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
  const expected = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(configHash(c), expected);
  assert.match(configHash(c), /^[0-9a-f]{64}$/);
});

Deno.test("`configHash()` ignores the seed and key order but sees every other field", () => {
  const c = resolveTrainConfig(base);
  const h = configHash(c);
  assert.equal(configHash({ ...c, seed: 99 }), h);
  const reversed = Object.fromEntries(Object.entries(c).reverse()) as unknown as TrainConfig;
  assert.equal(configHash(reversed), h);
  const changes: Partial<TrainConfig> = {
    env: "heaven-hell-4",
    algo: "dqn",
    totalSteps: 1_999_999,
    timeLimit: 999,
    bufferCapacity: 999_999,
    prepopulateSteps: 49_999,
    episodesPerBatch: 2,
    replayRatio: 4,
    lr: 3e-4,
    adamEps: 1e-8,
    epsilonStart: 0.9,
    epsilonEnd: 0.05,
    epsilonDecaySteps: 10,
    targetUpdateSteps: 5000,
    gamma: 0.95,
    logEvery: 1000,
    returnWindow: 10,
    bootstrapOnTruncation: true,
    model: { gruHidden: 64 },
    evalEvery: 1000,
  };
  // Every field but the seed and evalEpisodes (which counts only with evaluation on, below).
  assert.equal(Object.keys(changes).length, Object.keys(c).length - 2);
  // Evaluation off: its fields are left out, so the hash is the one of a config without them
  // (written before evaluation existed); on, evalEpisodes counts.
  const { evalEvery: _e, evalEpisodes: _m, ...old } = c;
  assert.equal(configHash(old as TrainConfig), h);
  assert.equal(configHash({ ...c, evalEpisodes: 3 }), h);
  assert.notEqual(
    configHash({ ...c, evalEvery: 1000, evalEpisodes: 3 }),
    configHash({ ...c, evalEvery: 1000, evalEpisodes: 4 }),
  );
  const seen = new Set([h]);
  for (const [k, v] of Object.entries(changes)) {
    const h2 = configHash({ ...c, [k]: v });
    assert.ok(!seen.has(h2), `changing ${k} must change the hash`);
    seen.add(h2);
  }
});

Deno.test("`canonicalJson()` sorts keys recursively and rejects non-finite numbers", () => {
  assert.equal(canonicalJson({ b: [{ d: 1, c: 2 }], a: null }), '{"a":null,"b":[{"c":2,"d":1}]}');
  assert.throws(() => canonicalJson({ a: NaN }), /non-finite number NaN/);
});

Deno.test("`parseSetting()` converts values by the default's type", () => {
  assert.deepEqual(parseSetting("totalSteps=1e6"), ["totalSteps", 1_000_000]);
  assert.deepEqual(parseSetting("totalSteps=1_000_000"), ["totalSteps", 1_000_000]);
  assert.deepEqual(parseSetting("lr=3e-4"), ["lr", 0.0003]);
  assert.deepEqual(parseSetting("gamma=.95"), ["gamma", 0.95]);
  assert.deepEqual(parseSetting("epsilonEnd=-0.5"), ["epsilonEnd", -0.5]); // range checked later
  assert.deepEqual(parseSetting("bootstrapOnTruncation=true"), ["bootstrapOnTruncation", true]);
  assert.deepEqual(parseSetting("bootstrapOnTruncation=false"), ["bootstrapOnTruncation", false]);
  assert.deepEqual(parseSetting("seed=7"), ["seed", 7]);
  assert.deepEqual(parseSetting("seed=run-a"), ["seed", "run-a"]);
  assert.deepEqual(parseSetting("env=pomdp:a=b.pomdp"), ["env", "pomdp:a=b.pomdp"]);
  assert.deepEqual(parseSetting("algo=adqn-vr"), ["algo", "adqn-vr"]);
  assert.deepEqual(parseSetting("model.gruHidden=64"), ["model.gruHidden", 64]);
  assert.deepEqual(parseSetting("model.headHidden=[512,256]"), ["model.headHidden", [512, 256]]);
  assert.deepEqual(parseSetting("model.headHidden=64"), ["model.headHidden", [64]]);
  assert.deepEqual(parseSetting("model.headHidden=32,1e1"), ["model.headHidden", [32, 10]]);
  assert.deepEqual(parseSetting('model={"gruHidden":1}'), ["model", { gruHidden: 1 }]);
});

Deno.test("`parseSetting()` rejects malformed settings, unknown keys and badly typed values", () => {
  const cases: [string, RegExp][] = [
    ["totalSteps", /invalid setting "totalSteps"; expected key=value/],
    ["=5", /invalid setting "=5"; expected key=value/],
    ["totlSteps=5", /unknown config key "totlSteps"; expected one of .* or model.<name>/],
    ["totalSteps=abc", /invalid totalSteps "abc"; expected a number/],
    ["totalSteps=1__000", /invalid totalSteps "1__000"; expected a number/],
    ["totalSteps=", /invalid totalSteps ""; expected a number/],
    ["totalSteps=0x10", /invalid totalSteps "0x10"; expected a number/],
    ["lr=Infinity", /invalid lr "Infinity"; expected a number/],
    ["lr=1e999", /invalid lr "1e999"; expected a finite number/],
    ["bootstrapOnTruncation=yes", /invalid bootstrapOnTruncation "yes"; expected true or false/],
    ["seed=", /invalid seed ""; expected a number or a non-empty string/],
    ["model.=3", /invalid setting key "model."; expected model.<name>/],
    ["model.gruSize=3", /unknown model setting "gruSize"; expected one of .*gruHidden/],
    ["model.gruHidden=big", /invalid model.gruHidden "big"; expected a number/],
    ["model.headHidden=[1,", /invalid model.headHidden "\[1,"; expected a list of numbers/],
    ["model={x", /invalid model "\{x"; expected a JSON object/],
    ["model=[1]", /invalid model "\[1\]"; expected a JSON object/],
  ];
  for (const [s, re] of cases) assert.throws(() => parseSetting(s), re, s);
  assert.throws(() => parseNumber("1.2.3", "x"), /invalid x "1.2.3"/);
});

Deno.test("`applySettings()` merges model.<name> settings into the model overrides", () => {
  const p = applySettings({ ...base, model: { obsEmbedding: 8 } }, [
    "lr=3e-4",
    "model.gruHidden=64",
    'model={"headHidden":[16]}',
    "totalSteps=1e5",
  ]);
  assert.deepEqual(p, {
    ...base,
    lr: 3e-4,
    totalSteps: 100_000,
    model: { obsEmbedding: 8, gruHidden: 64, headHidden: [16] },
  });
  const c = resolveTrainConfig(p);
  assert.equal(c.totalSteps, 100_000);
});

Deno.test("`batchKey()` ignores seed, lr and time limit and nothing else", () => {
  const config = resolveTrainConfig({ ...base, seed: 1 });
  const key = batchKey(config);
  assert.deepEqual([...PER_RUN_FIELDS], ["seed", "lr", "timeLimit"]);
  for (const same of [{ seed: 7 }, { lr: 3e-4 }, { timeLimit: 100 }, { lr: 1e-3, seed: "x" }]) {
    assert.equal(batchKey({ ...config, ...same }), key, JSON.stringify(same));
  }
  for (const other of [{ gamma: 0.9 }, { algo: "dqn" as const }, { model: { gruHidden: 8 } }]) {
    assert.notEqual(batchKey({ ...config, ...other }), key, JSON.stringify(other));
  }
  // Derived a second way: SHA-256 of the key-sorted JSON of the config without the three fields
  // (evaluation off, so its two fields are left out as configHash does).
  const rest: Record<string, unknown> = { ...config };
  for (const f of ["seed", "lr", "timeLimit", "evalEvery", "evalEpisodes"]) delete rest[f];
  const sorted = (v: unknown): unknown =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as never)[k])]))
      : v;
  const want = createHash("sha256").update(JSON.stringify(sorted(rest))).digest("hex");
  assert.equal(key, want);
});
