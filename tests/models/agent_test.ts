import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { makeHeavenHell } from "../../lib/envs/heaven_hell.ts";
import { makeEnv } from "../../lib/envs/mod.ts";
import { makeAgent, type RecurrentAgent } from "../../lib/models/agent.ts";
import type { ModelConfig } from "../../lib/models/presets.ts";
import { initBackend } from "../../lib/nn/backend.ts";
import { type AgentSnapshot, ALGO_IDS, type AlgoId, type Episode } from "../../lib/train/agent.ts";
import { extendByFinalStep, maxAbsDiff, randomEpisode } from "./helpers.ts";

await initBackend("wasm");

const env = makeHeavenHell(3);
const SMALL: Partial<ModelConfig> = {
  actionEmbedding: 3,
  obsEmbedding: 4,
  stateEmbedding: 2,
  gruHidden: 5,
  headHidden: [6],
};
const small = (algo: AlgoId, seed = 1) => makeAgent(env, algo, { seed, model: SMALL });

/** A truncated random episode, and a short one marked as terminated. */
function episodes(): Episode[] {
  const truncated = randomEpisode(env, 11, 6);
  assert.ok(truncated.truncated && truncated.length === 6);
  const ended = { ...randomEpisode(env, 12, 4), terminated: true, truncated: false };
  return [truncated, ended];
}

const GAMMA = 0.9;

/**
 * The losses of `eps`, computed in plain JavaScript from the networks' outputs over each episode
 * extended by its final step (so Q̄(h_T), Ū(h_T, s_T) are available): the second method.
 */
