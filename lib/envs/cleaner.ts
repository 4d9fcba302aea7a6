/**
 * Cleaner: two cleaning robots in a fixed 13×13 maze, controlled as one agent.
 *
 * Every free cell is dirty at reset; a robot cleans the cell it stands on (+1 per cell). Each robot
 * sees only its 3×3 neighbourhood. Every episode lasts exactly 200 steps (reported as truncation).
 *
 * @example A joint action decodes as a0 = floor(a / 4), a1 = a mod 4
 * ```ts
 * import { makeCleaner } from "./cleaner.ts";
 * import { makeRng } from "../rng.ts";
 * const env = makeCleaner();
 * const rng = makeRng(0);
 * const { state } = env.reset(rng);
 * // agent 0 moves down (1), agent 1 bumps into the wall above (0): both clean a cell.
 * const r = env.step(state, 1 * 4 + 0, rng);
 * if (r.reward !== 2) throw new Error("two cells cleaned");
 * ```
 * @module
 */
import type { Rng } from "../rng.ts";
import { checkAction, type Env, type EnvOptions, featureSpec } from "./types.ts";

/** The maze, row 0 at the top: `#` wall, `.` free (dirty at reset). */
export const CLEANER_MAP: readonly string[] = Object.freeze([
  "#############",
  "#.#.....#...#",
  "#.###.###.###",
  "#...#.......#",
  "###.#####.#.#",
  "#.........#.#",
  "#.#######.#.#",
  "#.......#.#.#",
  "#####.#.#####",
  "#.....#.....#",
  "#.#####.###.#",
  "#.#.......#.#",
  "#############",
]);

/** Side of the square maze. */
export const CLEANER_SIZE = 13;
/** Every Cleaner episode lasts exactly this many steps. */
export const CLEANER_EPISODE_STEPS = 200;
/** Start cell (row, column) of both agents. */
export const CLEANER_START: readonly [number, number] = Object.freeze([1, 1] as [number, number]);

const N = CLEANER_SIZE;
const WALL: readonly boolean[] = CLEANER_MAP.flatMap((row) => [...row].map((ch) => ch === "#"));
/** Per-agent moves: 0 up, 1 down, 2 left, 3 right, as (dr, dc). */
const MOVES: readonly (readonly [number, number])[] = [[-1, 0], [1, 0], [0, -1], [0, 1]];
const MOVE_NAMES = ["U", "D", "L", "R"];

/** Cleaner's latent state. Cells are indexed r * 13 + c. */
export interface CleanerState {
  /** Agent 0's row. */
  readonly r0: number;
  /** Agent 0's column. */
  readonly c0: number;
  /** Agent 1's row. */
  readonly r1: number;
  /** Agent 1's column. */
  readonly c1: number;
  /** 1 where a free cell is still dirty, else 0 (169 entries, row-major). */
  readonly dirty: readonly number[];
  /** Steps taken so far in this episode. */
  readonly t: number;
}

/**
 * Cleaner's observation: 54 numbers, agent 0's 3×3 window then agent 1's, each flattened as
 * i * 9 + j * 3 + channel (i = row offset + 1, j = column offset + 1). Cell codes: wall (0,0,0),
 * clean (1,1,1), dirty (0,1,0), teammate (0,0,1), self at the centre (1,0,0).
 */
export type CleanerObs = readonly number[];

/** Whether (r, c) is a wall of the maze. */
export function cleanerIsWall(r: number, c: number): boolean {
  return WALL[r * N + c];
}

/** The observation of a Cleaner state (54 numbers; see {@link CleanerObs}). */
export function cleanerObservation(s: CleanerState): number[] {
  const out = new Array<number>(54).fill(0);
  const agents = [[s.r0, s.c0], [s.r1, s.c1]];
  for (let k = 0; k < 2; k++) {
    const [r, c] = agents[k];
    const [tr, tc] = agents[1 - k];
    const base = k * 27;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const rr = r + i - 1, cc = c + j - 1;
        const o = base + i * 9 + j * 3;
        const cell = rr * N + cc;
        if (WALL[cell]) continue; // (0, 0, 0)
        if (s.dirty[cell]) out[o + 1] = 1; // (0, 1, 0)
        else out[o] = out[o + 1] = out[o + 2] = 1; // (1, 1, 1)
      }
    }
    const di = tr - r + 1, dj = tc - c + 1;
    if (di >= 0 && di < 3 && dj >= 0 && dj < 3) {
      const o = base + di * 9 + dj * 3;
      out[o] = 0, out[o + 1] = 0, out[o + 2] = 1;
    }
    const o = base + 12; // centre (1, 1), written last
    out[o] = 1, out[o + 1] = 0, out[o + 2] = 0;
  }
  return out;
}

/**
 * Create the Cleaner environment (id `cleaner`, 16 joint actions a = 4·a0 + a1 with per-agent moves
 * 0 up, 1 down, 2 left, 3 right). Every episode ends after exactly 200 steps, reported as
 * `truncated`; `timeLimit` may shorten it but not extend it: a larger limit (such as the reference's
 * default 1000) never binds, as in the reference, and `env.timeLimit` reads 200.
 *
 * Encodings: observation 54 values and state 845 values (13×13×5: clean-free, wall, dirty, agent 0,
 * agent 1 per cell, index (r·13 + c)·5 + channel), each one `vector` part in [0, 1].
 */
