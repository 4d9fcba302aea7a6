/**
 * Numerics fingerprint: a SHA-256 of the metric rows (the training fields, not the wall clock) of one fixed
 * small run per algorithm, compared with the committed table in ./fingerprints.json for the
 * backend the test runs on. Long experiments rely on the numbers staying put: any change to the
 * arithmetic (kernels, op order, initialisation, random streams) fails here loudly. A deliberate
 * change must re-commit the table (the failure message prints the new hashes) and say so.
 *
 * Backend: `wasm-blas` when OpenBLAS is found (CI installs libopenblas0), keyed with OpenBLAS's
 * kernels (`wasm-blas/Haswell`: products round differently per kernel; `OPENBLAS_CORETYPE=Haswell`
 * gives these on any x86-64 CPU with AVX2), plain `wasm` with `ADQN_TEST_BACKEND=wasm`. Where
 * OpenBLAS picked other kernels by itself (a Zen or SkylakeX CPU with `OPENBLAS_CORETYPE` unset),
 * the checks run again in a child process pinned to Haswell, so that every such machine checks the
 * committed numbers; a backend without an entry in the table otherwise fails, naming it.
 */
import assert from "assert";
import { openBlas } from "../../lib/nn/blas.ts";
import { ALGO_IDS, type AlgoId } from "../../lib/train/agent.ts";
import { resolveTrainConfig } from "../../lib/train/config.ts";
import { presetConfig } from "../../lib/experiments/presets.ts";
import { CAMPAIGN_BLAS_KERNELS } from "../../lib/experiments/campaign.ts";
import { type MetricPoint, train, trainBatch } from "../../lib/train/loop.ts";
import { initTestBackend } from "../models/helpers.ts";

const BLAS = await initTestBackend();
const BACKEND = BLAS ? `wasm-blas/${openBlas()?.kernels ?? ""}` : "wasm";
/** The kernels the committed wasm-blas hashes were computed with: the campaign's (module doc). */
const PINNED_KERNELS = CAMPAIGN_BLAS_KERNELS;

const TABLE: Record<string, Record<string, string>> = JSON.parse(
  await Deno.readTextFile(new URL("./fingerprints.json", import.meta.url)),
);

/** The fixed run: Heaven-Hell-3, a small model, 800 steps, metric rows every 100 steps. */
async function rows(algo: AlgoId, seed = 11, evalEvery = 0): Promise<MetricPoint[]> {
  const config = resolveTrainConfig({
    env: "heaven-hell-3",
    algo,
    seed,
    totalSteps: 800,
    timeLimit: 40,
    bufferCapacity: 600,
    prepopulateSteps: 150,
    replayRatio: 2,
    epsilonDecaySteps: 400,
    targetUpdateSteps: 200,
    logEvery: 100,
    returnWindow: 10,
    model: { gruHidden: 8, headHidden: [16] },
    evalEvery,
    evalEpisodes: 3,
  });
  return (await train(config)).metrics;
}

/**
 * The campaign's shape: the `paper` preset's run of Figure 1a (Heaven-Hell-3, embeddings 64, GRU
 * 128, heads 512-256, one episode per gradient step, replay ratio 8) at a short budget (episodes
 * cut at 100 steps), K = 2 runs batched in one trainBatch call, so that the kernels picked by size
 * at these sizes are pinned too.
 */
async function paperRows(algo: AlgoId): Promise<MetricPoint[][]> {
  const configs = [3, 4].map((seed) =>
    presetConfig("paper", "1a", algo, seed, {
      totalSteps: 1500,
      timeLimit: 100,
      prepopulateSteps: 300,
      bufferCapacity: 1500,
      epsilonDecaySteps: 1000,
      targetUpdateSteps: 400,
      logEvery: 500,
      returnWindow: 10,
    })
  );
  return (await trainBatch(configs)).map((r) => r.metrics);
}

/**
 * The fields hashed, in this order: the metric point as it was when the table was committed,
 * less wallSeconds. Fields added since (outcome shares, evaluation) are checked elsewhere
 * (loop_test.ts); naming these keeps the committed hashes valid.
 */
