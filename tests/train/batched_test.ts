/**
 * `trainBatch()` against `train()` (its K = 1 call): run k of a batch must be the run `train()`
 * makes with the same config. On `wasm-blas` (OpenBLAS present) everything is compared exactly; on plain `wasm`
 * (`ADQN_TEST_BACKEND=wasm`) the counters, returns and ε exactly, losses and weights to float32
 * rounding (tolerances below).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { type AgentSnapshot, ALGO_IDS, type AlgoId } from "../../lib/train/agent.ts";
import { readCheckpoint } from "../../lib/train/checkpoint.ts";
import { resolveTrainConfig, type TrainConfig } from "../../lib/train/config.ts";
import { checkBatchConfigs, trainBatch } from "../../lib/train/loop.ts";
import { type MetricPoint, train, type TrainResult } from "../../lib/train/loop.ts";
import { initTestBackend } from "../models/helpers.ts";

const BLAS = await initTestBackend();
const EXACT = BLAS;
const LOSS_TOL = 1e-4; // relative, plain wasm only
const WEIGHT_TOL = 1e-5; // absolute, plain wasm only

/** A tiny Heaven-Hell-3 run: short episodes of varying length, a few hundred gradient steps. */
function config(algo: AlgoId, seed: number, extra: Partial<TrainConfig> = {}): TrainConfig {
  return resolveTrainConfig({
    env: "heaven-hell-3",
    algo,
    seed,
    totalSteps: 1200,
    timeLimit: 40,
    bufferCapacity: 800,
    prepopulateSteps: 200,
    replayRatio: 2,
    epsilonDecaySteps: 500,
    targetUpdateSteps: 300,
    logEvery: 200,
    returnWindow: 20,
    model: { gruHidden: 8, headHidden: [16] },
    ...extra,
  });
}

function assertSameMetrics(want: MetricPoint[], got: MetricPoint[], what: string): void {
  assert.equal(got.length, want.length, `${what}: number of points`);
  want.forEach((p, i) => {
    const q = got[i];
    for (const f of ["envStep", "episodes", "avgReturn", "epsilon", "trainedSteps"] as const) {
      assert.ok(Object.is(q[f], p[f]), `${what}: point ${i} ${f} ${q[f]} vs ${p[f]}`);
    }
    for (const f of ["lossQ", "lossU"] as const) {
      if (EXACT || !Number.isFinite(p[f])) {
        assert.ok(Object.is(q[f], p[f]), `${what}: point ${i} ${f} ${q[f]} vs ${p[f]}`);
      } else {
        const tol = LOSS_TOL * Math.max(1e-3, Math.abs(p[f]));
        assert.ok(Math.abs(q[f] - p[f]) <= tol, `${what}: point ${i} ${f} ${q[f]} vs ${p[f]}`);
      }
    }
  });
}

function assertSameWeights(want: AgentSnapshot, got: AgentSnapshot, what: string): void {
  assert.deepEqual(got.scalars, want.scalars, `${what}: scalars`);
  for (const [key, t] of Object.entries(want.tensors)) {
    const a = t.data, b = got.tensors[key].data;
    if (EXACT) {
      assert.deepEqual(Array.from(b), Array.from(a), `${what}: ${key}`);
    } else {
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
      assert.ok(d <= WEIGHT_TOL, `${what}: ${key} differs by ${d}`);
    }
  }
}

/** Reference runs of `train()`, with their final agents' snapshots. */
async function alone(configs: TrainConfig[]): Promise<{ r: TrainResult; snap: AgentSnapshot }[]> {
  const out = [];
  for (const c of configs) {
    const r = await train(c, { keepAgent: true });
    out.push({ r, snap: r.agent!.snapshot() });
    r.agent!.dispose();
  }
  return out;
}

Deno.test("`trainBatch()` with K = 3 trains each run as `train()` (K = 1) does, for all five algorithms, with runs that need different numbers of gradient steps and end at different steps", async () => {
  for (const algo of ALGO_IDS) {
    const configs = [0, 1, 2].map((seed) => config(algo, seed));
    const want = await alone(configs);
    const seen: MetricPoint[][] = configs.map(() => []);
    const before = tf.memory().numTensors;
    const got = await trainBatch(configs, {
      keepAgent: true,
      onMetric: (run, p) => void seen[run].push(p),
    });
    // The runs really differ in their work: otherwise lockstep would prove nothing.
    const steps = want.map((w) => w.snap.scalars["adam.step"]);
    assert.ok(new Set(steps).size > 1, `gradient steps per run ${steps}`);
    assert.ok(new Set(want.map((w) => w.r.envSteps)).size > 1, "final step counts");
    configs.forEach((_, k) => {
      const g = got[k];
      assert.equal(g.finished, true);
      assert.equal(g.envSteps, want[k].r.envSteps);
      assert.equal(g.episodes, want[k].r.episodes);
      assertSameMetrics(want[k].r.metrics, g.metrics, `${algo} run ${k}`);
      assert.deepEqual(seen[k], g.metrics);
      assertSameWeights(want[k].snap, g.agent!.snapshot(), `${algo} run ${k}`);
    });
    got.forEach((g) => g.agent!.dispose());
    assert.equal(tf.memory().numTensors, before, "tensors left after disposing the agents");
  }
});

