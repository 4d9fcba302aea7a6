// The dashboard on the Figure 1 campaign's database while its writer is open: it reads it
// read-only (no file created, the writer never blocked), shows each stage-0 grid cell as a panel
// of its own (never averaged with the other cells or with stage 1), and the runs' lr and time limit.
import assert from "assert";
import { startDashboard } from "../../lib/dashboard/server.ts";
import { ResultsDb } from "../../lib/results/db.ts";
import {
  buildCampaignDb,
  FIXTURE_LOG_EVERY as L,
  fixturePoint,
  partialCampaign,
} from "../experiments/campaign_fixture.ts";

Deno.test("dashboard on a live campaign database: one panel per stage-0 cell, stage 1 apart, read-only", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dash_campaign_" });
  const path = `${dir}/campaign.sqlite`;
  buildCampaignDb(path, [
    ...partialCampaign(),
    // Stage 1 has started: ADQN on 1a seed 0 at the cell it will be selected at.
    {
      figure: "1a",
      algo: "adqn",
      lr: 3e-4,
      timeLimit: 100,
      seed: 0,
      status: "running",
      returns: [0.6],
    },
  ]);
  // The campaign's writer keeps the database open (WAL files beside it), busy timeout 0.
  const writer = ResultsDb.open(path, { busyTimeoutMs: 0 });
  const listing = () => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  writer.listRuns();
  const before = listing();
  const d = startDashboard({ db: path, port: 0 });
  try {
    const get = async (p: string) => await (await fetch(d.url + p)).json();
    const ov = await get("api/overview");
    assert.deepEqual(ov.panels.map((p: { key: string }) => p.key), [
      "paper:1a",
      "paper:1a stage 0: lr 0.0001, time limit 100",
      "paper:1a stage 0: lr 0.0001, time limit 1000",
      "paper:1a stage 0: lr 0.0003, time limit 100",
      "paper:1a stage 0: lr 0.0003, time limit 1000",
    ]);
    type Trace = { name: string; x: number[]; y: number[]; customdata: number[][] };
    const traces = (key: string) =>
      ov.panels.find((p: { key: string }) => p.key === key).figure.data as Trace[];
    // Stage 1: ADQN's one run only, not the stage-0 runs of the same configuration.
    const s1 = traces("paper:1a").find((t) => t.name.startsWith("ADQN ("))!;
    assert.equal(s1.name, "ADQN (1 run)");
    assert.deepEqual([s1.x, s1.y], [[L], [0.6]]);
    // Cell (1e-4, 1000): ADQN seeds 1000 (returns 0, 0, 0.5...) and 1001 (1, 1, ...): at step L
    // the mean 0.5 with SE 0.5; DQN's released run (0.4, 0.4) apart.
    const cell = traces("paper:1a stage 0: lr 0.0001, time limit 1000");
    const adqn = cell.find((t) => t.name === "ADQN (2 runs)")!;
    assert.deepEqual([adqn.x[0], adqn.y[0], adqn.customdata[0][0]], [L, 0.5, 0.5]);
    assert.deepEqual(cell.find((t) => t.name === "DQN (1 run)")!.y, [0.4, 0.4]);
    const title = ov.panels[1].figure.layout.title.text as string;
    assert.match(title, /preset paper \(campaign stage 0, lr 0\.0001, time limit 100\), 1 seed/);
    const runs = (await get("api/runs")).runs as { lr: number; timeLimit: number }[];
    assert.deepEqual(runs.slice(0, 3).map((r) => [r.lr, r.timeLimit]), [
      [1e-4, 1000],
      [1e-4, 1000],
      [3e-4, 100],
    ]);
    // A point the writer adds now shows on the next request.
    const running = writer.listRuns({ status: "running" }).find((r) => r.seed === 0)!;
    writer.upsertMetrics(running.id, [fixturePoint(1, 0.8)], running.owner!);
    const again = (await get("api/overview")).panels[0].figure.data as Trace[];
    assert.deepEqual(again.find((t) => t.name.startsWith("ADQN ("))!.y, [0.6, 0.8]);
    assert.deepEqual(listing(), before, "the dashboard creates no file");
  } finally {
    await d.shutdown();
    writer.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
