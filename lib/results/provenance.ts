/**
 * Provenance of a run: who holds its lease ({@link LeaseOwner}, {@link currentOwner}), the machine
 * it trains on ({@link MachineInfo}, {@link machineInfo}) and the code version
 * ({@link codeVersion}).
 * @module
 */
import { processStartTime } from "./process.ts";

/** Who holds a lease: a process on a host. */
export interface LeaseOwner {
  /** Unique token "host:pid:start" stored in the run row. */
  id: string;
  /** Host name. */
  host: string;
  /** Process id. */
  pid: number;
  /** Process start time (Linux clock ticks since boot), "" where unknown. */
  start: string;
}

/** The machine a run was trained on. */
export interface MachineInfo {
  /** Host name. */
  hostname: string;
  /** Operating system and kernel release. */
  os: string;
  /** CPU model name, "" where unknown. */
  cpu: string;
  /** Logical cores. */
  cores: number;
  /** Deno version. */
  deno: string;
  /** Tensor backend the run was trained on (e.g. "wasm-blas"), where the runner knows it. */
  backend?: string;
  /** OpenBLAS kernels of a native-BLAS backend (e.g. "Haswell"; see `Blas.kernels`). */
  blasKernels?: string;
}

/** The current process as a lease owner. */
export function currentOwner(): LeaseOwner {
  const host = Deno.hostname();
  const pid = Deno.pid;
  const start = Deno.build.os === "linux" ? processStartTime(pid) ?? "" : "";
  return { id: `${host}:${pid}:${start}`, host, pid, start };
}

/** This machine, for the runs table. */
export function machineInfo(): MachineInfo {
  let cpu = "";
  try {
    const m = Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.+)$/m);
    if (m) cpu = m[1].trim();
  } catch { /* not Linux */ }
  return {
    hostname: Deno.hostname(),
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    cpu,
    cores: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
  };
}

let cachedVersion: string | null | undefined;

/** The git commit of the code (with "-dirty" for local changes), or null outside a repository. */
export function codeVersion(): string | null {
  if (cachedVersion !== undefined) return cachedVersion;
  const dir = new URL(".", import.meta.url);
  if (dir.protocol !== "file:") return (cachedVersion = null);
  const git = (args: string[]) => {
    try {
      const out = new Deno.Command("git", {
        args,
        cwd: dir,
        stdout: "piped",
        stderr: "null",
        stdin: "null",
      }).outputSync();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
    } catch {
      return null;
    }
  };
  const head = git(["rev-parse", "HEAD"]);
  if (head === null) return (cachedVersion = null);
  const dirty = git(["status", "--porcelain", "--untracked-files=no"]);
  return (cachedVersion = dirty ? `${head}-dirty` : head);
}
