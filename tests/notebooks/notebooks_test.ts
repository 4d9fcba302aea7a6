// Every notebook under notebooks/: its code cells type-check, it runs on the Deno kernel without an
// error (executed into a temporary copy; the committed file is not touched), and every code cell
// that should produce output does.
//
// "Should produce output" is read from two independent sources: (1) the committed notebook, whose
// outputs were saved by `deno task notebooks` (each kind of output a committed cell has, such as
// stdout text or a Plotly figure, must come back), and (2) the cell's source: a top-level
// `await show(...)` / `await showFigure(...)` must display a Plotly figure and a top-level
// `await showTable(...)` an HTML table. PNG copies of figures need Chromium and are only required
// where it is installed. Changed output values are reported as a warning, not a failure (run
// `deno task notebooks --check` for that).
//
// The execution tests need Debian's jupyter-client; without it they are skipped with a warning.

import assert from "assert";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  checkNotebooks,
  compareNotebooks,
  findJupyterPython,
  joinText,
  listNotebooks,
  MISSING_JUPYTER_MESSAGE,
  type Notebook,
  type NotebookCell,
  PLOTLY_MIME,
  readNotebook,
  runNotebook,
} from "../../lib/notebooks/mod.ts";
import { findChromium } from "../../lib/plots/export.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const NOTEBOOK_DIR = join(ROOT, "notebooks");
const notebooks = await listNotebooks([NOTEBOOK_DIR]);
const python = await findJupyterPython();
if (!python) console.warn(`SKIPPING notebook execution tests: ${MISSING_JUPYTER_MESSAGE}`);
const chromium = findChromium() !== undefined;

/** The kinds of output of a cell: "stream:stdout", "display:text/html", "error", ... */
function outputKinds(cell: NotebookCell): Set<string> {
  const kinds = new Set<string>();
  for (const output of cell.outputs ?? []) {
    if (output.output_type === "stream") kinds.add(`stream:${output.name}`);
    else if (output.output_type === "error") kinds.add("error");
    else {
      for (const mime of Object.keys(output.data ?? {})) kinds.add(`${output.output_type}:${mime}`);
    }
  }
  return kinds;
}

function codeCells(nb: Notebook): { cell: NotebookCell; index: number; position: number }[] {
  return nb.cells.map((cell, index) => ({ cell, index }))
    .filter(({ cell }) => cell.cell_type === "code")
    .map((c, i) => ({ ...c, position: i + 1 }));
}

Deno.test("the notebooks under notebooks/ include the theory and getting-started notebooks", () => {
  const names = notebooks.map((p) => basename(p));
  for (const name of ["getting_started.ipynb", "theory.ipynb"]) {
    assert.ok(names.includes(name), `${name} missing from ${NOTEBOOK_DIR}: found ${names}`);
  }
});

Deno.test("`checkNotebooks()` type-checks the code cells of every notebook", async () => {
  const report = await checkNotebooks(notebooks);
  assert.ok(report.ok, report.output);
  assert.deepEqual(report.notebooks.map((n) => n.path), notebooks);
});

for (const path of notebooks) {
  const name = basename(path);

  Deno.test(`notebook ${name} is committed with its outputs`, async () => {
    const nb = await readNotebook(path);
    const cells = codeCells(nb).filter(({ cell }) => joinText(cell.source).trim() !== "");
    assert.ok(cells.length > 0, `${name} has no code cell`);
    // `deno task notebooks` numbers the executed cells 1, 2, ... and saves their outputs.
    assert.deepEqual(cells.map(({ cell }) => cell.execution_count), cells.map((_, i) => i + 1));
    for (const { cell, position } of cells) {
      assert.ok(!outputKinds(cell).has("error"), `${name} cell ${position} has a saved error`);
    }
  });

  Deno.test({
    name: `notebook ${name} runs without errors and every cell that should have output has it`,
    ignore: !python,
    async fn() {
      const committed = await readNotebook(path);
      const dir = await Deno.makeTempDir({ prefix: "notebook-test-" });
      try {
        const output = join(dir, name);
        const run = await runNotebook(path, { output, cwd: dirname(path), timeoutSeconds: 600 });
        const failure = run.failure ??
          run.errors.map((e) => `cell ${e.position} (${e.firstLine}): ${e.ename}: ${e.evalue}`)
            .join("\n");
        assert.ok(run.ok, `${name} failed:\n${failure}\n${run.log}`);
        assert.deepEqual(run.errors, []);
        assert.equal(run.executed, run.cells);
        const fresh = await readNotebook(output);
        const before = codeCells(committed), after = codeCells(fresh);
        assert.equal(after.length, before.length);
        for (const [i, { cell, position }] of after.entries()) {
          const kinds = outputKinds(cell);
          const where = `${name} cell ${position}`;
          assert.ok(!kinds.has("error"), `${where} produced an error output`);
          // (1) What the committed cell shows must come back.
          for (const kind of outputKinds(before[i].cell)) {
            if (kind.endsWith(":image/png") && !chromium) continue;
            assert.ok(kinds.has(kind), `${where}: no "${kind}" output (got ${[...kinds]})`);
          }
          // (2) What the source asks for must be there.
          const source = joinText(cell.source);
          if (/^await show(Figure)?\(/m.test(source)) {
            assert.ok(kinds.has(`display_data:${PLOTLY_MIME}`), `${where}: no Plotly figure`);
            if (chromium) assert.ok(kinds.has("display_data:image/png"), `${where}: no PNG`);
          }
          if (/^await showTable\(/m.test(source)) {
            assert.ok(kinds.has("display_data:text/html"), `${where}: no table`);
          }
        }
        const diffs = compareNotebooks(committed, fresh);
        if (diffs.length) {
          console.warn(
            `WARNING ${name}: outputs of ${new Set(diffs.map((d) => d.position)).size} cell(s) ` +
              `differ from the committed ones; re-run \`deno task notebooks ${name}\``,
          );
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
