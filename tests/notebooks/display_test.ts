import assert from "assert";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  describeFigure,
  figureBundle,
  formatCell,
  inJupyter,
  PLOTLY_MIME,
  showFigure,
  showTable,
  tableBundle,
  toBase64,
} from "../../lib/notebooks/display.ts";
import {
  checkNotebookOutputs,
  findJupyterPython,
  MISSING_JUPYTER_MESSAGE,
} from "../../lib/notebooks/runner.ts";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

Deno.test("`toBase64()` matches RFC 4648 test vectors", () => {
  const enc = (s: string) => toBase64(new TextEncoder().encode(s));
  // RFC 4648 section 10.
  assert.deepEqual(
    ["", "f", "fo", "foo", "foob", "fooba", "foobar"].map(enc),
    ["", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"],
  );
  // Long inputs go through in chunks: 3 × 40000 zero bytes → 4 × 40000 "A"s.
  assert.equal(toBase64(new Uint8Array(120_000)), "A".repeat(160_000));
});

Deno.test("`figureBundle()` carries the Plotly JSON, an optional PNG and a text summary", async () => {
  const figure = {
    data: [{ type: "scatter", y: [1] }, { y: [2] }, { type: "bar", y: [3] }],
    layout: { title: { text: "Heaven-Hell" } },
  };
  const plain = await figureBundle(figure);
  assert.deepEqual(Object.keys(plain), [PLOTLY_MIME, "text/plain"]);
  assert.deepEqual(plain[PLOTLY_MIME], { data: figure.data, layout: figure.layout });
  assert.equal(plain["text/plain"], 'Plotly figure "Heaven-Hell": 3 traces (scatter ×2, bar)');
  const seen: unknown[] = [];
  const withPng = await figureBundle(figure, {
    png: (f) => {
      seen.push(f);
      return Promise.resolve(new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
    },
    text: "custom",
  });
  assert.deepEqual(seen, [figure]);
  assert.equal(withPng["image/png"], "iVBORw=="); // the PNG signature's first 4 bytes, by hand
  assert.equal(withPng["text/plain"], "custom");
  await assert.rejects(figureBundle({} as never), /needs a "data" array/);
  await assert.rejects(figureBundle(figure, { png: new Uint8Array() }), /non-empty PNG/);
});

Deno.test("`describeFigure()` handles string titles and empty figures", () => {
  assert.equal(describeFigure({ data: [], layout: { title: "t" } }), 'Plotly figure "t": 0 traces');
  assert.equal(describeFigure({ data: [{}] }), "Plotly figure: 1 trace (scatter)");
});

Deno.test("`tableBundle()` aligns plain text and escapes HTML", () => {
  const bundle = tableBundle(
    [{ name: "a<b", value: 1 / 3, n: 12 }, { name: "c", n: 3, extra: true }],
    { caption: "T & U" },
  );
  assert.equal(
    bundle["text/plain"],
    [
      "T & U",
      "name | value  | n  | extra",
      "-----|--------|----|------",
      "a<b  | 0.3333 | 12 |",
      "c    |        |  3 | true",
    ].join("\n"),
  );
  assert.equal(
    bundle["text/html"],
    [
      "<table>",
      "<caption>T &amp; U</caption>",
      '<thead><tr><th>name</th><th style="text-align:right">value</th>' +
      '<th style="text-align:right">n</th><th>extra</th></tr></thead>',
      "<tbody>",
      '<tr><td>a&lt;b</td><td style="text-align:right">0.3333</td>' +
      '<td style="text-align:right">12</td><td></td></tr>',
      '<tr><td>c</td><td style="text-align:right"></td>' +
      '<td style="text-align:right">3</td><td>true</td></tr>',
      "</tbody>",
      "</table>",
    ].join("\n"),
  );
  assert.deepEqual(
    tableBundle([{ a: 1, b: 2 }], { columns: ["b"] })["text/plain"],
    "b\n-\n2",
  );
});

Deno.test("`formatCell()` keeps integers exact and rounds other numbers", () => {
  assert.deepEqual(
    [123456789, 2 / 3, 1234.5678, NaN, -Infinity, null, undefined, "x", [1]].map((v) =>
      formatCell(v)
    ),
    ["123456789", "0.6667", "1235", "NaN", "-Infinity", "", "", "x", "[1]"],
  );
  assert.equal(formatCell(Math.PI, 2), "3.1");
});

Deno.test("`showFigure()` and `showTable()` work outside Jupyter without displaying", async () => {
  assert.equal(inJupyter(), false);
  await showFigure({ data: [] });
  await showTable([{ a: 1 }]);
  await assert.rejects(showFigure({} as never), /needs a "data" array/);
});

const python = await findJupyterPython();
if (!python) console.warn(`SKIPPING the display kernel test: ${MISSING_JUPYTER_MESSAGE}`);

Deno.test({
  name: "`showFigure()` and `showTable()` produce their hand-written outputs in the Deno kernel",
  ignore: !python,
  async fn() {
    const { run, diffs } = await checkNotebookOutputs(join(FIXTURES, "display.ipynb"), {
      ignoreValues: [],
    });
    assert.ok(run.ok, run.log);
    assert.deepEqual(diffs, []);
  },
});
