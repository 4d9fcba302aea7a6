/**
 * GV-MemoryFourRooms-7x7 (gym-gridverse): find the exit whose colour matches the beacon.
 *
 * A 7×7 grid of four 2×2 rooms joined by four doorways holds a coloured beacon and two exits; the
 * agent sees a 7×7 egocentric window (never behind itself, walls occlude). Stepping on the exit of
 * the beacon's colour pays +5, on the other exit -5, and every step costs 0.05; either exit ends the
 * episode.
 *
 * @example
 * ```ts
 * import { makeMemoryFourRooms } from "./memory_four_rooms.ts";
 * import { makeRng } from "../rng.ts";
 * const env = makeMemoryFourRooms();
 * const rng = makeRng(3);
 * const { state, obs } = env.reset(rng);
 * console.log(env.renderState(state));
 * console.log(env.renderObs(obs));
 * ```
 * @module
 */
import { randInt, type Rng } from "../rng.ts";
import { checkAction, type Env, type EnvOptions, featureSpec, resolveTimeLimit } from "./types.ts";

/** gym-gridverse object type indices. */
export const GV_OBJECT = {
  /** No object. */
  None: 0,
  /** A cell the agent cannot see. */
  Hidden: 1,
  /** Free floor. */
  Floor: 2,
  /** Wall (blocks movement and vision). */
  Wall: 3,
  /** Exit (ends the episode). */
  Exit: 4,
  /** Door (unused here). */
  Door: 5,
  /** Key (unused here). */
  Key: 6,
  /** Moving obstacle (unused here). */
  MovingObstacle: 7,
  /** Box (unused here). */
  Box: 8,
  /** Telepod (unused here). */
  Telepod: 9,
  /** Beacon (its colour marks the good exit). */
  Beacon: 10,
} as const;

/** gym-gridverse colour indices. */
export const GV_COLOR = {
  /** No colour. */
  NONE: 0,
  /** Red. */
  RED: 1,
  /** Green. */
  GREEN: 2,
  /** Blue. */
  BLUE: 3,
  /** Yellow. */
  YELLOW: 4,
} as const;

/** Orientations: N=0, S=1, W=2, E=3 (positions are (y, x) with y down). */
export const GV_ORIENTATION_NAMES: readonly string[] = Object.freeze(["N", "S", "W", "E"]);

/** The six actions. */
export const MFR_ACTION_NAMES: readonly string[] = Object.freeze([
  "MOVE_FORWARD",
  "MOVE_BACKWARD",
  "MOVE_LEFT",
  "MOVE_RIGHT",
  "TURN_LEFT",
  "TURN_RIGHT",
]);

/** Grid side. */
export const MFR_SIZE = 7;
/** Number of codes of the categorical encodings (object types 0..10 cover every code). */
export const MFR_VOCAB = 11;
const S = MFR_SIZE;

/** Unit steps (dy, dx) of the orientations N, S, W, E. */
const DELTA: readonly (readonly [number, number])[] = [[-1, 0], [1, 0], [0, -1], [0, 1]];
/** Orientation to the left of N, S, W, E. */
const LEFT_OF = [2, 3, 1, 0];
/** Orientation to the right of N, S, W, E. */
const RIGHT_OF = [3, 2, 0, 1];
/** Orientation behind N, S, W, E. */
const BEHIND = [1, 0, 3, 2];

/** MemoryFourRooms' latent state. Cells are indexed y * 7 + x. */
export interface MemoryFourRoomsState {
  /** Object type per cell (49 entries, {@link GV_OBJECT}). Shared between states; never mutated. */
  readonly grid: readonly number[];
  /** Colour per cell (49 entries, {@link GV_COLOR}). Shared between states; never mutated. */
  readonly colors: readonly number[];
  /** Agent row (0 at the top). */
  readonly y: number;
  /** Agent column. */
  readonly x: number;
  /** Agent orientation: 0 N, 1 S, 2 W, 3 E. */
  readonly dir: number;
  /** Steps taken so far in this episode. */
  readonly t: number;
}

/**
 * MemoryFourRooms' observation: 150 integer codes, the egocentric 7×7 window as [type, state=0,
 * colour] per cell (row-major, agent at row 6 column 3 facing up; Hidden = [1, 0, 0]) followed by
 * the carried item [0, 0, 0].
 */
export type MemoryFourRoomsObs = readonly number[];

/**
 * The visibility mask of a 7×7 egocentric window of object types (true = visible): two flood fills
 * from the agent's cell (6, 3), one expanding up / left / up-left and one up / right / up-right;
 * reached cells are visible and the fill continues only through cells that are not Wall or Hidden.
 */