function expectedLosses(
  algo: AlgoId,
  online: RecurrentAgent,
  target: RecurrentAgent,
  eps: Episode[],
  boot: boolean,
): { loss: number; lossQ: number; lossU: number } {
  const A = env.numActions;
  let sq = 0, su = 0, n = 0, sqVr = 0;
  for (const ep of eps) {
    const ext = extendByFinalStep(ep);
    const on = online.evaluate([ext]);
    const tg = target.evaluate([ext]);
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

Deno.test("`makeAgent()` losses equal a plain-JS computation from the networks' outputs", () => {
  const eps = episodes();
  for (const algo of ALGO_IDS) {
    for (const boot of [false, true]) {
      // Fresh agent: target = online.
      const a = small(algo);
      const got = a.lossGradients(eps, { gamma: GAMMA, bootstrapOnTruncation: boot }, "online");
      assertClose(got, expectedLosses(algo, a, a, eps, boot), `${algo} boot=${boot}`);
      a.dispose();
    }
    // After training, online ≠ target: targets must come from the target network, which still
    // equals a fresh agent of the same seed.
    const trained = small(algo), fresh = small(algo);
    for (let i = 0; i < 3; i++) trained.trainStep(eps, { gamma: GAMMA });
    const got = trained.lossGradients(eps, { gamma: GAMMA, bootstrapOnTruncation: true }, "online");
    assertClose(got, expectedLosses(algo, trained, fresh, eps, true), `${algo} trained`);
    trained.dispose();
    fresh.dispose();
  }
});

Deno.test("`makeAgent()` loss gradients match finite differences end to end", () => {
  const eps = episodes();
  for (const algo of ["adqn", "adqn-state-vr"] as const) {
    const agent = small(algo);
    const opts = { gamma: GAMMA, bootstrapOnTruncation: true };
    const { grads } = agent.lossGradients(eps, opts, "online");
    const base = agent.snapshot();
    const lossWith = (name: string, k: number, delta: number) => {
      const snap: AgentSnapshot = { tensors: { ...base.tensors }, scalars: base.scalars };
      const t = base.tensors[`online/${name}`];
      const data = Float32Array.from(t.data);
      data[k] += delta;
      snap.tensors[`online/${name}`] = { shape: t.shape, data };
      agent.restore(snap);
      return agent.lossGradients(eps, opts, "online").loss;
    };
    const eps_ = 3e-3;
    const names = ["action.onehot0", "obs.onehot0", "gru.wi", "gru.wh", "gru.bh", "q.0.w", "u.1.w"];
    if (algo !== "adqn-state-vr") names.push("state.onehot0");
    for (const name of names) {
      const g = grads[name]!;
      for (const k of [1, g.length - 2]) {
        const fd = (lossWith(name, k, eps_) - lossWith(name, k, -eps_)) / (2 * eps_);
        // float32 losses of O(1): rounding ~1e-7/ε ≈ 3e-5, truncation O(ε²); 2e-3 + 2% is safe.
        assert.ok(
          Math.abs(fd - g[k]) < 2e-3 + 0.02 * Math.abs(g[k]),
          `${algo} ${name}[${k}]: ${fd} vs ${g[k]}`,
        );
      }
    }
    agent.dispose();
  }
});

Deno.test("`makeAgent()` acting step by step equals the whole-episode forward", () => {
  // Every encoder kind: embedded one-hots (Heaven-Hell), identity one-hot action and vectors
  // (Car-Flag, Cleaner), shared categorical tables (MemoryFourRooms), with small GRU and heads.
  const cases = [
    { e: env, model: SMALL, algos: ["dqn", "adqn"] as const },
    ...["car-flag", "cleaner", "memory-four-rooms-7x7"].map((id) => ({
      e: makeEnv(id),
      model: { gruHidden: 5, headHidden: [6] },
      algos: ["adqn-state"] as const,
    })),
  ];
  for (const { e, model, algos } of cases) {
    const ep = randomEpisode(e, 21, 12);
    const other = randomEpisode(e, 22, 5);
    for (const algo of algos) {
      const what = `${e.id} ${algo}`;
      const agent = makeAgent(e, algo, { seed: 1, model });
      agent.trainStep([ep], { gamma: GAMMA }); // non-initial weights
      const whole = agent.evaluate([ep]).q;
      // A batch with a shorter episode gives the same rows for `ep` (padding changes nothing).
      const batched = agent.evaluate([other, ep]).q;
      const A = e.numActions, ow = e.obsSpec.size;
      let h = agent.initialHidden();
      for (let t = 0; t < ep.length; t++) {
        const h0 = Float32Array.from(h);
        const o = ep.obs.subarray(t * ow, (t + 1) * ow);
        const out = agent.act(h, t === 0 ? -1 : ep.actions[t - 1], o);
        assert.deepEqual(h, h0, "act must not modify its input state");
        const want = whole.subarray(t * A, (t + 1) * A);
        assert.ok(maxAbsDiff(out.q, want) < 1e-5, `${what} step ${t}: ${out.q} vs ${want}`);
        const wantB = batched.subarray((t * 2 + 1) * A, (t * 2 + 2) * A);
        assert.ok(maxAbsDiff(wantB, want) < 1e-5, `${what} batched step ${t}`);
        h = out.hidden;
      }
      const o0 = ep.obs.subarray(0, ow);
      assert.throws(() => agent.act(h, A, o0), /invalid previous action/);
      assert.throws(() => agent.act(new Float32Array(3), 0, o0), /hidden has 3/);
      agent.dispose();
    }
  }
});

Deno.test("`makeAgent()` shares the history encoder with U only in ADQN and ADQN-VR", () => {
  const eps = episodes();
  const opts = { gamma: GAMMA };
  const nonzero = (g: Float32Array | null) => g !== null && g.some((v) => v !== 0);
  for (const algo of ALGO_IDS) {
    const agent = small(algo);
    const q = agent.lossGradients(eps, opts, "online", "q").grads;
    // The Q loss never reaches U's head or U's state encoder.
    for (const [name, g] of Object.entries(q)) {
      if (name.startsWith("u.") || name.startsWith("state.")) {
        assert.ok(!nonzero(g), `${algo}: L_Q → ${name}`);
      }
      if (name.startsWith("gru.") || name.startsWith("q.")) {
        assert.ok(nonzero(g), `${algo}: L_Q ↛ ${name}`);
      }
    }
    if (algo === "dqn") {
      assert.ok(!Object.keys(q).some((n) => n.startsWith("u.")), "DQN has no U");
    } else {
      const u = agent.lossGradients(eps, opts, "online", "u").grads;
      const shared = algo === "adqn" || algo === "adqn-vr";
      for (
        const name of ["gru.wi", "gru.wh", "gru.bi", "gru.bh", "action.onehot0", "obs.onehot0"]
      ) {
        assert.equal(nonzero(u[name]), shared, `${algo}: L_U → ${name} should be ${shared}`);
      }
      for (const name of ["q.0.w", "q.1.w"]) assert.ok(!nonzero(u[name]), `${algo}: L_U → ${name}`);
      for (const name of ["u.0.w", "u.1.b", "state.onehot0"]) {
        assert.ok(nonzero(u[name]), `${algo}: ${name}`);
      }
    }
    agent.dispose();
  }
});

Deno.test("`makeAgent()` targets get no gradient and change only through updateTargets()", () => {
  const eps = episodes();
  for (const algo of ALGO_IDS) {
    const agent = small(algo);
    const before = agent.snapshot();
    const { grads } = agent.lossGradients(
      eps,
      { gamma: GAMMA, bootstrapOnTruncation: true },
      "target",
    );
    for (const [name, g] of Object.entries(grads)) {
      assert.ok(g === null || g.every((v) => v === 0), `${algo}: gradient reaches target ${name}`);
    }
    for (let i = 0; i < 2; i++) agent.trainStep(eps, { gamma: GAMMA });
    const after = agent.snapshot();
    let onlineChanged = false;
    for (const key of Object.keys(before.tensors)) {
      if (key.startsWith("target/")) {
        assert.deepEqual(
          after.tensors[key].data,
          before.tensors[key].data,
          `${algo}: ${key} changed`,
        );
      } else if (key.startsWith("online/")) {
        onlineChanged ||= maxAbsDiff(after.tensors[key].data, before.tensors[key].data) > 0;
      }
    }
    assert.ok(onlineChanged);
    assert.equal(after.scalars["adam.step"], 2);
    agent.updateTargets();
    const synced = agent.snapshot();
    for (const key of Object.keys(synced.tensors)) {
      if (!key.startsWith("target/")) continue;
      assert.deepEqual(synced.tensors[key].data, synced.tensors[`online/${key.slice(7)}`].data);
    }
    agent.dispose();
  }
});

Deno.test("`makeAgent()` does not leak tensors across trainStep and act", () => {
  const eps = episodes();
  const agent = small("adqn-vr");
  const o = eps[0].obs.subarray(0, env.obsSpec.size);
  const run = () => {
    agent.trainStep(eps, { gamma: GAMMA });
    agent.trainStep([eps[0]], { gamma: GAMMA, bootstrapOnTruncation: true });
    let h = agent.initialHidden();
    for (let i = 0; i < 5; i++) h = agent.act(h, i % 4, o).hidden;
    agent.evaluate(eps);
    agent.lossGradients(eps, { gamma: GAMMA }, "target");
    agent.snapshot();
    agent.updateTargets();
  };
  run();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 10; i++) run();
  assert.equal(tf.memory().numTensors, before);
  const held = tf.memory().numTensors;
  agent.dispose();
  assert.ok(tf.memory().numTensors < held);
  assert.throws(() => agent.trainStep(eps, { gamma: GAMMA }), /after dispose/);
});

Deno.test("`makeAgent()` snapshot → restore gives identical subsequent outputs", () => {
  const eps = episodes();
  const a = small("adqn", 5);
  for (let i = 0; i < 3; i++) a.trainStep(eps, { gamma: GAMMA });
  const snap = a.snapshot();
  const continueFrom = (agent: RecurrentAgent) => {
    const losses = [0, 1].map(() => agent.trainStep(eps, { gamma: GAMMA }));
    const { q } = agent.act(agent.initialHidden(), -1, eps[0].obs.subarray(0, env.obsSpec.size));
    return { losses, q: Array.from(q), step: agent.snapshot().scalars["adam.step"] };
  };
  const ref = continueFrom(a);
  const b = small("adqn", 99); // different initial weights, overwritten by restore
  b.restore(snap);
  assert.deepEqual(continueFrom(b), ref);
  assert.equal(ref.step, 5);
  // Restoring into a differently shaped agent fails before changing anything.
  const c = makeAgent(env, "adqn", { seed: 1, model: { ...SMALL, gruHidden: 7 } });
  const cBefore = c.snapshot();
  assert.throws(() => c.restore(snap), /has shape/);
  assert.deepEqual(c.snapshot(), cBefore);
  assert.throws(() => a.restore({ tensors: {}, scalars: {} }), /lacks tensor/);
  for (const x of [a, b, c]) x.dispose();
});

Deno.test("`makeAgent()` same seed gives identical initial weights, another seed different ones", () => {
  const a = small("adqn", 3), b = small("adqn", 3), c = small("adqn", 4);
  const sa = a.snapshot(), sb = b.snapshot(), sc = c.snapshot();
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa.tensors["online/gru.wh"].data, sc.tensors["online/gru.wh"].data);
  // Targets start as copies; Adam starts at zero.
  assert.deepEqual(sa.tensors["target/q.0.w"].data, sa.tensors["online/q.0.w"].data);
  assert.ok(sa.tensors["adam.m/q.0.w"].data.every((v) => v === 0));
  assert.equal(sa.scalars["adam.step"], 0);
  for (const x of [a, b, c]) x.dispose();
});

