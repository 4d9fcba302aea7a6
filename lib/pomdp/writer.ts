/**
 * Write a {@link TabularPOMDP} as Cassandra `.pomdp` text that {@link parsePOMDP} reads back into
 * an identical model (every number is printed with the shortest exact decimal form).
 *
 * @module
 */
import { sizes, type SparseRows, type TabularPOMDP } from "./model.ts";
import { RESERVED_WORDS } from "./parser.ts";

/** Options of {@link formatPOMDP}. */
export interface FormatPOMDPOptions {
  /** Comment lines written at the top of the file (without the leading `#`). */
  header?: string[];
}

/** Shortest decimal text that parses back to exactly `x`, always with a decimal point; keeps -0. */
function num(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`formatPOMDP: cannot write non-finite number ${x}`);
  if (Object.is(x, -0)) return "-0.0";
  const s = String(x);
  const e = s.indexOf("e");
  if (e >= 0) return s.slice(0, e).includes(".") ? s : `${s.slice(0, e)}.0${s.slice(e)}`;
  return s.includes(".") ? s : `${s}.0`;
}

function nameList(kind: string, names: string[]): string {
  if (names.length === 0) throw new Error(`formatPOMDP: the model has no ${kind}`);
  if (names.every((n, i) => n === String(i))) return String(names.length);
  const seen = new Set<string>();
  for (const n of names) {
    if (!/^[^\s:#*]+$/.test(n) || /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(n)) {
      throw new Error(
        `formatPOMDP: cannot write ${kind} name ${JSON.stringify(n)}; names must be non-numeric ` +
          `and free of spaces, ':', '#' and '*'`,
      );
    }
    if (RESERVED_WORDS.includes(n)) {
      throw new Error(`formatPOMDP: cannot write ${kind} name "${n}": it is a reserved word`);
    }
    if (seen.has(n)) throw new Error(`formatPOMDP: duplicate ${kind} name "${n}"`);
    seen.add(n);
  }
  return names.join(" ");
}

/** Lines of one probability row: single entries when sparse, else the full row. */
function rowLines(
  rows: SparseRows,
  row: number,
  width: number,
  head: string,
  name: (j: number) => string,
): string[] {
  const from = rows.ptr[row], to = rows.ptr[row + 1], n = to - from;
  if (n <= 4 || n * 4 < width) {
    const out: string[] = [];
    for (let k = from; k < to; k++) {
      out.push(`${head} : ${name(rows.index[k])} ${num(rows.value[k])}`);
    }
    return out;
  }
  const dense = new Array<string>(width).fill("0.0");
  for (let k = from; k < to; k++) dense[rows.index[k]] = num(rows.value[k]);
  return [head, `  ${dense.join(" ")}`];
}

/**
 * Format a model as `.pomdp` text. Rows of T and O are written as single entries when sparse and
 * as rows otherwise; rewards are written entry by entry from the least to the most specific, with
 * `*` wildcards (and `R: * : s ...` when every action's row of s is the same).
 *
 * @example Round trip
 * ```ts
 * import { formatPOMDP, parsePOMDP, heavenHellModel } from "./mod.ts";
 * const m = heavenHellModel(3);
 * const back = parsePOMDP(formatPOMDP(m));
 * if (back.T.value.some((x, i) => x !== m.T.value[i])) throw new Error("round trip changed T");
 * ```
 */
export function formatPOMDP(model: TabularPOMDP, options: FormatPOMDPOptions = {}): string {
  const { S, A } = sizes(model);
  const lines: string[] = [];
  for (const h of options.header ?? []) lines.push(`# ${h}`.trimEnd());
  const st = model.states, ac = model.actions, ob = model.observations;
  lines.push(`discount: ${num(model.discount)}`);
  lines.push(`values: reward`);
  lines.push(`states: ${nameList("state", st)}`);
  lines.push(`actions: ${nameList("action", ac)}`);
  lines.push(`observations: ${nameList("observation", ob)}`);
  lines.push(`start: ${Array.from(model.start, num).join(" ")}`);

  lines.push("");
  for (let a = 0; a < A; a++) {
    for (let s = 0; s < S; s++) {
      if (model.reset[a * S + s]) lines.push(`T: ${ac[a]} : ${st[s]} reset`);
      else lines.push(...rowLines(model.T, a * S + s, S, `T: ${ac[a]} : ${st[s]}`, (j) => st[j]));
    }
  }

  lines.push("");
  for (let a = 0; a < A; a++) {
    for (let s2 = 0; s2 < S; s2++) {
      const head = `O: ${ac[a]} : ${st[s2]}`;
      lines.push(...rowLines(model.O, a * S + s2, ob.length, head, (j) => ob[j]));
    }
  }

  lines.push("");
  const R = model.R;
  /** The entries of reward row i as text (after the action), least specific first. */
  const rewardRow = (i: number, s: number): string[] => {
    const out: string[] = [];
    for (let k = R.ptr[i]; k < R.ptr[i + 1]; k++) {
      const next = R.next[k] < 0 ? "*" : st[R.next[k]], o = R.obs[k] < 0 ? "*" : ob[R.obs[k]];
      out.push(`: ${st[s]} : ${next} : ${o} ${num(R.value[k])}`);
    }
    return out;
  };
  for (let s = 0; s < S; s++) {
    const rows = Array.from({ length: A }, (_, a) => rewardRow(a * S + s, s));
    if (rows.every((r) => r.join("\n") === rows[0].join("\n"))) {
      for (const entry of rows[0]) lines.push(`R: * ${entry}`);
      continue;
    }
    for (let a = 0; a < A; a++) for (const entry of rows[a]) lines.push(`R: ${ac[a]} ${entry}`);
  }
  return lines.join("\n") + "\n";
}
