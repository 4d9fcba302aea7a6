import assert from "assert";
import { parsePOMDP } from "../../lib/pomdp/parser.ts";
import { observationProb, reward, toDense, transitionProb } from "../../lib/pomdp/model.ts";
import { syntheticPomdp } from "../../bench/pomdp_parse_bench.ts";

const DIR = new URL("./corpus/", import.meta.url);
const read = (name: string) =>
  parsePOMDP(Deno.readTextFileSync(new URL(name, DIR)), { source: name });

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string, eps = 1e-15): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= eps, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

Deno.test("corpus: every compact statement form equals the same model written entry by entry", () => {
  const compact = toDense(read("forms.pomdp")), explicit = toDense(read("forms_explicit.pomdp"));
  close(compact.start, explicit.start, "start");
  close(compact.T, explicit.T, "T");
  close(compact.O, explicit.O, "O");
  close(compact.R, explicit.R, "R (values: cost negated)");
  assert.deepEqual(compact.states, explicit.states);
  assert.equal(compact.discount, 0.9);
});

Deno.test("corpus: sums within 1e-5 are accepted and normalised (1d.POMDP, 4x4.pomdp cases)", () => {
  const m = toDense(read("tolerance.pomdp"));
  // By hand: start / 1.000005, T row 0 / 0.999999, and the reset pair of state 3.
  close(m.start, [0.250002, 0.250001, 0.250001, 0.250001].map((p) => p / 1.000005), "start");
  close(m.T.subarray(0, 4), [1 / 3, 1 / 3, 1 / 3, 0], "T(.|0,0)");
  assert.deepEqual([...m.reset], [0, 0, 0, 1]);
  assert.equal(m.R[3 * 4], 1);
});

Deno.test("corpus: a generated 1,296-state model parses with the rows it was written with", () => {
  const S = 1296, A = 4, O = 2;
  const m = parsePOMDP(syntheticPomdp(S, A, O), { source: "synthetic" });
  assert.equal(m.states.length, S);
  // Row (a=1, s=10): successors (s+a+1)%S = 12, (7s+a+3)%S = 74, (13s+5)%S = 135 with 0.5/0.3/0.2.
  const row = 1 * S + 10;
  assert.deepEqual([...m.T.index.subarray(m.T.ptr[row], m.T.ptr[row + 1])], [12, 74, 135]);
  assert.deepEqual([...m.T.value.subarray(m.T.ptr[row], m.T.ptr[row + 1])], [0.5, 0.3, 0.2]);
  assert.equal(transitionProb(m, 1, 10, 13), 0);
  // O(.|a, s'=5): 5 % 2 = 1 and (3·5+1) % 2 = 0, so 0.75 on 1 and 0.25 on 0.
  assert.deepEqual([observationProb(m, 0, 5, 0), observationProb(m, 0, 5, 1)], [0.25, 0.75]);
  assert.equal(reward(m, 2, 7, 12, 1), -3);
});
