// The Figure 1 notebooks (notebooks/figure_1a.ipynb ... figure_1e.ipynb) come from one template
// through lib/notebooks/figure_notebook.ts: these tests check what the generator makes (five
// notebooks, each with its claim, figure, table, verdict and rerun cells) and that the committed
// notebooks' sources are exactly the generator's (re-run `deno run -A lib/notebooks/figure_notebook.ts`
// and `deno task notebooks notebooks/figure_1*.ipynb` after editing the template).
// tests/notebooks/notebooks_test.ts executes them.

import assert from "assert";
import { join } from "node:path";
import {
  CAMPAIGN_FIGURES,
  compareSources,
  FIGURE_NOTEBOOK_CELLS,
  FIGURE_PANEL_TEXT,
  type FigureNotebook,
  figureNotebookCells,
  figureNotebookPath,
  figureNotebookTemplate,
  fillPlaceholders,
  notebookJson,
  parseTemplate,
  renderFigureNotebook,
  sourceLines,
  writeFigureNotebooks,
} from "../../lib/notebooks/figure_notebook.ts";
import { FIGURE_CLAIMS } from "../../lib/notebooks/figure_report.ts";
import { joinText, readNotebook } from "../../lib/notebooks/runner.ts";
import { FIGURE_IDS, FIGURES } from "../../lib/experiments/presets.ts";

const notebooks = new Map<string, FigureNotebook>();
for (const id of FIGURE_IDS) notebooks.set(id, await renderFigureNotebook(id));

function cell(nb: FigureNotebook, id: string): string {
  const found = nb.cells.find((c) => c.id === id);
  assert.ok(found, `no cell "${id}"`);
  return joinText(found.source);
}

Deno.test("`renderFigureNotebook()` makes one notebook per panel; 1a and 1b add the campaign's cells", () => {
  assert.deepEqual([...notebooks.keys()], ["1a", "1b", "1c", "1d", "1e"]);
  assert.deepEqual(CAMPAIGN_FIGURES, ["1a", "1b"]);
  for (const [id, nb] of notebooks) {
    assert.deepEqual(nb.cells.map((c) => c.id), figureNotebookCells(id as "1a"), id);
    const extra = nb.cells.map((c) => c.id).filter((c) => !FIGURE_NOTEBOOK_CELLS.includes(c));
    assert.deepEqual(
      extra,
      CAMPAIGN_FIGURES.includes(id as "1a")
        ? [
          "campaign-md",
          "campaign",
          "selection-md",
          "selection",
          "outcomes-md",
          "outcomes",
          "evaluation-md",
          "evaluation",
          "campaign-verdict-md",
          "campaign-verdict",
        ]
        : [],
      id,
    );
    assert.equal(nb.nbformat, 4);
    assert.equal((nb.metadata?.kernelspec as { name: string }).name, "deno");
    for (const c of nb.cells) {
      const kind = c.id.endsWith("-md") || c.id === "title" || c.id === "claim"
        ? "markdown"
        : "code";
      assert.equal(c.cell_type, kind, `${id} cell ${c.id}`);
      if (kind === "code") assert.deepEqual([c.outputs, c.execution_count], [[], null]);
      assert.doesNotMatch(joinText(c.source), /\{\{|\}\}/, `${id} ${c.id}: unfilled placeholder`);
    }
  }
});

