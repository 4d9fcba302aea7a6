import assert from "assert";
import {
  type DensePOMDP,
  emptyDenseModel,
  fromDense,
  type TabularPOMDP,
  toDense,
} from "../../lib/pomdp/model.ts";
import { parsePOMDP, PomdpParseError } from "../../lib/pomdp/parser.ts";
import { formatPOMDP } from "../../lib/pomdp/writer.ts";
import { heavenHellModel } from "../../lib/pomdp/heaven_hell.ts";

const DATA = new URL("../../data/pomdp/", import.meta.url);
const SHIPPED = ["heavenhell_3", "heavenhell_4", "tiger", "tmaze"];

function load(name: string): TabularPOMDP {
  const path = new URL(`${name}.pomdp`, DATA);
  return parsePOMDP(Deno.readTextFileSync(path), { source: `${name}.pomdp` });
}

/** Index helpers following the dense layouts documented in model.ts. */
function tIdx(m: DensePOMDP, a: number, s: number, s2: number): number {
  const S = m.states.length;
  return (a * S + s) * S + s2;
}
function oIdx(m: DensePOMDP, a: number, s2: number, o: number): number {
  return (a * m.states.length + s2) * m.observations.length + o;
}
function rIdx(m: DensePOMDP, a: number, s: number, s2: number, o: number): number {
  const S = m.states.length, O = m.observations.length;
  return ((a * S + s) * S + s2) * O + o;
}

const PREAMBLE = `discount: 0.9
values: reward
states: a b c
actions: x y
observations: p q
`;

/** A tiny model written entry by entry, used as the reference for the compact forms. */
const EXPLICIT = PREAMBLE + `start: 0.2 0.3 0.5
T: x : a : a 1.0
T: x : b : b 1.0
T: x : c : c 1.0
T: y : a : a 0.5
T: y : a : b 0.25
T: y : a : c 0.25
T: y : b : a 0.5
T: y : b : b 0.25
T: y : b : c 0.25
T: y : c : a 0.5
T: y : c : b 0.25
T: y : c : c 0.25
O: x : a : p 0.5
O: x : a : q 0.5
O: x : b : p 0.5
O: x : b : q 0.5
O: x : c : p 0.5
O: x : c : q 0.5
O: y : a : p 1.0
O: y : b : q 1.0
O: y : c : p 0.75
O: y : c : q 0.25
R: x : a : a : p 1.0
R: x : a : b : p 1.0
R: x : a : c : p 1.0
R: x : a : a : q 1.0
R: x : a : b : q 1.0
R: x : a : c : q 1.0
R: y : c : a : q -2.5
R: y : c : b : q -2.5
R: y : c : c : q -2.5
R: y : b : c : p 3.0
R: y : b : c : q 4.0
`;

Deno.test("parsePOMDP() reads entries into the documented table layouts", () => {
  const m = toDense(parsePOMDP(EXPLICIT));
  assert.deepStrictEqual(m.states, ["a", "b", "c"]);
  assert.deepStrictEqual(m.actions, ["x", "y"]);
  assert.deepStrictEqual(m.observations, ["p", "q"]);
  assert.equal(m.discount, 0.9);
  assert.deepStrictEqual(Array.from(m.start), [0.2, 0.3, 0.5]);
  assert.equal(m.T[tIdx(m, 1, 2, 1)], 0.25); // T: y : c : b
  assert.equal(m.T[tIdx(m, 0, 1, 0)], 0);
  assert.equal(m.O[oIdx(m, 1, 2, 0)], 0.75); // O: y : c : p
  assert.equal(m.R[rIdx(m, 1, 1, 2, 1)], 4); // R: y : b : c : q
  assert.equal(m.R[rIdx(m, 1, 2, 0, 1)], -2.5);
  assert.equal(m.R[rIdx(m, 1, 2, 0, 0)], 0);
  assert.equal(m.reset.reduce((x, y) => x + y, 0), 0);
});

