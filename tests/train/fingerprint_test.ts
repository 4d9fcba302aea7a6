/**
 * Numerics fingerprint: a SHA-256 of the metric rows (the training fields, not the wall clock) of one fixed
 * small run per algorithm, compared with the committed table in ./fingerprints.json for the
 * backend the test runs on. Long experiments rely on the numbers staying put: any change to the
 * arithmetic (kernels, op order, initialisation, random streams) fails here loudly. A deliberate
 * change must re-commit the table (the failure message prints the new hashes) and say so.
 *
 * Backend: `wasm-blas` when OpenBLAS is found (CI installs libopenblas0), plain `wasm` with
 * `ADQN_TEST_BACKEND=wasm`; a backend without an entry in the table fails, naming it.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "assert";
import { initBackend } from "../../lib/nn/backend.ts";
import { enableBlasBackend } from "../../lib/nn/fast_backend.ts";
import { ALGO_IDS, type AlgoId } from "../../lib/train/agent.ts";
import { resolveTrainConfig } from "../../lib/train/config.ts";
import { type MetricPoint, train } from "../../lib/train/loop.ts";

const blas = Deno.env.get("ADQN_TEST_BACKEND") === "wasm"
  ? { ok: false }
  : await enableBlasBackend("wasm-blas");
if (!blas.ok) await initBackend("wasm");
tf.enableProdMode();
const BACKEND = blas.ok ? "wasm-blas" : "wasm";

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
    want,
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
