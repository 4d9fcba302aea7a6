/**
 * The sparse tables against a dense reference: random sequences of every statement form (entries
 * with `*` wildcards anywhere, rows, matrices, `uniform`, `identity`, `reset`; rewards with and
 * without next-state and observation wildcards) are written as text for parsePOMDP and applied,
 * one write after another, to dense arrays by the small interpreter below (independent of the
 * parser's logs and most-specific-entry resolution). Then the large generated models at the sizes
 * of public benchmarks, with a bound on what they store.
 */
import assert from "assert";
import { parsePOMDP } from "../../lib/pomdp/parser.ts";
import { formatPOMDP } from "../../lib/pomdp/writer.ts";
import {
  type DensePOMDP,
  emptyDenseModel,
  entryCount,
  observationProb,
  reward,
  toDense,
  transitionProb,
} from "../../lib/pomdp/model.ts";
import { makeRng } from "../../lib/rng.ts";
import { syntheticPomdp } from "../../bench/pomdp_parse_bench.ts";

const S = 3, A = 2, O = 3;
type Sel = number | "*";

/** Rows whose entries are exact in binary and sum to exactly 1. */
const ROWS = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.25, 0.25], [0.25, 0, 0.75], [0.2, 0.3, 0.5]];
const REWARDS = [-2, -1, 0, 1, 2.5, -0, 7];

