/**
 * The batched agent against the single-run agent it must reproduce run by run. On the `wasm-blas`
 * backend (when OpenBLAS loads) the comparisons are exact; on plain `wasm` the grouped products are
 * plain JavaScript loops and agree to float32 rounding (tolerances below).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { makeEnv } from "../../lib/envs/mod.ts";
import type { Env } from "../../lib/envs/types.ts";
import { makeAgent } from "../../lib/models/agent.ts";
import { BatchedAdam } from "../../lib/nn/batched_adam.ts";
import { makeBatchedAgent } from "../../lib/models/batched_agent.ts";
import { groupedDense, rowGroups } from "../../lib/nn/grouped_ops.ts";
import { Adam } from "../../lib/nn/adam.ts";
import { initBackend } from "../../lib/nn/backend.ts";
import { dense } from "../../lib/nn/dense.ts";
import { enableBlasBackend } from "../../lib/nn/fast_backend.ts";
import { makeRng, normal } from "../../lib/rng.ts";
import type { AgentSnapshot, AlgoId, Episode } from "../../lib/train/agent.ts";
import { randomEpisode } from "./helpers.ts";

// ADQN_TEST_BACKEND=wasm runs these tests on plain wasm (tolerances instead of exact equality).
const blas = Deno.env.get("ADQN_TEST_BACKEND") === "wasm"
  ? { ok: false }
  : await enableBlasBackend("wasm-blas");
if (!blas.ok) await initBackend("wasm");
tf.enableProdMode();
/** Bit-identical results are expected on the BLAS backend. */
const EXACT = blas.ok;
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