Deno.test("`makeAgent()` builds the real Heaven-Hell preset with the spec's shapes", () => {
  const agent = makeAgent(env, "adqn", { seed: 0 });
  const S = env.stateSpec.size, O = env.obsSpec.size;
  const shapes = Object.fromEntries(
    Object.entries(agent.snapshot().tensors)
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
  const ep = randomEpisode(env, 1, 10);
  const l = agent.trainStep([ep], { gamma: 0.99 });
  assert.ok(Number.isFinite(l.loss) && Number.isFinite(l.lossQ) && Number.isFinite(l.lossU));
  // Xavier-normal, gain √2: q.0.w has std √2·√(2/(128+512)) ≈ 0.079.
  const w = agent.snapshot().tensors["target/q.0.w"].data;
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std / 0.0790569 - 1) < 0.03, `std ${std}`);
  agent.dispose();
});

Deno.test("`makeAgent()` trains on the real presets of Car-Flag, Cleaner and MemoryFourRooms", () => {
  for (const id of ["car-flag", "cleaner", "memory-four-rooms-7x7"]) {
    const e = makeEnv(id);
    for (const algo of ["adqn", "adqn-state-vr"] as const) {
      const agent = makeAgent(e, algo, { seed: 0 });
      const eps = [randomEpisode(e, 1, 4), randomEpisode(e, 2, 3)];
      const l = agent.trainStep(eps, { gamma: 0.99, bootstrapOnTruncation: true });
      assert.ok(Number.isFinite(l.loss), `${id} ${algo}`);
      const { q, hidden } = agent.act(
        agent.initialHidden(),
        -1,
        eps[0].obs.subarray(0, e.obsSpec.size),
      );
      assert.equal(q.length, e.numActions);
      assert.equal(hidden.length, id === "memory-four-rooms-7x7" ? 64 : 128);
      agent.dispose();
    }
  }
});

