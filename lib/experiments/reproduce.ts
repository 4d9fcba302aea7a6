/**
 * Reproduce Figure 1 panels: register the grid of runs (panels × algorithms × seeds) in the results
 * database, train them in parallel worker processes that claim runs through leases, show one
 * combined progress view, then write the figures and a table of final returns. Each worker trains
 * the seeds of one (panel, algorithm) together as one batched computation (`batch`, default `auto`:
 * on the native-BLAS backend, batches of up to 20 runs sized so that the workers finish together
 * (`balancedBatchSize`); `batch: 1` trains one run at a time).
 *
 * Resumable after a kill at any moment: finished runs are never redone, interrupted ones resume
 * from their checkpoints, runs of a killed worker are taken over (their lease's process is dead),
 * and failed runs are retried once per invocation.
 *
 * @example
 * ```ts ignore
 * import { reproduce } from "./reproduce.ts";
 * const r = await reproduce({ figures: ["1a"], preset: "quick", workers: 2, dbPath: "data/results.sqlite",
 *   outDir: "out", checkpointDir: "runs" });
 * console.log(r.exitCode);
 * ```
 * @module
 */
import {
  currentOwner,
  DEFAULT_LEASE_TIMEOUT_MS,
  ResultsDb,
  type RunRecord,
  type RunStatus,
} from "../results/db.ts";
import {
  finalReturns,
  type FinalRow,
  formatFinalTable,
  writeFigures,
  type WriteFiguresResult,
} from "./figures.ts";
import { buildGrid, type GridRun, registerGrid } from "./grid.ts";
import { type FigureId, type Overrides, type PresetId, PRESETS } from "./presets.ts";
import {
  formatCount,
  formatDuration,
  formatReturn,
  progressBar,
  ProgressView,
  RateMeter,
} from "./progress.ts";
import { runBatchKey, type TrainerBackend } from "./runner.ts";
import type { AlgoId } from "../train/agent.ts";
import { balancedBatchSize, type WorkerEvent } from "./workers.ts";

/** How to start a worker process: a command and its arguments. */
export type WorkerCommand = (workerArgs: string[]) => { command: string; args: string[] };

function fileUrlPath(u: URL): string {
  return decodeURIComponent(u.pathname);
}

/** The default worker: `deno run -A [--config deno.json] tasks/worker.ts <args>`. */
export function defaultWorkerCommand(workerArgs: string[]): { command: string; args: string[] } {
  const script = new URL("../../tasks/worker.ts", import.meta.url);
  if (script.protocol !== "file:") {
    throw new Error(`worker script ${script} is not a local file; run reproduce from a checkout`);
  }
  const config = new URL("../../deno.json", import.meta.url);
  let hasConfig = false;
  try {
    hasConfig = Deno.statSync(fileUrlPath(config)).isFile;
  } catch { /* none */ }
  return {
    command: Deno.execPath(),
    args: [
      "run",
      "-A",
      ...(hasConfig ? ["--config", fileUrlPath(config)] : []),
      fileUrlPath(script),
      ...workerArgs,
    ],
  };
}

/** Options of {@link reproduce}. */
export interface ReproduceOptions {
  /** Panels. */
  figures: readonly FigureId[];
  /** Preset. */
  preset: PresetId;
  /** Seeds per (panel, algorithm) (default the preset's). */
  seeds?: number;
  /** Explicit seeds instead of 0..seeds-1 (the campaign's selection seeds 1000, 1001). */
  seedList?: readonly number[];
  /** Algorithms (default all five). */
  algos?: readonly AlgoId[];
  /** Overrides applied to every run after the preset's (they change the runs' hashes). */
  extra?: Overrides;
  /**
   * The runs themselves, built by the caller with {@link buildGrid} (several grids concatenated: the
   * campaign's cells), instead of the grid of `figures`, `seeds`, `seedList`, `algos` and `extra`.
   * One call for all of them keeps every worker busy until the last batch.
   */
  grid?: readonly GridRun[];
  /** Parallel worker processes. */
  workers: number;
  /** Results database file. */
  dbPath: string;
  /** Output directory of the figures. */
  outDir: string;
  /** Checkpoint directory. */
  checkpointDir: string;
  /** Tensor backend of the workers (default wasm). */
  backend?: TrainerBackend;
  /**
   * Most runs (seeds of one panel and algorithm) a worker trains together, or "auto" (default: 20
   * on a native-BLAS backend, else 1); 1 trains one run at a time.
   */
  batch?: number | "auto";
  /** Lease timeout in ms. */
  leaseTimeoutMs?: number;
  /** Keep checkpoints of finished runs. */
  keepCheckpoints?: boolean;
  /**
   * A run whose checkpoint does not decode starts over from scratch, the damaged file kept as
   * `<checkpoint>.corrupt-<time>` (default false: the run fails, saying what to do).
   */
  restartCorrupt?: boolean;
  /** Render PNG files (default true). */
  png?: boolean;
  /** How to start a worker (default {@link defaultWorkerCommand}). */
  workerCommand?: WorkerCommand;
  /** Progress display (default a {@link ProgressView} on stderr). */
  view?: ProgressView;
  /** Stop cleanly: workers checkpoint and release their runs. */
  signal?: AbortSignal;
  /** Poll period (ms) while waiting for runs held by other processes (default 2000). */
  pollMs?: number;
  /** Where summary lines go (default console.log). */
  print?(line: string): void;
}