export function mfrVisibility(types: readonly number[]): boolean[] {
  const visible = new Array<boolean>(S * S).fill(false);
  const blocks = (i: number, j: number) => {
    const ty = types[i * S + j];
    return ty === GV_OBJECT.Wall || ty === GV_OBJECT.Hidden;
  };
  for (const side of [-1, 1]) {
    const seen = new Array<boolean>(S * S).fill(false);
    const stack: [number, number][] = [[S - 1, 3]];
    seen[(S - 1) * S + 3] = true;
    while (stack.length > 0) {
      const [i, j] = stack.pop()!;
      visible[i * S + j] = true;
      if (blocks(i, j)) continue;
      for (const [ni, nj] of [[i - 1, j], [i, j + side], [i - 1, j + side]]) {
        if (ni < 0 || ni >= S || nj < 0 || nj >= S || seen[ni * S + nj]) continue;
        seen[ni * S + nj] = true;
        stack.push([ni, nj]);
      }
    }
  }
  return visible;
}

/** The world position (y, x) shown at egocentric cell (i, j) for an agent at (y, x) facing `dir`. */
export function mfrViewToWorld(
  y: number,
  x: number,
  dir: number,
  i: number,
  j: number,
): [number, number] {
  const [fy, fx] = DELTA[dir];
  const [ry, rx] = DELTA[RIGHT_OF[dir]];
  const k = S - 1 - i, l = j - 3;
  return [y + k * fy + l * ry, x + k * fx + l * rx];
}

/** The observation of a MemoryFourRooms state (see {@link MemoryFourRoomsObs}). */
export function mfrObservation(s: MemoryFourRoomsState): number[] {
  const types = new Array<number>(S * S);
  const colors = new Array<number>(S * S);
  for (let i = 0; i < S; i++) {
    for (let j = 0; j < S; j++) {
      const [wy, wx] = mfrViewToWorld(s.y, s.x, s.dir, i, j);
      const inside = wy >= 0 && wy < S && wx >= 0 && wx < S;
      types[i * S + j] = inside ? s.grid[wy * S + wx] : GV_OBJECT.Hidden;
      colors[i * S + j] = inside ? s.colors[wy * S + wx] : GV_COLOR.NONE;
    }
  }
  const visible = mfrVisibility(types);
  const out = new Array<number>(S * S * 3 + 3).fill(0);
  for (let c = 0; c < S * S; c++) {
    out[c * 3] = visible[c] ? types[c] : GV_OBJECT.Hidden;
    out[c * 3 + 2] = visible[c] ? colors[c] : GV_COLOR.NONE;
  }
  return out;
}

/** The fixed part of the layout: walls on rows and columns 0, 3, 6, floor elsewhere. */
function isFrameWall(y: number, x: number): boolean {
  return y % 3 === 0 || x % 3 === 0;
}

/** Options of {@link makeMemoryFourRooms}. */
export type MemoryFourRoomsOptions = EnvOptions;

/**
 * Create GV-MemoryFourRooms-7x7 (id `memory-four-rooms-7x7`, 6 actions, default time limit 1000).
 *
 * Encodings: observation = one categorical part (150 codes, vocab 11); state = grid codes
 * (categorical 147, vocab 11) + agent position one-hot (49) + agent vector
 * [(2y-6)/6, (2x-6)/6, one-hot N,S,W,E] (vector 6 in [-1, 1]) + carried item codes (categorical 3,
 * vocab 11): 205 entries.
 */
