import assert from "assert";
import { makeRng, type Rng } from "../../lib/rng.ts";
import { resolveTrainConfig, type TrainConfig } from "../../lib/train/config.ts";
import { argmax, collectEpisode } from "../../lib/train/episode.ts";
import { type MetricPoint, train, type TrainOptions } from "../../lib/train/loop.ts";
import { FakeAgent, fakeAgentFactory, type FixedState, makeFixedEnv } from "./fake_agent.ts";

/** A config for the fake environment (its id only has to validate; the env is injected). */
function config(patch: Partial<TrainConfig>): TrainConfig {
  return resolveTrainConfig({ env: "pomdp:fixed", algo: "adqn", ...patch });
}

/** Run `train` with the fake agent on a fixed-length env, recording per-epoch agent calls. */
async function run(c: TrainConfig, length: number, options: TrainOptions = {}) {
  const made: FakeAgent[] = [];
  const env = makeFixedEnv(length);
  const marks: number[] = [];
  const returns: number[] = [];
  const result = await train(c, {
    env,
    makeAgent: fakeAgentFactory(made),
    ...options,
    onProgress: (p) => {
      marks.push(made[0].events.length);
      returns.push(p.lastReturn);
      options.onProgress?.(p);
    },
  });
  const agent = made[0];
  // Split the agent's calls by epoch.
  const epochs = marks.map((end, i) => agent.events.slice(i === 0 ? 0 : marks[i - 1], end));
  const trainCalls = epochs.map((e) => e.filter((x) => x.kind === "train").length);
  const targetCopies = epochs.map((e) => e.filter((x) => x.kind === "targets").length);
  const acts = epochs.map((e) => e.filter((x) => x.kind === "act").length);
  return { result, agent, env, trainCalls, targetCopies, acts, returns };
}

const strip = (ms: MetricPoint[]) => ms.map(({ wallSeconds: _, ...rest }) => rest);

Deno.test("`train()` keeps the replay ratio exactly (episodes of 5, prepop 12, ratio 2, batch 2)", async () => {
  const c = config({
    totalSteps: 40,
    prepopulateSteps: 12,
    replayRatio: 2,
    episodesPerBatch: 2,
    targetUpdateSteps: 12,
    logEvery: 10,
    epsilonDecaySteps: 10,
  });
  const { result, agent, trainCalls, targetCopies, acts } = await run(c, 5);
  // After epoch k the steps are 5k and the budget (5k - 12) × 2 = -14, -4, 6, 16, 26, 36, 46, 56.
  // Each gradient step trains 2 episodes × 5 = 10 steps: 0, 0, 10, 20, ..., 60.
  assert.deepEqual(trainCalls, [0, 0, 1, 1, 1, 1, 1, 1]);
  for (const e of agent.events) if (e.kind === "train") assert.deepEqual(e.lengths, [5, 5]);
  // Targets: first epoch (5), then on crossing 12 (15), 24 (25), 36 (40).
  assert.deepEqual(targetCopies, [1, 0, 1, 0, 1, 0, 0, 1]);
  // ε = 1 before step 12 (epochs starting at 0, 5, 10): the agent is not even queried.
  assert.deepEqual(acts, [0, 0, 0, 5, 5, 5, 5, 5]);
  assert.equal(result.finished, true);
  assert.equal(result.envSteps, 40);
  assert.equal(result.episodes, 8);
  assert.ok(agent.disposed);
  // Points at 10, 20, 30, 40 (the end coincides with the last multiple: no extra point).
  const m = result.metrics;
  assert.deepEqual(m.map((p) => p.envStep), [10, 20, 30, 40]);
  assert.deepEqual(m.map((p) => p.episodes), [2, 4, 6, 8]);
  assert.deepEqual(m.map((p) => p.trainedSteps), [0, 20, 40, 60]);
  // ε of the episode just played: started at 5 (prepop: 1), 15 (1 - 0.9 × 3/10), 25, 35 (end).
  const eps = [1, 0.73, 0.1, 0.1];
  m.forEach((p, i) => assert.ok(Math.abs(p.epsilon - eps[i]) < 1e-12, `${p.epsilon}`));
  assert.ok(Number.isNaN(m[0].lossQ) && Number.isNaN(m[0].lossU));
  for (const p of m.slice(1)) assert.ok(p.lossQ > 0 && Math.abs(p.lossU - p.lossQ / 2) < 1e-12);
});

