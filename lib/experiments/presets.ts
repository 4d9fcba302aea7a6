/**
 * Experiment presets as plain data: which environment each panel of the paper's Figure 1 uses,
 * its reference line, and the training budgets of the `paper` and `quick` presets.
 *
 * A preset is a set of {@link TrainConfig} overrides on top of the reference defaults
 * (`DEFAULT_TRAIN_CONFIG`, algorithms.md §4): `settings` apply to every run, `figures[id]` to the
 * runs of one panel, `algos[algo]` to one algorithm (applied in that order). The runs of a preset
 * are identified in the results database by their resolved configuration's hash, so changing a
 * preset's values starts new runs and never mixes them with old ones.
 *
 * @example The configuration of one run of the quick preset
 * ```ts
 * import { presetConfig } from "./presets.ts";
 * const c = presetConfig("quick", "1a", "adqn", 0);
 * console.log(c.env, c.totalSteps < 2_000_000); // heaven-hell-3 true
 * ```
 * @module
 */
import { ALGO_IDS, type AlgoId } from "../train/agent.ts";
import { resolveTrainConfig, type TrainConfig } from "../train/config.ts";

/** The panels of the paper's Figure 1. */
export const FIGURE_IDS = ["1a", "1b", "1c", "1d", "1e"] as const;

/** One of {@link FIGURE_IDS}. */
export type FigureId = typeof FIGURE_IDS[number];

/** A horizontal reference line of a panel. */
export interface ReferenceLine {
  /** Return value of the line. */
  value: number;
  /** Legend/annotation text, saying whether it is the optimum or only a bound. */
  label: string;
}

/** One panel of Figure 1. */
export interface FigureSpec {
  /** Panel id ("1a"). */
  id: FigureId;
  /** Environment id (lib/envs ENV_IDS). */
  env: string;
  /** Panel title. */
  title: string;
  /** Dashed reference line: the optimal undiscounted return, or an upper bound labelled as such. */
  reference?: ReferenceLine;
}

/** The five panels of Figure 1 (environments.md summary table for the reference values). */
export const FIGURES: Readonly<Record<FigureId, FigureSpec>> = Object.freeze({
  "1a": {
    id: "1a",
    env: "heaven-hell-3",
    title: "Heaven-Hell-3",
    reference: { value: 1, label: "optimal return (1.0)" },
  },
  "1b": {
    id: "1b",
    env: "heaven-hell-4",
    title: "Heaven-Hell-4",
    reference: { value: 1, label: "optimal return (1.0)" },
  },
  "1c": {
    id: "1c",
    env: "car-flag",
    title: "Car-Flag",
    reference: { value: 1, label: "optimal return (1.0)" },
  },
  "1d": {
    id: "1d",
    env: "cleaner",
    title: "Cleaner",
    reference: { value: 71, label: "maximum return (71)" },
  },
  "1e": {
    id: "1e",
    env: "memory-four-rooms-7x7",
    title: "MemoryFourRooms-7x7",
    reference: { value: 4.78, label: "upper bound ≈ 4.78 (fully observed; optimum unknown)" },
  },
});

/** The algorithms of every panel, in legend order. */
export const FIGURE_ALGOS: readonly AlgoId[] = ALGO_IDS;

/** Training overrides (any {@link TrainConfig} field except env, algo and seed). */
export type Overrides = Partial<Omit<TrainConfig, "env" | "algo" | "seed">>;

/** A named experiment budget. */
export interface Preset {
  /** Preset id. */
  id: string;
  /** One line saying what it is for. */
  description: string;
  /** Seeds per (panel, algorithm) by default: seeds 0..seeds-1. */
  seeds: number;
  /** True while the values are placeholders awaiting measurement. */
  provisional: boolean;
  /** Overrides for every run. */
  settings: Overrides;
  /** Overrides per panel. */
  figures: Partial<Record<FigureId, Overrides>>;
  /** Overrides per algorithm. */
  algos: Partial<Record<AlgoId, Overrides>>;
}

/** The preset ids. */
export const PRESET_IDS = ["paper", "quick"] as const;

/** One of {@link PRESET_IDS}. */
export type PresetId = typeof PRESET_IDS[number];

