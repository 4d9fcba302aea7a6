/**
 * The shared conformance suite: every registered environment honours the {@link Env} contract.
 */
import assert from "assert";
import { type Env, ENV_IDS, type FeatureSpec, isByteSpec, makeEnv } from "../../lib/envs/mod.ts";
import { randomPolicy, rollout } from "../../lib/envs/rollout.ts";
import { makeRng, randInt } from "../../lib/rng.ts";

/** Short episodes keep the suite fast; every environment must truncate exactly here. */
const LIMIT = 40;

/** Throw unless `x` fits `spec`: sizes add up, every value within its part's declared range. */
function checkEncoding(x: Float32Array, spec: FeatureSpec, what: string): void {
  assert.ok(x instanceof Float32Array, `${what}: not a Float32Array`);
  assert.equal(x.length, spec.size, `${what}: length`);
  let o = 0;
  for (const [k, p] of spec.parts.entries()) {
    const width = p.kind === "categorical" ? p.count : p.size;
    const block = x.subarray(o, o + width);
    const where = `${what} part ${k} (${p.kind})`;
    if (p.kind === "onehot") {
      let ones = 0;
      for (const v of block) {
        assert.ok(v === 0 || v === 1, `${where}: value ${v} is not 0/1`);
        ones += v;
      }
      assert.ok(ones <= 1, `${where}: ${ones} ones`);
    } else if (p.kind === "vector") {
      // Values are float32: compare with the float32-rounded bounds.
      const lo = Math.fround(p.low), hi = Math.fround(p.high);
      for (const v of block) {
        assert.ok(v >= lo && v <= hi, `${where}: ${v} outside [${p.low}, ${p.high}]`);
      }
    } else {
      for (const v of block) {
        assert.ok(
          Number.isInteger(v) && v >= 0 && v < p.vocab,
          `${where}: code ${v} outside vocab ${p.vocab}`,
        );
      }
    }
    o += width;
  }
  assert.equal(o, spec.size, `${what}: the parts' widths sum to the size`);
}

/** A trajectory of `n` fixed actions from `seed`, as plain data. */
function trajectory(env: Env, seed: number, actions: number[]) {
  const rng = makeRng(seed);
  let { state, obs } = env.reset(rng);
  const steps: unknown[] = [{
    state,
    obs,
    o: [...env.encodeObs(obs)],
    s: [...env.encodeState(state)],
  }];
  for (const a of actions) {
    const r = env.step(state, a, rng);
    steps.push({ ...r, o: [...env.encodeObs(r.obs)], s: [...env.encodeState(r.state)] });
    if (r.terminated || r.truncated) ({ state, obs } = env.reset(rng));
    else ({ state, obs } = r);
  }
  return steps;
}

