/**
 * Whether a local process still runs, from Linux's `/proc/<pid>/stat`: used by run leases
 * (lib/results/db.ts) and by the clean-up of checkpoint temporaries (lib/train/checkpoint.ts).
 * Free of SQLite so that light modules can use it.
 *
 * @module
 */

/**
 * Read a process's `/proc/<pid>/stat` on Linux: its state letter and start time ("" if unreadable,
 * null if the process does not exist).
 */
export function processStat(pid: number): { state: string; start: string } | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    return { state: "", start: "" };
  }
  const after = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // Fields after "pid (comm)" start at field 3 (state); starttime is field 22.
  return { state: after[0] ?? "", start: after[22 - 3] ?? "" };
}

/** Read a process's start time on Linux ("" if unknown, null if the process does not exist). */
export function processStartTime(pid: number): string | null {
  return processStat(pid)?.start ?? null;
}

/**
 * Whether a process on this host is still the one that took a lease (unknown ⇒ true). A zombie
 * (state Z, killed but not yet reaped) or dead (X) process counts as gone: it can never renew.
 */
export function processAlive(pid: number, start: string): boolean {
  if (Deno.build.os !== "linux") return true;
  const now = processStat(pid);
  if (now === null || now.state === "Z" || now.state === "X") return false;
  if (now.start === "" || start === "") return true;
  return now.start === start;
}

/** This process's parent pid, read afresh from `/proc/self/stat` (null where unknown). */
export function currentParentPid(): number | null {
  if (Deno.build.os !== "linux") return null;
  try {
    const text = Deno.readTextFileSync("/proc/self/stat");
    return Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

/**
 * Call `onGone` once when this process's parent exits (it is then re-parented, so its parent pid
 * changes): a command killed by `deno task`'s own death stops instead of running on orphaned.
 * Polls every `everyMs` ms without keeping the process alive; returns a function that stops it.
 *
 * @example
 * ```ts
 * import { watchParent } from "./process.ts";
 * const stop = watchParent(() => console.log("parent gone"));
 * stop();
 * ```
 */
export function watchParent(onGone: () => void, everyMs = 1000): () => void {
  const first = currentParentPid();
  if (first === null) return () => {};
  const timer = setInterval(() => {
    const now = currentParentPid();
    if (now !== null && now !== first) {
      clearInterval(timer);
      onGone();
    }
  }, everyMs);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
