/**
 * Whole-model gradient check against tfjs autodiff, for all five algorithms: each run's gradient
 * of its total loss, as the agent's training step computes it (lib/models/batched_agent.ts: the
 * grouped embeddings and heads, the hand-written host GRU of lib/nn/gru_host.ts, the losses of
 * lib/losses with a per-run reduction), against `tf.grads` of an independent plain-op reference
 * of the same model built from the same weights.
 *
 * The reference is written from the specification (docs/algorithms.md), not from the agent's
 * code: each episode runs alone through its own embeddings (one-hot rows times the table),
 * `gruSequenceReference` (lib/nn/gru.ts, plain tfjs ops) and dense heads, so no padding, row
 * groups or packing are shared with the code under test; the targets y_t (with a* = the first
 * argmax of the target Q̄, evaluated by the target Ū, targets without gradient) are computed on
 * the host in float64 from the target network's outputs; the losses are written out again.
 * Target weights differ from the online ones (another seed's), so a mix-up of the two fails.
 *
 * Two seams are checked: `lossGradients` (the gradients before Adam), and `trainStep` itself: its
 * first Adam step from zero moments moves each weight by lr·g/(|g| + ε) (PyTorch's bias-corrected
 * update at t = 1: m̂ = g, √v̂ = |g|), compared with that update computed from the reference g, so a
 * training step that computed its gradients otherwise than `lossGradients` would fail too.
 *
 * Cases: K = 1 (one episode, as the paper's protocol trains) and K = 3 (two episodes per run, of
 * different lengths within and across runs, some terminated and some truncated), with and without
 * bootstrapping at truncation, on Heaven-Hell (embedded one-hot inputs), Car-Flag (identity
 * inputs, a state-only U head that reads data alone) and MemoryFourRooms (categorical codes through
 * shared tables, mixed with pass-through one-hot and vector parts), each at its preset's embedding
 * widths but with a small GRU and head.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { makeEnv } from "../../lib/envs/mod.ts";
import type { Env, FeatureSpec } from "../../lib/envs/types.ts";
import { makeBatchedAgent } from "../../lib/models/batched_agent.ts";
import {
  type AgentSnapshot,
  ALGO_IDS,
  type AlgoId,
  type Episode,
} from "../../lib/models/contract.ts";
import type { ModelConfig } from "../../lib/models/presets.ts";
import { gruSequenceReference } from "../../lib/nn/gru.ts";
import { initTestBackend, randomEpisode, SMALL } from "./helpers.ts";

await initTestBackend(); // wasm-blas where OpenBLAS loads; ADQN_TEST_BACKEND=wasm: plain wasm

const GAMMA = 0.9;
/** Adam settings that make the first update lr·g/(|g| + ε) well conditioned for recovering g. */
const LR = 1, ADAM_EPS = 1;

/**
 * Tolerances. Both sides are float32 computations of the same function in different orders (the
 * agent sums some products in float64, tfjs does not; the reference runs episode by episode), so
 * they differ by rounding: float32 ε ≈ 1.2e-7 per op, grown by the sums over ≤ 20 rows × 3H
 * columns and by backpropagation through ≤ 10 GRU steps. An element's error is bounded by the
 * size of the terms summed into it, not by its own value (terms cancel), so the bound scales with
 * the largest gradient of the same parameter: tol × (max|g| + |g_i|). Rounding of a GRU
 * pre-activation x (a sum over the I inputs) is amplified where gates saturate (σ'(x) changes by
 * a relative |x|·δx), and |x| grows like √I, so tol = GRAD_REL × √I. Measured errors, as a share
 * of max|g|: ≤ 1.4e-6 with I = 7 (Heaven-Hell) and 10 (Car-Flag), 8.2e-6 with I = 1201
 * (MemoryFourRooms), on wasm and wasm-blas alike: the bounds (1.3e-5, 1.6e-5, 1.7e-4) leave
 * margins of 11 to 21. A wrong target network, mask, mean or discount moves gradients by O(1) of
 * max|g|, and a factor 1.001 on one term of the GRU's backward pass fails too.
 */
