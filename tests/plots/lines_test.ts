import assert from "assert";
import { LINE_COLORS, lineChart } from "../../lib/plots/lines.ts";
import { describeFigure, figureBundle, PLOTLY_MIME } from "../../lib/notebooks/display.ts";

type Trace = Record<string, unknown> & { line: Record<string, unknown> };

Deno.test("`lineChart()` builds one scatter trace per series with {text} titles", () => {
  const fig = lineChart(
    [
      { name: "a", x: [0, 1, 2], y: [3, 2, 1] },
      { name: "b", x: [0, 2], y: [1, 1], color: "#123456", dash: "dot", markers: true, width: 3 },
    ],
    { title: "T", subtitle: "sub", xTitle: "k", yTitle: "err", width: 500, height: 300 },
  );
  const [a, b] = fig.data as Trace[];
  assert.equal(fig.data.length, 2);
  assert.deepEqual(
    { type: a.type, mode: a.mode, name: a.name, x: a.x, y: a.y },
    { type: "scatter", mode: "lines", name: "a", x: [0, 1, 2], y: [3, 2, 1] },
  );
  assert.deepEqual(a.line, { color: LINE_COLORS[0], width: 2, dash: "solid" });
  assert.equal(b.mode, "lines+markers");
  assert.deepEqual(b.line, { color: "#123456", width: 3, dash: "dot" });
  const layout = fig.layout as Record<string, Record<string, unknown>>;
  assert.deepEqual(layout.title, { text: 'T<br><span style="font-size:12px">sub</span>' });
  assert.deepEqual(layout.xaxis.title, { text: "k", standoff: 8 });
  assert.deepEqual(layout.yaxis.title, { text: "err", standoff: 8 });
  assert.equal(layout.xaxis.type, "linear");
  assert.equal(fig.layout.width, 500);
  assert.equal(fig.layout.height, 300);
  // The display helpers accept it as is.
  assert.equal(
    describeFigure(fig),
    'Plotly figure "T<br><span style="font-size:12px">sub</span>": 2 traces (scatter ×2)',
  );
});

Deno.test("`lineChart()` cycles the default colours and keeps the series order", () => {
  const n = LINE_COLORS.length + 2;
  const fig = lineChart(
    Array.from({ length: n }, (_, i) => ({ name: `s${i}`, x: [0], y: [i] })),
    { title: "many" },
  );
  const colors = (fig.data as Trace[]).map((t) => t.line.color);
  assert.deepEqual(colors, [...LINE_COLORS, LINE_COLORS[0], LINE_COLORS[1]]);
  assert.deepEqual(
    (fig.data as Trace[]).map((t) => t.name),
    Array.from({ length: n }, (_, i) => `s${i}`),
  );
});

Deno.test("`lineChart()` turns non-finite y into gaps and, on a log axis, non-positive y too", () => {
  const y = [1, NaN, Infinity, 0, -2, 1e-3];
  const linear = lineChart([{ name: "s", x: [1, 2, 3, 4, 5, 6], y }], { title: "lin" });
  assert.deepEqual((linear.data[0] as Trace).y, [1, null, null, 0, -2, 1e-3]);
  const log = lineChart([{ name: "s", x: [1, 2, 3, 4, 5, 6], y }], { title: "log", logY: true });
  assert.deepEqual((log.data[0] as Trace).y, [1, null, null, null, null, 1e-3]);
  assert.equal((log.layout as Record<string, Record<string, unknown>>).yaxis.type, "log");
  const floored = lineChart([{ name: "s", x: [1, 2, 3, 4, 5, 6], y }], {
    title: "floor",
    logY: true,
    logFloor: 1e-16,
  });
  assert.deepEqual((floored.data[0] as Trace).y, [1, null, null, 1e-16, 1e-16, 1e-3]);
  // JSON has no NaN: the figure survives a round trip unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(floored)), floored);
});

Deno.test("`lineChart()` draws reference lines across the x range of all series", () => {
  const fig = lineChart(
    [{ name: "a", x: [2, 5], y: [0, 1] }, { name: "b", x: [-1, 3], y: [0, 0] }],
    { title: "ref", references: [{ value: 0.99 ** 14, label: "optimum" }] },
  );
  const ref = fig.data[2] as Trace;
  assert.equal(fig.data.length, 3);
  assert.deepEqual({ name: ref.name, x: ref.x, y: ref.y }, {
    name: "optimum",
    x: [-1, 5], // min and max x over both series
    y: [0.99 ** 14, 0.99 ** 14],
  });
  assert.equal(ref.line.dash, "dash");
  // Without series the line still spans a unit range.
  const empty = lineChart([], { title: "e", references: [{ value: 1, label: "r" }] });
  assert.deepEqual((empty.data[0] as Trace).x, [0, 1]);
});

