/**
 * The command line of `deno task figures`: the figure files and final-return table regenerated
 * from the results database (read-only), with optional HTML pages and CSV exports.
 *
 * @module
 */
import { DEFAULT_DB_PATH, ResultsDb } from "../results/db.ts";
import { exportCsv } from "../results/csv.ts";
import { figureRuns, finalReturns, formatFinalTable, writeFigures } from "./figures.ts";
import { type FigureId, type Overrides, PRESET_IDS, type PresetId } from "./presets.ts";
import { buildGrid } from "./grid.ts";
import {
  dbFlag,
  dirFlag,
  extraFlag,
  figuresFlag,
  handleParseError,
  HelpRequest,
  parse,
  presetFlag,
} from "./cli_flags.ts";

/** Parsed `deno task figures` arguments. */
export interface FiguresArgs {
  /** Panels. */
  figures: FigureId[];
  /** Preset (undefined: every preset with data). */
  preset?: PresetId;
  /** Database path. */
  db: string;
  /** Output directory. */
  out: string;
  /** Render PNG and SVG files. */
  png: boolean;
  /** Also write the self-contained HTML page of each panel. */
  html: boolean;
  /** Also write runs.csv and metrics.csv. */
  csv: boolean;
  /** Overrides the runs were made with (--set, as given to reproduce). */
  extra: Overrides;
}

/** Usage of `deno task figures`. */
export const FIGURES_USAGE =
  `Usage: deno task figures [--figure <1a|...|1e|all|list>] [--preset quick|paper]
       [--db path] [--out dir] [--skip-png] [--html] [--csv] [--set key=value ...]

Regenerates <out>/figure<id>-<preset>.{json,png,svg} from the results database (default
${DEFAULT_DB_PATH}) and prints final returns; --html also writes a self-contained
<out>/figure<id>-<preset>.html (4.6 MB each: Plotly inlined), --csv <out>/runs.csv and metrics.csv.
Runs are selected by configuration: pass the same --preset and --set as to reproduce.
`;

/** Parse and validate `deno task figures` arguments (throws {@link UsageError}). */
export function parseFiguresArgs(args: string[]): FiguresArgs {
  const v = parse(args, {
    "figure": { type: "string" },
    "preset": { type: "string" },
    "db": { type: "string" },
    "out": { type: "string" },
    "skip-png": { type: "boolean" },
    "html": { type: "boolean" },
    "csv": { type: "boolean" },
    "set": { type: "string", multiple: true },
    "help": { type: "boolean", short: "h" },
  });
  if (v.help) throw new HelpRequest(FIGURES_USAGE);
  const figures = figuresFlag(v.figure, true);
  const preset = presetFlag(v.preset);
  const out = dirFlag("out", v.out, "out");
  const extra = extraFlag(v.set, (x) => {
    for (const p of preset ? [preset] : PRESET_IDS) {
      buildGrid({ figures, preset: p, seeds: 1, extra: x });
    }
  });
  return {
    figures,
    preset,
    extra,
    db: dbFlag(v.db, true),
    out,
    png: v["skip-png"] !== true,
    html: v.html === true,
    csv: v.csv === true,
  };
}

/** `deno task figures`: returns the exit code (0 written, 1 no data, 2 usage). */
export async function figuresMain(args: string[]): Promise<number> {
  let a: FiguresArgs;
  try {
    a = parseFiguresArgs(args);
  } catch (e) {
    return handleParseError(e, FIGURES_USAGE);
  }
  const db = ResultsDb.open(a.db, { readOnly: true });
  try {
    const r = await writeFigures(db, {
      figures: a.figures,
      preset: a.preset,
      outDir: a.out,
      png: a.png,
      html: a.html,
      extra: a.extra,
    });
    for (const w of r.written) {
      console.log(
        `figure ${w.figure} (${w.preset}): ${
          [w.files.json, w.files.png, w.files.svg, w.files.html].filter(Boolean).join(", ")
        }`,
      );
    }
    for (const c of r.combined) {
      console.log(
        `figure 1, all panels (${c.preset}): ${
          [c.files.json, c.files.png, c.files.svg, c.files.html].filter(Boolean).join(", ")
        }`,
      );
    }
    if (r.pngSkipped) console.log(r.pngSkipped);
    for (const f of r.missing) console.error(`figure ${f}: no runs with data in ${a.db}`);
    const rows = r.written.flatMap((w) =>
      finalReturns(db, w.figure, figureRuns(db, w.figure, w.preset, a.extra))
    );
    if (rows.length > 0) console.log("\n" + formatFinalTable(rows));
    if (a.csv) {
      const paths = exportCsv(db, a.out);
      console.log(`csv: ${paths.runs}, ${paths.metrics}`);
    }
    return r.written.length > 0 ? 0 : 1;
  } finally {
    db.close();
  }
}
