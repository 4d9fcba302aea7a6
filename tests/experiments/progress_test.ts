/** The progress view's rate meter. */
import assert from "assert";
import { RateMeter } from "../../lib/experiments/progress.ts";

Deno.test("`RateMeter` averages over its window and starts afresh when the count falls", () => {
  const m = new RateMeter(30);
  assert.ok(Number.isNaN(m.rate()), "no rate from one sample");
  m.add(0, 0);
  m.add(1000, 1000);
  m.add(3000, 2000);
  assert.equal(m.rate(), 1500); // 3000 steps in 2 s
  // Samples older than the window drop out: 40 s later, only the last 30 s count.
  m.add(3000 + 100 * 40, 42_000);
  assert.equal(m.rate(), (7000 - 3000) / 40);
  // A run restarted from scratch: the total falls by 500k; no negative rate, and the rate
  // resumes from the new count.
  m.add(6500 - 500_000, 43_000);
  assert.ok(Number.isNaN(m.rate()), `rate right after the fall: ${m.rate()}`);
  m.add(6500 - 500_000 + 2000, 44_000);
  assert.equal(m.rate(), 2000);
});