const GRAD_REL = 5e-6;
/** Losses are O(0.1-10) sums of squares: relative rounding a few ulp. */
const LOSS_REL = 1e-5;
/**
 * The Adam update u = p_before − p_after is read from float32 weights of size up to ~3 (the N(0,1)
 * embeddings), so it carries ~2 ulp of the weight (≤ 5e-7); the update formula itself rounds at
 * a few ulp of u (measured: ≤ 1.2e-6 in all, the gradient's own rounding included).
 */
const UPDATE_ABS = 1e-6, UPDATE_REL = 1e-5;

type HostTensors = Record<string, { shape: number[]; data: Float32Array }>;
type Tensors = Record<string, tf.Tensor>;

/** The U head each algorithm has (docs/algorithms.md): on history and state, state alone, none. */
function uInput(algo: AlgoId): "none" | "history" | "state" {
  if (algo === "dqn") return "none";
  return algo === "adqn" || algo === "adqn-vr" ? "history" : "state";
}

/**
 * φ of one feature group: pass-through columns (spec order), each embedded one-hot part (one-hot
 * rows times its table), then every code of the categorical parts through their one shared table.
 */
function encodeRef(spec: FeatureSpec, prefix: string, W: Tensors, x: tf.Tensor2D): tf.Tensor2D {
  const rows = x.shape[0];
  const pass: tf.Tensor2D[] = [], embedded: tf.Tensor2D[] = [], codes: tf.Tensor2D[] = [];
  let o = 0, vocab = 0;
  spec.parts.forEach((part, i) => {
    const width = part.kind === "categorical" ? part.count : part.size;
    const cols = tf.slice(x, [0, o], [rows, width]);
    o += width;
    const table = W[`${prefix}.onehot${i}`];
    if (part.kind === "categorical") {
      codes.push(cols);
      vocab = Math.max(vocab, part.vocab);
    } else if (part.kind === "onehot" && table !== undefined) embedded.push(tf.matMul(cols, table));
    else pass.push(cols);
  });
  if (codes.length > 0) {
    const all = tf.concat(codes, 1), count = all.shape[1];
    const table = W[`${prefix}.categorical`];
    const onehot = tf.oneHot(tf.cast(tf.reshape(all, [-1]), "int32"), vocab).toFloat();
    embedded.push(tf.reshape(tf.matMul(onehot, table), [rows, count * table.shape[1]!]));
  }
  return tf.concat([...pass, ...embedded], 1);
}

/** Linear-ReLU-…-Linear head `name`. */
function headRef(W: Tensors, name: string, x: tf.Tensor2D): tf.Tensor2D {
  let y = x;
  for (let i = 0; W[`${name}.${i}.w`] !== undefined; i++) {
    y = tf.add(tf.matMul(y, W[`${name}.${i}.w`]), W[`${name}.${i}.b`]);
    if (W[`${name}.${i + 1}.w`] !== undefined) y = tf.relu(y);
  }
  return y;
}

/**
 * Q and U of one episode's first `rows` steps (rows = length + 1 appends the final observation
 * and state), from a zero GRU state, with φ_A(a_{-1}) = 0.
 */