export function makeCleaner(options?: EnvOptions): Env<CleanerState, CleanerObs> {
  const id = "cleaner";
  const requested = options?.timeLimit ?? CLEANER_EPISODE_STEPS;
  if (!Number.isInteger(requested) || requested < 1) {
    throw new Error(
      `${id}: invalid timeLimit ${requested}; expected a positive integer (every Cleaner episode ` +
        `ends after ${CLEANER_EPISODE_STEPS} steps; a larger limit does not bind)`,
    );
  }
  const timeLimit = Math.min(requested, CLEANER_EPISODE_STEPS);
  const dirty0: readonly number[] = Object.freeze(WALL.map((w) => (w ? 0 : 1)));
  const env: Env<CleanerState, CleanerObs> = {
    id,
    numActions: 16,
    actionNames: Object.freeze(
      Array.from({ length: 16 }, (_, a) => MOVE_NAMES[a >> 2] + MOVE_NAMES[a & 3]),
    ),
    timeLimit,
    obsSpec: featureSpec([{ kind: "vector", size: 54, low: 0, high: 1, integer: true }]),
    stateSpec: featureSpec([{ kind: "vector", size: N * N * 5, low: 0, high: 1, integer: true }]),
    reset(_rng: Rng) {
      const [r, c] = CLEANER_START;
      const state: CleanerState = { r0: r, c0: c, r1: r, c1: c, dirty: dirty0, t: 0 };
      return { state, obs: cleanerObservation(state) };
    },
    step(state: CleanerState, action: number, _rng: Rng) {
      checkAction(env, action);
      const dirty = state.dirty.slice();
      const pos = [[state.r0, state.c0], [state.r1, state.c1]];
      const moves = [Math.floor(action / 4), action % 4];
      let reward = 0;
      for (let k = 0; k < 2; k++) {
        const [dr, dc] = MOVES[moves[k]];
        const r = pos[k][0] + dr, c = pos[k][1] + dc;
        if (!WALL[r * N + c]) pos[k] = [r, c];
        const cell = pos[k][0] * N + pos[k][1];
        if (dirty[cell]) {
          dirty[cell] = 0;
          reward += 1;
        }
      }
      const t = state.t + 1;
      const next: CleanerState = {
        r0: pos[0][0],
        c0: pos[0][1],
        r1: pos[1][0],
        c1: pos[1][1],
        dirty,
        t,
      };
      return {
        state: next,
        obs: cleanerObservation(next),
        reward,
        terminated: false,
        truncated: t >= timeLimit,
      };
    },
    encodeObs: (o: CleanerObs) => Float32Array.from(o),
    encodeState(s: CleanerState) {
      const out = new Float32Array(N * N * 5);
      for (let cell = 0; cell < N * N; cell++) {
        const o = cell * 5;
        if (WALL[cell]) out[o + 1] = 1;
        else if (s.dirty[cell]) out[o + 2] = 1;
        else out[o] = 1;
      }
      out[(s.r0 * N + s.c0) * 5 + 3] = 1;
      out[(s.r1 * N + s.c1) * 5 + 4] = 1;
      return out;
    },
    renderObs(o: CleanerObs) {
      const lines = ["agent 0  agent 1"];
      for (let i = 0; i < 3; i++) {
        const row = [0, 1].map((k) => {
          let txt = "";
          for (let j = 0; j < 3; j++) {
            const b = k * 27 + i * 9 + j * 3;
            const code = `${o[b]}${o[b + 1]}${o[b + 2]}`;
            txt += code === "000"
              ? "#"
              : code === "111"
              ? " "
              : code === "010"
              ? "."
              : code === "001"
              ? String(1 - k)
              : code === "100"
              ? String(k)
              : "?";
          }
          return txt;
        });
        lines.push(`  ${row[0]}      ${row[1]}`);
      }
      lines.push("(# wall, . dirty, blank clean, 0/1 agents)");
      return lines.join("\n");
    },
    renderState(s: CleanerState) {
      const rows: string[] = [];
      let left = 0;
      for (let r = 0; r < N; r++) {
        let row = "";
        for (let c = 0; c < N; c++) {
          const cell = r * N + c;
          const a0 = r === s.r0 && c === s.c0, a1 = r === s.r1 && c === s.c1;
          if (s.dirty[cell]) left++;
          row += a0 && a1
            ? "&"
            : a0
            ? "0"
            : a1
            ? "1"
            : WALL[cell]
            ? "#"
            : s.dirty[cell]
            ? "."
            : " ";
        }
        rows.push(row);
      }
      rows.push(`dirty cells left: ${left}  t=${s.t}/${CLEANER_EPISODE_STEPS}`);
      rows.push("(# wall, . dirty, blank clean, 0/1 agents, & both)");
      return rows.join("\n");
    },
  };
  return env;
}