Deno.test("`lineChart()` sets log axes and a y range in Plotly's units", () => {
  const fig = lineChart([{ name: "a", x: [1, 10, 100], y: [1, 0.1, 0.01] }], {
    title: "loglog",
    logX: true,
    logY: true,
    yRange: [1e-4, 10],
  });
  const layout = fig.layout as Record<string, Record<string, unknown>>;
  assert.equal(layout.xaxis.type, "log");
  assert.equal(layout.yaxis.type, "log");
  assert.deepEqual(layout.yaxis.range, [-4, 1]); // log10 of the data range, by hand
  const lin = lineChart([{ name: "a", x: [0], y: [0] }], { title: "r", yRange: [-1, 1] });
  assert.deepEqual((lin.layout as Record<string, Record<string, unknown>>).yaxis.range, [-1, 1]);
});

Deno.test("`lineChart()` rejects malformed series and options, naming the problem", () => {
  const ok = { name: "a", x: [1], y: [1] };
  assert.throws(
    () => lineChart([{ name: "a", x: [1, 2], y: [1] }], { title: "t" }),
    /series 0 \("a"\): x has 2 values but y has 1/,
  );
  assert.throws(
    () => lineChart([ok, { name: "b", x: [NaN], y: [1] }], { title: "t" }),
    /series 1 \("b"\): x\[0\] = NaN is not a finite number/,
  );
  assert.throws(
    () => lineChart([{ name: "c", x: [0, 1], y: [1, 1] }], { title: "t", logX: true }),
    /x\[0\] = 0 cannot be drawn on a log x axis/,
  );
  assert.throws(
    () => lineChart([ok], { title: "t", logY: true, logFloor: 0 }),
    /logFloor 0 must be a finite number > 0/,
  );
  assert.throws(
    () => lineChart([ok], { title: "t", logY: true, yRange: [0, 1] }),
    /must be positive on a log y axis/,
  );
  assert.throws(() => lineChart([ok], { title: "t", yRange: [2, 1] }), /min < max/);
  assert.throws(
    () => lineChart([ok], { title: "t", references: [{ value: NaN, label: "x" }] }),
    /reference line needs a finite value/,
  );
  assert.throws(() => lineChart([ok], {} as never), /options.title/);
  assert.throws(() => lineChart([{ x: [1], y: [1] } as never], { title: "t" }), /string name/);
});

Deno.test("`lineChart()` figures go into a notebook MIME bundle unchanged", async () => {
  const fig = lineChart([{ name: "a", x: [0, 1], y: [1, 2] }], { title: "bundle" });
  const bundle = await figureBundle(fig);
  assert.deepEqual(bundle[PLOTLY_MIME], { data: fig.data, layout: fig.layout });
  assert.equal(bundle["text/plain"], 'Plotly figure "bundle": 1 trace (scatter)');
});

Deno.test("`lineChart()` keeps coinciding curves visible and says they coincide", () => {
  const fig = lineChart([
    { name: "API", x: [0, 1, 2], y: [1, 0.5, 0] },
    { name: "PI", x: [0, 1, 2], y: [1, 0.5, 0] },
    { name: "VI", x: [0, 1, 2], y: [1, 0.25, 0] },
  ], { title: "t", xTitle: "k" });
  const [api, pi, vi] = fig.data as Record<string, unknown>[];
  assert.equal(api.name, "API");
  assert.equal(pi.name, "PI (coincides with API)");
  assert.equal(pi.mode, "lines+markers");
  assert.equal((pi.line as { dash: string }).dash, "dot");
  assert.equal(vi.name, "VI", "a different curve is not marked");
  assert.equal(vi.mode, "lines");
  const xaxis = fig.layout.xaxis as { automargin: boolean; title: { standoff: number } };
  assert.equal(xaxis.automargin, true, "the x title follows its tick labels");
  assert.equal(xaxis.title.standoff, 8);
});
