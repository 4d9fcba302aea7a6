/**
 * The grid of runs behind one or more Figure 1 panels: panels × algorithms × seeds, each with its
 * resolved configuration and hash, and its registration in the results database.
 *
 * @example
 * ```ts
 * import { buildGrid } from "./grid.ts";
 * const grid = buildGrid({ figures: ["1a"], preset: "quick", seeds: 2 });
 * console.log(grid.length); // 10 (5 algorithms × 2 seeds)
 * ```
 * @module
 */
import type { AlgoId } from "../train/agent.ts";
import { createHash } from "node:crypto";
import { configHash, type TrainConfig } from "../train/config.ts";
import type { ResultsDb, RunRecord } from "../results/db.ts";
import {
  FIGURE_ALGOS,
  type FigureId,
  type Overrides,
  type Preset,
  presetConfig,
  type PresetId,
  PRESETS,
} from "./presets.ts";

/** One cell of the grid. */
export interface GridRun {
  /** Panel. */
  figure: FigureId;
  /** Algorithm. */
  algo: AlgoId;
  /** Seed. */
  seed: number;
  /** Resolved configuration (seed included). */
  config: TrainConfig;
  /** {@link runHash} of the configuration. */
  hash: string;
  /** Label stored with the run: "<preset>:<figure>". */
  label: string;
}

/** Options of {@link buildGrid}. */
export interface GridOptions {
  /** Panels. */
  figures: readonly FigureId[];
  /** Preset id or object. */
  preset: PresetId | Preset;
  /** Number of seeds (seeds 0..n-1); default the preset's. */
  seeds?: number;
  /** Explicit seeds (e.g. selection-only seeds 1000, 1001); replaces `seeds` when given. */
  seedList?: readonly number[];
  /** Algorithms; default all five. */
  algos?: readonly AlgoId[];
  /** Overrides applied after the preset's. */
  extra?: Overrides;
}

/**
 * Every run of the given panels, ordered seed-major (all panels and algorithms of seed 0 first), so
 * that a partly finished grid already covers every curve.
 */
export function buildGrid(options: GridOptions): GridRun[] {
  const preset = typeof options.preset === "string" ? PRESETS[options.preset] : options.preset;
  const seeds = options.seeds ?? preset.seeds;
  if (!Number.isSafeInteger(seeds) || seeds < 1) {
    throw new Error(`invalid number of seeds ${seeds}; expected a positive integer`);
  }
  for (const s of options.seedList ?? []) {
    if (!Number.isSafeInteger(s) || s < 0) {
      throw new Error(`invalid seed ${s} in seedList; expected non-negative integers`);
    }
  }
  const seedList = options.seedList ?? Array.from({ length: seeds }, (_, i) => i);
  const algos = options.algos ?? FIGURE_ALGOS;
  const out: GridRun[] = [];
  for (const seed of seedList) {
    for (const figure of options.figures) {
      for (const algo of algos) {
        const config = presetConfig(preset, figure, algo, seed, options.extra);
        out.push({
          figure,
          algo,
          seed,
          config,
          hash: runHash(config),
          label: `${preset.id}:${figure}`,
        });
      }
    }
  }
  return out;
}

/**
 * The key of a run in the results database: {@link configHash} of the configuration, where a
 * `pomdp:<file>` environment counts by the file's content (SHA-256), not its path: an edited file
 * is a new run, and one file by a relative and an absolute path is one run.
 */
export function runHash(config: TrainConfig): string {
  if (!config.env.startsWith("pomdp:")) return configHash(config);
  const file = config.env.slice("pomdp:".length);
  const digest = createHash("sha256").update(Deno.readFileSync(file)).digest("hex");
  return configHash({ ...config, env: `pomdp:sha256=${digest}` });
}

/** The checkpoint file of a run: `<dir>/<hash>-<seed>.ckpt`. */
export function checkpointPathFor(dir: string, hash: string, seed: number | string): string {
  return `${dir.replace(/\/+$/, "") || "."}/${hash}-${seed}.ckpt`;
}

/** Register every grid run in the database (existing ones are kept); returns them in grid order. */
export function registerGrid(
  db: ResultsDb,
  grid: readonly GridRun[],
  checkpointDir: string,
): RunRecord[] {
  return grid.map((g) =>
    db.ensureRun({
      hash: g.hash,
      seed: g.seed,
      config: g.config as unknown as Record<string, unknown> & { env: string; algo: string },
      label: g.label,
      checkpointPath: checkpointPathFor(checkpointDir, g.hash, g.seed),
    })
  );
}
