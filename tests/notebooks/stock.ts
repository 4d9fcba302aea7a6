// Stock `jupyter nbconvert --execute` (Debian `jupyter-nbconvert`), for the tests that compare its
// outputs with our runner's.
import assert from "assert";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Notebook, readNotebook } from "../../lib/notebooks/mod.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Whether stock `jupyter nbconvert` is installed (Debian `jupyter-nbconvert`). */
export async function hasNbconvert(): Promise<boolean> {
  try {
    const out = await new Deno.Command("jupyter-nbconvert", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}
/** Execute `path` with stock nbconvert into `dir`; returns the executed notebook. */
export async function stockExecute(
  path: string,
  dir: string,
  cwd: string = dirname(path),
): Promise<Notebook> {
  const out = await new Deno.Command("jupyter-nbconvert", {
    args: [
      "--to",
      "notebook",
      "--execute",
      "--ExecutePreprocessor.kernel_name=deno",
      "--ExecutePreprocessor.timeout=600",
      "--output-dir",
      dir,
      path,
    ],
    cwd,
    env: {
      JUPYTER_PATH: [join(ROOT, "jupyter"), Deno.env.get("JUPYTER_PATH")].filter(Boolean).join(":"),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `jupyter nbconvert --execute ${basename(path)} failed:\n${log}`);
  return await readNotebook(join(dir, basename(path)));
}

/**
 * Execute `path` with stock nbconvert into `dir` and `check` the result; if the check fails,
 * print why and execute once more into `dir/again`, which must pass. Under full load the Deno
 * kernel can report a cell idle before its last text output is sent, and stock clients drop that
 * output (seen in CI: a final console.log); a second execution must then keep everything.
 */
export async function stockExecuteChecked(
  path: string,
  dir: string,
  check: (nb: Notebook) => void,
  cwd: string = dirname(path),
): Promise<Notebook> {
  const first = await stockExecute(path, dir, cwd);
  try {
    check(first);
    return first;
  } catch (e) {
    console.warn(
      `${basename(path)}: first stock execution lost an output (${
        (e as Error).message.split("\n")[0]
      }); executing again`,
    );
    await Deno.mkdir(join(dir, "again"), { recursive: true });
    const again = await stockExecute(path, join(dir, "again"), cwd);
    check(again);
    return again;
  }
}
