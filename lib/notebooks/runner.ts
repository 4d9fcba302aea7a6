/**
 * Headless execution of Jupyter notebooks with the repository's Deno kernel.
 *
 * The work is done by `run_notebook.py` (next to this file, needs only Debian's `jupyter-client`):
 * unlike stock `jupyter nbconvert --execute`, it keeps reading a cell's IOPub messages after the
 * kernel reports the cell idle, so the outputs that the Deno kernel publishes late are not lost.
 * Saved notebooks are deterministic: execution counts renumbered 1, 2, ..., no timing metadata,
 * ANSI escape codes stripped from text outputs, outputs in arrival order.
 *
 * @module
 */

import { dirname, join, relative, resolve } from "node:path";
import { checkoutPath } from "../checkout.ts";

/**
 * Absolute path of the Python runner script; throws a clear error when this module was not
 * loaded from a checkout (e.g. imported from JSR), since Python needs a local file.
 */
export function runnerScript(): string {
  return checkoutPath(new URL("./run_notebook.py", import.meta.url), "the notebook runner");
}

/**
 * Absolute path of the repository's Jupyter data folder (holds `kernels/deno/kernel.json`);
 * needs a checkout, like {@link runnerScript}.
 */
export function jupyterDir(): string {
  return checkoutPath(new URL("../../jupyter", import.meta.url), "the notebook runner");
}

/** Debian packages that headless notebook runs and PNG figures need. */
export const NOTEBOOK_APT_PACKAGES: readonly string[] = [
  "jupyter-nbconvert",
  "jupyter-client",
  "chromium",
  "fonts-liberation",
];

let pythonCache: Promise<string | undefined> | undefined;

/**
 * Find a Python interpreter that can `import jupyter_client`: `$NOTEBOOK_PYTHON` if set, else
 * `/usr/bin/python3` (where Debian's `jupyter-client` lives), else `python3` on PATH.
 * Resolves to `undefined` when there is none (the result is cached).
 *
 * @example Skip work when Jupyter is missing
 * ```ts
 * import { findJupyterPython } from "./runner.ts";
 * const python = await findJupyterPython();
 * if (!python) console.warn("jupyter-client is not installed");
 * ```
 */
export function findJupyterPython(): Promise<string | undefined> {
  pythonCache ??= (async () => {
    const fromEnv = Deno.env.get("NOTEBOOK_PYTHON");
    const candidates = fromEnv ? [fromEnv] : ["/usr/bin/python3", "python3"];
    for (const candidate of candidates) {
      try {
        const { success } = await new Deno.Command(candidate, {
          args: ["-c", "import jupyter_client"],
          stdout: "null",
          stderr: "null",
        }).output();
        if (success) return candidate;
      } catch {
        // not installed: try the next candidate
      }
    }
    return undefined;
  })();
  return pythonCache;
}

/** The message to show when {@link findJupyterPython} finds nothing. */
export const MISSING_JUPYTER_MESSAGE: string =
  "no Python with jupyter_client found (tried $NOTEBOOK_PYTHON, /usr/bin/python3, python3); " +
  `install it with: apt-get install -y --no-install-recommends ${NOTEBOOK_APT_PACKAGES.join(" ")}`;

/** Options for {@link runNotebook}. */
export interface RunNotebookOptions {
  /** Write the executed notebook here instead of in place. */
  output?: string;
  /** Kernel working folder; default: the notebook's own folder. */
  cwd?: string;
  /** Run every cell even after one fails, and write the notebook (errors included). */
  allowErrors?: boolean;
  /** Per-cell time limit in seconds; 0 (default) means none. */
  timeoutSeconds?: number;
  /** Seconds of IOPub silence after a cell is idle before the next cell starts (default 0.2). */
  quietSeconds?: number;
  /** Kernelspec name (default "deno", found in {@link jupyterDir}). */
  kernel?: string;
  /** Python interpreter; default: {@link findJupyterPython}. */
  python?: string;
  /** "capture" (default) keeps the runner's messages in the result; "inherit" prints them live. */
  stderr?: "capture" | "inherit";
  /** Note a still-running cell every this many seconds (default 30; 0: never). */
  progressSeconds?: number;
}

