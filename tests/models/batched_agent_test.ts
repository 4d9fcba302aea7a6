/**
 * The agent (K runs trained together; one run is K = 1): each test of one run's behaviour runs at
 * K = 1 and K = 3 (the run under test is the last, the others keep their own seeds), and K = 3
 * must reproduce three K = 1 agents run by run. On the `wasm-blas` backend (when OpenBLAS loads)
 * the K = 3 / K = 1 comparisons are exact; on plain `wasm` the grouped products are plain
 * JavaScript loops and agree to float32 rounding (tolerances below).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { makeEnv } from "../../lib/envs/mod.ts";
import type { Env } from "../../lib/envs/types.ts";
import { type BatchedAgent, makeAgent, makeBatchedAgent } from "../../lib/models/batched_agent.ts";
import { makeHeavenHell } from "../../lib/envs/heaven_hell.ts";
import type { ModelConfig } from "../../lib/models/presets.ts";
import {
  type AgentSnapshot,
  ALGO_IDS,
  type AlgoId,
  type Episode,
} from "../../lib/models/contract.ts";
import { extendByFinalStep, initTestBackend, maxAbsDiff, randomEpisode, SMALL } from "./helpers.ts";

// ADQN_TEST_BACKEND=wasm runs these tests on plain wasm (tolerances instead of exact equality).
const BLAS = await initTestBackend();
/** Bit-identical results are expected on the BLAS backend. */
const EXACT = BLAS;
/** Otherwise: weights after a few Adam steps agree to this (they are O(1)). */
const WEIGHT_TOL = 1e-5;

const MODEL = { gruHidden: 8, headHidden: [16, 8] };

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function assertSameArrays(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  if (tol === 0) {
    assert.deepEqual(Array.from(b), Array.from(a), what);
  } else {
    const d = maxDiff(a, b);
    assert.ok(d <= tol, `${what}: max difference ${d} > ${tol}`);
  }
}

function assertSameSnapshot(a: AgentSnapshot, b: AgentSnapshot, tol: number, what: string) {
  assert.deepEqual(Object.keys(b.tensors).sort(), Object.keys(a.tensors).sort(), what);
  assert.deepEqual(b.scalars, a.scalars, `${what}: scalars`);
  for (const key of Object.keys(a.tensors)) {
    assert.deepEqual(b.tensors[key].shape, a.tensors[key].shape, `${what}: ${key} shape`);
    assertSameArrays(a.tensors[key].data, b.tensors[key].data, tol, `${what}: ${key}`);
  }
}

/** A few random-policy episodes of different lengths. */
function episodes(env: Env, seed: number, count: number, maxSteps: number): Episode[] {
  return Array.from({ length: count }, (_, i) => randomEpisode(env, seed * 100 + i, maxSteps));
}

Deno.test("`makeBatchedAgent()` starts run k of K = 3 as the K = 1 agent with seed k and acts as it does", () => {
  const env = makeEnv("heaven-hell-3", { timeLimit: 30 });
  const seeds = [4, 9, 2];
  for (const algo of ["adqn", "dqn"] as AlgoId[]) {
    const batched = makeBatchedAgent(env, algo, { seeds, model: MODEL });
    const singles = seeds.map((seed) =>
      makeBatchedAgent(env, algo, { seeds: [seed], model: MODEL })
    );
    try {
      seeds.forEach((_, k) => {
        assertSameSnapshot(singles[k].snapshot(0), batched.snapshot(k), 0, `${algo} run ${k}`);
      });
      // Step runs 0 and 2 together for a few steps of one episode.
      const ep = randomEpisode(env, 7, 30);
      const hs = [singles[0].initialHidden(), singles[2].initialHidden()];
      const hb = [batched.initialHidden(), batched.initialHidden()];
      let prev = -1;
      for (let t = 0; t < Math.min(5, ep.length); t++) {
        const ow = env.obsSpec.size;
        const obs = ep.obs.subarray(t * ow, (t + 1) * ow);
        const outs = batched.actMany([
          { run: 0, hidden: hb[0], prevAction: prev, obs },
          { run: 2, hidden: hb[1], prevAction: prev, obs },
        ]);
        [0, 2].forEach((k, i) => {
          const want = singles[k].act(0, hs[i], prev, obs);
          assert.deepEqual(Array.from(outs[i].q), Array.from(want.q), `${algo} run ${k} q at ${t}`);
          assert.deepEqual(Array.from(outs[i].hidden), Array.from(want.hidden));
          hs[i] = want.hidden;
          hb[i] = outs[i].hidden;
        });
        prev = ep.actions[t];
      }
    } finally {
      batched.dispose();
      singles.forEach((a) => a.dispose());
    }
  }
});

