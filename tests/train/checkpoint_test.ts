import assert from "assert";
import { join } from "node:path";
import { makeRng } from "../../lib/rng.ts";
import { EpisodeBuffer } from "../../lib/train/buffer.ts";
import {
  CHECKPOINT_FORMAT_VERSION,
  checkpointReadable,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpoint,
  removeStaleCheckpointTemps,
  setAsideCorruptCheckpoint,
  type TrainCheckpoint,
  writeCheckpoint,
} from "../../lib/train/checkpoint.ts";
import { resolveTrainConfig, type TrainConfig } from "../../lib/train/config.ts";
import { type MetricPoint, train, type TrainOptions } from "../../lib/train/loop.ts";
import { type FakeAgent, fakeAgentFactory, makeFixedEnv } from "./fake_agent.ts";

const CONFIG: TrainConfig = resolveTrainConfig({
  env: "pomdp:fixed",
  algo: "adqn",
  seed: 3,
  totalSteps: 200,
  prepopulateSteps: 20,
  replayRatio: 2,
  episodesPerBatch: 2,
  logEvery: 20,
  targetUpdateSteps: 30,
  epsilonDecaySteps: 100,
  returnWindow: 4,
  bufferCapacity: 60, // evictions happen before and after the checkpoints
});

const strip = (ms: MetricPoint[]) => ms.map(({ wallSeconds: _, ...rest }) => rest);

/** Upsert points by envStep, as a results store does. */
function upsert(...lists: MetricPoint[][]): MetricPoint[] {
  const byStep = new Map<number, MetricPoint>();
  for (const list of lists) for (const p of list) byStep.set(p.envStep, p);
  return [...byStep.values()].sort((a, b) => a.envStep - b.envStep);
}

async function go(c: TrainConfig, options: TrainOptions = {}) {
  const made: FakeAgent[] = [];
  const result = await train(c, {
    env: makeFixedEnv(5),
    makeAgent: fakeAgentFactory(made),
    keepAgent: true,
    ...options,
  });
  return { result, snapshot: result.agent!.snapshot() };
}

