import assert from "assert";
import { makePomdpEnv, type PomdpState } from "../../lib/envs/pomdp_env.ts";
import { emptyDenseModel, fromDense, type TabularPOMDP } from "../../lib/pomdp/model.ts";
import { parsePOMDP } from "../../lib/pomdp/parser.ts";
import { makeRng, randInt } from "../../lib/rng.ts";

const DATA = new URL("../../data/pomdp/", import.meta.url);
function load(name: string): TabularPOMDP {
  return parsePOMDP(Deno.readTextFileSync(new URL(`${name}.pomdp`, DATA)), { source: name });
}

/** Run a random-action episode; return every step result. */
function trajectory(env: ReturnType<typeof makePomdpEnv>, seed: number) {
  const rng = makeRng(seed);
  const first = env.reset(rng);
  let state = first.state;
  const out: unknown[] = [first];
  for (let i = 0; i < 500; i++) {
    const r = env.step(state, randInt(rng, env.numActions), rng);
    out.push(r);
    state = r.state;
    if (r.terminated || r.truncated) break;
  }
  return out;
}

Deno.test("makePomdpEnv() same seed gives the same trajectory", () => {
  for (const name of ["tiger", "tmaze", "heavenhell_3"]) {
    const env = makePomdpEnv(load(name), { id: name, timeLimit: 200 });
    const a = trajectory(env, 11), b = trajectory(env, 11), c = trajectory(env, 12);
    assert.deepStrictEqual(a, b, name);
    assert.ok(a.length > 1);
    if (name === "tiger") assert.notDeepStrictEqual(a, c);
  }
});

Deno.test("makePomdpEnv() step does not mutate the input state", () => {
  const env = makePomdpEnv(load("tmaze"));
  const rng = makeRng(3);
  const state: PomdpState = Object.freeze({ s: 0, t: 5 });
  for (let a = 0; a < env.numActions; a++) {
    const r = env.step(state, a, rng);
    assert.deepStrictEqual(state, { s: 0, t: 5 });
    assert.notEqual(r.state, state);
    assert.equal(r.state.t, 6);
  }
  // a reset pair returns a new object too, with the same state index
  const junction = Object.freeze({ s: 3, t: 2 });
  const r = env.step(junction, 1, rng);
  assert.notEqual(r.state, junction);
  assert.deepStrictEqual(r.state, { s: 3, t: 3 });
});

Deno.test("makePomdpEnv() truncates when t+1 reaches the limit, unless the step terminates", () => {
  const tiger = makePomdpEnv(load("tiger"), { id: "tiger", timeLimit: 5 });
  const rng = makeRng(0);
  let state = tiger.reset(rng).state;
  const flags: boolean[] = [];
  for (let i = 0; i < 5; i++) {
    const r = tiger.step(state, 0, rng);
    flags.push(r.truncated);
    assert.equal(r.terminated, false);
    assert.equal(r.reward, -1); // listening costs 1
    state = r.state;
  }
  assert.deepStrictEqual(flags, [false, false, false, false, true]);
  assert.equal(makePomdpEnv(load("tiger")).timeLimit, 1000);

  // T-maze: the optimal 4-action episode terminates exactly at a limit of 4: not truncated.
  const maze = makePomdpEnv(load("tmaze"), { timeLimit: 4 });
  for (const goal of [0, 1]) {
    let s: PomdpState = { s: goal * 4, t: 0 }; // start-L / start-R
    const obs: number[] = [];
    let last;
    for (const a of [0, 0, 0]) {
      last = maze.step(s, a, rng);
      obs.push(last.obs);
      s = last.state;
    }
    // corridor=0, cue-left=1, cue-right=2, junction=3
    assert.deepStrictEqual(obs, [goal === 0 ? 1 : 2, 0, 3]);
    last = maze.step(s, goal === 0 ? 1 : 2, rng);
    assert.deepStrictEqual(
      {
        reward: last.reward,
        terminated: last.terminated,
        truncated: last.truncated,
        obs: last.obs,
      },
      { reward: 1, terminated: true, truncated: false, obs: 4 },
    );
  }
});

Deno.test("makePomdpEnv() samples next states and observations with the model's frequencies", () => {
  const env = makePomdpEnv(load("tiger"));
  const rng = makeRng("freq");
  let correct = 0, tigerLeft = 0;
  const N = 4000;
  for (let i = 0; i < N; i++) {
    const r = env.step({ s: 0, t: 0 }, 0, rng); // listen with the tiger on the left
    assert.equal(r.state.s, 0);
    if (r.obs === 0) correct++;
    const o = env.step({ s: 1, t: 0 }, 1, rng); // open-left: the tiger moves uniformly
    if (o.state.s === 0) tigerLeft++;
    assert.equal(o.reward, 10);
  }
  // binomial standard deviations: sqrt(.85*.15/4000) ≈ 0.0056, sqrt(.25/4000) ≈ 0.0079
  assert.ok(Math.abs(correct / N - 0.85) < 0.03, `hear-left frequency ${correct / N}`);
  assert.ok(Math.abs(tigerLeft / N - 0.5) < 0.04, `tiger-left frequency ${tigerLeft / N}`);
});

