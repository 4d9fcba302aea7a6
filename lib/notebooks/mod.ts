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
