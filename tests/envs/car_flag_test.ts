import assert from "assert";
import {
  CAR_FLAG_FORCES,
  type CarFlagObs,
  type CarFlagState,
  makeCarFlag,
} from "../../lib/envs/car_flag.ts";
import { makeRng } from "../../lib/rng.ts";

const env = makeCarFlag();
const rng = makeRng("car-flag-test");

/** Full right until the priest shows a side, then full toward heaven; returns [steps, return]. */
function bangBang(x0: number, heaven: 1 | -1): [number, number] {
  let state: CarFlagState = { x: x0, v: 0, heaven, t: 0 };
  let obs: CarFlagObs = { x: x0, v: 0, direction: 0 };
  let dir = 0, n = 0, ret = 0;
  for (;;) {
    if (obs.direction !== 0) dir = obs.direction;
    const r = env.step(state, dir < 0 ? 0 : 6, rng);
    n++;
    ret += r.reward;
    ({ state, obs } = r);
    if (r.terminated || r.truncated) return [n, ret];
  }
}

Deno.test("makeCarFlag() has 7 actions with forces linspace(-1, 1, 7)", () => {
  assert.equal(env.id, "car-flag");
  assert.equal(env.numActions, 7);
  assert.equal(env.actionNames.length, 7);
  assert.equal(env.timeLimit, 1000);
  const expected = [-1, -2 / 3, -1 / 3, 0, 1 / 3, 2 / 3, 1];
  CAR_FLAG_FORCES.forEach((f, i) => assert.ok(Math.abs(f - expected[i]) < 1e-12, `force ${i}`));
  assert.equal(CAR_FLAG_FORCES[0], -1);
  assert.equal(CAR_FLAG_FORCES[6], 1);
});

Deno.test("makeCarFlag() reset draws heaven ±1 and x0 in [-0.2, 0.2] with v0 = 0, direction 0", () => {
  const r = makeRng(5);
  const sides = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const { state, obs } = env.reset(r);
    sides.add(state.heaven);
    assert.ok(state.x >= -0.2 && state.x <= 0.2);
    assert.equal(state.v, 0);
    assert.equal(state.t, 0);
    assert.deepEqual(obs, { x: state.x, v: 0, direction: 0 });
  }
  assert.deepEqual([...sides].sort(), [-1, 1]);
});

Deno.test("makeCarFlag() heaven is drawn first, then x0 = -0.2 + 0.4 u", () => {
  const a = makeRng(11), b = makeRng(11);
  const { state } = env.reset(a);
  const u1 = b(), u2 = b();
  assert.equal(state.heaven, u1 < 0.5 ? 1 : -1);
  assert.ok(Math.abs(state.x - (-0.2 + 0.4 * u2)) < 1e-15);
});

Deno.test("makeCarFlag() step follows v' = clip(v + 0.0015 f), x' = x + v'", () => {
  const s: CarFlagState = { x: 0.1, v: 0.01, heaven: 1, t: 3 };
  const r = env.step(s, 5, rng); // f = 2/3
  const v = 0.01 + 0.0015 * (2 / 3);
  assert.ok(Math.abs(r.state.v - v) < 1e-15);
  assert.ok(Math.abs(r.state.x - (0.1 + v)) < 1e-15);
  assert.equal(r.state.t, 4);
  assert.equal(r.reward, 0);
  assert.equal(r.terminated, false);
  assert.equal(r.truncated, false);
  // speed limit
  const fast = env.step({ x: 0, v: 0.0695, heaven: 1, t: 0 }, 6, rng);
  assert.equal(fast.state.v, 0.07);
  assert.equal(fast.state.x, 0.07);
});

Deno.test("makeCarFlag() clips at -1.1 and zeroes the velocity there (not at +1.1)", () => {
  const left = env.step({ x: -1.09, v: -0.07, heaven: 1, t: 0 }, 0, rng);
  assert.equal(left.state.x, -1.1);
  assert.equal(left.state.v, 0);
  assert.equal(left.obs.x, -1.1);
  assert.equal(left.obs.v, 0);
  assert.equal(left.terminated, true);
  assert.equal(left.reward, -1); // heaven is right: the left flag is hell
  const right = env.step({ x: 1.09, v: 0.07, heaven: 1, t: 0 }, 6, rng);
  assert.equal(right.state.x, 1.1);
  assert.equal(right.state.v, 0.07);
  assert.equal(right.reward, 1);
});

