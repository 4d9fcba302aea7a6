/**
 * Type-check the code cells of notebooks with `deno check`.
 *
 * The Deno kernel runs cells without type-checking them. Here the code cells of each notebook are
 * joined, in order, into one temporary TypeScript module written in the notebook's own folder (so
 * relative imports such as `../mod.ts` and the deno.json import map resolve as they do in the
 * kernel), then one `deno check` call checks all the modules; errors are mapped back to
 * `notebook.ipynb [cell N, line L]`. Top-level `await` is valid in a module, and `Deno.jupyter` is
 * typed by Deno's default type library (no flag needed, Deno 2.x). Known differences from the
 * kernel: a name declared with `const`/`let` in two cells is a redeclaration error here (the kernel
 * allows re-running), and a cell that starts with an object literal `{ ... }` is read as a block.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { joinText, type Notebook, readNotebook } from "./runner.ts";

/** Where a line of the joined module came from. */
export interface LineOrigin {
  /** Index of the cell in the notebook's `cells` array. */
  index: number;
  /** 1-based position among the code cells. */
  position: number;
  /** 1-based line within the cell. */
  line: number;
}

/** A notebook's code cells joined into one module, with a map back to the cells. */
export interface NotebookModule {
  /** The module's TypeScript source. */
  code: string;
  /** For each 1-based module line (entry 0 unused), the cell line it came from. */
  origins: (LineOrigin | undefined)[];
}

/**
 * Join a notebook's code cells into one TypeScript module. Each cell is preceded by a comment
 * naming it; blank cells are skipped; `export {};` at the end makes the file a module even when
 * no cell imports anything.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notebookToModule } from "./check.ts";
 * const { code } = notebookToModule({
 *   nbformat: 4,
 *   cells: [{ cell_type: "code", source: ["const x = 1;\n", "x;"] }],
 * });
 * assert.ok(code.includes("const x = 1;"));
 * ```
 */
export function notebookToModule(nb: Notebook): NotebookModule {
  const lines: string[] = [];
  const origins: (LineOrigin | undefined)[] = [undefined];
  let position = 0;
  nb.cells.forEach((cell, index) => {
    if (cell.cell_type !== "code") return;
    position++;
    const source = joinText(cell.source);
    if (!source.trim()) return;
    lines.push(`// cell ${position} (#${index})`);
    origins.push(undefined);
    source.replace(/\n$/, "").split("\n").forEach((text, i) => {
      lines.push(text);
      origins.push({ index, position, line: i + 1 });
    });
    lines.push(";"); // ends a last statement written without a semicolon
    origins.push(undefined);
  });
  lines.push("export {};");
  origins.push(undefined);
  return { code: lines.join("\n") + "\n", origins };
}

/** One type error, located in the notebook. */
export interface NotebookTypeError {
  /** 1-based position of the cell among the code cells (0 when the error is outside any cell). */
  cell: number;
  /** Index of the cell in the notebook's `cells` array (-1 when outside any cell). */
  index: number;
  /** 1-based line within the cell. */
  line: number;
  /** 1-based column. */
  column: number;
  /** The TypeScript diagnostic (code and message), e.g. "TS2322 [ERROR]: Type ...". */
  message: string;
}

/** What {@link checkNotebooks} reports for one notebook. */
export interface NotebookCheckResult {
  /** The notebook. */
  path: string;
  /** True when `deno check` found no error in this notebook's cells. */
  ok: boolean;
  /** The type errors found in this notebook's cells. */
  errors: NotebookTypeError[];
}

/** Options for {@link checkNotebooks}. */
export interface CheckNotebooksOptions {
  /** The deno executable (default: the one running this code). */
  deno?: string;
}

/** The result of {@link checkNotebooks}. */
export interface CheckNotebooksReport {
  /** True when every notebook type-checks. */
  ok: boolean;
  /** One entry per notebook, in the order given. */
  notebooks: NotebookCheckResult[];
  /** `deno check` output with module locations rewritten to notebook cells. */
  output: string;
}

/**
 * Type-check the code cells of the given notebooks with one `deno check` call.
 *
 * @example
 * ```ts ignore
 * import { checkNotebooks } from "./check.ts";
 * const report = await checkNotebooks(["notebooks/smoke.ipynb"]);
 * if (!report.ok) console.error(report.output);
 * ```
 */
export async function checkNotebooks(
  paths: string[],
  options: CheckNotebooksOptions = {},
): Promise<CheckNotebooksReport> {
  const modules: { path: string; file: string; module: NotebookModule }[] = [];
  try {
    for (const path of paths) {
      const module = notebookToModule(await readNotebook(path));
      const stem = basename(path).replace(/\.ipynb$/, "");
      const file = resolve(
        join(dirname(path), `.${stem}.check-${crypto.randomUUID().slice(0, 8)}.ts`),
      );
      await Deno.writeTextFile(file, module.code);
      modules.push({ path, file, module });
    }
    if (modules.length === 0) return { ok: true, notebooks: [], output: "" };
    const result = await new Deno.Command(options.deno ?? Deno.execPath(), {
      args: ["check", "--quiet", ...modules.map((m) => m.file)],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    const raw = decoder.decode(result.stdout) + decoder.decode(result.stderr);
    return mapDiagnostics(raw, result.success, modules);
  } finally {
    for (const { file } of modules) await Deno.remove(file).catch(() => {});
  }
}

function mapDiagnostics(
  raw: string,
  success: boolean,
  modules: { path: string; file: string; module: NotebookModule }[],
): CheckNotebooksReport {
  const byUrl = new Map(modules.map((m) => [new URL(`file://${m.file}`).href, m]));
  const results = new Map(modules.map((m) => [m.file, [] as NotebookTypeError[]]));
  // Diagnostics look like "TS2322 [ERROR]: message\n<code line>\n<caret>\n    at URL:LINE:COL".
  const lines = raw.replace(/\nStack backtrace:[\s\S]*$/, "").split("\n");
  let message = "";
  const out: string[] = [];
  for (const line of lines) {
    if (/^(TS\d+ |error: )/.test(line)) message = line.trim();
    const at = line.match(/^(\s*at )(file:\/\/\S+?):(\d+):(\d+)\s*$/);
    const module = at ? byUrl.get(at[2]) : undefined;
    if (!at || !module) {
      out.push(line);
      continue;
    }
    const origin = module.module.origins[Number(at[3])];
    const column = Number(at[4]);
    results.get(module.file)!.push({
      cell: origin?.position ?? 0,
      index: origin?.index ?? -1,
      line: origin?.line ?? 0,
      column,
      message,
    });
    out.push(
      origin
        ? `${at[1]}${module.path} [cell ${origin.position}, line ${origin.line}]:${column}`
        : `${at[1]}${module.path} [joined module line ${at[3]}]:${column}`,
    );
  }
  const notebooks = modules.map((m) => {
    const errors = results.get(m.file)!;
    return { path: m.path, ok: errors.length === 0, errors };
  });
  // A failure that names no notebook (bad import, missing module) fails every notebook.
  const unattributed = !success && notebooks.every((n) => n.ok);
  if (unattributed) { for (const n of notebooks) n.ok = false; }
  return { ok: success, notebooks, output: out.join("\n").trim() };
}
