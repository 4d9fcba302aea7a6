import assert from "assert";
import { ENV_IDS, makeEnv } from "../../lib/envs/mod.ts";

// The classic tiger problem in Cassandra format (2 states, 3 actions, 2 observations).
const TIGER = `discount: 0.95
values: reward
states: tiger-left tiger-right
actions: listen open-left open-right
observations: tiger-left tiger-right
start: uniform
T: listen
identity
T: open-left
uniform
T: open-right
uniform
O: listen
0.85 0.15
0.15 0.85
O: open-left
uniform
O: open-right
uniform
R: listen : * : * : * -1
R: open-left : tiger-left : * : * -100
R: open-left : tiger-right : * : * 10
R: open-right : tiger-left : * : * 10
R: open-right : tiger-right : * : * -100
`;

Deno.test("ENV_IDS lists the five benchmark environments", () => {
  assert.deepEqual([...ENV_IDS], [
    "heaven-hell-3",
    "heaven-hell-4",
    "car-flag",
    "cleaner",
    "memory-four-rooms-7x7",
  ]);
});

Deno.test("makeEnv() builds every registered id with the expected sizes", () => {
  const expected: Record<string, [number, number]> = {
    "heaven-hell-3": [4, 1000],
    "heaven-hell-4": [4, 1000],
    "car-flag": [7, 1000],
    "cleaner": [16, 200],
    "memory-four-rooms-7x7": [6, 1000],
  };
  for (const id of ENV_IDS) {
    const env = makeEnv(id);
    assert.equal(env.id, id);
    assert.deepEqual([env.numActions, env.timeLimit], expected[id], id);
  }
  assert.equal(makeEnv("car-flag").obsSpec.size, 3);
  assert.equal(makeEnv("cleaner").obsSpec.size, 54);
  assert.equal(makeEnv("cleaner").stateSpec.size, 845);
  assert.equal(makeEnv("memory-four-rooms-7x7").obsSpec.size, 150);
  assert.equal(makeEnv("memory-four-rooms-7x7").stateSpec.size, 205);
});

Deno.test("makeEnv() passes the time limit on", () => {
  for (const id of ENV_IDS) assert.equal(makeEnv(id, { timeLimit: 17 }).timeLimit, 17, id);
});

Deno.test("makeEnv() rejects an unknown id, naming the valid ones", () => {
  assert.throws(
    () => makeEnv("hh3"),
    (e: Error) =>
      e.message.startsWith('unknown environment "hh3"; expected one of heaven-hell-3,') &&
      ENV_IDS.every((id) => e.message.includes(id)) && e.message.includes("pomdp:"),
  );
});

Deno.test("makeEnv() loads pomdp:<path> files as tabular environments", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/tiger.pomdp`;
    Deno.writeTextFileSync(path, TIGER);
    const env = makeEnv(`pomdp:${path}`, { timeLimit: 9 });
    assert.equal(env.id, `pomdp:${path}`);
    assert.equal(env.numActions, 3);
    assert.equal(env.timeLimit, 9);
    assert.throws(() => makeEnv(`pomdp:${dir}/missing.pomdp`), /missing\.pomdp/);
    assert.throws(() => makeEnv("pomdp:"), /pomdp:<path/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