/** What {@link reproduce} did. */
export interface ReproduceResult {
  /** 0 all finished, 1 some failed, 130 interrupted. */
  exitCode: number;
  /** The grid's runs at the end. */
  runs: RunRecord[];
  /** Their statuses. */
  counts: Record<RunStatus, number>;
  /** Figures written (not when interrupted). */
  figures?: WriteFiguresResult;
  /** Final returns per panel and algorithm. */
  table: FinalRow[];
}

interface Live {
  label: string;
  envStep: number;
  totalSteps: number;
  avgReturn: number | null;
}

interface WorkerSlot {
  index: number;
  child: Deno.ChildProcess;
  /** The runs the worker is training (several when it trains a batch). */
  runIds: Set<number>;
  stderrTail: string[];
  done: Promise<Deno.CommandStatus>;
}

/**
 * One progress line for a worker's runs: the run itself, or for a batch its first label with the
 * seed count, the mean progress and the mean of the runs' latest average returns.
 */
function slotLine(index: number, ls: Live[]): string {
  const envStep = ls.reduce((a, l) => a + l.envStep, 0) / ls.length;
  const totalSteps = ls.reduce((a, l) => a + l.totalSteps, 0) / ls.length;
  const avgs = ls.map((l) => l.avgReturn).filter((x): x is number => x !== null);
  const avg = avgs.length > 0 ? avgs.reduce((a, b) => a + b, 0) / avgs.length : NaN;
  const label = ls.length === 1 ? ls[0].label : `${ls[0].label} +${ls.length - 1} seeds`;
  return `  w${index} ${label.padEnd(34)} ${progressBar(envStep / totalSteps, 20)} ` +
    `${formatCount(Math.round(envStep)).padStart(6)}/${formatCount(totalSteps)} ` +
    `avg100 ${formatReturn(avg)}`;
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void) {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  }
  if (buf) onLine(buf);
}

