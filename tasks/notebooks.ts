/**
 * `deno task notebooks [options] [paths...]`: execute notebooks headlessly, in place.
 *
 * Runs every notebook under notebooks/ (or the given files and folders) on a fresh Deno kernel
 * (kernelspec in jupyter/, JUPYTER_PATH set automatically), keeping the outputs the kernel
 * publishes late, and saves them deterministically. Prints one status line per notebook.
 *
 *   --check        execute into a temporary copy; report whether outputs differ from the committed
 *                  ones (image/png compared by presence only unless --strict); files are untouched
 *   --strict       with --check, compare image/png bytes too
 *   --typecheck    only type-check the notebooks' code cells with `deno check` (no kernel)
 *   --allow-errors run every cell even after a failure, save the errors as outputs, succeed
 *   --timeout S    per-cell time limit in seconds (default: none)
 *   --quiet S      seconds of silence awaited after each cell's idle (default 0.2)
 *
 * Exit status 1 when a notebook fails, or (with --check) when outputs changed.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  checkNotebookOutputs,
  checkNotebooks,
  displayPath,
  findJupyterPython,
  listNotebooks,
  MISSING_JUPYTER_MESSAGE,
  runNotebook,
  type RunNotebookOptions,
  type RunNotebookResult,
} from "../lib/notebooks/mod.ts";

const USAGE = `usage: deno task notebooks [--check [--strict]] [--typecheck] [--allow-errors]
                          [--timeout S] [--quiet S] [paths...]   (default path: notebooks/)`;

function positiveNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new Error(`--${name} must be a number of seconds >= 0; got "${value}"`);
  }
  return n;
}

function failureText(run: RunNotebookResult): string {
  if (run.failure) return run.failure.split("\n")[0];
  const error = run.errors[0];
  if (!error) return "failed";
  return `cell ${error.position}/${run.cells} (${error.firstLine}) failed: ` +
    `${error.ename}: ${error.evalue}`;
}

function printErrors(run: RunNotebookResult): void {
  for (const error of run.errors) {
    console.error(`  cell ${error.position}/${run.cells}, notebook cell #${error.index}:`);
    for (const line of error.source.split("\n").slice(0, 8)) console.error(`    > ${line}`);
    for (const line of error.traceback) console.error(`    | ${line}`);
  }
  if (run.failure) console.error(run.failure.replace(/^/gm, "    "));
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      check: { type: "boolean", default: false },
      strict: { type: "boolean", default: false },
      typecheck: { type: "boolean", default: false },
      "allow-errors": { type: "boolean", default: false },
      timeout: { type: "string" },
      quiet: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const notebooks = await listNotebooks(positionals.length ? positionals : ["notebooks"]);
  if (notebooks.length === 0) {
    console.log("no notebooks found");
    return 0;
  }

  if (values.typecheck) {
    const start = performance.now();
    const report = await checkNotebooks(notebooks);
    for (const nb of report.notebooks) {
      console.log(
        `${nb.ok ? "ok  " : "FAIL"} ${displayPath(nb.path)}` +
          (nb.ok ? "" : `  ${nb.errors.length} type error(s)`),
      );
    }
    if (!report.ok) console.error(report.output);
    console.log(
      `type-checked ${notebooks.length} notebook(s) in ${
        ((performance.now() - start) / 1000).toFixed(1)
      } s`,
    );
    return report.ok ? 0 : 1;
  }

  if (!await findJupyterPython()) {
    console.error(MISSING_JUPYTER_MESSAGE);
    return 1;
  }
  const options: RunNotebookOptions = {
    allowErrors: values["allow-errors"],
    timeoutSeconds: positiveNumber("timeout", values.timeout),
    quietSeconds: positiveNumber("quiet", values.quiet),
  };
  let bad = 0;
  const start = performance.now();
  for (const path of notebooks) {
    const name = displayPath(path);
    if (values.check) {
      const { run, diffs } = await checkNotebookOutputs(path, {
        ...options,
        ignoreValues: values.strict ? [] : undefined,
      });
      const time = `${run.seconds.toFixed(1)} s`;
      if (!run.ok) {
        bad++;
        console.log(`FAIL      ${name}  ${time}  ${failureText(run)}`);
        printErrors(run);
      } else if (diffs.length) {
        bad++;
        const cells = new Set(diffs.map((d) => d.position)).size;
        console.log(`CHANGED   ${name}  ${time}  outputs differ in ${cells} cell(s)`);
        for (const diff of diffs) {
          console.log(`  cell ${diff.position} (#${diff.index}) ${diff.kind}:`);
          console.log(`    committed: ${diff.expected}`);
          console.log(`    now:       ${diff.actual}`);
        }
      } else {
        console.log(`unchanged ${name}  ${time}  ${run.executed} cells`);
      }
    } else {
      console.log(`running   ${name} ...`);
      const run = await runNotebook(path, { ...options, stderr: "inherit" });
      const time = `${run.seconds.toFixed(1)} s`;
      if (run.ok) {
        const errors = run.errors.length ? `, ${run.errors.length} cell error(s) kept` : "";
        console.log(`ok        ${name}  ${time}  ${run.executed} cells${errors}`);
      } else {
        bad++;
        // The runner has already printed the failing cell and its traceback (stderr inherited).
        console.log(`FAIL      ${name}  ${time}  ${failureText(run)} (notebook not saved)`);
      }
    }
  }
  const total = ((performance.now() - start) / 1000).toFixed(1);
  const what = values.check ? "changed or failed" : "failed";
  console.log(`${notebooks.length} notebook(s) in ${total} s; ${bad} ${what}`);
  return bad ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}\n${USAGE}`);
    Deno.exit(2);
  }
}
