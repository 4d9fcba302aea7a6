/**
 * `deno task bench [--env heaven-hell-3] [--algo adqn] [--backend auto] [--cpu] [--seconds 3]
 * [--batch 32] [--json]`: measure the speed of the tensor side on this machine: training steps per
 * second on one 100-step episode (B = 1) and on a batch of 32 such episodes, and acting steps per
 * second (one GRU step + Q head), for one environment's real model preset. `--cpu` adds the pure
 * JavaScript `cpu` backend for reference (slow: a B = 32 step takes tens of seconds there).
 *
 * Targets (shared/spec/platform.md, wasm): ≥ 10 train steps/s at B = 1, about 1/s at B = 32,
 * ≥ 4000 acting steps/s.
 *
 * `deno task bench --compare [--seconds 3] [--rounds 1] [--python /usr/bin/python3] [--no-torch]
 * [--json]`:
 * the Heaven-Hell-3 ADQN workloads side by side with PyTorch (bench/torch_workload.py, 1 and 2
 * threads) in one invocation; see lib/bench/compare.ts.
 *
 * @module
 */
import { ENV_IDS, makeEnv } from "../lib/envs/mod.ts";
import { makeAgent } from "../lib/models/batched_agent.ts";
import { BACKEND_NAMES, type BackendName, initBackend } from "../lib/nn/backend.ts";
import { ALGO_IDS, type AlgoId, checkAlgoId } from "../lib/train/agent.ts";
import { benchEpisode, formatComparison, timeIt } from "../lib/bench/compare.ts";
import { runComparison } from "../lib/bench/ours.ts";
import { parseTaskArgs } from "./args.ts";

export { benchEpisode, timeIt };

/** One row of the benchmark table. */
export interface BenchRow {
  /** What was measured. */
  what: string;
  /** Backend in use. */
  backend: string;
  /** Steps (gradient steps or acting steps) per second. */
  perSecond: number;
  /** Iterations timed. */
  iterations: number;
  /** The platform.md target, as text. */
  target: string;
}

/** Measure one backend (which must already be initialised). */
export function benchBackend(
  backend: string,
  envId: string,
  algo: AlgoId,
  options: { seconds: number; batch: number },
): BenchRow[] {
  const env = makeEnv(envId);
  const agent = makeAgent(env, algo, { seed: 0 });
  const rows: BenchRow[] = [];
  try {
    const one = [benchEpisode(env, 1, 100)];
    const many = Array.from({ length: options.batch }, (_, i) => benchEpisode(env, 100 + i, 100));
    const train1 = timeIt(() => agent.trainStep(one, { gamma: 0.99 }), options.seconds);
    rows.push({ what: "train, B=1 × 100 steps", backend, ...train1, target: "≥ 10/s" });
    const trainB = timeIt(() => agent.trainStep(many, { gamma: 0.99 }), options.seconds);
    rows.push({
      what: `train, B=${options.batch} × 100 steps`,
      backend,
      ...trainB,
      target: options.batch === 32 ? "≈ 1/s" : "-",
    });
    const ow = env.obsSpec.size;
    let h = agent.initialHidden();
    let t = 0;
    const act = timeIt(() => {
      for (let i = 0; i < 100; i++, t = (t + 1) % 100) {
        h = agent.act(
          h,
          t === 0 ? -1 : one[0].actions[t - 1],
          one[0].obs.subarray(t * ow, (t + 1) * ow),
        )
          .hidden;
      }
    }, options.seconds);
    rows.push({
      what: "act (GRU step + Q head)",
      backend,
      perSecond: act.perSecond * 100,
      iterations: act.iterations * 100,
      target: "≥ 4000/s",
    });
  } finally {
    agent.dispose();
  }
  return rows;
}

/** Format rows as a Markdown table. */
export function formatTable(rows: BenchRow[]): string {
  const lines = [
    "| measurement | backend | steps/s | timed | target |",
    "|---|---|---:|---:|---|",
  ];
  for (const r of rows) {
    const v = r.perSecond >= 100 ? r.perSecond.toFixed(0) : r.perSecond.toFixed(2);
    lines.push(`| ${r.what} | ${r.backend} | ${v} | ${r.iterations} | ${r.target} |`);
  }
  return lines.join("\n");
}

const USAGE = `usage: deno task bench [--env ID] [--algo ALGO] [--backend NAME] [--cpu]
  [--seconds S] [--batch B] [--json]
       deno task bench --compare [--seconds S] [--rounds N] [--python PATH] [--no-torch]
       [--json]
  --env      environment whose model preset is timed (default heaven-hell-3; ${ENV_IDS.join(", ")})
  --algo     algorithm (default adqn; ${ALGO_IDS.join(", ")})
  --backend  main backend (default auto; ${BACKEND_NAMES.join(", ")})
  --cpu      also time the pure-JavaScript cpu backend for reference (slow)
  --seconds  minimum seconds per measurement after one warm-up run (default 3)
  --batch    episodes in the batched measurement (default 32)
  --json     print JSON instead of a table
  --compare  Heaven-Hell-3 ADQN side by side with PyTorch (bench/torch_workload.py, 1 and 2
             threads): single run, B=32, K=8 and K=20 batched runs, acting; backends auto and wasm
  --python   Python with PyTorch for --compare (default /usr/bin/python3; Debian python3-torch)
  --no-torch --compare without the PyTorch columns
  --rounds   --compare: measure everything N times, keep each cell's best round (default 1)`;

if (import.meta.main) {
  const values = parseTaskArgs({
    env: { type: "string", default: "heaven-hell-3" },
    algo: { type: "string", default: "adqn" },
    backend: { type: "string", default: "auto" },
    cpu: { type: "boolean", default: false },
    seconds: { type: "string", default: "3" },
    batch: { type: "string", default: "32" },
    json: { type: "boolean", default: false },
    compare: { type: "boolean", default: false },
    python: { type: "string", default: "/usr/bin/python3" },
    "no-torch": { type: "boolean", default: false },
    rounds: { type: "string", default: "1" },
  }, USAGE);
  const seconds = Number(values.seconds), batch = Number(values.batch);
  if (!(seconds > 0) || !Number.isInteger(batch) || batch < 1) {
    console.error(`error: --seconds must be positive and --batch a positive integer\n${USAGE}`);
    Deno.exit(2);
  }
  if (values.compare) {
    const rounds = Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1) {
      console.error(`error: --rounds must be a positive integer, got "${values.rounds}"\n${USAGE}`);
      Deno.exit(2);
    }
    const result = await runComparison({
      seconds,
      torchThreads: values["no-torch"] ? [] : [1, 2],
      python: values.python,
      rounds,
      log: (line) => console.error(line),
    });
    console.log(values.json ? JSON.stringify(result, null, 2) : formatComparison(result));
    Deno.exit(0);
  }
  let algo: AlgoId;
  try {
    algo = checkAlgoId(values.algo);
    makeEnv(values.env);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(2);
  }
  const backends = [values.backend, ...(values.cpu && values.backend !== "cpu" ? ["cpu"] : [])];
  const rows: BenchRow[] = [];
  for (const b of backends) {
    const used = await initBackend(b as BackendName);
    if (!values.json) console.error(`timing ${values.env} / ${algo} on ${used}...`);
    rows.push(...benchBackend(used, values.env, algo, { seconds, batch }));
  }
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2));
  } else {
    console.log(
      `${values.env}, ${algo}, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, ` +
        `load average ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`,
    );
    console.log(formatTable(rows));
  }
}
