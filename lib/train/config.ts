/**
 * The training configuration: one typed record whose every field has a one-line doc and a default
 * equal to the reference implementation's (algorithms.md §4), plus validation, a stable hash and a
 * `key=value` parser for command lines.
 *
 * @example Resolve a config, hash it, and override a field from a command-line setting
 * ```ts
 * import { configHash, parseSetting, resolveTrainConfig } from "./config.ts";
 * const [key, value] = parseSetting("totalSteps=1e5");
 * const config = resolveTrainConfig({ env: "heaven-hell-3", algo: "adqn", [key]: value });
 * console.log(config.totalSteps, configHash(config).length); // 100000 64
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { ENV_IDS } from "../envs/mod.ts";
import { DEFAULT_MODEL_CONFIG, type ModelConfig, resolveModelConfig } from "../models/presets.ts";
import type { Seed } from "../rng.ts";
import { type AlgoId, checkAlgoId } from "./agent.ts";

/** Model hyper-parameter overrides handed to the agent factory (checked by `resolveModelConfig`). */
export type ModelOverrides = Partial<ModelConfig>;

/** Everything that defines one training run (algorithms.md §4). */
export interface TrainConfig {
  /** Environment id: one of `ENV_IDS` (lib/envs/mod.ts) or `"pomdp:<path>"` for a `.pomdp` file. */
  env: string;
  /** Algorithm: one of `ALGO_IDS` (dqn, adqn, adqn-vr, adqn-state, adqn-state-vr). */
  algo: AlgoId;
  /** Root seed; every random stream of the run (env, agent, exploration, sampling) derives from it. */
  seed: Seed;
  /** Environment steps of the whole run, prepopulation included (the run ends after the episode that reaches it). */
  totalSteps: number;
  /** Episodes are truncated after this many steps. */
  timeLimit: number;
  /** Replay capacity in steps; the oldest whole episodes are evicted beyond it (the newest is always kept). */
  bufferCapacity: number;
  /** Steps collected with ε = 1 before any gradient step; also the origin of the ε schedule. */
  prepopulateSteps: number;
  /** Whole episodes sampled (uniformly, with replacement) per gradient step. */
  episodesPerBatch: number;
  /** Trained steps per environment step after prepopulation (0: never train). */
  replayRatio: number;
  /** Adam learning rate. */
  lr: number;
  /** Adam epsilon. */
  adamEps: number;
  /** ε at the end of prepopulation. */
  epsilonStart: number;
  /** ε after the decay. */
  epsilonEnd: number;
  /** Steps (counted after prepopulation) over which ε falls linearly from start to end. */
  epsilonDecaySteps: number;
  /** Hard-copy the online weights into the targets each time the step count crosses a multiple of this (and at the first epoch). */
  targetUpdateSteps: number;
  /** Training discount γ. */
  gamma: number;
  /** Emit a metric point each time the step count crosses a multiple of this (and once at the end). */
  logEvery: number;
  /** Number of most recent episodes averaged into `avgReturn`. */
  returnWindow: number;
  /** Bootstrap from the final observation of time-limit cuts (false = the paper's mask 0). */
  bootstrapOnTruncation: boolean;
  /** Model overrides (`Partial<ModelConfig>` of lib/models) passed to the agent factory. */
  model: ModelOverrides;
  /**
   * Greedy evaluation (the reference's `--evaluation`): at the first metric point at or past each
   * multiple of this many steps, play `evalEpisodes` greedy episodes (0 = off). Changes no training number.
   */
  evalEvery: number;
  /** Greedy episodes per evaluation (when `evalEvery` > 0). */
  evalEpisodes: number;
}