Deno.test("makeCarFlag() pays ±1 at the flags x ≥ 1 / x ≤ -1 and ends there", () => {
  const cases: [number, 1 | -1, number][] = [[0.99, 1, 1], [0.99, -1, -1], [-0.99, -1, 1], [
    -0.99,
    1,
    -1,
  ]];
  for (const [x, heaven, reward] of cases) {
    const v = x > 0 ? 0.01 : -0.01;
    const r = env.step({ x, v, heaven, t: 0 }, 3, rng); // coast: x' = x ± 0.01 → ±1
    assert.equal(Math.abs(r.state.x) >= 1, true);
    assert.equal(r.reward, reward, `x=${x} heaven=${heaven}`);
    assert.equal(r.terminated, true);
  }
  const inside = env.step({ x: 0.98, v: 0.01, heaven: 1, t: 0 }, 3, rng);
  assert.equal(inside.terminated, false);
  assert.equal(inside.reward, 0);
});

Deno.test("makeCarFlag() shows the side only inside the priest zone [0.3, 0.7] (inclusive)", () => {
  const at = (x: number, heaven: 1 | -1) => env.step({ x, v: 0, heaven, t: 0 }, 3, rng).obs;
  assert.equal(at(0.3, 1).direction, 1);
  assert.equal(at(0.7, 1).direction, 1);
  assert.equal(at(0.5, -1).direction, -1);
  assert.equal(at(0.3, -1).direction, -1);
  assert.equal(at(0.7, -1).direction, -1);
  assert.equal(at(0.2999, 1).direction, 0);
  assert.equal(at(0.7001, -1).direction, 0);
  assert.equal(at(-0.5, 1).direction, 0);
});

Deno.test("makeCarFlag() bang-bang earns +1 in 37 steps (right) and 86 (left) from x0 = 0", () => {
  assert.deepEqual(bangBang(0, 1), [37, 1]);
  assert.deepEqual(bangBang(0, -1), [86, 1]);
});

Deno.test("makeCarFlag() bang-bang takes 33-40 (right) and 67-101 (left) steps over the start range", () => {
  const right: number[] = [], left: number[] = [];
  for (let i = 0; i <= 200; i++) {
    const x0 = -0.2 + i * 0.002;
    const [nr, rr] = bangBang(x0, 1);
    const [nl, rl] = bangBang(x0, -1);
    assert.equal(rr, 1);
    assert.equal(rl, 1);
    right.push(nr);
    left.push(nl);
  }
  assert.equal(Math.min(...right), 33);
  assert.equal(Math.max(...right), 40);
  assert.equal(Math.min(...left), 67);
  assert.equal(Math.max(...left), 101);
});

Deno.test("makeCarFlag() truncates at the time limit without terminating", () => {
  const short = makeCarFlag({ timeLimit: 5 });
  let { state } = short.reset(rng);
  for (let i = 1; i <= 5; i++) {
    const r = short.step(state, 3, rng);
    state = r.state;
    assert.equal(r.truncated, i === 5);
    assert.equal(r.terminated, false);
  }
  assert.throws(() => makeCarFlag({ timeLimit: 0 }), /timeLimit 0/);
});

Deno.test("makeCarFlag() encodes obs [x, v, dir] and state [x, v, heaven] with bounds", () => {
  assert.equal(env.obsSpec.size, 3);
  assert.equal(env.stateSpec.size, 3);
  assert.deepEqual(env.obsSpec.parts, [
    { kind: "vector", size: 1, low: -1.1, high: 1.1 },
    { kind: "vector", size: 1, low: -0.07, high: 0.07 },
    { kind: "vector", size: 1, low: -1, high: 1 },
  ]);
  assert.deepEqual(env.stateSpec.parts, env.obsSpec.parts);
  const r = env.step({ x: 0.45, v: 0.02, heaven: -1, t: 0 }, 3, rng);
  assert.deepEqual([...env.encodeObs(r.obs)], [...Float32Array.of(0.47, 0.02, -1)]);
  assert.deepEqual([...env.encodeState(r.state)], [...Float32Array.of(0.47, 0.02, -1)]);
});

Deno.test("makeCarFlag() renders the track with the car, the priest zone and heaven", () => {
  const s: CarFlagState = { x: 0, v: 0, heaven: 1, t: 0 };
  const pic = env.renderState(s).split("\n")[0];
  assert.equal(pic.length, 45);
  assert.equal(pic[22], "C");
  assert.equal(pic[pic.length - 3], "H"); // x = 1 is heaven
  assert.equal(pic[2], "X");
  assert.ok(pic.includes("[") && pic.includes("]"));
  const obsPic = env.renderObs({ x: 0, v: 0, direction: 0 });
  assert.ok(!obsPic.includes("H"), "the observation does not show heaven");
});
