/**
 * Slurm job-array scripts for a sweep, and the few Slurm commands an array task needs.
 *
 * The script runs array task i of a sweep plan (`tasks/slurm_task.ts --plan ... --task i`) in
 * place of the batch shell (`exec`), so Slurm's signals reach the trainer itself:
 * - `--signal=B:TERM@<grace>`: SIGTERM `grace` seconds before the time limit; the task writes a
 *   checkpoint, then requeues itself so the next start resumes from it;
 * - `scancel`, preemption, `scontrol requeue` and node shutdowns also send SIGTERM (then SIGKILL
 *   after KillWait): the task checkpoints and exits; a requeued task resumes from the checkpoint;
 * - `--requeue` makes the task eligible for requeueing after a node failure or preemption, and
 *   `--open-mode=append` keeps the log of every start in one file.
 *
 * @example
 * ```ts
 * import { slurmScript } from "./slurm.ts";
 * const text = slurmScript({
 *   jobName: "adqn-1a-quick", tasks: 3, time: "01:00:00", cpus: 1,
 *   sweepDir: "/shared/sweep", repoDir: "/shared/repo",
 * });
 * console.log(text.includes("#SBATCH --array=0-2")); // true
 * ```
 * @module
 */
import { sweepPaths } from "./plan.ts";

/** Default seconds between the warning SIGTERM and the time limit. */
export const DEFAULT_GRACE_SECONDS = 120;

/** Options of {@link slurmScript}. */
export interface SlurmScriptOptions {
  /** Job name (`--job-name`). */
  jobName: string;
  /** Number of array tasks: the array is 0..tasks-1. */
  tasks: number;
  /** Time limit per array task, in a Slurm time format (`--time`), e.g. "02:00:00" or "1-12". */
  time: string;
  /** CPUs per task (`--cpus-per-task`). */
  cpus: number;
  /** Absolute path of the sweep folder (plan.json, logs/, db/, ...). */
  sweepDir: string;
  /** Absolute path of the repository (deno.json) on the compute nodes. */
  repoDir: string;
  /** Partition (`--partition`); the cluster's default when omitted. */
  partition?: string;
  /** Memory per node (`--mem`, e.g. "4G"); the cluster's default when omitted. */
  mem?: string;
  /** Account (`--account`). */
  account?: string;
  /** QOS (`--qos`). */
  qos?: string;
  /** At most this many array tasks at once (`--array=0-N%max`). */
  maxParallel?: number;
  /** Seconds before the time limit at which SIGTERM asks the task to checkpoint (default 120). */
  graceSeconds?: number;
  /** Deno executable on the compute nodes (default "deno", found on the submitter's PATH). */
  deno?: string;
  /** Requeue itself when the time-limit warning arrives (default true). */
  autoRequeue?: boolean;
  /** More `#SBATCH` options, each given whole (e.g. "--constraint=avx2"). */
  extraSbatch?: readonly string[];
  /** Comment lines put at the top (e.g. how the script was made). */
  header?: readonly string[];
  /** Environment variables the trainer runs with (e.g. `OPENBLAS_CORETYPE`). */
  env?: Readonly<Record<string, string>>;
}

const TIME_FORMS = "minutes, minutes:seconds, hours:minutes:seconds, days-hours, " +
  'days-hours:minutes or days-hours:minutes:seconds (e.g. "90", "02:00:00", "1-12")';

/**
 * Seconds of a Slurm time limit (`--time`): "minutes", "minutes:seconds",
 * "hours:minutes:seconds", "days-hours", "days-hours:minutes", "days-hours:minutes:seconds".
 * Throws on anything else, on zero, and on "infinite"/"unlimited" (a sweep task needs a limit to
 * checkpoint before).
 *
 * @example
 * ```ts
 * import { parseSlurmTime } from "./slurm.ts";
 * console.log(parseSlurmTime("90"), parseSlurmTime("1:30:00"), parseSlurmTime("1-0")); // 5400 5400 86400
 * ```
 */
