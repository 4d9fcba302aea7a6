/**
 * K independent DQN-family agents (same environment, algorithm and model; different seeds) trained
 * as one computation: {@link BatchedAgent}. Run k behaves as the K = 1 agent built with seed
 * `seeds[k]`: the same initial weights, the same acting computation, the same loss and the same Adam
 * update, applied only to the runs that take a step. A single run is the K = 1 case ({@link makeAgent}).
 *
 * A gradient step takes one batch of whole episodes per run (or none: that run is left exactly
 * unchanged); the runs' episodes are laid out as row groups of one ragged tensor (no padding
 * between runs, see lib/nn/grouped_ops.ts), so runs may train on episodes of different lengths.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { requireBackend } from "../nn/ready.ts";
import { scoped } from "../nn/scope.ts";
import type { Seed } from "../rng.ts";
import type { Env } from "../envs/types.ts";
import {
  type Agent,
  type AgentSnapshot,
  type AlgoId,
  checkAlgoId,
  type Episode,
  type TrainStepLosses,
  type TrainStepOptions,
} from "./contract.ts";
import { BatchedAdam, readRun, setRun } from "../nn/batched_adam.ts";
import { makeSnapshot, readSnapshot } from "./snapshot.ts";
import { type ActRequest, BatchedNetwork, type StackedWeights } from "./batched_network.ts";
import { ensureGroupedKernels } from "../nn/grouped_ops.ts";
import { groupedLoss, groupedTd } from "./grouped_loss.ts";
import { packEpisodes } from "./episode_batch.ts";
import { NetworkLayout, uKindOf } from "./layout.ts";
import { type ModelConfig, resolveModelConfig } from "./presets.ts";

/** The parts of an environment an agent needs. */
export type AgentEnv = Pick<Env, "id" | "numActions" | "obsSpec" | "stateSpec">;

/** Options of {@link makeBatchedAgent}. */
export interface BatchedAgentOptions {
  /** One seed per run (run k's weights are those of the K = 1 agent with seed `seeds[k]`). */
  seeds: readonly Seed[];
  /** Adam learning rate (default 1e-4): one for every run, or one per run. */
  lr?: number | readonly number[];
  /** Adam ε (default 1e-4). */
  adamEps?: number;
  /** Overrides of the environment's model preset (lib/models/presets.ts). */
  model?: Partial<ModelConfig> | Record<string, unknown>;
}

/**
 * Build K = `seeds.length` agents of algorithm `algo` for `env`, trained together. The tensor
 * backend must be set up first; batched training needs `wasm-blas`/`cpu-blas` to be fast (it also
 * runs, slowly, on `wasm` and `cpu`).
 *
 * @example
 * ```ts
 * import { initBackend } from "../nn/backend.ts";
 * import { makeHeavenHell } from "../envs/heaven_hell.ts";
 * import { makeBatchedAgent } from "./batched_agent.ts";
 * await initBackend("cpu");
 * const env = makeHeavenHell(3);
 * const agents = makeBatchedAgent(env, "adqn", {
 *   seeds: [0, 1, 2], model: { gruHidden: 8, headHidden: [16] },
 * });
 * const [a, b] = agents.actMany([
 *   { run: 0, hidden: agents.initialHidden(), prevAction: -1, obs: new Float32Array(4) },
 *   { run: 2, hidden: agents.initialHidden(), prevAction: -1, obs: new Float32Array(4) },
 * ]);
 * console.log(a.q.length, b.q.length); // 4 4
 * agents.dispose();
 * ```
 */
export function makeBatchedAgent(
  env: AgentEnv,
  algo: AlgoId,
  options: BatchedAgentOptions,
): BatchedAgent {
  requireBackend("makeBatchedAgent");
  return new BatchedAgent(env, checkAlgoId(algo), options);
}

/** Options of {@link makeAgent}: those of {@link makeBatchedAgent} with one seed. */
export type AgentOptions = Omit<BatchedAgentOptions, "seeds"> & {
  /** Seed of the weight initialisation (same seed, same initial weights). */
  seed: Seed;
};

/**
 * One agent of algorithm `algo` for `env`: the K = 1 batched agent seen as an {@link Agent}
 * (`dispose` frees it). The tensor backend must be set up first.
 *
 * @example
 * ```ts
 * import { initBackend } from "../nn/backend.ts";
 * import { makeHeavenHell } from "../envs/heaven_hell.ts";
 * import { makeRng } from "../rng.ts";
 * import { makeAgent } from "./batched_agent.ts";
 * await initBackend();
 * const env = makeHeavenHell(3);
 * const agent = makeAgent(env, "adqn", { seed: 1 });
 * const { q } = agent.act(agent.initialHidden(), -1, env.encodeObs(env.reset(makeRng(0)).obs));
 * console.log(q.length); // 4
 * agent.dispose();
 * ```
 */