Deno.test("`train()` emits a final point when the end is not a multiple of logEvery", async () => {
  const c = config({ totalSteps: 40, prepopulateSteps: 12, logEvery: 15, returnWindow: 3 });
  const { result, returns } = await run(c, 5);
  const m = result.metrics;
  assert.deepEqual(m.map((p) => p.envStep), [15, 30, 40]);
  // avgReturn = mean of the last 3 returns reported by onProgress.
  const avg3 = (k: number) => (returns[k - 3] + returns[k - 2] + returns[k - 1]) / 3;
  assert.deepEqual(m.map((p) => p.avgReturn), [avg3(3), avg3(6), avg3(8)]);
});

Deno.test("`train()` keeps the ratio with batch 1 and ratio 8, and with a fractional ratio", async () => {
  const a = await run(config({ totalSteps: 30, prepopulateSteps: 12, replayRatio: 8 }), 5);
  // Budgets (5k - 12) × 8 after k = 3..6: 24, 64, 104, 144; 5 steps per call:
  // 5 calls (25), 8 (65), 8 (105), 8 (145).
  assert.deepEqual(a.trainCalls, [0, 0, 5, 8, 8, 8]);
  assert.equal(a.result.metrics.at(-1)!.trainedSteps, 145);
  const b = await run(config({ totalSteps: 30, prepopulateSteps: 0, replayRatio: 0.5 }), 5);
  // Budgets 2.5k: 2.5 (→5), 5 (none), 7.5 (→10), 10 (none), 12.5 (→15), 15 (none).
  assert.deepEqual(b.trainCalls, [1, 0, 1, 0, 1, 0]);
  const z = await run(config({ totalSteps: 30, prepopulateSteps: 0, replayRatio: 0 }), 5);
  assert.deepEqual(z.trainCalls, [0, 0, 0, 0, 0, 0]);
});

Deno.test("`train()` does not cut the last episode: the run ends after reaching totalSteps", async () => {
  const { result } = await run(config({ totalSteps: 12, prepopulateSteps: 12 }), 5);
  assert.equal(result.envSteps, 15);
  assert.equal(result.episodes, 3);
  assert.deepEqual(result.metrics.map((p) => p.envStep), [15]);
});

Deno.test("`collectEpisode()` stores o_t and s_t before acting, and the final ones apart", () => {
  const env = makeFixedEnv(4);
  const agent = new FakeAgent(3, 3, "adqn", 1, 0.1);
  const { episode, return: ret } = collectEpisode(env, agent, 0, makeRng(2), makeRng(3));
  const goal = makeFixedEnv(4).reset(makeRng(2)).state.goal; // same env stream: same goal
  assert.equal(episode.length, 4);
  assert.deepEqual([...episode.obs.subarray(0, 3)], [0, 1, 2].map((i) => i === goal ? 1 : 0));
  assert.deepEqual([...episode.obs.subarray(3)], new Array(9).fill(0));
  for (let t = 0; t < 4; t++) assert.equal(episode.states[t * 4 + 3], t / 4);
  assert.equal(episode.finalState[3], 1);
  assert.ok(episode.terminated && !episode.truncated);
  // ε = 0: greedy with respect to the agent's Q, replayed by hand with a twin agent.
  const twin = new FakeAgent(3, 3, "adqn", 1, 0.1);
  let h = twin.initialHidden(), prev = -1, r = 0;
  for (let t = 0; t < 4; t++) {
    const out = twin.act(h, prev, episode.obs.subarray(t * 3, t * 3 + 3));
    assert.equal(episode.actions[t], argmax(out.q));
    h = out.hidden;
    prev = episode.actions[t];
    r += episode.actions[t] === goal ? 1 : 0;
  }
  assert.equal(ret, r);
  assert.deepEqual([...episode.rewards], [...episode.actions].map((a) => a === goal ? 1 : 0));
  assert.equal(agent.events.length, 4);
});