Deno.test("`trainStep()` updates each run of K = 3 as a K = 1 agent and leaves runs without a batch exactly unchanged", () => {
  const cases: { env: string; algo: AlgoId; perBatch: number }[] = [
    { env: "heaven-hell-3", algo: "adqn", perBatch: 1 },
    { env: "heaven-hell-3", algo: "dqn", perBatch: 1 },
    { env: "car-flag", algo: "adqn-state-vr", perBatch: 2 },
  ];
  for (const { env: envId, algo, perBatch } of cases) {
    const env = makeEnv(envId, { timeLimit: 25 });
    const seeds = [1, 2, 3];
    const batched = makeBatchedAgent(env, algo, { seeds, model: MODEL });
    const singles = seeds.map((seed) =>
      makeBatchedAgent(env, algo, { seeds: [seed], model: MODEL })
    );
    try {
      for (let step = 0; step < 4; step++) {
        // Run `step % 3` sits this step out; the others train on episodes of different lengths.
        const batches = seeds.map((_, k) =>
          k === step % 3 ? null : episodes(env, 10 * step + k, perBatch, 25)
        );
        const idle = step % 3;
        const before = batched.snapshot(idle);
        const losses = batched.trainStep(batches, { gamma: 0.99 });
        assert.equal(losses[idle], null);
        assertSameSnapshot(before, batched.snapshot(idle), 0, `${algo}: idle run ${idle}`);
        batches.forEach((b, k) => {
          if (b === null) return;
          const want = singles[k].trainStep([b], { gamma: 0.99 })[0]!;
          const got = losses[k]!;
          for (const f of ["loss", "lossQ", "lossU"] as const) {
            const tol = EXACT ? 0 : 1e-4 * Math.max(1, Math.abs(want[f]));
            assert.ok(
              Math.abs(got[f] - want[f]) <= tol,
              `${algo} run ${k} ${f}: ${got[f]} vs ${want[f]}`,
            );
          }
        });
        if (step === 1) {
          batched.updateTargets([true, false, true]);
          singles[0].updateTargets([true]);
          singles[2].updateTargets([true]);
        }
      }
      seeds.forEach((_, k) => {
        assertSameSnapshot(
          singles[k].snapshot(0),
          batched.snapshot(k),
          EXACT ? 0 : WEIGHT_TOL,
          `${envId} ${algo} run ${k} after training`,
        );
      });
      assert.deepEqual(batched.adamSteps, [2, 3, 3]); // each run sat out one step in three
    } finally {
      batched.dispose();
      singles.forEach((a) => a.dispose());
    }
  }
});

