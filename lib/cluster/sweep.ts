/**
 * The `deno task sweep` command: turn panels of Figure 1 and a preset into a sweep folder with a
 * plan and a Slurm job-array script (and optionally submit it).
 *
 * @example
 * ```ts ignore
 * import { buildSweep } from "./sweep.ts";
 * await buildSweep({ figure: ["1a"], preset: "quick", emit: "slurm", time: "01:00:00" });
 * ```
 * @module
 */
import { checkoutPath } from "../checkout.ts";
import { buildGrid, type GridRun } from "../experiments/grid.ts";
import { CAMPAIGN_BACKEND, CAMPAIGN_BLAS_KERNELS } from "../experiments/campaign.ts";
import {
  campaignStageRuns,
  checkCampaignStage,
  STAGE0,
  STAGE1,
} from "../experiments/campaign_stages.ts";
import { TRAINER_BACKENDS } from "../experiments/runner.ts";
import {
  checkFigureId,
  checkPresetId,
  FIGURE_IDS,
  type FigureId,
  type Overrides,
} from "../experiments/presets.ts";
import { codeVersion } from "../results/db.ts";
import { type AlgoId, checkAlgoId } from "../train/agent.ts";
import { applySettings, batchKey, parseNumber } from "../train/config.ts";
import {
  makePlan,
  PLAN_VERSION,
  type PlanRunOptions,
  readPlan,
  runKey,
  sweepPaths,
  type SweepPlan,
  writeFileAtomic,
} from "./plan.ts";
import { DEFAULT_GRACE_SECONDS, runCommand, shellQuote, slurmScript } from "./slurm.ts";

/** Where `deno task collect` merges a sweep by default. */
const DEFAULT_COLLECT_DB = "data/results.sqlite";

/** Where the campaign's sweeps are merged (the selection database of stage 1). */
export const CAMPAIGN_SWEEP_DB = "data/slurm/campaign.sqlite";

/** Usage text of `deno task sweep`. */
export const SWEEP_USAGE =
  `usage: deno task sweep --figure <1a..1e|all>[,...] --preset <quick|paper> --emit slurm [options]
       deno task sweep --campaign stage0 --emit slurm [options]
       deno task sweep --campaign stage1 --selection <db> --emit slurm [options]
  Writes <out>/plan.json and <out>/sweep.sbatch, a Slurm job-array script: array task i trains
  batch i of the runs (figures × algorithms × seeds) into <out>/db/task-<i>.sqlite, resuming from
  checkpoints; then merge with: deno task collect --from <out> --db data/results.sqlite

  The Figure 1 campaign (the paper's protocol with its hyper-parameter selection, as deno task
  campaign trains it on one machine, run for run):
    --campaign stage0      its 40 selection runs on Heaven-Hell-3 (batches of a cell's 2 seeds)
    --campaign stage1      its 50 runs of panels 1a and 1b at the settings selected in --selection
    --selection DB         the database holding stage 0's finished runs (e.g. the one collected
                           from the stage-0 sweep); stage 1 needs all 40 and the gate open
    Campaign sweeps train on wasm-blas with OPENBLAS_CORETYPE=${CAMPAIGN_BLAS_KERNELS} (as the
    campaign does, so their numbers are the campaign's), in batches of a configuration's seeds;
    they default to --out data/slurm/campaign-<stage>; merge both into ${CAMPAIGN_SWEEP_DB}.

  Slurm:
    --partition P          partition (default: the cluster's default)
    --time T               time limit per array task (default 04:00:00); tasks checkpoint and
                           requeue themselves --grace seconds before it
    --cpus C               CPUs per array task (default 1; training uses one core)
    --mem M                memory per task, e.g. 4G (default: the cluster's default)
    --account A, --qos Q   accounting options
    --max-parallel N       at most N array tasks at once
    --sbatch-option OPT    any other #SBATCH option, whole (repeatable), e.g. --sbatch-option=--constraint=avx2
    --grace S              seconds between the warning SIGTERM and the time limit (default ${DEFAULT_GRACE_SECONDS})
    --no-auto-requeue      do not requeue a task that reaches its time limit
    --submit               also run sbatch and print the job id
  Sweep:
    --batch-size N         runs per array task (default 1); a task's runs that differ only in
                           seed, lr and time limit train together as one batch on a native-BLAS node
    --seeds N              seeds 0..N-1 (default: the preset's)
    --algos a,b            algorithms (default all five)
    --set key=value        training override for every run (repeatable), e.g. --set totalSteps=5000
    --checkpoint-every N   checkpoint period in environment steps (default: each run's logEvery)
    --backend B            tensor backend: auto (default: wasm-blas where OpenBLAS loads, else
                           wasm), wasm-blas, wasm, cpu, cpu-blas, webgpu
    --out DIR              sweep folder (default data/slurm/<figures>-<preset>); on a shared file system
    --deno PATH            deno executable on the compute nodes (default: deno on the PATH)
    --force                replace an existing plan whose runs or batches differ`;