function forwardRef(
  env: Env,
  algo: AlgoId,
  W: Tensors,
  ep: Episode,
  rows: number,
): { q: tf.Tensor2D; u: tf.Tensor2D | null } {
  const A = env.numActions, ow = env.obsSpec.size, sw = env.stateSpec.size;
  const prev = new Float32Array(rows * A);
  for (let t = 1; t < rows; t++) prev[t * A + ep.actions[t - 1]] = 1;
  const obs = new Float32Array(rows * ow), states = new Float32Array(rows * sw);
  obs.set(ep.obs.subarray(0, Math.min(rows, ep.length) * ow));
  states.set(ep.states.subarray(0, Math.min(rows, ep.length) * sw));
  if (rows > ep.length) {
    obs.set(ep.finalObs, ep.length * ow);
    states.set(ep.finalState, ep.length * sw);
  }
  const actionSpec: FeatureSpec = { size: A, parts: [{ kind: "onehot", size: A }] };
  const x = tf.concat([
    encodeRef(actionSpec, "action", W, tf.tensor2d(prev, [rows, A])),
    encodeRef(env.obsSpec, "obs", W, tf.tensor2d(obs, [rows, ow])),
  ], 1);
  const gru = {
    wi: W["gru.wi"] as tf.Tensor2D,
    wh: W["gru.wh"] as tf.Tensor2D,
    bi: W["gru.bi"] as tf.Tensor1D,
    bh: W["gru.bh"] as tf.Tensor1D,
  };
  const hist = gruSequenceReference(x, gru, rows, 1);
  const q = headRef(W, "q", hist);
  const kind = uInput(algo);
  if (kind === "none") return { q, u: null };
  const phiS = encodeRef(env.stateSpec, "state", W, tf.tensor2d(states, [rows, sw]));
  return { q, u: headRef(W, "u", kind === "history" ? tf.concat([hist, phiS], 1) : phiS) };
}

interface RefResult {
  loss: number;
  lossQ: number;
  lossU: number;
  grads: Record<string, Float32Array>;
}

/** The reference losses of one run's batch and the autodiff gradients of its total. */
function referenceRun(
  env: Env,
  algo: AlgoId,
  online: HostTensors,
  target: HostTensors,
  episodes: readonly Episode[],
  boot: boolean,
): RefResult {
  const A = env.numActions, vr = algo.endsWith("-vr");
  return tf.tidy(() => {
    const Wt: Tensors = {};
    for (const [n, t] of Object.entries(target)) Wt[n] = tf.tensor(t.data, t.shape);
    // Targets on the host (float64): y_t = r_t + γ m_t (max Q̄ or Ū at a* = first argmax Q̄).
    const perEpisode = episodes.map((ep) => {
      const bootstraps = boot && ep.truncated && !ep.terminated;
      const out = forwardRef(env, algo, Wt, ep, ep.length + 1);
      const tq = out.q.dataSync(), tu = out.u?.dataSync();
      const y = new Float64Array(ep.length), taken = new Float32Array(ep.length * A);
      for (let t = 0; t < ep.length; t++) {
        const m = t + 1 < ep.length || bootstraps ? 1 : 0;
        const next = (t + 1) * A;
        let best = 0;
        for (let a = 1; a < A; a++) if (tq[next + a] > tq[next + best]) best = a;
        const value = algo === "dqn" ? tq[next + best] : tu![next + best];
        y[t] = ep.rewards[t] + GAMMA * m * value;
        taken[t * A + ep.actions[t]] = 1;
      }
      const uSame = tu ? tf.tensor2d(tu.slice(0, ep.length * A), [ep.length, A]) : null;
      const onehot = tf.tensor2d(taken, [ep.length, A]);
      return { y: tf.tensor1d(Float32Array.from(y)), onehot, uSame };
    });
    const names = Object.keys(online);
    const lossOf = (W: Tensors) => {
      const sq: { q: tf.Tensor[]; u: tf.Tensor[] } = { q: [], u: [] };
      episodes.forEach((ep, b) => {
        const { y, onehot, uSame } = perEpisode[b];
        const out = forwardRef(env, algo, W, ep, ep.length);
        const at = (v: tf.Tensor2D) => tf.sum(tf.mul(v, onehot), 1); // v(h_t, a_t)
        sq.q.push(
          vr ? tf.mean(tf.square(tf.sub(out.q, uSame!)), 1) : tf.square(tf.sub(at(out.q), y)),
        );
        if (out.u) sq.u.push(tf.square(tf.sub(at(out.u), y)));
      });
      const lossQ = tf.mean(tf.concat(sq.q));
      const lossU = sq.u.length > 0 ? tf.mean(tf.concat(sq.u)) : tf.scalar(0);
      const loss = algo === "dqn" ? lossQ : tf.div(tf.add(lossQ, lossU), 2);
      return { loss, lossQ, lossU };
    };
    const named = (ts: tf.Tensor[]) => Object.fromEntries(names.map((n, i) => [n, ts[i]]));
    const xs = names.map((n) => tf.tensor(online[n].data, online[n].shape));
    const grads = tf.grads((...ts: tf.Tensor[]) => lossOf(named(ts)).loss)(xs);
    const values = lossOf(named(xs));
    return {
      loss: values.loss.dataSync()[0],
      lossQ: values.lossQ.dataSync()[0],
      lossU: values.lossU.dataSync()[0],
      grads: Object.fromEntries(names.map((n, i) => [n, grads[i].dataSync() as Float32Array])),
    };
  });
}