for (const id of ENV_IDS) {
  const env = makeEnv(id, { timeLimit: LIMIT });

  Deno.test(`conformance ${id}: identity, actions and time limit`, () => {
    assert.equal(env.id, id);
    assert.ok(Number.isInteger(env.numActions) && env.numActions >= 2);
    assert.equal(env.actionNames.length, env.numActions);
    assert.equal(new Set(env.actionNames).size, env.numActions, "action names are distinct");
    assert.equal(env.timeLimit, LIMIT);
    for (const spec of [env.obsSpec, env.stateSpec]) {
      const sum = spec.parts.reduce((a, p) => a + (p.kind === "categorical" ? p.count : p.size), 0);
      assert.equal(spec.size, sum);
    }
  });

  Deno.test(`conformance ${id}: same seed and actions give the same trajectory`, () => {
    const pick = makeRng(`${id}/actions`);
    const actions = Array.from({ length: 120 }, () => randInt(pick, env.numActions));
    const a = trajectory(env, 17, actions);
    const b = trajectory(makeEnv(id, { timeLimit: LIMIT }), 17, actions);
    assert.deepStrictEqual(a, b);
  });

  Deno.test(`conformance ${id}: encodings have the declared sizes and ranges`, () => {
    const rng = makeRng(`${id}/ranges`);
    const policy = randomPolicy(env, makeRng(`${id}/policy`));
    for (let e = 0; e < 5; e++) {
      let { state, obs } = env.reset(rng);
      for (let t = 0;; t++) {
        checkEncoding(env.encodeObs(obs), env.obsSpec, `${id} obs t=${t}`);
        checkEncoding(env.encodeState(state), env.stateSpec, `${id} state t=${t}`);
        assert.equal(typeof env.renderObs(obs), "string");
        assert.equal(typeof env.renderState(state), "string");
        const r = env.step(state, policy(obs, t), rng);
        assert.ok(Number.isFinite(r.reward));
        ({ state, obs } = r);
        if (r.terminated || r.truncated) {
          checkEncoding(env.encodeObs(obs), env.obsSpec, `${id} final obs`);
          checkEncoding(env.encodeState(state), env.stateSpec, `${id} final state`);
          break;
        }
      }
    }
  });

  Deno.test(`conformance ${id}: step does not mutate its input`, () => {
    const rng = makeRng(`${id}/mutation`);
    const policy = randomPolicy(env, makeRng(`${id}/policy`));
    let { state, obs } = env.reset(rng);
    for (let t = 0; t < 60; t++) {
      const stateCopy = structuredClone(state), obsCopy = structuredClone(obs);
      const r = env.step(state, policy(obs, t), rng);
      assert.deepStrictEqual(state, stateCopy);
      assert.deepStrictEqual(obs, obsCopy);
      assert.notEqual(r.state, state, "step returns a new state object");
      env.encodeState(state);
      env.encodeObs(obs);
      assert.deepStrictEqual(state, stateCopy, "encoding does not mutate either");
      if (r.terminated || r.truncated) ({ state, obs } = env.reset(rng));
      else ({ state, obs } = r);
    }
  });

  Deno.test(`conformance ${id}: random episodes end by termination or exactly at the limit`, () => {
    const policy = randomPolicy(env, makeRng(`${id}/policy`));
    const rng = makeRng(`${id}/episodes`);
    for (let e = 0; e < 10; e++) {
      const ep = rollout(env, policy, rng, { record: true });
      assert.ok(ep.length >= 1 && ep.length <= LIMIT);
      assert.ok(ep.terminated !== ep.truncated, "exactly one of terminated / truncated");
      if (ep.truncated) assert.equal(ep.length, LIMIT);
      assert.equal(ep.actions.length, ep.length);
      assert.equal(ep.rewards.length, ep.length);
      assert.equal(ep.observations?.length, ep.length);
      assert.equal(ep.states?.length, ep.length);
      assert.ok(Math.abs(ep.return - ep.rewards.reduce((a, b) => a + b, 0)) < 1e-9);
    }
  });

  Deno.test(`conformance ${id}: invalid actions throw`, () => {
    const rng = makeRng(`${id}/invalid`);
    const { state } = env.reset(rng);
    for (const a of [-1, env.numActions, 0.5, NaN, Infinity]) {
      assert.throws(() => env.step(state, a, rng), /invalid action/, `action ${a}`);
    }
  });
}

Deno.test("encodings declared 8-bit (isByteSpec) hold only integers in -128..127", () => {
  const declared: Record<string, [boolean, boolean]> = {};
  for (const id of ENV_IDS) {
    const env = makeEnv(id);
    declared[id] = [isByteSpec(env.obsSpec), isByteSpec(env.stateSpec)];
    const rng = makeRng(`bytes/${id}`);
    let { state, obs } = env.reset(rng);
    for (let t = 0; t < 300; t++) {
      for (
        const [spec, values] of [[env.obsSpec, env.encodeObs(obs)], [
          env.stateSpec,
          env.encodeState(state),
        ]] as const
      ) {
        if (!isByteSpec(spec)) continue;
        for (const v of values) {
          assert.ok(Number.isInteger(v) && v >= -128 && v <= 127, `${id}: value ${v}`);
        }
      }
      const r = env.step(state, randInt(rng, env.numActions), rng);
      ({ state, obs } = r.terminated || r.truncated ? env.reset(rng) : r);
    }
  }
  // By hand from environments.md: one-hot and categorical encodings and Cleaner's 0/1 grids are
  // integral; Car-Flag's positions and MemoryFourRooms' normalised coordinates are not.
  assert.deepEqual(declared, {
    "heaven-hell-3": [true, true],
    "heaven-hell-4": [true, true],
    "car-flag": [false, false],
    "cleaner": [true, true],
    "memory-four-rooms-7x7": [true, false],
  });
});