Deno.test("`snapshot()`/`restore()` round-trip a run and move a run between a K = 1 and a K = 2 agent", () => {
  const env = makeEnv("heaven-hell-3", { timeLimit: 20 });
  const batched = makeBatchedAgent(env, "adqn-vr", { seeds: [0, 1], model: MODEL });
  const single = makeBatchedAgent(env, "adqn-vr", { seeds: [5], model: MODEL });
  try {
    single.trainStep([episodes(env, 1, 1, 20)], { gamma: 0.9 });
    const s = single.snapshot(0);
    const other = batched.snapshot(0);
    batched.restore(1, s);
    assertSameSnapshot(s, batched.snapshot(1), 0, "restored run 1");
    assertSameSnapshot(other, batched.snapshot(0), 0, "run 0 untouched");
    // Both continue identically from the restored state.
    const eps = episodes(env, 2, 1, 20);
    const want = single.trainStep([eps], { gamma: 0.9 })[0]!;
    const got = batched.trainStep([null, eps], { gamma: 0.9 })[1]!;
    assert.ok(Math.abs(got.loss - want.loss) <= (EXACT ? 0 : 1e-4), `${got.loss} vs ${want.loss}`);
    assertSameSnapshot(
      single.snapshot(0),
      batched.snapshot(1),
      EXACT ? 0 : WEIGHT_TOL,
      "after a step",
    );
    const broken = { ...s, tensors: { ...s.tensors } };
    delete broken.tensors["online/gru.wh"];
    assert.throws(() => batched.restore(0, broken), /online\/gru\.wh/);
  } finally {
    batched.dispose();
    single.dispose();
  }
});

Deno.test("`BatchedAgent` (K = 3) allocates no lasting tensors per step and checks its inputs", () => {
  const env = makeEnv("heaven-hell-3", { timeLimit: 20 });
  const agent = makeBatchedAgent(env, "adqn", { seeds: [0, 1, 2], model: MODEL });
  try {
    const step = (i: number) => {
      agent.trainStep([episodes(env, i, 1, 20), null, episodes(env, i + 1, 1, 20)], {
        gamma: 0.99,
      });
      agent.actMany([{
        run: 1,
        hidden: agent.initialHidden(),
        prevAction: -1,
        obs: new Float32Array(env.obsSpec.size),
      }]);
      agent.updateTargets([false, true, false]);
      agent.lossGradients([null, episodes(env, i, 1, 20), null], { gamma: 0.99 });
      agent.evaluate([episodes(env, i, 1, 20), null, null]);
    };
    step(0);
    const before = tf.memory().numTensors;
    for (let i = 1; i < 4; i++) step(i);
    assert.equal(tf.memory().numTensors, before);
    assert.throws(
      () => agent.trainStep([episodes(env, 0, 1, 20), episodes(env, 1, 2, 20), null], { gamma: 1 }),
      /same/,
    );
    assert.throws(() => agent.trainStep([null, null], { gamma: 1 }), /2 batches for 3 runs/);
    assert.throws(() => agent.snapshot(3), /out of range/);
    assert.throws(
      () =>
        agent.actMany([{
          run: 0,
          hidden: new Float32Array(3),
          prevAction: -1,
          obs: new Float32Array(env.obsSpec.size),
        }]),
      /hidden/,
    );
  } finally {
    agent.dispose();
  }
  assert.throws(() => agent.snapshot(0), /after dispose/);
});

// ---- One run's behaviour, at K = 1 and K = 3 (the run under test is run K - 1). ----

const KS = [1, 3];
const hh = makeHeavenHell(3);
const GAMMA = 0.9;

/** K runs, the last with seed `seed` (the others with seeds 100, 101, …). */
function agentOf(
  K: number,
  algo: AlgoId,
  seed = 1,
  model: Partial<ModelConfig> = SMALL,
  env: Env = hh,
): BatchedAgent {
  const seeds = [...Array.from({ length: K - 1 }, (_, i) => 100 + i), seed];
  return makeBatchedAgent(env, algo, { seeds, model });
}

/** Batches of a K-run agent: `eps` for the last run, nothing for the others. */
function last<T>(K: number, eps: T): (T | null)[] {
  return Array.from({ length: K }, (_, j) => (j === K - 1 ? eps : null));
}

/** A truncated random episode, and a short one marked as terminated. */
function twoEpisodes(): Episode[] {
  const truncated = randomEpisode(hh, 11, 6);
  assert.ok(truncated.truncated && truncated.length === 6);
  const ended = { ...randomEpisode(hh, 12, 4), terminated: true, truncated: false };
  return [truncated, ended];
}

type Evaluate = (ep: Episode) => { q: Float32Array; u: Float32Array | null };
const evaluator = (agent: BatchedAgent): Evaluate => (ep) =>
  agent.evaluate(last(agent.size, [ep]))[agent.size - 1]!;

