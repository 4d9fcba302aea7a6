import assert from "assert";
import {
  CLEANER_MAP,
  cleanerIsWall,
  type CleanerState,
  makeCleaner,
} from "../../lib/envs/cleaner.ts";
import { randomPolicy, rollout } from "../../lib/envs/rollout.ts";
import { makeRng } from "../../lib/rng.ts";

const env = makeCleaner();
const rng = makeRng("cleaner-test");

// The maze of the spec, typed in again independently of the implementation's copy.
const SPEC_MAP = `
#############
#.#.....#...#
#.###.###.###
#...#.......#
###.#####.#.#
#.........#.#
#.#######.#.#
#.......#.#.#
#####.#.#####
#.....#.....#
#.#####.###.#
#.#.......#.#
#############`.trim().split("\n");

Deno.test("makeCleaner() uses the maze of the spec with 71 free cells, all dirty at reset", () => {
  assert.deepEqual([...CLEANER_MAP], SPEC_MAP);
  let free = 0;
  for (let r = 0; r < 13; r++) {
    for (let c = 0; c < 13; c++) {
      assert.equal(cleanerIsWall(r, c), SPEC_MAP[r][c] === "#");
      if (SPEC_MAP[r][c] === ".") free++;
    }
  }
  // Counted by hand per row (rows 1..11): 9, 3, 10, 3, 10, 3, 9, 2, 10, 3, 9.
  const byRow = SPEC_MAP.map((row) => [...row].filter((ch) => ch === ".").length);
  assert.deepEqual(byRow, [0, 9, 3, 10, 3, 10, 3, 9, 2, 10, 3, 9, 0]);
  assert.equal(free, 71);
  const { state } = env.reset(rng);
  assert.equal(state.dirty.reduce((a, b) => a + b, 0), 71);
  for (let cell = 0; cell < 169; cell++) {
    assert.equal(state.dirty[cell], SPEC_MAP[Math.floor(cell / 13)][cell % 13] === "." ? 1 : 0);
  }
});

Deno.test("makeCleaner() free cells form one tree (connected, 70 edges)", () => {
  const free = (r: number, c: number) => SPEC_MAP[r]?.[c] === ".";
  let edges = 0;
  for (let r = 0; r < 13; r++) {
    for (let c = 0; c < 13; c++) {
      if (free(r, c) && free(r + 1, c)) edges++;
      if (free(r, c) && free(r, c + 1)) edges++;
    }
  }
  assert.equal(edges, 70);
  const seen = new Set(["1,1"]);
  const queue = [[1, 1]];
  while (queue.length) {
    const [r, c] = queue.pop()!;
    for (const [dr, dc] of [[-1, 0], [1, 0], [0, -1], [0, 1]]) {
      const key = `${r + dr},${c + dc}`;
      if (free(r + dr, c + dc) && !seen.has(key)) {
        seen.add(key);
        queue.push([r + dr, c + dc]);
      }
    }
  }
  assert.equal(seen.size, 71);
  for (let r = 0; r < 13; r++) {
    for (let c = 0; c < 13; c++) assert.equal(cleanerIsWall(r, c), !free(r, c));
  }
});

Deno.test("makeCleaner() starts both agents at (1, 1) and draws no randomness", () => {
  const r = makeRng(3);
  const before = r.state();
  const { state } = env.reset(r);
  assert.deepEqual([state.r0, state.c0, state.r1, state.c1, state.t], [1, 1, 1, 1, 0]);
  assert.deepEqual(r.state(), before);
});

Deno.test("makeCleaner() decodes joint actions as a0 = floor(a/4), a1 = a % 4", () => {
  assert.equal(env.numActions, 16);
  assert.equal(env.actionNames[4 * 1 + 3], "DR");
  // From (3, 5) free cells: up (2,5), down (4,5) is a wall, left (3,4) wall, right (3,6).
  const base = { ...env.reset(rng).state, r0: 3, c0: 5, r1: 3, c1: 5 };
  const moved = (a: number) => {
    const s = env.step(base, a, rng).state;
    return [s.r0, s.c0, s.r1, s.c1];
  };
  assert.deepEqual(moved(0 * 4 + 3), [2, 5, 3, 6]); // a0 up, a1 right
  assert.deepEqual(moved(3 * 4 + 0), [3, 6, 2, 5]); // a0 right, a1 up
  assert.deepEqual(moved(1 * 4 + 2), [3, 5, 3, 5]); // both into walls (down, left)
});

