// Clear errors at the edges of the backend: each case runs in a fresh process (the backend is
// global state) with exactly the permissions under test.
import assert from "assert";

const ROOT = new URL("../..", import.meta.url).pathname;

async function run(code: string, permissions: string[]) {
  const dir = await Deno.makeTempDir({ prefix: "edges-" });
  const file = `${dir}/main.ts`;
  await Deno.writeTextFile(file, code.replaceAll("ROOT/", `file://${ROOT}`));
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--config", `${ROOT}deno.json`, ...permissions, file],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("building an agent before initBackend names initBackend", async () => {
  const r = await run(
    `import { makeAgent } from "ROOT/lib/models/mod.ts";
import { makeEnv } from "ROOT/lib/envs/mod.ts";
makeAgent(makeEnv("car-flag"), "adqn", { seed: 0 });`,
    ["-A"],
  );
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /makeAgent: no TensorFlow\.js backend is running; call `await initBackend\(\)`/,
  );
});

Deno.test("initBackend without --allow-read says that wasm needs it", async () => {
  const r = await run(
    `import { initBackend } from "ROOT/lib/nn/backend.ts";
console.log(await initBackend("wasm"));`,
    [`--allow-read=${ROOT}node_modules/.deno/@tensorflow+tfjs-core@4.22.0/DUMMY`],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /"wasm" backend could not start: it needs the permission --allow-read/);
  assert.equal(r.stdout.trim(), "cpu");
});

Deno.test("initBackend('auto') on plain wasm prints one notice with the install hint", async () => {
  const r = await run(
    `import { initBackend } from "ROOT/lib/nn/backend.ts";
console.log(await initBackend("auto"));`,
    ["--allow-read", "--allow-env"], // no --allow-ffi: OpenBLAS cannot load
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "wasm");
  const notices = r.stderr.split("\n").filter((l) => l.startsWith("NOTICE initBackend"));
  assert.equal(notices.length, 1, r.stderr);
  assert.match(notices[0], /auto is using plain "wasm", about 3× slower than "wasm-blas"/);
  assert.match(notices[0], /libopenblas0/);
  assert.match(notices[0], /ffi permission is not granted/);
});