export function makeMemoryFourRooms(
  options?: MemoryFourRoomsOptions,
): Env<MemoryFourRoomsState, MemoryFourRoomsObs> {
  const id = "memory-four-rooms-7x7";
  const timeLimit = resolveTimeLimit(id, options, 1000);
  const env: Env<MemoryFourRoomsState, MemoryFourRoomsObs> = {
    id,
    numActions: 6,
    actionNames: MFR_ACTION_NAMES,
    timeLimit,
    obsSpec: featureSpec([{ kind: "categorical", count: S * S * 3 + 3, vocab: MFR_VOCAB }]),
    stateSpec: featureSpec([
      { kind: "categorical", count: S * S * 3, vocab: MFR_VOCAB },
      { kind: "onehot", size: S * S },
      { kind: "vector", size: 6, low: -1, high: 1 },
      { kind: "categorical", count: 3, vocab: MFR_VOCAB },
    ]),
    reset(rng: Rng) {
      const grid = new Array<number>(S * S);
      const colors = new Array<number>(S * S).fill(GV_COLOR.NONE);
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          grid[y * S + x] = isFrameWall(y, x) ? GV_OBJECT.Wall : GV_OBJECT.Floor;
        }
      }
      // Doorways: row 3 at x ∈ {1,2} and x ∈ {4,5}; column 3 at y ∈ {1,2} and y ∈ {4,5}.
      const xa = 1 + randInt(rng, 2), xb = 4 + randInt(rng, 2);
      const ya = 1 + randInt(rng, 2), yb = 4 + randInt(rng, 2);
      grid[3 * S + xa] = grid[3 * S + xb] = GV_OBJECT.Floor;
      grid[ya * S + 3] = grid[yb * S + 3] = GV_OBJECT.Floor;
      // Four distinct floor cells (row-major list): agent, beacon, good exit, bad exit.
      const free: number[] = [];
      for (let c = 0; c < S * S; c++) if (grid[c] === GV_OBJECT.Floor) free.push(c);
      const picks: number[] = [];
      for (let k = 0; k < 4; k++) picks.push(free.splice(randInt(rng, free.length), 1)[0]);
      const [agent, beacon, good, bad] = picks;
      const dir = randInt(rng, 4);
      const palette: number[] = [GV_COLOR.RED, GV_COLOR.GREEN, GV_COLOR.BLUE, GV_COLOR.YELLOW];
      const first = palette.splice(randInt(rng, palette.length), 1)[0];
      const second = palette.splice(randInt(rng, palette.length), 1)[0];
      grid[beacon] = GV_OBJECT.Beacon;
      colors[beacon] = first;
      grid[good] = GV_OBJECT.Exit;
      colors[good] = first;
      grid[bad] = GV_OBJECT.Exit;
      colors[bad] = second;
      const state: MemoryFourRoomsState = {
        grid: Object.freeze(grid),
        colors: Object.freeze(colors),
        y: Math.floor(agent / S),
        x: agent % S,
        dir,
        t: 0,
      };
      return { state, obs: mfrObservation(state) };
    },
    step(state: MemoryFourRoomsState, action: number, _rng: Rng) {
      checkAction(env, action);
      let { y, x, dir } = state;
      if (action === 4) dir = LEFT_OF[dir];
      else if (action === 5) dir = RIGHT_OF[dir];
      else {
        const heading = [dir, BEHIND[dir], LEFT_OF[dir], RIGHT_OF[dir]][action];
        const ny = y + DELTA[heading][0], nx = x + DELTA[heading][1];
        if (ny >= 0 && ny < S && nx >= 0 && nx < S && state.grid[ny * S + nx] !== GV_OBJECT.Wall) {
          y = ny, x = nx;
        }
      }
      const t = state.t + 1;
      const next: MemoryFourRoomsState = { grid: state.grid, colors: state.colors, y, x, dir, t };
      const cell = y * S + x;
      const terminated = state.grid[cell] === GV_OBJECT.Exit;
      let reward = -0.05;
      if (terminated) {
        const beacon = state.grid.indexOf(GV_OBJECT.Beacon);
        reward += state.colors[cell] === state.colors[beacon] ? 5 : -5;
      }
      return {
        state: next,
        obs: mfrObservation(next),
        reward,
        terminated,
        truncated: !terminated && t >= timeLimit,
      };
    },
    encodeObs: (o: MemoryFourRoomsObs) => Float32Array.from(o),
    encodeState(s: MemoryFourRoomsState) {
      const out = new Float32Array(205);
      for (let c = 0; c < S * S; c++) {
        out[c * 3] = s.grid[c];
        out[c * 3 + 2] = s.colors[c];
      }
      let o = S * S * 3;
      out[o + s.y * S + s.x] = 1;
      o += S * S;
      out[o] = (2 * s.y - (S - 1)) / (S - 1);
      out[o + 1] = (2 * s.x - (S - 1)) / (S - 1);
      out[o + 2 + s.dir] = 1;
      // the carried item (always none) stays [0, 0, 0]
      return out;
    },
    renderObs(o: MemoryFourRoomsObs) {
      const rows: string[] = [];
      for (let i = 0; i < S; i++) {
        let row = "";
        for (let j = 0; j < S; j++) {
          const c = (i * S + j) * 3;
          row += i === S - 1 && j === 3 ? "^" : cellChar(o[c], o[c + 2]);
        }
        rows.push(row);
      }
      rows.push("(egocentric, facing up; ? hidden, # wall, . floor, r/g/b/y beacon, R/G/B/Y exit)");
      return rows.join("\n");
    },
    renderState(s: MemoryFourRoomsState) {
      const rows: string[] = [];
      for (let y = 0; y < S; y++) {
        let row = "";
        for (let x = 0; x < S; x++) {
          row += y === s.y && x === s.x
            ? "^v<>"[s.dir]
            : cellChar(s.grid[y * S + x], s.colors[y * S + x]);
        }
        rows.push(row);
      }
      const beacon = s.grid.indexOf(GV_OBJECT.Beacon);
      rows.push(
        `agent (${s.y},${s.x}) facing ${GV_ORIENTATION_NAMES[s.dir]}, beacon ` +
          `${COLOR_NAMES[s.colors[beacon]]}, t=${s.t}`,
      );
      return rows.join("\n");
    },
  };
  return env;
}

const COLOR_NAMES = ["none", "red", "green", "blue", "yellow"];

/** One character per cell: `?` hidden, `#` wall, `.` floor, beacon lower-case, exit upper-case. */
function cellChar(type: number, color: number): string {
  switch (type) {
    case GV_OBJECT.Hidden:
      return "?";
    case GV_OBJECT.Wall:
      return "#";
    case GV_OBJECT.Floor:
      return ".";
    case GV_OBJECT.Beacon:
      return " rgby"[color] ?? "*";
    case GV_OBJECT.Exit:
      return " RGBY"[color] ?? "E";
    default:
      return "*";
  }
}