Deno.test("`train()` resumed after an abort or from an earlier checkpoint equals the uninterrupted run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const full = await go(CONFIG);
    assert.equal(full.result.finished, true);
    assert.deepEqual(full.result.metrics.map((p) => p.envStep), [
      20,
      40,
      60,
      80,
      100,
      120,
      140,
      160,
      180,
      200,
    ]);

    const path = join(dir, "run.ckpt");
    const early = join(dir, "early.ckpt");
    const controller = new AbortController();
    // Checkpoints every 25 steps are written after onProgress: at envStep 50 the file on disk is
    // the one written at 25. Abort after the episode ending at 110.
    const first = await go(CONFIG, {
      checkpointPath: path,
      checkpointEverySteps: 25,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.envStep === 50) Deno.copyFileSync(path, early);
        if (p.envStep === 110) controller.abort();
      },
    });
    assert.equal(first.result.finished, false);
    assert.equal(first.result.envSteps, 110);
    assert.deepEqual(first.result.metrics.map((p) => p.envStep), [20, 40, 60, 80, 100]);
    assert.equal((await readCheckpoint(early)).state.envSteps, 25);

    // Resume the aborted run.
    const second = await go(CONFIG, { checkpointPath: path });
    assert.equal(second.result.finished, true);
    assert.deepEqual(second.result.metrics.map((p) => p.envStep), [120, 140, 160, 180, 200]);
    assert.deepEqual(
      strip(upsert(first.result.metrics, second.result.metrics)),
      strip(full.result.metrics),
    );
    assert.deepEqual(second.snapshot, full.snapshot);
    assert.equal(second.result.episodes, full.result.episodes);

    // Resume from the checkpoint copied at step 25: points from 40 on are re-emitted identically.
    const third = await go(CONFIG, { checkpointPath: early });
    assert.deepEqual(strip(third.result.metrics), strip(full.result.metrics.slice(1)));
    assert.deepEqual(third.snapshot, full.snapshot);

    // A finished checkpoint resumes to an immediate, finished result with the final agent.
    const again = await go(CONFIG, { checkpointPath: path });
    assert.equal(again.result.finished, true);
    assert.deepEqual(again.result.metrics, []);
    assert.equal(again.result.envSteps, 200);
    assert.deepEqual(again.snapshot, full.snapshot);

    // No temporary files are left behind.
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["early.ckpt", "run.ckpt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`train()` aborted before its first epoch writes a resumable checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "a.ckpt");
    const controller = new AbortController();
    controller.abort();
    const r = await go(CONFIG, { checkpointPath: path, signal: controller.signal });
    assert.deepEqual([r.result.finished, r.result.envSteps, r.result.metrics.length], [
      false,
      0,
      0,
    ]);
    const full = await go(CONFIG);
    const resumed = await go(CONFIG, { checkpointPath: path });
    assert.deepEqual(strip(resumed.result.metrics), strip(full.result.metrics));
    assert.deepEqual(resumed.snapshot, full.snapshot);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`train()` refuses a checkpoint written for another config or seed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "c.ckpt");
    const controller = new AbortController();
    await go(CONFIG, {
      checkpointPath: path,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await assert.rejects(
      go({ ...CONFIG, totalSteps: 400 }, { checkpointPath: path }),
      /refusing to resume from .*c\.ckpt: it was written for a different configuration .*totalSteps: 200 in the checkpoint, 400 now/,
    );
    await assert.rejects(
      go({ ...CONFIG, seed: 4 }, { checkpointPath: path }),
      /refusing to resume from .*c\.ckpt: it was written for seed 3, this run has seed 4/,
    );
    // The decimal string of the same seed gives the same streams: accepted.
    const ok = await go({ ...CONFIG, seed: "3" }, { checkpointPath: path });
    assert.equal(ok.result.finished, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function sampleCheckpoint(): TrainCheckpoint {
  const buffer = new EpisodeBuffer(100);
  buffer.add({
    length: 2,
    obs: Float32Array.of(1, 0, 0, 1),
    states: Float32Array.of(0.5, -0.25),
    actions: Int32Array.of(1, 0),
    rewards: Float32Array.of(0, -1.5),
    terminated: false,
    truncated: true,
    finalObs: Float32Array.of(0, 0),
    finalState: Float32Array.of(3.25),
  });
  const rng = makeRng("x");
  rng();
  return {
    config: { ...CONFIG, seed: "NaN" }, // a string seed that looks like a number
    state: {
      envSteps: 2,
      episodes: 1,
      trainedSteps: 0,
      gradientSteps: 0,
      targetUpdates: 1,
      nextTargetUpdate: 30,
      nextLog: 20,
      returns: [-1.5, 0.1 + 0.2],
      lastReturn: NaN,
      epsilon: 1,
      lossQSum: Infinity,
      lossUSum: -Infinity,
      lossCount: 0,
      lastMetricStep: -1,
      wallSeconds: 0.25,
      finished: false,
    },
    rngs: { env: rng.state() },
    agent: {
      tensors: {
        w: { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, Math.fround(0.1)) },
        b: { shape: [], data: Float32Array.of(-7) },
      },
      scalars: { step: 12, nan: NaN },
    },
    buffer,
  };
}

Deno.test("`encodeCheckpoint()` and `decodeCheckpoint()` round-trip every field exactly", () => {
  const ckpt = sampleCheckpoint();
  const bytes = concat(encodeCheckpoint(ckpt));
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), "ADQNCKPT");
  assert.equal(new DataView(bytes.buffer).getUint32(8, true), CHECKPOINT_FORMAT_VERSION);
  const back = decodeCheckpoint(bytes);
  assert.deepEqual(back.config, ckpt.config);
  assert.deepEqual(back.state, ckpt.state);
  assert.deepEqual(back.rngs, ckpt.rngs);
  assert.deepEqual(back.agent, ckpt.agent);
  assert.deepEqual(back.buffer.get(0), ckpt.buffer.get(0));
  assert.equal(back.buffer.capacity, 100);
  // The restored stream continues where the saved one was.
  assert.equal(makeRng("x", back.rngs.env)(), makeRng("x", ckpt.rngs.env)());
});

