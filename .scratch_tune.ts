import { join } from "node:path";
import { initBackend } from "./lib/nn/backend.ts";
import { type AlgoId, resolveTrainConfig, train } from "./lib/train/mod.ts";
const src = await Deno.readTextFile("tests/train/learning_test.ts");
const fn = src.slice(src.indexOf("function tmaze"), src.indexOf("const SMALL_MODEL"));
const tmaze = new Function("hall", fn.replace(/^function tmaze\(hall: number\): string \{/, "").replace(/\}\s*$/, "").replace(/: string/g, "").replace(/\(_, i\)/g, "(_, i)")) as (h: number) => string;
await initBackend();
const hall = Number(Deno.args[0] ?? 2);
const dir = await Deno.makeTempDir();
const path = join(dir, "t.pomdp");
await Deno.writeTextFile(path, tmaze(hall));
const over = JSON.parse(Deno.args[2] ?? "{}");
const seeds = (Deno.args[3] ?? "0").split(",").map(Number);
for (const algo of (Deno.args[1] ?? "dqn,adqn").split(",") as AlgoId[]) for (const seed of seeds) {
  const config = resolveTrainConfig({
    env: `pomdp:${path}`, algo, seed, totalSteps: 6000, timeLimit: 12, prepopulateSteps: 300,
    replayRatio: 4, episodesPerBatch: 4, epsilonDecaySteps: 2500, epsilonEnd: 0.05,
    targetUpdateSteps: 200, logEvery: 500, lr: 1e-3,
    model: { actionEmbedding: 8, obsEmbedding: 8, stateEmbedding: 8, gruHidden: 16, headHidden: [32] },
    ...over,
  });
  const t = performance.now();
  const r = await train(config);
  console.log(algo, seed, ((performance.now() - t) / 1000).toFixed(1) + "s", r.metrics.map((p) => p.avgReturn.toFixed(2)).join(" "), "eps", r.metrics.at(-1)!.epsilon.toFixed(2), "grad", r.metrics.at(-1)!.trainedSteps);
}