/**
 * The presets.
 *
 * - `paper`: the reference defaults (2M environment steps, replay ratio 8, ...), 20 seeds.
 * - `quick`: a reduced budget (200k environment steps instead of 2M, 2 seeds instead of 20, GRU 64
 *   and one 256-unit head layer instead of 128 and 512-256, 8 episodes per gradient step at replay
 *   ratio 4 and lr 1e-3 instead of 1 episode at ratio 8 and lr 1e-4, ε decayed over 100k steps,
 *   time limit 200 (Heaven-Hell and MemoryFourRooms 100); MemoryFourRooms, about 3x slower per
 *   step, gets 100k steps at replay ratio 2). Chosen by measurement on Heaven-Hell-3
 *   and Car-Flag (data/fig1-quick/README.md): at this budget Car-Flag separates ADQN from DQN,
 *   while no method learns Heaven-Hell (up to 1M steps tried), so the main job runs panel 1c.
 */
export const PRESETS: Readonly<Record<PresetId, Preset>> = Object.freeze({
  paper: {
    id: "paper",
    description: "the paper's protocol: the reference training settings, 2M env steps per run",
    seeds: 20,
    provisional: false,
    settings: {},
    figures: {},
    algos: {},
  },
  quick: {
    id: "quick",
    description:
      "reduced budget: 200k env steps per run, small networks (times measured in the README)",
    seeds: 2,
    provisional: false,
    settings: {
      totalSteps: 200_000,
      timeLimit: 200,
      bufferCapacity: 200_000,
      prepopulateSteps: 5_000,
      replayRatio: 4,
      episodesPerBatch: 8,
      lr: 1e-3,
      epsilonDecaySteps: 100_000,
      targetUpdateSteps: 2_000,
      logEvery: 10_000,
      model: { gruHidden: 64, headHidden: [256] },
    },
    figures: {
      // Heaven-Hell's optimal episode is 4n+3 steps: 100 steps leave room to explore.
      "1a": {
        timeLimit: 100,
        model: {
          gruHidden: 64,
          headHidden: [256],
          actionEmbedding: 32,
          obsEmbedding: 32,
          stateEmbedding: 32,
        },
      },
      "1b": {
        timeLimit: 100,
        model: {
          gruHidden: 64,
          headHidden: [256],
          actionEmbedding: 32,
          obsEmbedding: 32,
          stateEmbedding: 32,
        },
      },
      // MemoryFourRooms: exits are at most a few moves away; its network is the slowest per step.
      "1e": {
        timeLimit: 100,
        totalSteps: 100_000,
        bufferCapacity: 100_000,
        epsilonDecaySteps: 50_000,
        replayRatio: 2,
        model: { gruHidden: 64, headHidden: [256] },
      },
    },
    algos: {},
  },
});

/** Throw a clear error unless `id` names a preset. */
export function checkPresetId(id: string): PresetId {
  if (!(PRESET_IDS as readonly string[]).includes(id)) {
    throw new Error(`unknown preset "${id}"; expected one of ${PRESET_IDS.join(", ")}`);
  }
  return id as PresetId;
}

/** Throw a clear error unless `id` names a panel of Figure 1. */
export function checkFigureId(id: string): FigureId {
  if (!(FIGURE_IDS as readonly string[]).includes(id)) {
    throw new Error(`unknown figure "${id}"; expected one of ${FIGURE_IDS.join(", ")}`);
  }
  return id as FigureId;
}

function merge(...parts: (Overrides | undefined)[]): Overrides {
  const out: Overrides = {};
  for (const p of parts) {
    if (!p) continue;
    const { model, ...rest } = p;
    Object.assign(out, rest);
    if (model) out.model = { ...(out.model ?? {}), ...model };
  }
  return out;
}

/** The overrides of one (preset, panel, algorithm), merged in order settings → figure → algo. */
export function presetOverrides(
  preset: PresetId | Preset,
  figure: FigureId,
  algo: AlgoId,
): Overrides {
  const p = typeof preset === "string" ? PRESETS[checkPresetId(preset)] : preset;
  return merge(p.settings, p.figures[figure], p.algos[algo]);
}

/**
 * The resolved training configuration of one run of a preset, with `extra` overrides applied last.
 */
export function presetConfig(
  preset: PresetId | Preset,
  figure: FigureId,
  algo: AlgoId,
  seed: number,
  extra: Overrides = {},
): TrainConfig {
  const f = FIGURES[checkFigureId(figure)];
  return resolveTrainConfig({
    ...merge(presetOverrides(preset, figure, algo), extra),
    env: f.env,
    algo,
    seed,
  });
}
