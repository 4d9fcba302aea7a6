/**
 * Car-Flag: the discrete-action version used by the reference code of the paper.
 *
 * A car on a 1-D track in [-1.1, 1.1] must reach the flag on heaven's side (x ≥ 1 or x ≤ -1);
 * the other flag is hell. Position and velocity are observed, but the side of heaven is shown only
 * while the car is inside the priest zone 0.5 ± 0.2 (inclusive). Rewards: +1 at heaven's flag, -1 at
 * hell's, 0 otherwise; the episode ends at either flag.
 *
 * @example A bang-bang policy: full right until the priest shows the side, then full toward heaven
 * ```ts
 * import { makeCarFlag } from "./car_flag.ts";
 * import { makeRng } from "../rng.ts";
 * const env = makeCarFlag();
 * const rng = makeRng(1);
 * let { state, obs } = env.reset(rng);
 * let dir = 0, ret = 0, done = false;
 * while (!done) {
 *   if (obs.direction !== 0) dir = obs.direction;
 *   const r = env.step(state, dir < 0 ? 0 : 6, rng);
 *   ({ state, obs } = r);
 *   ret += r.reward;
 *   done = r.terminated || r.truncated;
 * }
 * if (ret !== 1) throw new Error("the bang-bang policy always reaches heaven");
 * ```
 * @module
 */
import type { Rng } from "../rng.ts";
import { checkAction, type Env, type EnvOptions, featureSpec, resolveTimeLimit } from "./types.ts";

/** Car-Flag's latent state. */
export interface CarFlagState {
  /** Position in [-1.1, 1.1]. */
  readonly x: number;
  /** Velocity in [-0.07, 0.07]. */
  readonly v: number;
  /** Heaven's side: +1 (right flag, x ≥ 1) or -1 (left flag, x ≤ -1). */
  readonly heaven: 1 | -1;
  /** Steps taken so far in this episode. */
  readonly t: number;
}

/** Car-Flag's observation. */
export interface CarFlagObs {
  /** Position in [-1.1, 1.1]. */
  readonly x: number;
  /** Velocity in [-0.07, 0.07]. */
  readonly v: number;
  /** Heaven's side (±1) while the car is inside the priest zone [0.3, 0.7], else 0. */
  readonly direction: -1 | 0 | 1;
}

/** Car-Flag's physical constants (from the reference implementation). */
export const CAR_FLAG = {
  /** Lowest position (positions are clipped to [minPosition, maxPosition]). */
  minPosition: -1.1,
  /** Highest position. */
  maxPosition: 1.1,
  /** Speed limit: velocities are clipped to [-maxSpeed, maxSpeed]. */
  maxSpeed: 0.07,
  /** Acceleration per unit of force. */
  power: 0.0015,
  /** The flags: the episode ends when |x| ≥ goal. */
  goal: 1.0,
  /** Lower edge of the priest zone (inclusive). */
  priestLow: 0.3,
  /** Upper edge of the priest zone (inclusive). */
  priestHigh: 0.7,
  /** Start positions are uniform in [-startRange, startRange]. */
  startRange: 0.2,
} as const;

/** numpy's `linspace(start, stop, num)`: i·step + start, with the last value exactly `stop`. */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  out[num - 1] = stop;
  return out;
}

/** The 7 forces of the discrete actions: linspace(-1, 1, 7). */
export const CAR_FLAG_FORCES: readonly number[] = Object.freeze(linspace(-1, 1, 7));

/** Names of the 7 actions (forces -1, -2/3, -1/3, 0, 1/3, 2/3, 1). */
export const CAR_FLAG_ACTION_NAMES: readonly string[] = Object.freeze([
  "full-left",
  "left",
  "slight-left",
  "coast",
  "slight-right",
  "right",
  "full-right",
]);

const clip = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * Create the Car-Flag environment (id `car-flag`, 7 actions, default time limit 1000).
 *
 * Encodings: observation [x, v, direction] and state [x, v, heaven], each as three 1-wide
 * `vector` parts with bounds [-1.1, 1.1], [-0.07, 0.07] and [-1, 1].
 */