/** The tensors of `snap` under `prefix` ("online" or "target"), by parameter name. */
function part(snap: AgentSnapshot, prefix: string): HostTensors {
  const out: HostTensors = {};
  for (const [key, t] of Object.entries(snap.tensors)) {
    if (key.startsWith(`${prefix}/`)) out[key.slice(prefix.length + 1)] = t;
  }
  return out;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function assertClose(got: number, want: number, rel: number, what: string) {
  assert.ok(
    Math.abs(got - want) <= rel * Math.max(1, Math.abs(want)),
    `${what}: ${got} vs reference ${want}`,
  );
}

/** A run's episodes: lengths, and which end by termination (the others are truncated). */
type EpisodePlan = { length: number; terminated: boolean }[];

/** Random-policy episodes of the planned lengths (the first seeds, from `seed` on, that last so long). */
function makeEpisodes(env: Env, seed: number, plan: EpisodePlan): Episode[] {
  return plan.map(({ length, terminated }, i) => {
    for (let s = 100 * seed + 10 * i; s < 100 * seed + 10 * i + 10; s++) {
      const ep = randomEpisode(env, s, length);
      if (ep.length === length) return { ...ep, terminated, truncated: !terminated };
    }
    throw new Error(`no random episode of length ${length} from seed ${seed}`);
  });
}

const ENVS: { id: string; model: Partial<ModelConfig> }[] = [
  { id: "heaven-hell-3", model: SMALL },
  { id: "car-flag", model: { gruHidden: SMALL.gruHidden, headHidden: SMALL.headHidden } },
  {
    id: "memory-four-rooms-7x7",
    model: { gruHidden: SMALL.gruHidden, headHidden: SMALL.headHidden },
  },
];

/** K = 1: one truncated episode; K = 3: two per run, lengths differing within and across runs. */
const PLANS: Record<number, EpisodePlan[]> = {
  1: [[{ length: 7, terminated: false }]],
  3: [
    [{ length: 6, terminated: false }, { length: 4, terminated: true }],
    [{ length: 9, terminated: false }, { length: 3, terminated: false }],
    [{ length: 2, terminated: true }, { length: 8, terminated: false }],
  ],
};

/** The allowed error of each gradient element: tol × (max|g| of its parameter + |g_i|). */
function allowedErrors(grads: Record<string, Float32Array>, tol: number) {
  const out: Record<string, Float64Array> = {};
  for (const [name, g] of Object.entries(grads)) {
    const scale = maxAbs(g);
    out[name] = Float64Array.from(g, (v) => tol * (scale + Math.abs(v)));
  }
  return out;
}

/** `lossGradients`' losses and gradients of one run against the reference's. */
function checkGradients(
  got: RefResult,
  ref: RefResult,
  allowed: Record<string, Float64Array>,
  what: string,
) {
  for (const f of ["loss", "lossQ", "lossU"] as const) {
    assertClose(got[f], ref[f], LOSS_REL, `${what} ${f}`);
  }
  assert.deepEqual(Object.keys(got.grads).sort(), Object.keys(ref.grads).sort(), what);
  for (const [name, want] of Object.entries(ref.grads)) {
    const have = got.grads[name];
    assert.ok(maxAbs(want) > 0, `${what} ${name}: the reference gradient is all zero`);
    for (let i = 0; i < want.length; i++) {
      assert.ok(
        Math.abs(have[i] - want[i]) <= allowed[name][i],
        `${what} ${name}[${i}]: ${have[i]} vs autodiff ${want[i]} (allowed ${allowed[name][i]})`,
      );
    }
  }
}

/**
 * `trainStep`'s first Adam update of one run, u = p_before − p_after, against lr·g/(|g| + ε) of
 * the reference g; the gradient's allowed error passes through the update's slope, ≤ lr/ε.
 */
function checkUpdate(
  before: AgentSnapshot,
  after: AgentSnapshot,
  ref: RefResult,
  allowed: Record<string, Float64Array>,
  what: string,
) {
  for (const [name, g] of Object.entries(ref.grads)) {
    const p0 = before.tensors[`online/${name}`].data, p1 = after.tensors[`online/${name}`].data;
    for (let i = 0; i < g.length; i++) {
      const want = LR * g[i] / (Math.abs(g[i]) + ADAM_EPS), u = p0[i] - p1[i];
      const tol = UPDATE_ABS + UPDATE_REL * Math.abs(want) + (LR / ADAM_EPS) * allowed[name][i];
      assert.ok(
        Math.abs(u - want) <= tol,
        `${what} ${name}[${i}]: trainStep moved it by ${u}, expected ${want}`,
      );
    }
    const t0 = before.tensors[`target/${name}`].data, t1 = after.tensors[`target/${name}`].data;
    assert.deepEqual(t1, t0, `${what}: target ${name} changed`);
  }
}

function checkCase(envId: string, model: Partial<ModelConfig>, K: number, algo: AlgoId) {
  const env = makeEnv(envId, { timeLimit: 50 });
  const seeds = Array.from({ length: K }, (_, k) => 3 + k);
  const agent = makeBatchedAgent(env, algo, { seeds, model, lr: LR, adamEps: ADAM_EPS });
  const other = makeBatchedAgent(env, algo, { seeds: seeds.map((s) => s + 50), model });
  try {
    // Targets: another seed's weights, so that online and target networks differ.
    const snaps = seeds.map((_, k) => {
      const base = agent.snapshot(k), targets = part(other.snapshot(k), "online");
      const tensors = { ...base.tensors };
      for (const [n, t] of Object.entries(targets)) tensors[`target/${n}`] = t;
      const snap = { tensors, scalars: base.scalars };
      agent.restore(k, snap);
      return snap;
    });
    const batches = PLANS[K].map((plan, k) => makeEpisodes(env, 7 * K + k, plan));
    for (const boot of [false, true]) {
      const what = `${envId} ${algo} K = ${K} boot ${boot}`;
      const opts = { gamma: GAMMA, bootstrapOnTruncation: boot };
      const got = agent.lossGradients(batches, opts);
      const refs = snaps.map((s, k) =>
        referenceRun(env, algo, part(s, "online"), part(s, "target"), batches[k], boot)
      );
      refs.forEach((ref, k) => {
        const inputs = snaps[k].tensors["online/gru.wi"].shape[0];
        const allowed = allowedErrors(ref.grads, GRAD_REL * Math.sqrt(inputs));
        checkGradients(got[k]!, ref, allowed, `${what} run ${k}`);
      });
      agent.trainStep(batches, opts);
      refs.forEach((ref, k) => {
        const inputs = snaps[k].tensors["online/gru.wi"].shape[0];
        const allowed = allowedErrors(ref.grads, GRAD_REL * Math.sqrt(inputs));
        checkUpdate(snaps[k], agent.snapshot(k), ref, allowed, `${what} run ${k}`);
        agent.restore(k, snaps[k]); // back to zero moments for the next case
      });
    }
  } finally {
    agent.dispose();
    other.dispose();
  }
}

for (const { id, model } of ENVS) {
  for (const K of [1, 3]) {
    Deno.test(`agent gradients of ${id} at K = ${K} equal tfjs autodiff of a plain-op reference for all five algorithms`, () => {
      const before = tf.memory().numTensors;
      for (const algo of ALGO_IDS) checkCase(id, model, K, algo);
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
    });
  }
}
