import assert from "assert";
import { currentParentPid, processAlive, processStat } from "../../lib/results/process.ts";

const FIXTURE = new URL("./fixtures/orphan.ts", import.meta.url).pathname;

Deno.test("`currentParentPid()` reads this process's parent from /proc", () => {
  if (Deno.build.os !== "linux") return;
  assert.equal(currentParentPid(), Deno.ppid);
  assert.match(processStat(Deno.pid)?.state ?? "", /^[RS]$/, "running or sleeping, not Z");
});

Deno.test("`watchParent()`: a child whose parent is SIGKILLed exits instead of running on", async () => {
  if (Deno.build.os !== "linux") return;
  const dir = Deno.makeTempDirSync({ prefix: "adqn-orphan-" });
  const marker = `${dir}/marker`;
  // sh starts the watcher in the background and waits: killing sh orphans the watcher.
  const sh = new Deno.Command("sh", {
    args: ["-c", `"$0" run -A "$1" "$2" & echo $!; wait`, Deno.execPath(), FIXTURE, marker],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = sh.stdout.getReader();
  let text = "";
  while (!text.includes("watching")) text += new TextDecoder().decode((await reader.read()).value);
  const child = Number(text.trim().split("\n")[0]);
  const start = processStat(child)?.start ?? "";
  assert.ok(processAlive(child, start), "the watcher runs");
  sh.kill("SIGKILL");
  await sh.status;
  await reader.cancel();
  for (let i = 0; i < 200 && processAlive(child, start); i++) {
    await new Promise((ok) => setTimeout(ok, 50));
  }
  assert.equal(processAlive(child, start), false, "the orphan exited");
  assert.equal(Deno.readTextFileSync(marker), "parent gone");
});