/** The reference defaults of every field except the required `env` and `algo`. */
export const DEFAULT_TRAIN_CONFIG: Readonly<Omit<TrainConfig, "env" | "algo">> = Object.freeze({
  seed: 0,
  totalSteps: 2_000_000,
  timeLimit: 1000,
  bufferCapacity: 1_000_000,
  prepopulateSteps: 50_000,
  episodesPerBatch: 1,
  replayRatio: 8,
  lr: 1e-4,
  adamEps: 1e-4,
  epsilonStart: 1,
  epsilonEnd: 0.1,
  epsilonDecaySteps: 1_000_000,
  targetUpdateSteps: 10_000,
  gamma: 0.99,
  logEvery: 10_000,
  returnWindow: 100,
  bootstrapOnTruncation: false,
  model: Object.freeze({}) as ModelOverrides,
  evalEvery: 0,
  evalEpisodes: 10,
});

/** One-line documentation of every {@link TrainConfig} field (for `--help` texts). */
export const TRAIN_CONFIG_DOCS: Readonly<Record<keyof TrainConfig, string>> = Object.freeze({
  env: 'environment id: one of ENV_IDS or "pomdp:<path>"',
  algo: "algorithm: dqn, adqn, adqn-vr, adqn-state or adqn-state-vr",
  seed: "root seed of every random stream of the run",
  totalSteps: "environment steps of the run, prepopulation included",
  timeLimit: "episodes are truncated after this many steps",
  bufferCapacity: "replay capacity in steps (oldest whole episodes evicted)",
  prepopulateSteps: "steps collected with ε = 1 before training",
  episodesPerBatch: "whole episodes per gradient step",
  replayRatio: "trained steps per environment step after prepopulation",
  lr: "Adam learning rate",
  adamEps: "Adam epsilon",
  epsilonStart: "ε at the end of prepopulation",
  epsilonEnd: "ε after the decay",
  epsilonDecaySteps: "steps after prepopulation over which ε decays linearly",
  targetUpdateSteps: "target networks are hard-copied every this many steps",
  gamma: "training discount",
  logEvery: "a metric point every this many environment steps",
  returnWindow: "episodes averaged into avgReturn",
  bootstrapOnTruncation: "bootstrap at time-limit cuts (false: the paper's mask 0)",
  model: "model overrides (model.<name>=value on command lines)",
  evalEvery: "greedy evaluation every this many environment steps (0: off)",
  evalEpisodes: "greedy episodes per evaluation",
});

/** The field names of {@link TrainConfig}, in documentation order. */
export const TRAIN_CONFIG_KEYS: readonly (keyof TrainConfig)[] = Object.freeze(
  Object.keys(TRAIN_CONFIG_DOCS) as (keyof TrainConfig)[],
);

const INTEGER_FIELDS = [
  "totalSteps",
  "timeLimit",
  "bufferCapacity",
  "prepopulateSteps",
  "episodesPerBatch",
  "epsilonDecaySteps",
  "targetUpdateSteps",
  "logEvery",
  "returnWindow",
  "evalEvery",
  "evalEpisodes",
] as const;

