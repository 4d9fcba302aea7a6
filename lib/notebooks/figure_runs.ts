/**
 * Finding a panel's runs in a results database ({@link selectPanelRuns}), and opening a committed
 * database read-only without touching it ({@link openResultsSnapshot}).
 *
 * @module
 */
import { join } from "node:path";
import { ResultsDb, type RunRecord } from "../results/db.ts";
import { figureRuns } from "../experiments/figures.ts";
import {
  checkFigureId,
  type FigureId,
  FIGURES,
  presetConfig,
  type PresetId,
} from "../experiments/presets.ts";
import { describeBudget, formatSteps } from "./figure_budget.ts";

/** The runs of a panel found by {@link selectPanelRuns}. */
export interface PanelRuns {
  /** The runs (possibly none). */
  runs: RunRecord[];
  /**
   * How they were found: `preset` (configuration hashes of the current preset, as `deno task
   * figures` selects them), `label` (stored label "<preset>:<figure>", when the preset's values
   * changed since the runs were made), or `none`.
   */
  matched: "preset" | "label" | "none";
  /** A note for the reader when the runs do not match the current preset's configuration. */
  note?: string;
}

/**
 * The runs of a panel in a results database: those of the preset's current configuration
 * (`figureRuns`), else those labelled "<preset>:<figure>" (made with other values of the preset),
 * with a note saying so.
 */
export function selectPanelRuns(db: ResultsDb, figure: FigureId, preset: PresetId): PanelRuns {
  const exact = figureRuns(db, figure, preset);
  if (exact.length > 0) return { runs: exact, matched: "preset" };
  const env = FIGURES[checkFigureId(figure)].env;
  const labelled = db.listRuns({ env }).filter((r) => r.label === `${preset}:${figure}`);
  if (labelled.length === 0) return { runs: [], matched: "none" };
  const current = presetConfig(preset, figure, "adqn", 0);
  const budget = describeBudget(labelled);
  return {
    runs: labelled,
    matched: "label",
    note:
      `these ${labelled.length} runs are labelled ${preset}:${figure} but were made with other ` +
      `settings than the current ${preset} preset (e.g. ${
        budget.totalSteps.map(formatSteps).join(" or ")
      } environment steps per run, now ${formatSteps(current.totalSteps)})`,
  };
}

/** A read-only snapshot of a results database: see {@link openResultsSnapshot}. */
export interface ResultsSnapshot {
  /** The database, opened read-only on a temporary copy. */
  db: ResultsDb;
  /** Close it and delete the copy. */
  close(): Promise<void>;
}

/**
 * Open a read-only copy of a results database (its `-wal` file included), so that reading a
 * committed database never creates or changes anything beside it (SQLite's read-only opening of a
 * WAL database still creates `-shm` and `-wal` files). Resolves to `undefined` when `path` does not
 * exist.
 */
export async function openResultsSnapshot(path: string): Promise<ResultsSnapshot | undefined> {
  try {
    if (!(await Deno.stat(path)).isFile) return undefined;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const dir = await Deno.makeTempDir({ prefix: "results-snapshot-" });
  try {
    const copy = join(dir, "results.sqlite");
    await Deno.copyFile(path, copy);
    try {
      await Deno.copyFile(`${path}-wal`, `${copy}-wal`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const db = ResultsDb.open(copy, { readOnly: true });
    return {
      db,
      async close() {
        db.close();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (e) {
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
}
