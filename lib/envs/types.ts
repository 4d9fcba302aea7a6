/**
 * The environment contract shared by every benchmark task.
 *
 * Environments are pure functions of (state, action, rng) in the style of gymnax: `reset` and
 * `step` never mutate their inputs and draw randomness only from the stream they are given. Every
 * environment exposes both the agent's observation and the privileged latent state (what only the
 * asymmetric critic U may read during training), and keeps `terminated` (a true end of the task)
 * apart from `truncated` (the time limit cut the episode).
 *
 * @module
 */
import type { Rng } from "../rng.ts";

/** One block of an encoded feature vector, telling models how to read it. */
export type FeaturePart =
  /** A one-hot block of `size` entries; an all-zero block is allowed (e.g. Heaven-Hell's reset observation). */
  | { kind: "onehot"; size: number }
  /**
   * Real values, each within [low, high]; `integer: true` promises whole numbers only (e.g. 0/1
   * flags), which lets replay buffers store them in 8 bits.
   */
  | { kind: "vector"; size: number; low: number; high: number; integer?: boolean }
  /** `count` integer codes in [0, vocab), each meant to be embedded through one shared table. */
  | { kind: "categorical"; count: number; vocab: number };

/** The layout of an encoded feature vector: its parts, concatenated in order. */
export interface FeatureSpec {
  /** Total length of the encoded Float32Array (sum of the parts' widths). */
  size: number;
  /** The blocks, in order. */
  parts: FeaturePart[];
}

/** What `reset` returns: the first latent state and the first observation. */
export interface ResetResult<S, O> {
  /** The latent (privileged) state. */
  state: S;
  /** The agent's observation. */
  obs: O;
}

/** What `step` returns. */
export interface StepResult<S, O> {
  /** The next latent state (a new object: the input state is never mutated). */
  state: S;
  /** The next observation. */
  obs: O;
  /** The reward of this transition (undiscounted). */
  reward: number;
  /** The task itself ended (an absorbing outcome was reached). */
  terminated: boolean;
  /** The episode was cut by the time limit without the task ending. */
  truncated: boolean;
}

/** A partially observable environment with a privileged state. */
export interface Env<S = unknown, O = unknown> {
  /** Registry id, e.g. `"heaven-hell-3"`. */
  readonly id: string;
  /** Number of discrete actions; actions are integers 0..numActions-1. */
  readonly numActions: number;
  /** A short human name per action, e.g. `["N", "S", "E", "W"]`. */
  readonly actionNames: readonly string[];
  /** Episodes are truncated after this many steps (unless they terminate first). */
  readonly timeLimit: number;
  /** Layout of {@link Env.encodeObs}'s output. */
  readonly obsSpec: FeatureSpec;
  /** Layout of {@link Env.encodeState}'s output. */
  readonly stateSpec: FeatureSpec;
  /** Start an episode. */
  reset(rng: Rng): ResetResult<S, O>;
  /** Take `action` in `state`; never mutates `state`. Throws on an invalid action. */
  step(state: S, action: number, rng: Rng): StepResult<S, O>;
  /** Encode an observation as model input features (length `obsSpec.size`). */
  encodeObs(obs: O): Float32Array;
  /** Encode a latent state as model input features (length `stateSpec.size`). */
  encodeState(state: S): Float32Array;
  /** A human-readable text picture of an observation (for `deno task play`). */
  renderObs(obs: O): string;
  /** A human-readable text picture of the latent state. */
  renderState(state: S): string;
}

/** Options accepted by every environment constructor. */
export interface EnvOptions {
  /** Override the default time limit (steps). Must be a positive integer. */
  timeLimit?: number;
}

/** Throw a clear error unless `action` is an integer in [0, numActions). */
export function checkAction(env: { id: string; numActions: number }, action: number): void {
  if (!Number.isInteger(action) || action < 0 || action >= env.numActions) {
    throw new Error(
      `${env.id}: invalid action ${action}; expected an integer in 0..${env.numActions - 1}`,
    );
  }
}

/** Resolve and validate the time limit option. */
export function resolveTimeLimit(
  id: string,
  options: EnvOptions | undefined,
  fallback: number,
): number {
  const t = options?.timeLimit ?? fallback;
  if (!Number.isInteger(t) || t <= 0) {
    throw new Error(`${id}: invalid timeLimit ${t}; expected a positive integer`);
  }
  return t;
}

/** Build a {@link FeatureSpec} from its parts, computing the total size. */
/**
 * Whether every value of an encoding is an integer in -128..127 by its declaration (one-hot
 * blocks, categorical codes below 128, vectors declared `integer` within that range): what a replay
 * buffer can keep in 8 bits (lib/train/buffer.ts).
 *
 * @example
 * ```ts
 * import { featureSpec, isByteSpec } from "./types.ts";
 * console.log(isByteSpec(featureSpec([{ kind: "onehot", size: 4 }]))); // true
 * console.log(isByteSpec(featureSpec([{ kind: "vector", size: 2, low: -1, high: 1 }]))); // false
 * ```
 */
export function isByteSpec(spec: FeatureSpec): boolean {
  return spec.parts.every((p) =>
    p.kind === "onehot" ||
    (p.kind === "categorical" && p.vocab <= 128) ||
    (p.kind === "vector" && p.integer === true && p.low >= -128 && p.high <= 127)
  );
}

/** A {@link FeatureSpec} from its parts (the size is their total width). */
export function featureSpec(parts: FeaturePart[]): FeatureSpec {
  let size = 0;
  for (const p of parts) size += p.kind === "categorical" ? p.count : p.size;
  return { size, parts };
}
