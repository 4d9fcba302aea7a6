/**
 * The DQN-family agent the training loop drives (./contract.ts): online and target networks,
 * the algorithm's loss and one Adam optimizer over every online parameter.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Env } from "../envs/types.ts";
import {
  adqnLoss,
  adqnStateLoss,
  adqnStateVrLoss,
  adqnVrLoss,
  dqnLoss,
  type LossTensors,
  type QInputs,
} from "../losses/losses.ts";
import { Adam, assignChecked, copyData } from "../nn/adam.ts";
import { requireBackend } from "../nn/ready.ts";
import { scoped } from "../nn/scope.ts";
import { makeRng, type Seed } from "../rng.ts";
import {
  type Agent,
  type AgentSnapshot,
  type AlgoId,
  checkAlgoId,
  type Episode,
  type TrainStepLosses,
  type TrainStepOptions,
} from "./contract.ts";
import {
  type ActCache,
  NetworkLayout,
  type SequenceTensors,
  uKindOf,
  type Weights,
} from "./network.ts";
import { type HostBatch, packEpisodes } from "./episode_batch.ts";
import { makeSnapshot, readSnapshot } from "./snapshot.ts";
import { type ModelConfig, resolveModelConfig } from "./presets.ts";

/** Options of {@link makeAgent}. */
export interface AgentOptions {
  /** Seed of the weight initialisation (same seed, same initial weights). */
  seed: Seed;
  /** Adam learning rate (default 1e-4). */
  lr?: number;
  /** Adam ε (default 1e-4). */
  adamEps?: number;
  /** Overrides of the environment's model preset (lib/models/presets.ts). */
  model?: Partial<ModelConfig> | Record<string, unknown>;
}

/** The parts of an environment an agent needs. */
export type AgentEnv = Pick<Env, "id" | "numActions" | "obsSpec" | "stateSpec">;

/**
 * Build the agent of algorithm `algo` for `env`, with the env's model preset (plus overrides).
 * The tensor backend must have been set up first (`await initBackend()` of lib/nn/backend.ts).
 *
 * @example
 * ```ts
 * import { initBackend } from "../nn/backend.ts";
 * import { makeHeavenHell } from "../envs/heaven_hell.ts";
 * import { makeRng } from "../rng.ts";
 * import { makeAgent } from "./agent.ts";
 * await initBackend();
 * const env = makeHeavenHell(3);
 * const agent = makeAgent(env, "adqn", { seed: 1 });
 * const { q } = agent.act(agent.initialHidden(), -1, env.encodeObs(env.reset(makeRng(0)).obs));
 * console.log(q.length); // 4
 * agent.dispose();
 * ```
 */
export function makeAgent(env: AgentEnv, algo: AlgoId, options: AgentOptions): RecurrentAgent {
  requireBackend("makeAgent");
  return new RecurrentAgent(env, checkAlgoId(algo), options);
}

const LOSSES: Record<AlgoId, (x: QInputs) => LossTensors> = {
  "dqn": dqnLoss,
  "adqn": adqnLoss as (x: QInputs) => LossTensors,
  "adqn-vr": adqnVrLoss as (x: QInputs) => LossTensors,
  "adqn-state": adqnStateLoss as (x: QInputs) => LossTensors,
  "adqn-state-vr": adqnStateVrLoss as (x: QInputs) => LossTensors,
};

/** The {@link Agent} of lib/models: a recurrent Q network (plus U) with targets and Adam. */
export class RecurrentAgent implements Agent {
  /** The algorithm. */
  readonly algo: AlgoId;
  /** GRU hidden size. */
  readonly hiddenSize: number;
  /** The environment id the agent was built for. */
  readonly envId: string;
  /** The resolved model configuration (preset plus overrides). */
  readonly config: ModelConfig;
  /** The network structure. */
  readonly #layout: NetworkLayout;
  /** Online weights (trainable). */
  readonly #online: Weights;
  /** Target weights (hard copies, not trainable). */
  readonly #target: Weights;
  /** The optimizer. */
  readonly #optimizer: Adam;
  #disposed = false;
  /** Host copies for acting; null whenever the online weights changed since it was built. */
  #actCache: ActCache | null = null;