const HASHED_FIELDS = [
  "envStep",
  "episodes",
  "avgReturn",
  "epsilon",
  "lossQ",
  "lossU",
  "trainedSteps",
] as const satisfies readonly (keyof MetricPoint)[];

async function fingerprint(points: MetricPoint[]): Promise<string> {
  // The hashed fields, numbers written exactly (NaN as null).
  const text = JSON.stringify(
    points.map((p) => Object.fromEntries(HASHED_FIELDS.map((k) => [k, p[k]]))),
  );
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The checks of the committed table, on this process's backend. */
function registerChecks() {
  Deno.test(`numerics fingerprint on ${BACKEND}: the metric rows of a fixed small run per algorithm match the committed hashes`, async () => {
    const want = TABLE[BACKEND];
    const got: Record<string, string> = {};
    for (const algo of ALGO_IDS) got[algo] = await fingerprint(await rows(algo));
    assert.ok(
      want !== undefined,
      `no committed fingerprints for backend ${BACKEND} (tests/train/fingerprints.json has ${
        Object.keys(TABLE).join(", ")
      }); this run's: ${JSON.stringify(got)}`,
    );
    assert.deepEqual(
      got,
      Object.fromEntries(ALGO_IDS.map((algo) => [algo, want[algo]])),
      `the numbers changed on ${BACKEND}; if deliberate, commit these in tests/train/fingerprints.json: ${
        JSON.stringify(got)
      }`,
    );
  });

  Deno.test(`numerics fingerprint on ${BACKEND}: same seed ⇒ same rows, another seed ⇒ other rows`, async () => {
    const a = await fingerprint(await rows("adqn"));
    const b = await fingerprint(await rows("adqn"));
    const c = await fingerprint(await rows("adqn", 12));
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.match(a, /^[0-9a-f]{64}$/);
  });

  Deno.test(`numerics fingerprint on ${BACKEND}: greedy evaluation on (every 200 steps, 3 episodes) leaves the hashes as committed`, async () => {
    const points = await rows("adqn", 11, 200);
    assert.equal(points.filter((p) => Number.isFinite(p.evalReturn)).length, 4); // 200, 400, 600, 800
    assert.equal(await fingerprint(points), TABLE[BACKEND]?.adqn);
  });

  Deno.test({
    name: "numerics fingerprint on wasm-blas: the paper preset's model, K = 2 runs in one batch, " +
      "matches the committed hashes (wasm-blas only: the campaign's backend)",
    ignore: !BACKEND.startsWith("wasm-blas"),
  }, async () => {
    const got: Record<string, string> = {};
    for (const algo of ["adqn", "adqn-state-vr"] as const) {
      const runs = await paperRows(algo);
      assert.equal(runs.length, 2);
      for (const r of runs) assert.ok(r.length >= 3, `${r.length} metric points, expected ≥ 3`);
      got[`paper-${algo}`] = await fingerprint(runs.flat());
    }
    const want = TABLE[BACKEND] ?? {};
    assert.deepEqual(
      Object.fromEntries(Object.keys(got).map((k) => [k, want[k]])),
      got,
      `the paper-sized numbers changed on ${BACKEND}; if deliberate, commit these in ` +
        `tests/train/fingerprints.json: ${JSON.stringify(got)}`,
    );
  });
}

const autoKernels = BLAS && !(BACKEND in TABLE) && !Deno.env.get("OPENBLAS_CORETYPE");
if (autoKernels) {
  Deno.test(`numerics fingerprint on ${BACKEND}: no hashes for these kernels, so the checks run pinned to OPENBLAS_CORETYPE=${PINNED_KERNELS} and pass`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", new URL(import.meta.url).pathname],
      env: { OPENBLAS_CORETYPE: PINNED_KERNELS, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, `the checks pinned to ${PINNED_KERNELS} failed:\n${text}`);
    // The child ran the table's checks (not this delegation again), all of them.
    assert.match(
      text,
      new RegExp(`numerics fingerprint on wasm-blas/${PINNED_KERNELS}: the metric rows`),
    );
    assert.match(text, /ok \| 4 passed \| 0 failed/);
  });
} else {
  registerChecks();
}
