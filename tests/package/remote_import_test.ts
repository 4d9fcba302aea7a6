/**
 * The package as a user gets it from JSR: served over HTTP on 127.0.0.1 (only the files that
 * `deno publish` would upload; everything in `publish.exclude` answers 404), imported from a
 * separate temporary project with its own deno.json, never from this checkout's `file:` URLs.
 */
import assert from "assert";
import { join, relative } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const denoJson = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
const SUBPATHS: string[] = Object.keys(denoJson.exports);
const EXCLUDED: string[] = denoJson.publish.exclude;

/** Whether `deno publish` leaves `rel` (a path relative to the repository) out. */
function excluded(rel: string): boolean {
  return EXCLUDED.some((e) => e.endsWith("/") ? rel.startsWith(e) : rel === e) ||
    rel.startsWith(".git/");
}

/** Serve the repository's publishable files; returns the base URL and a stop function. */
function servePackage(): { base: string; served: Set<string>; stop: () => Promise<void> } {
  const served = new Set<string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const rel = decodeURIComponent(new URL(req.url).pathname).replace(/^\/+/, "");
    const abs = join(ROOT, rel);
    if (rel.includes("..") || relative(ROOT, abs).startsWith("..") || excluded(rel)) {
      return new Response("not in the package", { status: 404 });
    }
    try {
      const body = await Deno.readFile(abs);
      served.add(rel);
      const type = rel.endsWith(".ts") ? "application/typescript" : "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const { port } = server.addr as Deno.NetAddr;
  return { base: `http://127.0.0.1:${port}`, served, stop: () => server.shutdown() };
}

// The user's program: every subpath, an environment step, each loss on a hand-made batch, a small
// POMDP solved exactly, and a few hundred training steps.
const PROGRAM = `
import * as root from "@adqn/asym";
${
  SUBPATHS.filter((s) => s !== ".").map((s, i) =>
    `import * as sub${i} from "@adqn/asym/${s.slice(2)}";`
  ).join("\n")
}
import * as tf from "@tensorflow/tfjs";
import { makeEnv, makeRng } from "@adqn/asym/envs";
import { parsePOMDP, buildHistoryTree } from "@adqn/asym/pomdp";
import { beliefValueIteration, backwardInduction } from "@adqn/asym/solvers";
import { adqnLoss, adqnStateLoss, adqnStateVrLoss, adqnVrLoss, dqnLoss } from "@adqn/asym/losses";
import { initBackend } from "@adqn/asym/nn";
import { resolveTrainConfig, train } from "@adqn/asym/train";

const out = {};
out.subpaths = { ".": Object.keys(root).length, ${
  SUBPATHS.filter((s) => s !== ".").map((s, i) =>
    `${JSON.stringify(s)}: Object.keys(sub${i}).length`
  ).join(", ")
} };

const env = makeEnv("car-flag");
const rng = makeRng(0);
const { state, obs } = env.reset(rng);
const step = env.step(state, 0, rng);
out.env = { numActions: env.numActions, obsSize: env.encodeObs(obs).length,
  nextObsSize: env.encodeObs(step.obs).length, reward: step.reward };

const model = parsePOMDP(\`discount: 0.5
values: reward
states: 2
actions: 2
observations: 1
start: 1 0
T: * : * : * 0.5
O: * : * : * 1
R: 0 : 0 : * : * 1
R: 1 : * : * : * 0
\`);
const tree = buildHistoryTree(model, { horizon: 3 });
out.pomdp = { belief: beliefValueIteration(model, { horizon: 3 }).value,
  treeQ0: Math.max(...Array.from(backwardInduction(tree).Q.slice(0, 2))) };

out.backend = await initBackend("wasm");
const x = {
  q: tf.tensor2d([[1, 0]]), targetQNext: tf.tensor2d([[0, 5]]),
  u: tf.tensor2d([[2, 0]]), targetUNext: tf.tensor2d([[7, 1]]), targetU: tf.tensor2d([[1, 2]]),
  actions: tf.tensor1d([0], "int32"), rewards: tf.tensor1d([3]), continues: tf.tensor1d([1]),
  gamma: 0.5,
};
const val = (l) => [l.loss, l.lossQ, l.lossU].map((t) => t.dataSync()[0]);
out.losses = { dqn: val(dqnLoss(x)), adqn: val(adqnLoss(x)), adqnVr: val(adqnVrLoss(x)),
  adqnState: val(adqnStateLoss(x)), adqnStateVr: val(adqnStateVrLoss(x)) };

const config = resolveTrainConfig({ env: "heaven-hell-3", algo: "adqn", totalSteps: 300,
  prepopulateSteps: 100, logEvery: 100, seed: 1 });
const result = await train(config);
out.train = { envSteps: result.envSteps, finished: result.finished, metrics: result.metrics.length };
console.log(JSON.stringify(out));
`;

/** A user's project: a temporary folder whose deno.json maps `@adqn/asym[/sub]` to the server. */
async function userProject(base: string): Promise<string> {
  const project = await Deno.makeTempDir({ prefix: "adqn-user-" });
  const imports: Record<string, string> = {};
  for (const s of SUBPATHS) {
    imports[s === "." ? "@adqn/asym" : `@adqn/asym/${s.slice(2)}`] =
      new URL(denoJson.exports[s], `${base}/`).href;
  }
  // The package's own bare specifiers, as JSR applies them from the package's deno.json.
  for (const [k, v] of Object.entries(denoJson.imports as Record<string, string>)) {
    imports[k] ??= v;
  }
  await Deno.writeTextFile(
    join(project, "deno.json"),
    JSON.stringify({ imports, nodeModulesDir: "none" }, null, 2),
  );
  return project;
}

/** Run `file` in `project` with the given permissions; returns its exit code and output. */
async function runIn(project: string, file: string, permissions: string[]) {
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, file],
    cwd: project,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: run.code,
    stdout: new TextDecoder().decode(run.stdout),
    stderr: new TextDecoder().decode(run.stderr),
  };
}

