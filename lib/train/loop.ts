/**
 * The paper's training loop (algorithms.md §4), on plain data, for K ≥ 1 independent runs at once:
 * {@link trainBatch}; {@link train} is the K = 1 call. The agent sits behind the {@link RunsAgent}
 * interface (lib/models/batched_agent.ts implements it), so no tensor is touched here.
 *
 * Once per epoch, while environment steps < `totalSteps`:
 * 1. ε = 1 during prepopulation, else linear(steps − prepopulateSteps); collect one ε-greedy
 *    episode with the online Q, acting step by step through the recurrent state (a₋₁ = −1);
 * 2. record its undiscounted return, append it to the replay buffer, steps += its length;
 * 3. hard-copy the targets if steps crossed a multiple of `targetUpdateSteps` (and at the first
 *    epoch);
 * 4. while trainedSteps < (steps − prepopulateSteps) × replayRatio: sample `episodesPerBatch`
 *    whole episodes, take one gradient step, trainedSteps += their total length.
 *
 * Episodes are never cut to fit `totalSteps`: the run ends after the episode that reaches it, as
 * in the reference, so the final step count may exceed `totalSteps` by less than one episode.
 *
 * Random streams are independent children of the seed: `agent` (weight initialisation), `env`
 * (resets and transitions), `explore` (ε-greedy draws), `sample` (replay sampling) and `eval`
 * (resets and transitions of the greedy evaluation, which reads the online Q and writes nothing
 * the training reads: evaluation on or off, every training number is the same).
 *
 * The runs of a batch share the environment, the algorithm and every setting but the seed, the
 * learning rate and the time limit (`PER_RUN_FIELDS` of ./config.ts); each has its own episode
 * buffer, environment, random streams, Adam step size, counters, metric points and checkpoint. One
 * gradient computation per round serves every run that needs a step; the runs between epochs then
 * play their next episodes, run after run. A run whose episodes are short takes fewer steps per
 * epoch; a run that reached its budget stops while the others go on. Only *when* a run's steps are
 * computed depends on the batch, so run k of a batch is the run `train(configs[k])` makes, and a
 * checkpoint written inside a batch resumes alone and vice versa.
 *
 * @module
 */
import { makeEnv } from "../envs/mod.ts";
import { exists } from "../files.ts";
import { childSeed } from "../rng.ts";
import { BatchRun, makeSlot } from "./batch_run.ts";
import { checkResumable, readCheckpoint, type TrainCheckpoint } from "./checkpoint.ts";
import {
  batchKey,
  canonicalJson,
  PER_RUN_FIELDS,
  resolveTrainConfig,
  type TrainConfig,
} from "./config.ts";
import type { AgentFactory, BatchTrainOptions, TrainOptions, TrainResult } from "./loop_types.ts";

export type {
  AgentFactory,
  AgentFactoryOptions,
  BatchTrainOptions,
  MetricPoint,
  ProgressPoint,
  RunsAgent,
  TrainOptions,
  TrainResult,
} from "./loop_types.ts";

const defaultMakeAgent: AgentFactory = async (env, algo, options) => {
  const mod = await import("../models/batched_agent.ts");
  return mod.makeBatchedAgent(env, algo, options);
};

/**
 * Check that configs can share one batch: the same configuration except the fields of
 * `PER_RUN_FIELDS` (seed, lr, timeLimit). Returns the resolved configs; throws an error naming the
 * fields that differ.
 */
export function checkBatchConfigs(configs: readonly TrainConfig[]): TrainConfig[] {
  if (configs.length === 0) throw new Error("trainBatch: expected at least one config");
  const resolved = configs.map((c) => resolveTrainConfig(c));
  const key = batchKey(resolved[0]);
  const perRun: readonly string[] = PER_RUN_FIELDS;
  resolved.forEach((c, k) => {
    if (batchKey(c) === key) return;
    const a = resolved[0] as unknown as Record<string, unknown>;
    const b = c as unknown as Record<string, unknown>;
    const diffs = Object.keys(a).filter((field) =>
      !perRun.includes(field) && canonicalJson(a[field] ?? null) !== canonicalJson(b[field] ?? null)
    );
    throw new Error(
      `trainBatch: config ${k} differs from config 0 in ${diffs.join(", ")}; the runs of a batch ` +
        `may differ only in ${PER_RUN_FIELDS.join(", ")}`,
    );
  });
  return resolved;
}

/**
 * Train the runs of `configs` (the same configuration but for seed, lr and timeLimit) as one
 * batched computation; each run behaves as `train(configs[k])` would (see the module doc). Returns
 * one result per run, in order.
 *
 * @example
 * ```ts ignore
 * import { initBackend } from "../nn/backend.ts";
 * import { resolveTrainConfig } from "./config.ts";
 * import { trainBatch } from "./loop.ts";
 * await initBackend();
 * const configs = [0, 1, 2].map((seed) => resolveTrainConfig({ env: "heaven-hell-3", algo: "adqn",
 *   seed, totalSteps: 20_000, prepopulateSteps: 1000, epsilonDecaySteps: 10_000, logEvery: 1000 }));
 * const results = await trainBatch(configs, {
 *   onMetric: (run, p) => console.log(run, p.envStep, p.avgReturn),
 * });
 * ```
 */
