/**
 * The Heaven-Hell-n POMDP (Bonet 1998; episodic variant of gym-pomdps' `heavenhell_n.pomdp`),
 * generated from n by the rules of docs/environments.md (Heaven-Hell section).
 *
 * Cells c = 0..C-1 with C = 4n + 2: 0 start, 1..n corridor up (n = top fork), n+1..2n left arm
 * (2n = left end), 2n+1..3n right arm (3n = right end), 3n+1 bottom fork, 3n+2..4n+1 corridor to
 * the priest (C-1). States s = h*C + c where h = 0 puts heaven at the left end and h = 1 at the
 * right end; state names are `L<c>` / `R<c>` (the letter is heaven's side). Actions N, S, E, W.
 * Observations: `c0`..`c<C-2>` (the cell id), then `left` (index C-1) and `right` (index C), what the
 * priest says. Every action in an end cell is a reset pair paying +1 in heaven and -1 in hell.
 *
 * @module
 */
import { emptyDenseModel, fromDense, type TabularPOMDP } from "./model.ts";

/** Action indices of Heaven-Hell. */
export const HH_ACTIONS = { N: 0, S: 1, E: 2, W: 3 } as const;

/** The layout of Heaven-Hell-n: cell indices of its landmarks. */
export interface HeavenHellLayout {
  /** Arm and corridor length n. */
  n: number;
  /** Number of cells C = 4n + 2. */
  cells: number;
  /** Top fork (n). */
  topFork: number;
  /** Left end cell (2n). */
  leftEnd: number;
  /** Right end cell (3n). */
  rightEnd: number;
  /** Bottom fork (3n + 1). */
  bottomFork: number;
  /** Priest cell (4n + 1 = C - 1). */
  priest: number;
}

/** Throw a clear error unless n is a positive integer; return the layout of Heaven-Hell-n. */
export function heavenHellLayout(n: number): HeavenHellLayout {
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`heaven-hell: invalid n ${n}; expected a positive integer (3 and 4 are used)`);
  }
  return {
    n,
    cells: 4 * n + 2,
    topFork: n,
    leftEnd: 2 * n,
    rightEnd: 3 * n,
    bottomFork: 3 * n + 1,
    priest: 4 * n + 1,
  };
}

/**
 * The deterministic move of action `a` (0=N, 1=S, 2=E, 3=W) from cell `c`; moves without a rule
 * stay in place. End cells are not special here (the model marks them as reset pairs).
 */
export function heavenHellMove(n: number, c: number, a: number): number {
  const C = 4 * n + 2;
  switch (a) {
    case 0: // N
      if (c >= 0 && c < n) return c + 1;
      if (c === 3 * n + 1) return 0;
      return c;
    case 1: // S
      if (c > 0 && c <= n) return c - 1;
      if (c === 0) return 3 * n + 1;
      return c;
    case 2: // E
      if (c >= n + 1 && c < 2 * n) return c - 1;
      if (c === n) return 2 * n + 1;
      if (c >= 2 * n + 1 && c < 3 * n) return c + 1;
      if (c >= 3 * n + 1 && c < C - 1) return c + 1;
      return c;
    case 3: // W
      if (c >= n && c < 2 * n) return c + 1;
      if (c === 2 * n + 1) return n;
      if (c >= 2 * n + 2 && c <= 3 * n) return c - 1;
      if (c >= 3 * n + 2 && c <= C - 1) return c - 1;
      return c;
    default:
      throw new Error(`heaven-hell: invalid action ${a}; expected 0..3 (N, S, E, W)`);
  }
}

/**
 * Build the Heaven-Hell-n model (|S| = 2C, |A| = 4, |O| = C + 1, discount 0.99).
 *
 * @example
 * ```ts
 * import { heavenHellModel } from "./heaven_hell.ts";
 * const m = heavenHellModel(3);
 * console.log(m.states.length, m.observations.length); // 28 15
 * ```
 */
export function heavenHellModel(n: number): TabularPOMDP {
  const L = heavenHellLayout(n);
  const C = L.cells;
  const states: string[] = [];
  for (const side of ["L", "R"]) for (let c = 0; c < C; c++) states.push(`${side}${c}`);
  const observations: string[] = [];
  for (let c = 0; c < C - 1; c++) observations.push(`c${c}`);
  observations.push("left", "right");
  const m = emptyDenseModel(states, ["N", "S", "E", "W"], observations, 0.99);
  const S = 2 * C, O = C + 1;
  m.start[0] = 0.5;
  m.start[C] = 0.5;
  for (let h = 0; h < 2; h++) {
    const heaven = h === 0 ? L.leftEnd : L.rightEnd;
    const hell = h === 0 ? L.rightEnd : L.leftEnd;
    for (let c = 0; c < C; c++) {
      const s = h * C + c;
      const obs = c === L.priest ? C - 1 + h : c;
      const r = c === heaven ? 1 : c === hell ? -1 : 0;
      for (let a = 0; a < 4; a++) {
        if (c === L.leftEnd || c === L.rightEnd) m.reset[a * S + s] = 1;
        else m.T[(a * S + s) * S + h * C + heavenHellMove(n, c, a)] = 1;
        m.O[(a * S + s) * O + obs] = 1;
        if (r !== 0) m.R.fill(r, (a * S + s) * S * O, (a * S + s + 1) * S * O);
      }
    }
  }
  return fromDense(m);
}
