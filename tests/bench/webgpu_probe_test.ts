import assert from "assert";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("bench/webgpu_probe.ts runs its workload on the cpu backend and reports consistent rates", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}bench/webgpu_probe.ts`,
      "--backend",
      "cpu",
      "--k",
      "2",
      "--act",
      "3",
      "--seconds",
      "0.01",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, err);
  const lines = new TextDecoder().decode(r.stdout).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.backend, l.mode, l.k]), [["cpu", "bmm-2", 2], [
    "cpu",
    "act-3",
    3,
  ]]);
  const [train, act] = lines;
  assert.ok(train.stepsPerS > 0 && train.iterations >= 1);
  // A gradient step trains every run on one 100-step episode; an acting step moves K environments.
  assert.ok(Math.abs(train.envStepsPerS - train.stepsPerS * 2 * 100) < 1e-9 * train.envStepsPerS);
  assert.ok(Math.abs(act.envStepsPerS - act.stepsPerS * 3) < 1e-9 * act.envStepsPerS);
});

Deno.test("bench/webgpu_probe.ts names bad arguments and exits 2", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}bench/webgpu_probe.ts`, "--backend", "cpu", "--k", "0"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 2);
  assert.match(
    new TextDecoder().decode(r.stderr),
    /--k and --act take positive integers \(got 0, 1,20,100\)/,
  );
});
