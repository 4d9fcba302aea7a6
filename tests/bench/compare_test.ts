import assert from "assert";
import {
  bestCell,
  type Cell,
  checkTargets,
  type ComparisonResult,
  figureBudget,
  formatCell,
  formatCompareTable,
  formatComparison,
  formatFigureEstimate,
  formatMachine,
  formatRate,
  formatRatio,
  formatWallTime,
  mergeCells,
  mergeTorchRuns,
  type OursColumn,
  panelSeconds,
  panelSecondsByAlgorithm,
  parseTorchOutput,
  ratio,
  runTorch,
  runTorchParallel,
  sumMeasurements,
  sumReports,
  TORCH_MODES,
  TORCH_SCRIPT,
  type TorchColumn,
  torchEnv,
  torchLabel,
  WORKLOADS,
} from "../../lib/bench/compare.ts";
import { measureParallel } from "../../lib/bench/ours.ts";

const ok = (envStepsPerSecond: number, perSecond = envStepsPerSecond): Cell => ({
  status: "ok",
  value: { perSecond, envStepsPerSecond, iterations: 10 },
});

/** A torch_workload.py output line with the given env-steps/s per mode. */
function torchJson(rates: Record<string, number>, threads = 1): string {
  const results = Object.entries(rates).map(([mode, r]) => ({
    mode,
    steps_per_s: r / 100,
    env_steps_per_s: r,
    iterations: 5,
    seconds: 3,
  }));
  return JSON.stringify({ torch: "1.13.0", threads, results });
}

const TORCH_RATES = {
  "train-1": 2000,
  "train-32": 12000,
  "seq-8": 1900,
  "bmm-8": 3000,
  "seq-20": 1800,
  "bmm-20": 3500,
  "act": 3000,
};

const torchCol = (threads: number, rates: Record<string, number>): TorchColumn => ({
  threads,
  run: { ok: true, report: parseTorchOutput(torchJson(rates, threads)) },
});

Deno.test("`parseTorchOutput()` reads the last stdout line and names bad output", () => {
  const r = parseTorchOutput(`warming up\n${torchJson({ "train-1": 2360, act: 3074 })}\n`);
  assert.equal(r.torch, "1.13.0");
  assert.equal(r.threads, 1);
  assert.deepEqual(r.results["train-1"], {
    perSecond: 23.6,
    envStepsPerSecond: 2360,
    iterations: 5,
  });
  assert.equal(r.results.act.envStepsPerSecond, 3074);
  assert.throws(() => parseTorchOutput("Traceback ..."), /expected a JSON object/);
  assert.throws(() => parseTorchOutput('{"torch": "1", "threads": 1}'), /"results" array/);
  assert.throws(
    () => parseTorchOutput('{"torch": "1", "threads": 1, "results": [{"mode": "x"}]}'),
    /invalid result/,
  );
});

Deno.test("`torchEnv()` sets thread counts and a passive wait policy above one thread", () => {
  assert.equal(torchEnv(1).OMP_NUM_THREADS, "1");
  assert.equal(torchEnv(1).OMP_WAIT_POLICY, undefined);
  assert.equal(torchEnv(2).OMP_NUM_THREADS, "2");
  assert.equal(torchEnv(2).OMP_WAIT_POLICY, "PASSIVE");
  assert.throws(() => torchEnv(0), /invalid thread count 0/);
});

Deno.test("`ratio()` and the formatters", () => {
  assert.equal(ratio(ok(6000), ok(2000)), 3);
  assert.equal(ratio(ok(6000), { status: "skipped", message: "no torch" }), null);
  assert.equal(ratio({ status: "pending", message: "later" }, ok(1)), null);
  assert.equal(ratio(ok(1), ok(0)), null);
  assert.equal(formatRate(1234567.4), "1,234,567");
  assert.equal(formatRate(100), "100");
  assert.equal(formatRate(23.64), "23.6");
  assert.equal(formatRate(3.204), "3.20");
  assert.equal(formatRatio(2.5), "2.50×");
  assert.equal(formatRatio(12.4), "12×");
  assert.equal(formatRatio(null), "-");
  assert.equal(formatCell({ status: "pending", message: "x" }), "pending");
  assert.equal(formatCell(ok(2360)), "2,360");
  assert.equal(formatWallTime(90 * 60), "1.5 h");
  assert.equal(formatWallTime(72 * 3600), "3.0 d");
  assert.equal(formatWallTime(600), "10 min");
});