export async function trainBatch(
  configs: readonly TrainConfig[],
  options: BatchTrainOptions = {},
): Promise<TrainResult[]> {
  const cs = checkBatchConfigs(configs);
  const K = cs.length;
  const c0 = cs[0];
  const every = options.checkpointEverySteps ?? c0.logEvery;
  if (!Number.isSafeInteger(every) || every < 1) {
    throw new Error(`invalid checkpointEverySteps ${every}; expected a positive integer`);
  }
  const minutes = options.checkpointEveryMinutes ?? 10;
  if (!Number.isFinite(minutes) || minutes < 0) {
    throw new Error(
      `invalid checkpointEveryMinutes ${minutes}; expected a finite number of minutes >= 0 (0: off)`,
    );
  }
  const now = options.now ?? (() => performance.now());
  const paths = options.checkpointPaths ?? [];
  if (paths.length !== 0 && paths.length !== K) {
    throw new Error(`trainBatch: ${paths.length} checkpoint paths for ${K} runs`);
  }
  if (options.envs !== undefined && options.envs.length !== K) {
    throw new Error(`trainBatch: ${options.envs.length} environments for ${K} runs`);
  }
  const existing: (TrainCheckpoint | undefined)[] = [];
  for (let k = 0; k < K; k++) {
    const p = paths[k];
    const ckpt = p !== undefined && await exists(p) ? await readCheckpoint(p) : undefined;
    if (ckpt) checkResumable(ckpt, cs[k], p);
    existing.push(ckpt);
  }
  const envs = cs.map((c, k) => options.envs?.[k] ?? makeEnv(c.env, { timeLimit: c.timeLimit }));
  const factory = options.makeAgent ?? defaultMakeAgent;
  const agent = await factory(envs[0], c0.algo, {
    seeds: cs.map((c) => childSeed(c.seed, "agent")),
    lr: cs.map((c) => c.lr),
    adamEps: c0.adamEps,
    model: c0.model,
  });
  if (agent.size !== K) {
    agent.dispose();
    throw new Error(`trainBatch: the agent factory made ${agent.size} runs, expected ${K}`);
  }
  let kept = false;
  try {
    const policy = { every, minutes, now };
    const slots = cs.map((c, k) => makeSlot(k, c, envs[k], existing[k], paths[k], agent, policy));
    const run = new BatchRun(agent, slots, options, policy);
    const signal = options.signal;
    let lastYield = performance.now();
    const maybeYield = async () => {
      if (performance.now() - lastYield > 50) { // let timers and signal handlers run
        await new Promise((r) => setTimeout(r, 0));
        lastYield = performance.now();
      }
    };
    await run.start();
    while (true) {
      slots.forEach((s) => run.gone(s));
      // Every run between epochs plays its next episode; runs with nothing to train
      // (prepopulation) go straight on to the next one.
      let collecting = run.inPhase("collect");
      while (collecting.length > 0 && !signal?.aborted) {
        await run.collect(collecting);
        collecting = run.inPhase("collect");
        await maybeYield();
      }
      const training = run.inPhase("train");
      if (training.length === 0) break;
      await run.train(training);
      await maybeYield();
    }
    await run.checkpointUnfinished();
    kept = options.keepAgent === true;
    return run.results(kept);
  } finally {
    if (!kept) agent.dispose();
  }
}

/**
 * Train one run as the paper does: {@link trainBatch} with K = 1 (see the module doc), emitting a metric
 * point each time the step count crosses a multiple of `logEvery` and once at the end. With a
 * `checkpointPath`, a run resumes from that file if it exists (refusing one written for another
 * config or seed) and continues exactly as the uninterrupted run would have.
 *
 * @example
 * ```ts ignore
 * import { resolveTrainConfig, train } from "./mod.ts";
 * import { initBackend } from "../nn/backend.ts";
 * await initBackend();
 * const config = resolveTrainConfig({ env: "heaven-hell-3", algo: "adqn", totalSteps: 20_000,
 *   prepopulateSteps: 1000, epsilonDecaySteps: 10_000, logEvery: 1000 });
 * const result = await train(config, { onMetric: (p) => console.log(p.envStep, p.avgReturn) });
 * ```
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const { onMetric, onProgress, mayWriteCheckpoint, checkpointPath, env, ...rest } = options;
  const [result] = await trainBatch([config], {
    ...rest,
    onMetric: onMetric && ((_, p) => onMetric(p)),
    onProgress: onProgress && ((_, p) => onProgress(p)),
    mayWriteCheckpoint: mayWriteCheckpoint && (() => mayWriteCheckpoint()),
    checkpointPaths: checkpointPath === undefined ? undefined : [checkpointPath],
    envs: env && [env],
  });
  return result;
}
