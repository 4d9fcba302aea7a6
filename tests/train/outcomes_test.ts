/**
 * What a run did besides its return (lib/train/loop.ts): the outcome shares and mean length over
 * avgReturn's window, and the greedy evaluation (`evalEvery`, `evalEpisodes`), which changes no
 * training number.
 */
import assert from "assert";
import type { Env } from "../../lib/envs/types.ts";
import { featureSpec } from "../../lib/envs/types.ts";
import { childSeed, makeRng } from "../../lib/rng.ts";
import { resolveTrainConfig, type TrainConfig } from "../../lib/train/config.ts";
import {
  readCheckpoint,
  type TrainCheckpoint,
  writeCheckpoint,
} from "../../lib/train/checkpoint.ts";
import { collectEpisode } from "../../lib/train/episode.ts";
import { type MetricPoint, train } from "../../lib/train/loop.ts";
import { type FakeAgent, fakeAgentFactory, makeFixedEnv } from "./fake_agent.ts";

function config(patch: Partial<TrainConfig>): TrainConfig {
  return resolveTrainConfig({ env: "pomdp:fixed", algo: "adqn", ...patch });
}

/**
 * A scripted environment: the n-th reset (n = 0, 1, …) starts an episode of kind n mod 4, whatever
 * the actions: 0 terminates after 2 steps with a final reward +1, 1 after 3 steps with −1, 2 after
 * 4 steps with 0, and 3 never terminates (the time limit, 5, cuts it). Every other reward is 0.
 */
function makeScriptedEnv(): Env<{ kind: number; t: number }, number> {
  const ends = [2, 3, 4, Infinity], finals = [1, -1, 0, 0];
  let resets = 0;
  return {
    id: "scripted",
    numActions: 2,
    actionNames: ["a0", "a1"],
    timeLimit: 5,
    obsSpec: featureSpec([{ kind: "onehot", size: 2 }]),
    stateSpec: featureSpec([{ kind: "onehot", size: 2 }]),
    reset: () => ({ state: { kind: resets++ % 4, t: 0 }, obs: 0 }),
    step(state, _action) {
      const t = state.t + 1, end = t >= ends[state.kind];
      return {
        state: { kind: state.kind, t },
        obs: 0,
        reward: end ? finals[state.kind] : 0,
        terminated: end,
        truncated: false,
      };
    },
    encodeObs: () => Float32Array.of(1, 0),
    encodeState: () => Float32Array.of(1, 0),
    renderObs: String,
    renderState: (s) => `${s.kind}@${s.t}`,
  };
}

const NEW_FIELDS = [
  "sharePositive",
  "shareNegative",
  "shareZero",
  "shareTruncated",
  "avgLength",
  "evalReturn",
  "evalLength",
] as const;

/** The training numbers of a point: everything but the wall clock and the fields added for this. */
function training(points: MetricPoint[]) {
  return points.map((p) => {
    const out: Record<string, unknown> = { ...p };
    delete out.wallSeconds;
    for (const k of NEW_FIELDS) delete out[k];
    return out;
  });
}

Deno.test("`train()` records outcome shares and mean length over avgReturn's window (scripted episodes)", async () => {
  // Episodes (kind, length, end step): (+,2,2) (−,3,5) (0,4,9) (cut,5,14) (+,2,16) (−,3,19)
  // (0,4,23) (cut,5,28). logEvery 10 ⇒ points after the episodes ending at 14 and 23, and the
  // final one at 28; window 3 ⇒ the last three episodes of each.
  const c = config({
    totalSteps: 28,
    prepopulateSteps: 28,
    logEvery: 10,
    returnWindow: 3,
    timeLimit: 5,
  });
  const { metrics } = await train(c, { env: makeScriptedEnv(), makeAgent: fakeAgentFactory() });
  const third = 1 / 3;
  const got = metrics.map((p) => [
    p.envStep,
    p.episodes,
    p.avgReturn,
    p.sharePositive,
    p.shareNegative,
    p.shareZero,
    p.shareTruncated,
    p.avgLength,
  ]);
  assert.deepEqual(got, [
    [14, 4, -1 / 3, 0, third, third, third, (3 + 4 + 5) / 3],
    [23, 7, 0, third, third, third, 0, (2 + 3 + 4) / 3],
    [28, 8, -1 / 3, 0, third, third, third, (3 + 4 + 5) / 3],
  ]);
  // Evaluation off (the default): no evaluation numbers.
  for (const p of metrics) assert.ok(Number.isNaN(p.evalReturn) && Number.isNaN(p.evalLength));
});

Deno.test("`train()` window of 4: one episode of each outcome ⇒ shares of 1/4", async () => {
  const c = config({ totalSteps: 14, prepopulateSteps: 14, logEvery: 14, returnWindow: 4 });
  const { metrics } = await train(c, { env: makeScriptedEnv(), makeAgent: fakeAgentFactory() });
  assert.equal(metrics.length, 1);
  const p = metrics[0];
  assert.deepEqual(
    [p.avgReturn, p.sharePositive, p.shareNegative, p.shareZero, p.shareTruncated, p.avgLength],
    [0, 0.25, 0.25, 0.25, 0.25, 3.5],
  );
});