Deno.test("parsePOMDP() wildcard, row, matrix, identity and uniform forms equal explicit entries", () => {
  const compact = PREAMBLE + `# comments are ignored # anywhere
start:
  0.2 0.3
  0.5
T: x identity
T: y : *
  0.5 0.25 0.25
O: x uniform
O: y
  1.0 0.0
  0.0 1.0   # numbers may span lines
  0.75 0.25
R: x : a : * : * 1.0
R: y : c : * : q -2.5
R: y : b : c
  3.0 4.0
`;
  assert.deepStrictEqual(toDense(parsePOMDP(compact)), toDense(parsePOMDP(EXPLICIT)));

  const indices = PREAMBLE.replace("states: a b c", "states: 3")
    .replace("actions: x y", "actions: 2")
    .replace("observations: p q", "observations: 2") +
    `start: 0.2 0.3 0.5
T:0 : 0 : 0 1.0
T:0:1:1 1.0
T : 0 : 2 : 2 1.0
T: 1
  0.5 0.25 0.25
  0.5 0.25 0.25
  0.5 0.25 0.25
O: 0 : * uniform
O: 1 : 0 : 0 1.0
O: 1 : 1
  0.0 1.0
O: 1 : 2 : * 0.25
O: 1 : 2 : 0 0.75
R: 0 : 0
  1.0 1.0 1.0 1.0 1.0 1.0
R: 1 : 2 : * : 1 -2.5
R: 1 : 1 : 2 : 0 3.0
R: 1 : 1 : 2 : 1 4.0
`;
  const byIndex = toDense(parsePOMDP(indices));
  const byName = toDense(parsePOMDP(EXPLICIT));
  assert.deepStrictEqual(byIndex.states, ["0", "1", "2"]);
  for (const key of ["start", "T", "O", "R", "reset"] as const) {
    assert.deepStrictEqual(byIndex[key], byName[key], key);
  }
});

Deno.test("parsePOMDP() start forms: vector, uniform, one state, include and exclude", () => {
  const body = `T: * identity
O: * : * : p 1.0
`;
  const start = (line: string) => Array.from(parsePOMDP(PREAMBLE + line + "\n" + body).start);
  assert.deepStrictEqual(start("start: 0.0 1.0 0.0"), [0, 1, 0]);
  assert.deepStrictEqual(start("start: uniform"), [1 / 3, 1 / 3, 1 / 3]);
  assert.deepStrictEqual(start("start: c"), [0, 0, 1]);
  assert.deepStrictEqual(start("start: 1"), [0, 1, 0]);
  assert.deepStrictEqual(start("start include: a c"), [0.5, 0, 0.5]);
  assert.deepStrictEqual(start("start include: 0 1 2"), [1 / 3, 1 / 3, 1 / 3]);
  assert.deepStrictEqual(start("start exclude: b"), [0.5, 0, 0.5]);
  assert.deepStrictEqual(start(""), [1 / 3, 1 / 3, 1 / 3], "no start: uniform (pomdp-solve)");
  assert.deepStrictEqual(start("start: a\nstart: b"), [0, 1, 0], "the later start wins");
});

Deno.test("parsePOMDP() reset marks pairs, zeroes their rows, and later entries override", () => {
  const text = PREAMBLE + `T: * identity
T: * : c reset
T: y : * reset
T: y : a : b 1.0   # overrides the reset of (a, y)
O: * : * : q 1.0
R: * : c : * : * 5.0
`;
  const m = toDense(parsePOMDP(text));
  const S = 3;
  // reset[a*S + s]: x-c, y-b, y-c are reset; y-a was overridden back to a normal row.
  assert.deepStrictEqual(Array.from(m.reset), [0, 0, 1, 0, 1, 1]);
  for (const [a, s] of [[0, 2], [1, 1], [1, 2]]) {
    for (let s2 = 0; s2 < S; s2++) assert.equal(m.T[tIdx(m, a, s, s2)], 0);
  }
  assert.deepStrictEqual(Array.from(m.T.subarray(tIdx(m, 1, 0, 0), tIdx(m, 1, 0, 0) + 3)), [
    0,
    1,
    0,
  ]);

  // Later entries override earlier ones, whatever their form.
  const over = toDense(parsePOMDP(
    PREAMBLE + `T: * uniform
T: x identity
T: y : b : * 0.0
T: y : b : a 1.0
O: * : * : p 1.0
O: y : c : p 0.0
O: y : c : q 1.0
R: * : * : * : * 1.0
R: x : a : * : * 2.0
`,
  ));
  assert.equal(over.T[tIdx(over, 0, 1, 1)], 1);
  assert.equal(over.T[tIdx(over, 1, 0, 2)], 1 / 3);
  assert.deepStrictEqual(
    Array.from(over.T.subarray(tIdx(over, 1, 1, 0), tIdx(over, 1, 1, 0) + 3)),
    [1, 0, 0],
  );
  assert.equal(over.O[oIdx(over, 1, 2, 1)], 1);
  assert.equal(over.R[rIdx(over, 0, 0, 1, 1)], 2);
  assert.equal(over.R[rIdx(over, 1, 0, 1, 1)], 1);
});

