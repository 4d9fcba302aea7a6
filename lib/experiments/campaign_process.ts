/**
 * The Figure 1 campaign as a background process: `startCampaign` spawns a detached, `nice`d process
 * (pidfile, log file) and returns at once; `stopCampaign` sends it SIGTERM, which aborts
 * reproduce (its workers checkpoint and release their runs); `campaignStatus` reads the live
 * database; {@link snapshotDb} copies a consistent snapshot of it (never checkpoints) into the
 * repository.
 *
 * @example
 * ```ts ignore
 * import { startCampaign } from "./campaign_process.ts";
 * import { campaignDir } from "./campaign.ts";
 * console.log((await startCampaign(campaignDir(), { workers: 2 })).pid);
 * ```
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { existsSync } from "../files.ts";
import { processAlive, processStartTime, ResultsDb, type RunRecord } from "../results/db.ts";
import {
  campaignFiles,
  type CampaignOutcome,
  runCampaign,
  type RunCampaignOptions,
} from "./campaign.ts";
import { type Cell, PLANNED_RUNS } from "./campaign_stages.ts";
import { loadCampaign, runSteps, type StageId } from "./campaign_data.ts";
import type { AlgoId } from "../train/agent.ts";
import type { TrainerBackend } from "./runner.ts";

/**
 * The background process's body: write the pidfile, turn SIGTERM/SIGINT into a clean stop, run the
 * campaign, remove the pidfile.
 */
export async function runInForeground(
  o: Omit<RunCampaignOptions, "signal">,
): Promise<CampaignOutcome> {
  writePidFile(o.dir);
  const ac = new AbortController();
  const stop = () => ac.abort();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  try {
    // The rate counts from the steps in the database once a snapshot is restored, not before it.
    const onReady = () => writeStartRecord(o.dir);
    const outcome = await runCampaign({ ...o, signal: ac.signal, onReady });
    (o.print ?? console.log)(`campaign ${outcome} at ${new Date().toISOString()}`);
    return outcome;
  } finally {
    Deno.removeSignalListener("SIGTERM", stop);
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSync(campaignFiles(o.dir).pid);
  }
}

interface PidFile {
  pid: number;
  start: string;
}

