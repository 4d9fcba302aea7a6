// The campaign's cells of the Figure 1a and 1b notebooks, executed on the Deno kernel against an
// absent, a partial and a complete campaign database (built in the test through the real results
// API, tests/experiments/campaign_fixture.ts): what each state shows, and that every state gives
// every cell the same kinds of output (so that a notebook executed before a snapshot is committed
// still compares equal, kind for kind, with one executed after). The generated notebook is run
// from a temporary copy whose CAMPAIGN_DB_PATH names the fixture, with our runner (and on the
// partial database also with stock `jupyter nbconvert --execute`, compared); the rerun cells
// (training) are left out here, tests/notebooks/notebooks_test.ts executes the committed notebooks
// whole.
//
// Needs Debian's jupyter-client; without it these tests are skipped with a warning.

import assert from "assert";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  findJupyterPython,
  joinText,
  MISSING_JUPYTER_MESSAGE,
  type Notebook,
  type NotebookCell,
  PLOTLY_MIME,
  readNotebook,
  runNotebook,
} from "../../lib/notebooks/mod.ts";
import { notebookJson, renderFigureNotebook } from "../../lib/notebooks/figure_notebook.ts";
import {
  buildCampaignDb,
  completeCampaign,
  partialCampaign,
} from "../experiments/campaign_fixture.ts";
import { hasNbconvert, stockExecuteChecked } from "./stock.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DB_LINE = 'const CAMPAIGN_DB_PATH = "../data/fig1-paper/results.sqlite";';
const python = await findJupyterPython();
if (!python) console.warn(`SKIPPING campaign notebook tests: ${MISSING_JUPYTER_MESSAGE}`);

/**
 * `figure`'s notebook without its rerun cells, reading the campaign database `db`, written into
 * `dir` with its relative paths ("../lib/...", "../data/...") made absolute so it runs from there.
 */
async function prepare(figure: "1a" | "1b", db: string, dir: string): Promise<string> {
  const nb = await renderFigureNotebook(figure);
  nb.cells = nb.cells.filter((c) => !c.id.startsWith("rerun"));
  const campaign = nb.cells.find((c) => c.id === "campaign")!;
  const source = joinText(campaign.source);
  assert.ok(source.includes(DB_LINE), "the campaign cell reads the committed snapshot");
  campaign.source = source.replace(DB_LINE, `const CAMPAIGN_DB_PATH = ${JSON.stringify(db)};`);
  for (const c of nb.cells) {
    if (c.cell_type === "code") c.source = joinText(c.source).replaceAll('"../', `"${ROOT}/`);
  }
  const path = join(dir, `figure_${figure}-${basename(db, ".sqlite")}.ipynb`);
  await Deno.writeTextFile(path, notebookJson(nb));
  return path;
}

/** Execute the campaign's cells of `figure`'s notebook on the database at `db` (our runner). */
async function execute(figure: "1a" | "1b", db: string, dir: string): Promise<Notebook> {
  const path = await prepare(figure, db, dir);
  const output = path.replace(/\.ipynb$/, ".out.ipynb");
  const run = await runNotebook(path, { output, cwd: dir, timeoutSeconds: 300 });
  const failure = run.failure ??
    run.errors.map((e) => `cell ${e.position}: ${e.ename}: ${e.evalue}`).join("\n");
  assert.ok(
    run.ok && run.errors.length === 0,
    `${figure} on ${db} failed:\n${failure}\n${run.log}`,
  );
  return await readNotebook(output);
}

/** A cell's text: its streams and the text/plain of its displays. */
function text(nb: Notebook, id: string): string {
  const cell = nb.cells.find((c) => (c as NotebookCell & { id?: string }).id === id)!;
  return (cell.outputs ?? []).map((o) =>
    o.output_type === "stream" ? joinText(o.text ?? "") : joinText(
      (o.data?.["text/plain"] as string | string[] | undefined) ?? "",
    )
  ).join("\n");
}

/** The figures a cell displayed. */
function figures(
  nb: Notebook,
  id: string,
): { data: Record<string, unknown>[]; layout: Record<string, unknown> }[] {
  const cell = nb.cells.find((c) => (c as NotebookCell & { id?: string }).id === id)!;
  return (cell.outputs ?? []).flatMap((o) =>
    o.data?.[PLOTLY_MIME] ? [o.data[PLOTLY_MIME] as never] : []
  );
}

/** Per code cell, its kinds of output in order ("stream:stdout", "display_data:text/html", ...). */
function kinds(nb: Notebook): string[][] {
  return nb.cells.filter((c) => c.cell_type === "code").map((c) =>
    (c.outputs ?? []).map((o) =>
      o.output_type === "stream"
        ? `stream:${o.name}`
        : `${o.output_type}:${Object.keys(o.data ?? {}).filter((m) => m !== "image/png").sort()}`
    )
  );
}

/** The trace names of a figure that carry a legend entry. */
function names(fig: { data: Record<string, unknown>[] }): string[] {
  return fig.data.filter((t) => t.showlegend !== false).map((t) => String(t.name));
}

function notes(fig: { layout: Record<string, unknown> }): string[] {
  return ((fig.layout.annotations as { text: string }[] | undefined) ?? []).map((a) => a.text);
}

