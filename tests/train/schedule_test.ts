import assert from "assert";
import { epsilonSchedule, linearSchedule } from "../../lib/train/schedule.ts";

const close = (a: number, b: number, msg?: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ""} ${a} vs ${b}`);

Deno.test("`linearSchedule()` is start before 0, end after steps, linear between", () => {
  const f = linearSchedule(1, 0.1, 1000);
  close(f(-10), 1);
  close(f(0), 1);
  close(f(100), 0.91); // 1 - 0.9 * 0.1
  close(f(250), 0.775); // 1 - 0.9 * 0.25
  close(f(999), 0.1009); // 1 - 0.9 * 0.999
  close(f(1000), 0.1);
  close(f(5000), 0.1);
  const g = linearSchedule(0, 1, 0); // zero length: jumps to the end at t = 0
  close(g(-1), 0);
  close(g(0), 1);
  const up = linearSchedule(0.2, 0.6, 4);
  close(up(1), 0.3);
  assert.throws(() => linearSchedule(1, 0, -1), /invalid steps -1/);
  assert.throws(() => linearSchedule(NaN, 0, 1), /must be finite/);
});

Deno.test("`epsilonSchedule()` is 1 during prepopulation, then the reference's linear decay", () => {
  const eps = epsilonSchedule({
    prepopulateSteps: 50_000,
    epsilonStart: 1,
    epsilonEnd: 0.1,
    epsilonDecaySteps: 1_000_000,
  });
  close(eps(0), 1);
  close(eps(49_999), 1);
  close(eps(50_000), 1);
  close(eps(150_000), 0.91); // 100k of 1M: 1 - 0.09
  close(eps(550_000), 0.55); // half way
  close(eps(1_049_999), 0.1 + 0.9 / 1_000_000);
  close(eps(1_050_000), 0.1);
  close(eps(2_000_000), 0.1);
});

Deno.test("`epsilonSchedule()` forces ε = 1 in prepopulation even when epsilonStart < 1", () => {
  const eps = epsilonSchedule({
    prepopulateSteps: 100,
    epsilonStart: 0.5,
    epsilonEnd: 0.1,
    epsilonDecaySteps: 200,
  });
  close(eps(99), 1);
  close(eps(100), 0.5);
  close(eps(200), 0.3);
  close(eps(300), 0.1);
  const none = epsilonSchedule({
    prepopulateSteps: 0,
    epsilonStart: 1,
    epsilonEnd: 0.2,
    epsilonDecaySteps: 0,
  });
  close(none(0), 0.2);
});
