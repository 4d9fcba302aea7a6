/**
 * The package's surface: what each entry point loads, what the root exports, and how big the
 * upload to JSR is.
 */
import assert from "assert";
import { join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const denoJson = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));

/** JSR's limit on a package version's total size. */
const JSR_LIMIT_BYTES = 20 * 1000 * 1000;

/** Heavy dependencies, as they appear in module specifiers. */
const HEAVY = ["@tensorflow/", "plotly", "playwright", "node:sqlite"];

/** Every module specifier in the static import graph of `entry` (as `deno info` resolves it). */
async function moduleGraph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const specifiers: string[] = info.modules.map((m: { specifier: string }) => m.specifier);
  // deno info lists npm packages under "npmPackages" and node: built-ins as dependencies.
  for (const m of info.modules as { dependencies?: { specifier: string }[] }[]) {
    for (const d of m.dependencies ?? []) specifiers.push(d.specifier);
  }
  return specifiers;
}

for (const sub of ["./envs", "./pomdp", "./solvers"]) {
  Deno.test(`importing ${sub} loads no tfjs, Plotly, playwright or SQLite`, async () => {
    const graph = await moduleGraph(denoJson.exports[sub]);
    assert.ok(graph.some((s) => s.endsWith(denoJson.exports[sub].slice(1))), "graph has its entry");
    const heavy = graph.filter((s) => HEAVY.some((h) => s.includes(h)));
    assert.deepEqual(heavy, [], `${sub} pulls in ${heavy.join(", ")}`);
  });
}

Deno.test("the import-graph check sees heavy dependencies where they are (./losses, ./results)", async () => {
  assert.ok(
    (await moduleGraph(denoJson.exports["./losses"])).some((s) => s.includes("@tensorflow/")),
  );
  assert.ok((await moduleGraph(denoJson.exports["./results"])).some((s) => s === "node:sqlite"));
});

Deno.test("the root exports a curated surface: the losses, not the internals", async () => {
  const root = await import("../../mod.ts");
  const names = Object.keys(root);
  assert.ok(names.length <= 150, `${names.length} runtime exports in mod.ts (aim: ≤ 150)`);
  for (const name of ["dqnLoss", "adqnLoss", "adqnVrLoss", "adqnStateLoss", "adqnStateVrLoss"]) {
    assert.ok(names.includes(name), `mod.ts does not export ${name}`);
  }
  for (const name of ["makeEnv", "makeRng", "buildHistoryTree", "initBackend", "train"]) {
    assert.ok(names.includes(name), `mod.ts does not export ${name}`);
  }
  for (const name of ["UPSERT_METRIC_SQL", "processAlive", "CHROMIUM_FLAGS", "runNotebook"]) {
    assert.ok(!names.includes(name), `mod.ts exports the internal ${name}`);
  }
});

Deno.test("deno.json exports one subpath per concern, each a barrel that exists", async () => {
  const want = [".", "./envs", "./pomdp", "./solvers", "./nn", "./models", "./losses", "./train"]
    .concat(["./results", "./experiments", "./plots"]);
  assert.deepEqual(Object.keys(denoJson.exports).sort(), want.sort());
  for (const path of Object.values(denoJson.exports) as string[]) {
    assert.ok((await Deno.stat(join(ROOT, path))).isFile, path);
  }
});

Deno.test("the files deno publish would upload stay under JSR's 20 MB", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  const files = [...text.matchAll(/^\s+(file:\/\/\S+) \(([\d.]+)(B|KB|MB|GB)\)$/gm)];
  assert.ok(files.length > 10, `no file list in deno publish's output:\n${text}`);
  let total = 0;
  for (const [, url] of files) {
    const path = decodeURIComponent(new URL(url).pathname);
    total += (await Deno.stat(path)).size; // exact bytes, not the rounded display
    const rel = path.slice(ROOT.length + 1);
    for (const dir of ["tests/", "bench/", "notebooks/", "data/", ".ci/", "node_modules/"]) {
      assert.ok(!rel.startsWith(dir), `deno publish would upload ${rel}`);
    }
  }
  console.log(`deno publish would upload ${files.length} files, ${(total / 1e6).toFixed(2)} MB`);
  assert.ok(total <= JSR_LIMIT_BYTES, `package is ${total} bytes, over JSR's ${JSR_LIMIT_BYTES}`);
});
