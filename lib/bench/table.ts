/**
 * Text of the `deno task bench --compare` report: rates, ratios and cells as text, the machine
 * line, and the Markdown table of every workload (our backends, PyTorch columns, ratios).
 *
 * @module
 */
import { type Cell, type OursColumn, ratio, WORKLOAD_INFO, WORKLOADS } from "./workloads.ts";
import { NOT_PARALLEL, torchCell, type TorchColumn, torchLabel } from "./torch.ts";

/** A throughput as text: thousands separators at ≥ 100, two significant decimals below. */
export function formatRate(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x >= 100) return Math.round(x).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** A ratio as text ("3.2×"), "-" when absent. */
export function formatRatio(r: number | null): string {
  if (r === null) return "-";
  return r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`;
}

/** A cell as table text: the rate, or its status ("pending", "skipped", "error"). */
export function formatCell(c: Cell | undefined): string {
  if (c === undefined) return "-";
  return c.status === "ok" ? formatRate(c.value.envStepsPerSecond) : c.status;
}

/** Machine facts printed above the table. */
export interface BenchMachine {
  /** Logical cores. */
  cores: number;
  /** Load averages (1, 5, 15 min) before the measurements. */
  loadBefore: number[];
  /** Load averages after the measurements. */
  loadAfter: number[];
  /** Deno version. */
  deno: string;
  /** CPU model (Linux: /proc/cpuinfo), when known. */
  cpu?: string;
  /**
   * The kernels OpenBLAS picked for this CPU (`openblas_get_corename`), when OpenBLAS is loaded.
   * The rates depend on it: OpenBLAS 0.3.21 runs AMD Zen 5 on its Haswell kernels, whose one-row
   * `sgemm` is 4× slower than its SkylakeX kernels' on the same CPU.
   */
  blasKernels?: string;
}

/** The machine line: cores, CPU, BLAS kernels, load averages before and after, Deno and PyTorch. */
export function formatMachine(m: BenchMachine, torch: TorchColumn[]): string {
  const la = (x: number[]) => x.map((v) => v.toFixed(2)).join(" ");
  const tv = torch.find((t) => t.run.ok);
  const torchText = tv?.run.ok ? `PyTorch ${tv.run.report.torch}` : "PyTorch absent";
  const cpu = m.cpu === undefined ? "" : ` (${m.cpu})`;
  const blas = m.blasKernels === undefined ? "" : `OpenBLAS kernels ${m.blasKernels}, `;
  return `machine: ${m.cores} cores${cpu}, ${blas}load average ${la(m.loadBefore)} before, ` +
    `${la(m.loadAfter)} after; Deno ${m.deno}; ${torchText}`;
}

/**
 * The comparison as a Markdown table: one row per {@link WORKLOADS} entry; columns: each of our
 * backends, each PyTorch thread count, then ours (first backend) / PyTorch for each thread count.
 */
export function formatCompareTable(ours: OursColumn[], torch: TorchColumn[]): string {
  const head = [
    "workload (env-steps/s)",
    ...ours.map((o) => `ours ${o.backend}`),
    ...torch.map((t) => torchLabel(t)),
    ...torch.map((t) => `ours/${torchLabel(t)}`),
  ];
  const lines = [
    `| ${head.join(" | ")} |`,
    `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
  ];
  for (const w of WORKLOADS) {
    const info = WORKLOAD_INFO[w];
    const oc = ours.map((o) => o.cells[info.ours]);
    const tc = torch.map((t) => torchCell(t, info.torchMode));
    const cells = [
      info.label,
      ...oc.map(formatCell),
      ...tc.map((t) => (isNotParallel(t) ? "-" : formatCell(t))),
      ...tc.map((t) => formatRatio(ratio(oc[0], t))),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

function isNotParallel(c: Cell): boolean {
  return c.status === "skipped" && c.message === NOT_PARALLEL;
}
