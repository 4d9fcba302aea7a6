/**
 * Test doubles for the training loop: a deterministic linear recurrent agent whose `trainStep`
 * changes its weights (so snapshot comparisons are meaningful), and a tiny environment whose
 * episodes all have the same length (so bookkeeping can be computed by hand).
 *
 * @module
 */
import type { Env } from "../../lib/envs/types.ts";
import { featureSpec } from "../../lib/envs/types.ts";
import { makeRng, normal, randInt, type Seed } from "../../lib/rng.ts";
import type {
  Agent,
  AgentSnapshot,
  AlgoId,
  Episode,
  TrainStepLosses,
  TrainStepOptions,
} from "../../lib/train/agent.ts";
import type { AgentFactory, RunsAgent } from "../../lib/train/loop.ts";

/** One call the fake agent saw, in order. */
export type FakeEvent =
  | { kind: "act" }
  | { kind: "train"; lengths: number[] }
  | { kind: "targets" };

const H = 4;

/** A linear Q on [GRU-like tanh hidden, observation] features, trained by plain TD steps. */
export class FakeAgent implements Agent {
  readonly algo: AlgoId;
  readonly hiddenSize = H;
  readonly obsSize: number;
  readonly numActions: number;
  readonly lr: number;
  /** Every call, in order (not part of the snapshot). */
  readonly events: FakeEvent[] = [];
  disposed = false;
  #w: Float32Array;
  #wt: Float32Array;
  #steps = 0;
  #copies = 0;

  constructor(obsSize: number, numActions: number, algo: AlgoId, seed: Seed, lr: number) {
    this.algo = algo;
    this.obsSize = obsSize;
    this.numActions = numActions;
    this.lr = lr;
    const rng = makeRng(seed);
    this.#w = new Float32Array(numActions * (H + obsSize)).map(() => 0.1 * normal(rng));
    this.#wt = this.#w.slice();
  }

  initialHidden(): Float32Array {
    return new Float32Array(H);
  }

