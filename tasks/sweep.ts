/**
 * `deno task sweep --figure 1a --preset quick --emit slurm [options]` (or `--campaign stage0|stage1`
 * for the Figure 1 campaign's stages): write a Slurm job-array script that trains every run of the
 * given panels of Figure 1 on a cluster (see
 * lib/cluster/plan.ts for the sweep folder, lib/cluster/slurm.ts for the script), and say how to
 * submit it and collect the results.
 *
 * @module
 */
import { buildSweep, SWEEP_USAGE, type SweepCliOptions } from "../lib/cluster/sweep.ts";
import { parseTaskArgs } from "./args.ts";

const values = parseTaskArgs({
  figure: { type: "string", multiple: true },
  preset: { type: "string" },
  campaign: { type: "string" },
  selection: { type: "string" },
  emit: { type: "string" },
  partition: { type: "string" },
  time: { type: "string" },
  cpus: { type: "string" },
  mem: { type: "string" },
  account: { type: "string" },
  qos: { type: "string" },
  "max-parallel": { type: "string" },
  "batch-size": { type: "string" },
  seeds: { type: "string" },
  algos: { type: "string" },
  set: { type: "string", multiple: true },
  out: { type: "string" },
  grace: { type: "string" },
  "checkpoint-every": { type: "string" },
  backend: { type: "string" },
  deno: { type: "string" },
  "sbatch-option": { type: "string", multiple: true },
  "no-auto-requeue": { type: "boolean", default: false },
  force: { type: "boolean", default: false },
  submit: { type: "boolean", default: false },
}, SWEEP_USAGE);
try {
  const code = await buildSweep(values as SweepCliOptions);
  Deno.exit(code);
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  Deno.exit(2);
}