/** One failed cell of a notebook run. */
export interface CellError {
  /** Index of the cell in the notebook's `cells` array (markdown cells included). */
  index: number;
  /** 1-based position among the notebook's code cells. */
  position: number;
  /** Execution count the cell got. */
  executionCount: number;
  /** First non-blank line of the cell's source. */
  firstLine: string;
  /** The cell's source. */
  source: string;
  /** Error name (e.g. "TypeError"). */
  ename: string;
  /** Error message. */
  evalue: string;
  /** Traceback lines, without ANSI codes. */
  traceback: string[];
}

/** What {@link runNotebook} reports. */
export interface RunNotebookResult {
  /** The notebook that was executed. */
  path: string;
  /** Where the executed notebook was (or would have been) written. */
  output: string;
  /** True when no cell failed (or failures were allowed) and the kernel did not die or time out. */
  ok: boolean;
  /** Whether the executed notebook was written. */
  written: boolean;
  /** Number of code cells. */
  cells: number;
  /** Number of code cells executed. */
  executed: number;
  /** Cells that raised an error. */
  errors: CellError[];
  /** Kernel start failure, kernel death or cell time-out, if any. */
  failure?: string;
  /** Outputs that the kernel published after reporting their cell idle (all kept). */
  lateOutputs: number;
  /** Wall-clock seconds of the whole run, kernel start included. */
  seconds: number;
  /** The runner's messages (empty with `stderr: "inherit"`). */
  log: string;
}

interface Summary {
  cells: number;
  executed: number;
  errors: CellError[];
  failure: string | null;
  written: boolean;
  late?: { outputs: number };
}

/**
 * Execute a notebook's code cells in order on a fresh Deno kernel and save the outputs (in place,
 * or to `options.output`). A failing cell stops the run unless `allowErrors` is set; the notebook
 * is then left untouched and the result names the cell. Throws only when the runner itself cannot
 * run (no Python with `jupyter_client`, unreadable notebook).
 *
 * @example Run a notebook into a copy
 * ```ts ignore
 * import { runNotebook } from "./runner.ts";
 * const result = await runNotebook("notebooks/smoke.ipynb", { output: "/tmp/smoke.ipynb" });
 * if (!result.ok) console.error(result.errors[0]?.evalue ?? result.failure);
 * ```
 */
export async function runNotebook(
  path: string,
  options: RunNotebookOptions = {},
): Promise<RunNotebookResult> {
  const python = options.python ?? await findJupyterPython();
  if (!python) throw new Error(MISSING_JUPYTER_MESSAGE);
  const notebook = resolve(path);
  await Deno.stat(notebook); // a clear NotFound error before starting Python
  const output = resolve(options.output ?? path);
  const tmp = await Deno.makeTempDir({ prefix: "notebook-run-" });
  const summaryPath = join(tmp, "summary.json");
  const args = [runnerScript(), notebook, "--output", output, "--summary", summaryPath];
  args.push("--kernel", options.kernel ?? "deno");
  if (options.cwd) args.push("--cwd", resolve(options.cwd));
  if (options.allowErrors) args.push("--allow-errors");
  if (options.timeoutSeconds !== undefined) {
    args.push("--timeout", String(options.timeoutSeconds));
  }
  if (options.quietSeconds !== undefined) args.push("--quiet", String(options.quietSeconds));
  if (options.progressSeconds !== undefined) {
    args.push("--progress", String(options.progressSeconds));
  }
  const start = performance.now();
  try {
    const env: Record<string, string> = {
      JUPYTER_PATH: [jupyterDir(), Deno.env.get("JUPYTER_PATH")].filter(Boolean).join(":"),
      PYTHONUNBUFFERED: "1",
      NO_COLOR: "1",
    };
    const child = await new Deno.Command(python, {
      args,
      env,
      stdin: "null",
      stdout: options.stderr === "inherit" ? "inherit" : "piped",
      stderr: options.stderr === "inherit" ? "inherit" : "piped",
    }).output();
    const decoder = new TextDecoder();
    const log = options.stderr === "inherit"
      ? ""
      : decoder.decode(child.stdout) + decoder.decode(child.stderr);
    let summary: Summary;
    try {
      summary = JSON.parse(await Deno.readTextFile(summaryPath));
    } catch {
      throw new Error(
        `notebook runner failed on ${path} (exit code ${child.code}) without a summary:\n${log}`,
      );
    }
    return {
      path,
      output,
      ok: child.success,
      written: summary.written,
      cells: summary.cells,
      executed: summary.executed,
      errors: summary.errors,
      ...(summary.failure ? { failure: summary.failure } : {}),
      lateOutputs: summary.late?.outputs ?? 0,
      seconds: (performance.now() - start) / 1000,
      log,
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/**
 * List the notebooks under the given files and folders (default: the repository's `notebooks/`),
 * recursively, skipping `.ipynb_checkpoints`, sorted, each once.
 *
 * @example
 * ```ts ignore
 * import { listNotebooks } from "./runner.ts";
 * console.log(await listNotebooks(["notebooks"]));
 * ```
 */
export async function listNotebooks(paths: string[] = ["notebooks"]): Promise<string[]> {
  const found = new Set<string>();
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory && entry.name !== ".ipynb_checkpoints") await walk(path);
      else if (entry.isFile && entry.name.endsWith(".ipynb")) found.add(path);
    }
  }
  for (const path of paths) {
    const info = await Deno.stat(path).catch(() => {
      throw new Error(`notebook path "${path}" does not exist`);
    });
    if (info.isDirectory) await walk(path);
    else if (path.endsWith(".ipynb")) found.add(path);
    else throw new Error(`"${path}" is not a notebook (.ipynb) or a folder`);
  }
  return [...found].sort();
}