Deno.test("`formatCompareTable()` has one row per workload with ours/torch ratios", () => {
  const ours: OursColumn[] = [
    {
      backend: "wasm-blas",
      cells: {
        "train-1": ok(3000),
        "train-32": ok(9000),
        "runs-8": ok(8000),
        "runs-20": ok(14000),
        "act-1": ok(6000),
        "act-20": ok(60000),
      },
    },
    { backend: "wasm", cells: { "train-1": ok(2000) } },
  ];
  const torch = [torchCol(1, TORCH_RATES), torchCol(2, { ...TORCH_RATES, "train-1": 1500 })];
  const lines = formatCompareTable(ours, torch).split("\n");
  assert.equal(lines.length, 2 + WORKLOADS.length);
  assert.match(lines[0], /ours wasm-blas \| ours wasm \| torch 1 thr \| torch 2 thr/);
  const row = (label: string) => lines.find((l) => l.startsWith(`| ${label}`))!.split(" | ");
  // single run: 3000 vs 2000 (1 thread) and 1500 (2 threads).
  assert.deepEqual(row("single run").slice(1), [
    "3,000",
    "2,000",
    "2,000",
    "1,500",
    "1.50×",
    "2.00× |",
  ]);
  // K=20 vs torch's 20 runs in turn (1800) and hand-batched (3500).
  assert.equal(row("K=20 runs (torch: 20 runs in turn)")[5], "7.78×");
  assert.equal(row("K=20 runs (torch: bmm-batched)")[5], "4.00×");
  // acting with 20 batched envs against torch acting in one env: 60000 / 3000.
  assert.equal(row("acting, K=20")[5], "20×");
  // the wasm column lacks B=32: shown as "-".
  assert.equal(row("one run, B=32")[2], "-");
});

Deno.test("`checkTargets()` compares against the best single-process torch thread count", () => {
  const ours: OursColumn = {
    backend: "wasm-blas",
    cells: {
      "runs-20": ok(10000),
      "runs-20-2p": ok(18000),
      "act-20": ok(25000),
      "act-20-2p": ok(60000),
    },
  };
  const torch = [
    torchCol(1, TORCH_RATES),
    torchCol(2, { ...TORCH_RATES, "train-1": 4000 }),
    // two concurrent 1-thread processes: never the reference for the one-process targets
    { ...torchCol(1, { "train-1": 9000, act: 5000 }), processes: 2 },
  ];
  const [core, machine, stretch, acting, acting2p, like, likeAct] = checkTargets(ours, torch);
  assert.equal(core.ratio, 10000 / 4000); // best train-1 is the 2-thread 4000
  assert.equal(core.verdict, "missed");
  assert.equal(machine.ratio, 18000 / 4000);
  assert.equal(machine.verdict, "met");
  assert.equal(stretch.ratio, 10000 / 12000);
  assert.equal(stretch.verdict, "missed");
  assert.equal(acting.ratio, 25000 / 3000);
  assert.equal(acting.verdict, "missed");
  assert.equal(acting2p.ratio, 20);
  assert.equal(acting2p.verdict, "met");
  assert.equal(like.ratio, 2); // 18000 against the two processes' 9000
  assert.equal(like.verdict, "missed");
  assert.equal(likeAct.ratio, 12);
  assert.equal(likeAct.verdict, "met");
  // without a several-process column there are no like-for-like rows
  assert.equal(checkTargets(ours, torch.slice(0, 2)).length, 5);
  const pending: OursColumn = { backend: "wasm", cells: {} };
  assert.ok(checkTargets(pending, torch).every((c) => c.verdict === "n/a"));
});

Deno.test("several-process columns: labels, sums, and '-' where a mode was not measured", () => {
  const two = { ...torchCol(1, { "train-1": 9000, act: 5000 }), processes: 2 };
  assert.equal(torchLabel(two), "torch 2×1 thr");
  assert.equal(torchLabel(torchCol(2, {})), "torch 2 thr");
  const m = sumMeasurements([
    { perSecond: 1, envStepsPerSecond: 100, iterations: 3 },
    { perSecond: 2, envStepsPerSecond: 250, iterations: 4 },
  ]);
  assert.deepEqual(m, { perSecond: 3, envStepsPerSecond: 350, iterations: 7 });
  const a = parseTorchOutput(torchJson({ "train-1": 10, act: 50, "train-32": 7 }));
  const b = parseTorchOutput(torchJson({ "train-1": 20, act: 40 }));
  const sum = sumReports([a, b]);
  assert.equal(sum.results["train-1"].envStepsPerSecond, 30);
  assert.equal(sum.results.act.envStepsPerSecond, 90);
  assert.equal(sum.results["train-32"], undefined); // not in every report
  const ours: OursColumn = { backend: "wasm-blas", cells: { "train-32": ok(1000) } };
  const lines = formatCompareTable([ours], [torchCol(1, TORCH_RATES), two]).split("\n");
  assert.match(
    lines[0],
    /torch 1 thr \| torch 2×1 thr \| ours\/torch 1 thr \| ours\/torch 2×1 thr/,
  );
  const b32 = lines.find((l) => l.startsWith("| one run, B=32"))!.split(" | ");
  assert.deepEqual(b32.slice(2), ["12,000", "-", "0.08×", "- |"]);
  const single = lines.find((l) => l.startsWith("| single run"))!.split(" | ");
  assert.equal(single[3], "9,000");
});