Deno.test("`trainBatch()` trains runs with different learning rates and time limits as `train()` trains each alone", async () => {
  for (const algo of ["dqn", "adqn-vr"] as const) {
    const configs = [
      config(algo, 0, { lr: 1e-4, timeLimit: 40 }),
      config(algo, 1, { lr: 1e-3, timeLimit: 40 }),
      config(algo, 0, { lr: 3e-4, timeLimit: 8 }),
    ];
    const want = await alone(configs);
    // The time limit really cuts episodes: run 2 (limit 8) plays more, shorter episodes.
    assert.ok(want[2].r.episodes > want[0].r.episodes, `episodes ${want.map((w) => w.r.episodes)}`);
    const got = await trainBatch(configs, { keepAgent: true });
    configs.forEach((_, k) => {
      assert.equal(got[k].envSteps, want[k].r.envSteps);
      assertSameMetrics(want[k].r.metrics, got[k].metrics, `${algo} run ${k}`);
      assertSameWeights(want[k].snap, got[k].agent!.snapshot(), `${algo} run ${k}`);
      got[k].agent!.dispose();
    });
  }
});

Deno.test("`trainBatch()` checkpoints resume in `train()` and `train()`'s in `trainBatch()`, as if never stopped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const configs = [5, 6, 7].map((seed) => config("adqn-vr", seed, { totalSteps: 1000 }));
    const want = await alone(configs);
    const paths = configs.map((_, k) => `${dir}/run${k}.ckpt`);
    // Stop the batch once run 0 has logged its second point: every run finishes its epoch and
    // writes a checkpoint.
    const abort = new AbortController();
    const first = await trainBatch(configs, {
      checkpointPaths: paths,
      signal: abort.signal,
      onMetric: (run, p) => {
        if (run === 0 && p.envStep >= 400) abort.abort();
      },
    });
    for (const [k, r] of first.entries()) {
      assert.equal(r.finished, false, `run ${k} should have stopped`);
      assert.equal((await readCheckpoint(paths[k])).state.envSteps, r.envSteps);
    }
    // Run 0 resumes alone with train(); runs 1 and 2 resume together with trainBatch().
    const r0 = await train(configs[0], { checkpointPath: paths[0], keepAgent: true });
    const r12 = await trainBatch(configs.slice(1), {
      checkpointPaths: paths.slice(1),
      keepAgent: true,
    });
    const resumed = [r0, ...r12];
    resumed.forEach((r, k) => {
      assert.equal(r.finished, true);
      const all = [...first[k].metrics, ...r.metrics];
      assertSameMetrics(want[k].r.metrics, all, `run ${k} stopped and resumed`);
      assertSameWeights(want[k].snap, r.agent!.snapshot(), `run ${k} resumed`);
      r.agent!.dispose();
    });
    // A run stopped by train() continues in a batch next to a fresh run.
    const abort2 = new AbortController();
    const p = `${dir}/single.ckpt`;
    await train(configs[1], {
      checkpointPath: p,
      signal: abort2.signal,
      onMetric: (pt) => {
        if (pt.envStep >= 600) abort2.abort();
      },
    });
    const mixed = await trainBatch([configs[1], configs[2]], {
      checkpointPaths: [p, undefined],
      keepAgent: true,
    });
    assertSameWeights(want[1].snap, mixed[0].agent!.snapshot(), "train() checkpoint resumed");
    assertSameWeights(want[2].snap, mixed[1].agent!.snapshot(), "fresh run beside it");
    assertSameMetrics(want[2].r.metrics, mixed[1].metrics, "fresh run beside it");
    mixed.forEach((r) => r.agent!.dispose());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`trainBatch()` trains runs of several episodes per step and rejects configs that differ beyond seed, lr and time limit", async () => {
  const configs = [0, 1].map((seed) =>
    config("adqn-state", seed, { totalSteps: 600, episodesPerBatch: 2 })
  );
  const want = await alone(configs);
  const got = await trainBatch(configs, { keepAgent: true });
  got.forEach((g, k) => {
    assertSameMetrics(want[k].r.metrics, g.metrics, `run ${k}`);
    assertSameWeights(want[k].snap, g.agent!.snapshot(), `run ${k}`);
    g.agent!.dispose();
  });
  assert.throws(
    () => checkBatchConfigs([config("adqn", 0), config("adqn", 1, { lr: 1e-3, gamma: 0.9 })]),
    /config 1 differs from config 0 in gamma; the runs of a batch may differ only in seed, lr, timeLimit/,
  );
  assert.throws(() => checkBatchConfigs([]), /at least one/);
  await assert.rejects(
    () => trainBatch([config("adqn", 0)], { checkpointPaths: ["a", "b"] }),
    /2 checkpoint paths for 1 runs/,
  );
});

Deno.test("training allocates no lasting tensors: the tensor count stays put over many steps and returns to its start", async () => {
  for (const K of [1, 2]) {
    const configs = [0, 1].slice(0, K).map((seed) =>
      config("adqn-vr", seed, { totalSteps: 3000, logEvery: 250 })
    );
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const [r] = await trainBatch(configs, {
      onMetric: (run) => void (run === 0 && counts.push(tf.memory().numTensors)),
    });
    assert.ok(r.finished && counts.length >= 10, `K = ${K}: ${counts.length} points`);
    // The agent's own tensors exist from the first point on; nothing may grow after that.
    assert.deepEqual(new Set(counts.slice(1)), new Set([counts[1]]), `K = ${K}: ${counts}`);
    assert.equal(tf.memory().numTensors, before, `K = ${K}: tensors left after the run`);
  }
});