Deno.test("makePomdpEnv() ends reset pairs with R(s, a, s, o=0) and the reset observation", () => {
  const m = emptyDenseModel(["a", "b"], ["go", "end"], ["x", "y"], 0.9);
  m.start.set([1, 0]);
  // go: a -> b, b -> b; end: a -> a, b is a reset pair
  m.T.set([0, 1, 0, 1, 1, 0, 0, 0]);
  m.reset[1 * 2 + 1] = 1;
  m.O.fill(0.5);
  // R[((a*S + s)*S + s2)*O + o]: the reward of (b, end) is read at s2 = b, o = x
  m.R[((1 * 2 + 1) * 2 + 1) * 2 + 0] = 7;
  m.R[((1 * 2 + 1) * 2 + 0) * 2 + 0] = -100; // not used: no successor exists
  const env = makePomdpEnv(fromDense(m), { id: "toy" });
  const rng = makeRng(1);
  const { state, obs } = env.reset(rng);
  assert.deepStrictEqual({ state, obs }, { state: { s: 0, t: 0 }, obs: 2 });
  const r1 = env.step(state, 0, rng);
  assert.equal(r1.state.s, 1);
  const r2 = env.step(r1.state, 1, rng);
  assert.deepStrictEqual(r2, {
    state: { s: 1, t: 2 },
    obs: 2,
    reward: 7,
    terminated: true,
    truncated: false,
  });
});

Deno.test("makePomdpEnv() encodes one-hot observations and states; reset obs is all zeros", () => {
  const env = makePomdpEnv(load("tmaze"), { id: "tmaze" });
  assert.deepStrictEqual(env.obsSpec, { size: 4, parts: [{ kind: "onehot", size: 4 }] });
  assert.deepStrictEqual(env.stateSpec, { size: 8, parts: [{ kind: "onehot", size: 8 }] });
  assert.equal(env.resetObs, 4);
  assert.deepStrictEqual(Array.from(env.encodeObs(2)), [0, 0, 1, 0]);
  assert.deepStrictEqual(Array.from(env.encodeObs(4)), [0, 0, 0, 0]);
  assert.deepStrictEqual(Array.from(env.encodeState({ s: 5, t: 1 })), [0, 0, 0, 0, 0, 1, 0, 0]);
  assert.ok(env.encodeObs(0) instanceof Float32Array);
  assert.equal(env.renderObs(1), "cue-left");
  assert.equal(env.renderObs(4), "(reset)");
  assert.equal(env.renderState({ s: 3, t: 9 }), "junction-L (t=9)");
  assert.deepStrictEqual([...env.actionNames], ["forward", "go-left", "go-right"]);
  assert.throws(
    () => env.encodeObs(5),
    /tmaze: invalid observation 5; expected an integer in 0\.\.4/,
  );
  assert.throws(() => env.encodeObs(1.5), /invalid observation 1\.5/);
  assert.throws(
    () => env.encodeState({ s: 8, t: 0 }),
    /tmaze: invalid state .*expected \{ s: 0\.\.7/,
  );
});

Deno.test("makePomdpEnv() throws clear errors on invalid actions, states and models", () => {
  const env = makePomdpEnv(load("tiger"), { id: "tiger" });
  const rng = makeRng(0);
  for (const a of [-1, 3, 1.5, NaN]) {
    assert.throws(
      () => env.step({ s: 0, t: 0 }, a, rng),
      new RegExp(`tiger: invalid action ${a}; expected an integer in 0\\.\\.2`),
    );
  }
  assert.throws(() => env.step({ s: 2, t: 0 }, 0, rng), /tiger: invalid state/);
  assert.throws(() => env.step({ s: 0, t: -1 }, 0, rng), /tiger: invalid state/);
  const m = load("tiger");
  assert.throws(
    () => makePomdpEnv({ ...m, T: { ...m.T, ptr: new Int32Array(3) } }, { id: "broken" }),
    /broken: model\.T\.ptr has length 3; expected 7/,
  );
  assert.throws(() => makePomdpEnv(m, { timeLimit: 1.5 }), /pomdp: invalid timeLimit 1\.5/);
});
