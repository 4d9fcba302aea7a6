/**
 * Gradient checks of the agent (lib/models/batched_agent.ts) for all five algorithms: each run's
 * gradient of its total loss against central finite differences of that loss, with K = 2 runs
 * training on different episodes, so a run's gradient is also checked not to depend on the other
 * run's weights.
 */
import assert from "assert";
import { makeHeavenHell } from "../../lib/envs/heaven_hell.ts";
import { makeBatchedAgent } from "../../lib/models/batched_agent.ts";
import { initBackend } from "../../lib/nn/backend.ts";
import { type AgentSnapshot, ALGO_IDS, type Episode } from "../../lib/train/agent.ts";
import { randomEpisode, SMALL } from "./helpers.ts";

await initBackend("wasm");

const env = makeHeavenHell(3);
const OPTS = { gamma: 0.9, bootstrapOnTruncation: true };
const NAMES = [
  "action.onehot0",
  "obs.onehot0",
  "state.onehot0",
  "gru.wi",
  "gru.wh",
  "gru.bh",
  "q.0.w",
  "q.1.b",
  "u.0.w",
  "u.1.w",
];

/** Run 0: a truncated and a terminated episode; run 1: two longer truncated ones. */
function batches(): Episode[][] {
  const ended = { ...randomEpisode(env, 12, 4), terminated: true, truncated: false };
  return [[randomEpisode(env, 11, 6), ended], [
    randomEpisode(env, 13, 9),
    randomEpisode(env, 14, 7),
  ]];
}

Deno.test("agent gradients match central finite differences of the loss for all five algorithms, per run of a batch of 2", () => {
  const eps = batches();
  for (const algo of ALGO_IDS) {
    const agent = makeBatchedAgent(env, algo, { seeds: [1, 2], model: SMALL });
    try {
      const grads = agent.lossGradients(eps, OPTS).map((g) => g!);
      for (const k of [0, 1]) {
        const base = agent.snapshot(k);
        const other = agent.lossGradients(eps, OPTS)[1 - k]!.loss;
        const lossWith = (name: string, i: number, delta: number) => {
          const t = base.tensors[`online/${name}`];
          const data = Float32Array.from(t.data);
          data[i] += delta;
          const snap: AgentSnapshot = {
            tensors: { ...base.tensors, [`online/${name}`]: { shape: t.shape, data } },
            scalars: base.scalars,
          };
          agent.restore(k, snap);
          const out = agent.lossGradients(eps, OPTS);
          agent.restore(k, base);
          assert.equal(out[1 - k]!.loss, other, `${algo}: run ${1 - k} moved with run ${k}`);
          return out[k]!.loss;
        };
        const names = NAMES.filter((n) => grads[k].grads[n] !== undefined);
        assert.ok(names.includes("gru.wi") && names.includes("q.0.w"), `${algo}: ${names}`);
        if (algo !== "dqn") assert.ok(names.includes("u.1.w"), `${algo}: U has gradients`);
        const h = 3e-3;
        for (const name of names) {
          const g = grads[k].grads[name];
          for (const i of [1, g.length - 2]) {
            const fd = (lossWith(name, i, h) - lossWith(name, i, -h)) / (2 * h);
            // float32 losses of O(1): rounding ~1e-7/h ≈ 3e-5, truncation O(h²).
            assert.ok(
              Math.abs(fd - g[i]) < 2e-3 + 0.02 * Math.abs(g[i]),
              `${algo} run ${k} ${name}[${i}]: finite difference ${fd} vs gradient ${g[i]}`,
            );
          }
        }
      }
    } finally {
      agent.dispose();
    }
  }
});
