// The campaign's published raw data (lib/experiments/campaign_publish.ts) on fixture databases built
// through the real results API (./campaign_fixture.ts): the files, their values by hand, the same
// bytes from the same database, and the `snapshot` / `publish` commands.
import assert from "assert";
import { existsSync } from "../../lib/files.ts";
import { campaignFiles } from "../../lib/experiments/campaign.ts";
import { loadCampaignFile } from "../../lib/experiments/campaign_data.ts";
import {
  CAMPAIGN_CSV_COLUMNS,
  campaignReadme,
  publishCampaign,
  PUBLISHED_FILES,
} from "../../lib/experiments/campaign_publish.ts";
import {
  buildCampaignDb,
  completeCampaign,
  FIXTURE_COMMIT,
  fixtureStart,
  partialCampaign,
  repeat,
  runCampaignTask,
} from "./campaign_fixture.ts";

function csvLines(path: string): string[][] {
  const text = Deno.readTextFileSync(path);
  assert.ok(text.endsWith("\r\n"), "CRLF line ends");
  return text.slice(0, -2).split("\r\n").map((l) => l.split(","));
}

Deno.test("publishCampaign: per-seed CSV per panel, selection CSV and README beside the database", () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-publish-" });
  try {
    const db = `${dir}/results.sqlite`;
    buildCampaignDb(db, partialCampaign());
    const written = publishCampaign(db);
    assert.deepEqual(written, Object.values(PUBLISHED_FILES).map((f) => `${dir}/${f}`));
    // Stage 0: 12 + 12 + 15 + 3 + 2 points of the 5 started runs; 1a and 1b: header only.
    const sel = csvLines(`${dir}/${PUBLISHED_FILES.selectionRuns}`);
    assert.deepEqual(sel[0], [...CAMPAIGN_CSV_COLUMNS]);
    assert.equal(sel.length - 1, 12 + 12 + 15 + 3 + 2);
    for (const f of [PUBLISHED_FILES.fig1a, PUBLISHED_FILES.fig1b]) {
      assert.deepEqual(csvLines(`${dir}/${f}`), [[...CAMPAIGN_CSV_COLUMNS]]);
    }
    // The running ADQN-VR run's 2nd point (i = 1, return 0.2): shares 0.8·1.2/2 and 0.8·0.8/2,
    // length 51, a greedy evaluation (odd i) of return 0.2 and length 20.
    const col = (name: string) => CAMPAIGN_CSV_COLUMNS.indexOf(name);
    const vr = sel.filter((l) => l[col("algo")] === "adqn-vr");
    assert.equal(vr.length, 3);
    const p = vr[1];
    assert.deepEqual(
      ["stage", "figure", "env", "lr", "time_limit", "seed", "status", "env_step", "avg_return"]
        .map((c) => p[col(c)]),
      ["0", "1a", "heaven-hell-3", "0.0001", "100", "1000", "running", "200000", "0.2"],
    );
    assert.equal(Number(p[col("share_positive")]), 0.8 * 1.2 / 2);
    assert.equal(Number(p[col("share_negative")]), 0.8 * 0.8 / 2);
    assert.deepEqual(
      ["share_zero", "share_truncated", "avg_length", "eval_return", "eval_length"].map((c) =>
        p[col(c)]
      ),
      ["0", "0.2", "51", "0.2", "20"],
    );
    // Points without an evaluation (even i) have empty evaluation fields.
    assert.deepEqual([vr[0][col("eval_return")], vr[0][col("eval_length")]], ["", ""]);
    // The selection table so far: ADQN's (3e-4, 100) has 1 of 2 seeds, a mean of 0.9.
    const table = csvLines(`${dir}/${PUBLISHED_FILES.selection}`);
    assert.equal(table.length - 1, 20);
    const adqn = table.find((l) => l[0] === "adqn" && l[1] === "0.0003" && l[2] === "100")!;
    assert.ok(Math.abs(Number(adqn[3]) - 0.9) < 1e-12, adqn[3]); // full precision: 0.9 + 1 ulp
    assert.deepEqual(adqn.slice(4), ["1", "2", "no"]);
    assert.deepEqual(table.find((l) => l[0] === "dqn" && l[2] === "1000" && l[1] === "0.0001"), [
      "dqn",
      "0.0001",
      "1000",
      "", // the released run is not finished
      "0",
      "2",
      "no",
    ]);
    const readme = Deno.readTextFileSync(`${dir}/README.md`);
    for (
      const text of [
        "deno task campaign start",
        "deno task campaign status",
        "deno task campaign stop",
        "deno task campaign snapshot",
        `code version (git commit of the runs' last claims): ${FIXTURE_COMMIT} (5 runs)`,
        "backend: wasm-blas (5 runs)",
        "machine: Fixture CPU @ 3.0GHz, 2 cores (5 runs)",
        // 3 finished, 1 running, 2 queued + 34 not registered, 6.5M of 80M steps, 2640 s.
        `| 0: selection on Heaven-Hell-3 | 3/40 | 1 | 36 | 0 | 6,500,000/80,000,000 | 0.7 h | ` +
        `${new Date(fixtureStart(0)).toISOString()} |`,
        "| 1: panels 1a, 1b | 0/50 | 0 | 50 | 0 | 0/100,000,000 | 0.0 h | — | — |",
        // ADQN's complete cell (1e-4, 1000) is above 0.5: the gate is decided before stage 0 ends.
        "Gate: open: adqn at lr 0.0001, time limit 1000 reached a final return of 0.750 (above " +
        "0.5); stage 1 starts once stage 0 has selected every algorithm's setting.",
        "| adqn | 0.0001 | 1000 | 0.750 | 2/2 |  |",
        "| adqn | 0.0003 | 100 | 0.900 | 1/2 |  |",
        "| dqn | 0.0001 | 1000 | n/a | 0/2 |  |",
        "Every run has the protocol's budget: 2,000,000 environment steps.",
        "- stage 0, 1a, adqn-vr, lr 0.0001, time limit 100, seed 1000: 300,000/2,000,000 steps " +
        "(running, 1 attempt)",
        "Heaven-Hell-4 uses the setting selected on Heaven-Hell-3.",
      ]
    ) assert.ok(readme.includes(text), `README lacks: ${text}\n${readme}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("publishCampaign: the same database gives the same bytes; reduced budgets are named", () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-publish-same-" });
  try {
    const runs = completeCampaign();
    // Two runs of a reduced budget outside the stages (another label): named in the README.
    runs.push(
      { ...runs[0], label: "quick:1a", totalSteps: 2_000, returns: repeat(0, 2) },
      { ...runs[0], label: "quick:1a", seed: 3, totalSteps: 2_000, returns: repeat(0, 2) },
    );
    Deno.mkdirSync(`${dir}/a`);
    Deno.mkdirSync(`${dir}/b`);
    buildCampaignDb(`${dir}/a/results.sqlite`, runs);
    Deno.copyFileSync(`${dir}/a/results.sqlite`, `${dir}/b/results.sqlite`);
    const first = publishCampaign(`${dir}/a/results.sqlite`).map((p) => Deno.readFileSync(p));
    const again = publishCampaign(`${dir}/a/results.sqlite`).map((p) => Deno.readFileSync(p));
    const copy = publishCampaign(`${dir}/b/results.sqlite`).map((p) => Deno.readFileSync(p));
    assert.deepEqual(again, first);
    assert.deepEqual(copy, first, "a copy of the database elsewhere gives the same files");
    const readme = new TextDecoder().decode(first[0]);
    assert.match(
      readme,
      /\*\*Reduced budget\*\*: 2 of 92 runs do not have the protocol's 2,000,000/,
    );
    assert.ok(readme.includes("- quick:1a: 2 runs of 2,000 steps\n"));
    assert.ok(
      readme.includes("outside the two stages (not counted above): 2\n\n- quick:1a: 2 runs"),
    );
    assert.match(
      readme,
      /Gate: open: adqn(-vr)? at lr [0-9.]+, time limit \d+ reached a final return of [0-9.]+ \(above 0\.5\); stage 1 runs at the selected settings\./,
    );
    assert.ok(readme.includes("| adqn | 0.0003 | 100 | 0.950 | 2/2 | yes |"));
    assert.ok(readme.includes("## Unfinished runs\n\nNone."));
    // 25 runs × 10 points per panel; the other runs are in no file.
    assert.equal(csvLines(`${dir}/a/${PUBLISHED_FILES.fig1a}`).length - 1, 250);
    assert.equal(csvLines(`${dir}/a/${PUBLISHED_FILES.fig1b}`).length - 1, 250);
    assert.equal(csvLines(`${dir}/a/${PUBLISHED_FILES.selectionRuns}`).length - 1, 400);
    assert.equal(readme, campaignReadme(loadCampaignFile(`${dir}/a/results.sqlite`)));
    assert.throws(
      () => publishCampaign(`${dir}/none.sqlite`),
      /no campaign snapshot .*none\.sqlite/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("`deno task campaign snapshot` publishes beside the snapshot; `publish` rewrites from it", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-publish-cli-" });
  const run = runCampaignTask;
  try {
    buildCampaignDb(campaignFiles(dir).db, partialCampaign());
    const to = `${dir}/published/results.sqlite`;
    const snap = await run("snapshot", "--dir", dir, "--to", to);
    assert.equal(snap.code, 0, snap.err);
    for (const f of Object.values(PUBLISHED_FILES)) {
      assert.ok(existsSync(`${dir}/published/${f}`), f);
      assert.ok(snap.out.includes(`wrote ${dir}/published/${f}`), snap.out);
    }
    const readme = Deno.readTextFileSync(`${dir}/published/README.md`);
    assert.equal(readme, campaignReadme(loadCampaignFile(campaignFiles(dir).db)));
    Deno.removeSync(`${dir}/published/README.md`);
    const pub = await run("publish", "--to", to);
    assert.equal(pub.code, 0, pub.err);
    assert.equal(Deno.readTextFileSync(`${dir}/published/README.md`), readme);
    const missing = await run("publish", "--to", `${dir}/nothing/results.sqlite`);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no campaign snapshot .*nothing\/results\.sqlite/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
