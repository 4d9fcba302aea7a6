import assert from "assert";
import { makeHeavenHell } from "../../lib/envs/heaven_hell.ts";
import type { PomdpState } from "../../lib/envs/pomdp_env.ts";
import { makeRng } from "../../lib/rng.ts";

const A: Record<string, number> = { N: 0, S: 1, E: 2, W: 3 };

/** Run `actions` (a string over NSEW) from cell 0 on side h; return the trace. */
function run(n: number, h: number, actions: string) {
  const env = makeHeavenHell(n);
  const C = 4 * n + 2;
  const rng = makeRng(`hh-${n}-${h}`);
  let state: PomdpState = { s: h * C, t: 0 };
  const rewards: number[] = [], obs: number[] = [], cells: number[] = [], ends: boolean[] = [];
  for (const ch of actions) {
    const r = env.step(state, A[ch], rng);
    rewards.push(r.reward);
    obs.push(r.obs);
    cells.push(r.state.s - h * C);
    ends.push(r.terminated);
    assert.equal(r.truncated, false);
    state = r.state;
  }
  return { rewards, obs, cells, ends, total: rewards.reduce((x, y) => x + y, 0) };
}

/** The spec's optimal plan: S, E×n, W×n, N×(n+1), n moves along heaven's arm, one more action. */
function optimal(n: number, heavenLeft: boolean): string {
  const arm = heavenLeft ? "W" : "E";
  return "S" + "E".repeat(n) + "W".repeat(n) + "N".repeat(n + 1) + arm.repeat(n) + "N";
}

Deno.test("makeHeavenHell() optimal plan earns +1 in 4n+3 actions on both sides", () => {
  for (const n of [3, 4]) {
    const C = 4 * n + 2;
    for (const h of [0, 1]) {
      const plan = optimal(n, h === 0);
      assert.equal(plan.length, 4 * n + 3);
      const tr = run(n, h, plan);
      assert.equal(tr.total, 1, `n=${n} h=${h}`);
      assert.deepStrictEqual(tr.ends, [...new Array(4 * n + 2).fill(false), true]);
      assert.deepStrictEqual(tr.rewards.slice(0, -1), new Array(4 * n + 2).fill(0));
      // After S and E×n the agent stands at the priest, who names heaven's side.
      assert.equal(tr.cells[n], C - 1);
      assert.equal(tr.obs[n], h === 0 ? C - 1 : C);
      // The last move before the ending action reaches heaven's end cell (2n left, 3n right).
      assert.equal(tr.cells[4 * n + 1], h === 0 ? 2 * n : 3 * n);
      assert.equal(tr.obs[4 * n + 2], C + 1, "the ending step returns the reset observation");
    }
  }
});

Deno.test("makeHeavenHell() wrong arm earns -1; guessing without the priest earns ±1", () => {
  for (const n of [3, 4]) {
    for (const h of [0, 1]) {
      const wrong = "S" + "E".repeat(n) + "W".repeat(n) + "N".repeat(n + 1) +
        (h === 0 ? "E" : "W").repeat(n) + "S";
      const tr = run(n, h, wrong);
      assert.equal(tr.total, -1);
      assert.equal(tr.ends.at(-1), true);
      // Straight up and left: heaven if h = left, hell otherwise (2n + 1 actions).
      const guess = run(n, h, "N".repeat(n) + "W".repeat(n) + "E");
      assert.equal(guess.total, h === 0 ? 1 : -1);
      assert.equal(guess.ends.indexOf(true), 2 * n);
    }
  }
});

Deno.test("makeHeavenHell() observations before the priest do not depend on the side", () => {
  for (const n of [3, 4]) {
    const plan = "N".repeat(n) + "S".repeat(n) + "S" + "E".repeat(n - 1);
    assert.deepStrictEqual(run(n, 0, plan).obs, run(n, 1, plan).obs);
    const cells = run(n, 0, plan).obs;
    const expected = [
      ...Array.from({ length: n }, (_, i) => i + 1), // up the corridor to the fork n
      ...Array.from({ length: n }, (_, i) => n - 1 - i), // back down to 0
      3 * n + 1, // bottom fork
      ...Array.from({ length: n - 1 }, (_, i) => 3 * n + 2 + i), // towards the priest
    ];
    assert.deepStrictEqual(cells, expected);
  }
});

Deno.test("makeHeavenHell() exposes id, actions, specs and a reset observation C+1", () => {
  for (const [n, S, O] of [[3, 28, 15], [4, 36, 19]]) {
    const env = makeHeavenHell(n, { timeLimit: 50 });
    assert.equal(env.id, `heaven-hell-${n}`);
    assert.deepStrictEqual([...env.actionNames], ["N", "S", "E", "W"]);
    assert.equal(env.numActions, 4);
    assert.equal(env.timeLimit, 50);
    assert.equal(makeHeavenHell(n).timeLimit, 1000);
    assert.deepStrictEqual(env.obsSpec, { size: O, parts: [{ kind: "onehot", size: O }] });
    assert.deepStrictEqual(env.stateSpec, { size: S, parts: [{ kind: "onehot", size: S }] });
    const starts = new Set<number>();
    const rng = makeRng(n);
    for (let i = 0; i < 64; i++) {
      const { state, obs } = env.reset(rng);
      assert.equal(obs, O); // C + 1
      assert.deepStrictEqual(Array.from(env.encodeObs(obs)), new Array(O).fill(0));
      starts.add(state.s);
      assert.equal(state.t, 0);
    }
    assert.deepStrictEqual([...starts].sort((a, b) => a - b), [0, S / 2]);
  }
});

Deno.test("makeHeavenHell() renders the maze and the priest's words", () => {
  const env = makeHeavenHell(3);
  const pic = env.renderState({ s: 0, t: 0 });
  const lines = pic.split("\n");
  assert.equal(lines[0], "H o o o o o X"); // left end = heaven, 5 arm/fork cells, right end = hell
  assert.equal(lines[3], "      @"); // the agent at cell 0, below the fork
  assert.equal(lines[4], "      o o o P");
  assert.match(lines[5], /heaven: left/);
  const right = env.renderState({ s: 14 + 13, t: 7 });
  assert.match(right, /^X o o o o o H/);
  assert.match(right, /o o o @\n/);
  assert.match(right, /heaven: right .*t=7/);
  assert.match(env.renderObs(13), /priest.*heaven is left/);
  assert.match(env.renderObs(14), /priest.*heaven is right/);
  assert.match(env.renderObs(15), /reset/);
  assert.equal(env.renderObs(4), "cell 4");
  assert.throws(() => env.renderObs(16), /invalid observation 16; expected an integer in 0\.\.15/);
  assert.throws(() => env.renderState({ s: 28, t: 0 }), /invalid state/);
});

Deno.test("makeHeavenHell() rejects bad n, actions and time limits", () => {
  assert.throws(() => makeHeavenHell(0), /invalid n 0; expected a positive integer/);
  assert.throws(() => makeHeavenHell(3, { timeLimit: 0 }), /invalid timeLimit 0/);
  const env = makeHeavenHell(3);
  assert.throws(
    () => env.step({ s: 0, t: 0 }, 4, makeRng(0)),
    /heaven-hell-3: invalid action 4; expected an integer in 0\.\.3/,
  );
});
