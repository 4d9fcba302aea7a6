/** A temporary results database with Figure 1 runs, for the dashboard tests and benchmark. */
import { currentOwner, type MetricRecord, ResultsDb } from "../../lib/results/db.ts";
import { presetConfig } from "../../lib/experiments/presets.ts";
import { configHash } from "../../lib/train/config.ts";
import { metricPoint } from "../results/metric_fixture.ts";

/** A metric point at `envStep` with average return `avgReturn`. */
export function point(envStep: number, avgReturn: number): MetricRecord {
  return metricPoint(envStep, avgReturn, { trainedSteps: envStep, wallSeconds: envStep / 1000 });
}

/** Register runs of panel 1c (preset quick) for `algos` × `seeds`; returns the db and run ids. */
export function makeDb(
  path: string,
  algos: readonly ("dqn" | "adqn")[],
  seeds: readonly number[],
  overrides: Record<string, unknown> = {},
  busyTimeoutMs?: number,
): { db: ResultsDb; ids: number[] } {
  const db = ResultsDb.open(path, { busyTimeoutMs });
  const ids: number[] = [];
  for (const algo of algos) {
    for (const seed of seeds) {
      const config = { ...presetConfig("quick", "1c", algo, seed), ...overrides };
      const hash = configHash(presetConfig("quick", "1c", algo, 0));
      ids.push(db.ensureRun({ hash, seed, config, label: "quick:1c" }).id);
    }
  }
  return { db, ids };
}

/** Claim run `id` and write `points` to it as its worker would. */
export function writePoints(db: ResultsDb, id: number, points: readonly MetricRecord[]): string {
  const run = db.claim({ owner: currentOwner(), ids: [id] });
  const owner = run?.owner ?? db.getRun(id)!.owner!;
  db.upsertMetrics(id, points, owner);
  return owner;
}
