import assert from "assert";
import { makeRng, randInt } from "../../lib/rng.ts";
import type { Episode } from "../../lib/train/agent.ts";
import { EpisodeBuffer } from "../../lib/train/buffer.ts";

/** An episode whose every value encodes (id, t) so that copies can be checked exactly. */
function ep(id: number, length: number, ow = 2, sw = 3, flags = 1): Episode {
  return {
    length,
    obs: Float32Array.from({ length: length * ow }, (_, i) => id + i / 8),
    states: Float32Array.from({ length: length * sw }, (_, i) => -id - i / 4),
    actions: Int32Array.from({ length }, (_, i) => (id + i) % 5),
    rewards: Float32Array.from({ length }, (_, i) => id * 0.5 - i),
    terminated: (flags & 1) !== 0,
    truncated: (flags & 2) !== 0,
    finalObs: Float32Array.from({ length: ow }, (_, i) => 100 + id + i),
    finalState: Float32Array.from({ length: sw }, (_, i) => 200 + id + i),
  };
}

const ids = (b: EpisodeBuffer) =>
  Array.from({ length: b.size }, (_, i) => b.get(i).finalObs[0] - 100);

Deno.test("`EpisodeBuffer.add()` evicts the oldest whole episodes until steps ≤ capacity", () => {
  const b = new EpisodeBuffer(10);
  b.add(ep(1, 3));
  b.add(ep(2, 4));
  b.add(ep(3, 2));
  assert.deepEqual([b.size, b.steps, ids(b)], [3, 9, [1, 2, 3]]);
  b.add(ep(4, 1)); // 10 = capacity: nothing leaves
  assert.deepEqual([b.size, b.steps, ids(b)], [4, 10, [1, 2, 3, 4]]);
  b.add(ep(5, 5)); // 15: drop 1 (12), drop 2 (8)
  assert.deepEqual([b.size, b.steps, ids(b)], [3, 8, [3, 4, 5]]);
  b.add(ep(6, 12)); // longer than the capacity: only the newest stays
  assert.deepEqual([b.size, b.steps, ids(b)], [1, 12, [6]]);
  b.add(ep(7, 1)); // 13: drop 6
  assert.deepEqual([b.size, b.steps, ids(b)], [1, 1, [7]]);
});

Deno.test("`EpisodeBuffer` stays exact over many evictions (internal compaction)", () => {
  const b = new EpisodeBuffer(100);
  for (let i = 0; i < 5000; i++) b.add(ep(i, 1 + (i % 7)));
  // Lengths 1..7 cycle; walk back from the newest until adding one more would exceed 100.
  let steps = 0, first = 4999;
  while (first >= 0 && steps + 1 + (first % 7) <= 100) steps += 1 + (first-- % 7);
  assert.equal(b.steps, steps);
  assert.equal(b.size, 4999 - first);
  assert.equal(ids(b)[0], first + 1);
  assert.throws(() => b.get(b.size), /out of range/);
});

Deno.test("`EpisodeBuffer.sample()` draws uniformly with replacement, reproducibly", () => {
  const b = new EpisodeBuffer(1000);
  for (let i = 0; i < 4; i++) b.add(ep(i, 2));
  const got = b.sample(makeRng("s"), 2000).map((e) => e.finalObs[0] - 100);
  // Second method: the same stream of randInt draws.
  const r = makeRng("s");
  const want = Array.from({ length: 2000 }, () => randInt(r, 4));
  assert.deepEqual(got, want);
  const counts = [0, 0, 0, 0];
  for (const g of got) counts[g]++;
  for (const c of counts) assert.ok(c > 400 && c < 600, `counts ${counts}`);
  assert.deepEqual(b.sample(makeRng(1), 5), b.sample(makeRng(1), 5));
  assert.throws(() => new EpisodeBuffer(5).sample(makeRng(1), 1), /empty episode buffer/);
  assert.throws(() => b.sample(makeRng(1), 0), /invalid sample size 0/);
});

Deno.test("`EpisodeBuffer.serialise()` round-trips exactly in a compact binary image", () => {
  const b = new EpisodeBuffer(50);
  b.add(ep(1, 30, 2, 3, 1));
  b.add(ep(2, 3, 2, 3, 2));
  b.add(ep(3, 20, 2, 3, 0)); // evicts episode 1
  const bytes = b.serialise();
  // 12-byte header, then per episode 16 bytes + 4 × (T × (obs 2 + state 3 + action + reward) + 2 + 3).
  assert.equal(bytes.byteLength, 12 + (16 + 4 * (3 * 7 + 5)) + (16 + 4 * (20 * 7 + 5)));
  const c = EpisodeBuffer.deserialise(bytes);
  assert.equal(c.capacity, 50);
  assert.equal(c.size, 2);
  assert.equal(c.steps, 23);
  assert.deepEqual(c.get(0), ep(2, 3, 2, 3, 2));
  assert.deepEqual(c.get(1), ep(3, 20, 2, 3, 0));
  // The copy is independent of the image.
  bytes.fill(0);
  assert.deepEqual(c.get(1), ep(3, 20, 2, 3, 0));
});

Deno.test("`EpisodeBuffer.deserialise()` rejects damaged images clearly", () => {
  const b = new EpisodeBuffer(50);
  b.add(ep(1, 4));
  const bytes = b.serialise();
  assert.throws(() => EpisodeBuffer.deserialise(bytes.subarray(0, 8)), /corrupt.*shorter/);
  assert.throws(
    () => EpisodeBuffer.deserialise(bytes.subarray(0, bytes.length - 4)),
    /corrupt episode buffer image: truncated inside episode 0/,
  );
  const extra = new Uint8Array(bytes.length + 4);
  extra.set(bytes);
  assert.throws(() => EpisodeBuffer.deserialise(extra), /4 unexpected trailing bytes/);
  const magic = bytes.slice();
  magic[0] ^= 1;
  assert.throws(() => EpisodeBuffer.deserialise(magic), /bad magic/);
});