Deno.test("`formatFigureEstimate()` prefers rates measured on both cores at once", () => {
  // 100 runs × (15.6M / 15,600 + 1.95M / 19,500) s = 110,000 s on the whole machine: 30.6 h.
  const both: OursColumn = {
    backend: "wasm-blas",
    cells: { "runs-20-2p": ok(15_600), "act-20-2p": ok(19_500), "runs-20": ok(1), "act-20": ok(1) },
  };
  assert.match(formatFigureEstimate(both, []), /both cores at once\): 30\.6 h/);
  // One core's rates are doubled for 2 cores: 55,000 s.
  const one: OursColumn = {
    backend: "wasm-blas",
    cells: { "runs-20": ok(15_600), "act-20": ok(1), "act-20-rm": ok(19_500) },
  };
  assert.match(formatFigureEstimate(one, []), /one core measured, times the cores\): 15\.3 h/);
  // PyTorch: the two-process column when present (rates already summed over both cores).
  const two = { ...torchCol(1, { "train-1": 15_600, act: 19_500 }), processes: 2 };
  const text = formatFigureEstimate(one, [torchCol(1, { "train-1": 15_600, act: 19_500 }), two]);
  assert.match(text, /PyTorch \(1 thread, one run per core, tensor work only, measured on both/);
  assert.match(text, /both cores at once\): 30\.6 h/);
});

Deno.test("`runTorchParallel()` starts the processes together and sums their rates", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Each fake process echoes its --start-at into the version and reports 100 / 300 env-steps/s.
    const py = await fakePython(
      dir,
      `start=""; while [ $# -gt 0 ]; do [ "$1" = "--start-at" ] && start="$2"; shift; done\n` +
        `printf '{"torch": "%s", "threads": 1, "results": [` +
        `{"mode": "train-1", "steps_per_s": 1, "env_steps_per_s": 100, "iterations": 2, "seconds": 1},` +
        `{"mode": "act", "steps_per_s": 300, "env_steps_per_s": 300, "iterations": 2, "seconds": 1}]}\\n' "$start"`,
    );
    const before = Date.now() / 1000;
    const r = await runTorchParallel(2, { python: py, seconds: 0.01 });
    assert.ok(r.ok, r.ok ? "" : r.message);
    if (r.ok) {
      assert.equal(r.report.results["train-1"].envStepsPerSecond, 200);
      assert.equal(r.report.results.act.envStepsPerSecond, 600);
      const start = Number(r.report.torch);
      assert.ok(start > before && start < before + 60, `start-at ${r.report.torch}`);
    }
    const failing = await runTorchParallel(2, { python: await fakePython(dir, "exit 4") });
    assert.equal(failing.ok, false);
    await assert.rejects(() => runTorchParallel(0), /invalid process count 0/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`figureBudget()` and `panelSeconds()` follow algorithms.md §4", () => {
  // 5 algorithms × 20 seeds; (2,000,000 - 50,000) × 8 trained steps; acting after prepopulation.
  const b = figureBudget();
  assert.deepEqual(b, {
    runs: 100,
    envSteps: 2_000_000,
    trainedSteps: 15_600_000,
    actingSteps: 1_950_000,
  });
  // 100 runs × (15.6M / 15,600 + 1.95M / 19,500) s = 100 × (1000 + 100) s, over 2 cores.
  assert.equal(panelSeconds(b, 15_600, 19_500, 2), 55_000);
  assert.throws(() => panelSeconds(b, 0, 1, 2), /rates must be positive/);
});