Deno.test("parsePOMDP() `values: cost` negates rewards", () => {
  const text = PREAMBLE.replace("values: reward", "values: cost") + `T: * identity
O: * : * : p 1.0
R: x : a : * : * 2.0
R: y : * : * : * -1.5
`;
  const m = toDense(parsePOMDP(text));
  assert.equal(m.values, "reward");
  assert.equal(m.R[rIdx(m, 0, 0, 2, 1)], -2);
  assert.equal(m.R[rIdx(m, 1, 2, 0, 0)], 1.5);
  assert.ok(Object.is(m.R[rIdx(m, 0, 1, 0, 0)], 0), "zero costs stay +0");
});

Deno.test("parsePOMDP() reads the tiger problem as written by hand", () => {
  const m = toDense(load("tiger"));
  assert.deepStrictEqual(m.states, ["tiger-left", "tiger-right"]);
  assert.deepStrictEqual(m.actions, ["listen", "open-left", "open-right"]);
  assert.deepStrictEqual(m.observations, ["hear-left", "hear-right"]);
  assert.equal(m.discount, 0.95);
  assert.deepStrictEqual(Array.from(m.start), [0.5, 0.5]);
  assert.deepStrictEqual(Array.from(m.T.subarray(0, 4)), [1, 0, 0, 1]); // listen keeps the tiger
  assert.deepStrictEqual(Array.from(m.T.subarray(4, 12)), new Array(8).fill(0.5)); // doors reset
  assert.deepStrictEqual(Array.from(m.O.subarray(0, 4)), [0.85, 0.15, 0.15, 0.85]);
  assert.deepStrictEqual(Array.from(m.O.subarray(4, 12)), new Array(8).fill(0.5));
  // R(s, a) for (listen, open-left, open-right) x (tiger-left, tiger-right).
  const r = (a: number, s: number) => m.R[rIdx(m, a, s, 0, 0)];
  assert.deepStrictEqual([r(0, 0), r(0, 1), r(1, 0), r(1, 1), r(2, 0), r(2, 1)], [
    -1,
    -1,
    -100,
    10,
    10,
    -100,
  ]);
  assert.equal(m.reset.reduce((x, y) => x + y, 0), 0);
});

Deno.test("parsePOMDP() reads the T-maze: reset pairs only at the junction's turns", () => {
  const m = toDense(load("tmaze"));
  const S = m.states.length;
  const ends: string[] = [];
  for (let a = 0; a < m.actions.length; a++) {
    for (let s = 0; s < S; s++) if (m.reset[a * S + s]) ends.push(`${m.actions[a]}@${m.states[s]}`);
  }
  assert.deepStrictEqual(ends.sort(), [
    "go-left@junction-L",
    "go-left@junction-R",
    "go-right@junction-L",
    "go-right@junction-R",
  ]);
  const cueL = m.states.indexOf("cue-L"), cueR = m.states.indexOf("cue-R");
  assert.equal(m.O[oIdx(m, 0, cueL, m.observations.indexOf("cue-left"))], 1);
  assert.equal(m.O[oIdx(m, 0, cueR, m.observations.indexOf("cue-right"))], 1);
  assert.equal(m.O[oIdx(m, 0, cueL, m.observations.indexOf("corridor"))], 0);
});

