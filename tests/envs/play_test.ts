import assert from "assert";
import {
  arrowBindings,
  KeyDecoder,
  parsePlayLine,
  parseSeedArg,
  play,
  playLegend,
} from "../../lib/envs/play.ts";
import { makeCarFlag } from "../../lib/envs/car_flag.ts";
import { makeCleaner } from "../../lib/envs/cleaner.ts";
import { makeMemoryFourRooms } from "../../lib/envs/memory_four_rooms.ts";

const PLAY = new URL("../../tasks/play.ts", import.meta.url).pathname;

/** Run `deno run -A tasks/play.ts ...args` with `input` piped to stdin. */
async function runPlay(args: string[], input: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PLAY, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("parseSeedArg() accepts integers and rejects anything else", () => {
  assert.equal(parseSeedArg("42"), 42);
  assert.equal(parseSeedArg("-3"), -3);
  for (const bad of ["abc", "1.5", "", "1e3", "99999999999999999999"]) {
    assert.throws(() => parseSeedArg(bad), /invalid --seed .*expected an integer/, bad);
  }
});

Deno.test("parsePlayLine() reads numbers, action names and commands", () => {
  const env = makeMemoryFourRooms();
  assert.deepEqual(parsePlayLine(env, " 3 "), { kind: "action", action: 3 });
  assert.deepEqual(parsePlayLine(env, "turn_left"), { kind: "action", action: 4 });
  assert.deepEqual(parsePlayLine(env, "s"), { kind: "state" });
  assert.deepEqual(parsePlayLine(env, "reset"), { kind: "reset" });
  assert.deepEqual(parsePlayLine(env, "q"), { kind: "quit" });
  assert.equal(parsePlayLine(env, "6").kind, "invalid");
  assert.match((parsePlayLine(env, "jump") as { message: string }).message, /unknown input "jump"/);
  // an action named like a command wins: Heaven-Hell's "S" is South
  assert.deepEqual(parsePlayLine({ numActions: 4, actionNames: ["N", "S", "E", "W"] }, "s"), {
    kind: "action",
    action: 1,
  });
});

Deno.test("KeyDecoder decodes digits, arrows and command keys", () => {
  const mfr = new KeyDecoder(makeMemoryFourRooms());
  assert.deepEqual(mfr.feed("\x1b[A\x1b[B\x1b[D\x1b[C"), [
    { kind: "action", action: 0 },
    { kind: "action", action: 1 },
    { kind: "action", action: 4 },
    { kind: "action", action: 5 },
  ]);
  assert.deepEqual(mfr.feed("5srq"), [
    { kind: "action", action: 5 },
    { kind: "state" },
    { kind: "reset" },
    { kind: "quit" },
  ]);
  assert.deepEqual(mfr.feed("\x03"), [{ kind: "quit" }]);
  // 16 actions: "1" waits for a second digit (10..15) or Enter; "2".."9" act at once.
  const cleaner = new KeyDecoder(makeCleaner());
  assert.deepEqual(cleaner.feed("1"), []);
  assert.equal(cleaner.pending, "1");
  assert.deepEqual(cleaner.feed("2"), [{ kind: "action", action: 12 }]);
  assert.deepEqual(cleaner.feed("1\r"), [{ kind: "action", action: 1 }]);
  assert.deepEqual(cleaner.feed("70"), [{ kind: "action", action: 7 }, {
    kind: "action",
    action: 0,
  }]);
  assert.equal(cleaner.feed("19")[0].kind, "invalid");
  assert.equal(cleaner.feed("\x1b[A")[0].kind, "invalid"); // no arrows for two agents
  const car = arrowBindings(makeCarFlag());
  assert.deepEqual(car, { left: 0, right: 6, down: 3 });
  assert.match(playLegend(makeCarFlag(), true), /0 full-left.*6 full-right/);
});

Deno.test("play() runs a scripted session: actions, state toggle, episode end, reset", async () => {
  let text = "";
  const summary = await play({
    env: "car-flag",
    seed: 1,
    lines: ["6", "full-right", "state", "", "bogus", "3", "reset", "6", "quit", "6"],
    write: (s) => {
      text += s;
    },
  });
  assert.deepEqual(summary, { episodes: 0, steps: 4, returns: [] });
  assert.match(text, /car-flag \(seed 1\): 7 actions, time limit 1000/);
  assert.match(text, /action 6 \(full-right\)\s+reward 0/);
  assert.match(text, /showing the latent state\n.*\nobservation:\n[^]*\nstate:\n/);
  assert.match(text, /unknown input "bogus"/);
  assert.match(text, /reset: episode 2 started/);
  assert.match(text, /bye: 4 steps, 0 finished episodes/);
});

Deno.test("play() reports finished episodes and starts the next one", async () => {
  let text = "";
  // Car-Flag with full force right: the flag at x = 1 is reached within 40 steps.
  const summary = await play({
    env: "car-flag",
    seed: 2,
    lines: Array.from({ length: 60 }, () => "6"),
    write: (s) => {
      text += s;
    },
  });
  assert.equal(summary.episodes, 1);
  assert.equal(Math.abs(summary.returns[0]), 1);
  assert.match(text, /episode 1 terminated after \d+ steps, return -?1\n/);
  assert.match(text, /episode 2 started/);
});

Deno.test("deno task play: scripted heaven-hell-3 session through piped stdin", async () => {
  // N N N reaches the top fork, W W W the left end, one more action ends the episode with ±1.
  const { code, stdout, stderr } = await runPlay(
    ["heaven-hell-3", "--seed", "1", "--show-state"],
    "0\n0\nN\n3\n3\n3\n1\n",
  );
  assert.equal(code, 0, stderr);
  assert.match(stdout, /heaven-hell-3 \(seed 1\): 4 actions/);
  assert.match(stdout, /actions: 0 \S+, 1 \S+, 2 \S+, 3 \S+/);
  assert.match(stdout, /observation:/);
  assert.match(stdout, /state:/);
  assert.match(stdout, /episode 1 terminated after 7 steps, return -?1\n/);
  assert.match(stdout, /bye: 7 steps, 1 finished episodes, mean return -?1\n/);
});

Deno.test("deno task play: bad environment id or seed fails clearly", async () => {
  const badEnv = await runPlay(["nope", "--seed", "1"], "");
  assert.notEqual(badEnv.code, 0);
  assert.match(badEnv.stderr, /unknown environment "nope"; expected one of heaven-hell-3/);
  const badSeed = await runPlay(["car-flag", "--seed", "abc"], "");
  assert.notEqual(badSeed.code, 0);
  assert.match(badSeed.stderr, /invalid --seed "abc"; expected an integer/);
  const noEnv = await runPlay([], "");
  assert.notEqual(noEnv.code, 0);
  assert.match(noEnv.stderr, /usage: deno task play/);
});
