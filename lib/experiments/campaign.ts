/**
 * The Figure 1 campaign at the paper's protocol (issue 16): stage 0 selects, per algorithm, a
 * learning rate and an episode time limit on Heaven-Hell-3 with selection-only seeds; a gate
 * decides whether stage 1 (panels 1a and 1b at the selected settings, seeds 0–4) starts. The
 * stages as data (grids, selection, gate) are in campaign_stages.ts; this module runs them.
 *
 * Every run goes through {@link reproduce}: runs are keyed by configuration and seed, so rerunning
 * a stage only adds what is missing. The live database and the checkpoints live in a cache
 * directory outside the work tree. The background process (start, status, stop, snapshot) is in
 * campaign_process.ts; reading the campaign's data (stages, panels, verdicts) in campaign_data.ts,
 * publishing it (CSV files, README) in campaign_publish.ts.
 *
 * @example
 * ```ts ignore
 * import { campaignDir, runCampaign } from "./campaign.ts";
 * console.log(await runCampaign({ dir: campaignDir(), workers: 2 })); // "done", "blocked", ...
 * ```
 * @module
 */
import { existsSync } from "../files.ts";
import { ALGO_IDS } from "../train/agent.ts";
import { ResultsDb } from "../results/db.ts";
import type { Overrides } from "./presets.ts";
import { reproduce, type WorkerCommand } from "./reproduce.ts";
import { ProgressView } from "./progress.ts";
import type { TrainerBackend } from "./runner.ts";
import {
  formatSelection,
  GATE_RETURN,
  gateOpen,
  selected,
  type SelectionEntry,
  selectionTable,
  STAGE0,
  stage0Grid,
  stage0Rows,
  STAGE1,
  stage1Grid,
} from "./campaign_stages.ts";

/** The paths of a campaign directory. */
export interface CampaignFiles {
  /** Live results database. */
  db: string;
  /** Checkpoint directory. */
  checkpoints: string;
  /** Figures written by reproduce. */
  out: string;
  /** Pidfile of the background process. */
  pid: string;
  /** Log of the background process. */
  log: string;
  /** Start record (time, steps) for the rate. */
  state: string;
}

/** The campaign's files inside its directory. */
export function campaignFiles(dir: string): CampaignFiles {
  return {
    db: `${dir}/campaign.sqlite`,
    checkpoints: `${dir}/checkpoints`,
    out: `${dir}/out`,
    pid: `${dir}/campaign.pid`,
    log: `${dir}/campaign.log`,
    state: `${dir}/campaign.json`,
  };
}

/**
 * The committed snapshot of a checkout (data/fig1-paper/results.sqlite beside this code), or null
 * when this module is not loaded from files.
 */