/**
 * The losses of `eps`, computed in plain JavaScript from the networks' outputs over each episode
 * extended by its final step (so Q̄(h_T), Ū(h_T, s_T) are available): the second method.
 */
function expectedLosses(
  algo: AlgoId,
  online: Evaluate,
  target: Evaluate,
  eps: Episode[],
  boot: boolean,
): { loss: number; lossQ: number; lossU: number } {
  const A = hh.numActions;
  let sq = 0, su = 0, n = 0, sqVr = 0;
  for (const ep of eps) {
    const ext = extendByFinalStep(ep);
    const on = online(ext);
    const tg = target(ext);
    const row = (v: Float32Array, t: number) => Array.from(v.subarray(t * A, (t + 1) * A));
    for (let t = 0; t < ep.length; t++) {
      const m = t + 1 < ep.length || (boot && ep.truncated && !ep.terminated) ? 1 : 0;
      const qNext = row(tg.q, t + 1);
      let y: number;
      if (algo === "dqn") {
        y = ep.rewards[t] + GAMMA * m * Math.max(...qNext);
      } else {
        const aStar = qNext.indexOf(Math.max(...qNext)); // first maximal index
        y = ep.rewards[t] + GAMMA * m * row(tg.u!, t + 1)[aStar];
        su += (row(on.u!, t)[ep.actions[t]] - y) ** 2;
        const uBar = row(tg.u!, t);
        row(on.q, t).forEach((q, a) => (sqVr += (q - uBar[a]) ** 2));
      }
      sq += (row(on.q, t)[ep.actions[t]] - y) ** 2;
      n++;
    }
  }
  if (algo === "dqn") return { loss: sq / n, lossQ: sq / n, lossU: 0 };
  const lossU = su / n;
  const lossQ = algo.endsWith("-vr") ? sqVr / (n * A) : sq / n;
  return { loss: (lossU + lossQ) / 2, lossQ, lossU };
}

function assertClose(
  got: { loss: number; lossQ: number; lossU: number },
  want: { loss: number; lossQ: number; lossU: number },
  what: string,
) {
  for (const k of ["loss", "lossQ", "lossU"] as const) {
    const ok = Math.abs(got[k] - want[k]) <= 1e-4 * Math.max(1, Math.abs(want[k]));
    assert.ok(ok, `${what} ${k}: ${got[k]} vs ${want[k]}`);
  }
}

Deno.test("losses equal a plain-JS computation from the networks' outputs, at K = 1 and 3", () => {
  const eps = twoEpisodes();
  for (const K of KS) {
    for (const algo of ALGO_IDS) {
      for (const boot of [false, true]) {
        // Fresh agent: target = online.
        const a = agentOf(K, algo);
        const opts = { gamma: GAMMA, bootstrapOnTruncation: boot };
        const got = a.lossGradients(last(K, eps), opts)[K - 1]!;
        const want = expectedLosses(algo, evaluator(a), evaluator(a), eps, boot);
        assertClose(got, want, `K=${K} ${algo} boot=${boot}`);
        a.dispose();
      }
      // After training, online ≠ target: targets must come from the target network, which still
      // equals a fresh agent of the same seeds.
      const trained = agentOf(K, algo), fresh = agentOf(K, algo);
      for (let i = 0; i < 3; i++) trained.trainStep(last(K, eps), { gamma: GAMMA });
      const opts = { gamma: GAMMA, bootstrapOnTruncation: true };
      const got = trained.lossGradients(last(K, eps), opts)[K - 1]!;
      const want = expectedLosses(algo, evaluator(trained), evaluator(fresh), eps, true);
      assertClose(got, want, `K=${K} ${algo} trained`);
      trained.dispose();
      fresh.dispose();
    }
  }
});