/** The pid of the running campaign of `dir`, or null (a stale pidfile counts as none). */
export function runningPid(dir: string): number | null {
  try {
    const p = JSON.parse(Deno.readTextFileSync(campaignFiles(dir).pid)) as PidFile;
    return processAlive(p.pid, p.start) ? p.pid : null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Record this process as the campaign's (called by the background process itself). */
export function writePidFile(dir: string): void {
  const pid = Deno.pid;
  const p: PidFile = { pid, start: processStartTime(pid) ?? "" };
  Deno.writeTextFileSync(campaignFiles(dir).pid, JSON.stringify(p));
}

/** Options of {@link startCampaign}. */
export interface StartOptions {
  /** Parallel workers. */
  workers?: number;
  /** Runs per batch (a number, or `auto`). */
  batch?: number | "auto";
  /** Tensor backend of the workers. */
  backend?: TrainerBackend;
  /** The command (and arguments) that runs the campaign in the foreground. */
  command?: string[];
}

/**
 * Start the campaign in the background (detached, `nice -n 19`, output appended to the log file)
 * and return as soon as the process has written its pidfile (seconds: it loads its modules first).
 * Throws if one is already running in `dir`, or if the process fails before it is up (a missing
 * checkout, a bad option): then the error carries its exit code and what it wrote to the log. A
 * process that succeeds at once (nothing left to train) returns what it logged as `finished`.
 */
export async function startCampaign(
  dir: string,
  o: StartOptions = {},
): Promise<{ pid: number; log: string; finished?: string }> {
  const f = campaignFiles(dir);
  const running = runningPid(dir);
  if (running !== null) {
    throw new Error(`the campaign in ${dir} is already running (pid ${running})`);
  }
  Deno.mkdirSync(dir, { recursive: true });
  // The last start's record would give a rate until the new process writes its own.
  if (existsSync(f.state)) Deno.removeSync(f.state);
  const logSize = fileSize(f.log);
  const script = decodeURIComponent(new URL("../../tasks/campaign.ts", import.meta.url).pathname);
  const config = decodeURIComponent(new URL("../../deno.json", import.meta.url).pathname);
  const command = o.command ??
    [Deno.execPath(), "run", "-A", "--config", config, script, "run", "--dir", dir];
  if (o.workers !== undefined) command.push("--workers", String(o.workers));
  if (o.batch !== undefined) command.push("--batch", String(o.batch));
  if (o.backend !== undefined) command.push("--backend", o.backend);
  // exec keeps one pid from sh to deno: the pidfile the child writes names the same process.
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'log="$1"; shift; exec nice -n 19 "$@" >>"$log" 2>&1 </dev/null',
      "sh",
      f.log,
      ...command,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
  const finished = await confirmStarted(dir, child, logSize);
  return { pid: child.pid, log: f.log, ...(finished === null ? {} : { finished }) };
}

/**
 * Wait until `child` has written the campaign's pidfile (up to `waitMs`; a slow start is not an
 * error) and return null; if it exits first, return what it wrote to the log when it succeeded
 * (a campaign with nothing left to do), else throw with its exit code and those lines.
 */
async function confirmStarted(
  dir: string,
  child: Deno.ChildProcess,
  logFrom: number,
  waitMs = 120_000,
): Promise<string | null> {
  let exit: Deno.CommandStatus | null = null;
  child.status.then((s) => exit = s);
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    if (runningPid(dir) === child.pid) return null;
    if (exit !== null) {
      const { code } = exit as Deno.CommandStatus;
      const said = logSince(campaignFiles(dir).log, logFrom).trim();
      if (code === 0) return said;
      throw new Error(
        `the campaign process exited at once (exit code ${code}) and is not running; ` +
          (said ? `its log says:\n${said}` : "it wrote nothing to its log"),
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

/** The size of a file in bytes, 0 when it does not exist. */
function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

/** What was appended to a file after its first `from` bytes (its last 4 kB at most). */
function logSince(path: string, from: number): string {
  try {
    const bytes = Deno.readFileSync(path).subarray(from);
    return new TextDecoder().decode(bytes.subarray(Math.max(0, bytes.length - 4096)));
  } catch {
    return "";
  }
}

/** The start record {@link campaignStatus} measures the rate from: now, and the steps stored. */
function writeStartRecord(dir: string): void {
  Deno.writeTextFileSync(
    campaignFiles(dir).state,
    JSON.stringify({ startedMs: Date.now(), startSteps: doneSteps(dir) }),
  );
}

function latestSteps(db: ResultsDb, runs: RunRecord[]): number {
  const m = db.metricsOf(runs.map((r) => r.id));
  return runs.reduce((a, run) => a + runSteps({ run, points: m.get(run.id) ?? [] }), 0);
}

function doneSteps(dir: string): number {
  const f = campaignFiles(dir);
  try {
    Deno.statSync(f.db);
  } catch {
    return 0;
  }
  const db = ResultsDb.open(f.db);
  try {
    return latestSteps(db, db.listRuns());
  } finally {
    db.close();
  }
}

/** What {@link campaignStatus} reports. */
export interface CampaignStatus {
  /** Pid of the background process, null when not running. */
  pid: number | null;
  /** Runs finished (of {@link PLANNED_RUNS}). */
  finished: number;
  /** Runs being trained. */
  running: number;
  /** Runs that failed (retried on the next start). */
  failed: number;
  /** Runs not yet finished nor running. */
  left: number;
  /** Environment steps done (finished runs count fully). */
  steps: number;
  /** Steps per second since the last start, null when unknown. */
  rate: number | null;
  /** Projected finish (ISO time) at that rate, null when unknown. */
  projectedFinish: string | null;
  /** The runs being trained, by id. */
  active: ActiveRun[];
}

/** A run being trained, as {@link campaignStatus} reports it. */
export interface ActiveRun {
  /** Its id in the database. */
  id: number;
  /** Its stage. */
  stage: StageId;
  /** Algorithm. */
  algo: AlgoId;
  /** Learning rate and time limit. */
  cell: Cell;
  /** Seed. */
  seed: number;
  /** Environment steps done (its last logged point). */
  steps: number;
  /** Environment steps it trains for. */
  totalSteps: number;
  /** Average return at its last logged point (NaN before the first). */
  lastReturn: number;
  /** Seconds left at its own rate so far (steps per training second), null before a point. */
  secondsLeft: number | null;
}

/** The campaign's progress from its live database, pidfile and start record. */
export function campaignStatus(dir: string, now = Date.now()): CampaignStatus {
  const f = campaignFiles(dir);
  let runs: RunRecord[] = [];
  let steps = 0;
  let perRun = 2_000_000;
  let active: ActiveRun[] = [];
  try {
    Deno.statSync(f.db);
    const db = ResultsDb.open(f.db);
    try {
      runs = db.listRuns();
      steps = latestSteps(db, runs);
      if (runs.length > 0) perRun = runs[0].totalSteps;
      active = activeRuns(db);
    } finally {
      db.close();
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const n = (s: string) => runs.filter((r) => r.status === s).length;
  const finished = n("finished"), running = n("running"), failed = n("failed");
  let rate: number | null = null;
  try {
    const st = JSON.parse(Deno.readTextFileSync(f.state));
    const secs = (now - st.startedMs) / 1000;
    if (secs > 0 && steps > st.startSteps) rate = (steps - st.startSteps) / secs;
  } catch { /* never started */ }
  const remaining = PLANNED_RUNS * perRun - steps;
  const projectedFinish = rate ? new Date(now + (remaining / rate) * 1000).toISOString() : null;
  return {
    pid: runningPid(dir),
    finished,
    running,
    failed,
    left: PLANNED_RUNS - finished - running,
    steps,
    rate,
    projectedFinish,
    active,
  };
}

/**
 * {@link campaignStatus} as text: the process, the counts, steps and rate, the projected finish,
 * and a line per run being trained.
 */
export function formatCampaignStatus(dir: string, s: CampaignStatus): string {
  const lines = [
    `campaign ${dir}: ${s.pid === null ? "not running" : `running (pid ${s.pid})`}`,
    `runs: ${s.finished} done, ${s.running} running, ${s.failed} failed, ${s.left} left`,
    `env steps: ${s.steps}${s.rate ? `, ${s.rate.toFixed(0)} steps/s` : ""}`,
    `projected finish: ${s.projectedFinish ?? "unknown (no rate yet)"}`,
  ];
  if (s.active.length > 0) lines.push("running now:");
  for (const a of s.active) {
    const pct = Math.floor((100 * a.steps) / a.totalSteps);
    const ret = Number.isNaN(a.lastReturn)
      ? "no point yet"
      : `last return ${a.lastReturn.toFixed(3)}`;
    const left = a.secondsLeft === null ? "" : `, about ${Math.ceil(a.secondsLeft / 60)} min left`;
    lines.push(
      `  run ${a.id} (stage ${a.stage}) ${a.algo} lr ${a.cell.lr} time limit ${a.cell.timeLimit} ` +
        `seed ${a.seed}: ${thousands(a.steps)}/${thousands(a.totalSteps)} steps (${pct}%), ` +
        `${ret}${left}`,
    );
  }
  return lines.join("\n");
}

function thousands(n: number): string {
  return n.toLocaleString("en-US");
}

/** The campaign's runs being trained, with their progress. */
function activeRuns(db: ResultsDb): ActiveRun[] {
  return loadCampaign(db).runs.filter((r) => r.run.status === "running").map((r) => {
    const last = r.points.at(-1);
    const steps = runSteps(r), totalSteps = r.run.totalSteps;
    const rate = last && last.wallSeconds > 0 ? last.envStep / last.wallSeconds : 0;
    return {
      id: r.run.id,
      stage: r.stage,
      algo: r.algo,
      cell: r.cell,
      seed: r.run.seed,
      steps,
      totalSteps,
      lastReturn: last?.avgReturn ?? NaN,
      secondsLeft: rate > 0 ? Math.max(0, totalSteps - steps) / rate : null,
    };
  }).sort((a, b) => a.id - b.id);
}

/**
 * Stop the background campaign: SIGTERM (its runs checkpoint and are released), then wait up to
 * `waitMs` for it to exit. Returns the pid stopped, or null when none was running.
 */
export async function stopCampaign(dir: string, waitMs = 120_000): Promise<number | null> {
  const pid = runningPid(dir);
  if (pid === null) return null;
  Deno.kill(pid, "SIGTERM");
  const until = Date.now() + waitMs;
  while (runningPid(dir) !== null) {
    if (Date.now() > until) throw new Error(`campaign pid ${pid} did not exit within ${waitMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return pid;
}

/**
 * Copy a consistent snapshot of the live database to `dest` (SQLite `VACUUM INTO` a temporary
 * file, then an atomic rename): runs and metric points, never checkpoints (they are files).
 */
export function snapshotDb(dir: string, dest: string): void {
  const src = campaignFiles(dir).db;
  if (!existsSync(src)) throw new Error(`no campaign database ${src}; nothing to snapshot`);
  Deno.mkdirSync(dest.replace(/\/[^/]*$/, "") || ".", { recursive: true });
  const tmp = `${dest}.tmp-${Deno.pid}`;
  try {
    Deno.removeSync(tmp);
  } catch { /* none */ }
  const db = new DatabaseSync(src, { readOnly: true });
  try {
    db.prepare("VACUUM INTO ?").run(tmp);
  } finally {
    db.close();
  }
  Deno.renameSync(tmp, dest);
}
