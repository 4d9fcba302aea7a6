import assert from "assert";
import { findChromium, launchChromium } from "../../lib/plots/export.ts";
import { startDashboard } from "../../lib/dashboard/server.ts";
import { presetConfig } from "../../lib/experiments/presets.ts";
import { makeDb, point, writePoints } from "./fixture.ts";

/** The page's DOM, as far as the callbacks below use it; they run in Chromium, not in Deno. */
interface PageNode {
  textContent: string | null;
  parentElement: PageNode | null;
}
declare const document: {
  querySelectorAll(selector: string): { length: number };
  querySelector(selector: string): PageNode | null;
  getElementById(id: string): unknown;
};
declare const window: unknown;

const chromium = findChromium();
if (!chromium) {
  console.warn(
    "SKIPPED tests/dashboard/browser_test.ts: Chromium not found at /usr/bin/chromium " +
      "(apt-get install -y --no-install-recommends chromium fonts-liberation, or set CHROMIUM_PATH)",
  );
}

const L = presetConfig("quick", "1c", "dqn", 0).logEvery;

Deno.test({
  name: "dashboard in headless Chromium: table, curves, and live updates without a reload",
  ignore: !chromium,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "dash_browser_" });
    // The writer stays open the whole test, as a running `reproduce` would.
    const { db, ids } = makeDb(`${dir}/results.sqlite`, ["dqn", "adqn"], [0, 1], { lr: 0.0042 });
    const owners = [
      writePoints(db, ids[0], [point(L, 0), point(2 * L, 1)]),
      writePoints(db, ids[1], [point(L, 1), point(2 * L, 0)]),
      writePoints(db, ids[2], [point(L, -1), point(2 * L, -0.5)]),
    ];
    const server = startDashboard({ db: `${dir}/results.sqlite`, port: 0 });
    const browser = await launchChromium(chromium!);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const external: string[] = [];
      page.on("request", (r) => {
        if (!r.url().startsWith(server.url)) external.push(r.url());
      });
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      await page.goto(server.url);
      await page.waitForFunction(() => document.querySelectorAll("#runs tbody tr").length === 4);
      const statuses = await page.$$eval(
        "#runs tbody tr td:nth-child(5)",
        (tds) => tds.map((t) => t.textContent),
      );
      assert.deepEqual(statuses, ["running", "running", "running", "queued"]);
      // The DQN mean as Plotly drew it: seeds (0, 1) then (1, 0) → 0.5 and 0.5.
      const dqnMean = () =>
        page.evaluate(() => {
          const gd = document.getElementById("panel-0") as unknown as {
            data: { name: string; x: number[]; y: number[] }[];
          };
          const t = gd.data.find((d) => d.name.startsWith("DQN ("))!;
          return { x: [...t.x], y: [...t.y] };
        });
      assert.deepEqual(await dqnMean(), { x: [L, 2 * L], y: [0.5, 0.5] });
      assert.match(await page.textContent("#progress") ?? "", /3 running · 1 waiting/);

      // New rows from the writer appear without a reload.
      const updates = await page.evaluate(() =>
        (window as unknown as { dashboard: { updates: number } }).dashboard.updates
      );
      db.upsertMetrics(ids[0], [point(3 * L, 1)], owners[0]);
      db.upsertMetrics(ids[1], [point(3 * L, 0)], owners[1]);
      db.finish(ids[2], owners[2]);
      await page.waitForFunction(
        (n) => (window as unknown as { dashboard: { updates: number } }).dashboard.updates > n,
        updates,
        { timeout: 5000 },
      );
      await page.waitForFunction(() =>
        document.querySelector("#runs tbody tr td:nth-child(5)")?.parentElement?.parentElement
          ?.textContent?.includes("finished")
      );
      assert.deepEqual(await dqnMean(), { x: [L, 2 * L, 3 * L], y: [0.5, 0.5, 0.5] });
      assert.equal(
        await page.textContent(`#runs tbody tr[data-id="${ids[0]}"] td:nth-child(7)`),
        "1.000",
      );
      await page.check("#seeds");
      await page.waitForFunction(() =>
        (document.getElementById("panel-0") as unknown as { data: { name: string }[] }).data
          .filter((d) => / seed \d$/.test(d.name)).length === 4
      );
      const shot = Deno.env.get("DASHBOARD_SCREENSHOT") ?? `${dir}/overview.png`;
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(Deno.statSync(shot).size > 10_000);

      // Filtering and sorting the table.
      await page.fill("#filter", "adqn");
      assert.equal(await page.locator("#runs tbody tr").count(), 2);
      await page.fill("#filter", "");
      await page.click('#runs th[data-key="seed"]');
      await page.click('#runs th[data-key="seed"]');
      const seeds = await page.$$eval(
        "#runs tbody tr td:nth-child(4)",
        (t) => t.map((x) => x.textContent),
      );
      assert.deepEqual(seeds, ["1", "1", "0", "0"]);

      // One run: its four curves and the configuration difference highlighted.
      await page.click(`#runs tbody tr[data-id="${ids[0]}"] a`);
      await page.waitForFunction(() => document.querySelectorAll("#config tr.diff").length > 0);
      assert.equal(new URL(page.url()).pathname, `/run/${ids[0]}`);
      const curves = await page.evaluate(() =>
        ["plot-return", "plot-lossq", "plot-lossu", "plot-epsilon"].map((id) =>
          (document.getElementById(id) as unknown as { data: { y: number[] }[] }).data[0].y
        )
      );
      assert.deepEqual(curves, [[0, 1, 1], [0.25, 0.25, 0.25], [0.125, 0.125, 0.125], [
        0.5,
        0.5,
        0.5,
      ]]);
      const diffRows = await page.$$eval(
        "#config tr.diff td:first-child",
        (t) => t.map((x) => x.textContent),
      );
      assert.deepEqual(diffRows, ["lr"]);
      db.upsertMetrics(ids[0], [point(4 * L, 0.75)], owners[0]);
      await page.waitForFunction(
        () =>
          (document.getElementById("plot-return") as unknown as { data: { y: number[] }[] }).data[0]
            .y.length === 4,
        undefined,
        { timeout: 5000 },
      );
      await page.screenshot({ path: `${dir}/run.png`, fullPage: true });
      assert.deepEqual(external, []);
      assert.deepEqual(pageErrors, []);
    } finally {
      await browser.close();
      await server.shutdown();
      db.close();
    }
    Deno.removeSync(dir, { recursive: true });
  },
});
