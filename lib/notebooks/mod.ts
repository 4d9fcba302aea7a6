/**
 * Notebook infrastructure: a headless runner that keeps the Deno kernel's late outputs
 * ({@link runNotebook}), an output check against committed notebooks ({@link checkNotebookOutputs}),
 * a type-check of notebook cells ({@link checkNotebooks}), and display helpers for Plotly figures
 * and tables ({@link showFigure}, {@link showTable}).
 *
 * @module
 */

export * from "./runner.ts";
export * from "./check.ts";
export * from "./display.ts";
export * from "./figure_report.ts";
// What the helpers above take and return, so that this entry point documents itself whole.
export { FIGURE_IDS, type FigureId, PRESET_IDS, type PresetId } from "../experiments/presets.ts";
export type * from "../results/mod.ts";