/** A random model text plus the dense model its statements describe (applied in order). */
function randomCase(seed: number, cost: boolean): { text: string; dense: DensePOMDP } {
  const rng = makeRng(`sparse-${seed}`);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
  const d = emptyDenseModel(["s0", "s1", "s2"], ["a0", "a1"], ["o0", "o1", "o2"], 0.9);
  const lines = [
    "discount: 0.9",
    `values: ${cost ? "cost" : "reward"}`,
    "states: s0 s1 s2",
    "actions: a0 a1",
    "observations: o0 o1 o2",
    "start: 0.2 0.3 0.5",
  ];
  d.start.set([0.2, 0.3, 0.5]);
  const sel = (n: number, wild = 0.35): Sel => (rng() < wild ? "*" : Math.floor(rng() * n));
  const all = (x: Sel, n: number) => (x === "*" ? Array.from({ length: n }, (_, i) => i) : [x]);
  const name = (
    prefix: string,
    x: Sel,
  ) => (x === "*" ? "*" : rng() < 0.5 ? `${prefix}${x}` : `${x}`);
  const num = (x: number) => (Object.is(x, -0) ? "-0.0" : String(x));
  // T rows: (a*S + s)*S + s2. Every form below leaves each row summing to 1 (or a reset).
  const setT = (a: number, s: number, row: number[], reset = 0) => {
    d.T.set(row, (a * S + s) * S);
    d.reset[a * S + s] = reset;
  };
  const setO = (a: number, s2: number, row: number[]) => d.O.set(row, (a * S + s2) * O);
  lines.push("T: * uniform", "O: * uniform");
  for (let a = 0; a < A; a++) {
    for (let s = 0; s < S; s++) {
      setT(a, s, [1 / 3, 1 / 3, 1 / 3]);
      setO(a, s, [1 / 3, 1 / 3, 1 / 3]);
    }
  }
  for (let k = 0; k < 40; k++) {
    const kind = Math.floor(rng() * 9);
    const a = sel(A), s = sel(S), s2 = sel(S), o = sel(O);
    const tA = name("a", a), tS = name("s", s), tS2 = name("s", s2), tO = name("o", o);
    if (kind === 0) { // T: a : s : * 0 then T: a : s : s' 1 (a deterministic row via entries)
      const to = Math.floor(rng() * S);
      lines.push(`T: ${tA} : ${tS} : * 0.0`, `T: ${tA} : ${tS} : ${name("s", to)} 1.0`);
      for (const i of all(a, A)) for (const j of all(s, S)) setT(i, j, ROWS[to]);
    } else if (kind === 1) { // T: a : s row | uniform | reset
      const form = pick(["row", "uniform", "reset"]);
      const row = pick(ROWS);
      lines.push(`T: ${tA} : ${tS} ${form === "row" ? row.join(" ") : form}`);
      for (const i of all(a, A)) {
        for (const j of all(s, S)) {
          if (form === "reset") setT(i, j, [0, 0, 0], 1);
          else setT(i, j, form === "row" ? row : [1 / 3, 1 / 3, 1 / 3]);
        }
      }
    } else if (kind === 2) { // T: a identity | uniform | matrix
      const form = pick(["identity", "uniform", "matrix"]);
      const mat = [pick(ROWS), pick(ROWS), pick(ROWS)];
      lines.push(`T: ${tA} ${form === "matrix" ? mat.flat().join(" ") : form}`);
      for (const i of all(a, A)) {
        for (let j = 0; j < S; j++) {
          setT(
            i,
            j,
            form === "identity" ? ROWS[j] : form === "uniform" ? [1 / 3, 1 / 3, 1 / 3] : mat[j],
          );
        }
      }
    } else if (kind === 3) { // O: a : s' : * 0 then O: a : s' : o 1
      const to = Math.floor(rng() * O);
      lines.push(`O: ${tA} : ${tS2} : * 0.0`, `O: ${tA} : ${tS2} : ${name("o", to)} 1.0`);
      for (const i of all(a, A)) for (const j of all(s2, S)) setO(i, j, ROWS[to]);
    } else if (kind === 4) { // O: a : s' row | uniform; O: a identity | uniform | matrix
      const form = pick(["row", "uniform", "identity", "matrix"]);
      const row = pick(ROWS), mat = [pick(ROWS), pick(ROWS), pick(ROWS)];
      if (form === "row" || form === "uniform") {
        lines.push(`O: ${tA} : ${tS2} ${form === "row" ? row.join(" ") : "uniform"}`);
        for (const i of all(a, A)) {
          for (const j of all(s2, S)) setO(i, j, form === "row" ? row : [1 / 3, 1 / 3, 1 / 3]);
        }
      } else {
        lines.push(`O: ${tA} ${form === "matrix" ? mat.flat().join(" ") : "identity"}`);
        for (const i of all(a, A)) {
          for (let j = 0; j < S; j++) setO(i, j, form === "matrix" ? mat[j] : ROWS[j]);
        }
      }
    } else if (kind <= 6) { // R: a : s : s' : o v, wildcards anywhere
      const v = pick(REWARDS);
      lines.push(`R: ${tA} : ${tS} : ${tS2} : ${tO} ${num(v)}`);
      for (const i of all(a, A)) {
        for (const j of all(s, S)) {
          for (const j2 of all(s2, S)) {
            for (const q of all(o, O)) d.R[((i * S + j) * S + j2) * O + q] = v;
          }
        }
      }
    } else if (kind === 7) { // R: a : s : s' + |O| numbers
      const row = [pick(REWARDS), pick(REWARDS), pick(REWARDS)];
      lines.push(`R: ${tA} : ${tS} : ${tS2}`, `  ${row.map(num).join(" ")}`);
      for (const i of all(a, A)) {
        for (const j of all(s, S)) {
          for (const j2 of all(s2, S)) d.R.set(row, ((i * S + j) * S + j2) * O);
        }
      }
    } else { // R: a : s + |S|×|O| numbers
      const mat = Array.from({ length: S * O }, () => pick(REWARDS));
      lines.push(`R: ${tA} : ${tS}`, `  ${mat.map(num).join(" ")}`);
      for (const i of all(a, A)) for (const j of all(s, S)) d.R.set(mat, (i * S + j) * S * O);
    }
  }
  if (cost) { for (let i = 0; i < d.R.length; i++) if (d.R[i] !== 0) d.R[i] = -d.R[i]; }
  return { text: lines.join("\n") + "\n", dense: d };
}

