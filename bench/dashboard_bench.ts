/**
 * `deno bench -A bench/dashboard_bench.ts`: server time of the dashboard's routes on a database of
 * 500 runs × 200 points (5 panels of Figure 1 × 5 algorithms × 20 seeds), JSON serialisation
 * included: the overview (with and without per-seed lines), the runs table, the polled fingerprint.
 *
 * @module
 */
import { currentOwner, ResultsDb } from "../lib/results/db.ts";
import { FIGURE_ALGOS, FIGURE_IDS, presetConfig } from "../lib/experiments/presets.ts";
import { configHash } from "../lib/train/config.ts";
import { DashboardSource } from "../lib/dashboard/source.ts";
import { dashboardHandler } from "../lib/dashboard/server.ts";

const dir = Deno.makeTempDirSync({ prefix: "dash_bench_" });
const path = `${dir}/results.sqlite`;
const db = ResultsDb.open(path);
const owner = currentOwner();
let k = 0;
for (const figure of FIGURE_IDS) {
  for (const algo of FIGURE_ALGOS) {
    const base = presetConfig("quick", figure, algo, 0);
    for (let seed = 0; seed < 20; seed++) {
      const run = db.ensureRun({
        hash: configHash(base),
        seed,
        config: { ...base, seed },
        label: `quick:${figure}`,
      });
      db.claim({ owner, ids: [run.id] });
      const points = Array.from({ length: 200 }, (_, i) => ({
        envStep: (i + 1) * base.logEvery,
        episodes: i,
        avgReturn: Math.sin(i / 20 + seed + k),
        epsilon: 1 - i / 200,
        lossQ: 1 / (i + 1),
        lossU: 0.5 / (i + 1),
        trainedSteps: i * base.logEvery,
        wallSeconds: i,
      }));
      db.upsertMetrics(run.id, points, owner.id);
      k++;
    }
  }
}
db.close();
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const handle = dashboardHandler(new DashboardSource(path));
const get = async (p: string) => {
  const r = handle(new Request(`http://127.0.0.1/${p}`));
  if (r.status !== 200) throw new Error(`${p}: ${r.status}`);
  return (await r.text()).length;
};
console.log(
  `overview JSON: ${(await get("api/overview")) / 1e3} kB; with seeds ${
    (await get("api/overview?seeds=1")) / 1e3
  } kB; runs ${(await get("api/runs")) / 1e3} kB`,
);

Deno.bench(
  "dashboard /api/overview, 500 runs × 200 points",
  async () => void await get("api/overview"),
);
Deno.bench(
  "dashboard /api/overview?seeds=1 (per-seed lines)",
  async () => void await get("api/overview?seeds=1"),
);
Deno.bench("dashboard /api/runs, 500 runs", async () => void await get("api/runs"));
Deno.bench("dashboard /api/state (polled)", async () => void await get("api/state"));
Deno.bench("dashboard /api/run/<id>, 200 points", async () => void await get("api/run/250"));