/** The options of `deno task sweep`, as node:util parseArgs gives them. */
export interface SweepCliOptions {
  /** Panels (repeatable, comma lists, or "all"). */
  figure?: string[];
  /** Preset id. */
  preset?: string;
  /** What to write: "slurm". */
  emit?: string;
  /** Slurm partition. */
  partition?: string;
  /** Slurm time limit per task. */
  time?: string;
  /** CPUs per task. */
  cpus?: string;
  /** Memory per task. */
  mem?: string;
  /** Slurm account. */
  account?: string;
  /** Slurm QOS. */
  qos?: string;
  /** Array throttle. */
  "max-parallel"?: string;
  /** Runs per array task. */
  "batch-size"?: string;
  /** Number of seeds. */
  seeds?: string;
  /** Comma list of algorithms. */
  algos?: string;
  /** key=value overrides. */
  set?: string[];
  /** Sweep folder. */
  out?: string;
  /** Seconds of warning before the time limit. */
  grace?: string;
  /** Checkpoint period in environment steps. */
  "checkpoint-every"?: string;
  /** Tensor backend. */
  backend?: string;
  /** Deno executable on the compute nodes. */
  deno?: string;
  /** Extra #SBATCH options. */
  "sbatch-option"?: string[];
  /** Disable the self-requeue at the time limit. */
  "no-auto-requeue"?: boolean;
  /** Replace a differing plan. */
  force?: boolean;
  /** Submit with sbatch. */
  submit?: boolean;
  /** A stage of the Figure 1 campaign instead of --figure and --preset. */
  campaign?: string;
  /** Campaign stage 1: the database holding stage 0's finished runs. */
  selection?: string;
  /** Where messages go (default console.log). */
  log?: (line: string) => void;
}

/** What {@link prepareSweep} wrote. */
export interface PreparedSweep {
  /** The plan (the existing one when unchanged). */
  plan: SweepPlan;
  /** Path of the script. */
  script: string;
  /** The script text. */
  scriptText: string;
  /** Whether an identical plan was already there. */
  reused: boolean;
  /** The database its hints say to merge it into. */
  collectDb: string;
}

/** Absolute path of the repository (the folder of deno.json). */
export function repoRoot(): string {
  return checkoutPath(new URL("../..", import.meta.url), "a cluster sweep").replace(/\/+$/, "");
}

function positiveInt(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const v = parseNumber(text, name);
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new Error(`invalid ${name} ${JSON.stringify(text)}; expected a positive integer`);
  }
  return v;
}

function absolute(path: string): string {
  const p = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const parts: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return "/" + parts.join("/");
}

/** Panels from repeatable, comma-separated --figure values ("all" = every panel). */
export function parseFigures(values: readonly string[] | undefined): FigureId[] {
  const items = (values ?? []).flatMap((v) => v.split(",")).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) {
    throw new Error(`--figure is required: one of ${FIGURE_IDS.join(", ")}, or all`);
  }
  const out: FigureId[] = [];
  for (const f of items) {
    for (const id of f === "all" ? FIGURE_IDS : [checkFigureId(f)]) {
      if (!out.includes(id)) out.push(id);
    }
  }
  return out;
}

/** The sweep plan's training overrides from --set key=value settings. */
export function parseOverrides(settings: readonly string[] | undefined): Overrides {
  const o = applySettings({}, settings ?? []) as Record<string, unknown>;
  for (const k of ["env", "algo", "seed"]) {
    if (k in o) {
      throw new Error(
        `--set ${k}=... is not allowed in a sweep: ${k} comes from --figure, --algos and --seeds`,
      );
    }
  }
  return o as Overrides;
}

function samePlan(a: SweepPlan, b: SweepPlan): boolean {
  if (a.runs.length !== b.runs.length || a.tasks !== b.tasks) return false;
  if (JSON.stringify(a.options) !== JSON.stringify(b.options)) return false;
  return a.runs.every((r, i) => runKey(r) === runKey(b.runs[i]) && r.task === b.runs[i].task);
}

