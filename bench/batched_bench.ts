/**
 * Batched multi-run training and acting on the Heaven-Hell-3 model (embeddings 64, GRU 128, heads
 * 512-256), one 100-step episode per run per gradient step:
 *
 * - `deno bench -A bench/batched_bench.ts`: K = 1, 8, 20 training rounds and K = 20 acting steps on
 *   the `auto` backend (`wasm-blas` when OpenBLAS loads);
 * - `deno run -A bench/batched_bench.ts [--backends auto,wasm] [--k 1,8,20] [--seconds 5]
 *   [--algo adqn] [--steps 100] [--no-act] [--start-at MS] [--json]`: a table of
 *   aggregate trained env-steps/s and acting env-steps/s, each also as a multiple of PyTorch's
 *   single run (2,360 trained steps/s) and single environment (3,074 acting steps/s) on one core.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { makeEnv } from "../lib/envs/mod.ts";
import { makeBatchedAgent } from "../lib/models/batched_agent.ts";
import { type BackendName, initBackend } from "../lib/nn/backend.ts";
import { type BatchedBenchResult, benchBatched, benchEpisode } from "../lib/train/batched_bench.ts";
import { ALGO_IDS, type AlgoId } from "../lib/train/agent.ts";

/** PyTorch 1.13, one thread, this machine kind (shared/spec/platform.md). */
const TORCH_TRAIN_STEPS = 23.6 * 100, TORCH_ACT_STEPS = 3074;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      backends: { type: "string", default: "auto" },
      k: { type: "string", default: "1,8,20" },
      seconds: { type: "string", default: "5" },
      json: { type: "boolean", default: false },
      "start-at": { type: "string" },
      algo: { type: "string", default: "adqn" },
      "no-act": { type: "boolean", default: false },
      steps: { type: "string", default: "100" },
    },
  });
  const steps = Number(values.steps);
  if (!Number.isInteger(steps) || steps < 1) {
    console.error(`invalid --steps ${values.steps}; expected a positive integer`);
    Deno.exit(2);
  }
  const algo = values.algo as AlgoId;
  if (!(ALGO_IDS as readonly string[]).includes(algo)) {
    console.error(`invalid --algo ${values.algo}; expected one of ${ALGO_IDS.join(", ")}`);
    Deno.exit(2);
  }
  const startAt = values["start-at"] === undefined ? undefined : Number(values["start-at"]);
  if (startAt !== undefined && !Number.isFinite(startAt)) {
    console.error(
      `invalid --start-at ${values["start-at"]}; expected milliseconds since the epoch`,
    );
    Deno.exit(2);
  }
  const rows: BatchedBenchResult[] = [];
  const ks = values.k.split(",").map(Number);
  for (const backend of values.backends.split(",")) {
    for (const k of ks) {
      const r = await benchBatched({
        k,
        backend: backend as BackendName,
        seconds: Number(values.seconds),
        act: k === Math.max(...ks) && !values["no-act"],
        startAt,
        algo,
        steps,
      });
      const act = r.actStepsPerSecond === null
        ? ""
        : `, acting ${r.actStepsPerSecond.toFixed(0)} ` +
          `(step-major) / ${r.actRunMajorStepsPerSecond?.toFixed(0)} (run-major) env-steps/s`;
      console.error(
        `${r.backend} K=${k}: ${r.trainedStepsPerSecond.toFixed(0)} trained steps/s${act}`,
      );
      rows.push(r);
    }
  }
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2));
  } else {
    const x = (v: number | null, ref: number) => (v === null ? "" : (v / ref).toFixed(1));
    const n = (v: number | null) => (v === null ? "" : v.toFixed(0));
    console.log(`load average ${Deno.loadavg().map((v) => v.toFixed(2)).join(" ")}`);
    console.log(
      "| backend | K | rounds/s | trained env-steps/s | × torch 1 run | acting env-steps/s " +
        "(step-major / run-major) | × torch 1 env |",
    );
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    for (const r of rows) {
      console.log(
        `| ${r.backend} | ${r.k} | ${r.roundsPerSecond.toFixed(2)} | ` +
          `${r.trainedStepsPerSecond.toFixed(0)} | ${
            x(r.trainedStepsPerSecond, TORCH_TRAIN_STEPS)
          } | ` +
          `${n(r.actStepsPerSecond)}${r.actStepsPerSecond === null ? "" : " / "}` +
          `${n(r.actRunMajorStepsPerSecond)} | ${x(r.actStepsPerSecond, TORCH_ACT_STEPS)}` +
          `${r.actStepsPerSecond === null ? "" : " / "}${
            x(r.actRunMajorStepsPerSecond, TORCH_ACT_STEPS)
          } |`,
      );
    }
  }
} else {
  const used = await initBackend("auto");
  const env = makeEnv("heaven-hell-3");
  for (const k of [1, 8, 20]) {
    const agent = makeBatchedAgent(env, "adqn", { seeds: Array.from({ length: k }, (_, i) => i) });
    const batches = Array.from({ length: k }, (_, i) => [benchEpisode(env, 100 + i, 100)]);
    Deno.bench(
      `ADQN training round, K=${k} runs × one 100-step episode (${used})`,
      { group: "train", n: k === 20 ? 10 : 20, warmup: 2 },
      () => void agent.trainStep(batches, { gamma: 0.99 }),
    );
  }
  const agent = makeBatchedAgent(env, "adqn", { seeds: Array.from({ length: 20 }, (_, i) => i) });
  const obs = new Float32Array(env.obsSpec.size);
  obs[0] = 1;
  const hidden = agent.initialHidden();
  const requests = Array.from({ length: 20 }, (_, run) => ({ run, hidden, prevAction: -1, obs }));
  Deno.bench(`acting step of K=20 runs, one batched forward (${used})`, { group: "act" }, () => {
    agent.actMany(requests);
  });
}
