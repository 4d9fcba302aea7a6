import assert from "assert";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkNotebooks, notebookToModule } from "../../lib/notebooks/check.ts";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

Deno.test("`notebookToModule()` joins code cells in order and maps lines back to cells", () => {
  const { code, origins } = notebookToModule({
    nbformat: 4,
    cells: [
      { cell_type: "markdown", source: "# title" },
      { cell_type: "code", source: ["const a = 1;\n", "a\n"] },
      { cell_type: "code", source: "" },
      { cell_type: "code", source: "await Promise.resolve(a);" },
    ],
  });
  const lines = code.split("\n");
  // Expected layout, by hand: marker, 2 source lines, ";", marker, 1 source line, ";", export.
  assert.deepEqual(lines, [
    "// cell 1 (#1)",
    "const a = 1;",
    "a",
    ";",
    "// cell 3 (#3)",
    "await Promise.resolve(a);",
    ";",
    "export {};",
    "",
  ]);
  assert.deepEqual(origins[2], { index: 1, position: 1, line: 1 });
  assert.deepEqual(origins[3], { index: 1, position: 1, line: 2 });
  assert.deepEqual(origins[6], { index: 3, position: 3, line: 1 });
  assert.equal(origins[1], undefined);
});

Deno.test("`checkNotebooks()` passes good cells and locates a type error in its cell", async () => {
  const good = join(FIXTURES, "typecheck_good.ipynb");
  const bad = join(FIXTURES, "typecheck_bad.ipynb");
  const report = await checkNotebooks([good, bad]);
  assert.equal(report.ok, false);
  const [g, b] = report.notebooks;
  assert.deepEqual(g, { path: good, ok: true, errors: [] });
  assert.equal(b.ok, false);
  // The fixture's second code cell, third line, is `const label: number = "not a number";`.
  assert.equal(b.errors.length, 1);
  assert.deepEqual(
    { cell: b.errors[0].cell, index: b.errors[0].index, line: b.errors[0].line },
    { cell: 2, index: 2, line: 3 },
  );
  assert.equal(b.errors[0].column, 7);
  assert.match(b.errors[0].message, /^TS2322/);
  assert.match(report.output, /typecheck_bad\.ipynb \[cell 2, line 3\]:7/);
  // The temporary modules are gone.
  const leftovers = [...Deno.readDirSync(FIXTURES)].filter((e) => e.name.endsWith(".ts"));
  assert.deepEqual(leftovers, []);
});

Deno.test("`checkNotebooks()` passes a notebook that only uses relative imports and Deno.jupyter", async () => {
  const report = await checkNotebooks([join(FIXTURES, "typecheck_good.ipynb")]);
  assert.ok(report.ok, report.output);
});
