/**
 * Write a {@link TabularPOMDP} as Cassandra `.pomdp` text that {@link parsePOMDP} reads back into
 * an identical model (every number is printed with the shortest exact decimal form).
 *
 * @module
 */
import { sizes, type TabularPOMDP } from "./model.ts";
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

/** Whether `x` must be written (the parser starts from all-zero tables; -0 must be written). */
function nonzero(x: number): boolean {
  return !Object.is(x, 0);
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

/**
 * Format a model as `.pomdp` text. Rows of T and O are written as single entries when sparse and
 * as rows otherwise; rewards constant over (s', o) use `*` wildcards.
 *
 * @example Round trip
 * ```ts
 * import { formatPOMDP, parsePOMDP, heavenHellModel } from "./mod.ts";
 * const m = heavenHellModel(3);
 * const back = parsePOMDP(formatPOMDP(m));
 * if (back.T.some((x, i) => x !== m.T[i])) throw new Error("round trip changed T");
 * ```
 */
export function formatPOMDP(model: TabularPOMDP, options: FormatPOMDPOptions = {}): string {
  const { S, A, O } = sizes(model);
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
      if (model.reset[a * S + s]) {
        lines.push(`T: ${ac[a]} : ${st[s]} reset`);
        continue;
      }
      const base = (a * S + s) * S;
      const row = model.T.subarray(base, base + S);
      const nz: number[] = [];
      for (let s2 = 0; s2 < S; s2++) if (nonzero(row[s2])) nz.push(s2);
      if (nz.length <= 4 || nz.length * 4 < S) {
        for (const s2 of nz) lines.push(`T: ${ac[a]} : ${st[s]} : ${st[s2]} ${num(row[s2])}`);
      } else {
        lines.push(`T: ${ac[a]} : ${st[s]}`, `  ${Array.from(row, num).join(" ")}`);
      }
    }
  }

  lines.push("");
  for (let a = 0; a < A; a++) {
    for (let s2 = 0; s2 < S; s2++) {
      const base = (a * S + s2) * O;
      const row = model.O.subarray(base, base + O);
      const nz: number[] = [];
      for (let o = 0; o < O; o++) if (nonzero(row[o])) nz.push(o);
      if (nz.length <= 4 || nz.length * 4 < O) {
        for (const o of nz) lines.push(`O: ${ac[a]} : ${st[s2]} : ${ob[o]} ${num(row[o])}`);
      } else {
        lines.push(`O: ${ac[a]} : ${st[s2]}`, `  ${Array.from(row, num).join(" ")}`);
      }
    }
  }

  lines.push("");
  const block = S * O;
  /** The constant value of R(a, s, ·, ·), or undefined when it varies. */
  const constant = (a: number, s: number): number | undefined => {
    const base = (a * S + s) * block;
    const c = model.R[base];
    for (let i = 1; i < block; i++) if (!Object.is(model.R[base + i], c)) return undefined;
    return c;
  };
  for (let s = 0; s < S; s++) {
    const c0 = constant(0, s);
    let sameForAll = c0 !== undefined;
    for (let a = 1; a < A && sameForAll; a++) sameForAll = Object.is(constant(a, s), c0);
    if (sameForAll) {
      if (nonzero(c0!)) lines.push(`R: * : ${st[s]} : * : * ${num(c0!)}`);
      continue;
    }
    for (let a = 0; a < A; a++) {
      const c = constant(a, s);
      if (c !== undefined) {
        if (nonzero(c)) lines.push(`R: ${ac[a]} : ${st[s]} : * : * ${num(c)}`);
        continue;
      }
      for (let s2 = 0; s2 < S; s2++) {
        const base = ((a * S + s) * S + s2) * O;
        const row = model.R.subarray(base, base + O);
        const nz: number[] = [];
        for (let o = 0; o < O; o++) if (nonzero(row[o])) nz.push(o);
        if (nz.length > 0 && row.every((x) => Object.is(x, row[0]))) {
          lines.push(`R: ${ac[a]} : ${st[s]} : ${st[s2]} : * ${num(row[0])}`);
        } else if (nz.length <= 4 || nz.length * 4 < O) {
          for (const o of nz) {
            lines.push(`R: ${ac[a]} : ${st[s]} : ${st[s2]} : ${ob[o]} ${num(row[o])}`);
          }
        } else {
          lines.push(`R: ${ac[a]} : ${st[s]} : ${st[s2]}`, `  ${Array.from(row, num).join(" ")}`);
        }
      }
    }
  }
  return lines.join("\n") + "\n";
}
