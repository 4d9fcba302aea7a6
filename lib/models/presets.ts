/**
 * Per-environment network presets (algorithms.md §3) and their validated overrides.
 *
 * @module
 */

/** The hyper-parameters of a recurrent Q/U network. All widths are non-negative integers. */
export interface ModelConfig {
  /** Width of the previous-action embedding φ_A; 0 feeds the one-hot action itself. */
  actionEmbedding: number;
  /** Width of the embedding of each one-hot observation part; 0 passes it through. */
  obsEmbedding: number;
  /** Width of the shared embedding table of the categorical observation parts. */
  obsCategoricalEmbedding: number;
  /** Width of the embedding of each one-hot state part; 0 passes it through. */
  stateEmbedding: number;
  /** Width of the shared embedding table of the categorical state parts. */
  stateCategoricalEmbedding: number;
  /** GRU hidden size (at least 1). */
  gruHidden: number;
  /** Hidden widths of the Q and U heads, e.g. [512, 256]: Linear(in,512)-ReLU-Linear(512,256)-ReLU-Linear(256,|A|). */
  headHidden: readonly number[];
}

/** The default (Heaven-Hell / tabular) preset: embeddings 64, GRU 128, heads 512-256. */
export const DEFAULT_MODEL_CONFIG: Readonly<ModelConfig> = Object.freeze({
  actionEmbedding: 64,
  obsEmbedding: 64,
  obsCategoricalEmbedding: 8,
  stateEmbedding: 64,
  stateCategoricalEmbedding: 8,
  gruHidden: 128,
  headHidden: Object.freeze([512, 256]),
});

const IDENTITY_PRESET: Readonly<ModelConfig> = Object.freeze({
  ...DEFAULT_MODEL_CONFIG,
  actionEmbedding: 0,
  obsEmbedding: 0,
  stateEmbedding: 0,
});

const MEMORY_FOUR_ROOMS_PRESET: Readonly<ModelConfig> = Object.freeze({
  actionEmbedding: 1,
  obsEmbedding: 0,
  obsCategoricalEmbedding: 8,
  stateEmbedding: 0,
  stateCategoricalEmbedding: 1,
  gruHidden: 64,
  headHidden: Object.freeze([512]),
});

/**
 * The preset of an environment id (algorithms.md §3):
 * - `heaven-hell-*`, `pomdp:*` and any other id: embeddings 64 (action, one-hot observation and
 *   state parts), GRU 128, heads 512-256;
 * - `car-flag`, `cleaner`: one-hot action, identity observation and state, GRU 128, heads 512-256;
 * - `memory-four-rooms-*`: action embedding 1, observation codes through one shared table of width
 *   8, state codes through width 1 (other state parts as they are), GRU 64, heads 512.
 *
 * @example
 * ```ts
 * import { modelPreset } from "./presets.ts";
 * console.log(modelPreset("memory-four-rooms-7x7").gruHidden); // 64
 * ```
 */
export function modelPreset(envId: string): ModelConfig {
  let p: Readonly<ModelConfig> = DEFAULT_MODEL_CONFIG;
  if (envId === "car-flag" || envId === "cleaner") p = IDENTITY_PRESET;
  else if (envId.startsWith("memory-four-rooms")) p = MEMORY_FOUR_ROOMS_PRESET;
  return { ...p, headHidden: [...p.headHidden] };
}

const KEYS = Object.keys(DEFAULT_MODEL_CONFIG) as (keyof ModelConfig)[];

/**
 * The preset of `envId` with `overrides` applied and checked. Unknown keys and invalid values throw
 * an error naming them and what is valid.
 *
 * @example
 * ```ts
 * import { resolveModelConfig } from "./presets.ts";
 * const c = resolveModelConfig("heaven-hell-3", { gruHidden: 16, headHidden: [32] });
 * console.log(c.gruHidden, c.actionEmbedding); // 16 64
 * ```
 */
export function resolveModelConfig(
  envId: string,
  overrides: Partial<ModelConfig> | Record<string, unknown> = {},
): ModelConfig {
  const out = modelPreset(envId);
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(KEYS as string[]).includes(key)) {
      throw new Error(`unknown model setting "${key}"; expected one of ${KEYS.join(", ")}`);
    }
    if (key === "headHidden") {
      if (!Array.isArray(value) || !value.every((w) => Number.isInteger(w) && w >= 1)) {
        throw new Error(
          `model setting headHidden must be an array of positive integers, got ${
            JSON.stringify(value)
          }`,
        );
      }
      out.headHidden = [...value as number[]];
      continue;
    }
    const min = key === "gruHidden" ? 1 : 0;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
      throw new Error(
        `model setting ${key} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`,
      );
    }
    (out as unknown as Record<string, number>)[key] = value;
  }
  return out;
}