function sameNumbers(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    assert.ok(Object.is(got[i], want[i]), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

Deno.test("sparse tables equal the dense reference over random statement sequences of every form", () => {
  for (let seed = 0; seed < 150; seed++) {
    const cost = seed % 3 === 2;
    const { text, dense } = randomCase(seed, cost);
    const m = parsePOMDP(text, { source: `random-${seed}` });
    const got = toDense(m), at = `seed ${seed}`;
    sameNumbers(got.T, dense.T, `${at} T`);
    sameNumbers(got.O, dense.O, `${at} O`);
    sameNumbers(got.R, dense.R, `${at} R`);
    sameNumbers(got.reset, dense.reset, `${at} reset`);
    sameNumbers(got.start, dense.start, `${at} start`);
    // R(s, a) by the dense sum Σ T·O·R (reset pairs: R(s, a, s, o=0)).
    for (let a = 0; a < A; a++) {
      for (let s = 0; s < S; s++) {
        let r = 0;
        if (dense.reset[a * S + s]) r = dense.R[((a * S + s) * S + s) * O];
        else {
          for (let s2 = 0; s2 < S; s2++) {
            for (let o = 0; o < O; o++) {
              r += dense.T[(a * S + s) * S + s2] * dense.O[(a * S + s2) * O + o] *
                dense.R[((a * S + s) * S + s2) * O + o];
            }
          }
        }
        assert.ok(Math.abs(m.expectedR[a * S + s] - r) < 1e-12, `${at} R(s=${s}, a=${a})`);
      }
    }
    // The writer's text parses back to the very same sparse tables.
    assert.deepStrictEqual(parsePOMDP(formatPOMDP(m)), m, `${at}: round trip`);
  }
});

Deno.test("an (s', *) reward older than a (*, o) one yields to it; a newer one wins", () => {
  const head =
    "discount: 0.9\nstates: 2\nactions: 1\nobservations: 2\nT: * uniform\nO: * uniform\n";
  const older = parsePOMDP(head + "R: * : * : 1 : * 5.0\nR: * : * : * : 0 -1.0\n");
  assert.deepEqual([0, 1].flatMap((s2) => [0, 1].map((o) => reward(older, 0, 0, s2, o))), [
    -1, // (s'=0, o=0): only the (*, o=0) entry
    0,
    -1, // (s'=1, o=0): (*, o=0) came later than (s'=1, *)
    5,
  ]);
  const newer = parsePOMDP(head + "R: * : * : * : 0 -1.0\nR: * : * : 1 : * 5.0\n");
  assert.deepEqual([0, 1].flatMap((s2) => [0, 1].map((o) => reward(newer, 0, 0, s2, o))), [
    -1,
    0,
    5,
    5,
  ]);
  // A full-row write wipes everything before it.
  const wiped = parsePOMDP(head + "R: 0 : 0 : 1 : 1 9.0\nR: 0 : 0 : * : * 2.0\n");
  assert.deepEqual(entryCount(wiped).R, 1);
  assert.equal(reward(wiped, 0, 0, 1, 1), 2);
});

Deno.test("a generated 2,653-state, 103-observation model (auvnavigation2d-sized) stores only its entries", () => {
  const S = 2653, A = 5, O = 103;
  const m = parsePOMDP(syntheticPomdp(S, A, O), { source: "synthetic-auv" });
  assert.deepEqual([m.states.length, m.actions.length, m.observations.length], [S, A, O]);
  const n = entryCount(m);
  // The generator writes ≤ 3 successors per (s, a), 2 observations per s', and rewards per action
  // plus one (s', *) entry per goal in every (a, s) row: nothing grows with |S|² or |O|.
  assert.ok(n.T <= 3 * A * S && n.O <= 2 * A * S, JSON.stringify(n));
  assert.ok(n.R <= 6 * A * S, JSON.stringify(n));
  const bytes = 16 * (n.T + n.O) + 20 * n.R + 4 * 3 * (A * S + 1) + 9 * A * S;
  assert.ok(bytes < 8 * 2 ** 20, `${bytes} bytes of tables`); // dense R alone: 29 GB
  // Row (a=2, s=100): successors (s+a+1)%S = 103, (7s+a+3)%S = 705, (13s+5)%S = 1305.
  assert.equal(transitionProb(m, 2, 100, 103), 0.5);
  assert.equal(transitionProb(m, 2, 100, 705), 0.3);
  assert.equal(transitionProb(m, 2, 100, 1305), 0.2);
  // O(.|a, s'=200): 200 % 103 = 97 (0.75) and (3·200+1) % 103 = 86 (0.25).
  assert.equal(observationProb(m, 4, 200, 97), 0.75);
  assert.equal(observationProb(m, 4, 200, 86), 0.25);
  // Rewards: -1-a everywhere, 100 on arriving in a goal S-2..S-6, 10 for (a=0, s=S-1).
  assert.equal(reward(m, 3, 5, 6, 1), -4);
  assert.equal(reward(m, 3, 5, S - 2, 1), 100);
  assert.equal(reward(m, 0, S - 1, 7, 0), 10);
  assert.equal(m.expectedR[2 * S + 100], -3);
  // The writer keeps it sparse too: its text parses back to the same tables.
  assert.deepStrictEqual(parsePOMDP(formatPOMDP(m)), m);
});