export function makeAgent(env: AgentEnv, algo: AlgoId, options: AgentOptions): Agent {
  requireBackend("makeAgent");
  const { seed, ...rest } = options;
  const batched = new BatchedAgent(env, checkAlgoId(algo), { ...rest, seeds: [seed] });
  return { ...batched.view(0), dispose: () => batched.dispose() };
}

/** The losses of one run's step, and its gradients by parameter name (diagnostics). */
export interface RunGradients {
  /** The optimised total. */
  loss: number;
  /** L_Q. */
  lossQ: number;
  /** L_U. */
  lossU: number;
  /** Gradient of the total with respect to each online parameter of this run. */
  grads: Record<string, Float32Array>;
}

/** A padded, time-major batch of one run's whole episodes (as the single-run agent builds it). */
/** K agents trained together (see the module doc). */
export class BatchedAgent {
  /** The algorithm. */
  readonly algo: AlgoId;
  /** Number of runs K. */
  readonly size: number;
  /** GRU hidden size. */
  readonly hiddenSize: number;
  /** The environment id. */
  readonly envId: string;
  /** The resolved model configuration. */
  readonly config: ModelConfig;
  readonly #net: BatchedNetwork;
  readonly #online: StackedWeights;
  readonly #target: StackedWeights;
  readonly #adam: BatchedAdam;
  readonly #caches: (ReturnType<BatchedNetwork["actCache"]> | undefined)[];
  #disposed = false;