export function makeCarFlag(options?: EnvOptions): Env<CarFlagState, CarFlagObs> {
  const id = "car-flag";
  const timeLimit = resolveTimeLimit(id, options, 1000);
  const { minPosition, maxPosition, maxSpeed, power, goal, priestLow, priestHigh, startRange } =
    CAR_FLAG;
  const parts = [
    { kind: "vector" as const, size: 1, low: minPosition, high: maxPosition },
    { kind: "vector" as const, size: 1, low: -maxSpeed, high: maxSpeed },
    { kind: "vector" as const, size: 1, low: -1, high: 1 },
  ];
  const env: Env<CarFlagState, CarFlagObs> = {
    id,
    numActions: 7,
    actionNames: CAR_FLAG_ACTION_NAMES,
    timeLimit,
    obsSpec: featureSpec(parts),
    stateSpec: featureSpec(parts.map((p) => ({ ...p }))),
    reset(rng: Rng) {
      const heaven = rng() < 0.5 ? 1 : -1;
      const x = -startRange + 2 * startRange * rng();
      return { state: { x, v: 0, heaven, t: 0 }, obs: { x, v: 0, direction: 0 } };
    },
    step(state: CarFlagState, action: number, _rng: Rng) {
      checkAction(env, action);
      let v = clip(state.v + power * CAR_FLAG_FORCES[action], -maxSpeed, maxSpeed);
      const x = clip(state.x + v, minPosition, maxPosition);
      if (x === minPosition && v < 0) v = 0;
      const atRight = x >= goal, atLeft = x <= -goal;
      const terminated = atRight || atLeft;
      let reward = 0;
      if (terminated) reward = (atRight ? 1 : -1) === state.heaven ? 1 : -1;
      const direction = x >= priestLow && x <= priestHigh ? state.heaven : 0;
      const t = state.t + 1;
      return {
        state: { x, v, heaven: state.heaven, t },
        obs: { x, v, direction },
        reward,
        terminated,
        truncated: !terminated && t >= timeLimit,
      };
    },
    encodeObs: (o: CarFlagObs) => Float32Array.of(o.x, o.v, o.direction),
    encodeState: (s: CarFlagState) => Float32Array.of(s.x, s.v, s.heaven),
    renderObs: (o: CarFlagObs) =>
      `${track(o.x, 0)}\nx=${o.x.toFixed(3)} v=${o.v.toFixed(4)} direction=${o.direction}` +
      (o.direction === 0 ? "" : ` (heaven is ${o.direction > 0 ? "right" : "left"})`),
    renderState: (s: CarFlagState) =>
      `${track(s.x, s.heaven)}\nx=${s.x.toFixed(3)} v=${s.v.toFixed(4)} heaven=${s.heaven} ` +
      `(${s.heaven > 0 ? "right" : "left"}) t=${s.t}`,
  };
  return env;
}

/**
 * A 1-D picture of the track from -1.1 to 1.1: `|` flags at ±1 (`H` heaven and `X` hell when
 * `heaven` is ±1), `[` `]` and `p` for the priest zone, `C` the car.
 */
function track(x: number, heaven: number): string {
  const width = 45; // 0.05 per character
  const col = (p: number) => Math.round(((p + 1.1) / 2.2) * (width - 1));
  const cells = Array.from({ length: width }, () => "-");
  for (let c = col(0.3); c <= col(0.7); c++) cells[c] = "p";
  cells[col(0.3)] = "[";
  cells[col(0.7)] = "]";
  cells[col(-1)] = heaven === 0 ? "|" : heaven < 0 ? "H" : "X";
  cells[col(1)] = heaven === 0 ? "|" : heaven > 0 ? "H" : "X";
  cells[col(clip(x, -1.1, 1.1))] = "C";
  return cells.join("");
}
