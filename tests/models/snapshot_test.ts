import assert from "assert";
import { makeSnapshot, readSnapshot } from "../../lib/models/snapshot.ts";

const t = (shape: number[], ...data: number[]) => ({ shape, data: Float32Array.from(data) });

Deno.test("`makeSnapshot()` names tensors by prefix and `readSnapshot()` reads them back, checked", () => {
  const parts = {
    online: { w: t([2], 1, 2) },
    target: { w: t([2], 3, 4) },
    m: { w: t([2], 5, 6) },
    v: { w: t([2], 7, 8) },
    step: 3,
  };
  const snap = makeSnapshot(parts);
  assert.deepEqual(Object.keys(snap.tensors), ["online/w", "target/w", "adam.m/w", "adam.v/w"]);
  assert.deepEqual(snap.scalars, { "adam.step": 3 });
  assert.deepEqual(readSnapshot(snap, { w: [2] }), parts);
  assert.throws(() => readSnapshot(snap, { w: [2], b: [1] }), /lacks tensor "online\/b"/);
  assert.throws(
    () => readSnapshot(snap, { w: [1, 2] }),
    /tensor "online\/w" has shape \[2\] with 2 values, expected \[1,2\]/,
  );
  const bad = makeSnapshot({ ...parts, step: -1 });
  assert.throws(() => readSnapshot(bad, { w: [2] }), /invalid scalar adam.step -1/);
});
