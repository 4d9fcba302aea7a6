/**
 * `deno task collect --from <sweep folder> [--db data/results.sqlite] [--allow-missing]`: merge
 * the per-task results databases of a cluster sweep into the main results database (idempotent:
 * run it as often as you like, also while the sweep runs) and list the runs of the sweep that are
 * missing, partial or failed. Exit codes: 0 every planned run finished (or --allow-missing),
 * 1 some runs missing, partial or failed (or a file unreadable), 2 bad arguments or an error.
 *
 * @module
 */
import { collect, formatCollectReport, hasMissing } from "../lib/cluster/collect.ts";
import { readPlan } from "../lib/cluster/plan.ts";
import { DEFAULT_DB_PATH } from "../lib/results/db.ts";
import { parseTaskArgs } from "./args.ts";

const USAGE = `usage: deno task collect --from <sweep folder> [--from ...] [--db ${DEFAULT_DB_PATH}]
  [--plan <plan.json>] [--allow-missing] [--json]
  --from           a sweep folder made by \`deno task sweep\` (its db/*.sqlite and plan.json), or a
                   folder of task databases (*.sqlite); repeatable
  --db             the main results database (created if absent; default ${DEFAULT_DB_PATH})
  --plan           the plan that lists the expected runs (default <from>/plan.json)
  --allow-missing  exit 0 even when planned runs are missing, partial or failed
  --json           print a JSON summary instead of text`;

const args = parseTaskArgs({
  from: { type: "string", multiple: true },
  db: { type: "string", default: DEFAULT_DB_PATH },
  plan: { type: "string" },
  "allow-missing": { type: "boolean", default: false },
  json: { type: "boolean", default: false },
}, USAGE);
if (!args.from?.length) {
  console.error(`error: --from is required\n${USAGE}`);
  Deno.exit(2);
}
for (const from of args.from) {
  let isDir = false;
  try {
    isDir = Deno.statSync(from).isDirectory;
  } catch {
    // reported below
  }
  if (!isDir) {
    console.error(
      `error: invalid --from ${JSON.stringify(from)}; expected an existing sweep folder ` +
        `(made by \`deno task sweep\`) or a folder of task databases`,
    );
    Deno.exit(2);
  }
}
if (args.plan && args.from.length > 1) {
  console.error("error: --plan goes with a single --from");
  Deno.exit(2);
}

let missing = false;
const summaries: unknown[] = [];
try {
  for (const from of args.from) {
    const report = collect({
      from,
      db: args.db,
      plan: args.plan ? readPlan(args.plan) : undefined,
    });
    missing ||= hasMissing(report);
    if (args.json) {
      const keys = (xs: typeof report.missing) =>
        xs.map((s) => ({
          key: `${s.run.hash}-${s.run.seed}`,
          task: s.run.task,
          env: s.run.config.env,
          algo: s.run.config.algo,
          seed: s.run.seed,
          status: s.record?.status ?? null,
          envSteps: s.record?.envSteps ?? 0,
          error: s.record?.error ?? null,
        }));
      summaries.push({
        from,
        db: report.db,
        files: report.files,
        skipped: report.skipped,
        stats: report.stats,
        planned: report.plan?.runs.length ?? null,
        finished: report.finished.length,
        failed: keys(report.failed),
        partial: keys(report.partial),
        missing: keys(report.missing),
        duplicates: Object.fromEntries(report.duplicates),
      });
    } else {
      console.log(formatCollectReport(report));
    }
  }
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  Deno.exit(2);
}
if (args.json) {
  console.log(JSON.stringify(summaries.length === 1 ? summaries[0] : summaries, null, 1));
}
if (missing && !args["allow-missing"]) {
  if (!args.json) {
    console.log("some planned runs are not finished (exit 1; --allow-missing to accept)");
  }
  Deno.exit(1);
}
