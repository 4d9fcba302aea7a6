import assert from "assert";
import { DatabaseSync } from "node:sqlite";
import { ResultsDb } from "../../lib/results/db.ts";
import { isCommittedFile } from "../../lib/experiments/cli.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

type Task = "train" | "reproduce" | "figures";

/** Run cases in a fresh empty working directory; return exit codes, all stdout and each case's stderr. */
async function runCases(cases: [Task, string[]][], prepare: (dir: string) => void) {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-cli-" });
  prepare(dir);
  const before = snapshotDir(dir);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}tests/tasks/fixtures/cli_cases.ts`,
      JSON.stringify(cases),
    ],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const codes = JSON.parse(text.trim().split("\n").at(-1)!) as number[];
  const errs = stderr.split(/@@CASE \d+\n/).slice(1);
  return { dir, codes, text, errs, before, after: snapshotDir(dir) };
}

/** Every file under dir with its bytes, as "path: base64-ish length+sum". */
function snapshotDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) {
        out[p.slice(dir.length)] = "dir";
        walk(p);
      } else {
        const b = Deno.readFileSync(p);
        let h = 0;
        for (const x of b) h = (h * 31 + x) >>> 0;
        out[p.slice(dir.length)] = `${b.length}:${h}`;
      }
    }
  };
  walk(dir);
  return out;
}

function git(dir: string, ...args: string[]) {
  const out = new Deno.Command("git", {
    args: ["-c", "user.name=t", "-c", "user.email=t@t", "-C", dir, ...args],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

function prepare(dir: string) {
  // A results database committed to git, as data/fig1-quick/results.sqlite is.
  git(dir, "init", "-q");
  ResultsDb.open(`${dir}/published.sqlite`).close();
  git(dir, "add", "published.sqlite");
  git(dir, "commit", "-q", "-m", "results");
  const d = new DatabaseSync(`${dir}/foreign.db`);
  d.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)");
  d.close();
  Deno.writeTextFileSync(`${dir}/afile`, "not a directory");
  const preamble = "discount: 0.9\nvalues: reward\nstates: 2\nactions: 1\nobservations: 1\n";
  Deno.writeTextFileSync(`${dir}/stray.pomdp`, preamble + "atom 0 : 1\n");
  Deno.writeTextFileSync(
    `${dir}/sums.pomdp`,
    preamble + "T: 0\n0.5 0.4\n0 1\nO: * : * : 0 1\nR: * : * : * : * 1\n",
  );
}

// [task, args, pattern the error must match (it names the flag and the bad value)]
const CASES: [Task, string[], RegExp][] = [
  ["train", [], /missing --env/],
  [
    "train",
    ["--env", "hh3", "--algo", "dqn"],
    /invalid --env "hh3": unknown environment "hh3"; expected one of heaven-hell-3/,
  ],
  [
    "train",
    ["--env", "pomdp:nope.pomdp", "--algo", "dqn"],
    /invalid --env "pomdp:nope.pomdp"; expected pomdp:<path of an existing/,
  ],
  [
    "train",
    ["--env", "pomdp:stray.pomdp", "--algo", "dqn"],
    /invalid --env "pomdp:stray.pomdp": malformed .pomdp file: stray.pomdp:6: unknown statement 'atom 0 :'/,
  ],
  [
    "train",
    ["--env", "pomdp:sums.pomdp", "--algo", "dqn"],
    /invalid --env "pomdp:sums.pomdp": malformed .pomdp file: sums.pomdp:6: transition row T\(· \| action 0, state 0\) sums to 0\.9/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--db", "published.sqlite"],
    /invalid --db "published.sqlite": it is a result database committed to git, read-only by default; pass --write-committed/,
  ],
  [
    "reproduce",
    ["--figure", "1a", "--db", "published.sqlite"],
    /invalid --db "published.sqlite": it is a result database committed to git/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--steps", "--db", "x"],
    /option --steps needs a value, found the option "--db"/,
  ],
  ["train", ["--env", "car-flag"], /missing --algo; expected one of dqn, adqn/],
  [
    "train",
    ["--env", "car-flag", "--algo", "ddqn"],
    /invalid --algo "ddqn"; expected one of dqn, adqn, adqn-vr, adqn-state, adqn-state-vr/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--seed", "-1"],
    /invalid --seed "-1"; expected an integer from 0/,
  ],
  ["train", ["--env", "car-flag", "--algo", "dqn", "--seed", "1.5"], /invalid --seed "1.5"/],
  ["train", ["--env", "car-flag", "--algo", "dqn", "--seed", "x"], /invalid --seed "x"/],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--steps", "0"],
    /invalid --steps "0"; expected an integer from 1/,
  ],
  ["train", ["--env", "car-flag", "--algo", "dqn", "--steps", "lots"], /invalid --steps "lots"/],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--set", "speed=3"],
    /invalid --set: unknown config key "speed"; expected one of/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--set", "lr=fast"],
    /invalid --set: invalid lr "fast"; expected a number/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--set", "lr"],
    /invalid --set: invalid setting "lr"; expected key=value/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--set", "lr=-1"],
    /invalid settings \(--set\): invalid lr -1; expected a positive number/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--set", "seed=3"],
    /invalid --set "seed=3": use --seed instead/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--steps", "100", "--set", "totalSteps=200"],
    /contradictory options: --steps 100 and --set totalSteps=200/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--steps", "100"],
    /invalid settings \(--steps\/--set\): invalid prepopulateSteps 50000; expected at most totalSteps \(100\)/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--db", "foreign.db"],
    /invalid --db "foreign.db": foreign.db is not a results database \(no meta table; tables: users\)/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--db", ""],
    /invalid --db ""; expected a non-empty path/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--checkpoint-dir", "afile"],
    /invalid --checkpoint-dir "afile"; expected a directory/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--backend", "gpu"],
    /invalid --backend "gpu"; expected one of auto, wasm, wasm-blas, cpu, cpu-blas, webgpu/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--lease-timeout", "0"],
    /invalid --lease-timeout "0"; expected seconds/,
  ],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--bogus"],
    /unknown option --bogus; valid options: --env, --algo/,
  ],
  ["train", ["--env", "car-flag", "--algo", "dqn", "--seed"], /option --seed needs a value/],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--seed", "1", "--seed", "2"],
    /--seed given 2 times \(1, 2\); give it once/,
  ],
  ["train", ["--env", "car-flag", "--algo", "dqn", "extra"], /unexpected argument "extra"/],
  [
    "train",
    ["--env", "car-flag", "--algo", "dqn", "--keep-checkpoint=yes"],
    /option --keep-checkpoint takes no value/,
  ],
  ["reproduce", [], /missing --figure; expected one of 1a, 1b, 1c, 1d, 1e, all/],
  [
    "reproduce",
    ["--figure", "2a"],
    /invalid --figure "2a"; expected one of 1a, 1b, 1c, 1d, 1e, all/,
  ],
  ["reproduce", ["--figure", "all,1a"], /invalid --figure "all,1a"; expected "all" alone/],
  [
    "reproduce",
    ["--figure", "1a,1a"],
    /invalid --figure "1a,1a"; expected each panel at most once/,
  ],
  [
    "reproduce",
    ["--figure", "1a", "--preset", "fast"],
    /invalid --preset "fast"; expected one of paper, quick/,
  ],
  [
    "reproduce",
    ["--figure", "1a", "--seeds", "0"],
    /invalid --seeds "0"; expected an integer from 1 to 1000/,
  ],
  ["reproduce", ["--figure", "1a", "--seeds", "three"], /invalid --seeds "three"/],
  [
    "reproduce",
    ["--figure", "1a", "--workers", "0"],
    /invalid --workers "0"; expected an integer from 1/,
  ],
  ["reproduce", ["--figure", "1a", "--workers", "2.5"], /invalid --workers "2.5"/],
  [
    "reproduce",
    ["--figure", "1a", "--db", "foreign.db"],
    /invalid --db "foreign.db": .*not a results database/,
  ],
  [
    "reproduce",
    ["--figure", "1a", "--out", "afile"],
    /invalid --out "afile"; expected a directory/,
  ],
  [
    "reproduce",
    ["--figure", "1a", "--checkpoint-dir", "afile"],
    /invalid --checkpoint-dir "afile"/,
  ],
  [
    "reproduce",
    ["--figure", "1a", "--out", "x", "--checkpoint-dir", "x"],
    /contradictory options: --out and --checkpoint-dir are both "x"/,
  ],
  ["reproduce", ["--figure", "1a", "--backend", "tpu"], /invalid --backend "tpu"/],
  ["reproduce", ["--figure", "1a", "--lease-timeout", "-5"], /invalid --lease-timeout "-5"/],
  [
    "reproduce",
    ["--figure", "1a", "--preset", "quick", "--preset", "paper"],
    /--preset given 2 times \(quick, paper\)/,
  ],
  ["reproduce", ["--figure", "1a", "--skip-png=no"], /option --skip-png takes no value/],
  [
    "reproduce",
    ["--figure", "1a", "--keep-checkpoints=1"],
    /option --keep-checkpoints takes no value/,
  ],
  ["reproduce", ["--figure", "1a", "--frobnicate"], /unknown option --frobnicate/],
  [
    "reproduce",
    ["--figure", "1a", "--set", "seed=1"],
    /invalid --set "seed=1": the grid sets env, algo and seed/,
  ],
  [
    "reproduce",
    ["--figure", "1a", "--set", "speed=1"],
    /invalid --set: unknown config key "speed"/,
  ],
  [
    "reproduce",
    ["--figure", "1a", "--set", "totalSteps=10"],
    /invalid settings \(--set\): invalid prepopulateSteps \d+; expected at most totalSteps \(10\)/,
  ],
  ["figures", ["--set", "lr=x"], /invalid --set: invalid lr "x"/],
  ["figures", [], /invalid --db "data\/results.sqlite"; expected an existing results database/],
  [
    "figures",
    ["--db", "missing.sqlite"],
    /invalid --db "missing.sqlite"; expected an existing results database/,
  ],
  ["figures", ["--db", "foreign.db"], /invalid --db "foreign.db": .*not a results database/],
  ["figures", ["--figure", "9z"], /invalid --figure "9z"/],
  ["figures", ["--preset", "slow"], /invalid --preset "slow"/],
  ["figures", ["--out", "afile"], /invalid --out "afile"; expected a directory/],
  ["figures", ["--csv=1"], /option --csv takes no value/],
  ["figures", ["--skip-png=1"], /option --skip-png takes no value/],
  ["figures", ["--nope"], /unknown option --nope/],
];

Deno.test("task command lines reject bad input for every flag with a clear error, exit code 2, and write nothing", async () => {
  const r = await runCases(CASES.map(([t, a]) => [t, a]), prepare);
  assert.equal(r.codes.length, CASES.length);
  CASES.forEach(([task, args, pattern], i) => {
    const what = `${task} ${args.join(" ")}`;
    assert.equal(r.codes[i], 2, `${what}: exit code; stderr: ${r.errs[i]}`);
    assert.match(r.errs[i], pattern, what);
  });
  assert.deepEqual(
    r.after,
    r.before,
    "nothing written: no database, no directories, foreign file intact",
  );
});

Deno.test("`isCommittedFile()` is true only for a file tracked by git", () => {
  const dir = Deno.makeTempDirSync({ prefix: "adqn-git-" });
  prepare(dir);
  assert.equal(isCommittedFile(`${dir}/published.sqlite`), true);
  assert.equal(isCommittedFile(`${dir}/foreign.db`), false, "untracked");
  assert.equal(isCommittedFile(`${Deno.makeTempDirSync()}/x.sqlite`), false, "no repository");
});

Deno.test("`reproduce --figure list` and `figures --figure list` print the panels and exit 0", async () => {
  const { dir, codes, text } = await runCases(
    [["reproduce", ["--figure", "list"]], ["figures", ["--figure", "list"]]],
    () => {},
  );
  assert.deepEqual(codes, [0, 0]);
  assert.match(text, /1a {2}heaven-hell-3 +Heaven-Hell-3/);
  assert.match(text, /1e {2}memory-four-rooms-7x7 +MemoryFourRooms-7x7/);
  assert.deepEqual([...Deno.readDirSync(dir)], []);
});

Deno.test("`--help` of each task prints its usage and exits 0", async () => {
  const cases: [Task, string[]][] = [["train", ["--help"]], ["reproduce", ["-h"]], ["figures", [
    "--help",
  ]]];
  const { dir, codes, text } = await runCases(cases, () => {});
  assert.deepEqual(codes, [0, 0, 0]);
  assert.match(text, /Usage: deno task train/);
  assert.match(text, /Usage: deno task reproduce/);
  assert.match(text, /Usage: deno task figures/);
  // One clean line per preset, no reference to files that users do not have.
  assert.match(text, /\n {2}paper {2}20 seeds; the paper's protocol[^\n]*\n {2}quick {2}2 seeds; /);
  assert.doesNotMatch(text, /algorithms\.md|10 minutes/);
  assert.deepEqual([...Deno.readDirSync(dir)], []);
});

Deno.test("the task entry points exit with code 2 on a bad flag", async () => {
  const dir = Deno.makeTempDirSync();
  for (
    const [task, args] of [["train", ["--env", "nowhere"]], ["reproduce", ["--figure", "7"]], [
      "figures",
      ["--figure", "7"],
    ]] as [string, string[]][]
  ) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", `${ROOT}deno.json`, `${ROOT}tasks/${task}.ts`, ...args],
      cwd: dir,
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(out.code, 2, task);
    assert.match(new TextDecoder().decode(out.stderr), /^error: invalid --/);
  }
  assert.deepEqual([...Deno.readDirSync(dir)], []);
});
