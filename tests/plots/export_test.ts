import assert from "assert";
import {
  figureCsv,
  figureHtml,
  findChromium,
  findPlotlyJs,
  inspectHtml,
  renderPngs,
  scriptJson,
  writeFigureFiles,
} from "../../lib/plots/export.ts";
import { combineFigure1, figure1Panel } from "../../lib/plots/figure1.ts";

const chromium = findChromium();
if (!chromium) {
  console.warn(
    "SKIPPED browser tests of tests/plots/export_test.ts: Chromium not found at /usr/bin/chromium " +
      "(apt-get install -y --no-install-recommends chromium fonts-liberation)",
  );
}

function demo(id: string) {
  return figure1Panel({
    id,
    title: "Heaven-Hell-3 </script><b>",
    reference: { value: 1, label: "optimal return (1.0)" },
    runs: [0, 1, 2].flatMap((seed) =>
      ["dqn", "adqn"].map((algo) => ({
        algo,
        seed,
        logEvery: 10,
        points: [1, 2, 3, 4].map((k) => ({ envStep: 10 * k, avgReturn: k / 4 - seed / 10 })),
      }))
    ),
  });
}

Deno.test("`findPlotlyJs()` finds plotly.min.js in node_modules", () => {
  const p = findPlotlyJs();
  assert.ok(p.endsWith("node_modules/plotly.js-dist-min/plotly.min.js"));
});

Deno.test("`figureHtml()` inlines plotly.js and the figure JSON safely", () => {
  const html = figureHtml([demo("1a"), demo("1b")], { title: "t & <u>" });
  assert.ok(html.length > 4_000_000, "plotly.min.js is inlined");
  assert.ok(!/<script[^>]+src=/.test(html), "no external scripts");
  assert.equal((html.match(/<\/script>/g) ?? []).length, 2, "the title cannot close a script");
  assert.ok(html.includes("<title>t &amp; &lt;u&gt;</title>"));
  assert.ok(html.includes('id="fig1"'));
  assert.equal(scriptJson("</script>"), '"\\u003c/script>"');
});

Deno.test("`writeFigureFiles()` writes the figure JSON; HTML only when asked for", async () => {
  const dir = Deno.makeTempDirSync();
  const fig = demo("1a");
  const plain = await writeFigureFiles(fig, `${dir}/sub/plain`, { images: false });
  assert.deepEqual(JSON.parse(Deno.readTextFileSync(plain.json)), JSON.parse(JSON.stringify(fig)));
  assert.equal(plain.html, undefined);
  assert.deepEqual([...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name).sort(), [
    "plain.csv",
    "plain.json",
  ]);
  const out = await writeFigureFiles(fig, `${dir}/sub/fig`, { images: false, html: true });
  assert.ok(Deno.statSync(out.html!).size > 4_000_000);
  assert.equal(out.png, undefined);
  assert.equal(out.svg, undefined);
});