Deno.test("acting step by step equals the whole-episode forward, at K = 1 and 3", () => {
  // Every encoder kind: embedded one-hots (Heaven-Hell), identity one-hot action and vectors
  // (Car-Flag, Cleaner), shared categorical tables (MemoryFourRooms), with small GRU and heads.
  const cases = [
    { e: hh as Env, model: SMALL, algos: ["dqn", "adqn"] as const },
    ...["car-flag", "cleaner", "memory-four-rooms-7x7"].map((id) => ({
      e: makeEnv(id),
      model: { gruHidden: 5, headHidden: [6] },
      algos: ["adqn-state"] as const,
    })),
  ];
  for (const K of KS) {
    for (const { e, model, algos } of cases) {
      const ep = randomEpisode(e, 21, 12);
      const other = randomEpisode(e, 22, 5);
      for (const algo of algos) {
        const what = `K=${K} ${e.id} ${algo}`;
        const agent = agentOf(K, algo, 1, model, e);
        const run = K - 1;
        agent.trainStep(last(K, [ep]), { gamma: GAMMA }); // non-initial weights
        const whole = agent.evaluate(last(K, [ep]))[run]!.q;
        // A batch with a shorter episode gives the same rows for `ep` (padding changes nothing).
        const padded = agent.evaluate(last(K, [other, ep]))[run]!.q;
        const A = e.numActions, ow = e.obsSpec.size;
        let h = agent.initialHidden();
        for (let t = 0; t < ep.length; t++) {
          const h0 = Float32Array.from(h);
          const o = ep.obs.subarray(t * ow, (t + 1) * ow);
          const out = agent.act(run, h, t === 0 ? -1 : ep.actions[t - 1], o);
          assert.deepEqual(h, h0, "act must not modify its input state");
          const want = whole.subarray(t * A, (t + 1) * A);
          assert.ok(maxAbsDiff(out.q, want) < 1e-5, `${what} step ${t}: ${out.q} vs ${want}`);
          const wantB = padded.subarray((t * 2 + 1) * A, (t * 2 + 2) * A);
          assert.ok(maxAbsDiff(wantB, want) < 1e-5, `${what} padded step ${t}`);
          h = out.hidden;
        }
        const o0 = ep.obs.subarray(0, ow);
        assert.throws(() => agent.act(run, h, A, o0), /invalid previous action/);
        assert.throws(() => agent.act(run, new Float32Array(3), 0, o0), /hidden has 3/);
        agent.dispose();
      }
    }
  }
});

Deno.test("targets change only through updateTargets(), at K = 1 and 3", () => {
  const eps = twoEpisodes();
  for (const K of KS) {
    for (const algo of ALGO_IDS) {
      const agent = agentOf(K, algo);
      const run = K - 1;
      const before = agent.snapshot(run);
      for (let i = 0; i < 2; i++) agent.trainStep(last(K, eps), { gamma: GAMMA });
      const after = agent.snapshot(run);
      let onlineChanged = false;
      for (const key of Object.keys(before.tensors)) {
        if (key.startsWith("target/")) {
          assert.deepEqual(after.tensors[key].data, before.tensors[key].data, `${algo}: ${key}`);
        } else if (key.startsWith("online/")) {
          onlineChanged ||= maxAbsDiff(after.tensors[key].data, before.tensors[key].data) > 0;
        }
      }
      assert.ok(onlineChanged, `K=${K} ${algo}: online weights unchanged`);
      assert.equal(after.scalars["adam.step"], 2);
      agent.updateTargets(last(K, true).map(Boolean));
      const synced = agent.snapshot(run);
      for (const key of Object.keys(synced.tensors)) {
        if (!key.startsWith("target/")) continue;
        assert.deepEqual(synced.tensors[key].data, synced.tensors[`online/${key.slice(7)}`].data);
      }
      // DQN has no U head (no U parameters, no U gradients).
      const { grads } = agent.lossGradients(last(K, eps), { gamma: GAMMA })[run]!;
      const hasU = Object.keys(grads).some((n) => n.startsWith("u.") || n.startsWith("state."));
      assert.equal(hasU, algo !== "dqn", `K=${K} ${algo}: U parameters`);
      agent.dispose();
    }
  }
});