  /** Use {@link makeAgent}. */
  constructor(env: AgentEnv, algo: AlgoId, options: AgentOptions) {
    this.algo = algo;
    this.envId = env.id;
    const config = resolveModelConfig(env.id, options.model ?? {});
    this.config = config;
    this.#layout = new NetworkLayout(env, uKindOf(algo), config);
    this.hiddenSize = this.#layout.hidden;
    this.#online = this.#layout.initWeights(makeRng(options.seed), true);
    this.#target = this.#layout.copyWeights(this.#online, false);
    this.#optimizer = new Adam(this.#online, {
      lr: options.lr ?? 1e-4,
      eps: options.adamEps ?? 1e-4,
    });
  }

  /** Zeros of width {@link RecurrentAgent.hiddenSize}. */
  initialHidden(): Float32Array {
    return new Float32Array(this.hiddenSize);
  }

  /** One GRU step and Q(h_t, ·) of the online network (see ./contract.ts). */
  act(
    hidden: Float32Array,
    prevAction: number,
    obs: Float32Array,
  ): { q: Float32Array; hidden: Float32Array } {
    this.#live();
    this.#actCache ??= this.#layout.actCache(this.#online);
    return this.#layout.act(this.#online, this.#actCache, hidden, prevAction, obs);
  }

  /** One Adam step on the algorithm's loss over the given whole episodes. */
  trainStep(episodes: Episode[], options: TrainStepOptions): TrainStepLosses {
    this.#live();
    const out = scoped(() => {
      const { grads, losses } = this.#gradients(episodes, options, this.#online);
      this.#optimizer.apply(grads);
      this.#actCache = null;
      const all = tf.stack(losses).dataSync();
      losses.forEach((t) => t.dispose());
      return all;
    });
    return { loss: out[0], lossQ: out[1], lossU: out[2] };
  }

  /**
   * Diagnostics: the losses of `episodes` (total, L_Q, L_U) and the gradient of one term (the
   * optimised total, L_Q or L_U) with respect to the online or the target weights, as host arrays (null where that term
   * does not depend on a weight at all). Changes nothing.
   */
  lossGradients(
    episodes: Episode[],
    options: TrainStepOptions,
    of: "online" | "target",
    term: "total" | "q" | "u" = "total",
  ): { loss: number; lossQ: number; lossU: number; grads: Record<string, Float32Array | null> } {
    this.#live();
    return scoped(() => {
      const W = of === "online" ? this.#online : this.#target;
      const r = this.#gradients(episodes, options, W, term);
      const grads: Record<string, Float32Array | null> = {};
      for (const name of Object.keys(W)) {
        grads[name] = r.grads[name] ? copyData(r.grads[name]) : null;
      }
      const [loss, lossQ, lossU] = tf.stack(r.losses).dataSync();
      r.losses.forEach((t) => t.dispose());
      return { loss, lossQ, lossU, grads };
    });
  }

  /**
   * Diagnostics: Q (and U when the algorithm has one) of the online network over whole episodes
   * from a zero state, as [T·B × |A|] time-major host arrays (the inputs of {@link trainStep}).
   */
  evaluate(episodes: Episode[]): { q: Float32Array; u: Float32Array | null; steps: number } {
    this.#live();
    return scoped(() => {
      const hb = this.#hostBatch(episodes, false);
      const prep = this.#layout.prepare(hb, (hb.steps + 1) * hb.batch);
      const x = this.#layout.toTensors(prep, hb.steps * hb.batch);
      const out = this.#layout.forward(this.#online, x, hb.steps, hb.batch, {
        grad: false,
        u: true,
      });
      return {
        q: copyData(out.q),
        u: out.u ? copyData(out.u) : null,
        steps: hb.steps,
      };
    });
  }

  /** Hard-copy every online weight into the target network. */
  updateTargets(): void {
    this.#live();
    for (const name of Object.keys(this.#online)) this.#target[name].assign(this.#online[name]);
  }

  /** Every tensor (online, target, Adam moments) and the Adam step count. */
  snapshot(): AgentSnapshot {
    this.#live();
    const read = (vars: Weights) =>
      Object.fromEntries(
        Object.entries(vars).map(([name, v]) => [name, { shape: [...v.shape], data: copyData(v) }]),
      );
    const adam = this.#optimizer.getState();
    return makeSnapshot({
      online: read(this.#online),
      target: read(this.#target),
      m: adam.m,
      v: adam.v,
      step: adam.step,
    });
  }

  /** Restore a {@link RecurrentAgent.snapshot}; every name must be present with its shape. */
  restore(snapshot: AgentSnapshot): void {
    this.#live();
    const shapes = Object.fromEntries(
      Object.entries(this.#online).map(([name, v]) => [name, v.shape]),
    );
    const parts = readSnapshot(snapshot, shapes); // checks everything before changing anything
    for (const name of Object.keys(shapes)) {
      assignChecked(this.#online[name], parts.online[name], `online/${name}`);
      assignChecked(this.#target[name], parts.target[name], `target/${name}`);
    }
    this.#optimizer.setState({ step: parts.step, m: parts.m, v: parts.v });
    this.#actCache = null;
  }

  /** Free every tensor; the agent is unusable afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#optimizer.dispose();
    for (const v of Object.values(this.#online)) v.dispose();
    for (const v of Object.values(this.#target)) v.dispose();
  }

  #live(): void {
    if (this.#disposed) throw new Error("agent: used after dispose()");
  }

  /**
   * Gradients of one loss term with respect to `wrt`, and the kept scalars [loss, L_Q, L_U] (the
   * caller disposes them). Call inside a scope.
   */
  #gradients(
    episodes: Episode[],
    options: TrainStepOptions,
    wrt: Weights,
    term: "total" | "q" | "u" = "total",
  ) {
    const gamma = options.gamma;
    if (!Number.isFinite(gamma) || gamma < 0 || gamma > 1) {
      throw new Error(`trainStep: invalid gamma ${gamma}; expected a number in [0, 1]`);
    }
    const hb = this.#hostBatch(episodes, options.bootstrapOnTruncation ?? false);
    const { steps: T, batch: B } = hb;
    const N = T * B, A = this.#layout.numActions;
    const hasU = this.#layout.uKind !== "none";
    const vr = this.algo === "adqn-vr" || this.algo === "adqn-state-vr";
    const prep = this.#layout.prepare(hb, (T + 1) * B);
    const xTarget: SequenceTensors = this.#layout.toTensors(prep);
    const xOnline: SequenceTensors = this.#layout.toTensors(prep, N);
    const td = {
      actions: tf.tensor1d(hb.actions, "int32"),
      rewards: tf.tensor1d(hb.rewards),
      continues: tf.tensor1d(hb.continues),
      mask: B > 1 ? tf.tensor1d(hb.mask) : undefined,
      gamma,
    };
    let losses: tf.Scalar[] = [];
    const f = () => {
      // Target network over T+1 steps; row t+1 gives the values at h_{t+1}. The loss functions
      // stop every gradient through these values.
      const tgt = this.#layout.forward(this.#target, xTarget, T + 1, B, { grad: false, u: hasU });
      const next = (v: tf.Tensor2D) => tf.slice(v, [B, 0], [N, A]);
      const on = this.#layout.forward(this.#online, xOnline, T, B, { grad: true, u: hasU });
      const inputs = {
        ...td,
        q: on.q,
        targetQNext: next(tgt.q),
        u: on.u,
        targetUNext: tgt.u ? next(tgt.u) : undefined,
        targetU: tgt.u && vr ? tf.slice(tgt.u, [0, 0], [N, A]) : undefined,
      };
      const l = LOSSES[this.algo](inputs as QInputs);
      losses = [l.loss, l.lossQ, l.lossU].map((t) => tf.keep(t));
      return term === "total" ? l.loss : term === "q" ? l.lossQ : l.lossU;
    };
    const names = Object.keys(wrt);
    const { grads } = tf.engine().gradients(f, names.map((n) => wrt[n]), undefined, true);
    const byName: Record<string, tf.Tensor> = {};
    names.forEach((name, i) => {
      if (grads[i]) byName[name] = grads[i];
    });
    return { grads: byName, losses };
  }

  #hostBatch(episodes: Episode[], bootstrapOnTruncation: boolean): HostBatch & { rows: number } {
    if (!Array.isArray(episodes) || episodes.length === 0) {
      throw new Error("trainStep: expected a non-empty array of episodes");
    }
    return packEpisodes(this.#layout, episodes, bootstrapOnTruncation);
  }
}