export function parseSlurmTime(text: string): number {
  const t = text.trim();
  const bad = (): never => {
    throw new Error(`invalid Slurm time limit ${JSON.stringify(text)}; expected ${TIME_FORMS}`);
  };
  if (!/^(\d+-)?\d+(:\d+){0,2}$/.test(t)) bad();
  const dash = t.indexOf("-");
  const days = dash >= 0 ? Number(t.slice(0, dash)) : 0;
  const parts = (dash >= 0 ? t.slice(dash + 1) : t).split(":").map(Number);
  let seconds: number;
  if (dash >= 0) {
    // days-hours[:minutes[:seconds]]
    const [h, m = 0, s = 0] = parts;
    if (m >= 60 || s >= 60) bad();
    seconds = ((days * 24 + h) * 60 + m) * 60 + s;
  } else if (parts.length === 1) {
    seconds = parts[0] * 60;
  } else if (parts.length === 2) {
    if (parts[1] >= 60) bad();
    seconds = parts[0] * 60 + parts[1];
  } else {
    const [h, m, s] = parts;
    if (m >= 60 || s >= 60) bad();
    seconds = (h * 60 + m) * 60 + s;
  }
  if (!(seconds > 0)) {
    throw new Error(`invalid Slurm time limit ${JSON.stringify(text)}; it must be positive`);
  }
  return seconds;
}

/** Quote a word for bash (single quotes unless it is plainly safe). */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function checkSbatchValue(name: string, value: string): string {
  if (value.length === 0 || /[\s'"\\$`]/.test(value)) {
    throw new Error(
      `invalid ${name} ${JSON.stringify(value)}; expected a value without spaces or quotes`,
    );
  }
  return value;
}

function checkPath(name: string, value: string): string {
  if (!value.startsWith("/")) {
    throw new Error(`${name} ${JSON.stringify(value)} must be an absolute path`);
  }
  if (/[\s%'"\\$`]/.test(value)) {
    throw new Error(
      `${name} ${JSON.stringify(value)} must not contain spaces, quotes, "$", "\\" or "%" ` +
        `(sbatch reads it from a #SBATCH line)`,
    );
  }
  return value.replace(/\/+$/, "") || "/";
}

/**
 * The text of an sbatch job-array script that runs every batch of a sweep (see the module doc).
 * Validates every option and throws with the bad value and what is valid.
 */
export function slurmScript(options: SlurmScriptOptions): string {
  const o = options;
  if (!Number.isSafeInteger(o.tasks) || o.tasks < 1) {
    throw new Error(`invalid number of array tasks ${o.tasks}; expected a positive integer`);
  }
  if (!Number.isSafeInteger(o.cpus) || o.cpus < 1) {
    throw new Error(`invalid --cpus ${o.cpus}; expected a positive integer`);
  }
  const limit = parseSlurmTime(o.time);
  const grace = o.graceSeconds ?? DEFAULT_GRACE_SECONDS;
  if (!Number.isSafeInteger(grace) || grace < 1 || grace > 65535) {
    throw new Error(`invalid grace ${grace}; expected whole seconds in 1..65535`);
  }
  if (grace >= limit) {
    throw new Error(
      `the checkpoint warning (${grace} s before the limit) must come before the time limit ` +
        `--time ${o.time} (${limit} s): give a longer --time or a shorter --grace`,
    );
  }
  if (
    o.maxParallel !== undefined && (!Number.isSafeInteger(o.maxParallel) || o.maxParallel < 1)
  ) {
    throw new Error(`invalid --max-parallel ${o.maxParallel}; expected a positive integer`);
  }
  const jobName = checkSbatchValue("job name", o.jobName);
  const sweepDir = checkPath("sweep folder", o.sweepDir);
  const repoDir = checkPath("repository folder", o.repoDir);
  const paths = sweepPaths(sweepDir);
  const deno = o.deno ?? "deno";
  const lines = ["#!/bin/bash"];
  for (const h of o.header ?? []) lines.push(`# ${h}`.trimEnd());
  const sb = (opt: string) => lines.push(`#SBATCH ${opt}`);
  sb(`--job-name=${jobName}`);
  sb(`--array=0-${o.tasks - 1}${o.maxParallel ? `%${o.maxParallel}` : ""}`);
  if (o.partition !== undefined) sb(`--partition=${checkSbatchValue("partition", o.partition)}`);
  if (o.account !== undefined) sb(`--account=${checkSbatchValue("account", o.account)}`);
  if (o.qos !== undefined) sb(`--qos=${checkSbatchValue("qos", o.qos)}`);
  sb(`--time=${o.time.trim()}`);
  sb("--nodes=1");
  sb("--ntasks=1");
  sb(`--cpus-per-task=${o.cpus}`);
  if (o.mem !== undefined) sb(`--mem=${checkSbatchValue("mem", o.mem)}`);
  sb("--requeue");
  sb(`--signal=B:TERM@${grace}`);
  sb("--open-mode=append");
  sb(`--output=${paths.logDir}/%A_%a.out`);
  sb(`--chdir=${repoDir}`);
  for (const e of o.extraSbatch ?? []) {
    if (!e.startsWith("--") || /[\n]/.test(e)) {
      throw new Error(`invalid extra sbatch option ${JSON.stringify(e)}; expected "--name=value"`);
    }
    sb(e);
  }
  const cmd = [
    deno,
    "run",
    "-A",
    `${repoDir}/tasks/slurm_task.ts`,
    "--plan",
    paths.plan,
    "--task",
  ].map(shellQuote).join(" ");
  lines.push(
    "",
    "set -euo pipefail",
    "export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1",
    ...Object.entries(o.env ?? {}).map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
        throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
      }
      return `export ${k}=${shellQuote(v)}`;
    }),
    'echo "[sweep] $(date -Is) array task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}' +
      ' (job ${SLURM_JOB_ID}, start $((${SLURM_RESTART_COUNT:-0} + 1))) on $(hostname)"',
    "# exec: the trainer replaces this shell, so Slurm's SIGTERM reaches it directly.",
    `exec ${cmd} "\${SLURM_ARRAY_TASK_ID}"${o.autoRequeue === false ? " --no-auto-requeue" : ""}`,
    "",
  );
  return lines.join("\n");
}