export function committedSnapshot(): string | null {
  const url = new URL("../../data/fig1-paper/results.sqlite", import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : null;
}

/**
 * On a machine without the campaign's live database (a new machine, or a lost cache), start from the
 * committed snapshot instead of from nothing, so that finished runs are never redone: copy it in as
 * the live database and set aside any checkpoints left in the directory (they may be newer than the
 * snapshot's points, which would resume a run with a gap), so that unfinished runs start over
 * cleanly (their old points replaced, attempts counted, once their stale leases time out).
 * Returns what it did, or null when there was nothing to do.
 */
export function restoreFromSnapshot(
  dir: string,
  snapshot: string | null = committedSnapshot(),
): { finished: number; unfinished: number; setAside: number } | null {
  const f = campaignFiles(dir);
  if (existsSync(f.db) || snapshot === null || !existsSync(snapshot)) return null;
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${f.db}.restore-${Deno.pid}`;
  Deno.copyFileSync(snapshot, tmp);
  Deno.renameSync(tmp, f.db);
  let setAside = 0;
  if (existsSync(f.checkpoints)) {
    const aside = `${f.checkpoints}.before-restore-${Date.now()}`;
    setAside = [...Deno.readDirSync(f.checkpoints)].length;
    Deno.renameSync(f.checkpoints, aside);
  }
  const db = ResultsDb.open(f.db);
  try {
    const runs = db.listRuns();
    const finished = runs.filter((r) => r.status === "finished").length;
    return { finished, unfinished: runs.length - finished, setAside };
  } finally {
    db.close();
  }
}

/**
 * The campaign directory: `ADQN_CAMPAIGN_DIR`, else `$XDG_CACHE_HOME/adqn/fig1-paper`, else
 * `~/.cache/adqn/fig1-paper` (outside the work tree, so a fresh checkout does not erase it).
 */
export function campaignDir(): string {
  const env = Deno.env.get("ADQN_CAMPAIGN_DIR");
  if (env) return env;
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  return `${cache}/adqn/fig1-paper`;
}

/** Options of {@link runCampaign}. */
export interface RunCampaignOptions {
  /** Campaign directory. */
  dir: string;
  /** Parallel workers (default 2). */
  workers?: number;
  /**
   * Runs per batch (default `auto`, see reproduce's `batch`). A machine that may not come back after
   * the session loses the progress of every unfinished run, so on such machines pick a size whose
   * batches finish within the session (README, "The Figure 1 campaign").
   */
  batch?: number | "auto";
  /**
   * Tensor backend of the workers (default `wasm-blas`, never `auto`: a machine without OpenBLAS
   * must fail rather than train some runs with other numbers).
   */
  backend?: TrainerBackend;
  /** Extra overrides for every run: for tests only (a tiny budget); they change the runs' hashes. */
  budget?: Overrides;
  /** How to start a worker (tests: the fake trainer). */
  workerCommand?: WorkerCommand;
  /**
   * The snapshot to start from when the directory has no database (default the checkout's
   * committed one, {@link committedSnapshot}; null: start empty). See {@link restoreFromSnapshot}.
   */
  snapshot?: string | null;
  /** Stop cleanly. */
  signal?: AbortSignal;
  /** Where lines go (default console.log). */
  print?(line: string): void;
  /** Called once the database is in place (restored or live), before any run trains. */
  onReady?(): void;
}

/** How a campaign run ended. */
export type CampaignOutcome = "done" | "blocked" | "stopped" | "failed";

/** The campaign's tensor backend, whose numerics fingerprint (tests/train) its runs rely on. */
export const CAMPAIGN_BACKEND: TrainerBackend = "wasm-blas";

/**
 * The OpenBLAS kernels of every campaign run (`OPENBLAS_CORETYPE`): products round differently per
 * kernel, and a campaign that moves to another machine must go on with the same numbers. Haswell
 * runs on every x86-64 CPU with AVX2 and is what the committed fingerprints were made with.
 */
export const CAMPAIGN_BLAS_KERNELS = "Haswell";

/**
 * Make the workers' OpenBLAS run {@link CAMPAIGN_BLAS_KERNELS}: set `OPENBLAS_CORETYPE` for this
 * process and its children when unset; throw, naming both, when it is set to other kernels.
 */
export function pinCampaignKernels(env: Pick<typeof Deno.env, "get" | "set"> = Deno.env): void {
  const set = env.get("OPENBLAS_CORETYPE");
  if (set === undefined || set === "") env.set("OPENBLAS_CORETYPE", CAMPAIGN_BLAS_KERNELS);
  else if (set.toLowerCase() !== CAMPAIGN_BLAS_KERNELS.toLowerCase()) {
    throw new Error(
      `OPENBLAS_CORETYPE is ${set}, but the campaign's runs train on OpenBLAS's ` +
        `${CAMPAIGN_BLAS_KERNELS} kernels (other kernels round differently); unset it or set it ` +
        `to ${CAMPAIGN_BLAS_KERNELS}`,
    );
  }
}

/** The campaign in the foreground: stage 0, the gate, the selection, stage 1. */
export async function runCampaign(o: RunCampaignOptions): Promise<CampaignOutcome> {
  const print = o.print ?? ((l: string) => console.log(l));
  const f = campaignFiles(o.dir);
  if ((o.backend ?? CAMPAIGN_BACKEND).endsWith("-blas")) pinCampaignKernels();
  const restored = restoreFromSnapshot(o.dir, o.snapshot); // undefined: the committed one
  if (restored !== null) {
    print(
      `no live database in ${o.dir}: started from the committed snapshot (${restored.finished} ` +
        `finished runs kept, ${restored.unfinished} unfinished start over` +
        (restored.setAside > 0 ? `; ${restored.setAside} old checkpoints set aside` : "") + ")",
    );
  }
  Deno.mkdirSync(f.checkpoints, { recursive: true });
  o.onReady?.();
  const common = {
    preset: "paper" as const,
    workers: o.workers ?? 2,
    batch: o.batch ?? "auto",
    backend: o.backend ?? CAMPAIGN_BACKEND,
    dbPath: f.db,
    outDir: f.out,
    checkpointDir: f.checkpoints,
    png: false,
    workerCommand: o.workerCommand,
    signal: o.signal,
    view: new ProgressView({ tty: false }),
    print,
  };
  const ended = (code: number): CampaignOutcome | null =>
    code === 130 ? "stopped" : code !== 0 ? "failed" : null;
  print(
    `stage 0: ${STAGE0.cells.length} cells × ${ALGO_IDS.length} algorithms × ${STAGE0.seeds.length} seeds`,
  );
  const end0 = ended(
    (await reproduce({ ...common, figures: [STAGE0.figure], grid: stage0Grid(o.budget) })).exitCode,
  );
  if (end0) return end0;
  const db = ResultsDb.open(f.db);
  let table: SelectionEntry[];
  try {
    table = selectionTable(stage0Rows(db));
  } finally {
    db.close();
  }
  print(formatSelection(table));
  if (!gateOpen(table)) {
    print(`blocked: no cell brings ADQN or ADQN-VR above ${GATE_RETURN}; stage 1 not started`);
    return "blocked";
  }
  const chosen = selected(table);
  for (const algo of ALGO_IDS) {
    print(`stage 1: ${algo} at lr ${chosen[algo].lr}, time limit ${chosen[algo].timeLimit}`);
  }
  const grid1 = stage1Grid(chosen, o.budget);
  const end1 = ended(
    (await reproduce({ ...common, figures: STAGE1.figures, grid: grid1 })).exitCode,
  );
  if (end1) return end1;
  return "done";
}