Deno.test("`readCheckpoint()` gives a clear error for damaged files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "d.ckpt");
    await writeCheckpoint(path, sampleCheckpoint());
    const good = await Deno.readFile(path);
    const put = (bytes: Uint8Array) => Deno.writeFile(path, bytes);

    const flipped = good.slice();
    flipped[good.length - 5] ^= 0x10; // inside the payload
    await put(flipped);
    await assert.rejects(
      readCheckpoint(path),
      /corrupt or unreadable checkpoint .*d\.ckpt: checksum mismatch.*\. To start this run over from scratch, rerun with --restart-corrupt/,
    );
    await put(good.subarray(0, good.length - 10)); // a truncated payload
    await assert.rejects(
      readCheckpoint(path),
      /corrupt or unreadable checkpoint .*checksum mismatch/,
    );
    await put(good.subarray(0, 30));
    await assert.rejects(readCheckpoint(path), /truncated header/);
    await put(new TextEncoder().encode("hello, this is not a checkpoint file"));
    await assert.rejects(readCheckpoint(path), /not a checkpoint file \(bad magic bytes\)/);
    await put(new Uint8Array(3));
    await assert.rejects(readCheckpoint(path), /only 3 bytes/);
    const future = good.slice();
    new DataView(future.buffer).setUint32(8, 99, true);
    await put(future);
    await assert.rejects(readCheckpoint(path), /format version 99; this code reads version 1/);

    // train() surfaces the same error instead of silently starting over.
    await put(flipped);
    await assert.rejects(
      train(CONFIG, {
        env: makeFixedEnv(5),
        makeAgent: fakeAgentFactory(),
        checkpointPath: path,
      }),
      /checksum mismatch/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`writeCheckpoint()` replaces the file atomically and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "e.ckpt");
    await Deno.writeTextFile(path, "old");
    await writeCheckpoint(path, sampleCheckpoint());
    assert.equal((await readCheckpoint(path)).state.envSteps, 2);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["e.ckpt"]);
    await assert.rejects(
      writeCheckpoint(join(dir, "missing", "f.ckpt"), sampleCheckpoint()),
      Deno.errors.NotFound,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["e.ckpt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The pid of a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("`writeCheckpoint()` removes the temporaries of dead writers, not of live ones", async () => {
  const dir = await Deno.makeTempDir();
  const live = new Deno.Command("sleep", { args: ["60"] }).spawn();
  try {
    const path = join(dir, "g.ckpt");
    const dead = await deadPid();
    const names = [
      `g.ckpt.tmp-${dead}-0`, // killed mid-write: removed
      `g.ckpt.tmp-${dead}-7`,
      `g.ckpt.tmp-${live.pid}-1`, // still writing: kept
      `other.ckpt.tmp-${dead}-0`, // another run's: kept
      `g.ckpt.tmp-notes`, // not a temporary of ours: kept
    ];
    for (const n of names) Deno.writeFileSync(join(dir, n), new Uint8Array(16));
    await writeCheckpoint(path, sampleCheckpoint());
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(
      left,
      ["g.ckpt", `g.ckpt.tmp-${live.pid}-1`, "g.ckpt.tmp-notes", `other.ckpt.tmp-${dead}-0`].sort(),
    );
    // Reading cleans too (a rerun after a kill during the last write).
    Deno.writeFileSync(join(dir, `g.ckpt.tmp-${dead}-9`), new Uint8Array(4));
    await readCheckpoint(path);
    assert.ok(!left.includes(`g.ckpt.tmp-${dead}-9`));
    assert.ok(!existsFile(join(dir, `g.ckpt.tmp-${dead}-9`)));
    assert.deepEqual(removeStaleCheckpointTemps(join(dir, "nowhere", "x.ckpt")), []);
  } finally {
    live.kill("SIGKILL");
    await live.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a corrupt checkpoint is detected and set aside under a .corrupt- name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "h.ckpt");
    await writeCheckpoint(path, sampleCheckpoint());
    assert.equal(checkpointReadable(path), true);
    const bytes = Deno.readFileSync(path);
    bytes[bytes.length - 1] ^= 1;
    Deno.writeFileSync(path, bytes);
    assert.equal(checkpointReadable(path), false);
    const aside = setAsideCorruptCheckpoint(path, new Date("2026-01-02T03:04:05.678Z"));
    assert.equal(aside, `${path}.corrupt-2026-01-02T03-04-05-678Z`);
    assert.ok(!existsFile(path));
    assert.deepEqual(Deno.readFileSync(aside), bytes, "kept byte for byte");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function existsFile(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.byteLength;
  }
  return out;
}