Deno.test("`collectEpisode()` marks time-limit cuts as truncated, even if the env does not", () => {
  const env = makeFixedEnv(10, { timeLimit: 4 });
  const agent = new FakeAgent(3, 3, "adqn", 1, 0.1);
  const a = collectEpisode(env, agent, 1, makeRng(1), makeRng(1)).episode;
  assert.equal(a.length, 4);
  assert.ok(a.truncated && !a.terminated);
  const silent = {
    ...env,
    step: (s: FixedState, act: number, rng: Rng) => ({
      ...env.step(s, act, rng),
      truncated: false,
    }),
  };
  const b = collectEpisode(silent, agent, 1, makeRng(1), makeRng(1)).episode;
  assert.equal(b.length, 4);
  assert.ok(b.truncated && !b.terminated);
  assert.equal(agent.events.length, 0); // ε = 1: never queried
});

Deno.test("`argmax()` returns the first maximal index", () => {
  assert.equal(argmax([1, 3, 3, 2]), 1);
  assert.equal(argmax([-1]), 0);
  assert.equal(argmax([NaN, 2, 5]), 2);
});

Deno.test("`train()` is reproducible: same seed ⇒ same curve and weights, other seeds differ", async () => {
  const c = config({
    totalSteps: 300,
    prepopulateSteps: 30,
    replayRatio: 2,
    logEvery: 30,
    epsilonDecaySteps: 100,
    targetUpdateSteps: 50,
  });
  const a = await run(c, 6, { keepAgent: true });
  const b = await run(c, 6, { keepAgent: true });
  const d = await run({ ...c, seed: 1 }, 6, { keepAgent: true });
  assert.deepEqual(strip(a.result.metrics), strip(b.result.metrics));
  assert.deepEqual(a.agent.snapshot(), b.agent.snapshot());
  assert.notDeepEqual(strip(a.result.metrics), strip(d.result.metrics));
  assert.notDeepEqual(a.agent.snapshot(), d.agent.snapshot());
  assert.ok(!a.agent.disposed); // keepAgent: the caller owns it
  assert.deepEqual(a.result.agent!.snapshot(), a.agent.snapshot());
  a.result.agent!.dispose();
  assert.ok(a.agent.disposed);
});

Deno.test("`train()` awaits onMetric and propagates its errors after disposing the agent", async () => {
  const c = config({ totalSteps: 20, prepopulateSteps: 0, logEvery: 5 });
  const seen: number[] = [];
  await run(c, 5, {
    onMetric: async (p) => {
      await new Promise((r) => setTimeout(r, 1));
      seen.push(p.envStep);
    },
  });
  assert.deepEqual(seen, [5, 10, 15, 20]);
  const made: FakeAgent[] = [];
  await assert.rejects(
    train(c, {
      env: makeFixedEnv(5),
      makeAgent: fakeAgentFactory(made),
      onMetric: () => {
        throw new Error("sink full");
      },
    }),
    /sink full/,
  );
  assert.ok(made[0].disposed);
});