/** Write an executable fake "python" shell script; returns its path. */
async function fakePython(dir: string, body: string): Promise<string> {
  const path = `${dir}/python3`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test("`runTorch()` skips with a message when Python or PyTorch is absent", async () => {
  const missing = await runTorch({ python: "/nonexistent/python3", seconds: 0.01 });
  assert.equal(missing.ok, false);
  if (!missing.ok) {
    assert.match(missing.message, /skipped: \/nonexistent\/python3 not found/);
    assert.match(missing.message, /python3-torch/);
  }
  const dir = await Deno.makeTempDir();
  try {
    const py = await fakePython(
      dir,
      `echo "ModuleNotFoundError: No module named 'torch'" >&2; exit 1`,
    );
    const noTorch = await runTorch({ python: py, seconds: 0.01 });
    assert.equal(noTorch.ok, false);
    if (!noTorch.ok) assert.match(noTorch.message, /has no torch module.*python3-torch/);
    const crash = await runTorch({ python: await fakePython(dir, "echo boom >&2; exit 3") });
    assert.equal(crash.ok, false);
    if (!crash.ok) assert.match(crash.message, /exited with code 3: boom/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`runTorch()` passes threads, seconds, modes and the thread environment", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The fake interpreter reports its arguments and environment as the torch version string.
    const py = await fakePython(
      dir,
      `printf '{"torch": "%s", "threads": 2, "results": []}\\n' "$* $OMP_NUM_THREADS $OMP_WAIT_POLICY"`,
    );
    const r = await runTorch({ python: py, threads: 2, seconds: 0.5, modes: ["act", "train-1"] });
    assert.ok(r.ok);
    if (r.ok) {
      assert.equal(
        r.report.torch,
        `${TORCH_SCRIPT} --threads 2 --seconds 0.5 --modes act,train-1 2 PASSIVE`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`formatComparison()` explains pending and skipped columns", () => {
  const r: ComparisonResult = {
    machine: { cores: 2, loadBefore: [1, 0.5, 0.25], loadAfter: [2, 1, 0.5], deno: "2.9.6" },
    ours: [{
      backend: "wasm-blas",
      cells: {
        "train-1": ok(3000),
        "runs-20": { status: "pending", message: "batched trainer not written yet" },
      },
    }],
    torch: [1, 2].map((threads) => ({
      threads,
      run: { ok: false as const, message: "PyTorch rows skipped: no torch" },
    })),
  };
  const text = formatComparison(r);
  assert.match(text, /^machine: 2 cores, load average 1\.00 0\.50 0\.25 before, 2\.00 1\.00 0\.50/);
  assert.match(text, /PyTorch absent/);
  assert.match(text, /- ours wasm-blas: pending: batched trainer not written yet/);
  assert.match(text, /- torch 1 thr, torch 2 thr: PyTorch rows skipped: no torch/);
  assert.match(
    text,
    /K=20 batched training on 1 core ≥ 3× torch 1-episode training: - \(need 3×\): N\/A/,
  );
  assert.match(text, /ours: needs the K=20 rows/);
  assert.match(text, /PyTorch: not measured/);
});

Deno.test("`formatMachine()` names the CPU and OpenBLAS's kernels when known, and leaves them out otherwise", () => {
  const base = { cores: 2, loadBefore: [1, 0.5, 0.25], loadAfter: [2, 1, 0.5], deno: "2.9.6" };
  assert.equal(
    formatMachine({ ...base, cpu: "AMD EPYC", blasKernels: "Haswell" }, []),
    "machine: 2 cores (AMD EPYC), OpenBLAS kernels Haswell, load average 1.00 0.50 0.25 before, " +
      "2.00 1.00 0.50 after; Deno 2.9.6; PyTorch absent",
  );
  assert.equal(
    formatMachine(base, []),
    "machine: 2 cores, load average 1.00 0.50 0.25 before, 2.00 1.00 0.50 after; Deno 2.9.6; " +
      "PyTorch absent",
  );
});

/** Whether Debian's Python has PyTorch (without importing it). */
function hasTorch(): boolean {
  try {
    return new Deno.Command("/usr/bin/python3", {
      args: [
        "-c",
        "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('torch') else 1)",
      ],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "`runTorch()` runs bench/torch_workload.py (when python3-torch is installed)",
  ignore: !hasTorch(),
  fn: async () => {
    const r = await runTorch({ seconds: 0.01, modes: ["train-1", "bmm-2", "act"] });
    assert.ok(r.ok, r.ok ? "" : r.message);
    if (r.ok) {
      assert.equal(r.report.threads, 1);
      const t1 = r.report.results["train-1"], bmm = r.report.results["bmm-2"];
      assert.ok(t1.perSecond > 0 && t1.envStepsPerSecond === t1.perSecond * 100);
      assert.ok(bmm.envStepsPerSecond === bmm.perSecond * 2 * 100);
      assert.equal(r.report.results.act.envStepsPerSecond, r.report.results.act.perSecond);
    }
  },
});

Deno.test("`TORCH_MODES` covers every workload's torch mode once", () => {
  assert.deepEqual([...TORCH_MODES].sort(), [
    "act",
    "bmm-20",
    "bmm-8",
    "seq-20",
    "seq-8",
    "train-1",
    "train-32",
  ]);
});

Deno.test("`bestCell()`, `mergeCells()` and `mergeTorchRuns()` keep the fastest round", () => {
  const pending: Cell = { status: "pending", message: "later" };
  assert.deepEqual(bestCell(ok(5), ok(7)), ok(7));
  assert.deepEqual(bestCell(ok(7), ok(5)), ok(7));
  assert.deepEqual(bestCell(pending, ok(5)), ok(5));
  assert.deepEqual(bestCell(ok(5), pending), ok(5));
  assert.deepEqual(bestCell(pending, undefined), pending);
  assert.deepEqual(mergeCells({ a: ok(1), b: ok(9) }, { a: ok(2), b: ok(3), c: pending }), {
    a: ok(2),
    b: ok(9),
    c: pending,
  });
  const r1 = { ok: true as const, report: parseTorchOutput(torchJson({ "train-1": 10, act: 50 })) };
  const r2 = { ok: true as const, report: parseTorchOutput(torchJson({ "train-1": 20, act: 40 })) };
  const m = mergeTorchRuns(r1, r2);
  assert.ok(m.ok);
  if (m.ok) {
    assert.equal(m.report.results["train-1"].envStepsPerSecond, 20);
    assert.equal(m.report.results.act.envStepsPerSecond, 50);
  }
  const failed = { ok: false as const, message: "no torch" };
  assert.equal(mergeTorchRuns(failed, r1), r1);
  assert.equal(mergeTorchRuns(r1, failed), r1);
});

Deno.test("`measureParallel()` runs the processes with one start time and sums their rates", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A stand-in for bench/batched_bench.ts: reports fixed rates and its own arguments.
    const script = `${dir}/fake_bench.ts`;
    await Deno.writeTextFile(
      script,
      `const a = Deno.args; const at = (f: string) => a[a.indexOf(f) + 1];
const perRun = at("--algo") === "dqn" ? 200 : 100;
console.log(JSON.stringify([{ roundsPerSecond: 2, trainedStepsPerSecond: Number(at("--k")) * perRun,
  actRunMajorStepsPerSecond: a.includes("--no-act") ? null : 500, iterations: { train: 3 } }]));`,
    );
    const before = Date.now();
    const r = await measureParallel({ processes: 2, k: 10, seconds: 0.1, script });
    assert.deepEqual(r.train, { perSecond: 4, envStepsPerSecond: 2000, iterations: 6 });
    assert.equal(r.actRunMajor?.envStepsPerSecond, 1000);
    assert.equal(r.actRunMajor?.perSecond, 100); // per environment: 500 / 10, twice
    // --algo and --no-act reach the script; without acting there is no acting measurement.
    const quiet = await measureParallel({
      processes: 1,
      k: 4,
      seconds: 0.1,
      script,
      algo: "dqn",
      act: false,
    });
    assert.equal(quiet.actRunMajor, null);
    assert.equal(quiet.train.envStepsPerSecond, 800);
    await Deno.writeTextFile(script, `console.error("no BLAS here"); Deno.exit(3);`);
    await assert.rejects(
      () => measureParallel({ processes: 2, k: 10, seconds: 0.1, script }),
      /process 1 exited with code 3: no BLAS here/,
    );
    await assert.rejects(
      () => measureParallel({ processes: 0, k: 10, seconds: 0.1, script }),
      /invalid processes 0/,
    );
    assert.ok(Date.now() - before < 60_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`formatFigureEstimate()` uses each algorithm's own rate when all five were measured", () => {
  const cells: Record<string, Cell> = { "runs-20-2p": ok(15_600), "act-20-2p": ok(19_500) };
  for (const a of ["dqn", "adqn-vr", "adqn-state", "adqn-state-vr"]) {
    cells[`runs-20-2p:${a}`] = ok(a === "dqn" ? 31_200 : 15_600);
  }
  // 80 runs × 1,100 s + 20 runs × (500 + 100) s = 100,000 s = 27.8 h; ADQN's rate for all: 30.6 h.
  const text = formatFigureEstimate({ backend: "wasm-blas", cells }, []);
  assert.match(text, /dqn 31,200, adqn 15,600, adqn-vr 15,600.*\): 27\.8 h/);
  assert.match(text, /with ADQN's rate for all five algorithms: 30\.6 h/);
  assert.equal(panelSecondsByAlgorithm(figureBudget(), [15_600, 31_200], 19_500, 1), 85_000);
  assert.throws(() => panelSecondsByAlgorithm(figureBudget(), [], 1, 1), /no training rates/);
});
