import assert from "assert";
import { heavenHellLayout, heavenHellModel } from "../../lib/pomdp/heaven_hell.ts";
import { expectedReward, type TabularPOMDP, toDense } from "../../lib/pomdp/model.ts";
import { parsePOMDP } from "../../lib/pomdp/parser.ts";

const DATA = new URL("../../data/pomdp/", import.meta.url);

/**
 * The HH-3 adjacency table of shared/spec/environments.md, typed in row by row:
 * cell -> next cell for N, S, E, W (null = END, the action ends the episode), and the observation.
 */
const HH3_TABLE: [number, (number | null)[], number | [number, number]][] = [
  [0, [1, 10, 0, 0], 0],
  [1, [2, 0, 1, 1], 1],
  [2, [3, 1, 2, 2], 2],
  [3, [3, 2, 7, 4], 3],
  [4, [4, 4, 3, 5], 4],
  [5, [5, 5, 4, 6], 5],
  [6, [null, null, null, null], 6],
  [7, [7, 7, 8, 3], 7],
  [8, [8, 8, 9, 7], 8],
  [9, [null, null, null, null], 9],
  [10, [0, 10, 11, 10], 10],
  [11, [11, 11, 12, 10], 11],
  [12, [12, 12, 13, 11], 12],
  [13, [13, 13, 13, 12], [13, 14]], // priest: 13 if heaven is left, 14 if right
];

/** The unique next state of a deterministic row, or null for a reset pair. */
function next(model: TabularPOMDP, s: number, a: number): number | null {
  const m = toDense(model);
  const S = m.states.length;
  if (m.reset[a * S + s]) {
    for (let s2 = 0; s2 < S; s2++) {
      assert.equal(m.T[(a * S + s) * S + s2], 0, "reset rows are zero");
    }
    return null;
  }
  const row = Array.from(m.T.subarray((a * S + s) * S, (a * S + s + 1) * S));
  const ones = row.flatMap((p, i) => (p === 1 ? [i] : []));
  assert.equal(ones.length, 1, `row (s=${s}, a=${a}) is deterministic`);
  assert.equal(row.reduce((x, y) => x + y, 0), 1);
  return ones[0];
}

/** The unique observation emitted on arriving in s2 (checked identical for every action). */
function obsOf(model: TabularPOMDP, s2: number): number {
  const m = toDense(model);
  const S = m.states.length, O = m.observations.length;
  const first = Array.from(m.O.subarray(s2 * O, s2 * O + O));
  for (let a = 1; a < 4; a++) {
    assert.deepStrictEqual(Array.from(m.O.subarray((a * S + s2) * O, (a * S + s2 + 1) * O)), first);
  }
  const ones = first.flatMap((p, i) => (p === 1 ? [i] : []));
  assert.equal(ones.length, 1);
  return ones[0];
}

Deno.test("heavenHellModel() equals the independently written .pomdp files", () => {
  for (const n of [3, 4]) {
    const file = `heavenhell_${n}.pomdp`;
    const parsed = parsePOMDP(Deno.readTextFileSync(new URL(file, DATA)), { source: file });
    assert.deepStrictEqual(heavenHellModel(n), parsed, file);
  }
});

Deno.test("heavenHellModel() has the sizes, start and discount of the spec", () => {
  for (const [n, C] of [[3, 14], [4, 18]]) {
    const m = heavenHellModel(n);
    assert.equal(m.states.length, 2 * C);
    assert.deepStrictEqual(m.actions, ["N", "S", "E", "W"]);
    assert.equal(m.observations.length, C + 1);
    assert.equal(m.observations[C - 1], "left");
    assert.equal(m.observations[C], "right");
    assert.equal(m.discount, 0.99);
    const start = new Array(2 * C).fill(0);
    start[0] = 0.5;
    start[C] = 0.5;
    assert.deepStrictEqual(Array.from(m.start), start);
  }
});

Deno.test("heavenHellModel(3) matches the spec's adjacency table row by row, on both sides", () => {
  const m = heavenHellModel(3);
  const C = 14;
  for (const h of [0, 1]) {
    for (const [c, moves, obs] of HH3_TABLE) {
      const s = h * C + c;
      for (let a = 0; a < 4; a++) {
        const want = moves[a] === null ? null : h * C + moves[a]!;
        assert.equal(next(m, s, a), want, `cell ${c}, side ${h}, action ${"NSEW"[a]}`);
      }
      const want = typeof obs === "number" ? obs : obs[h];
      assert.equal(obsOf(m, s), want, `observation of cell ${c}, side ${h}`);
    }
  }
});

Deno.test("heavenHellModel() reveals the side only at the priest", () => {
  for (const n of [1, 2, 3, 4, 6]) {
    const m = heavenHellModel(n);
    const C = 4 * n + 2;
    for (let c = 0; c < C; c++) {
      const left = obsOf(m, c), right = obsOf(m, C + c);
      if (c === C - 1) assert.deepStrictEqual([left, right], [C - 1, C], `n=${n} priest`);
      else assert.deepStrictEqual([left, right], [c, c], `n=${n} cell ${c}`);
    }
  }
});

Deno.test("heavenHellModel() pays ±1 exactly for acting in the end cells", () => {
  const cases: [number, number[], number[]][] = [[3, [6, 23], [9, 20]], [4, [8, 30], [12, 26]]];
  for (const [n, plus, minus] of cases) {
    const m = heavenHellModel(n);
    const S = m.states.length;
    const found: Record<string, number[]> = { "1": [], "-1": [] };
    for (let s = 0; s < S; s++) {
      const r = [0, 1, 2, 3].map((a) => expectedReward(m, s, a));
      assert.ok(r.every((x) => x === r[0]), `reward of s=${s} does not depend on the action`);
      if (r[0] !== 0) found[String(r[0])].push(s);
      const ends = [0, 1, 2, 3].map((a) => m.reset[a * S + s]);
      const isEnd = plus.includes(s) || minus.includes(s);
      assert.deepStrictEqual(ends, new Array(4).fill(isEnd ? 1 : 0), `reset pairs of s=${s}`);
    }
    assert.deepStrictEqual(found["1"], plus, `n=${n} heaven states`);
    assert.deepStrictEqual(found["-1"], minus, `n=${n} hell states`);
    // arriving at an end cell pays 0: the reward sits on the state where the action is taken
    for (let a = 0; a < 4; a++) {
      for (let s = 0; s < S; s++) {
        if (!plus.includes(s) && !minus.includes(s)) assert.equal(expectedReward(m, s, a), 0);
      }
    }
  }
});

Deno.test("heavenHellModel() rejects n that is not a positive integer", () => {
  for (const n of [0, -1, 2.5, NaN, Infinity]) {
    assert.throws(
      () => heavenHellModel(n),
      new RegExp(`invalid n ${n}; expected a positive integer`),
    );
  }
  assert.deepStrictEqual(heavenHellLayout(4), {
    n: 4,
    cells: 18,
    topFork: 4,
    leftEnd: 8,
    rightEnd: 12,
    bottomFork: 13,
    priest: 17,
  });
});
