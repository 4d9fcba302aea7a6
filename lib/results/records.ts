/**
 * The records of the results database as the code sees them: a run's status, a stored run
 * ({@link RunRecord}), a metric point ({@link MetricRecord}) and the error raised for a file that is
 * not a usable database or a lost lease ({@link ResultsDbError}).
 * @module
 */
import type { MetricPoint } from "../train/loop.ts";
import type { MachineInfo } from "./provenance.ts";

/** Status of a run: queued (never started or interrupted), running (leased), finished, failed. */
export type RunStatus = "queued" | "running" | "finished" | "failed";

/** All run statuses. */
export const RUN_STATUSES: readonly RunStatus[] = ["queued", "running", "finished", "failed"];

/** Error raised for a file that is not a usable results database, or a lost lease. */
export class ResultsDbError extends Error {
  /** Make an error with a message that names the file and the problem. */
  constructor(message: string) {
    super(message);
    this.name = "ResultsDbError";
  }
}

/**
 * One logged point of a run: exactly the trainer's {@link MetricPoint} (lib/train/loop.ts), one
 * type for training and the database (avgReturn NaN before any episode, lossU 0 for DQN).
 */
export type MetricRecord = MetricPoint;

/** A run as stored. */
export interface RunRecord {
  /** Row id. */
  id: number;
  /** Hash of the configuration without its seed. */
  hash: string;
  /** Seed. */
  seed: number;
  /** Environment id. */
  env: string;
  /** Algorithm id. */
  algo: string;
  /** The full configuration (JSON object, seed included). */
  config: Record<string, unknown>;
  /** Environment steps the run is meant to train for. */
  totalSteps: number;
  /** Free label (for example "quick:1a"), "" when none. */
  label: string;
  /** Current status. */
  status: RunStatus;
  /** Lease owner token while running (and the last owner afterwards); null if never claimed. */
  owner: string | null;
  /** Last heartbeat, ms since the epoch; null when not running. */
  heartbeatMs: number | null;
  /** Times the run was claimed. */
  attempts: number;
  /** ISO time the row was created. */
  createdAt: string;
  /** ISO time of the first claim; null if never started. */
  startedAt: string | null;
  /** ISO time it finished or failed; null otherwise. */
  endedAt: string | null;
  /** Error text of a failed run; a note for an interrupted one; null otherwise. */
  error: string | null;
  /** Code version (git commit) of the last claim. */
  codeVersion: string | null;
  /** Machine of the last claim. */
  machine: MachineInfo | null;
  /** Checkpoint file of the run. */
  checkpointPath: string | null;
  /** Latest reported environment steps. */
  envSteps: number;
  /** Latest reported completed episodes. */
  episodes: number;
  /** Training wall-clock seconds of the final attempt (from the trainer). */
  wallSeconds: number | null;
}
