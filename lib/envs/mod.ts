/**
 * The benchmark environments of the paper and their registry.
 *
 * @example Make an environment by id and run a random episode
 * ```ts
 * import { makeEnv, randomPolicy, rollout } from "./mod.ts";
 * import { makeRng } from "../rng.ts";
 * const env = makeEnv("heaven-hell-3", { timeLimit: 100 });
 * const ep = rollout(env, randomPolicy(env, makeRng("policy")), makeRng(0));
 * console.log(env.id, ep.length, ep.return);
 * ```
 * @module
 */
import { parsePOMDP } from "../pomdp/parser.ts";
import { makeCarFlag } from "./car_flag.ts";
import { makeCleaner } from "./cleaner.ts";
import { makeHeavenHell } from "./heaven_hell.ts";
import { makeMemoryFourRooms } from "./memory_four_rooms.ts";
import { makePomdpEnv } from "./pomdp_env.ts";
import type { Env, EnvOptions } from "./types.ts";

export * from "./types.ts";
export * from "./car_flag.ts";
export * from "./cleaner.ts";
export * from "./memory_four_rooms.ts";
export * from "./rollout.ts";
export * from "./heaven_hell.ts";
export * from "./pomdp_env.ts";

/** The ids of the five benchmark environments of the paper. */
export const ENV_IDS = [
  "heaven-hell-3",
  "heaven-hell-4",
  "car-flag",
  "cleaner",
  "memory-four-rooms-7x7",
] as const;

/** One of {@link ENV_IDS}. */
export type EnvId = typeof ENV_IDS[number];

/** Prefix of the ids that load a Cassandra `.pomdp` file: `pomdp:<path>`. */
export const POMDP_PREFIX = "pomdp:";

/**
 * Make an environment by id: one of {@link ENV_IDS}, or `pomdp:<path>` to load a Cassandra
 * `.pomdp` file as a tabular environment (its id is the given string).
 *
 * @example
 * ```ts
 * import { makeEnv } from "./mod.ts";
 * const env = makeEnv("car-flag", { timeLimit: 200 });
 * console.log(env.numActions, env.obsSpec.size); // 7 3
 * ```
 */
export function makeEnv(id: string, options?: EnvOptions): Env {
  switch (id) {
    case "heaven-hell-3":
      return makeHeavenHell(3, options);
    case "heaven-hell-4":
      return makeHeavenHell(4, options);
    case "car-flag":
      return makeCarFlag(options);
    case "cleaner":
      return makeCleaner(options);
    case "memory-four-rooms-7x7":
      return makeMemoryFourRooms(options);
  }
  if (id.startsWith(POMDP_PREFIX)) {
    const path = id.slice(POMDP_PREFIX.length);
    if (path === "") {
      throw new Error(`invalid environment "${id}"; expected pomdp:<path to a .pomdp file>`);
    }
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (e) {
      throw new Error(
        `environment "${id}": cannot read ${path}: ${e instanceof Error ? e.message : e}`,
      );
    }
    return makePomdpEnv(parsePOMDP(text, { source: path }), { ...options, id });
  }
  throw new Error(
    `unknown environment "${id}"; expected one of ${ENV_IDS.join(", ")} or ${POMDP_PREFIX}<path>`,
  );
}

// The random streams that `reset` and `step` take, and the types the signatures mention.
export { makeRng, type Rng, type RngState, type Seed } from "../rng.ts";
export type { TabularPOMDP } from "../pomdp/model.ts";
