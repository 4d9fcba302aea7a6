/**
 * The agent snapshot format (./contract.ts `AgentSnapshot`) shared by the single-run agent
 * (./agent.ts) and the batched agent (./batched_agent.ts, one run at a time): tensors named
 * `online/<param>`, `target/<param>`, `adam.m/<param>`, `adam.v/<param>`, and the scalar
 * `adam.step`. Either trainer resumes the other's checkpoints because both read and write it here.
 *
 * @module
 */
import type { AgentSnapshot } from "./contract.ts";

/** One tensor of a snapshot. */
export type SnapshotTensor = AgentSnapshot["tensors"][string];

/** The contents of a snapshot, by parameter name. */
export interface SnapshotParts {
  /** Online weights. */
  online: Record<string, SnapshotTensor>;
  /** Target weights. */
  target: Record<string, SnapshotTensor>;
  /** Adam's first moments. */
  m: Record<string, SnapshotTensor>;
  /** Adam's second moments. */
  v: Record<string, SnapshotTensor>;
  /** Adam's step count. */
  step: number;
}

const PREFIXES = ["online", "target", "adam.m", "adam.v"] as const;

/** A snapshot of `parts`. */
export function makeSnapshot(parts: SnapshotParts): AgentSnapshot {
  const tensors: AgentSnapshot["tensors"] = {};
  const groups = [parts.online, parts.target, parts.m, parts.v];
  PREFIXES.forEach((prefix, i) => {
    for (const [name, t] of Object.entries(groups[i])) tensors[`${prefix}/${name}`] = t;
  });
  return { tensors, scalars: { "adam.step": parts.step } };
}

/**
 * The contents of `snapshot` for parameters of the given shapes, all checked before any is
 * returned (so a failed restore changes nothing): every tensor present with its shape, and
 * `adam.step` a non-negative integer.
 */
export function readSnapshot(
  snapshot: AgentSnapshot,
  shapes: Record<string, readonly number[]>,
): SnapshotParts {
  const parts: SnapshotParts = { online: {}, target: {}, m: {}, v: {}, step: 0 };
  const groups = [parts.online, parts.target, parts.m, parts.v];
  for (const [name, shape] of Object.entries(shapes)) {
    PREFIXES.forEach((prefix, i) => {
      const key = `${prefix}/${name}`;
      const s = snapshot.tensors[key];
      if (s === undefined) {
        throw new Error(`restore: snapshot lacks tensor "${key}" (was it made for this agent?)`);
      }
      const same = s.shape.length === shape.length && s.shape.every((d, j) => d === shape[j]);
      if (!same || s.data.length !== shape.reduce((a, b) => a * b, 1)) {
        throw new Error(
          `restore: tensor "${key}" has shape [${s.shape}] with ${s.data.length} values, ` +
            `expected [${shape}]`,
        );
      }
      groups[i][name] = s;
    });
  }
  const step = snapshot.scalars["adam.step"];
  if (!Number.isInteger(step) || step < 0) {
    throw new Error(`restore: invalid scalar adam.step ${step}; expected a non-negative integer`);
  }
  parts.step = step;
  return parts;
}