/** Build the plan and the script from command-line options, and write them (no submission). */
export function prepareSweep(o: SweepCliOptions): PreparedSweep {
  if (o.emit === undefined) throw new Error("missing --emit; expected --emit slurm");
  if (o.emit !== "slurm") {
    throw new Error(`--emit ${JSON.stringify(o.emit)} is not supported; expected slurm`);
  }
  const runs = sweepRuns(o, parseOverrides(o.set));
  const batchSize = positiveInt(o["batch-size"], "--batch-size", runs.batchSize);
  const cpus = positiveInt(o.cpus, "--cpus", 1);
  const grace = positiveInt(o.grace, "--grace", DEFAULT_GRACE_SECONDS);
  const maxParallel = o["max-parallel"] === undefined
    ? undefined
    : positiveInt(o["max-parallel"], "--max-parallel", 1);
  const options: PlanRunOptions = {};
  if (o["checkpoint-every"] !== undefined) {
    options.checkpointEverySteps = positiveInt(o["checkpoint-every"], "--checkpoint-every", 1);
  }
  if (o.backend !== undefined) {
    if (!(TRAINER_BACKENDS as readonly string[]).includes(o.backend)) {
      throw new Error(
        `invalid --backend ${JSON.stringify(o.backend)}; expected one of ${
          TRAINER_BACKENDS.join(", ")
        }`,
      );
    }
    options.backend = o.backend as PlanRunOptions["backend"];
  } else if (runs.backend) options.backend = runs.backend;
  // Batches are consecutive runs of the plan: put a configuration's seeds next to each other so
  // that a batch trains them together.
  const grid = batchSize > 1 ? configMajor(runs.grid) : runs.grid;
  const { name, title } = runs;
  const dir = absolute(o.out ?? `data/slurm/${name}`);
  const paths = sweepPaths(dir);
  let plan = makePlan({
    dir,
    batchSize,
    title,
    codeVersion: codeVersion(),
    options,
    runs: grid.map((g) => ({
      hash: g.hash,
      seed: g.seed,
      label: g.label,
      config: g.config as unknown as Record<string, unknown> & { env: string; algo: string },
    })),
  });
  let reused = false;
  let existing: SweepPlan | null = null;
  try {
    existing = readPlan(dir);
  } catch (e) {
    if (!/no sweep plan/.test((e as Error).message)) {
      if (!o.force) throw new Error(`${(e as Error).message} (use --force to replace it)`);
    }
  }
  if (existing && existing.version === PLAN_VERSION && samePlan(existing, plan)) {
    plan = existing;
    reused = true;
  } else if (existing && !o.force) {
    throw new Error(
      `${paths.plan} holds another sweep (other runs, batches or options); its task databases ` +
        `would not match. Use another --out, or --force to replace it`,
    );
  }
  const time = o.time ?? "04:00:00";
  const header = [
    `Made by: deno task sweep (${title}), ${plan.createdAt}`,
    `${plan.runs.length} run(s) in ${plan.tasks} array task(s) of up to ${batchSize} run(s).`,
    `Submit: sbatch ${paths.script}`,
    `Merge:  deno task collect --from ${dir} --db ${runs.collectDb}`,
    "Resubmitting is safe: finished runs are skipped, interrupted ones resume from checkpoints.",
  ];
  const scriptText = slurmScript({
    jobName: `adqn-${name}`,
    tasks: plan.tasks,
    time,
    cpus,
    sweepDir: dir,
    repoDir: repoRoot(),
    partition: o.partition,
    mem: o.mem,
    account: o.account,
    qos: o.qos,
    maxParallel,
    graceSeconds: grace,
    deno: o.deno,
    autoRequeue: !o["no-auto-requeue"],
    extraSbatch: o["sbatch-option"],
    header,
    env: options.backend?.endsWith("-blas") ? runs.env : undefined,
  });
  for (const d of [dir, paths.logDir, paths.dbDir, paths.checkpointDir, paths.eventDir]) {
    Deno.mkdirSync(d, { recursive: true });
  }
  if (!reused) writeFileAtomic(paths.plan, JSON.stringify(plan, null, 1) + "\n");
  writeFileAtomic(paths.script, scriptText, 0o755);
  return { plan, script: paths.script, scriptText, reused, collectDb: runs.collectDb };
}

