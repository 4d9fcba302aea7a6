/**
 * Running sweeps on a Slurm cluster: sweep plans and their folders ({@link makePlan}), job-array
 * scripts ({@link slurmScript}), the array task's work ({@link runTask}) and the merge of the
 * per-task results databases into the main one ({@link collect}).
 *
 * @module
 */
export * from "./plan.ts";
export * from "./slurm.ts";
export * from "./task.ts";
export * from "./collect.ts";
export * from "./published_db.ts";
export * from "./sweep.ts";