Deno.test("makeCleaner() walls block moves and agents may share a cell", () => {
  const { state } = env.reset(rng);
  // At (1, 1) only down is open: (0,1), (1,0), (1,2) are walls.
  for (const a of [0, 2, 3]) {
    const s = env.step(state, a * 4 + a, rng).state;
    assert.deepEqual([s.r0, s.c0, s.r1, s.c1], [1, 1, 1, 1]);
  }
  const down = env.step(state, 1 * 4 + 1, rng);
  assert.deepEqual([down.state.r0, down.state.c0, down.state.r1, down.state.c1], [2, 1, 2, 1]);
});

Deno.test("makeCleaner() pays one per cleaned cell: 2 agents cleaning 2 cells pays 2", () => {
  const { state } = env.reset(rng);
  // agent 0 down to (2,1) cleans it, agent 1 bumps the wall and cleans (1,1): +2.
  const two = env.step(state, 1 * 4 + 0, rng);
  assert.equal(two.reward, 2);
  assert.equal(two.state.dirty[2 * 13 + 1], 0);
  assert.equal(two.state.dirty[1 * 13 + 1], 0);
  // both move to (2,1): agent 0 cleans it, agent 1 finds it clean: +1; (1,1) stays dirty.
  const one = env.step(state, 1 * 4 + 1, rng);
  assert.equal(one.reward, 1);
  assert.equal(one.state.dirty[1 * 13 + 1], 1);
  // nothing left to clean where they stand: 0.
  const zero = env.step(two.state, 0 * 4 + 1, rng); // agent 0 up to (1,1), agent 1 down to (2,1)
  assert.equal(zero.reward, 0);
  assert.equal(zero.terminated, false);
});

Deno.test("makeCleaner() episodes last exactly 200 steps, truncated, return at most 71", () => {
  for (let seed = 0; seed < 6; seed++) {
    const ep = rollout(env, randomPolicy(env, makeRng(seed)), makeRng(seed));
    assert.equal(ep.length, 200);
    assert.equal(ep.truncated, true);
    assert.equal(ep.terminated, false);
    assert.ok(ep.return <= 71 && ep.return >= 1);
    assert.ok(ep.rewards.every((r) => r === 0 || r === 1 || r === 2));
  }
});

Deno.test("makeCleaner() timeLimit may shorten episodes; a longer one does not bind", () => {
  const short = makeCleaner({ timeLimit: 7 });
  assert.equal(short.timeLimit, 7);
  assert.equal(rollout(short, () => 5, rng).length, 7);
  assert.equal(makeCleaner({ timeLimit: 200 }).timeLimit, 200);
  assert.equal(makeCleaner().timeLimit, 200);
  // The reference's default limit of 1000 steps never binds: episodes still end at 200.
  const long = makeCleaner({ timeLimit: 1000 });
  assert.equal(long.timeLimit, 200);
  assert.equal(rollout(long, () => 5, rng).length, 200);
  assert.throws(() => makeCleaner({ timeLimit: 0 }), /invalid timeLimit 0; expected a positive/);
  assert.throws(() => makeCleaner({ timeLimit: 2.5 }), /invalid timeLimit 2\.5/);
});

Deno.test("makeCleaner() observation channels on a hand-checked position", () => {
  // agent 0 at (3,2), agent 1 at (3,3); (3,1) clean, everything else dirty.
  const dirty = SPEC_MAP.flatMap((row) => [...row].map((ch) => (ch === "." ? 1 : 0)));
  dirty[3 * 13 + 1] = 0;
  dirty[3 * 13 + 2] = 0;
  dirty[3 * 13 + 3] = 0;
  const s: CleanerState = { r0: 3, c0: 2, r1: 3, c1: 3, dirty, t: 0 };
  const W = [0, 0, 0], C = [1, 1, 1], D = [0, 1, 0], T = [0, 0, 1], M = [1, 0, 0];
  // agent 0 window rows 2..4, cols 1..3:  ". # #" / "C me T" / "# # ."
  const agent0 = [D, W, W, C, M, T, W, W, D];
  // agent 1 window rows 2..4, cols 2..4:  "# # #" / "T me #" / "# . #"
  const agent1 = [W, W, W, T, M, W, W, D, W];
  const expected = [...agent0.flat(), ...agent1.flat()];
  // Observe s directly through a no-op: both agents bump walls? (3,2) up is (2,2) '#', (3,3) up is
  // (2,3) '#': action 0 (up, up) leaves both in place and cleans nothing new.
  const r = env.step(s, 0, rng);
  assert.equal(r.reward, 0);
  assert.deepEqual([r.state.r0, r.state.c0, r.state.r1, r.state.c1], [3, 2, 3, 3]);
  assert.deepEqual([...r.obs], expected);
  assert.equal(env.obsSpec.size, 54);
});