Deno.test("`makeAgent()` rejects bad algorithms, options and episodes with clear errors", () => {
  assert.throws(() => makeAgent(env, "ddqn" as AlgoId, { seed: 0 }), /unknown algorithm "ddqn"/);
  assert.throws(() => makeAgent(env, "dqn", { seed: 0, model: { gruHidden: -1 } }), /gruHidden/);
  assert.throws(
    () => makeAgent(env, "dqn", { seed: 0, lr: 0, model: SMALL }),
    /lr must be positive/,
  );
  const agent = small("adqn");
  const ep = randomEpisode(env, 3, 4);
  assert.throws(() => agent.trainStep([], { gamma: 0.9 }), /non-empty/);
  assert.throws(() => agent.trainStep([ep], { gamma: 1.5 }), /gamma 1.5/);
  const badAction = { ...ep, actions: Int32Array.from([0, 9, 0, 0]) };
  assert.throws(() => agent.trainStep([badAction], { gamma: 0.9 }), /action 9 at step 1/);
  const badObs = { ...ep, obs: ep.obs.subarray(1) };
  assert.throws(() => agent.trainStep([badObs], { gamma: 0.9 }), /obs has/);
  const noFinal = { ...ep, finalObs: new Float32Array(0) };
  assert.throws(
    () => agent.trainStep([noFinal], { gamma: 0.9, bootstrapOnTruncation: true }),
    /finalObs has 0/,
  );
  agent.trainStep([noFinal], { gamma: 0.9 }); // not read without bootstrapping
  agent.dispose();
});
