/**
 * `deno run -A tasks/slurm_task.ts --plan <sweep>/plan.json --task <i>`: what one array task of a
 * sweep's sbatch script runs (see lib/cluster/task.ts). It trains batch i into
 * `<sweep>/db/task-<i>.sqlite`, resuming every run from its checkpoint.
 *
 * On SIGTERM (or SIGINT) the current run writes a checkpoint and the task exits. When the signal
 * is Slurm's time-limit warning (`--signal=B:TERM@grace`: the job is still RUNNING), the task then
 * requeues itself (`scontrol requeue`) so the next start resumes; a cancel, a requeue or a
 * preemption (the job is already COMPLETING) just exits. `--no-auto-requeue` turns the
 * self-requeue off. Exit codes: 0 all runs finished, 1 some failed or held elsewhere, 2 bad
 * arguments, 143 stopped by a signal.
 *
 * @module
 */
import { readPlan } from "../lib/cluster/plan.ts";
import { currentSlurmJob, isTimeLimitWarning, requeueJob } from "../lib/cluster/slurm.ts";
import { recordTaskEvent, runTask } from "../lib/cluster/task.ts";
import { parseTaskArgs } from "./args.ts";

const USAGE = `usage: deno run -A tasks/slurm_task.ts --plan <sweep>/plan.json --task <i>
  [--no-auto-requeue] [--progress-seconds 60]
  --task defaults to $SLURM_ARRAY_TASK_ID`;

const args = parseTaskArgs({
  plan: { type: "string" },
  task: { type: "string" },
  "no-auto-requeue": { type: "boolean", default: false },
  "progress-seconds": { type: "string", default: "60" },
}, USAGE);
const taskText = args.task ?? Deno.env.get("SLURM_ARRAY_TASK_ID");
const task = Number(taskText);
const progressSeconds = Number(args["progress-seconds"]);
if (!args.plan || taskText === undefined || !Number.isSafeInteger(task) || task < 0) {
  console.error(
    `error: need --plan and a task index (--task or $SLURM_ARRAY_TASK_ID), got ` +
      `${JSON.stringify(taskText ?? null)}\n${USAGE}`,
  );
  Deno.exit(2);
}
if (!(progressSeconds > 0)) {
  console.error(`error: invalid --progress-seconds ${args["progress-seconds"]}; expected > 0`);
  Deno.exit(2);
}
let plan;
try {
  plan = readPlan(args.plan);
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  Deno.exit(2);
}
if (task >= plan.tasks) {
  console.error(`error: array task ${task} is not in this sweep; expected 0..${plan.tasks - 1}`);
  Deno.exit(2);
}

const job = currentSlurmJob();
const restart = Number(Deno.env.get("SLURM_RESTART_COUNT") ?? 0);
const abort = new AbortController();
// Whether the first SIGTERM was the time-limit warning: asked at once, while the job's state
// still tells a warning (RUNNING) from a kill (COMPLETING).
const warning: { asked: Promise<boolean> | null } = { asked: null };
const onSignal = (name: string) => () => {
  if (abort.signal.aborted) return;
  console.log(`[task ${task}] ${name}: writing a checkpoint and stopping`);
  if (name === "SIGTERM" && job) warning.asked = isTimeLimitWarning(job);
  recordTaskEvent(plan.dir, task, { job, restart, event: "signal", message: name });
  abort.abort();
};
Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
Deno.addSignalListener("SIGINT", onSignal("SIGINT"));

const result = await runTask({ plan, task, signal: abort.signal, job, restart, progressSeconds });
let code = result.exitCode;
if (result.interrupted && job && !args["no-auto-requeue"] && warning.asked && await warning.asked) {
  const err = await requeueJob(job);
  const message = err ?? "requeued itself after the time-limit warning";
  console.log(`[task ${task}] ${err ? `could not requeue: ${err}` : message}`);
  recordTaskEvent(plan.dir, task, { job, restart, event: "requeue", message });
  if (!err) code = 0;
}
Deno.exit(code);