Deno.test("formatPOMDP() round-trips every shipped model exactly", () => {
  for (const name of SHIPPED) {
    const m = load(name);
    const text = formatPOMDP(m);
    assert.deepStrictEqual(parsePOMDP(text, { source: `${name} (formatted)` }), m, name);
    assert.equal(formatPOMDP(parsePOMDP(text)), text, `${name}: formatting is stable`);
  }
  for (let n = 1; n <= 5; n++) {
    const m = heavenHellModel(n);
    assert.deepStrictEqual(parsePOMDP(formatPOMDP(m)), m, `heaven-hell-${n}`);
  }
});

Deno.test("formatPOMDP() round-trips awkward numbers, dense rows, -0 and count-named spaces", () => {
  const S = 5, A = 2, O = 6;
  const m = emptyDenseModel(
    Array.from({ length: S }, (_, i) => String(i)),
    ["go", "stay"],
    Array.from({ length: O }, (_, i) => `o${i}`),
    0.123456789,
  );
  m.start.set([1 / 3, 1 / 3, 1 / 3, 0, 0]);
  m.start[3] = 1 - (m.start[0] + m.start[1] + m.start[2]);
  for (let a = 0; a < A; a++) {
    for (let s = 0; s < S; s++) {
      for (let s2 = 0; s2 < S; s2++) m.T[(a * S + s) * S + s2] = 1 / S; // dense rows
      for (let o = 0; o < O; o++) m.O[(a * S + s) * O + o] = o === s ? 1 - 1e-7 : 0;
      m.O[(a * S + s) * O + 5] += 1e-7;
    }
  }
  m.reset[1 * S + 4] = 1;
  m.T.fill(0, (1 * S + 4) * S, (1 * S + 5) * S);
  for (let i = 0; i < m.R.length; i++) m.R[i] = i % 7 === 0 ? Math.PI * (i - 50) : 0;
  m.R[3] = -0;
  m.R[10] = 1e-300;
  m.R[11] = -2.5e21;
  const back = parsePOMDP(formatPOMDP(fromDense(m)));
  assert.deepStrictEqual(back, fromDense(m));
  assert.deepStrictEqual(toDense(back), m);
  assert.ok(Object.is(toDense(back).R[3], -0));
});

Deno.test("formatPOMDP() rejects names it cannot write", () => {
  const m = heavenHellModel(1);
  assert.throws(
    () => formatPOMDP({ ...m, actions: ["N", "S", "E", "two words"] }),
    /cannot write action name "two words"/,
  );
  assert.throws(
    () => formatPOMDP({ ...m, actions: ["N", "S", "E", "3"] }),
    /cannot write action name "3"/,
  );
  assert.throws(() => formatPOMDP({ ...m, actions: ["N", "S", "E", "reset"] }), /reserved word/);
});

