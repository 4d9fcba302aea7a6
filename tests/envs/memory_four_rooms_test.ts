import assert from "assert";
import {
  makeMemoryFourRooms,
  type MemoryFourRoomsState,
  mfrObservation,
  mfrViewToWorld,
} from "../../lib/envs/memory_four_rooms.ts";
import { makeRng } from "../../lib/rng.ts";

const env = makeMemoryFourRooms();
const rng = makeRng("mfr-test");

// Type and colour codes, written from the spec's tables.
const WALL = 3, FLOOR = 2, EXIT = 4, BEACON = 10, HIDDEN = 1;
const COLOUR: Record<string, number> = { r: 1, g: 2, b: 3, y: 4 };

/** A state from a 7-row picture: # wall, . floor, r/g/b/y beacon, R/G/B/Y exit. */
function layout(rows: string[], y: number, x: number, dir: number): MemoryFourRoomsState {
  const grid: number[] = [], colors: number[] = [];
  for (const row of rows) {
    for (const ch of row) {
      if (ch === "#") grid.push(WALL), colors.push(0);
      else if (ch === ".") grid.push(FLOOR), colors.push(0);
      else if (ch in COLOUR) grid.push(BEACON), colors.push(COLOUR[ch]);
      else grid.push(EXIT), colors.push(COLOUR[ch.toLowerCase()]);
    }
  }
  return { grid, colors, y, x, dir, t: 0 };
}

// Doorways at (3,2), (3,4), (1,3), (4,3); red beacon at (2,2), red exit at (2,1), green exit (4,4).
const ROOMS = [
  "#######",
  "#.....#",
  "#Rr#..#",
  "##.#.##",
  "#...G.#",
  "#..#..#",
  "#######",
];
const N = 0, S = 1, W = 2, E = 3;

Deno.test("makeMemoryFourRooms() has 6 actions, time limit 1000 and 205/150-entry encodings", () => {
  assert.equal(env.id, "memory-four-rooms-7x7");
  assert.deepEqual([...env.actionNames], [
    "MOVE_FORWARD",
    "MOVE_BACKWARD",
    "MOVE_LEFT",
    "MOVE_RIGHT",
    "TURN_LEFT",
    "TURN_RIGHT",
  ]);
  assert.equal(env.timeLimit, 1000);
  assert.deepEqual(env.obsSpec, {
    size: 150,
    parts: [{ kind: "categorical", count: 150, vocab: 11 }],
  });
  assert.equal(env.stateSpec.size, 205);
  assert.deepEqual(env.stateSpec.parts, [
    { kind: "categorical", count: 147, vocab: 11 },
    { kind: "onehot", size: 49 },
    { kind: "vector", size: 6, low: -1, high: 1 },
    { kind: "categorical", count: 3, vocab: 11 },
  ]);
});

Deno.test("makeMemoryFourRooms() reset builds four rooms with 4 doorways and 4 distinct objects", () => {
  const r = makeRng(21);
  const doorways = new Set<string>();
  const dirs = new Set<number>();
  for (let k = 0; k < 300; k++) {
    const { state: s } = env.reset(r);
    const at = (y: number, x: number) => s.grid[y * 7 + x];
    for (let i = 0; i < 7; i++) {
      for (const [y, x] of [[0, i], [6, i], [i, 0], [i, 6], [3, 3]]) assert.equal(at(y, x), WALL);
    }
    const rowDoors = [1, 2, 4, 5].filter((x) => at(3, x) !== WALL);
    const colDoors = [1, 2, 4, 5].filter((y) => at(y, 3) !== WALL);
    assert.equal(rowDoors.length, 2);
    assert.equal(colDoors.length, 2);
    assert.ok(rowDoors[0] <= 2 && rowDoors[1] >= 4, `row doors ${rowDoors}`);
    assert.ok(colDoors[0] <= 2 && colDoors[1] >= 4, `column doors ${colDoors}`);
    rowDoors.forEach((x) => doorways.add(`row${x}`));
    colDoors.forEach((y) => doorways.add(`col${y}`));
    // every room cell and doorway is free; there is 1 beacon, 2 exits, 20 - 3 floor cells.
    const count = (ty: number) => s.grid.filter((g) => g === ty).length;
    assert.equal(count(WALL), 49 - 20);
    assert.equal(count(BEACON), 1);
    assert.equal(count(EXIT), 2);
    assert.equal(count(FLOOR), 17);
    assert.equal(at(s.y, s.x), FLOOR, "the agent stands on plain floor");
    const beacon = s.grid.indexOf(BEACON);
    const exits = s.grid.flatMap((g, i) => (g === EXIT ? [i] : []));
    const beaconColour = s.colors[beacon];
    assert.ok(beaconColour >= 1 && beaconColour <= 4);
    const exitColours = exits.map((i) => s.colors[i]).sort();
    assert.equal(exitColours.filter((c) => c === beaconColour).length, 1, "one good exit");
    assert.notEqual(exitColours[0], exitColours[1]);
    assert.ok(exitColours.every((c) => c >= 1 && c <= 4));
    s.grid.forEach((g, i) => {
      if (g === WALL || g === FLOOR) assert.equal(s.colors[i], 0);
    });
    dirs.add(s.dir);
    assert.equal(s.t, 0);
  }
  assert.equal(doorways.size, 8, "every doorway choice occurs");
  assert.equal(dirs.size, 4);
});

