import assert from "assert";
import { readTaskEvents } from "../../lib/cluster/task.ts";
import { ResultsDb } from "../../lib/results/db.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

/** The child's environment: no SLURM_* variables, so it never acts on a surrounding Slurm job. */
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", ...extra };
  for (const k of ["PATH", "HOME", "DENO_DIR", "TMPDIR"]) {
    const v = Deno.env.get(k);
    if (v !== undefined && !(k in env)) env[k] = v;
  }
  return env;
}

async function deno(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: ROOT,
    clearEnv: true,
    env: childEnv(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "cluster-cli-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const TINY = [
  "--set",
  "prepopulateSteps=200",
  "--set",
  "timeLimit=50",
  "--set",
  "model.gruHidden=16",
  "--set",
  "model.headHidden=[32]",
];

Deno.test("`deno task sweep` and `deno task collect` exit 2 on bad arguments, naming them", async () => {
  const sweep = await deno([
    "tasks/sweep.ts",
    "--figure",
    "9z",
    "--preset",
    "quick",
    "--emit",
    "slurm",
  ]);
  assert.equal(sweep.code, 2);
  assert.match(sweep.stderr, /unknown figure "9z"/);
  const collect = await deno(["tasks/collect.ts", "--db", "x.sqlite"]);
  assert.equal(collect.code, 2);
  assert.match(collect.stderr, /--from is required/);
});

Deno.test("`deno task sweep` and `collect` usage errors are clear, not Node's or the OS's texts", async () => {
  await withDir(async (dir) => {
    const cases: [string[], RegExp][] = [
      [
        ["tasks/sweep.ts", "--figure", "1a", "--preset", "quick"],
        /missing --emit; expected --emit slurm/,
      ],
      [
        [
          "tasks/sweep.ts",
          "--figure",
          "1a",
          "--preset",
          "quick",
          "--emit",
          "slurm",
          "--grace",
          "-5",
          "--out",
          `${dir}/s`,
        ],
        /invalid --grace "-5"; expected a positive integer/,
      ],
      [
        ["tasks/sweep.ts", "--figure", "1a", "--grace", "--emit", "slurm"],
        /option --grace needs a value, found the option "--emit"/,
      ],
      [
        ["tasks/collect.ts", "--from", `${dir}/nonexistent`, "--db", `${dir}/m.sqlite`],
        /invalid --from ".*nonexistent"; expected an existing sweep folder/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await deno(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, pattern, args.join(" "));
      assert.doesNotMatch(r.stderr, /ambiguous|os error|null/, args.join(" "));
    }
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written");
  });
});

Deno.test("`tasks/slurm_task.ts` checkpoints on SIGTERM and exits 143; `deno task collect` reports the partial run", async () => {
  await withDir(async (dir) => {
    const out = `${dir}/sweep`;
    const made = await deno([
      "tasks/sweep.ts",
      "--figure=1a",
      "--preset=quick",
      "--emit=slurm",
      "--algos=dqn",
      "--seeds=1",
      `--out=${out}`,
      "--checkpoint-every=500",
      ...TINY,
      "--set",
      "totalSteps=200000",
      "--set",
      "logEvery=500",
    ]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, new RegExp(`sbatch ${out}/sweep.sbatch`));

    const bad = await deno(["tasks/slurm_task.ts", "--plan", `${out}/plan.json`, "--task", "1"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /array task 1 is not in this sweep; expected 0..0/);

    // Outside Slurm (no SLURM_* variables): a plain SIGTERM stops it cleanly, without requeue.
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "tasks/slurm_task.ts", "--plan", `${out}/plan.json`, "--task", "0"],
      cwd: ROOT,
      clearEnv: true,
      env: childEnv({ TMPDIR: dir }),
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const ckptDir = `${out}/checkpoints`;
    const until = Date.now() + 120_000;
    while (![...Deno.readDirSync(ckptDir)].length) {
      if (Date.now() > until) {
        child.kill("SIGKILL");
        await child.output();
        throw new Error("no checkpoint within 120 s");
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGTERM");
    const res = await child.output();
    const stdout = new TextDecoder().decode(res.stdout);
    assert.equal(res.code, 143, stdout + new TextDecoder().decode(res.stderr));
    assert.match(stdout, /SIGTERM: writing a checkpoint and stopping/);
    assert.match(stdout, /interrupted at step \d+ of 200000/);
    const events = readTaskEvents(out, 0).map((e) => e.event);
    assert.deepEqual(events, ["task-start", "run-begin", "signal", "run-end", "task-end"]);
    assert.equal([...Deno.readDirSync(ckptDir)].length, 1);

    const main = `${dir}/main.sqlite`;
    const collected = await deno(["tasks/collect.ts", "--from", out, "--db", main]);
    assert.equal(collected.code, 1, collected.stderr);
    assert.match(collected.stdout, /0\/1 finished, 1 partial, 0 failed, 0 missing/);
    const allowed = await deno([
      "tasks/collect.ts",
      "--from",
      out,
      "--db",
      main,
      "--allow-missing",
    ]);
    assert.equal(allowed.code, 0);
    assert.match(allowed.stdout, /0 run\(s\) added, 0 updated, 1 unchanged/);
    const db = ResultsDb.open(main, { readOnly: true });
    try {
      const [run] = db.listRuns();
      assert.equal(run.status, "queued");
      assert.ok(run.envSteps >= 500);
    } finally {
      db.close();
    }
  });
});
