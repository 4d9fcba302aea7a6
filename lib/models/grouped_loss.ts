/**
 * The five losses (lib/losses/losses.ts) over the row groups of K runs trained together, one value
 * per run: every mean is taken within each run's group. Serves the batched agent
 * (./batched_agent.ts) at every K.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  adqnLoss,
  adqnStateLoss,
  adqnStateVrLoss,
  adqnVrLoss,
  dqnLoss,
  type LossTensors,
  type VrInputs,
} from "../losses/losses.ts";
import { groupedSum, groupedSumRaw, type RowGroups } from "../nn/grouped_ops.ts";
import type { AlgoId } from "./contract.ts";
import type { HostBatch } from "./episode_batch.ts";

/** Per-step data of the grouped rows. */
export interface GroupedTd {
  actions: tf.Tensor1D;
  rewards: tf.Tensor1D;
  continues: tf.Tensor1D;
  /** Row mask when each run trains on more than one episode (else undefined: plain means). */
  mask?: tf.Tensor1D;
  /** Per-run divisor of the plain mean: max(rows, 1). */
  counts: tf.Tensor1D;
  gamma: number;
  groups: RowGroups;
}

/** {@link GroupedTd} with the networks' outputs over the same rows. */
export interface GroupedLossInputs extends GroupedTd {
  q: tf.Tensor2D;
  targetQNext: tf.Tensor2D;
  u?: tf.Tensor2D;
  targetUNext?: tf.Tensor2D;
  targetU?: tf.Tensor2D;
}

/**
 * The per-step data of the online rows of K runs' batches (`hbs[k]`, null for a run without a
 * step), laid out as the online row groups, and where each row's next and current step sit among
 * the target rows (whose groups hold one more step per sequence).
 */
export function groupedTd(
  hbs: readonly (HostBatch | null)[],
  online: RowGroups,
  target: RowGroups,
  batch: number,
  gamma: number,
): { td: GroupedTd; nextRow: Int32Array; sameRow: Int32Array } {
  const K = hbs.length;
  const R = online.offsets[K];
  const actions = new Int32Array(R), rewards = new Float32Array(R);
  const continues = new Float32Array(R), mask = new Float32Array(R);
  const nextRow = new Int32Array(R), sameRow = new Int32Array(R);
  const counts = new Float32Array(K);
  hbs.forEach((h, k) => {
    if (h === null) return;
    const o = online.offsets[k], ot = target.offsets[k];
    const N = h.steps * batch;
    actions.set(h.actions, o);
    rewards.set(h.rewards, o);
    continues.set(h.continues, o);
    mask.set(h.mask, o);
    for (let j = 0; j < N; j++) {
      nextRow[o + j] = ot + batch + j;
      sameRow[o + j] = ot + j;
    }
    counts[k] = N;
  });
  for (let k = 0; k < K; k++) counts[k] = Math.max(counts[k], 1);
  const td: GroupedTd = {
    actions: tf.tensor1d(actions, "int32"),
    rewards: tf.tensor1d(rewards),
    continues: tf.tensor1d(continues),
    mask: batch > 1 ? tf.tensor1d(mask) : undefined,
    counts: tf.tensor1d(counts),
    gamma,
    groups: online,
  };
  return { td, nextRow, sameRow };
}

/** The loss of each algorithm (lib/losses), reduced per run. */
const LOSSES: Record<AlgoId, (x: VrInputs) => LossTensors<tf.Tensor1D>> = {
  "dqn": dqnLoss,
  "adqn": adqnLoss,
  "adqn-vr": adqnVrLoss,
  "adqn-state": adqnStateLoss,
  "adqn-state-vr": adqnStateVrLoss,
};

/**
 * The loss of `algo` (lib/losses/losses.ts) over grouped rows, one value per run ([K] vectors):
 * every mean is taken within each run's group.
 */
export function groupedLoss(
  algo: AlgoId,
  x: GroupedLossInputs,
): LossTensors<tf.Tensor1D> {
  const { mask, counts, groups } = x;
  const reduce = (values: tf.Tensor1D): tf.Tensor1D => {
    if (mask === undefined) return tf.div(groupedSum(values, groups), counts);
    return tf.div(
      groupedSum(tf.mul(values, mask) as tf.Tensor1D, groups),
      tf.maximum(groupedSumRaw(mask, groups), 1),
    );
  };
  return LOSSES[algo]({ ...x, mask: undefined, reduce } as VrInputs);
}