/** Run the grid of the given panels to completion (or interruption) and write the figures. */
export async function reproduce(options: ReproduceOptions): Promise<ReproduceResult> {
  const print = options.print ?? ((l: string) => console.log(l));
  const view = options.view ?? new ProgressView();
  const workerCommand = options.workerCommand ?? defaultWorkerCommand;
  const leaseTimeoutMs = options.leaseTimeoutMs ?? DEFAULT_LEASE_TIMEOUT_MS;
  const pollMs = options.pollMs ?? 2000;
  const preset = PRESETS[options.preset];
  const db = ResultsDb.open(options.dbPath);
  try {
    const grid = options.grid ?? buildGrid({
      figures: options.figures,
      preset: options.preset,
      seeds: options.seeds,
      seedList: options.seedList,
      algos: options.algos,
      extra: options.extra,
    });
    const registered = registerGrid(db, grid, options.checkpointDir);
    const ids = registered.map((r) => r.id);
    const totalSteps = registered.reduce((a, r) => a + r.totalSteps, 0);
    const retried = db.requeueFailed(ids);
    const name = `${options.figures.join(",")} (${options.preset}${
      preset.provisional ? ", provisional" : ""
    })`;
    view.log(
      `reproduce ${name}: ${ids.length} runs (${
        options.grid
          ? "given"
          : `${options.figures.length} panel(s) × 5 algorithms × ${
            options.seedList?.length ?? options.seeds ?? preset.seeds
          } seed(s)`
      }), ${formatCount(totalSteps)} environment steps; ` +
        `database ${options.dbPath}`,
    );
    if (retried > 0) view.log(`retrying ${retried} failed run${retried === 1 ? "" : "s"}`);

    const owner = currentOwner();
    const live = new Map<number, Live>();
    const slots: WorkerSlot[] = [];
    const rate = new RateMeter(30);
    let counts = db.statusCounts(ids);
    let stored = db.listRuns({ ids });
    let lastRefresh = 0;
    let waitingNote = "";
    let stopping = options.signal?.aborted ?? false;

    const doneSteps = () => {
      let s = 0;
      for (const r of stored) {
        const l = live.get(r.id);
        if (r.status === "finished") s += r.totalSteps;
        else s += Math.min(r.totalSteps, Math.max(r.envSteps, l?.envStep ?? 0));
      }
      return s;
    };
    const render = (force = false) => {
      const now = performance.now();
      if (force || now - lastRefresh > 1000) {
        counts = db.statusCounts(ids);
        stored = db.listRuns({ ids });
        lastRefresh = now;
      }
      const done = doneSteps();
      rate.add(done, now);
      const r = rate.rate();
      const eta = r > 0 ? (totalSteps - done) / r : NaN;
      const head =
        `${name}: ${counts.finished}/${ids.length} finished, ${counts.running} running, ` +
        `${counts.failed} failed | ${formatCount(done)}/${formatCount(totalSteps)} steps ` +
        `${(100 * done / Math.max(1, totalSteps)).toFixed(0)}% | ` +
        `${Number.isFinite(r) ? formatCount(r) : "?"} steps/s | ETA ${formatDuration(eta)}` +
        (waitingNote ? ` | ${waitingNote}` : "") + (stopping ? " | stopping..." : "");
      const lines = [head];
      for (const s of slots) {
        const ls = [...s.runIds].map((id) => live.get(id)).filter((l) => l !== undefined);
        lines.push(ls.length > 0 ? slotLine(s.index, ls) : `  w${s.index} starting...`);
      }
      view.update(lines, force);
    };

    const stopAll = () => {
      if (stopping) return;
      stopping = true;
      for (const s of slots) {
        try {
          s.child.kill("SIGINT");
        } catch { /* already gone */ }
      }
    };
    options.signal?.addEventListener("abort", stopAll);
    const timer = setInterval(() => render(), 250);

    let autoBatch: number | undefined;
    const spawn = (index: number): WorkerSlot => {
      const args = [
        "--db",
        options.dbPath,
        "--checkpoint-dir",
        options.checkpointDir,
        "--ids",
        ids.join(","),
        "--lease-timeout",
        String(leaseTimeoutMs / 1000),
        "--backend",
        options.backend ?? "wasm",
        "--parent-pid",
        String(Deno.pid),
        "--batch",
        String(options.batch ?? "auto"),
        ...(autoBatch === undefined ? [] : ["--auto-batch", String(autoBatch)]),
        ...(options.keepCheckpoints ? ["--keep-checkpoints"] : []),
        ...(options.restartCorrupt ? ["--restart-corrupt"] : []),
      ];
      const { command, args: full } = workerCommand(args);
      const child = new Deno.Command(command, {
        args: full,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const slot: WorkerSlot = {
        index,
        child,
        runIds: new Set(),
        stderrTail: [],
        done: child.status,
      };
      const out = readLines(child.stdout, (line) => {
        let e: WorkerEvent;
        try {
          e = JSON.parse(line);
        } catch {
          view.log(`[w${index}] ${line}`);
          return;
        }
        switch (e.type) {
          case "claimed":
            slot.runIds.add(e.runId);
            live.set(e.runId, {
              label: e.label,
              envStep: e.envSteps,
              totalSteps: e.totalSteps,
              avgReturn: null,
            });
            break;
          case "progress": {
            const l = live.get(e.runId);
            if (l) {
              l.envStep = e.envStep;
              l.avgReturn = e.avgReturn;
            }
            break;
          }
          case "metric": {
            const l = live.get(e.runId);
            if (l) l.avgReturn = e.avgReturn;
            break;
          }
          case "log":
            view.log(`[w${index}] ${e.message}`);
            break;
          case "done":
            view.log(`[w${index}] ${e.message}`);
            live.delete(e.runId);
            slot.runIds.delete(e.runId);
            render(true);
            break;
        }
      });
      const err = readLines(child.stderr, (line) => {
        slot.stderrTail.push(line);
        if (slot.stderrTail.length > 30) slot.stderrTail.shift();
        view.log(`[w${index}] ${line}`);
      });
      slot.done = Promise.all([out, err]).then(() => child.status);
      return slot;
    };

    let failure: string | undefined;
    while (!stopping) {
      const claimable = db.claimableIds({ owner, ids, leaseTimeoutMs });
      counts = db.statusCounts(ids);
      if (claimable.length === 0) {
        if (counts.running === 0) break;
        waitingNote = `waiting for ${counts.running} run${
          counts.running === 1 ? "" : "s"
        } held by other processes`;
        render(true);
        await new Promise((r) => setTimeout(r, pollMs));
        continue;
      }
      waitingNote = "";
      // A round in which some worker failed and no run moved (status or stored steps) is a crash
      // loop: stop. One whose runs moved on goes on (a worker killed mid-run, e.g. by the OOM
      // killer, leaves its runs to the next round to resume).
      const progress = () =>
        JSON.stringify(db.listRuns({ ids }).map((r) => [r.status, r.envSteps]));
      const before = progress();
      const k = Math.max(1, Math.min(options.workers, claimable.length));
      // `auto`: batches sized so that the workers finish together (see balancedBatchSize).
      if ((options.batch ?? "auto") === "auto") {
        const perKey = new Map<string, number>();
        for (const r of db.listRuns({ ids: claimable })) {
          const key = runBatchKey(r);
          perKey.set(key, (perKey.get(key) ?? 0) + 1);
        }
        autoBatch = balancedBatchSize([...perKey.values()], k);
      }
      for (let i = 1; i <= k; i++) slots.push(spawn(i));
      render(true);
      const statuses = await Promise.all(slots.map((s) => s.done));
      const bad = slots.filter((_, i) => !statuses[i].success && statuses[i].code !== 130);
      if (bad.length > 0 && before === progress() && !stopping) {
        const s = bad[0];
        failure = `worker ${s.index} exited with code ${
          statuses[slots.indexOf(s)].code
        } without any run making progress:\n${s.stderrTail.slice(-10).join("\n")}`;
      }
      slots.length = 0;
      if (failure) break;
    }
    clearInterval(timer);
    options.signal?.removeEventListener("abort", stopAll);
    render(true);
    view.done();

    const runs = db.listRuns({ ids });
    counts = db.statusCounts(ids);
    const byFigure = options.figures.map((f) => {
      const keys = new Set(grid.filter((g) => g.figure === f).map((g) => `${g.hash}:${g.seed}`));
      return { f, mine: runs.filter((r) => keys.has(`${r.hash}:${r.seed}`)) };
    });
    const table = byFigure.flatMap(({ f, mine }) => finalReturns(db, f, mine));
    if (failure) {
      print(`reproduce stopped: ${failure}`);
      return { exitCode: 1, runs, counts, table };
    }
    if (stopping && counts.finished < ids.length) {
      print(
        `interrupted: ${counts.finished}/${ids.length} runs finished; ` +
          `rerun the same command to resume`,
      );
      return { exitCode: 130, runs, counts, table };
    }
    const figures = await writeFigures(db, {
      figures: options.figures,
      preset: options.preset,
      outDir: options.outDir,
      png: options.png,
      extra: options.extra,
      runs,
    });
    for (const w of figures.written) {
      print(
        `figure ${w.figure}: ${
          [w.files.json, w.files.png, w.files.svg, w.files.html].filter(Boolean).join(", ")
        }`,
      );
    }
    if (figures.pngSkipped) print(figures.pngSkipped);
    print("");
    print(formatFinalTable(table));
    const failed = runs.filter((r) => r.status === "failed");
    for (const r of failed) {
      print(
        `failed: run ${r.id} ${r.algo} ${r.env} seed ${r.seed}: ${(r.error ?? "").split("\n")[0]}`,
      );
    }
    return { exitCode: failed.length > 0 ? 1 : 0, runs, counts, figures, table };
  } finally {
    db.close();
  }
}