  #next(hidden: Float32Array, prevAction: number, obs: Float32Array): Float32Array {
    const out = new Float32Array(H);
    for (let i = 0; i < H; i++) {
      let z = 0.5 * hidden[i] + 0.3 * (prevAction + 1) * (i + 1) / this.numActions;
      for (let j = 0; j < obs.length; j++) z += Math.sin(7 * i + 3 * j + 1) * obs[j];
      out[i] = Math.tanh(z);
    }
    return out;
  }

  #q(w: Float32Array, hidden: Float32Array, obs: Float32Array): Float32Array {
    const F = H + this.obsSize;
    const q = new Float32Array(this.numActions);
    for (let a = 0; a < this.numActions; a++) {
      let s = 0;
      for (let i = 0; i < H; i++) s += w[a * F + i] * hidden[i];
      for (let j = 0; j < this.obsSize; j++) s += w[a * F + H + j] * obs[j];
      q[a] = s;
    }
    return q;
  }

  act(hidden: Float32Array, prevAction: number, obs: Float32Array) {
    this.events.push({ kind: "act" });
    const h = this.#next(hidden, prevAction, obs);
    return { q: this.#q(this.#w, h, obs), hidden: h };
  }

  trainStep(episodes: Episode[], options: TrainStepOptions): TrainStepLosses {
    this.events.push({ kind: "train", lengths: episodes.map((e) => e.length) });
    const F = H + this.obsSize;
    const grad = new Float64Array(this.#w.length);
    let loss = 0, n = 0;
    for (const ep of episodes) {
      let h = this.initialHidden();
      const feats: { h: Float32Array; o: Float32Array }[] = [];
      for (let t = 0; t < ep.length; t++) {
        const o = ep.obs.subarray(t * this.obsSize, (t + 1) * this.obsSize);
        h = this.#next(h, t === 0 ? -1 : ep.actions[t - 1], o);
        feats.push({ h, o });
      }
      for (let t = 0; t < ep.length; t++) {
        const a = ep.actions[t];
        let y = ep.rewards[t];
        if (t + 1 < ep.length) {
          y += options.gamma * Math.max(...this.#q(this.#wt, feats[t + 1].h, feats[t + 1].o));
        }
        const delta = this.#q(this.#w, feats[t].h, feats[t].o)[a] - y;
        loss += delta * delta;
        n++;
        for (let i = 0; i < H; i++) grad[a * F + i] += delta * feats[t].h[i];
        for (let j = 0; j < this.obsSize; j++) grad[a * F + H + j] += delta * feats[t].o[j];
      }
    }
    for (let k = 0; k < this.#w.length; k++) this.#w[k] -= this.lr * grad[k] / n;
    this.#steps++;
    const lossQ = loss / n;
    const lossU = this.algo === "dqn" ? 0 : lossQ / 2;
    return { loss: this.algo === "dqn" ? lossQ : (lossQ + lossU) / 2, lossQ, lossU };
  }

  updateTargets(): void {
    this.events.push({ kind: "targets" });
    this.#wt = this.#w.slice();
    this.#copies++;
  }

  snapshot(): AgentSnapshot {
    const shape = [this.numActions, H + this.obsSize];
    return {
      tensors: { w: { shape, data: this.#w.slice() }, wTarget: { shape, data: this.#wt.slice() } },
      scalars: { steps: this.#steps, copies: this.#copies },
    };
  }

  restore(snapshot: AgentSnapshot): void {
    for (const name of ["w", "wTarget"]) {
      const t = snapshot.tensors[name];
      if (!t || t.data.length !== this.#w.length) throw new Error(`fake agent: bad tensor ${name}`);
    }
    this.#w = snapshot.tensors.w.data.slice();
    this.#wt = snapshot.tensors.wTarget.data.slice();
    this.#steps = snapshot.scalars.steps;
    this.#copies = snapshot.scalars.copies;
  }

  dispose(): void {
    this.disposed = true;
  }
}

/**
 * The loop's K-run agent over one {@link FakeAgent} per run: each call goes to the runs it names,
 * so a run's events and weights are those of a lone run.
 */
export function fakeRuns(agents: FakeAgent[]): RunsAgent {
  const each = (runs: readonly boolean[]) => agents.filter((_, k) => runs[k]);
  return {
    size: agents.length,
    initialHidden: () => agents[0].initialHidden(),
    actMany: (requests) => requests.map((r) => agents[r.run].act(r.hidden, r.prevAction, r.obs)),
    updateTargets: (runs) => each(runs).forEach((a) => a.updateTargets()),
    trainStep: (batches, options) =>
      batches.map((b, k) => (b === null ? null : agents[k].trainStep([...b], options))),
    snapshot: (k) => agents[k].snapshot(),
    restore: (k, snapshot) => agents[k].restore(snapshot),
    view: (k) => agents[k],
    dispose: () => agents.forEach((a) => a.dispose()),
  };
}

/** An agent factory making {@link FakeAgent}s, one per run; every agent made is pushed on `made`. */
export function fakeAgentFactory(made: FakeAgent[] = []): AgentFactory {
  return (env, algo, options) => {
    // Step size 500 × lr: 0.05 at the default lr 1e-4, and each run's own in a mixed batch.
    const agents = options.seeds.map((seed, k) =>
      new FakeAgent(env.obsSpec.size, env.numActions, algo, seed, 500 * options.lr[k])
    );
    made.push(...agents);
    return fakeRuns(agents);
  };
}

/** State of {@link makeFixedEnv}: the hidden goal and the step counter. */
export interface FixedState {
  /** The rewarded action, drawn at reset and observed only at t = 0. */
  goal: number;
  /** Steps taken. */
  t: number;
}

/**
 * A memory task whose episodes last exactly `length` steps (it terminates then), unless
 * `timeLimit` < `length` (then they are truncated at `timeLimit`): the goal action is shown at
 * t = 0 only, and each step pays +1 if the action equals it. Counts resets on `resets`.
 */
export function makeFixedEnv(
  length: number,
  options: { numActions?: number; timeLimit?: number } = {},
): Env<FixedState, number> & { resets: number } {
  const A = options.numActions ?? 3;
  const env = {
    id: "fixed",
    numActions: A,
    actionNames: Array.from({ length: A }, (_, i) => `a${i}`),
    timeLimit: options.timeLimit ?? 1000,
    obsSpec: featureSpec([{ kind: "onehot", size: A }]),
    stateSpec: featureSpec([{ kind: "onehot", size: A }, {
      kind: "vector",
      size: 1,
      low: 0,
      high: 1,
    }]),
    resets: 0,
    reset(rng: () => number) {
      env.resets++;
      const goal = randInt(rng, A);
      return { state: { goal, t: 0 }, obs: goal };
    },
    step(state: FixedState, action: number, rng: () => number) {
      rng(); // consume the env stream like a stochastic env would
      const t = state.t + 1;
      return {
        state: { goal: state.goal, t },
        obs: -1,
        reward: action === state.goal ? 1 : 0,
        terminated: t >= length,
        truncated: t < length && t >= env.timeLimit,
      };
    },
    encodeObs(obs: number) {
      const v = new Float32Array(A);
      if (obs >= 0) v[obs] = 1;
      return v;
    },
    encodeState(state: FixedState) {
      const v = new Float32Array(A + 1);
      v[state.goal] = 1;
      v[A] = state.t / length;
      return v;
    },
    renderObs: (obs: number) => String(obs),
    renderState: (s: FixedState) => `${s.goal}@${s.t}`,
  };
  return env;
}