Deno.test("`train()` validates the config and checkpointEverySteps", async () => {
  const c = config({ totalSteps: 20, prepopulateSteps: 0 });
  await assert.rejects(
    train({ ...c, gamma: 2 }, { env: makeFixedEnv(5), makeAgent: fakeAgentFactory() }),
    /invalid gamma 2/,
  );
  await assert.rejects(
    train(c, { env: makeFixedEnv(5), makeAgent: fakeAgentFactory(), checkpointEverySteps: 0 }),
    /invalid checkpointEverySteps 0/,
  );
  for (const bad of [-1, NaN, Infinity]) {
    await assert.rejects(
      train(c, {
        env: makeFixedEnv(5),
        makeAgent: fakeAgentFactory(),
        checkpointEveryMinutes: bad,
      }),
      new RegExp(`invalid checkpointEveryMinutes ${bad}; expected a finite number of minutes >= 0`),
    );
  }
});

Deno.test("`train()` checkpoints by wall time (fake clock) as well as by steps, changing no number", async () => {
  // Episodes of 5 steps, one per epoch; the fake clock advances one minute per episode. The step
  // interval (1000) is never reached, so only the 3-minute timer and the end write a checkpoint:
  // after epochs 3 and 6 (steps 15, 30: minutes 3 and 6) and at the end (step 40).
  const c = config({ totalSteps: 40, prepopulateSteps: 0, logEvery: 10 });
  const dir = await Deno.makeTempDir();
  try {
    const withClock = async (minutes: number | undefined, path?: string) => {
      let clock = 0;
      let step = 0;
      const writes: number[] = [];
      const { result } = await run(c, 5, {
        checkpointPath: path,
        checkpointEverySteps: 1000,
        checkpointEveryMinutes: minutes,
        now: () => clock,
        onProgress: (p) => {
          step = p.envStep;
          clock += 60_000;
        },
        mayWriteCheckpoint: () => (writes.push(step), true),
      });
      return { result, writes };
    };
    const timed = await withClock(3, `${dir}/timed.ckpt`);
    assert.deepStrictEqual(timed.writes, [15, 30, 40]);
    assert.ok((await Deno.stat(`${dir}/timed.ckpt`)).isFile);
    const off = await withClock(0, `${dir}/off.ckpt`);
    assert.deepStrictEqual(off.writes, [40]);
    // Default 10 minutes: not reached within 8 fake minutes.
    assert.deepStrictEqual((await withClock(undefined, `${dir}/default.ckpt`)).writes, [40]);
    const none = await withClock(3);
    assert.deepStrictEqual(none.writes, []);
    assert.strictEqual(timed.result.metrics.length, 4);
    assert.deepStrictEqual(strip(timed.result.metrics), strip(none.result.metrics));
    assert.deepStrictEqual(strip(off.result.metrics), strip(none.result.metrics));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`train()` builds the env from config.env with config.timeLimit", async () => {
  const path = new URL("../../data/pomdp/tmaze.pomdp", import.meta.url).pathname;
  const made: FakeAgent[] = [];
  const returns: number[] = [];
  const result = await train(
    config({ env: `pomdp:${path}`, totalSteps: 30, prepopulateSteps: 30, timeLimit: 3 }),
    { makeAgent: fakeAgentFactory(made), onProgress: (p) => returns.push(p.lastReturn) },
  );
  // The T-maze needs 4 actions to reach an end: with a limit of 3 every episode is cut at 3 steps
  // and pays 0.
  assert.equal(result.episodes, 10);
  assert.equal(result.envSteps, 30);
  assert.deepEqual(returns, new Array(10).fill(0));
  assert.equal(made[0].obsSize, 4); // |O| one-hot
});

Deno.test("`train()` yields to the event loop, so a timer can abort a long run", async () => {
  const c = config({ totalSteps: 10_000_000, prepopulateSteps: 10_000_000, replayRatio: 0 });
  const result = await train(c, {
    env: makeFixedEnv(5),
    makeAgent: fakeAgentFactory(),
    signal: AbortSignal.timeout(100),
  });
  assert.equal(result.finished, false);
  assert.ok(result.envSteps > 0 && result.envSteps < 10_000_000, `${result.envSteps}`);
  assert.equal(result.envSteps % 5, 0);
});