/** Integer fields that may be 0 (the others must be ≥ 1). */
const ZERO_ALLOWED = new Set<string>(["prepopulateSteps", "epsilonDecaySteps", "evalEvery"]);

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) {
    return String(v);
  }
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function fail(field: string, value: unknown, valid: string): never {
  throw new Error(`invalid ${field} ${show(value)}; expected ${valid}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Check an environment id: one of `ENV_IDS` or `"pomdp:<path>"` with a non-empty path. */
export function checkEnvId(id: unknown): string {
  if (typeof id !== "string") {
    fail("env", id, `a string: one of ${ENV_IDS.join(", ")} or "pomdp:<path>"`);
  }
  if ((ENV_IDS as readonly string[]).includes(id)) return id;
  if (id.startsWith("pomdp:")) {
    if (id.length > "pomdp:".length) return id;
    fail("env", id, '"pomdp:<path>" with a non-empty path to a .pomdp file');
  }
  throw new Error(
    `unknown environment ${show(id)}; expected one of ${ENV_IDS.join(", ")} or "pomdp:<path>"`,
  );
}

function checkModel(env: string, model: unknown): ModelOverrides {
  if (!isPlainObject(model)) fail("model", model, "an object of model overrides");
  resolveModelConfig(env, model); // throws on unknown keys and bad values
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(model)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? [...v] : v;
  }
  return out as ModelOverrides;
}

/**
 * Fill in defaults and validate every field of a training configuration. Throws an error naming the
 * field, the bad value and what is valid on unknown keys, wrong types, out-of-range values and
 * contradictions (e.g. `prepopulateSteps > totalSteps`). `undefined` values mean "use the default".
 *
 * @example
 * ```ts
 * import { resolveTrainConfig } from "./config.ts";
 * const c = resolveTrainConfig({ env: "heaven-hell-4", algo: "dqn", seed: 3, totalSteps: 1e5 });
 * console.log(c.replayRatio); // 8
 * ```
 */
export function resolveTrainConfig(
  partial: Partial<TrainConfig> & { env: string; algo: string },
): TrainConfig {
  if (!isPlainObject(partial)) fail("config", partial, "an object with at least env and algo");
  for (const k of Object.keys(partial)) {
    if (!(TRAIN_CONFIG_KEYS as readonly string[]).includes(k)) {
      throw new Error(
        `unknown config key ${show(k)}; expected one of ${TRAIN_CONFIG_KEYS.join(", ")}`,
      );
    }
  }
  const p = partial as Record<string, unknown>;
  const pick = (k: string): unknown =>
    p[k] === undefined ? (DEFAULT_TRAIN_CONFIG as unknown as Record<string, unknown>)[k] : p[k];

  if (p.env === undefined) fail("env", undefined, "an environment id (required)");
  if (p.algo === undefined) fail("algo", undefined, "an algorithm id (required)");
  const env = checkEnvId(p.env);
  if (typeof p.algo !== "string") fail("algo", p.algo, "a string algorithm id");
  const algo = checkAlgoId(p.algo);

  const seed = pick("seed");
  if (typeof seed === "number") {
    if (!Number.isSafeInteger(seed)) fail("seed", seed, "a safe integer or a non-empty string");
  } else if (typeof seed !== "string" || seed.length === 0) {
    fail("seed", seed, "a safe integer or a non-empty string");
  }

  const num = (k: string): number => {
    const v = pick(k);
    if (typeof v !== "number" || !Number.isFinite(v)) fail(k, v, "a finite number");
    return v;
  };
  const out: Record<string, unknown> = { env, algo, seed };
  for (const k of INTEGER_FIELDS) {
    const v = num(k);
    const min = ZERO_ALLOWED.has(k) ? 0 : 1;
    if (!Number.isSafeInteger(v) || v < min) {
      fail(k, v, min === 0 ? "a non-negative integer" : "a positive integer");
    }
    out[k] = v;
  }
  const positive = (k: string) => {
    const v = num(k);
    if (!(v > 0)) fail(k, v, "a positive number");
    out[k] = v;
  };
  positive("lr");
  positive("adamEps");
  const replayRatio = num("replayRatio");
  if (replayRatio < 0) fail("replayRatio", replayRatio, "a non-negative number");
  out.replayRatio = replayRatio;
  for (const k of ["epsilonStart", "epsilonEnd", "gamma"]) {
    const v = num(k);
    if (v < 0 || v > 1) fail(k, v, "a number in [0, 1]");
    out[k] = v;
  }
  const boot = pick("bootstrapOnTruncation");
  if (typeof boot !== "boolean") fail("bootstrapOnTruncation", boot, "true or false");
  out.bootstrapOnTruncation = boot;
  out.model = checkModel(env, pick("model"));

  const c = out as unknown as TrainConfig;
  if (c.prepopulateSteps > c.totalSteps) {
    throw new Error(
      `invalid prepopulateSteps ${c.prepopulateSteps}; expected at most totalSteps (${c.totalSteps})`,
    );
  }
  // Re-order the keys canonically (documentation order).
  const ordered: Record<string, unknown> = {};
  for (const k of TRAIN_CONFIG_KEYS) ordered[k] = out[k];
  return ordered as unknown as TrainConfig;
}

/** JSON with object keys sorted recursively (arrays keep their order): a canonical text. */
export function canonicalJson(value: unknown): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (typeof v === "number" && !Number.isFinite(v)) {
      throw new Error(`canonicalJson: cannot encode non-finite number ${v}`);
    }
    if (v !== null && typeof v === "object") {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== undefined) o[k] = norm(x);
      }
      return o;
    }
    return v;
  };
  return JSON.stringify(norm(value));
}

/**
 * A stable identity of a configuration: the SHA-256 hex digest (64 characters) of its canonical
 * key-sorted JSON with `seed` left out, so all seeds of one setting share a hash. Synchronous
 * (`node:crypto`). Hash a resolved config: defaults filled in explicitly hash like left-out ones.
 * With evaluation off (`evalEvery` 0) the evaluation fields are left out too, so configurations
 * from before evaluation existed (databases, checkpoints) keep their hash.
 *
 * @example
 * ```ts
 * import { configHash, resolveTrainConfig } from "./config.ts";
 * const a = resolveTrainConfig({ env: "car-flag", algo: "dqn", seed: 1 });
 * const b = resolveTrainConfig({ env: "car-flag", algo: "dqn", seed: 2 });
 * console.log(configHash(a) === configHash(b)); // true
 * ```
 */
export function configHash(config: TrainConfig): string {
  const { seed: _seed, ...rest } = config as Partial<TrainConfig>;
  if (!rest.evalEvery) {
    delete rest.evalEvery;
    delete rest.evalEpisodes;
  }
  return createHash("sha256").update(canonicalJson(rest)).digest("hex");
}

/**
 * The fields in which the runs of one batch may differ: each run of a `trainBatch` call keeps its
 * own seed, Adam learning rate and episode time limit (a stage-0 selection grid trains in one
 * batch); every other field is shared.
 */
export const PER_RUN_FIELDS = ["seed", "lr", "timeLimit"] as const;

/**
 * The key shared by the configurations that can train in one batch: {@link configHash} over every
 * field but {@link PER_RUN_FIELDS}.
 *
 * @example
 * ```ts
 * import { batchKey, resolveTrainConfig } from "./config.ts";
 * const a = resolveTrainConfig({ env: "car-flag", algo: "dqn", lr: 1e-4, timeLimit: 100 });
 * const b = resolveTrainConfig({ env: "car-flag", algo: "dqn", lr: 3e-4, timeLimit: 1000 });
 * const c = resolveTrainConfig({ env: "car-flag", algo: "adqn" });
 * console.log(batchKey(a) === batchKey(b), batchKey(a) === batchKey(c)); // true false
 * ```
 */
export function batchKey(config: TrainConfig): string {
  const shared: Partial<TrainConfig> = { ...config };
  for (const field of PER_RUN_FIELDS) delete shared[field];
  return configHash(shared as TrainConfig);
}

const NUMBER_RE = /^[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?$/;

/** Parse a number the way a command line writes it: `1e6`, `1_000_000`, `0.1`, `-3`. */
export function parseNumber(text: string, field = "value"): number {
  const t = text.trim();
  if (!NUMBER_RE.test(t)) {
    fail(field, text, "a number (e.g. 1000000, 1_000_000, 1e6, 0.1)");
  }
  const v = Number(t.replaceAll("_", ""));
  if (!Number.isFinite(v)) fail(field, text, "a finite number");
  return v;
}

function parseBoolean(text: string, field: string): boolean {
  const t = text.trim();
  if (t === "true") return true;
  if (t === "false") return false;
  return fail(field, text, "true or false");
}

const MODEL_KEYS = Object.keys(DEFAULT_MODEL_CONFIG);

/** Parse a model override by the type of its default (a number, or a list of numbers). */
function parseModelValue(name: string, text: string): number | number[] {
  const field = `model.${name}`;
  if (!MODEL_KEYS.includes(name)) {
    throw new Error(`unknown model setting "${name}"; expected one of ${MODEL_KEYS.join(", ")}`);
  }
  if (!Array.isArray((DEFAULT_MODEL_CONFIG as unknown as Record<string, unknown>)[name])) {
    return parseNumber(text, field);
  }
  let t = text.trim();
  if (t.startsWith("[") && t.endsWith("]")) t = t.slice(1, -1);
  if (t.trim() === "") return [];
  const parts = t.split(",");
  if (!parts.every((x) => NUMBER_RE.test(x.trim()))) {
    fail(field, text, "a list of numbers such as [512,256] or 512,256");
  }
  return parts.map((x) => parseNumber(x, field));
}

/**
 * Parse one command-line setting `key=value`, converting the value by the default's type: numbers
 * accept `1e6` and `1_000_000`, booleans `true`/`false`, `seed` a number or a string, `env` and
 * `algo` strings. `model.<name>=value` (a field of `ModelConfig` in lib/models/presets.ts) gives the
 * key `"model.<name>"` with a number, or a list of numbers (`[512,256]` or `512,256`) for list
 * fields; `model={...}` takes a JSON object.
 * Apply settings with {@link applySettings}. Throws on unknown keys and badly typed values.
 *
 * @example
 * ```ts
 * import { parseSetting } from "./config.ts";
 * console.log(parseSetting("totalSteps=1_000_000")); // ["totalSteps", 1000000]
 * console.log(parseSetting("model.gruHidden=64")); // ["model.gruHidden", 64]
 * ```
 */
export function parseSetting(setting: string): [string, unknown] {
  const eq = setting.indexOf("=");
  if (eq <= 0) {
    throw new Error(`invalid setting ${show(setting)}; expected key=value (e.g. totalSteps=1e6)`);
  }
  const key = setting.slice(0, eq).trim();
  const text = setting.slice(eq + 1);
  if (key.startsWith("model.")) {
    const name = key.slice("model.".length);
    if (name.length === 0) fail("setting key", key, "model.<name>");
    return [key, parseModelValue(name, text)];
  }
  if (!(TRAIN_CONFIG_KEYS as readonly string[]).includes(key)) {
    throw new Error(
      `unknown config key ${show(key)}; expected one of ${
        TRAIN_CONFIG_KEYS.join(", ")
      } or model.<name>`,
    );
  }
  switch (key) {
    case "env":
    case "algo":
      if (text.trim().length === 0) fail(key, text, "a non-empty string");
      return [key, text.trim()];
    case "seed": {
      const t = text.trim();
      if (t.length === 0) fail(key, text, "a number or a non-empty string");
      return [key, NUMBER_RE.test(t) ? parseNumber(t, key) : t];
    }
    case "model": {
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        fail(key, text, 'a JSON object such as {"gruHidden":64}');
      }
      if (!isPlainObject(v)) fail(key, text, 'a JSON object such as {"gruHidden":64}');
      return [key, v];
    }
  }
  const def = (DEFAULT_TRAIN_CONFIG as unknown as Record<string, unknown>)[key];
  if (typeof def === "boolean") return [key, parseBoolean(text, key)];
  return [key, parseNumber(text, key)];
}

/**
 * Apply `key=value` settings (see {@link parseSetting}) on top of a partial config; `model.<name>`
 * settings are merged into `model`. Returns a new object (validate it with
 * {@link resolveTrainConfig}).
 *
 * @example
 * ```ts
 * import { applySettings } from "./config.ts";
 * const p = applySettings({ env: "cleaner", algo: "adqn" }, ["lr=3e-4", "model.gruHidden=64"]);
 * console.log(p.lr, p.model); // 0.0003 { gruHidden: 64 }
 * ```
 */
export function applySettings<T extends Partial<TrainConfig>>(
  base: T,
  settings: readonly string[],
): T & Partial<TrainConfig> {
  const out: Record<string, unknown> = { ...base };
  if (base.model !== undefined) out.model = { ...base.model };
  for (const s of settings) {
    const [key, value] = parseSetting(s);
    if (key.startsWith("model.")) {
      out.model = { ...(out.model as ModelOverrides ?? {}), [key.slice(6)]: value };
    } else if (key === "model") {
      out.model = { ...(out.model as ModelOverrides ?? {}), ...(value as ModelOverrides) };
    } else {
      out[key] = value;
    }
  }
  return out as T & Partial<TrainConfig>;
}