Deno.test({
  name: "notebooks 1a/1b: the campaign's cells with no, a partial and a complete database",
  ignore: !python,
  async fn() {
    // Inside the checkout (git-ignored scratch/), so that the kernel finds deno.json's imports.
    await Deno.mkdir(join(ROOT, "scratch"), { recursive: true });
    const dir = await Deno.makeTempDir({
      dir: join(ROOT, "scratch"),
      prefix: "campaign-notebooks-",
    });
    try {
      buildCampaignDb(join(dir, "partial.sqlite"), partialCampaign());
      buildCampaignDb(join(dir, "complete.sqlite"), completeCampaign());
      const none = await execute("1a", join(dir, "absent.sqlite"), dir);
      const partial = await execute("1a", join(dir, "partial.sqlite"), dir);
      const complete = await execute("1b", join(dir, "complete.sqlite"), dir);

      // No database: said so; empty tables; the quick figure; figures with a note; no verdict.
      assert.match(text(none, "campaign"), /absent\.sqlite does not exist yet/);
      assert.match(text(none, "campaign"), /0\/40/);
      assert.match(text(none, "figure"), /Shown: the quick preset's panel/);
      assert.match(
        text(none, "selection"),
        /Gate: pending: .*Heaven-Hell-4 \(Figure 1b\) uses the setting selected on Heaven-Hell-3/,
      );
      assert.deepEqual(notes(figures(none, "outcomes")[0]).at(-1), "no logged point yet");
      assert.deepEqual(notes(figures(none, "evaluation")[0]), ["no greedy evaluation yet"]);
      assert.match(
        text(none, "campaign-verdict"),
        /Stage 1 has no finished run yet, so no claim is decided/,
      );
      assert.match(text(none, "campaign-verdict"), /pending \(finished seeds: adqn 0\/5, dqn 0\/5/);

      // Stage 0 under way: its progress, the unfinished runs, the selection so far, and the
      // stage-0 curves at the leading cells (ADQN at (3e-4, 100); DQN and ADQN-VR, without a
      // finished run, at the cell of their started runs).
      assert.match(text(partial, "campaign"), /partial\.sqlite: 6 runs of the campaign/);
      assert.match(text(partial, "campaign"), /3\/40/);
      assert.match(text(partial, "campaign"), /Started but unfinished runs \(2\)/);
      assert.match(
        text(partial, "campaign"),
        /adqn-vr, lr 0\.0001, time limit 100, seed 1000: 300,000\/2,000,000 steps \(running/,
      );
      assert.match(text(partial, "figure"), /Shown: the quick preset's panel/);
      assert.match(text(partial, "selection"), /0\.750\s*│?\s*2\/2|0\.750.*2\/2/);
      assert.match(text(partial, "outcomes"), /Shown: stage 0 \(selection on Heaven-Hell-3/);
      assert.deepEqual(names(figures(partial, "outcomes")[0]), ["DQN", "ADQN", "ADQN-VR"]);
      const ev = figures(partial, "evaluation")[0];
      const mean = ev.data.find((t) => String(t.name).startsWith("ADQN ("))!;
      // Evaluations at the odd points only: steps 200k, 400k, ... 1.4M of the 15-point run.
      assert.deepEqual(mean.x, [
        200_000,
        400_000,
        600_000,
        800_000,
        1_000_000,
        1_200_000,
        1_400_000,
      ]);
      assert.deepEqual(mean.y, [0.2, 0.2, 0.9, 0.9, 0.9, 0.9, 0.9]);
      assert.match(
        text(partial, "campaign-verdict"),
        /Stage 1 has no finished run yet, so no claim is decided \(stage 0, the selection, is still running\)/,
      );

      // Complete (panel 1b): the campaign's own panel, 5 seeds per curve, and the verdicts.
      assert.match(text(complete, "campaign"), /50\/50/);
      assert.match(
        text(complete, "figure"),
        /Shown: the campaign's panel, stage 1, Figure 1b \(Heaven-Hell-4\)/,
      );
      assert.deepEqual(names(figures(complete, "figure")[0]).slice(0, 5), [
        "DQN (5 runs)",
        "ADQN (5 runs)",
        "ADQN-VR (5 runs)",
        "ADQN-State (5 runs)",
        "ADQN-State-VR (5 runs)",
      ]);
      assert.match(text(complete, "figure"), /lr 0\.0003, time limit 100/);
      assert.match(
        text(complete, "selection"),
        /Gate: open: adqn(-vr)? at lr [0-9.]+, time limit \d+ reached .* stage 1 runs at the selected settings\./,
      );
      assert.match(text(complete, "outcomes"), /Shown: stage 1, Figure 1b/);
      assert.match(
        text(complete, "campaign-verdict"),
        /P\(X>Y\) 1\.000 \[1\.000, 1\.000\]: reproduced/,
      );
      assert.match(
        text(complete, "campaign-verdict"),
        /IQM 0\.500 \[0\.500, 0\.500\]: not reproduced/,
      );
      assert.match(text(complete, "campaign-verdict"), /Of the 8 claims, on Figure 1b: /);

      // Every state gives every cell the same kinds of output.
      assert.deepEqual(kinds(partial), kinds(none));
      assert.deepEqual(kinds(complete), kinds(none));
      // Stock nbconvert keeps the same outputs as our runner on a partial database.
      if (await hasNbconvert()) {
        const path = await prepare("1a", join(dir, "partial.sqlite"), dir);
        // Displays in the same order; text streams of the same kinds (a client may split a
        // cell's text or receive it around a display in another order).
        const shape = (nb: Notebook) =>
          kinds(nb).map((k) => ({
            displays: k.filter((x) => !x.startsWith("stream:")),
            streams: [...new Set(k.filter((x) => x.startsWith("stream:")))].sort(),
          }));
        await stockExecuteChecked(path, join(dir, "stock"), (stock) => {
          assert.deepEqual(shape(stock), shape(partial));
          assert.match(text(stock, "campaign"), /partial\.sqlite: 6 runs of the campaign/);
        }, dir);
      } else console.warn("SKIPPING the stock nbconvert part: jupyter-nbconvert not found");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
