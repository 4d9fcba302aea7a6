/**
 * A tabular POMDP: finite states, actions and observations, with sparse transition, observation
 * and reward tables (public benchmark models have a few successors per (s, a), so dense tables —
 * R alone |A|·|S|²·|O| doubles — would not fit). Used by the Cassandra `.pomdp` parser, the
 * Heaven-Hell generator, the tabular environment and the exact solvers.
 *
 * Small models are easiest to build densely: fill a {@link DensePOMDP} from {@link emptyDenseModel}
 * and convert it with {@link fromDense}; {@link toDense} goes back (for tests and small models).
 *
 * Episodic models (gym-pomdps' `reset` keyword): `T: a : s reset` marks the pair (s, a) as ending
 * the episode; its reward still counts, and no next state or observation follows.
 *
 * @example A one-state model, built densely and read sparsely
 * ```ts
 * import { emptyDenseModel, fromDense, reward, transitionProb } from "./model.ts";
 * const d = emptyDenseModel(["s"], ["a"], ["o"]);
 * d.start[0] = 1; d.T[0] = 1; d.O[0] = 1; d.R[0] = 2;
 * const m = fromDense(d);
 * console.log(transitionProb(m, 0, 0, 0), reward(m, 0, 0, 0, 0), m.expectedR[0]); // 1 2 2
 * ```
 *
 * @module
 */

/**
 * Sparse rows of a probability table (compressed sparse rows): row i holds the entries
 * `ptr[i] .. ptr[i+1]-1`, each an `index` (next state or observation, increasing within a row)
 * with its positive `value`.
 */
export interface SparseRows {
  /** Row starts (length rows + 1). */
  ptr: Int32Array;
  /** Column of each entry (increasing within a row). */
  index: Int32Array;
  /** Probability of each entry (> 0). */
  value: Float64Array;
}

/**
 * Rewards R(s, a, s', o) as the wildcard entries a `.pomdp` file gives, per (a, s) row
 * a·|S| + s: row i holds entries `ptr[i] .. ptr[i+1]-1`, each a next state (or -1 for any), an
 * observation (or -1 for any) and a value, sorted by (next, obs). R(s, a, s', o) is the value of
 * the most specific entry matching (s', o): (s', o), else (s', *), else (*, o), else (*, *), else 0.
 */
export interface RewardTable {
  /** Row starts (length |A|·|S| + 1). */
  ptr: Int32Array;
  /** Next state of each entry, -1 for any. */
  next: Int32Array;
  /** Observation of each entry, -1 for any. */
  obs: Int32Array;
  /** Reward of each entry. */
  value: Float64Array;
}

/** What every tabular POMDP has besides its T, O and R tables. */
export interface POMDPSpaces {
  /** State names (length |S|). */
  states: string[];
  /** Action names (length |A|). */
  actions: string[];
  /** Observation names (length |O|). */
  observations: string[];
  /** Discount factor from the model file (solvers may override). */
  discount: number;
  /** Whether `R` holds rewards or costs (`values: cost` files are negated at parse time). */
  values: "reward";
  /** Initial belief b0(s), length |S|. */
  start: Float64Array;
  /** reset[a*|S| + s] = 1 where taking a in s ends the episode (episodic models). */
  reset: Uint8Array;
}

/** A finite POMDP with sparse tables; rows of T and R are indexed a·|S| + s, rows of O a·|S| + s'. */
export interface TabularPOMDP extends POMDPSpaces {
  /** T(s' | s, a) in row a·|S| + s; rows of reset pairs are empty. */
  T: SparseRows;
  /** O(o | a, s') in row a·|S| + s'. */
  O: SparseRows;
  /** R(s, a, s', o) as wildcard entries (see {@link RewardTable}). */
  R: RewardTable;
  /** R(s, a) = Σ_{s',o} T(s'|s,a) O(o|a,s') R(s,a,s',o) at a·|S| + s (see {@link expectedReward}). */
  expectedR: Float64Array;
}

/** A finite POMDP with dense row-major tables, for building and checking small models. */
export interface DensePOMDP extends POMDPSpaces {
  /** T[(a*|S| + s)*|S| + s'] = Pr(s' | s, a). Rows of reset pairs are all zero. */
  T: Float64Array;
  /** O[(a*|S| + s')*|O| + o] = Pr(o | a, s'). */
  O: Float64Array;
  /** R[((a*|S| + s)*|S| + s')*|O| + o]: reward of the full transition. */
  R: Float64Array;
}

/** Sizes of a tabular POMDP. */
export function sizes(
  m: Pick<POMDPSpaces, "states" | "actions" | "observations">,
): { S: number; A: number; O: number } {
  return { S: m.states.length, A: m.actions.length, O: m.observations.length };
}

/** The stored entries of a model's tables (its memory is about 16 bytes per entry). */
export function entryCount(m: TabularPOMDP): { T: number; O: number; R: number } {
  return { T: m.T.value.length, O: m.O.value.length, R: m.R.value.length };
}