Deno.test("`makeBatchedAgent()` starts run k as the single-run agent with seed k and acts as it does", () => {
  const env = makeEnv("heaven-hell-3", { timeLimit: 30 });
  const seeds = [4, 9, 2];
  for (const algo of ["adqn", "dqn"] as AlgoId[]) {
    const batched = makeBatchedAgent(env, algo, { seeds, model: MODEL });
    const singles = seeds.map((seed) => makeAgent(env, algo, { seed, model: MODEL }));
    try {
      seeds.forEach((_, k) => {
        assertSameSnapshot(singles[k].snapshot(), batched.snapshot(k), 0, `${algo} run ${k}`);
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
          const want = singles[k].act(hs[i], prev, obs);
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

Deno.test("`trainStep()` updates each run as the single-run agent does and leaves runs without a batch exactly unchanged", () => {
  const cases: { env: string; algo: AlgoId; perBatch: number }[] = [
    { env: "heaven-hell-3", algo: "adqn", perBatch: 1 },
    { env: "heaven-hell-3", algo: "dqn", perBatch: 1 },
    { env: "car-flag", algo: "adqn-state-vr", perBatch: 2 },
  ];
  for (const { env: envId, algo, perBatch } of cases) {
    const env = makeEnv(envId, { timeLimit: 25 });
    const seeds = [1, 2, 3];
    const batched = makeBatchedAgent(env, algo, { seeds, model: MODEL });
    const singles = seeds.map((seed) => makeAgent(env, algo, { seed, model: MODEL }));
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
          const want = singles[k].trainStep(b, { gamma: 0.99 });
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
          singles[0].updateTargets();
          singles[2].updateTargets();
        }
      }
      seeds.forEach((_, k) => {
        assertSameSnapshot(
          singles[k].snapshot(),
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

Deno.test("`BatchedAdam` steps active runs as `Adam` does and leaves inactive runs' parameters, moments and step count untouched", () => {
  const rng = makeRng(5);
  const K = 3;
  const rand = (n: number) => Float32Array.from({ length: n }, () => normal(rng));
  const p0 = rand(K * 6);
  const w = tf.variable(tf.tensor(p0, [K, 2, 3]));
  const opt = new BatchedAdam({ w }, K, { lr: 0.01, eps: 1e-4 });
  const singles = Array.from({ length: K }, (_, k) => {
    const v = tf.variable(tf.tensor(p0.slice(6 * k, 6 * k + 6), [2, 3]));
    return { v, opt: new Adam({ w: v }, { lr: 0.01, eps: 1e-4 }) };
  });
  const patterns = [[true, true, true], [true, false, true], [false, false, true], [
    true,
    true,
    false,
  ]];
  try {
    for (const active of patterns) {
      const g = rand(K * 6);
      const before = [0, 1, 2].map((k) => opt.getState(k));
      const wBefore = Float32Array.from(w.dataSync() as Float32Array);
      const gt = tf.tensor(g, [K, 2, 3]);
      opt.apply({ w: gt }, active);
      gt.dispose();
      const wAfter = w.dataSync() as Float32Array;
      active.forEach((on, k) => {
        if (on) {
          const gk = tf.tensor(g.slice(6 * k, 6 * k + 6), [2, 3]);
          singles[k].opt.apply({ w: gk });
          gk.dispose();
          assert.deepEqual(
            Array.from(wAfter.slice(6 * k, 6 * k + 6)),
            Array.from(singles[k].v.dataSync()),
          );
          assert.deepEqual(opt.getState(k), singles[k].opt.getState());
        } else {
          assert.deepEqual(
            Array.from(wAfter.slice(6 * k, 6 * k + 6)),
            Array.from(wBefore.slice(6 * k, 6 * k + 6)),
          );
          assert.deepEqual(opt.getState(k), before[k]);
        }
      });
    }
    assert.deepEqual(opt.steps, [3, 2, 3]);
  } finally {
    opt.dispose();
    w.dispose();
    singles.forEach((s) => {
      s.opt.dispose();
      s.v.dispose();
    });
  }
});

Deno.test("`groupedDense()` computes each group's rows with its own weights, values and gradients, empty groups included", () => {
  const rng = makeRng(3);
  const rand = (shape: number[]) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => normal(rng)),
      shape,
    );
  const counts = [3, 0, 5];
  const K = counts.length, I = 6, O = 4, R = 8;
  const x = rand([R, I]) as tf.Tensor2D, dy = rand([R, O]) as tf.Tensor2D;
  const w = tf.variable(rand([K, I, O])), b = tf.variable(rand([K, O]));
  const groups = rowGroups(counts);
  const tol = EXACT ? 0 : 1e-5;
  try {
    for (const activation of ["linear", "relu"] as const) {
      const grouped = tf.engine().gradients(() => {
        const y = groupedDense(
          x,
          w as tf.Tensor as tf.Tensor3D,
          b as tf.Tensor as tf.Tensor2D,
          groups,
          {
            activation,
          },
        );
        return tf.sum(tf.mul(y, dy)) as tf.Scalar;
      }, [w, b]);
      const gw = grouped.grads[0].dataSync(), gb = grouped.grads[1].dataSync();
      let row = 0;
      for (let k = 0; k < K; k++) {
        const n = counts[k];
        // Fresh tensors: tfjs-wasm's fused product reads the bias rank from the data's first shape.
        const wk = tf.variable(tf.tensor(w.dataSync().slice(k * I * O, (k + 1) * I * O), [I, O]));
        const bk = tf.variable(tf.tensor(b.dataSync().slice(k * O, (k + 1) * O), [O]));
        if (n === 0) {
          assert.deepEqual(
            Array.from(gw.slice(k * I * O, (k + 1) * I * O)),
            new Array(I * O).fill(0),
          );
          assert.deepEqual(Array.from(gb.slice(k * O, (k + 1) * O)), new Array(O).fill(0));
        } else {
          const xk = tf.slice(x, [row, 0], [n, I]) as tf.Tensor2D;
          const dyk = tf.slice(dy, [row, 0], [n, O]);
          const single = tf.engine().gradients(
            () =>
              tf.sum(
                tf.mul(
                  dense(xk, wk as tf.Tensor as tf.Tensor2D, bk as tf.Tensor as tf.Tensor1D, {
                    activation,
                  }),
                  dyk,
                ),
              ) as tf.Scalar,
            [wk, bk],
          );
          assertSameArrays(
            single.grads[0].dataSync(),
            gw.slice(k * I * O, (k + 1) * I * O),
            tol,
            `dw ${k}`,
          );
          assertSameArrays(
            single.grads[1].dataSync(),
            gb.slice(k * O, (k + 1) * O),
            tol,
            `db ${k}`,
          );
          const yk = dense(xk, wk as tf.Tensor as tf.Tensor2D, bk as tf.Tensor as tf.Tensor1D, {
            activation,
          });
          const yg = groupedDense(
            x,
            w as tf.Tensor as tf.Tensor3D,
            b as tf.Tensor as tf.Tensor2D,
            groups,
            {
              activation,
              taped: false,
            },
          );
          assertSameArrays(
            yk.dataSync(),
            yg.dataSync().slice(row * O, (row + n) * O),
            tol,
            `y ${k}`,
          );
        }
        wk.dispose();
        bk.dispose();
        row += n;
      }
    }
  } finally {
    w.dispose();
    b.dispose();
  }
});

Deno.test("`snapshot()`/`restore()` round-trip a run and accept the single-run agent's snapshots", () => {
  const env = makeEnv("heaven-hell-3", { timeLimit: 20 });
  const batched = makeBatchedAgent(env, "adqn-vr", { seeds: [0, 1], model: MODEL });
  const single = makeAgent(env, "adqn-vr", { seed: 5, model: MODEL });
  try {
    single.trainStep(episodes(env, 1, 1, 20), { gamma: 0.9 });
    const s = single.snapshot();
    const other = batched.snapshot(0);
    batched.restore(1, s);
    assertSameSnapshot(s, batched.snapshot(1), 0, "restored run 1");
    assertSameSnapshot(other, batched.snapshot(0), 0, "run 0 untouched");
    // Both continue identically from the restored state.
    const eps = episodes(env, 2, 1, 20);
    const want = single.trainStep(eps, { gamma: 0.9 });
    const got = batched.trainStep([null, eps], { gamma: 0.9 })[1]!;
    assert.ok(Math.abs(got.loss - want.loss) <= (EXACT ? 0 : 1e-4), `${got.loss} vs ${want.loss}`);
    assertSameSnapshot(
      single.snapshot(),
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

Deno.test("`BatchedAgent` allocates no lasting tensors per step and checks its inputs", () => {
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
