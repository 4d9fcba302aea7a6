/**
 * The exploration schedule of the reference (algorithms.md §4): ε = 1 during prepopulation, then a
 * linear fall from `epsilonStart` to `epsilonEnd` over `epsilonDecaySteps` steps counted after
 * prepopulation, then constant.
 *
 * @module
 */

/**
 * A linear schedule: `start` at t ≤ 0, `end` at t ≥ `steps`, linear in between
 * (`steps` = 0 jumps straight to `end` at t = 0).
 *
 * @example
 * ```ts
 * import { linearSchedule } from "./schedule.ts";
 * const f = linearSchedule(1, 0.1, 1000);
 * console.log(f(-5), f(500), f(2000)); // 1 0.55 0.1
 * ```
 */
export function linearSchedule(start: number, end: number, steps: number): (t: number) => number {
  if (!Number.isFinite(start) || !Number.isFinite(end)) {
    throw new Error(`linearSchedule: start ${start} and end ${end} must be finite numbers`);
  }
  if (!(steps >= 0) || !Number.isFinite(steps)) {
    throw new Error(`linearSchedule: invalid steps ${steps}; expected a non-negative number`);
  }
  return (t: number) => {
    if (t >= steps) return end;
    if (t <= 0) return start;
    return start + (end - start) * (t / steps);
  };
}

/** The fields of a training config that define ε. */
export interface EpsilonConfig {
  /** Steps collected with ε = 1; the schedule's origin. */
  prepopulateSteps: number;
  /** ε at the end of prepopulation. */
  epsilonStart: number;
  /** ε after the decay. */
  epsilonEnd: number;
  /** Decay length in steps after prepopulation. */
  epsilonDecaySteps: number;
}

/**
 * ε for the episode that starts after `envSteps` environment steps: 1 while
 * `envSteps < prepopulateSteps`, else `linear(envSteps - prepopulateSteps)`.
 *
 * @example
 * ```ts
 * import { epsilonSchedule } from "./schedule.ts";
 * const eps = epsilonSchedule({
 *   prepopulateSteps: 100, epsilonStart: 0.5, epsilonEnd: 0.1, epsilonDecaySteps: 200,
 * });
 * console.log(eps(50), eps(100), eps(200), eps(400)); // 1 0.5 0.3 0.1
 * ```
 */
export function epsilonSchedule(config: EpsilonConfig): (envSteps: number) => number {
  const lin = linearSchedule(config.epsilonStart, config.epsilonEnd, config.epsilonDecaySteps);
  return (envSteps: number) =>
    envSteps < config.prepopulateSteps ? 1 : lin(envSteps - config.prepopulateSteps);
}
