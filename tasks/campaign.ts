/**
 * `deno task campaign start|status|stop|report|snapshot|publish|run [--dir DIR] [--workers N] [--batch N|auto] [--backend B]`: the Figure 1
 * campaign of issue 16 in the background (lib/experiments/campaign.ts).
 *
 * - start: launch it detached at low priority and return (pidfile and log in the campaign dir);
 * - status: runs done / running / left, steps, rate and projected finish, and each run being
 *   trained with its progress, last return and time left at its own rate;
 * - stop: SIGTERM, every run checkpoints, wait for the exit;
 * - report: the stage-0 selection table, the gate, and the verdicts once stage 1 has runs (of the
 *   live database, or of `--db FILE`: a snapshot, or the database merged from the campaign's
 *   cluster sweeps, `deno task sweep --campaign`);
 * - snapshot: copy a consistent snapshot of the live database to data/fig1-paper/results.sqlite
 *   (or --to FILE) and publish it: per-seed CSV files and a README beside it
 *   (lib/experiments/campaign_publish.ts);
 * - publish: rewrite those files from the existing snapshot (no live database needed);
 * - run: the campaign in the foreground (what start launches).
 *
 * The campaign dir defaults to $ADQN_CAMPAIGN_DIR, else ~/.cache/adqn/fig1-paper.
 * @module
 */
import { campaignDir, campaignFiles, committedSnapshot } from "../lib/experiments/campaign.ts";
import { campaignReport } from "../lib/experiments/campaign_verdicts.ts";
import { publishCampaign } from "../lib/experiments/campaign_publish.ts";
import {
  campaignStatus,
  formatCampaignStatus,
  runInForeground,
  snapshotDb,
  startCampaign,
  stopCampaign,
} from "../lib/experiments/campaign_process.ts";
import { TRAINER_BACKENDS, type TrainerBackend } from "../lib/experiments/runner.ts";

const USAGE =
  "usage: deno task campaign start|status|stop|report|snapshot|publish|run [--dir DIR] [--workers N] [--batch N|auto] [--backend B] [--to FILE] [--db FILE]";

/** The notebooks that show the campaign read the committed snapshot: their outputs follow it. */
const NOTEBOOKS_HINT = "to show it in the notebooks, re-execute them: " +
  "deno task notebooks notebooks/figure_1a.ipynb notebooks/figure_1b.ipynb";

function parse(args: string[]) {
  const [command, ...rest] = args;
  const o: {
    dir: string;
    workers?: number;
    batch?: number | "auto";
    backend?: TrainerBackend;
    to: string;
    db?: string;
  } = {
    dir: campaignDir(),
    // The snapshot `start` restores from on a machine without the live database: one path for both.
    to: committedSnapshot() ?? "data/fig1-paper/results.sqlite",
  };
  for (let i = 0; i < rest.length; i++) {
    const v = rest[i + 1];
    if (rest[i] === "--dir" && v) (o.dir = v, i++);
    else if (rest[i] === "--to" && v) (o.to = v, i++);
    else if (rest[i] === "--db" && v) {
      if (command !== "report") throw new Error(`--db is an option of report only; ${USAGE}`);
      o.db = v, i++;
    } else if (rest[i] === "--backend" && v) {
      if (!(TRAINER_BACKENDS as readonly string[]).includes(v)) {
        throw new Error(`--backend ${v}: expected one of ${TRAINER_BACKENDS.join(", ")}`);
      }
      o.backend = v as TrainerBackend, i++;
    } else if (rest[i] === "--workers" && v) {
      if (!/^[1-9]\d*$/.test(v)) throw new Error(`--workers ${v}: expected a positive integer`);
      o.workers = Number(v), i++;
    } else if (rest[i] === "--batch" && v) {
      if (v !== "auto" && !/^[1-9]\d*$/.test(v)) {
        throw new Error(`--batch ${v}: expected a positive integer or auto`);
      }
      o.batch = v === "auto" ? v : Number(v), i++;
    } else throw new Error(`unknown or incomplete option "${rest[i]}"; ${USAGE}`);
  }
  return { command, o };
}

async function main(args: string[]): Promise<number> {
  const { command, o } = parse(args);
  if (command === "start") {
    const { pid, log, finished } = await startCampaign(o.dir, {
      workers: o.workers,
      batch: o.batch,
      backend: o.backend,
    });
    console.log(
      finished === undefined
        ? `campaign started: pid ${pid}, log ${log}`
        : `campaign ran and exited at once (pid ${pid}); its log ${log} says:\n${finished}`,
    );
  } else if (command === "status") {
    console.log(formatCampaignStatus(o.dir, campaignStatus(o.dir)));
  } else if (command === "stop") {
    const pid = await stopCampaign(o.dir);
    console.log(pid === null ? "campaign not running" : `campaign stopped (pid ${pid})`);
  } else if (command === "report") {
    console.log(campaignReport(o.dir, 0, o.db));
  } else if (command === "snapshot") {
    snapshotDb(o.dir, o.to);
    console.log(`snapshot of ${campaignFiles(o.dir).db} written to ${o.to}`);
    for (const path of publishCampaign(o.to)) console.log(`wrote ${path}`);
    console.log(NOTEBOOKS_HINT);
  } else if (command === "publish") {
    for (const path of publishCampaign(o.to)) console.log(`wrote ${path}`);
    console.log(NOTEBOOKS_HINT);
  } else if (command === "run") {
    const outcome = await runInForeground({
      dir: o.dir,
      workers: o.workers,
      batch: o.batch,
      backend: o.backend,
    });
    return outcome === "failed" ? 1 : outcome === "stopped" ? 130 : 0;
  } else {
    throw new Error(`unknown command "${command}"; ${USAGE}`);
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`campaign: ${e instanceof Error ? e.message : e}`);
    Deno.exit(2);
  }
}