/** A notebook output as stored in an .ipynb file (the fields the comparison reads). */
export interface NotebookOutput {
  /** "stream" | "display_data" | "execute_result" | "error". */
  output_type: string;
  /** Stream name ("stdout" or "stderr"). */
  name?: string;
  /** Stream text. */
  text?: string | string[];
  /** MIME bundle of a display_data or execute_result. */
  data?: Record<string, unknown>;
  /** Execution count of an execute_result. */
  execution_count?: number | null;
  /** Error name. */
  ename?: string;
  /** Error message. */
  evalue?: string;
  /** Error traceback. */
  traceback?: string[];
}

/** A notebook cell as stored in an .ipynb file (the fields the tools read). */
export interface NotebookCell {
  /** "code" | "markdown" | "raw". */
  cell_type: string;
  /** Source text, a string or a list of lines. */
  source: string | string[];
  /** Execution count of a code cell. */
  execution_count?: number | null;
  /** Outputs of a code cell. */
  outputs?: NotebookOutput[];
  /** Cell metadata. */
  metadata?: Record<string, unknown>;
}

/** An .ipynb notebook (the fields the tools read). */
export interface Notebook {
  /** The cells, in order. */
  cells: NotebookCell[];
  /** Notebook metadata (kernelspec, language_info). */
  metadata?: Record<string, unknown>;
  /** Major format version (4). */
  nbformat: number;
  /** Minor format version. */
  nbformat_minor?: number;
}

/** Read and parse an .ipynb file, checking that it is an nbformat 4 notebook. */
export async function readNotebook(path: string): Promise<Notebook> {
  const nb = JSON.parse(await Deno.readTextFile(path));
  if (nb?.nbformat !== 4 || !Array.isArray(nb.cells)) {
    throw new Error(`${path} is not an nbformat 4 notebook (nbformat ${nb?.nbformat})`);
  }
  return nb as Notebook;
}

/** Join a notebook multi-line string (a string or a list of lines). */
export function joinText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join("") : value ?? "";
}

/** Options for {@link compareNotebooks}. */
export interface CompareOptions {
  /** MIME types whose values are compared by presence only (default: ["image/png"]). */
  ignoreValues?: string[];
}

/** One difference between the committed and the re-executed outputs of a code cell. */
export interface OutputDiff {
  /** Index of the cell in the notebook's `cells` array. */
  index: number;
  /** 1-based position among the code cells. */
  position: number;
  /** What differs. */
  kind: "execution_count" | "outputs" | "cells";
  /** The committed value, abbreviated. */
  expected: string;
  /** The re-executed value, abbreviated. */
  actual: string;
}

function normalizeOutput(output: NotebookOutput, ignore: Set<string>): unknown {
  switch (output.output_type) {
    case "stream":
      return { stream: output.name, text: joinText(output.text) };
    case "display_data":
    case "execute_result": {
      const data: Record<string, unknown> = {};
      for (const key of Object.keys(output.data ?? {}).sort()) {
        const value = output.data![key];
        data[key] = ignore.has(key)
          ? "<ignored>"
          : typeof value === "string" || Array.isArray(value)
          ? joinText(value as string | string[])
          : value;
      }
      return output.output_type === "execute_result"
        ? { result: data, count: output.execution_count ?? null }
        : { display: data };
    }
    case "error":
      return { error: output.ename, value: output.evalue, traceback: output.traceback ?? [] };
    default:
      return output;
  }
}

