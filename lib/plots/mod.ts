/**
 * Figure builders: learning-curve statistics over seeds (./stats.ts), the panels of the paper's
 * Figure 1 as Plotly figure JSON (./figure1.ts), and JSON / self-contained HTML / PNG output
 * (./export.ts).
 *
 * @example
 * ```ts
 * import { curveStats } from "./mod.ts";
 * const s = curveStats([[{ envStep: 10, avgReturn: 1 }], [{ envStep: 12, avgReturn: 3 }]], 10);
 * console.log(s.x, s.mean, s.se); // [10] [2] [1]
 * ```
 * @module
 */
export * from "./stats.ts";
export * from "./figure1.ts";
// launchChromium is test and tool plumbing (it returns playwright's own Browser), not the API.
export {
  CHROMIUM_FLAGS,
  FIGURE_CSV_COLUMNS,
  figureCsv,
  type FigureFiles,
  figureHtml,
  findChromium,
  findPlotlyJs,
  type HtmlInspection,
  type ImageFormat,
  imageJobs,
  inspectHtml,
  type PngResult,
  pngUnavailableReason,
  renderImages,
  renderPngs,
  scriptJson,
  writeFigureFiles,
  type WriteFigureOptions,
} from "./export.ts";
export * from "./lines.ts";
export * from "./metrics.ts";
