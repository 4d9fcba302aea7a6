import assert from "assert";
import { startDashboard } from "../../lib/dashboard/server.ts";
import { configDiff, parseLabel } from "../../lib/dashboard/views.ts";
import { makeDb, point, writePoints } from "./fixture.ts";
import { presetConfig } from "../../lib/experiments/presets.ts";

/** The logging period of the fixture runs: the curves are aligned on its multiples. */
const L = presetConfig("quick", "1c", "dqn", 0).logEvery;

function listing(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/** Send a raw HTTP request line (fetch would normalise "..") and return the status code. */
async function rawStatus(url: string, target: string): Promise<number> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(
      new TextEncoder().encode(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    const buf = new Uint8Array(256);
    const n = await conn.read(buf);
    const line = new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
    return Number(line.split(" ")[1]);
  } finally {
    conn.close();
  }
}

/** A closed database with 2 algorithms × 2 seeds of panel quick:1c and points on 3 runs. */
function fixture() {
  const dir = Deno.makeTempDirSync({ prefix: "dash_" });
  const path = `${dir}/results.sqlite`;
  const { db, ids } = makeDb(path, ["dqn", "adqn"], [0, 1], { lr: 0.123 });
  writePoints(db, ids[0], [point(L, 0), point(2 * L, 1)]);
  writePoints(db, ids[1], [point(L, 1), point(2 * L, 0)]);
  writePoints(db, ids[2], [point(L, 0.5)]);
  db.fail(ids[2], db.getRun(ids[2])!.owner!, "boom");
  db.close();
  return { dir, path, ids };
}

Deno.test("dashboard HTTP: every route, bad inputs, and the database left byte for byte unchanged", async () => {
  const { dir, path, ids } = fixture();
  const bytes = Deno.readFileSync(path);
  const before = listing(dir);
  assert.deepEqual(before, ["results.sqlite"]);
  const d = startDashboard({ db: path, port: 0 });
  try {
    const get = async (p: string) => {
      const r = await fetch(d.url + p);
      return { status: r.status, type: r.headers.get("content-type") ?? "", text: await r.text() };
    };
    // pages and assets
    for (
      const [p, type, marker] of [
        ["", "text/html", 'data-page="overview"'],
        [`run/${ids[0]}`, "text/html", 'data-page="run"'],
        ["assets/app.js", "text/javascript", "window.dashboard"],
        ["assets/style.css", "text/css", "border-collapse"],
        ["assets/plotly.min.js", "text/javascript", "plotly.js"],
      ]
    ) {
      const r = await get(p);
      assert.equal(r.status, 200, p);
      assert.ok(r.type.startsWith(type), `${p}: ${r.type}`);
      assert.ok(r.text.includes(marker), `${p} lacks ${marker}`);
    }
    // the page loads nothing from elsewhere (offline)
    assert.ok(!/https?:\/\//.test((await get("")).text));

    const runs = JSON.parse((await get("api/runs")).text).runs;
    assert.deepEqual(runs.map((r: { id: number }) => r.id), ids);
    assert.deepEqual(
      runs.map((r: { status: string }) => r.status),
      ["running", "running", "failed", "queued"],
    );
    assert.equal(runs[0].lastReturn, 1);
    assert.equal(runs[2].error, "boom");
    assert.equal(runs[3].lastReturn, null);

    const ov = JSON.parse((await get("api/overview")).text);
    assert.deepEqual(ov.progress, {
      finished: 0,
      running: 2,
      waiting: 1,
      failed: 1,
      stepsDone: 2 * L + 2 * L + L,
      stepsTotal: 4 * runs[0].totalSteps,
      rate: null,
      etaMs: null,
    });
    assert.equal(ov.panels.length, 1);
    assert.equal(ov.panels[0].key, "quick:1c");
    // DQN seeds 0 and 1: returns (0, 1) at step L and (1, 0) at step 2L → mean 0.5, SE 0.5
    const mean = ov.panels[0].figure.data.find((t: { name: string }) => t.name.startsWith("DQN ("));
    assert.deepEqual(mean.x, [L, 2 * L]);
    assert.deepEqual(mean.y, [0.5, 0.5]);
    assert.deepEqual(mean.customdata.map((c: number[]) => c[0]), [0.5, 0.5]);
    const seeds = JSON.parse((await get("api/overview?seeds=1")).text).panels[0].figure.data
      .filter((t: { name: string }) => / seed \d$/.test(t.name));
    assert.equal(seeds.length, 4);
    assert.deepEqual(seeds[0].y, [0, 1]);

    const one = JSON.parse((await get(`api/run/${ids[0]}`)).text);
    assert.equal(one.run.id, ids[0]);
    assert.deepEqual(one.series.envStep, [L, 2 * L]);
    assert.deepEqual(one.series.avgReturn, [0, 1]);
    assert.deepEqual(one.series.lossQ, [0.25, 0.25]);
    assert.deepEqual(one.series.lossU, [0.125, 0.125]);
    assert.deepEqual(one.series.epsilon, [0.5, 0.5]);
    assert.equal(one.preset, "quick:1c");
    assert.deepEqual(one.diff.map((x: { key: string }) => x.key), ["lr"]);
    assert.equal(one.diff[0].value, 0.123);
    assert.equal(typeof JSON.parse((await get("api/state")).text).fingerprint, "string");

    // bad inputs: 4xx with a message, never a crash
    for (
      const [p, status] of [
        ["api/run/999", 404],
        ["api/run/abc", 404],
        ["api/run/-1", 404],
        ["api/run/1e3", 404],
        ["api/run/99999999999999999999", 404],
        ["run/0", 404],
        ["api/overview?seeds=2", 400],
        ["api/overview?seeds=1;DROP%20TABLE%20runs", 400],
        ["api/runs?sql=SELECT%201", 400],
        ["?%zz=%%", 400],
        ["api/overview?path=/etc/passwd", 400],
        ["assets/", 404],
        ["assets/..%2f..%2fdeno.json", 404],
        ["assets/%2e%2e/%2e%2e/deno.json", 404],
        ["nope", 404],
      ] as const
    ) {
      const r = await get(p);
      assert.equal(r.status, status, `${p}: ${r.status} ${r.text}`);
      assert.ok(JSON.parse(r.text).error, p);
    }
    for (
      const target of ["/assets/../../deno.json", "/../../../etc/passwd", "/assets/../deno.json"]
    ) {
      assert.equal(await rawStatus(d.url, target), 404, target);
    }
    const post = await fetch(d.url + "api/runs", { method: "POST", body: "x" });
    await post.body?.cancel();
    assert.equal(post.status, 405);
    assert.equal(
      (await fetch(d.url, { method: "DELETE" }).then((r) => r.text().then(() => r))).status,
      405,
    );
  } finally {
    await d.shutdown();
  }
  assert.deepEqual(Deno.readFileSync(path), bytes);
  assert.deepEqual(listing(dir), before);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("dashboard: refuses a file that is not a results database and warns off loopback", () => {
  const dir = Deno.makeTempDirSync({ prefix: "dash_" });
  Deno.writeTextFileSync(`${dir}/x.sqlite`, "not sqlite");
  assert.throws(() => startDashboard({ db: `${dir}/x.sqlite`, port: 0 }), /not a results database/);
  assert.throws(() => startDashboard({ db: `${dir}/none.sqlite`, port: 0 }), /does not exist/);
  assert.equal(Deno.readTextFileSync(`${dir}/x.sqlite`), "not sqlite");
  const { path } = fixture();
  const warnings: string[] = [];
  const d = startDashboard({ db: path, port: 0, host: "0.0.0.0", warn: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /0\.0\.0\.0, not 127\.0\.0\.1/);
  const quiet: string[] = [];
  const l = startDashboard({ db: path, port: 0, warn: (m) => quiet.push(m) });
  assert.match(l.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.deepEqual(quiet, []);
  return Promise.all([d.shutdown(), l.shutdown()]).then(() => {});
});

Deno.test("dashboard views: labels and configuration differences", () => {
  assert.deepEqual(parseLabel("quick:1c"), { preset: "quick", figure: "1c" });
  assert.equal(parseLabel("quick:1z"), undefined);
  assert.equal(parseLabel(""), undefined);
  assert.equal(parseLabel("paper:1a:x"), undefined);
  assert.deepEqual(
    configDiff({ a: 1, m: { h: 2, k: [1] }, extra: true }, { a: 1, m: { h: 3, k: [1] } }),
    [{ key: "extra", value: true, preset: null }, { key: "m.h", value: 2, preset: 3 }],
  );
});

Deno.test("dashboard beside an open writer: creates no file, never blocks it, sees its writes", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dash_" });
  const path = `${dir}/results.sqlite`;
  // busy timeout 0: a write that met a lock held by the dashboard would throw SQLITE_BUSY
  const { db, ids } = makeDb(path, ["dqn"], [0], {}, 0);
  const owner = writePoints(db, ids[0], [point(L, 0.25)]);
  const before = listing(dir);
  assert.deepEqual(before, ["results.sqlite", "results.sqlite-shm", "results.sqlite-wal"]);
  const d = startDashboard({ db: path, port: 0 });
  try {
    const last = async () =>
      (await (await fetch(d.url + "api/runs")).json()).runs[0].lastReturn as number;
    assert.equal(await last(), 0.25);
    for (let i = 2; i <= 6; i++) {
      // each write commits at once while the dashboard keeps reading
      db.upsertMetrics(ids[0], [point(i * L, i / 10)], owner);
      assert.equal(await last(), i / 10);
    }
    assert.deepEqual(listing(dir), before);
  } finally {
    await d.shutdown();
    db.close();
  }
  Deno.removeSync(dir, { recursive: true });
});
