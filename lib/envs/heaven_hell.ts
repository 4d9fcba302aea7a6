/**
 * Heaven-Hell-n as an environment: the tabular simulator of {@link heavenHellModel} with a text
 * rendering of the maze.
 *
 * The agent starts at the bottom of a vertical corridor whose top forks into a left and a right
 * arm; one arm ends in heaven (+1), the other in hell (-1), each chosen with probability 1/2. The
 * only way to tell them apart is to visit the priest at the end of a corridor below the start.
 * Optimal play (4n+3 actions, return +1): S, E×n to the priest, W×n, N×(n+1) to the top fork, n
 * moves along heaven's arm, and one more action in heaven.
 *
 * @example The optimal episode of Heaven-Hell-3 when heaven is on the left
 * ```ts
 * import { makeHeavenHell } from "./heaven_hell.ts";
 * import { makeRng } from "../rng.ts";
 * const env = makeHeavenHell(3);
 * const rng = makeRng(0);
 * let state = { s: 0, t: 0 }; // cell 0, heaven on the left
 * let total = 0;
 * for (const a of "SEEEWWWNNNNWWWN") {
 *   const r = env.step(state, "NSEW".indexOf(a), rng);
 *   state = r.state;
 *   total += r.reward;
 * }
 * if (total !== 1) throw new Error("the optimal episode earns +1");
 * ```
 * @module
 */
import type { EnvOptions } from "./types.ts";
import { makePomdpEnv, type PomdpEnv, type PomdpState } from "./pomdp_env.ts";
import { heavenHellLayout, heavenHellModel } from "../pomdp/heaven_hell.ts";

/**
 * The (row, column) of every cell in the drawing of Heaven-Hell-n: the arms along row 0 with the
 * top fork at column n, the corridor going down column n to the start (row n) and the bottom fork
 * (row n+1), from which the priest's corridor runs right.
 */
export function heavenHellCellPositions(n: number): [number, number][] {
  const L = heavenHellLayout(n);
  const pos: [number, number][] = new Array(L.cells);
  for (let j = 0; j < n; j++) pos[2 * n - j] = [0, j]; // left arm: 2n (end) .. n+1
  pos[n] = [0, n];
  for (let j = 1; j <= n; j++) pos[2 * n + j] = [0, n + j]; // right arm: 2n+1 .. 3n (end)
  for (let c = 0; c < n; c++) pos[c] = [n - c, n]; // corridor: cell 0 at row n
  pos[L.bottomFork] = [n + 1, n];
  for (let j = 1; j <= n; j++) pos[3 * n + 1 + j] = [n + 1, n + j]; // to the priest
  return pos;
}

/**
 * Make Heaven-Hell-n (id `heaven-hell-${n}`; actions N, S, E, W; default time limit 1000).
 *
 * `renderState` draws the maze: `H` heaven, `X` hell, `P` priest, `o` other cells, `@` the agent.
 */
export function makeHeavenHell(n: number, options: EnvOptions = {}): PomdpEnv {
  const L = heavenHellLayout(n);
  const C = L.cells;
  const base = makePomdpEnv(heavenHellModel(n), { ...options, id: `heaven-hell-${n}` });
  const pos = heavenHellCellPositions(n);

  const renderState = (state: PomdpState): string => {
    base.encodeState(state); // validates
    const h = Math.floor(state.s / C), agent = state.s % C;
    const heaven = h === 0 ? L.leftEnd : L.rightEnd;
    const grid: string[][] = Array.from({ length: n + 2 }, () => new Array(2 * n + 1).fill(" "));
    for (let c = 0; c < C; c++) {
      const [r, col] = pos[c];
      let ch = "o";
      if (c === heaven) ch = "H";
      else if (c === L.leftEnd || c === L.rightEnd) ch = "X";
      else if (c === L.priest) ch = "P";
      if (c === agent) ch = "@";
      grid[r][col] = ch;
    }
    const lines = grid.map((row) => row.join(" ").trimEnd());
    lines.push(
      `heaven: ${h === 0 ? "left" : "right"}  agent: cell ${agent}  t=${state.t}` +
        "  (H heaven, X hell, P priest, @ agent)",
    );
    return lines.join("\n");
  };

  const renderObs = (obs: number): string => {
    base.encodeObs(obs); // validates
    if (obs === base.resetObs) return "reset (no observation yet)";
    if (obs === C - 1) return `cell ${L.priest} (priest): "heaven is left"`;
    if (obs === C) return `cell ${L.priest} (priest): "heaven is right"`;
    return `cell ${obs}`;
  };

  return { ...base, renderState, renderObs };
}