  /** Use {@link makeBatchedAgent}. */
  constructor(env: AgentEnv, algo: AlgoId, options: BatchedAgentOptions) {
    ensureGroupedKernels(tf.engine().backendName);
    this.algo = algo;
    this.envId = env.id;
    this.size = options.seeds.length;
    this.config = resolveModelConfig(env.id, options.model ?? {});
    const layout = new NetworkLayout(env, uKindOf(algo), this.config);
    this.#net = new BatchedNetwork(layout, this.size);
    this.hiddenSize = layout.hidden;
    this.#online = this.#net.initWeights(options.seeds, true);
    this.#target = this.#net.copyWeights(this.#online, false);
    this.#adam = new BatchedAdam(this.#online, this.size, {
      lr: options.lr ?? 1e-4,
      eps: options.adamEps ?? 1e-4,
    });
    this.#caches = new Array(this.size).fill(undefined);
  }

  /** Zeros of width {@link BatchedAgent.hiddenSize}. */
  initialHidden(): Float32Array {
    return new Float32Array(this.hiddenSize);
  }

  /** Adam steps taken by each run. */
  get adamSteps(): readonly number[] {
    return this.#adam.steps;
  }

  /** One acting step of run `run` (as `Agent.act`). */
  act(
    run: number,
    hidden: Float32Array,
    prevAction: number,
    obs: Float32Array,
  ): { q: Float32Array; hidden: Float32Array } {
    return this.actMany([{ run, hidden, prevAction, obs }])[0];
  }

  /** One acting step for each request (any subset of the runs), in one call. */
  actMany(requests: readonly ActRequest[]): { q: Float32Array; hidden: Float32Array }[] {
    this.#live();
    for (const r of requests) {
      this.#checkRun(r.run);
      this.#caches[r.run] ??= this.#net.actCache(this.#online, r.run);
    }
    return this.#net.actMany(this.#caches, requests);
  }

  /**
   * One Adam step for every run whose entry is a non-empty batch of episodes (all with the same
   * number of episodes); runs with `null` are left exactly unchanged (weights, moments, step
   * count). Returns each stepping run's losses (null for the others).
   */
  trainStep(
    batches: readonly (readonly Episode[] | null)[],
    options: TrainStepOptions,
  ): (TrainStepLosses | null)[] {
    this.#live();
    const active = this.#active(batches);
    if (!active.some(Boolean)) return batches.map(() => null);
    const out = scoped(() => {
      const { grads, losses } = this.#gradients(batches, options);
      this.#adam.apply(grads, active);
      const values = tf.stack(losses).dataSync();
      losses.forEach((t) => t.dispose());
      return values;
    });
    const K = this.size;
    return active.map((on, k) => {
      if (!on) return null;
      this.#caches[k] = undefined;
      return { loss: out[k], lossQ: out[K + k], lossU: out[2 * K + k] };
    });
  }

  /**
   * Diagnostics: each run's losses and gradients for the given batches (null runs: null), without
   * changing anything.
   */
  lossGradients(
    batches: readonly (readonly Episode[] | null)[],
    options: TrainStepOptions,
  ): (RunGradients | null)[] {
    this.#live();
    const active = this.#active(batches);
    if (!active.some(Boolean)) return batches.map(() => null);
    return scoped(() => {
      const { grads, losses } = this.#gradients(batches, options);
      const values = tf.stack(losses).dataSync();
      losses.forEach((t) => t.dispose());
      const K = this.size;
      return active.map((on, k) => {
        if (!on) return null;
        const g: Record<string, Float32Array> = {};
        for (const [name, t] of Object.entries(grads)) g[name] = readRun(t, k);
        return { loss: values[k], lossQ: values[K + k], lossU: values[2 * K + k], grads: g };
      });
    });
  }

  /**
   * Diagnostics: Q (and U) of each run's online network over its episodes from a zero state, as
   * [T·B × |A|] time-major host arrays (the single-run agent's `evaluate`); null runs: null.
   */
  evaluate(
    batches: readonly (readonly Episode[] | null)[],
  ): ({ q: Float32Array; u: Float32Array | null; steps: number } | null)[] {
    this.#live();
    this.#active(batches);
    const layout = this.#net.layout, A = layout.numActions;
    return scoped(() => {
      const hbs = batches.map((b) => (b === null ? null : packEpisodes(layout, b, false)));
      const B = hbs.find((h) => h !== null)?.batch ?? 1;
      const steps = hbs.map((h) => h?.steps ?? 0);
      const preps = hbs.map((h) => (h === null ? null : layout.prepare(h, (h.steps + 1) * B)));
      const x = this.#net.toTensors(preps, steps, B);
      const out = this.#net.forward(this.#online, x, { grad: false, u: true });
      const q = out.q.dataSync() as Float32Array;
      const u = out.u ? out.u.dataSync() as Float32Array : null;
      this.#net.disposeInputs(x);
      return hbs.map((h, k) => {
        if (h === null) return null;
        const o = x.groups.offsets[k], n = x.groups.offsets[k + 1];
        return {
          q: q.slice(o * A, n * A),
          u: u ? u.slice(o * A, n * A) : null,
          steps: h.steps,
        };
      });
    });
  }

  /** Hard-copy the online weights into the targets of the runs with `runs[k]` true. */
  updateTargets(runs: readonly boolean[]): void {
    this.#live();
    if (runs.length !== this.size) {
      throw new Error(`updateTargets: ${runs.length} flags for ${this.size} runs`);
    }
    if (!runs.some(Boolean)) return;
    if (runs.every(Boolean)) {
      for (const name of Object.keys(this.#online)) this.#target[name].assign(this.#online[name]);
      return;
    }
    tf.tidy(() => {
      const on = tf.tensor1d(runs.map((r) => (r ? 1 : 0)));
      for (const [name, t] of Object.entries(this.#target)) {
        const shape = [this.size, ...new Array(t.rank - 1).fill(1)];
        const m = tf.reshape(on, shape), off = tf.sub(1, m);
        t.assign(tf.add(tf.mul(this.#online[name], m), tf.mul(t, off)));
      }
    });
  }

  /** Run k's tensors in the single-run agent's snapshot format (./snapshot.ts). */
  snapshot(k: number): AgentSnapshot {
    this.#live();
    this.#checkRun(k);
    const read = (vars: StackedWeights) =>
      Object.fromEntries(
        Object.entries(vars).map((
          [name, v],
        ) => [name, { shape: v.shape.slice(1), data: readRun(v, k) }]),
      );
    const adam = this.#adam.getState(k);
    return makeSnapshot({
      online: read(this.#online),
      target: read(this.#target),
      m: adam.m,
      v: adam.v,
      step: adam.step,
    });
  }

  /** Restore run k from a snapshot of either trainer (every name must be present, same shapes). */
  restore(k: number, snapshot: AgentSnapshot): void {
    this.#live();
    this.#checkRun(k);
    const shapes = Object.fromEntries(
      Object.entries(this.#online).map(([name, v]) => [name, v.shape.slice(1)]),
    );
    const parts = readSnapshot(snapshot, shapes); // checks everything before changing anything
    for (const name of Object.keys(shapes)) {
      setRun(this.#online[name], k, parts.online[name].data);
      setRun(this.#target[name], k, parts.target[name].data);
    }
    this.#adam.setState(k, { step: parts.step, m: parts.m, v: parts.v });
    this.#caches[k] = undefined;
  }

  /**
   * Run k seen as a single-run {@link Agent} (its `trainStep` steps only run k; `dispose` does
   * nothing: dispose the batched agent itself).
   */
  view(k: number): Agent {
    this.#checkRun(k);
    const K = this.size;
    return {
      algo: this.algo,
      hiddenSize: this.hiddenSize,
      initialHidden: () => this.initialHidden(),
      act: (hidden, prevAction, obs) => this.act(k, hidden, prevAction, obs),
      trainStep: (episodes, options) => {
        const batches = Array.from({ length: K }, (_, j) => (j === k ? episodes : null));
        return this.trainStep(batches, options)[k]!;
      },
      updateTargets: () => this.updateTargets(Array.from({ length: K }, (_, j) => j === k)),
      snapshot: () => this.snapshot(k),
      restore: (s) => this.restore(k, s),
      dispose: () => {},
    };
  }

  /** Free every tensor; the agent is unusable afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#adam.dispose();
    for (const v of Object.values(this.#online)) v.dispose();
    for (const v of Object.values(this.#target)) v.dispose();
  }

  #live(): void {
    if (this.#disposed) throw new Error("batched agent: used after dispose()");
  }

  #checkRun(k: number): void {
    if (!Number.isInteger(k) || k < 0 || k >= this.size) {
      throw new Error(`batched agent: run ${k} out of range 0..${this.size - 1}`);
    }
  }

  #active(batches: readonly (readonly Episode[] | null)[]): boolean[] {
    if (batches.length !== this.size) {
      throw new Error(`trainStep: ${batches.length} batches for ${this.size} runs`);
    }
    return batches.map((b, k) => {
      if (b === null) return false;
      if (!Array.isArray(b) || b.length === 0) {
        throw new Error(`trainStep: run ${k}: expected null or a non-empty array of episodes`);
      }
      return true;
    });
  }

  /** Stacked gradients of the summed per-run totals, and kept [loss, L_Q, L_U] vectors [K]. */
  #gradients(batches: readonly (readonly Episode[] | null)[], options: TrainStepOptions) {
    const gamma = options.gamma;
    if (!Number.isFinite(gamma) || gamma < 0 || gamma > 1) {
      throw new Error(`trainStep: invalid gamma ${gamma}; expected a number in [0, 1]`);
    }
    const net = this.#net, layout = net.layout;
    const boot = options.bootstrapOnTruncation ?? false;
    const hbs = batches.map((b) => (b === null ? null : packEpisodes(layout, b, boot)));
    const B = hbs.find((h) => h !== null)!.batch;
    hbs.forEach((h, k) => {
      if (h !== null && h.batch !== B) {
        throw new Error(`trainStep: run ${k} has ${h.batch} episodes, others ${B}; use the same`);
      }
    });
    const steps = hbs.map((h) => h?.steps ?? 0);
    const preps = hbs.map((h) => (h === null ? null : layout.prepare(h, (h.steps + 1) * B)));
    const xOnline = net.toTensors(preps, steps, B);
    const xTarget = net.toTensors(preps, steps.map((s, k) => (hbs[k] === null ? 0 : s + 1)), B);
    const hasU = layout.uKind !== "none";
    const vr = this.algo === "adqn-vr" || this.algo === "adqn-state-vr";
    const { td, nextRow, sameRow } = groupedTd(hbs, xOnline.groups, xTarget.groups, B, gamma);
    let losses: tf.Tensor1D[] = [];
    try {
      const tgt = net.forward(this.#target, xTarget, { grad: false, u: hasU });
      const next = tf.tensor1d(nextRow, "int32");
      const targetQNext = tf.gather(tgt.q, next) as tf.Tensor2D;
      const targetUNext = tgt.u ? tf.gather(tgt.u, next) as tf.Tensor2D : undefined;
      const targetU = tgt.u && vr
        ? tf.gather(tgt.u, tf.tensor1d(sameRow, "int32")) as tf.Tensor2D
        : undefined;
      const f = () => {
        const on = net.forward(this.#online, xOnline, { grad: true, u: hasU });
        const l = groupedLoss(this.algo, {
          ...td,
          q: on.q,
          targetQNext,
          u: on.u,
          targetUNext,
          targetU,
        });
        losses = [l.loss, l.lossQ, l.lossU].map((t) => tf.keep(t));
        return tf.sum(l.loss) as tf.Scalar;
      };
      const names = Object.keys(this.#online);
      const { grads } = tf.engine().gradients(
        f,
        names.map((n) => this.#online[n]),
        undefined,
        true,
      );
      const byName: Record<string, tf.Tensor> = {};
      names.forEach((name, i) => {
        if (grads[i]) byName[name] = grads[i];
      });
      return { grads: byName, losses };
    } finally {
      net.disposeInputs(xOnline);
      net.disposeInputs(xTarget);
    }
  }
}