Deno.test("snapshot → restore gives identical subsequent outputs, at K = 1 and 3", () => {
  const eps = twoEpisodes();
  for (const K of KS) {
    const run = K - 1;
    const a = agentOf(K, "adqn", 5);
    for (let i = 0; i < 3; i++) a.trainStep(last(K, eps), { gamma: GAMMA });
    const snap = a.snapshot(run);
    const continueFrom = (agent: BatchedAgent) => {
      const losses = [0, 1].map(() => agent.trainStep(last(K, eps), { gamma: GAMMA })[run]);
      const o = eps[0].obs.subarray(0, hh.obsSpec.size);
      const { q } = agent.act(run, agent.initialHidden(), -1, o);
      return { losses, q: Array.from(q), step: agent.snapshot(run).scalars["adam.step"] };
    };
    const ref = continueFrom(a);
    const b = agentOf(K, "adqn", 99); // different initial weights, overwritten by restore
    b.restore(run, snap);
    assert.deepEqual(continueFrom(b), ref, `K=${K}`);
    assert.equal(ref.step, 5);
    // Restoring into a differently shaped agent fails before changing anything.
    const c = agentOf(K, "adqn", 1, { ...SMALL, gruHidden: 7 });
    const cBefore = c.snapshot(run);
    assert.throws(() => c.restore(run, snap), /has shape/);
    assert.deepEqual(c.snapshot(run), cBefore);
    assert.throws(() => a.restore(run, { tensors: {}, scalars: {} }), /lacks tensor/);
    for (const x of [a, b, c]) x.dispose();
  }
});

Deno.test("the same seed gives identical initial weights, another seed different ones, at K = 1 and 3", () => {
  for (const K of KS) {
    const a = agentOf(K, "adqn", 3), b = agentOf(K, "adqn", 3), c = agentOf(K, "adqn", 4);
    const run = K - 1;
    const sa = a.snapshot(run), sb = b.snapshot(run), sc = c.snapshot(run);
    assert.deepEqual(sa, sb);
    assert.notDeepEqual(sa.tensors["online/gru.wh"].data, sc.tensors["online/gru.wh"].data);
    // Targets start as copies; Adam starts at zero.
    assert.deepEqual(sa.tensors["target/q.0.w"].data, sa.tensors["online/q.0.w"].data);
    assert.ok(sa.tensors["adam.m/q.0.w"].data.every((v) => v === 0));
    assert.equal(sa.scalars["adam.step"], 0);
    for (const x of [a, b, c]) x.dispose();
  }
});

Deno.test("the real Heaven-Hell preset has the spec's shapes, at K = 1 and 3", () => {
  for (const K of KS) {
    const agent = makeBatchedAgent(hh, "adqn", { seeds: Array.from({ length: K }, (_, i) => i) });
    const run = K - 1;
    const S = hh.stateSpec.size, O = hh.obsSpec.size;
    const shapes = Object.fromEntries(
      Object.entries(agent.snapshot(run).tensors)
        .filter(([k]) => k.startsWith("online/"))
        .map(([k, v]) => [k.slice(7), v.shape]),
    );
    assert.deepEqual(shapes, {
      "action.onehot0": [4, 64],
      "obs.onehot0": [O, 64],
      "gru.wi": [128, 384],
      "gru.wh": [128, 384],
      "gru.bi": [384],
      "gru.bh": [384],
      "q.0.w": [128, 512],
      "q.0.b": [512],
      "q.1.w": [512, 256],
      "q.1.b": [256],
      "q.2.w": [256, 4],
      "q.2.b": [4],
      "state.onehot0": [S, 64],
      "u.0.w": [128 + 64, 512],
      "u.0.b": [512],
      "u.1.w": [512, 256],
      "u.1.b": [256],
      "u.2.w": [256, 4],
      "u.2.b": [4],
    });
    assert.equal(agent.hiddenSize, 128);
    const ep = randomEpisode(hh, 1, 10);
    const l = agent.trainStep(last(K, [ep]), { gamma: 0.99 })[run]!;
    assert.ok(Number.isFinite(l.loss) && Number.isFinite(l.lossQ) && Number.isFinite(l.lossU));
    // Xavier-normal, gain √2: q.0.w has std √2·√(2/(128+512)) ≈ 0.079.
    const w = agent.snapshot(run).tensors["target/q.0.w"].data;
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    assert.ok(Math.abs(std / 0.0790569 - 1) < 0.03, `std ${std}`);
    agent.dispose();
  }
});

