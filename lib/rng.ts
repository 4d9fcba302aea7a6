/**
 * Seeded random streams. Every random draw in this library comes from an explicit {@link Rng}.
 *
 * Streams use the Alea generator of `npm:seedrandom`; their full state can be saved and restored,
 * so a checkpointed run continues with exactly the numbers it would have drawn.
 *
 * @example Two streams derived from one seed are independent and reproducible
 * ```ts
 * import { childSeed, makeRng } from "./rng.ts";
 * const envRng = makeRng(childSeed(7, "env"));
 * const netRng = makeRng(childSeed(7, "net"));
 * console.log(envRng(), netRng());
 * ```
 * @module
 */
import seedrandom from "seedrandom";

/** The saved state of an {@link Rng}: plain JSON. */
export interface RngState {
  /** Alea's internal registers. */
  c: number;
  /** Alea register 0. */
  s0: number;
  /** Alea register 1. */
  s1: number;
  /** Alea register 2. */
  s2: number;
}

/** A seeded stream of uniform numbers in [0, 1) whose state can be saved. */
export interface Rng {
  /** Next uniform draw in [0, 1). */
  (): number;
  /** A copy of the current state (JSON-serialisable). */
  state(): RngState;
}

/** A seed: a number or a string. Numbers and their decimal strings give the same stream. */
export type Seed = number | string;

/**
 * Make a random stream from a seed, or restore one from a saved state.
 *
 * @example
 * ```ts
 * import { makeRng } from "./rng.ts";
 * const a = makeRng(1), b = makeRng(1);
 * if (a() !== b()) throw new Error("same seed must give same numbers");
 * const saved = a.state();
 * const x = a();
 * if (makeRng(1, saved)() !== x) throw new Error("restored state must continue the stream");
 * ```
 */
export function makeRng(seed: Seed, state?: RngState): Rng {
  if (typeof seed === "number" && !Number.isFinite(seed)) {
    throw new Error(`invalid seed ${seed}; expected a finite number or a string`);
  }
  const prng = seedrandom.alea(String(seed), { state: state ? { ...state } : true });
  const rng = (() => prng()) as Rng;
  rng.state = () => ({ ...prng.state() }) as RngState;
  return rng;
}

/**
 * Derive the seed of an independent child stream from a parent seed and labels.
 * The same (seed, labels) always gives the same child; different labels give unrelated streams.
 *
 * @example
 * ```ts
 * import { childSeed } from "./rng.ts";
 * console.log(childSeed(3, "env", 0)); // "3/env/0"
 * ```
 */
export function childSeed(seed: Seed, ...labels: (string | number)[]): string {
  return [String(seed), ...labels.map(String)].join("/");
}

/** A uniform integer in [0, n). */
export function randInt(rng: () => number, n: number): number {
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`randInt: n must be a positive integer, got ${n}`);
  }
  return Math.min(n - 1, Math.floor(rng() * n));
}

/** An index drawn from a discrete distribution `p` (non-negative, summing to about 1). */
export function sampleIndex(rng: () => number, p: ArrayLike<number>): number {
  let u = rng();
  let last = -1;
  for (let i = 0; i < p.length; i++) {
    if (p[i] <= 0) continue;
    last = i;
    u -= p[i];
    if (u < 0) return i;
  }
  if (last < 0) throw new Error("sampleIndex: distribution has no positive entry");
  return last; // rounding: the mass sums to slightly under 1
}

/** A standard normal draw (Box-Muller, two uniforms per call). */
export function normal(rng: () => number): number {
  const u1 = 1 - rng(); // in (0, 1]: avoids log(0)
  const u2 = rng();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
