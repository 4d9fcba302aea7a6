/**
 * `deno bench -A bench/nn_bench.ts`: the tensor side on the wasm backend with the Heaven-Hell-3
 * model (embeddings 64, GRU 128, heads 512-256): the GRU and dense ops alone, one training step of
 * ADQN on a 100-step episode, and acting. `deno task bench` prints the summary table.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { makeEnv } from "../lib/envs/mod.ts";
import { makeAgent } from "../lib/models/batched_agent.ts";
import { groupedGruNoGrad, groupedGruRecurrence } from "../lib/models/batched_gru.ts";
import { initBackend } from "../lib/nn/backend.ts";
import { dense } from "../lib/nn/dense.ts";
import { rowGroups } from "../lib/nn/grouped_ops.ts";
import { normalArray } from "../lib/nn/init.ts";
import { makeRng } from "../lib/rng.ts";
import { benchEpisode } from "../tasks/bench.ts";

await initBackend("wasm");

const T = 100, H = 128, I = 128;
const rng = makeRng(0);
const mk = (shape: number[], std = 0.1) =>
  tf.tensor(normalArray(rng, shape.reduce((a, b) => a * b, 1), std), shape);
const x = mk([T, I]) as tf.Tensor2D;
const gru = {
  wi: mk([I, 3 * H]) as tf.Tensor2D,
  wh: mk([H, 3 * H]) as tf.Tensor2D,
  bi: mk([3 * H]) as tf.Tensor1D,
  bh: mk([3 * H]) as tf.Tensor1D,
};
const w1 = mk([H, 512]) as tf.Tensor2D, b1 = mk([512]) as tf.Tensor1D;

// The batched network's GRU (input projection, then the grouped recurrence) at K = 1.
const wh1 = tf.expandDims(gru.wh, 0) as tf.Tensor3D, bh1 = tf.expandDims(gru.bh, 0) as tf.Tensor2D;

Deno.bench("GRU forward, K=1, T=100, B=1, H=128 (no grad)", { group: "ops" }, () => {
  tf.tidy(() => {
    const gi = dense(x, gru.wi, gru.bi, { inputGrad: false });
    groupedGruNoGrad(gi, wh1, bh1, [T], 1).dataSync();
  });
});

Deno.bench("GRU forward + BPTT, K=1, T=100, B=1, H=128", { group: "ops" }, () => {
  tf.tidy(() => {
    const gs = tf.grads((xv: tf.Tensor, wh: tf.Tensor) => {
      const gi = dense(xv as tf.Tensor2D, gru.wi, gru.bi);
      return tf.sum(groupedGruRecurrence(gi, wh as tf.Tensor3D, bh1, [T], 1, rowGroups([T])));
    })([x, wh1]);
    gs.forEach((g) => g.dataSync());
  });
});

Deno.bench("dense ReLU forward + backward, 100×128 → 512", { group: "ops" }, () => {
  tf.tidy(() => {
    const gs = tf.grads((xv: tf.Tensor, w: tf.Tensor) =>
      tf.sum(dense(xv as tf.Tensor2D, w as tf.Tensor2D, b1, { activation: "relu" }))
    )([x, w1]);
    gs.forEach((g) => g.dataSync());
  });
});

const env = makeEnv("heaven-hell-3");
const agent = makeAgent(env, "adqn", { seed: 0 });
const episode = benchEpisode(env, 1, 100);
const ow = env.obsSpec.size;

Deno.bench("ADQN trainStep, Heaven-Hell-3 model, B=1 × 100 steps", { group: "agent" }, () => {
  agent.trainStep([episode], { gamma: 0.99 });
});

Deno.bench("ADQN act ×100, Heaven-Hell-3 model", { group: "agent" }, () => {
  let h = agent.initialHidden();
  for (let t = 0; t < 100; t++) {
    const prev = t === 0 ? -1 : episode.actions[t - 1];
    h = agent.act(h, prev, episode.obs.subarray(t * ow, (t + 1) * ow)).hidden;
  }
});
