import assert from "assert";
import {
  currentSlurmJob,
  parseSlurmTime,
  shellQuote,
  slurmScript,
  type SlurmScriptOptions,
} from "../../lib/cluster/slurm.ts";

const BASE: SlurmScriptOptions = {
  jobName: "adqn-1a-quick",
  tasks: 4,
  time: "02:00:00",
  cpus: 1,
  sweepDir: "/shared/sweeps/1a-quick",
  repoDir: "/shared/adqn",
};

function sbatchLines(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("#SBATCH ")).map((l) => l.slice(8));
}

Deno.test("`parseSlurmTime()` reads every Slurm time form", () => {
  // By hand from sbatch(1): minutes, min:sec, h:m:s, d-h, d-h:m, d-h:m:s.
  assert.equal(parseSlurmTime("90"), 90 * 60);
  assert.equal(parseSlurmTime("1:30"), 90);
  assert.equal(parseSlurmTime("02:00:00"), 7200);
  assert.equal(parseSlurmTime("1-12"), 36 * 3600);
  assert.equal(parseSlurmTime("2-03:04"), (2 * 24 + 3) * 3600 + 4 * 60);
  assert.equal(parseSlurmTime("0-00:00:30"), 30);
});

Deno.test("`parseSlurmTime()` rejects bad and unlimited limits, naming the value", () => {
  for (const bad of ["", "abc", "1:2:3:4", "00:61:00", "infinite", "UNLIMITED", "-5", "1.5"]) {
    assert.throws(() => parseSlurmTime(bad), (e: Error) => e.message.includes(JSON.stringify(bad)));
  }
  assert.throws(() => parseSlurmTime("0"), /positive/);
});

Deno.test("`slurmScript()` writes a requeue-safe job array that execs the task entry", () => {
  const text = slurmScript({ ...BASE, partition: "gpu", mem: "4G", maxParallel: 2 });
  assert.ok(text.startsWith("#!/bin/bash\n"));
  const opts = sbatchLines(text);
  assert.deepEqual(opts, [
    "--job-name=adqn-1a-quick",
    "--array=0-3%2",
    "--partition=gpu",
    "--time=02:00:00",
    "--nodes=1",
    "--ntasks=1",
    "--cpus-per-task=1",
    "--mem=4G",
    "--requeue",
    "--signal=B:TERM@120",
    "--open-mode=append",
    "--output=/shared/sweeps/1a-quick/logs/%A_%a.out",
    "--chdir=/shared/adqn",
  ]);
  const exec = text.split("\n").find((l) => l.startsWith("exec "));
  assert.equal(
    exec,
    "exec deno run -A /shared/adqn/tasks/slurm_task.ts --plan /shared/sweeps/1a-quick/plan.json" +
      ' --task "${SLURM_ARRAY_TASK_ID}"',
  );
  // Every #SBATCH line comes before the first command (sbatch stops reading them there).
  const lines = text.split("\n");
  const lastSbatch = lines.findLastIndex((l) => l.startsWith("#SBATCH"));
  const firstCommand = lines.findIndex((l, i) => i > 0 && l.trim() && !l.startsWith("#"));
  assert.ok(lastSbatch < firstCommand);
});

Deno.test("`slurmScript()` omits unset options and passes extras, headers and the no-requeue flag", () => {
  const text = slurmScript({
    ...BASE,
    tasks: 1,
    graceSeconds: 300,
    account: "proj1",
    qos: "long",
    extraSbatch: ["--constraint=avx2"],
    header: ["made by a test"],
    autoRequeue: false,
    deno: "/opt/deno/bin/deno",
    env: { OPENBLAS_CORETYPE: "Haswell", ODD: "a b" },
  });
  const opts = sbatchLines(text);
  assert.ok(opts.includes("--array=0-0"));
  assert.ok(opts.includes("--signal=B:TERM@300"));
  assert.ok(opts.includes("--account=proj1") && opts.includes("--qos=long"));
  assert.ok(opts.includes("--constraint=avx2"));
  assert.ok(!opts.some((o) => o.startsWith("--partition") || o.startsWith("--mem")));
  assert.ok(text.includes("\n# made by a test\n"));
  assert.match(text, /exec \/opt\/deno\/bin\/deno run .* --no-auto-requeue\n/);
  // The environment is exported before the trainer starts, values quoted for the shell.
  const env = text.indexOf("export OPENBLAS_CORETYPE=Haswell\n");
  assert.ok(env > 0 && env < text.indexOf("exec "));
  assert.ok(text.includes("export ODD='a b'\n"));
});

Deno.test("`slurmScript()` is valid bash", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/s.sbatch`;
    await Deno.writeTextFile(path, slurmScript(BASE));
    const out = await new Deno.Command("bash", { args: ["-n", path], stderr: "piped" }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`slurmScript()` rejects bad options with the value and what is valid", () => {
  const cases: [Partial<SlurmScriptOptions>, RegExp][] = [
    [{ tasks: 0 }, /array tasks 0; expected a positive integer/],
    [{ cpus: 1.5 }, /--cpus 1.5/],
    [{ time: "forever" }, /invalid Slurm time limit "forever"/],
    [{ time: "1", graceSeconds: 60 }, /--time 1 \(60 s\)/],
    [{ graceSeconds: 0 }, /invalid grace 0/],
    [{ maxParallel: 0 }, /--max-parallel 0/],
    [{ partition: "a b" }, /invalid partition "a b"/],
    [{ sweepDir: "relative/dir" }, /must be an absolute path/],
    [{ repoDir: "/with space" }, /must not contain spaces/],
    [{ sweepDir: "/odd%dir" }, /"%"/],
    [{ extraSbatch: ["constraint=x"] }, /invalid extra sbatch option/],
    [{ env: { "A-B": "1" } }, /invalid environment variable name "A-B"/],
  ];
  for (const [patch, re] of cases) {
    assert.throws(() => slurmScript({ ...BASE, ...patch }), re, JSON.stringify(patch));
  }
});

Deno.test("`shellQuote()` leaves plain words and single-quotes the rest", () => {
  assert.equal(shellQuote("/a/b-c_d.ts"), "/a/b-c_d.ts");
  assert.equal(shellQuote("a b"), "'a b'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});

Deno.test("`currentSlurmJob()` names the array task, else the job, else null", () => {
  assert.equal(
    currentSlurmJob({ SLURM_ARRAY_JOB_ID: "7", SLURM_ARRAY_TASK_ID: "3", SLURM_JOB_ID: "10" }),
    "7_3",
  );
  assert.equal(currentSlurmJob({ SLURM_JOB_ID: "10" }), "10");
  assert.equal(currentSlurmJob({}), null);
});
