/**
 * The trainer of the experiment layer: the {@link Trainer} contract (K ≥ 1 runs that differ only
 * in their seed, as `trainBatch()` of lib/train/loop.ts), the real trainer ({@link realTrainer})
 * and its tensor backends, and the machine record of a run trained on one
 * ({@link trainingMachine}). The real trainer loads `lib/train/loop.ts` and the tensor backend on
 * first use, so the database side never pays for TensorFlow.js; tests inject fake trainers.
 * @module
 */
import { type MachineInfo, machineInfo } from "../results/db.ts";
import type { TrainConfig } from "../train/config.ts";
import type { MetricPoint, ProgressPoint, TrainResult } from "../train/loop.ts";
import type { BackendName } from "../nn/backend.ts";
import { openBlas } from "../nn/blas.ts";

/**
 * What the experiment layer passes to a {@link Trainer}: the options of `trainBatch()`
 * (lib/train/loop.ts) it uses, per run by index.
 */
export interface TrainerOptions {
  /** Every metric point of run `run` (awaited). */
  onMetric?(run: number, point: MetricPoint): void | Promise<void>;
  /** After every episode of run `run`. */
  onProgress?(run: number, point: ProgressPoint): void;
  /** Checkpoint file of each run (resumed from when it exists). */
  checkpointPaths?: readonly (string | undefined)[];
  /** Checkpoint period in environment steps. */
  checkpointEverySteps?: number;
  /** Checkpoint period in minutes of wall time (0: off). */
  checkpointEveryMinutes?: number;
  /** Stop cleanly: each run finishes its epoch and writes its checkpoint. */
  signal?: AbortSignal;
  /** True once run `run` must stop at once, writing nothing more (its lease was lost). */
  dropped?(run: number): boolean;
  /** Asked right before each checkpoint write of run `run`; false skips it and drops the run. */
  mayWriteCheckpoint?(run: number): boolean;
}

/**
 * A training function of K ≥ 1 runs that share their configuration but the seed, lr and time
 * limit (`PER_RUN_FIELDS` of lib/train/config.ts), with the contract
 * of `trainBatch()` in lib/train/loop.ts (one result per config, in order); one run is K = 1.
 */
export type Trainer = (
  configs: readonly TrainConfig[],
  options: TrainerOptions,
) => Promise<TrainResult[]>;

/**
 * Tensor backends a trainer can be asked for: those of `initBackend()` (lib/nn/backend.ts),
 * including the native-BLAS ones (`wasm-blas`, `cpu-blas`: OpenBLAS products through FFI, with a
 * fallback to `wasm` when the library does not load) and `auto` (`wasm-blas` when OpenBLAS loads,
 * else `wasm`). Listed here so that the database side never loads TensorFlow.js.
 */
export type TrainerBackend = BackendName;

/** The backends of {@link TrainerBackend}. */
export const TRAINER_BACKENDS: readonly TrainerBackend[] = [
  "auto",
  "wasm",
  "wasm-blas",
  "cpu",
  "cpu-blas",
  "webgpu",
];

const backendReady = new Map<string, Promise<string>>();

/** Set up the tensor backend once per process; returns the backend in use. */
export function ensureBackend(name: TrainerBackend = "wasm"): Promise<string> {
  let p = backendReady.get(name);
  if (!p) {
    p = import("../nn/backend.ts").then((m) => m.initBackend(name));
    backendReady.set(name, p);
  }
  return p;
}

/** Whether a backend set up by {@link ensureBackend} has native BLAS products. */
export function isNativeBackend(name: string): boolean {
  return name === "wasm-blas" || name === "cpu-blas";
}

/** The real trainer (`trainBatch`), set up on the given backend (default wasm) on first use. */
export function realTrainer(backend: TrainerBackend = "wasm"): Trainer {
  return async (configs, options) => {
    await ensureBackend(backend);
    const { trainBatch } = await import("../train/loop.ts");
    return trainBatch(configs, options);
  };
}

/**
 * The machine a run trains on, with the tensor backend and, on a native-BLAS backend, the OpenBLAS
 * kernels (products round differently per kernel, so a run's numbers belong to both).
 */
export function trainingMachine(backend?: string): MachineInfo {
  if (backend === undefined) return machineInfo();
  const kernels = backend.endsWith("-blas") ? openBlas()?.kernels : undefined;
  return { ...machineInfo(), backend, ...(kernels ? { blasKernels: kernels } : {}) };
}