/** Assert that parsing `text` fails with a PomdpParseError at `line` whose message matches. */
function assertParseError(text: string, line: number, pattern: RegExp): void {
  assert.throws(
    () => parsePOMDP(text, { source: "bad.pomdp" }),
    (e: unknown) => {
      assert.ok(e instanceof PomdpParseError, `expected a PomdpParseError, got ${e}`);
      assert.equal(e.line, line, `line of: ${e.message}`);
      assert.ok(e.message.startsWith(`bad.pomdp:${line > 0 ? line : "end"}: `), e.message);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

const GOOD_BODY = `T: * identity
O: * : * : p 1.0
`;

Deno.test("parsePOMDP() errors name the line and the problem", () => {
  // Lines: PREAMBLE has 5 lines, so the body starts on line 6.
  assertParseError(
    PREAMBLE + GOOD_BODY + "T: x : d : a 1.0\n",
    8,
    /unknown state 'd'; expected one of a, b, c/,
  );
  assertParseError(PREAMBLE + "T: z identity\n", 6, /unknown action 'z'/);
  assertParseError(PREAMBLE + GOOD_BODY + "O: x : a : r 1.0\n", 8, /unknown observation 'r'/);
  assertParseError(
    PREAMBLE + GOOD_BODY + "T: x : 3 : a 1.0\n",
    8,
    /state index 3 out of range; expected 0\.\.2/,
  );
  // wrong count of numbers
  assertParseError(
    PREAMBLE + "T: x : a\n 0.5 0.5\nO: * : * : p 1.0\n",
    6,
    /T row \(3 numbers\): expected 3 numbers, found 2 before 'O'/,
  );
  assertParseError(
    PREAMBLE + "T: x : a\n 0.5 0.25 0.25\n 0.0\nO: * : * : p 1.0\n",
    8,
    /expected 3 numbers, found 4/,
  );
  assertParseError(
    PREAMBLE + "start: 0.5 0.5\n" + GOOD_BODY,
    6,
    /start distribution: expected 3 numbers, found 2/,
  );
  assertParseError(
    PREAMBLE + GOOD_BODY + "R: x : a : b\n 1.0\n",
    8,
    /R row \(2 numbers\): expected 2 numbers, found 1 before end of file/,
  );
  // bad probabilities and numbers
  assertParseError(
    PREAMBLE + GOOD_BODY + "T: x : a : b 1.5\n",
    8,
    /bad probability 1\.5 in T entry; expected a number in \[0, 1\]/,
  );
  assertParseError(PREAMBLE + GOOD_BODY + "O: x : a : p -0.1\n", 8, /bad probability -0\.1/);
  assertParseError(
    PREAMBLE + GOOD_BODY + "R: x : a : b : p high\n",
    8,
    /expected a number for R entry, found 'high'/,
  );
  assertParseError(PREAMBLE.replace("0.9", "1.5") + GOOD_BODY, 1, /bad discount 1\.5/);
  // missing preamble
  assertParseError(
    "discount: 0.9\nstates: 2\nactions: 1\nT: * identity\n",
    4,
    /missing preamble: 'observations:' must be declared before 'T'/,
  );
  assertParseError(
    "states: 2\nactions: 1\nobservations: 1\nT: * identity\n",
    4,
    /missing preamble: 'discount:'/,
  );
  assertParseError("discount: 0.9\nstates: 2\n", 0, /missing preamble: no 'actions:' declaration/);
  assertParseError(
    PREAMBLE + GOOD_BODY + "states: 4\n",
    8,
    /'states:' must come before any start:, T:, O: or R: entry/,
  );
  // unknown keywords and stray tokens
  assertParseError(
    PREAMBLE + GOOD_BODY + "Q: x : a 1.0\n",
    8,
    /unknown statement 'Q:'; expected one of discount, values/,
  );
  assertParseError(
    PREAMBLE + GOOD_BODY + "\n\nhello world\n",
    10,
    /expected a statement .* found 'hello'/,
  );
  assertParseError(
    PREAMBLE.replace("values: reward", "values: profit") + GOOD_BODY,
    2,
    /bad values 'profit'; expected 'reward' or 'cost'/,
  );
  assertParseError(
    PREAMBLE + "T: x : a junk\n",
    6,
    /after 'T: <action> : <state>' expected ':', numbers or one of uniform\/reset, found 'junk'/,
  );
  // bad names
  assertParseError("discount: 0.9\nstates: a b a\n", 2, /duplicate name 'a' in the list of states/);
  assertParseError("discount: 0.9\nstates: a 2 b\n", 2, /bad name '2' in the list of states/);
  assertParseError(
    "discount: 0.9\nactions: 0\n",
    2,
    /bad number of actions 0; expected a positive integer/,
  );
  // rows that do not sum to 1 (named by action and state, at the line that last wrote them)
  assertParseError(
    PREAMBLE + GOOD_BODY + "T: y : b : c 0.5\n",
    8,
    /transition row T\(· \| action y, state b\) sums to 1\.5; expected 1/,
  );
  assertParseError(
    PREAMBLE + "T: x identity\nO: * : * : p 1.0\n",
    0,
    /transition row T\(· \| action y, state a\) sums to 0; .*never given/,
  );
  assertParseError(
    PREAMBLE + GOOD_BODY + "O: x : c\n 0.5 0.4\n",
    8,
    /observation row O\(· \| action x, next state c\) sums to 0\.9/,
  );
  assertParseError(
    PREAMBLE + "start: 0.5 0.25 0.2\n" + GOOD_BODY,
    6,
    /start distribution sums to 0\.95/,
  );
  assertParseError(PREAMBLE + "start exclude: a b c\n" + GOOD_BODY, 6, /no state left to start in/);
  assertParseError(
    "discount: 0.9\nstates: 2\nactions: 1\nobservations: 2\nO: 0 identity\nT: 0 : 0 reset\nT: 0 identity 0.5\n",
    7,
    /expected a statement/,
  );
  assertParseError(
    "discount: 0.9\nstates: 3\nactions: 1\nobservations: 2\nO: 0 identity\n",
    5,
    /'identity' needs as many observations as states \(2 vs 3\)/,
  );
});

Deno.test("parsePOMDP() accepts pomdp-solve's tolerance of 1e-5 on sums and normalises those rows", () => {
  // 1d.POMDP's row: 0.333333 * 3 + 0 sums to 0.999999 (1e-6 short, past 1e-6 after rounding).
  const ok = PREAMBLE + GOOD_BODY + "T: y : b\n 0.333333 0.333333 0.333333\n";
  const m = toDense(parsePOMDP(ok));
  // Normalised by hand: each entry is 0.333333 / 0.999999 = 1/3 exactly in reals.
  for (let s2 = 0; s2 < 3; s2++) {
    assert.ok(Math.abs(m.T[tIdx(m, 1, 1, s2)] - 1 / 3) < 1e-15, `T(${s2}|y,b)`);
  }
  // 4x4.pomdp's start vector sums to 1.000005: accepted and scaled to sum to 1.
  const start = parsePOMDP(PREAMBLE + "start: 0.200001 0.300002 0.500002\n" + GOOD_BODY).start;
  const expected = [0.200001, 0.300002, 0.500002].map((p) => p / 1.000005);
  for (let s = 0; s < 3; s++) assert.ok(Math.abs(start[s] - expected[s]) < 1e-15);
  // Off by 2e-5: rejected, the message names the sum and the tolerance.
  assertParseError(
    PREAMBLE + GOOD_BODY + "T: y : b\n 0.33333 0.33333 0.33332\n",
    8,
    /T\(· \| action y, state b\) sums to 0\.9999[0-9]*; expected 1 \(within 0\.00001\)/,
  );
  // Exact rows are left bit for bit as written.
  assert.equal(
    toDense(parsePOMDP(PREAMBLE + GOOD_BODY + "T: y : b\n 0.1 0.2 0.7\n")).T[tIdx(m, 1, 1, 0)],
    0.1,
  );
});

Deno.test("parsePOMDP() reports an unknown statement after a name list with its line", () => {
  // Without the fix this read `atom 0` as names: "bad name '0' in the list of observations".
  assertParseError(
    "discount: 0.9\nstates: 2\nactions: 1\nobservations: p q\natom 0 : p 1.0\n",
    5,
    /unknown statement 'atom 0 :'; expected one of discount/,
  );
  assertParseError(
    "discount: 0.9\nstates: a b\nfoo: 3\nactions: 1\nobservations: 1\n",
    3,
    /unknown statement 'foo :'/,
  );
});

Deno.test("parsePOMDP() fails on an impossible size with a message naming the sizes", () => {
  // 10^8 states and 100 actions: 10^10 (action, state) rows, past 2^31 and past memory.
  assertParseError(
    "discount: 0.9\nstates: 100000000\nactions: 100\nobservations: 103\nT: * uniform\n",
    5,
    /model too large: 100000000 states, 100 actions and 103 observations need \|A\|·\|S\| = 10000000000 rows/,
  );
  // 10^5 states fit, but `T: * uniform` would write 10·10^10 entries: refused at its line.
  assertParseError(
    "discount: 0.9\nstates: 100000\nactions: 10\nobservations: 2\n\nT: * uniform\n",
    6,
    /model too large: with 100000 states, 10 actions and 2 observations the entries given up to this 'T:' statement \(100000000000\) need 1862\.6 GiB/,
  );
});