Deno.test("makeCleaner() self is written last when both agents share a cell", () => {
  const { obs } = env.reset(rng);
  // At (1,1): window "###" / "# me #" / "# . #"; teammate under self → self (1,0,0).
  const expected = new Array(54).fill(0);
  for (const base of [0, 27]) {
    expected[base + 12] = 1; // centre, channel 0
    expected[base + 2 * 9 + 1 * 3 + 1] = 1; // (2,1) dirty: channel 1
  }
  assert.deepEqual([...obs], expected);
});

Deno.test("makeCleaner() encodes the state as 13×13×5 (clean, wall, dirty, agent 0, agent 1)", () => {
  const { state } = env.reset(rng);
  const s = env.step(state, 1 * 4 + 0, rng).state; // agent 0 at (2,1), agent 1 at (1,1); both clean
  const x = env.encodeState(s);
  assert.equal(x.length, 845);
  assert.equal(env.stateSpec.size, 845);
  const at = (r: number, c: number) => [...x.subarray((r * 13 + c) * 5, (r * 13 + c) * 5 + 5)];
  assert.deepEqual(at(0, 0), [0, 1, 0, 0, 0]);
  assert.deepEqual(at(2, 1), [1, 0, 0, 1, 0]);
  assert.deepEqual(at(1, 1), [1, 0, 0, 0, 1]);
  assert.deepEqual(at(3, 1), [0, 0, 1, 0, 0]);
  let walls = 0, dirty = 0, clean = 0;
  for (let cell = 0; cell < 169; cell++) {
    walls += x[cell * 5 + 1];
    dirty += x[cell * 5 + 2];
    clean += x[cell * 5];
  }
  assert.deepEqual([walls, dirty, clean], [169 - 71, 69, 2]);
});

Deno.test("makeCleaner() renders the maze with agents and dirt", () => {
  const { state } = env.reset(rng);
  const s = env.step(state, 1 * 4 + 0, rng).state;
  const lines = env.renderState(s).split("\n");
  assert.equal(lines[0], "#############");
  assert.equal(lines[1], "#1#.....#...#");
  assert.equal(lines[2], "#0###.###.###");
  assert.match(env.renderState(state).split("\n")[1], /^#&#/);
  const obsLines = env.renderObs(env.reset(rng).obs).split("\n");
  assert.equal(obsLines[1].trim().split(/\s+/)[0], "###");
  assert.equal(obsLines[2].trim().split(/\s+/)[0], "#0#");
});

Deno.test("makeCleaner() a depth-first tour cleans all 71 cells in 116 moves; return stays 71", () => {
  // Tree over the free cells rooted at (1,1); visit the deepest branch last and stop at its leaf:
  // 2 * 70 edges - depth of the deepest leaf moves.
  const free = (r: number, c: number) => SPEC_MAP[r]?.[c] === ".";
  const dirs: [number, number][] = [[-1, 0], [1, 0], [0, -1], [0, 1]]; // up, down, left, right
  const height = (r: number, c: number, pr: number, pc: number): number => {
    let h = 0;
    for (const [dr, dc] of dirs) {
      const nr = r + dr, nc = c + dc;
      if (free(nr, nc) && !(nr === pr && nc === pc)) h = Math.max(h, 1 + height(nr, nc, r, c));
    }
    return h;
  };
  const moves: number[] = [];
  const tour = (r: number, c: number, pr: number, pc: number, last: boolean) => {
    const kids = dirs.map((d, i) => ({ i, r: r + d[0], c: c + d[1] }))
      .filter((k) => free(k.r, k.c) && !(k.r === pr && k.c === pc))
      .map((k) => ({ ...k, h: height(k.r, k.c, r, c) }))
      .sort((a, b) => a.h - b.h);
    kids.forEach((k, n) => {
      const final = last && n === kids.length - 1;
      moves.push(k.i);
      tour(k.r, k.c, r, c, final);
      if (!final) moves.push(k.i ^ 1); // back: up<->down, left<->right
    });
  };
  const depth = height(1, 1, -1, -1);
  tour(1, 1, -1, -1, true);
  assert.equal(moves.length, 2 * 70 - depth);
  assert.equal(moves.length, 116);
  // Agent 0 tours; agent 1 keeps bumping the wall above (1,1), cleaning the start cell at once.
  const ep = rollout(env, (_o, t) => (t < moves.length ? moves[t] * 4 : 0), rng);
  let running = 0;
  ep.rewards.forEach((r, t) => {
    running += r;
    if (t === moves.length - 1) assert.equal(running, 71);
  });
  assert.equal(ep.return, 71);
  assert.equal(ep.length, 200);
});