Deno.test({
  name: "`writeFigureFiles()` writes JSON + PNG + SVG by default (needs chromium)",
  ignore: !chromium,
  fn: async () => {
    const dir = Deno.makeTempDirSync();
    const out = await writeFigureFiles(demo("1a"), `${dir}/fig`);
    assert.deepEqual(out, {
      json: `${dir}/fig.json`,
      csv: `${dir}/fig.csv`,
      png: `${dir}/fig.png`,
      svg: `${dir}/fig.svg`,
    });
    const png = Deno.readFileSync(out.png!);
    assert.deepEqual([...png.slice(0, 4)], [137, 80, 78, 71]);
    const svg = Deno.readTextFileSync(out.svg!);
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /width="720" height="440"/, "SVG at the layout size");
    assert.match(svg, /Heaven-Hell-3 (&lt;|&#60;)\/script(&gt;|&#62;)/, "the title, escaped");
    assert.ok(svg.trimEnd().endsWith("</svg>"));
  },
});

Deno.test({
  name: "the HTML file opens in headless Chromium without console errors (needs chromium)",
  ignore: !chromium,
  fn: async () => {
    const dir = Deno.makeTempDirSync();
    const path = `${dir}/fig.html`;
    Deno.writeTextFileSync(path, figureHtml([demo("1a"), demo("1b")]));
    const seen = await inspectHtml(path);
    assert.deepEqual(seen, { errors: [], plots: 2 });
    // A broken page is noticed.
    Deno.writeTextFileSync(`${dir}/bad.html`, "<script>undefinedFunction()</script>");
    const bad = await inspectHtml(`${dir}/bad.html`);
    assert.equal(bad?.errors.length, 1);
  },
});

Deno.test({
  name: "`renderPngs()` writes PNG files at twice the layout size (needs chromium)",
  ignore: !chromium,
  fn: async () => {
    const dir = Deno.makeTempDirSync();
    const r = await renderPngs([{ figure: demo("1a"), path: `${dir}/a.png` }]);
    assert.deepEqual(r.written, [`${dir}/a.png`]);
    const b = Deno.readFileSync(`${dir}/a.png`);
    assert.deepEqual([...b.slice(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
    const view = new DataView(b.buffer, b.byteOffset);
    assert.equal(view.getUint32(16), 1440, "IHDR width");
    assert.equal(view.getUint32(20), 880, "IHDR height");
  },
});

Deno.test("`figureCsv()` holds each mean curve with its standard error, CRLF line endings", () => {
  const csv = figureCsv(demo("1a"));
  const lines = csv.split("\r\n");
  assert.equal(lines.at(-1), "", "every line ends with CRLF");
  assert.ok(!csv.replaceAll("\r\n", "").includes("\n"), "no bare LF");
  assert.equal(lines[0], "series,x,y,se,n");
  // demo(): seeds 0, 1, 2 with return k/4 - seed/10 at step 10k: mean k/4 - 0.1, SE of
  // (0, 0.1, 0.2) = sd 0.1 / sqrt(3).
  const dqn = lines.filter((l) => l.startsWith("DQN (3 runs),"));
  assert.equal(dqn.length, 4);
  const [, x, y, se, n] = dqn[0].split(",");
  assert.equal(Number(x), 10);
  assert.ok(Math.abs(Number(y) - (0.25 - 0.1)) < 1e-12, y);
  assert.ok(Math.abs(Number(se) - 0.1 / Math.sqrt(3)) < 1e-12, se);
  assert.equal(Number(n), 3);
  assert.ok(lines.some((l) => l.startsWith("optimal return (1.0),0,1,,")), "reference line");
  assert.ok(!lines.some((l) => l.includes("±1 SE")), "band outlines left out");
});

Deno.test("`combineFigure1()` puts panels side by side with one shared legend", () => {
  const a = demo("1a"), b = demo("1b");
  const fig = combineFigure1([a, b], { title: "Figure 1" });
  assert.equal(fig.data.length, a.data.length + b.data.length);
  const traces = fig.data as Record<string, unknown>[];
  assert.deepEqual(
    [...new Set(traces.map((t) => `${t.xaxis}/${t.yaxis}`))],
    ["x/y", "x2/y2"],
    "each panel on its own axes",
  );
  // In the legend: DQN, ADQN and the optimum once each, without per-panel run counts.
  const shown = traces.filter((t) => t.showlegend !== false).map((t) => t.name);
  assert.deepEqual(shown, ["DQN", "ADQN", "optimum (per panel)"]);
  const xaxis2 = layout_(fig).xaxis2 as { automargin: boolean; title: { standoff: number } };
  assert.equal(xaxis2.automargin, true);
  assert.equal(xaxis2.title.standoff, 8, "x titles next to their ticks");
  const layout = fig.layout as Record<string, unknown>;
  assert.deepEqual(layout.grid, { rows: 1, columns: 2, pattern: "independent", xgap: 0.25 });
  const notes = layout.annotations as { text: string; xref: string }[];
  assert.deepEqual(notes.map((n) => n.xref), ["x domain", "x2 domain"]);
  assert.ok(notes[0].text.startsWith("Figure 1a: Heaven-Hell-3"));
  assert.equal((layout.yaxis2 as { title: { text: string } }).title.text, "", "one y title");
  assert.throws(() => combineFigure1([]), /no panels/);
});

function layout_(fig: { layout: unknown }): Record<string, unknown> {
  return fig.layout as Record<string, unknown>;
}