Deno.test('the README\'s "Use it in your project" examples run from a clean project', async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const start = readme.indexOf("## Use it in your project");
  assert.ok(start >= 0, 'README has no "Use it in your project" section');
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  assert.match(section, /deno add jsr:@adqn\/asym/);
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 5, `${blocks.length} examples`);
  const server = servePackage();
  const project = await userProject(server.base);
  try {
    const host = new URL(server.base).host;
    for (const [i, code] of blocks.entries()) {
      await Deno.writeTextFile(join(project, `example${i}.ts`), code);
      const r = await runIn(project, `example${i}.ts`, [
        `--allow-import=${host},registry.npmjs.org:443`,
        "--allow-read",
        "--allow-env",
        "--allow-write",
      ]);
      assert.equal(r.code, 0, `README example ${i + 1} failed:\n${code}\n${r.stderr}${r.stdout}`);
    }
  } finally {
    await server.stop();
    await Deno.remove(project, { recursive: true });
  }
});

Deno.test("the package imported over HTTP from a separate project: every subpath works", async () => {
  const server = servePackage();
  const project = await userProject(server.base);
  try {
    await Deno.writeTextFile(join(project, "main.js"), PROGRAM);
    const host = new URL(server.base).host;
    const run = await runIn(project, "main.js", [
      `--allow-import=${host}`,
      "--allow-read",
      "--allow-env",
    ]);
    const { stdout, stderr } = run;
    assert.equal(run.code, 0, `the user's program failed:\n${stderr}\n${stdout}`);
    const out = JSON.parse(stdout.trim().split("\n").at(-1)!);

    // Every subpath loaded and exports something; nothing came from outside the package.
    assert.deepEqual(Object.keys(out.subpaths).sort(), [...SUBPATHS].sort());
    for (const [s, n] of Object.entries(out.subpaths)) assert.ok((n as number) > 0, `${s} empty`);
    for (const rel of server.served) assert.ok(!excluded(rel), `served excluded ${rel}`);
    assert.ok(server.served.has("mod.ts") && server.served.has("lib/envs/mod.ts"));

    // Car-Flag: 7 actions, observation features (position, velocity, flag) = 3.
    assert.deepEqual(
      { numActions: out.env.numActions, obsSize: out.env.obsSize, next: out.env.nextObsSize },
      { numActions: 7, obsSize: 3, next: 3 },
    );
    assert.ok(Number.isFinite(out.env.reward));

    // By hand: reward 1 for action 0 in state 0 (certain at t=0, belief 1/2 after), γ = 1/2,
    // horizon 3: 1 + 0.5·0.5 + 0.25·0.5 = 1.375.
    assert.ok(Math.abs(out.pomdp.belief - 1.375) < 1e-12, `belief VI ${out.pomdp.belief}`);
    assert.ok(Math.abs(out.pomdp.treeQ0 - 1.375) < 1e-12, `history tree ${out.pomdp.treeQ0}`);

    // By hand (one row, a = 0, r = 3, γ = 1/2, m = 1):
    // DQN y = 3 + 0.5·max(0, 5) = 5.5, L_Q = (1 - 5.5)² = 20.25.
    // ADQN a* = 1, y = 3 + 0.5·Ū(1) = 3.5: L_U = (2 - 3.5)² = 2.25, L_Q = (1 - 3.5)² = 6.25.
    // VR: L_Q = mean((1 - 1)², (0 - 2)²) = 2.
    const close = (got: number[], want: number[]) =>
      assert.ok(got.every((g, i) => Math.abs(g - want[i]) < 1e-5), `${got} vs ${want}`);
    close(out.losses.dqn, [20.25, 20.25, 0]);
    close(out.losses.adqn, [4.25, 6.25, 2.25]);
    close(out.losses.adqnState, [4.25, 6.25, 2.25]);
    close(out.losses.adqnVr, [2.125, 2, 2.25]);
    close(out.losses.adqnStateVr, [2.125, 2, 2.25]);

    assert.equal(out.backend, "wasm");
    assert.ok(out.train.finished, "training did not finish");
    assert.ok(out.train.envSteps >= 300, `trained ${out.train.envSteps} steps`);
    // Metric points come at episode ends (and at the end of the run): at least the final one.
    assert.ok(out.train.metrics >= 1, `${out.train.metrics} metric points`);
  } finally {
    await server.stop();
    await Deno.remove(project, { recursive: true });
  }
});