Deno.test("`EpisodeBuffer.add()` rejects inconsistent episodes", () => {
  const b = new EpisodeBuffer(10);
  assert.throws(() => b.add({ ...ep(1, 2), length: 0 }), /invalid episode length 0/);
  assert.throws(() => b.add({ ...ep(1, 2), actions: new Int32Array(3) }), /3 actions/);
  assert.throws(() => b.add({ ...ep(1, 2), obs: new Float32Array(3) }), /must hold 2 rows/);
  assert.throws(() => b.add({ ...ep(1, 2), finalObs: new Float32Array(1) }), /finalObs/);
  assert.throws(() => new EpisodeBuffer(0), /invalid buffer capacity 0/);
});

Deno.test("the buffer keeps integral observations and states in 8 bits, exactly", () => {
  const T = 3;
  const binary: Episode = {
    length: T,
    obs: Float32Array.of(0, 1, 0, 1, 1, 0),
    states: Float32Array.of(-1, 127, -128, 5, 0, 3),
    actions: Int32Array.of(0, 1, 2),
    rewards: Float32Array.of(0.5, 1, 0),
    terminated: true,
    truncated: false,
    finalObs: Float32Array.of(0, 0),
    finalState: Float32Array.of(0, 0),
  };
  const real = { ...binary, obs: Float32Array.of(0, 0.5, 0, 1, 1, 0), states: binary.states };
  const negZero = { ...binary, obs: Float32Array.of(0, -0, 0, 1, 1, 0) };
  const big = { ...binary, states: Float32Array.of(0, 128, 0, 0, 0, 0) };
  const b = new EpisodeBuffer(100);
  b.add(binary);
  // 6 + 6 bytes instead of 48: both arrays are whole numbers in -128..127.
  assert.equal(b.storedBytes, 12);
  b.add(real); // obs keeps float32 (0.5), states go to 8 bits
  assert.equal(b.storedBytes, 12 + 24 + 6);
  b.add(negZero); // -0 is not an 8-bit integer: kept as float32 so that it reads back as -0
  b.add(big); // 128 does not fit
  assert.equal(b.storedBytes, 12 + 30 + 24 + 6 + 6 + 24);
  for (const [i, ep] of [binary, real, negZero, big].entries()) {
    const got = b.get(i);
    assert.ok(got.obs instanceof Float32Array && got.states instanceof Float32Array);
    assert.deepEqual(got.obs, ep.obs);
    assert.deepEqual(got.states, ep.states);
    assert.equal(got.actions, ep.actions);
  }
  assert.ok(Object.is(b.get(2).obs[1], -0));
  // The checkpoint image is unchanged by the compact storage: float32 values, read back exactly.
  const again = EpisodeBuffer.deserialise(b.serialise());
  assert.equal(again.storedBytes, b.storedBytes);
  for (let i = 0; i < 4; i++) assert.deepEqual(again.get(i), b.get(i));
});

Deno.test("buffer images store 8-bit arrays as bytes, and older float32 images still load", () => {
  const ep: Episode = {
    length: 2,
    obs: Float32Array.of(1, 0, 0, 1),
    states: Float32Array.of(0.25, 1),
    actions: Int32Array.of(3, 1),
    rewards: Float32Array.of(1, -1),
    terminated: false,
    truncated: true,
    finalObs: Float32Array.of(0, 1),
    finalState: Float32Array.of(0.5),
  };
  const b = new EpisodeBuffer(7);
  b.add(ep);
  const image = b.serialise();
  // 12-byte header; episode: 16-byte header, obs 4 bytes (8-bit), states 2 × 4, actions and
  // rewards 2 × 4 each, final obs and state 3 × 4.
  assert.equal(image.byteLength, 12 + 16 + 4 + 8 + 16 + 12);
  assert.equal(new DataView(image.buffer).getUint32(0, true), 0x32425045); // "EPB2"
  assert.equal(new DataView(image.buffer).getInt32(12 + 12, true), 2 | 4); // truncated, 8-bit obs
  // The same episode written by hand in the older all-float32 "EPB1" layout.
  const v1 = new Uint8Array(12 + 16 + 4 * (2 * (2 + 1 + 2) + 2 + 1));
  const dv = new DataView(v1.buffer);
  dv.setUint32(0, 0x31425045, true);
  dv.setUint32(4, 7, true);
  dv.setUint32(8, 1, true);
  [2, 2, 1, 2].forEach((v, i) => dv.setInt32(12 + 4 * i, v, true));
  let p = 28;
  const put = (v: number, int = false) => {
    if (int) dv.setInt32(p, v, true);
    else dv.setFloat32(p, v, true);
    p += 4;
  };
  [1, 0, 0, 1, 0.25, 1].forEach((v) => put(v)); // obs, states
  [3, 1].forEach((v) => put(v, true)); // actions
  [1, -1, 0, 1, 0.5].forEach((v) => put(v)); // rewards, final obs, final state
  assert.equal(p, v1.byteLength);
  const old = EpisodeBuffer.deserialise(v1);
  assert.deepEqual(old.get(0), ep);
  assert.equal(old.storedBytes, b.storedBytes); // compacted on load
  assert.deepEqual(EpisodeBuffer.deserialise(image).get(0), ep);
  // A flag EPB1 did not have is refused there.
  dv.setInt32(24, 2 | 4, true);
  assert.throws(() => EpisodeBuffer.deserialise(v1), /bad header .*flags 6/);
});