const learning = {
  totalSteps: 300,
  prepopulateSteps: 30,
  replayRatio: 2,
  logEvery: 30,
  epsilonDecaySteps: 100,
  targetUpdateSteps: 50,
};

Deno.test("greedy evaluation changes no training number: same metrics and weights with it on and off", async () => {
  const madeOff: FakeAgent[] = [], madeOn: FakeAgent[] = [];
  const off = await train(config(learning), {
    env: makeFixedEnv(6),
    makeAgent: fakeAgentFactory(madeOff),
  });
  const on = await train(config({ ...learning, evalEvery: 60, evalEpisodes: 3 }), {
    env: makeFixedEnv(6),
    makeAgent: fakeAgentFactory(madeOn),
  });
  assert.deepEqual(training(on.metrics), training(off.metrics));
  assert.deepEqual(
    on.metrics.map((p) => [p.sharePositive, p.shareZero, p.avgLength]),
    off.metrics.map((p) => [p.sharePositive, p.shareZero, p.avgLength]),
  );
  assert.deepEqual(madeOn[0].snapshot(), madeOff[0].snapshot());
  // Points every 30 steps (episodes of 6 end on multiples of 6): evaluations at 60, 120, …, 300.
  const evaluated = on.metrics.filter((p) => !Number.isNaN(p.evalReturn)).map((p) => p.envStep);
  assert.deepEqual(evaluated, [60, 120, 180, 240, 300]);
  for (const p of on.metrics) {
    if (Number.isNaN(p.evalReturn)) assert.ok(Number.isNaN(p.evalLength));
    else assert.equal(p.evalLength, 6); // every episode of this env lasts 6 steps
  }
});

Deno.test("greedy evaluation: M greedy episodes from the run's own `eval` stream, as collectEpisode plays them", async () => {
  // One evaluation only, at the final point: the agent kept afterwards is the one evaluated.
  const c = config({ ...learning, evalEvery: 300, evalEpisodes: 4, seed: 3 });
  const env = makeFixedEnv(6);
  const result = await train(c, { env, makeAgent: fakeAgentFactory(), keepAgent: true });
  const last = result.metrics.at(-1)!;
  assert.equal(last.envStep, 300);
  assert.ok(result.metrics.slice(0, -1).every((p) => Number.isNaN(p.evalReturn)));
  // Second method: the single-run episode player at ε = 0 on a fresh `eval` child stream.
  const rng = makeRng(childSeed(3, "eval"));
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += collectEpisode(env, result.agent!, 0, rng, rng).return;
  result.agent!.dispose();
  assert.equal(last.evalReturn, sum / 4);
  assert.equal(last.evalLength, 6);
});

Deno.test("`resolveTrainConfig()` checks evalEvery and evalEpisodes", () => {
  assert.throws(
    () => config({ evalEvery: -1 }),
    /invalid evalEvery -1; expected a non-negative integer/,
  );
  assert.throws(
    () => config({ evalEpisodes: 0 }),
    /invalid evalEpisodes 0; expected a positive integer/,
  );
  assert.equal(config({}).evalEvery, 0);
});

Deno.test("with evaluation on, a run resumed after an abort equals the uninterrupted one, evaluations included", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = config({ ...learning, evalEvery: 60, evalEpisodes: 2 });
    const go = (options: Parameters<typeof train>[1] = {}) =>
      train(c, { env: makeFixedEnv(6), makeAgent: fakeAgentFactory(), ...options });
    const full = await go();
    const path = `${dir}/run.ckpt`;
    const controller = new AbortController();
    const first = await go({
      checkpointPath: path,
      signal: controller.signal,
      onProgress: (p) => p.envStep === 150 && controller.abort(),
    });
    assert.equal(first.finished, false);
    // An old-format checkpoint (before outcomes and evaluation were recorded) must resume too:
    // training numbers unchanged, the outcome window refilled from the resumed episodes.
    const old = await readCheckpoint(path);
    const stripped: TrainCheckpoint = {
      ...old,
      state: { ...old.state, outcomes: undefined, lengths: undefined, nextEval: undefined },
    };
    const oldPath = `${dir}/old.ckpt`;
    await writeCheckpoint(oldPath, stripped);

    const second = await go({ checkpointPath: path });
    const noWall = (ps: MetricPoint[]) => ps.map(({ wallSeconds: _, ...p }) => p);
    assert.deepEqual(noWall([...first.metrics, ...second.metrics]), noWall(full.metrics));
    assert.ok(second.metrics.some((p) => Number.isFinite(p.evalReturn)));

    const fromOld = await go({ checkpointPath: oldPath });
    assert.deepEqual(training(fromOld.metrics), training(second.metrics));
    for (const p of fromOld.metrics) assert.ok(p.avgLength === 6 && Number.isFinite(p.shareZero));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