/** Output of a finished command. */
export interface CommandOutput {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Run a command to completion (never throws for a non-zero exit; throws if it cannot start). With
 * `timeoutMs`, the command is killed after that long (its exit code is then non-zero).
 */
export async function runCommand(
  cmd: string,
  args: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<CommandOutput> {
  const out = await new Deno.Command(cmd, {
    args: [...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Whether Slurm's client commands answer here (`sinfo` exits 0 within `timeoutMs`). */
export async function slurmAvailable(timeoutMs = 5000): Promise<boolean> {
  try {
    const out = await runCommand("sinfo", ["-h", "-o", "%P"], { timeoutMs });
    return out.code === 0;
  } catch {
    return false;
  }
}

/** The Slurm id of this array task ("<array job>_<task>"), or of this job; null outside Slurm. */
export function currentSlurmJob(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): string | null {
  if (env.SLURM_ARRAY_JOB_ID && env.SLURM_ARRAY_TASK_ID) {
    return `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}`;
  }
  return env.SLURM_JOB_ID ?? null;
}

/** The state Slurm reports for a job (e.g. "RUNNING", "COMPLETING"), or null when unknown. */
export async function jobState(jobId: string): Promise<string | null> {
  try {
    const out = await runCommand("squeue", ["-h", "-j", jobId, "-o", "%T"], { timeoutMs: 20_000 });
    if (out.code !== 0) return null;
    return out.stdout.trim().split("\n")[0]?.trim() || null;
  } catch {
    return null;
  }
}

/**
 * Whether a SIGTERM received by job `jobId` is Slurm's time-limit warning (`--signal`) rather
 * than a kill: a cancelled, requeued or preempted job is already COMPLETING (or gone) when its
 * processes get SIGTERM, while a warned job is still RUNNING.
 */
export async function isTimeLimitWarning(jobId: string): Promise<boolean> {
  return (await jobState(jobId)) === "RUNNING";
}

/** Requeue job `jobId` (`scontrol requeue`); returns Slurm's error text, or null on success. */
export async function requeueJob(jobId: string): Promise<string | null> {
  try {
    const out = await runCommand("scontrol", ["requeue", jobId], { timeoutMs: 30_000 });
    return out.code === 0 ? null : (out.stderr.trim() || `scontrol exited ${out.code}`);
  } catch (e) {
    return (e as Error).message;
  }
}