/** The value of column `col` in row `row` of sparse rows (0 when absent); binary search. */
export function rowValue(rows: SparseRows, row: number, col: number): number {
  let lo = rows.ptr[row], hi = rows.ptr[row + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1, c = rows.index[mid];
    if (c === col) return rows.value[mid];
    if (c < col) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

/** T(s' | s, a). */
export function transitionProb(m: TabularPOMDP, a: number, s: number, s2: number): number {
  return rowValue(m.T, a * m.states.length + s, s2);
}

/** O(o | a, s'). */
export function observationProb(m: TabularPOMDP, a: number, s2: number, o: number): number {
  return rowValue(m.O, a * m.states.length + s2, o);
}

/** Position of the entry (next, obs) in row `row` of a reward table, or -1; binary search. */
function rewardEntry(R: RewardTable, O: number, row: number, next: number, obs: number): number {
  const key = (next + 1) * (O + 1) + obs + 1;
  let lo = R.ptr[row], hi = R.ptr[row + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1, k = (R.next[mid] + 1) * (O + 1) + R.obs[mid] + 1;
    if (k === key) return mid;
    if (k < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** R(s, a, s', o): the most specific matching entry of row a·|S| + s (see {@link RewardTable}). */
export function reward(m: TabularPOMDP, a: number, s: number, s2: number, o: number): number {
  const O = m.observations.length, row = a * m.states.length + s, R = m.R;
  let e = rewardEntry(R, O, row, s2, o);
  if (e < 0) e = rewardEntry(R, O, row, s2, -1);
  if (e < 0) e = rewardEntry(R, O, row, -1, o);
  if (e < 0) e = rewardEntry(R, O, row, -1, -1);
  return e < 0 ? 0 : R.value[e];
}

/**
 * Expected immediate reward R(s, a) = Σ_{s',o} T(s'|s,a) O(o|a,s') R(s,a,s',o).
 * For a reset pair (no successor) the reward is R(s, a, s'=s, o=0): the reward of the ending action
 * cannot depend on a successor that does not exist.
 */
export function expectedReward(m: TabularPOMDP, s: number, a: number): number {
  return m.expectedR[a * m.states.length + s];
}

/** The parts of a {@link TabularPOMDP} that {@link makeModel} completes. */
export type ModelParts = Omit<TabularPOMDP, "expectedR" | "values">;

/** Throw a clear error unless every table of `parts` has the length its sizes call for. */
export function checkShapes(parts: ModelParts): void {
  const { S, A, O } = sizes(parts);
  const rows = A * S;
  const expect = (name: string, got: number, want: number) => {
    if (got !== want) {
      throw new Error(
        `model.${name} has length ${got}; expected ${want} (|S|=${S}, |A|=${A}, |O|=${O})`,
      );
    }
  };
  expect("start", parts.start.length, S);
  expect("reset", parts.reset.length, rows);
  for (const [name, t] of [["T", parts.T], ["O", parts.O]] as const) {
    expect(`${name}.ptr`, t.ptr.length, rows + 1);
    expect(`${name}.index`, t.index.length, t.ptr[rows]);
    expect(`${name}.value`, t.value.length, t.ptr[rows]);
  }
  expect("R.ptr", parts.R.ptr.length, rows + 1);
  for (const f of ["next", "obs", "value"] as const) {
    expect(`R.${f}`, parts.R[f].length, parts.R.ptr[rows]);
  }
}

/**
 * Assemble a model from its sparse tables: checks the table shapes and computes the expected
 * rewards `expectedR` (summed in increasing s', then o, as a dense sum would be).
 */
export function makeModel(parts: ModelParts): TabularPOMDP {
  checkShapes(parts);
  const { S, A } = sizes(parts);
  const rows = A * S;
  const m: TabularPOMDP = { ...parts, values: "reward", expectedR: new Float64Array(rows) };
  const { T, O: Ob } = m;
  for (let i = 0; i < rows; i++) {
    const a = Math.floor(i / S), s = i - a * S;
    if (m.reset[i]) {
      m.expectedR[i] = reward(m, a, s, s, 0);
      continue;
    }
    let r = 0;
    for (let t = T.ptr[i]; t < T.ptr[i + 1]; t++) {
      const s2 = T.index[t], j = a * S + s2;
      for (let q = Ob.ptr[j]; q < Ob.ptr[j + 1]; q++) {
        r += T.value[t] * Ob.value[q] * reward(m, a, s, s2, Ob.index[q]);
      }
    }
    m.expectedR[i] = r;
  }
  return m;
}

/**
 * Draw a column of row `row` with probability proportional to its value: one uniform u from
 * `rng`, walking the entries in increasing column (the draw a dense `sampleIndex` makes).
 */
export function sampleRow(rows: SparseRows, row: number, rng: () => number): number {
  const from = rows.ptr[row], to = rows.ptr[row + 1];
  if (to <= from) throw new Error(`sampleRow: row ${row} has no positive entry`);
  let u = rng();
  for (let k = from; k < to; k++) {
    u -= rows.value[k];
    if (u < 0) return rows.index[k];
  }
  return rows.index[to - 1]; // rounding: the row sums to slightly under 1
}

/** Allocate an all-zero dense model of the given sizes (for builders of small models). */
export function emptyDenseModel(
  states: string[],
  actions: string[],
  observations: string[],
  discount = 0.95,
): DensePOMDP {
  const S = states.length, A = actions.length, O = observations.length;
  return {
    states,
    actions,
    observations,
    discount,
    values: "reward",
    start: new Float64Array(S),
    T: new Float64Array(A * S * S),
    O: new Float64Array(A * S * O),
    R: new Float64Array(A * S * S * O),
    reset: new Uint8Array(A * S),
  };
}

/** Sparse rows of the non-zero entries of a dense row-major table. */
function denseRows(table: Float64Array, rows: number, width: number): SparseRows {
  const ptr = new Int32Array(rows + 1);
  let n = 0;
  for (let i = 0; i < table.length; i++) if (table[i] !== 0) n++;
  const index = new Int32Array(n), value = new Float64Array(n);
  n = 0;
  for (let i = 0; i < rows; i++) {
    ptr[i] = n;
    for (let j = 0; j < width; j++) {
      const v = table[i * width + j];
      if (v !== 0) {
        index[n] = j;
        value[n++] = v;
      }
    }
  }
  ptr[rows] = n;
  return { ptr, index, value };
}

/** Whether a block of numbers holds one value throughout (-0 differs from 0). */
function constantOf(x: Float64Array, from: number, to: number): number | undefined {
  for (let i = from + 1; i < to; i++) if (!Object.is(x[i], x[from])) return undefined;
  return x[from];
}

/**
 * Convert a dense model into the sparse {@link TabularPOMDP}: zero probabilities are dropped, and
 * each reward row becomes one `(*, *)` entry when constant, else one `(s', *)` entry per constant
 * block and `(s', o)` entries otherwise (+0 rewards are left implicit; -0 is kept).
 */
export function fromDense(d: DensePOMDP): TabularPOMDP {
  const { S, A, O } = sizes(d);
  const rows = A * S;
  const ptr = new Int32Array(rows + 1),
    next: number[] = [],
    obs: number[] = [],
    value: number[] = [];
  const add = (s2: number, o: number, v: number) => {
    if (Object.is(v, 0)) return;
    next.push(s2);
    obs.push(o);
    value.push(v);
  };
  for (let i = 0; i < rows; i++) {
    ptr[i] = value.length;
    const c = constantOf(d.R, i * S * O, (i + 1) * S * O);
    if (c !== undefined) {
      add(-1, -1, c);
      continue;
    }
    for (let s2 = 0; s2 < S; s2++) {
      const base = (i * S + s2) * O, cs = constantOf(d.R, base, base + O);
      if (cs !== undefined) add(s2, -1, cs);
      else for (let o = 0; o < O; o++) add(s2, o, d.R[base + o]);
    }
  }
  ptr[rows] = value.length;
  return makeModel({
    states: d.states,
    actions: d.actions,
    observations: d.observations,
    discount: d.discount,
    start: Float64Array.from(d.start),
    T: denseRows(d.T, rows, S),
    O: denseRows(d.O, rows, O),
    R: {
      ptr,
      next: Int32Array.from(next),
      obs: Int32Array.from(obs),
      value: Float64Array.from(value),
    },
    reset: Uint8Array.from(d.reset),
  });
}

/** The most doubles {@link toDense} allocates for R (a guard: dense tables are for small models). */
export const MAX_DENSE_R = 50_000_000;

/** The dense tables of a (small) model: the inverse of {@link fromDense}. */
export function toDense(m: TabularPOMDP): DensePOMDP {
  const { S, A, O } = sizes(m);
  if (A * S * S * O > MAX_DENSE_R) {
    throw new Error(
      `toDense: ${S} states, ${A} actions and ${O} observations need |A|·|S|²·|O| = ` +
        `${
          A * S * S * O
        } doubles for R; at most ${MAX_DENSE_R} (dense tables are for small models)`,
    );
  }
  const d = emptyDenseModel(m.states, m.actions, m.observations, m.discount);
  d.start.set(m.start);
  d.reset.set(m.reset);
  const fill = (rows: SparseRows, table: Float64Array, width: number) => {
    for (let i = 0; i < A * S; i++) {
      for (let k = rows.ptr[i]; k < rows.ptr[i + 1]; k++) {
        table[i * width + rows.index[k]] = rows.value[k];
      }
    }
  };
  fill(m.T, d.T, S);
  fill(m.O, d.O, O);
  for (let a = 0; a < A; a++) {
    for (let s = 0; s < S; s++) {
      for (let s2 = 0; s2 < S; s2++) {
        for (let o = 0; o < O; o++) d.R[((a * S + s) * S + s2) * O + o] = reward(m, a, s, s2, o);
      }
    }
  }
  return d;
}