Deno.test("makeMemoryFourRooms() reset draws doorways, positions, orientation, colours in order", () => {
  for (let seed = 0; seed < 20; seed++) {
    const u = makeRng(seed);
    const { state: s } = env.reset(makeRng(seed));
    const pick = (n: number) => Math.floor(u() * n);
    const xa = 1 + pick(2), xb = 4 + pick(2), ya = 1 + pick(2), yb = 4 + pick(2);
    const free: number[] = [];
    for (let y = 0; y < 7; y++) {
      for (let x = 0; x < 7; x++) {
        const room = y % 3 !== 0 && x % 3 !== 0;
        const door = (y === 3 && (x === xa || x === xb)) || (x === 3 && (y === ya || y === yb));
        if (room || door) free.push(y * 7 + x);
      }
    }
    assert.equal(free.length, 20);
    const [agent, beacon, good, bad] = [0, 1, 2, 3].map(() => free.splice(pick(free.length), 1)[0]);
    const dir = pick(4);
    const palette = [1, 2, 3, 4];
    const c1 = palette.splice(pick(4), 1)[0], c2 = palette.splice(pick(3), 1)[0];
    assert.equal(s.y * 7 + s.x, agent);
    assert.equal(s.dir, dir);
    assert.deepEqual([s.grid[beacon], s.colors[beacon]], [BEACON, c1]);
    assert.deepEqual([s.grid[good], s.colors[good]], [EXIT, c1]);
    assert.deepEqual([s.grid[bad], s.colors[bad]], [EXIT, c2]);
  }
});

Deno.test("makeMemoryFourRooms() moves relative to the orientation; turns rotate; walls block", () => {
  const move = (y: number, x: number, dir: number, a: number) => {
    const s = env.step(layout(ROOMS, y, x, dir), a, rng).state;
    return [s.y, s.x, s.dir];
  };
  // facing E at (1,1): forward (1,2), backward (1,0) wall, left = N (0,1) wall, right = S (2,1).
  assert.deepEqual(move(1, 1, E, 0), [1, 2, E]);
  assert.deepEqual(move(1, 1, E, 1), [1, 1, E]);
  assert.deepEqual(move(1, 1, E, 2), [1, 1, E]);
  assert.deepEqual(move(1, 2, E, 3), [2, 2, E]);
  assert.deepEqual(move(1, 1, E, 4), [1, 1, N]);
  assert.deepEqual(move(1, 1, E, 5), [1, 1, S]);
  // facing N at (2,2): forward (1,2), backward (3,2) doorway, left (2,1), right (2,3) wall.
  assert.deepEqual(move(2, 2, N, 0), [1, 2, N]);
  assert.deepEqual(move(2, 2, N, 1), [3, 2, N]);
  assert.deepEqual(move(2, 2, N, 3), [2, 2, N]);
  // facing W at (1,2): forward (1,1), backward (1,3), left = S (2,2), right = N (0,2) wall.
  assert.deepEqual(move(1, 2, W, 0), [1, 1, W]);
  assert.deepEqual(move(1, 2, W, 1), [1, 3, W]);
  assert.deepEqual(move(1, 2, W, 2), [2, 2, W]);
  assert.deepEqual(move(1, 2, W, 3), [1, 2, W]);
  // facing S at (4,2): forward (5,2), left = E (4,3), right = W (4,1); turns S→E (left), S→W (right).
  assert.deepEqual(move(4, 2, S, 0), [5, 2, S]);
  assert.deepEqual(move(4, 2, S, 2), [4, 3, S]);
  assert.deepEqual(move(4, 2, S, 3), [4, 1, S]);
  assert.deepEqual(move(4, 2, S, 4), [4, 2, E]);
  assert.deepEqual(move(4, 2, S, 5), [4, 2, W]);
  assert.deepEqual(move(4, 2, W, 4), [4, 2, S]);
  assert.deepEqual(move(4, 2, N, 4), [4, 2, W]);
  // the beacon does not block
  assert.deepEqual(move(1, 2, S, 0), [2, 2, S]);
});