Deno.test("`makeAgent()` (K = 1) trains on the real presets of Car-Flag, Cleaner and MemoryFourRooms", () => {
  for (const id of ["car-flag", "cleaner", "memory-four-rooms-7x7"]) {
    const e = makeEnv(id);
    for (const algo of ["adqn", "adqn-state-vr"] as const) {
      const agent = makeAgent(e, algo, { seed: 0 });
      const eps = [randomEpisode(e, 1, 4), randomEpisode(e, 2, 3)];
      const l = agent.trainStep(eps, { gamma: 0.99, bootstrapOnTruncation: true });
      assert.ok(Number.isFinite(l.loss), `${id} ${algo}`);
      const o = eps[0].obs.subarray(0, e.obsSpec.size);
      const { q, hidden } = agent.act(agent.initialHidden(), -1, o);
      assert.equal(q.length, e.numActions);
      assert.equal(hidden.length, id === "memory-four-rooms-7x7" ? 64 : 128);
      agent.dispose();
    }
  }
});

Deno.test("`makeAgent()` is run 0 of a K = 1 agent, and its dispose() frees every tensor", () => {
  const eps = twoEpisodes();
  const before = tf.memory().numTensors;
  const a = makeAgent(hh, "adqn-vr", { seed: 7, model: SMALL });
  const b = makeBatchedAgent(hh, "adqn-vr", { seeds: [7], model: SMALL });
  assert.deepEqual(a.snapshot(), b.snapshot(0));
  const la = a.trainStep(eps, { gamma: GAMMA });
  const lb = b.trainStep([eps], { gamma: GAMMA })[0]!;
  assert.deepEqual(la, lb);
  assert.deepEqual(a.snapshot(), b.snapshot(0));
  b.dispose();
  a.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => a.trainStep(eps, { gamma: GAMMA }), /after dispose/);
});

Deno.test("agents reject bad algorithms, options and episodes with clear errors, at K = 1 and 3", () => {
  assert.throws(() => makeAgent(hh, "ddqn" as AlgoId, { seed: 0 }), /unknown algorithm "ddqn"/);
  assert.throws(
    () => makeBatchedAgent(hh, "ddqn" as AlgoId, { seeds: [0] }),
    /unknown algorithm "ddqn"/,
  );
  assert.throws(() => makeAgent(hh, "dqn", { seed: 0, model: { gruHidden: -1 } }), /gruHidden/);
  assert.throws(
    () => makeBatchedAgent(hh, "dqn", { seeds: [0, 1], lr: 0, model: SMALL }),
    /lr must be positive/,
  );
  for (const K of KS) {
    const agent = agentOf(K, "adqn");
    const ep = randomEpisode(hh, 3, 4);
    const step = (eps: Episode[], boot = false) =>
      agent.trainStep(last(K, eps), { gamma: 0.9, bootstrapOnTruncation: boot });
    assert.throws(() => step([]), /non-empty/);
    assert.throws(() => agent.trainStep(last(K, [ep]), { gamma: 1.5 }), /gamma 1.5/);
    const badAction = { ...ep, actions: Int32Array.from([0, 9, 0, 0]) };
    assert.throws(() => step([badAction]), /action 9 at step 1/);
    const badObs = { ...ep, obs: ep.obs.subarray(1) };
    assert.throws(() => step([badObs]), /obs has/);
    const noFinal = { ...ep, finalObs: new Float32Array(0) };
    assert.throws(() => step([noFinal], true), /finalObs has 0/);
    step([noFinal]); // not read without bootstrapping
    agent.dispose();
  }
});
