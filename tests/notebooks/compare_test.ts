import assert from "assert";
import { join } from "node:path";
import {
  compareNotebooks,
  listNotebooks,
  type Notebook,
  type NotebookOutput,
} from "../../lib/notebooks/runner.ts";

function nb(outputs: NotebookOutput[][], counts?: (number | null)[]): Notebook {
  return {
    nbformat: 4,
    metadata: {},
    cells: outputs.map((o, i) => ({
      cell_type: "code",
      source: `cell ${i}`,
      execution_count: counts ? counts[i] : i + 1,
      outputs: o,
    })),
  };
}

const png = (bytes: string): NotebookOutput => ({
  output_type: "display_data",
  data: { "image/png": bytes, "text/plain": "figure" },
});

Deno.test("`compareNotebooks()` ignores metadata, ids, line splitting and key order", () => {
  const a = nb([[{ output_type: "stream", name: "stdout", text: ["a\n", "b\n"] }], [{
    output_type: "display_data",
    data: { "application/vnd.plotly.v1+json": { data: [], layout: { x: 1, y: 2 } } },
  }]]);
  const b = structuredClone(a);
  b.metadata = { language_info: { version: "9" } };
  b.cells[0].metadata = { id: "other", execution: {} };
  b.cells[0].outputs = [
    { output_type: "stream", name: "stdout", text: "a\n" },
    { output_type: "stream", name: "stdout", text: "b\n" },
  ];
  b.cells[1].outputs![0].data = {
    "application/vnd.plotly.v1+json": { layout: { y: 2, x: 1 }, data: [] },
  };
  assert.deepEqual(compareNotebooks(a, b), []);
});

Deno.test("`compareNotebooks()` reports changed text, counts and cell numbers", () => {
  const a = nb([[{ output_type: "stream", name: "stdout", text: "1\n" }], []]);
  const b = nb([[{ output_type: "stream", name: "stderr", text: "1\n" }], []], [1, 3]);
  const diffs = compareNotebooks(a, b);
  assert.deepEqual(diffs.map((d) => [d.position, d.kind]), [[1, "outputs"], [
    2,
    "execution_count",
  ]]);
  assert.equal(diffs[1].expected, "2");
  assert.equal(diffs[1].actual, "3");
  assert.deepEqual(compareNotebooks(a, nb([[]])).map((d) => d.kind), ["cells"]);
});

Deno.test("`compareNotebooks()` compares PNG presence by default and bytes on request", () => {
  const a = nb([[png("AAAA")]]);
  assert.deepEqual(compareNotebooks(a, nb([[png("BBBB")]])), []);
  assert.equal(compareNotebooks(a, nb([[png("BBBB")]]), { ignoreValues: [] }).length, 1);
  const noPng = nb([[{ output_type: "display_data", data: { "text/plain": "figure" } }]]);
  assert.equal(compareNotebooks(a, noPng).length, 1);
});

Deno.test("`listNotebooks()` finds notebooks recursively, sorted, without checkpoints", async () => {
  const dir = await Deno.makeTempDir({ prefix: "list-" });
  try {
    for (
      const path of ["b.ipynb", "a/c.ipynb", "a/.ipynb_checkpoints/c-checkpoint.ipynb", "x.ts"]
    ) {
      await Deno.mkdir(join(dir, path, ".."), { recursive: true });
      await Deno.writeTextFile(join(dir, path), "{}");
    }
    assert.deepEqual(await listNotebooks([dir, join(dir, "b.ipynb")]), [
      join(dir, "a/c.ipynb"),
      join(dir, "b.ipynb"),
    ]);
    await assert.rejects(listNotebooks([join(dir, "x.ts")]), /not a notebook/);
    await assert.rejects(listNotebooks([join(dir, "nope")]), /does not exist/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