/** Run `deno task sweep` with parsed options; returns the exit code. */
export async function buildSweep(o: SweepCliOptions): Promise<number> {
  const log = o.log ?? ((l: string) => console.log(l));
  const { plan, script, reused, collectDb } = prepareSweep(o);
  log(
    `${reused ? "Kept" : "Wrote"} ${plan.dir}/plan.json (${plan.title}: ${plan.runs.length} ` +
      `run(s) in ${plan.tasks} array task(s)) and wrote ${script}.`,
  );
  const merge = `Merge the results (any time; idempotent; lists missing runs):\n  deno task ` +
    `collect --from ${shellQuote(plan.dir)} --db ${shellQuote(collectDb)}`;
  const next = o.campaign === "stage0"
    ? [
      `Once all 40 have finished and are merged, stage 1:\n  deno task sweep --campaign stage1 ` +
      `--selection ${shellQuote(collectDb)} --emit slurm`,
    ]
    : o.campaign === "stage1"
    ? [
      `The selection, gate and verdicts, once merged:\n  deno task campaign report --db ${
        shellQuote(collectDb)
      }`,
    ]
    : [];
  if (!o.submit) {
    log(`Submit it with:\n  sbatch ${shellQuote(script)}`);
    log(`Watch it with:\n  squeue -u "$USER"`);
    for (const line of [merge, ...next]) log(line);
    return 0;
  }
  const out = await runCommand("sbatch", ["--parsable", script]);
  if (out.code !== 0) {
    log(`sbatch failed (exit ${out.code}): ${out.stderr.trim()}`);
    return 1;
  }
  const jobId = out.stdout.trim().split(";")[0];
  log(`Submitted array job ${jobId}.`);
  log(`Watch it with:\n  squeue -j ${jobId}`);
  for (const line of [merge, ...next]) log(line);
  return 0;
}

/** What a sweep trains, from its command line. */
interface SweepRuns {
  /** The runs. */
  grid: GridRun[];
  /** Default folder name under data/slurm. */
  name: string;
  /** One line saying what it is. */
  title: string;
  /** Default --batch-size. */
  batchSize: number;
  /** Default backend (undefined: the plan's own default, auto). */
  backend?: PlanRunOptions["backend"];
  /** Environment of the trainer on a native-BLAS backend. */
  env?: Record<string, string>;
  /** Where the hints say to merge it. */
  collectDb: string;
}

/** The runs of `--figure`/`--preset`, or of `--campaign <stage>`. */
function sweepRuns(o: SweepCliOptions, extra: Overrides): SweepRuns {
  if (o.campaign !== undefined) {
    const stage = checkCampaignStage(o.campaign);
    const fixed = {
      "--figure": o.figure,
      "--preset": o.preset,
      "--seeds": o.seeds,
      "--algos": o.algos,
    };
    const clash = Object.entries(fixed).find(([, v]) => v !== undefined);
    if (clash) {
      throw new Error(
        `${clash[0]} cannot be combined with --campaign: the campaign's stages fix the runs`,
      );
    }
    if (stage === "stage0" && o.selection !== undefined) {
      throw new Error("--selection belongs to --campaign stage1 (stage 0 is the selection)");
    }
    return {
      grid: campaignStageRuns(stage, { selectionDb: o.selection, budget: extra }),
      name: `campaign-${stage}`,
      title: stage === "stage0"
        ? "the Figure 1 campaign, stage 0 (selection on Heaven-Hell-3)"
        : `the Figure 1 campaign, stage 1 (panels 1a and 1b at the settings selected in ${o.selection})`,
      batchSize: stage === "stage0" ? STAGE0.seeds.length : STAGE1.seeds,
      backend: CAMPAIGN_BACKEND,
      env: { OPENBLAS_CORETYPE: CAMPAIGN_BLAS_KERNELS },
      collectDb: CAMPAIGN_SWEEP_DB,
    };
  }
  if (o.selection !== undefined) throw new Error("--selection needs --campaign stage1");
  if (o.preset === undefined) throw new Error("--preset is required: quick or paper");
  const preset = checkPresetId(o.preset);
  const figures = parseFigures(o.figure);
  const algos: AlgoId[] | undefined = o.algos === undefined
    ? undefined
    : o.algos.split(",").map((a) => checkAlgoId(a.trim()));
  const seeds = o.seeds === undefined ? undefined : positiveInt(o.seeds, "--seeds", 1);
  return {
    grid: buildGrid({ figures, preset, seeds, algos, extra }),
    name: `${figures.join("-")}-${preset}`,
    title: `figure ${figures.join(", ")}, preset ${preset}`,
    batchSize: 1,
    collectDb: DEFAULT_COLLECT_DB,
  };
}

/**
 * `grid` with the runs that can share a batch together (`batchKey`: all but seed, lr and time
 * limit), and within them each configuration's seeds together, both in order of first appearance.
 */
function configMajor(grid: readonly GridRun[]): GridRun[] {
  const groups = new Map<string, Map<string, GridRun[]>>();
  for (const g of grid) {
    const key = batchKey(g.config);
    const byHash = groups.get(key) ?? groups.set(key, new Map()).get(key)!;
    const list = byHash.get(g.hash);
    if (list) list.push(g);
    else byHash.set(g.hash, [g]);
  }
  return [...groups.values()].flatMap((byHash) => [...byHash.values()].flat());
}