/** Stream outputs are merged when consecutive with the same name (as the runner saves them). */
function normalizeOutputs(outputs: NotebookOutput[], ignore: Set<string>): unknown[] {
  const merged: NotebookOutput[] = [];
  for (const output of outputs) {
    const last = merged.at(-1);
    if (
      output.output_type === "stream" && last?.output_type === "stream" && last.name === output.name
    ) {
      merged[merged.length - 1] = { ...last, text: joinText(last.text) + joinText(output.text) };
    } else merged.push(output);
  }
  return merged.map((output) => normalizeOutput(output, ignore));
}

/** JSON with object keys sorted at every level, so that key order never counts as a change. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  );
}

function abbreviate(value: unknown, max = 300): string {
  const text = canonicalJson(value);
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/**
 * Compare the code-cell outputs of two notebooks (committed vs re-executed). Compared: each code
 * cell's execution count and outputs (stream text, MIME bundles, errors), with multi-line strings
 * joined, consecutive stream outputs merged and JSON key order ignored. Ignored: notebook and cell
 * metadata, cell ids, and the values (not the presence) of the MIME types in `ignoreValues`
 * (default `image/png`, whose bytes depend on the Chromium build and fonts).
 *
 * @example Identical notebooks have no differences
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareNotebooks, type Notebook } from "./runner.ts";
 * const nb: Notebook = { nbformat: 4, cells: [{ cell_type: "code", source: "1", outputs: [] }] };
 * assert.deepEqual(compareNotebooks(nb, structuredClone(nb)), []);
 * ```
 */
export function compareNotebooks(
  expected: Notebook,
  actual: Notebook,
  options: CompareOptions = {},
): OutputDiff[] {
  const ignore = new Set(options.ignoreValues ?? ["image/png"]);
  const code = (nb: Notebook) =>
    nb.cells.map((cell, index) => ({ cell, index })).filter(({ cell }) =>
      cell.cell_type === "code"
    );
  const a = code(expected);
  const b = code(actual);
  const diffs: OutputDiff[] = [];
  if (a.length !== b.length) {
    diffs.push({
      index: -1,
      position: 0,
      kind: "cells",
      expected: `${a.length} code cells`,
      actual: `${b.length} code cells`,
    });
    return diffs;
  }
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i].cell, b[i].cell];
    const base = { index: a[i].index, position: i + 1 };
    if ((x.execution_count ?? null) !== (y.execution_count ?? null)) {
      diffs.push({
        ...base,
        kind: "execution_count",
        expected: String(x.execution_count ?? null),
        actual: String(y.execution_count ?? null),
      });
    }
    const ox = normalizeOutputs(x.outputs ?? [], ignore);
    const oy = normalizeOutputs(y.outputs ?? [], ignore);
    if (canonicalJson(ox) !== canonicalJson(oy)) {
      diffs.push({ ...base, kind: "outputs", expected: abbreviate(ox), actual: abbreviate(oy) });
    }
  }
  return diffs;
}

/** What {@link checkNotebookOutputs} reports. */
export interface OutputCheckResult {
  /** The run of the temporary copy. */
  run: RunNotebookResult;
  /** Differences between the committed and the fresh outputs (empty: unchanged). */
  diffs: OutputDiff[];
}

/**
 * Execute a notebook into a temporary copy (the kernel still runs in the notebook's own folder)
 * and compare the fresh outputs with the committed ones using {@link compareNotebooks}. The
 * notebook itself is not modified.
 */
export async function checkNotebookOutputs(
  path: string,
  options: Omit<RunNotebookOptions, "output"> & CompareOptions = {},
): Promise<OutputCheckResult> {
  const tmp = await Deno.makeTempDir({ prefix: "notebook-check-" });
  try {
    const output = join(tmp, "executed.ipynb");
    const run = await runNotebook(path, { ...options, cwd: options.cwd ?? dirname(path), output });
    if (!run.written) return { run, diffs: [] };
    const diffs = compareNotebooks(await readNotebook(path), await readNotebook(output), options);
    return { run, diffs };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Path relative to the current folder, for messages. */
export function displayPath(path: string): string {
  const rel = relative(Deno.cwd(), resolve(path));
  return rel.startsWith("..") ? resolve(path) : rel;
}