Deno.test("makeMemoryFourRooms() pays +4.95 / -5.05 on the final step and -0.05 otherwise", () => {
  const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;
  const good = env.step(layout(ROOMS, 2, 2, W), 0, rng); // onto the red exit at (2,1)
  assert.ok(close(good.reward, 4.95), `${good.reward}`);
  assert.equal(good.terminated, true);
  assert.equal(good.truncated, false);
  const bad = env.step(layout(ROOMS, 4, 3, E), 0, rng); // onto the green exit at (4,4)
  assert.ok(close(bad.reward, -5.05), `${bad.reward}`);
  assert.equal(bad.terminated, true);
  for (const a of [0, 1, 2, 3, 4, 5]) {
    const r = env.step(layout(ROOMS, 5, 1, N), a, rng);
    assert.ok(close(r.reward, -0.05), `action ${a}`);
    assert.equal(r.terminated, false);
  }
  // the beacon is only a marker: stepping on it pays the step cost
  const onBeacon = env.step(layout(ROOMS, 1, 2, S), 0, rng);
  assert.ok(close(onBeacon.reward, -0.05));
  assert.equal(onBeacon.terminated, false);
});

Deno.test("makeMemoryFourRooms() truncates at the time limit", () => {
  const short = makeMemoryFourRooms({ timeLimit: 3 });
  let s = layout(ROOMS, 5, 1, N);
  const flags: boolean[] = [];
  for (let i = 0; i < 3; i++) {
    const r = short.step(s, 4, rng);
    flags.push(r.truncated);
    s = r.state;
  }
  assert.deepEqual(flags, [false, false, true]);
});

Deno.test("makeMemoryFourRooms() observation: egocentric window, walls occlude (hand-built)", () => {
  // Agent at (5,1) facing N: view cell (i,j) shows world (i-1, j-2). Two flood fills by hand:
  // the wall at world (3,1) hides (2,1) (the red exit) and (1,1); the doorway (3,2) shows (2,2).
  const obs = mfrObservation(layout(ROOMS, 5, 1, N));
  const rows = env.renderObs(obs).split("\n").slice(0, 7);
  assert.deepEqual(rows, [
    "???????",
    "????###",
    "????...",
    "????r#.",
    "??##.#.",
    "??#...G",
    "??#^.#?", // (6,6) = world (5,4): only reachable through the wall at (6,5)
  ]);
  const cell = (i: number, j: number) => [...obs.slice((i * 7 + j) * 3, (i * 7 + j) * 3 + 3)];
  assert.deepEqual(cell(3, 3), [HIDDEN, 0, 0], "floor (2,1) behind the wall is hidden");
  assert.deepEqual(cell(3, 4), [BEACON, 0, 1], "red beacon at (2,2) seen through the doorway");
  assert.deepEqual(cell(5, 6), [EXIT, 0, 2], "green exit at (4,4)");
  assert.deepEqual(cell(4, 3), [WALL, 0, 0]);
  assert.deepEqual(cell(6, 3), [FLOOR, 0, 0], "the agent's own cell");
  assert.deepEqual(cell(0, 0), [HIDDEN, 0, 0], "outside the grid");
  assert.deepEqual([...obs.slice(147)], [0, 0, 0], "carried item");
});