Deno.test("each figure notebook states the paper's claims and the checks of its panel", () => {
  for (const [id, nb] of notebooks) {
    const title = cell(nb, "title");
    assert.ok(title.startsWith(`# Figure ${id}: ${FIGURE_PANEL_TEXT[id as "1a"].title}\n`), title);
    const claim = cell(nb, "claim");
    assert.match(claim, /^## What the paper claims/);
    for (const c of FIGURE_CLAIMS[id as "1a"]) {
      assert.ok(claim.includes(c.headline ? `**${c.text}**` : `- ${c.text}`), `${id}: ${c.text}`);
    }
    assert.ok(claim.includes(FIGURES[id as "1a"].reference!.label), id);
  }
  // The panel-specific statements of section 5.1.
  const claimOf = (id: string) => cell(notebooks.get(id)!, "claim");
  for (const id of ["1a", "1b"]) {
    assert.match(claimOf(id), /able to reach optimal performance/);
    assert.match(claimOf(id), /reach the optimal return 1\.0/);
  }
  for (const id of ["1c", "1d", "1e"]) assert.doesNotMatch(claimOf(id), /particularly stark/);
  assert.match(claimOf("1e"), /only task not reliably solved by any of the methods/);
  assert.match(claimOf("1e"), /\*\*ADQN-State\*\* outperforms \*\*DQN\*\*/);
  for (const id of ["1c", "1d"]) {
    assert.match(claimOf(id), /\*\*ADQN-State-VR\*\* has better final convergence values/);
  }
});

const PAPER = new URL("../../../shared/paper/asymmetric-dqn.txt", import.meta.url);
const paperText = await Deno.readTextFile(PAPER).catch(() => undefined);
if (paperText === undefined) {
  console.warn(
    `figure_notebooks_test: the paper's text (${PAPER.pathname}) is not beside this checkout, so ` +
      "the check that the notebooks quote it verbatim is skipped (ignored below)",
  );
}

Deno.test({
  name: "the quotes of the figure notebooks are verbatim from the paper",
  ignore: paperText === undefined, // the paper's text is not part of the repository
  fn() {
    const flat = (s: string) => s.replace(/\*\*/g, "").replace(/\s+/g, " ");
    const paper = flat(paperText!);
    for (const id of FIGURE_IDS) {
      for (const quote of FIGURE_PANEL_TEXT[id].quotes) {
        assert.ok(paper.includes(flat(quote)), `${id}: not in the paper: ${quote}`);
      }
    }
  },
});

Deno.test("each figure notebook has its figure, table, verdict and rerun cells", () => {
  for (const [id, nb] of notebooks) {
    const setup = cell(nb, "setup");
    assert.match(setup, new RegExp(`^const FIGURE = "${id}";$`, "m"));
    assert.match(setup, /^const DB_PATH = "\.\.\/data\/fig1-quick\/results\.sqlite";$/m);
    assert.match(setup, /openResultsSnapshot\(DB_PATH\)/); // read-only, through a copy
    assert.match(setup, /does not exist \(yet\)/); // says so when the database is missing
    assert.match(cell(nb, "figure"), /await show\(committed\.figure\)/);
    assert.match(cell(nb, "table"), /await showTable\(finalTable\(committed\.rows/);
    const verdict = cell(nb, "verdict");
    assert.match(verdict, /checkClaims\(FIGURE, committed\.rows\)/);
    assert.match(verdict, /console\.log\(panelVerdict\(FIGURE, results, committed\.budget\)/);
    const rerun = cell(nb, "rerun");
    assert.match(rerun, /^const RERUN: /m);
    assert.ok(rerun.includes(`algos: ["dqn", "adqn"],\n  seeds: 2,`), rerun);
    const steps = FIGURE_PANEL_TEXT[id as "1a"].rerunSteps;
    assert.ok(steps <= 5_000, `${id}: the rerun must stay tiny (CI executes it)`);
    const literal = String(steps).replace(/\B(?=(\d{3})+(?!\d))/g, "_"); // 1500 → 1_500
    assert.ok(rerun.includes(`totalSteps: ${literal},`), rerun);
    assert.match(rerun, /realTrainer\("wasm"\)/); // deterministic outputs
    assert.match(cell(nb, "rerun-figure"), /^await show\(rerun\.figure\);$/m);
    assert.ok(
      cell(nb, "rerun-md").includes(
        `deno task reproduce --figure ${id} --preset quick --db /tmp/fig${id}-quick.sqlite`,
      ),
    );
  }
});

Deno.test("the committed figure notebooks have exactly the generator's sources", async () => {
  for (const id of FIGURE_IDS) {
    const path = figureNotebookPath(id);
    const committed = await readNotebook(path);
    const diffs = compareSources(committed, notebooks.get(id)!);
    assert.deepEqual(
      diffs,
      [],
      `${path} is stale: run \`deno run -A lib/notebooks/figure_notebook.ts\` and ` +
        `\`deno task notebooks ${path}\`\n${diffs.map((d) => d.message).join("\n")}`,
    );
  }
});

Deno.test("`writeFigureNotebooks()` writes changed notebooks only, and `check` reports them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "figure-notebooks-test-" });
  try {
    const first = await writeFigureNotebooks({ dir });
    assert.deepEqual(first.map((r) => r.status), Array(5).fill("written"));
    assert.equal(
      await Deno.readTextFile(join(dir, "figure_1a.ipynb")),
      notebookJson(notebooks.get("1a")!),
    );
    // An executed notebook (outputs, counts) with the same sources is left alone.
    const executed = structuredClone(notebooks.get("1c")!);
    executed.cells[2].outputs = [{ output_type: "stream", name: "stdout", text: ["x\n"] }];
    executed.cells[2].execution_count = 1;
    await Deno.writeTextFile(join(dir, "figure_1c.ipynb"), notebookJson(executed));
    const again = await writeFigureNotebooks({ dir });
    assert.deepEqual(again.map((r) => r.status), Array(5).fill("unchanged"));
    assert.equal(await Deno.readTextFile(join(dir, "figure_1c.ipynb")), notebookJson(executed));
    // An edited source is stale under `check` (nothing written), rewritten otherwise.
    const edited = structuredClone(executed);
    edited.cells[4].source = ["// edited by hand\n", ...edited.cells[4].source];
    await Deno.writeTextFile(join(dir, "figure_1c.ipynb"), notebookJson(edited));
    const checked = await writeFigureNotebooks({ dir, check: true });
    assert.deepEqual(checked.map((r) => r.status), [
      "unchanged",
      "unchanged",
      "stale",
      "unchanged",
      "unchanged",
    ]);
    assert.match(checked[2].diffs[0].message, /cell 4 \("figure"\) differs from line 1/);
    assert.equal(await Deno.readTextFile(join(dir, "figure_1c.ipynb")), notebookJson(edited));
    const fixed = await writeFigureNotebooks({ dir, figures: ["1c"] });
    assert.deepEqual(fixed.map((r) => r.status), ["written"]);
    assert.equal(
      await Deno.readTextFile(join(dir, "figure_1c.ipynb")),
      notebookJson(notebooks.get("1c")!),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`parseTemplate()` and `fillPlaceholders()` reject malformed templates", async () => {
  assert.deepEqual(parseTemplate("%% markdown a\n# A\n\n%% code b\nx;\n\n"), [
    { cellType: "markdown", id: "a", source: "# A" },
    { cellType: "code", id: "b", source: "x;" },
  ]);
  assert.throws(() => parseTemplate("stray\n%% code a\n"), /line 1 is outside any cell/);
  assert.throws(() => parseTemplate("%% code a\n%% code a\n"), /"a" is used twice/);
  assert.equal(fillPlaceholders("{{A}}-{{B}}", { A: "1", B: "2" }), "1-2");
  assert.throws(
    () => fillPlaceholders("{{C}}", { A: "1" }),
    /unknown template placeholder \{\{C\}\}/,
  );
  assert.deepEqual(sourceLines("a\nb\n\nc"), ["a\n", "b\n", "\n", "c"]);
  assert.deepEqual(sourceLines(""), []);
  // A cell may have variants for disjoint sets of panels, never for overlapping ones.
  assert.deepEqual(parseTemplate("%% code a 1a 1b\nx;\n%% code a 1c\ny;\n%% code b\nz;"), [
    { cellType: "code", id: "a", source: "x;", figures: ["1a", "1b"] },
    { cellType: "code", id: "a", source: "y;", figures: ["1c"] },
    { cellType: "code", id: "b", source: "z;" },
  ]);
  assert.throws(() => parseTemplate("%% code a 1a 1b\n%% code a 1b\n"), /"a" is used twice/);
  assert.throws(() => parseTemplate("%% code a\n%% code a 1b\n"), /"a" is used twice/);
  // The real template parses into the documented cells of every panel.
  const cells = parseTemplate(await Deno.readTextFile(figureNotebookTemplate()));
  for (const id of FIGURE_IDS) {
    const mine = cells.filter((c) => !c.figures || c.figures.includes(id)).map((c) => c.id);
    assert.deepEqual(mine, figureNotebookCells(id), id);
  }
  await assert.rejects(renderFigureNotebook("2a" as never), /unknown figure "2a"/);
});