Deno.test("makeMemoryFourRooms() never sees behind itself", () => {
  // Red exit directly behind the agent at (1,1) facing N: it must not appear.
  const rows = [
    "#######",
    "#.....#",
    "#R.#..#",
    "##.#.##",
    "#g..G.#",
    "#..#..#",
    "#######",
  ];
  const facingN = mfrObservation(layout(rows, 1, 1, N));
  assert.ok(!facingN.some((v, k) => k % 3 === 0 && v === EXIT), "exit behind is not seen");
  // Facing S, the same exit is straight ahead: view cell (5,3).
  const facingS = mfrObservation(layout(rows, 1, 1, S));
  assert.deepEqual([...facingS.slice((5 * 7 + 3) * 3, (5 * 7 + 3) * 3 + 3)], [EXIT, 0, 1]);
  // Property over random states: every visible exit lies ahead of or beside the agent.
  const r = makeRng(8);
  for (let k = 0; k < 200; k++) {
    const { state: s, obs } = env.reset(r);
    for (let c = 0; c < 49; c++) {
      if (obs[c * 3] === HIDDEN) continue;
      const [wy, wx] = mfrViewToWorld(s.y, s.x, s.dir, Math.floor(c / 7), c % 7);
      const [dy, dx] = [wy - s.y, wx - s.x];
      const ahead = [-dy, dy, -dx, dx][s.dir]; // forward component for N, S, W, E
      assert.ok(ahead >= 0, "visible cell behind the agent");
      assert.equal(obs[c * 3], s.grid[wy * 7 + wx]);
      assert.equal(obs[c * 3 + 2], s.colors[wy * 7 + wx]);
    }
  }
});

Deno.test("mfrViewToWorld() maps cell (i,j) to pos + (6-i)·forward + (j-3)·right", () => {
  assert.deepEqual(mfrViewToWorld(3, 3, N, 6, 3), [3, 3]);
  assert.deepEqual(mfrViewToWorld(3, 3, N, 5, 4), [2, 4]); // one ahead (N), one right (E)
  assert.deepEqual(mfrViewToWorld(3, 3, S, 5, 4), [4, 2]); // ahead S, right W
  assert.deepEqual(mfrViewToWorld(3, 3, W, 5, 4), [2, 2]); // ahead W, right N
  assert.deepEqual(mfrViewToWorld(3, 3, E, 5, 4), [4, 4]); // ahead E, right S
  assert.deepEqual(mfrViewToWorld(3, 3, E, 0, 0), [0, 9]);
});

Deno.test("makeMemoryFourRooms() encodes the state: grid codes, position, agent vector, item", () => {
  const s = layout(ROOMS, 5, 1, N);
  const x = env.encodeState(s);
  assert.equal(x.length, 205);
  assert.deepEqual([...x.slice(0, 3)], [WALL, 0, 0]);
  assert.deepEqual([...x.slice((2 * 7 + 2) * 3, (2 * 7 + 2) * 3 + 3)], [BEACON, 0, 1]);
  assert.deepEqual([...x.slice((2 * 7 + 1) * 3, (2 * 7 + 1) * 3 + 3)], [EXIT, 0, 1]);
  assert.deepEqual([...x.slice((4 * 7 + 4) * 3, (4 * 7 + 4) * 3 + 3)], [EXIT, 0, 2]);
  assert.deepEqual([...x.slice((5 * 7 + 1) * 3, (5 * 7 + 1) * 3 + 3)], [FLOOR, 0, 0]);
  const pos = x.slice(147, 196);
  assert.equal(pos.reduce((a, b) => a + b, 0), 1);
  assert.equal(pos[5 * 7 + 1], 1);
  assert.deepEqual([...x.slice(196, 202)], [...Float32Array.of(4 / 6, -4 / 6, 1, 0, 0, 0)]);
  assert.deepEqual([...x.slice(202)], [0, 0, 0]);
  const east = env.encodeState(layout(ROOMS, 0, 6, E));
  assert.deepEqual([...east.slice(196, 202)], [-1, 1, 0, 0, 0, 1]);
});

Deno.test("makeMemoryFourRooms() renders the grid with the agent's heading", () => {
  const lines = env.renderState(layout(ROOMS, 5, 1, E)).split("\n");
  assert.deepEqual(lines.slice(0, 7), [
    "#######",
    "#.....#",
    "#Rr#..#",
    "##.#.##",
    "#...G.#",
    "#>.#..#",
    "#######",
  ]);
  assert.match(lines[7], /facing E, beacon red/);
});
