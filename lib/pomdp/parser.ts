/**
 * A parser for Cassandra's `.pomdp` file format (pomdp-solve), with the `reset` keyword of
 * gym-pomdps' episodic models.
 *
 * Supported: `#` comments; the preamble `discount:`, `values: reward|cost`, `states:`, `actions:`,
 * `observations:` (a count or a list of names); `start:` as a vector, `uniform`, or one state
 * (name or index), `start include:` and `start exclude:` lists; `T:`, `O:` and `R:` entries in all
 * their forms, with names, indices or `*` wildcards:
 *
 * - `T: a : s : s' p`, `T: a : s` + |S| numbers | `uniform` | `reset`, `T: a` + |S|×|S| numbers |
 *   `identity` | `uniform`;
 * - `O: a : s' : o p`, `O: a : s'` + |O| numbers | `uniform`, `O: a` + |S|×|O| numbers | `uniform` |
 *   `identity` (when |S| = |O|);
 * - `R: a : s : s' : o v`, `R: a : s : s'` + |O| numbers, `R: a : s` + |S|×|O| numbers.
 *
 * Numbers may continue on the following lines. Later entries override earlier ones (as in
 * pomdp-solve). `T: a : s reset` marks the pair (s, a) as ending the episode: its row of T is
 * zeroed and `reset[a*|S| + s] = 1`; a later `T:` entry touching that row clears the mark again.
 * `values: cost` negates every reward. After parsing, every non-reset row of T, every row of O and
 * the start distribution must sum to 1 within 1e-5 (pomdp-solve's `EPSILON`); a row within that
 * tolerance is divided by its sum so that it sums to 1 exactly in floating point.
 *
 * @example Parse the tiger problem's preamble and a few entries
 * ```ts
 * import { parsePOMDP } from "./parser.ts";
 * const m = parsePOMDP(`
 *   discount: 0.95
 *   values: reward
 *   states: tiger-left tiger-right
 *   actions: listen open-left open-right
 *   observations: hear-left hear-right
 *   start: uniform
 *   T: listen identity
 *   T: open-left uniform
 *   T: open-right uniform
 *   O: listen
 *     0.85 0.15
 *     0.15 0.85
 *   O: open-left uniform
 *   O: open-right uniform
 *   R: listen : * : * : * -1
 *   R: open-left : tiger-left : * : * -100
 *   R: open-left : tiger-right : * : * 10
 *   R: open-right : tiger-left : * : * 10
 *   R: open-right : tiger-right : * : * -100
 * `, { source: "tiger.pomdp" });
 * if (m.states.length !== 2 || m.start[0] !== 0.5) throw new Error("unexpected model");
 * ```
 * @module
 */
import { makeModel, type TabularPOMDP } from "./model.ts";
import { RewardLog, RowLog } from "./tables.ts";
import { Lexer, type Token } from "./lexer.ts";

/** Options of {@link parsePOMDP}. */
export interface ParsePOMDPOptions {
  /** Name of the text's origin (a file path), used in error messages. Default `"<pomdp>"`. */
  source?: string;
}

/** A syntax or semantic error in a `.pomdp` text; the message starts with `source:line:`. */
export class PomdpParseError extends Error {
  /** The `source` option of the parse that failed. */
  readonly source: string;
  /** 1-based line number of the offending token (0 when the error concerns the whole file). */
  readonly line: number;
  /** Build the error; the message is prefixed with `source:line: `. */
  constructor(source: string, line: number, message: string) {
    super(`${source}:${line > 0 ? line : "end"}: ${message}`);
    this.name = "PomdpParseError";
    this.source = source;
    this.line = line;
  }
}

const STATEMENTS = [
  "discount",
  "values",
  "states",
  "actions",
  "observations",
  "start",
  "T",
  "O",
  "R",
];
/** Words with a fixed meaning that cannot name a state, action or observation. */
export const RESERVED_WORDS: readonly string[] = [
  "discount",
  "values",
  "states",
  "actions",
  "observations",
  "start",
  "include",
  "exclude",
  "reward",
  "cost",
  "uniform",
  "identity",
  "reset",
  "T",
  "O",
  "R",
];
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER_RE = /^\d+$/;
/** pomdp-solve's tolerance on probability sums (its `EPSILON 0.00001`). */
const TOLERANCE = 1e-5;

/**
 * The most bytes the tables of one model may take while parsing: half of this machine's memory
 * (4 GiB where that cannot be read, e.g. without `--allow-sys`).
 */
export function maxModelBytes(): number {
  try {
    return Deno.systemMemoryInfo().total / 2;
  } catch {
    return 4 * 2 ** 30;
  }
}

/** Bytes per (action, state) pair of the per-row tables (row starts, marks, lines, rewards). */
const BYTES_PER_PAIR = 48;
/** Bytes per logged T/O entry (row, column, value) and per R entry (row, s', o, value). */
const BYTES_PER_ENTRY = 20;

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/**
 * Fail with the sizes, rather than a bare `RangeError`, when the per-(action, state) tables of a
 * model with |S| = S, |A| = A, |O| = O cannot be allocated (or indexed with 32-bit integers).
 */
function checkModelSize(
  source: string,
  line: number,
  S: number,
  A: number,
  O: number,
  limit: number,
): void {
  const bytes = A * S * BYTES_PER_PAIR + (S + A + O) * 56;
  if (bytes > limit || A * S >= 2 ** 31 - 1 || (S + 1) * (O + 1) >= 2 ** 31) {
    throw new PomdpParseError(
      source,
      line,
      `model too large: ${S} states, ${A} actions and ${O} observations need ` +
        `|A|·|S| = ${A * S} rows of sparse tables, ${gib(bytes)} before any entry; the limit is ` +
        `${gib(limit)}, half of this machine's memory (4 GiB where unknown), and 2^31 rows`,
    );
  }
}

function quote(t: Token | undefined): string {
  return t === undefined ? "end of file" : `'${t.text}'`;
}

type Space = "state" | "action" | "observation";

/** The tables being built: the start vector, reset marks and logs of T, O and R writes. */
interface Tables {
  S: number;
  A: number;
  O: number;
  start: Float64Array;
  tLog: RowLog;
  oLog: RowLog;
  rLog: RewardLog;
  reset: Uint8Array;
}

class Parser {
  private discount: number | undefined;
  private isCost = false;
  private seenValues = false;
  private states: string[] | undefined;
  private actions: string[] | undefined;
  private observations: string[] | undefined;
  private index: Record<Space, Map<string, number>> = {
    state: new Map(),
    action: new Map(),
    observation: new Map(),
  };
  /** Counts given as `states: N` (names made once the sizes are checked). */
  private counts: Partial<Record<"states" | "actions" | "observations", number>> = {};
  private model: Tables | undefined;
  private startSet = false;
  /** Last line that wrote each T row / O row (for validation messages); 0 = never. */
  private lineT = new Int32Array(0);
  private lineO = new Int32Array(0);
  private startLine = 0;
  /** Entries logged so far (T, O and R), for the memory guard. */
  private written = 0;
  /** {@link maxModelBytes}, read once (asking the system per statement is slow). */
  private limit = 0;

  private readonly lex: Lexer;

  constructor(text: string, private readonly source: string) {
    this.lex = new Lexer(text);
  }

  private fail(token: Token | undefined, message: string): never {
    const line = token?.line ?? this.lex.finalLine();
    throw new PomdpParseError(this.source, line, message);
  }

  private peek(offset = 0): Token | undefined {
    return this.lex.peek(offset);
  }

  private next(what: string): Token {
    const t = this.lex.peek();
    if (t === undefined) this.fail(undefined, `expected ${what}, found end of file`);
    this.lex.advance();
    return t;
  }

  private expectColon(after: string): void {
    const t = this.peek();
    if (t?.text !== ":") this.fail(t, `expected ':' after ${after}, found ${quote(t)}`);
    this.lex.advance();
  }

  /** Whether a statement starts at token offset `i` from the current position. */
  private statementAt(i = 0): boolean {
    const t = this.peek(i);
    if (t === undefined) return false;
    if (t.text === "start") {
      const n = this.peek(i + 1)?.text;
      if (n === ":") return true;
      return (n === "include" || n === "exclude") && this.peek(i + 2)?.text === ":";
    }
    return STATEMENTS.includes(t.text) && this.peek(i + 1)?.text === ":";
  }

  parse(): TabularPOMDP {
    while (!this.lex.done()) this.statement();
    return this.finish();
  }

  private statement(): void {
    const t = this.peek()!;
    if (!this.statementAt()) {
      if (this.peek(1)?.text === ":") {
        this.fail(
          t,
          `unknown statement '${t.text}:'; expected one of ${
            STATEMENTS.join(", ")
          }, start include, ` +
            `start exclude`,
        );
      }
      this.fail(t, `expected a statement (${STATEMENTS.join(":, ")}:), found ${quote(t)}`);
    }
    this.lex.advance();
    switch (t.text) {
      case "discount":
        return this.parseDiscount(t);
      case "values":
        return this.parseValues(t);
      case "states":
      case "actions":
      case "observations":
        return this.parseNames(t);
      case "start":
        return this.parseStart(t);
      case "T":
        return this.parseT(t);
      case "O":
        return this.parseO(t);
      case "R":
        return this.parseR(t);
    }
  }

  // ---------------------------------------------------------------- preamble

  private checkPreambleOpen(t: Token): void {
    if (this.model !== undefined) {
      this.fail(t, `'${t.text}:' must come before any start:, T:, O: or R: entry`);
    }
  }

  private parseDiscount(t: Token): void {
    this.checkPreambleOpen(t);
    this.expectColon("discount");
    if (this.discount !== undefined) this.fail(t, "discount given twice");
    const tok = this.next("a discount factor");
    const v = this.toNumber(tok, "the discount factor");
    if (v < 0 || v > 1) this.fail(tok, `bad discount ${tok.text}; expected a number in [0, 1]`);
    this.discount = v;
  }

  private parseValues(t: Token): void {
    this.checkPreambleOpen(t);
    this.expectColon("values");
    if (this.seenValues) this.fail(t, "values given twice");
    const tok = this.next("'reward' or 'cost'");
    if (tok.text !== "reward" && tok.text !== "cost") {
      this.fail(tok, `bad values '${tok.text}'; expected 'reward' or 'cost'`);
    }
    this.isCost = tok.text === "cost";
    this.seenValues = true;
  }

  private parseNames(t: Token): void {
    this.checkPreambleOpen(t);
    const kind = t.text as "states" | "actions" | "observations";
    this.expectColon(kind);
    if (this[kind] !== undefined || this.counts[kind] !== undefined) {
      this.fail(t, `${kind} given twice`);
    }
    const list: Token[] = [];
    while (!this.lex.done() && !this.statementAt()) {
      // A ':' can never be part of a name list: the list ended and an unknown statement began.
      if (this.peek(1)?.text === ":" || this.peek()?.text === ":") this.unknownStatement(list, t);
      list.push(this.next("a name"));
    }
    if (list.length === 0) this.fail(t, `expected a count or a list of ${kind}, found nothing`);
    let names: string[];
    if (list.length === 1 && INTEGER_RE.test(list[0].text)) {
      const n = Number(list[0].text);
      if (n <= 0) this.fail(list[0], `bad number of ${kind} ${n}; expected a positive integer`);
      this.counts[kind] = n; // numeric references need no index
      return;
    } else {
      names = [];
      const seen = new Set<string>();
      for (const tok of list) {
        const s = tok.text;
        if (s === ":") this.fail(tok, `unexpected ':' in the list of ${kind}`);
        if (NUMBER_RE.test(s)) {
          this.fail(
            tok,
            `bad name '${s}' in the list of ${kind}: names cannot be numbers ` +
              `(give either one count or a list of names)`,
          );
        }
        if (s === "*" || RESERVED_WORDS.includes(s)) {
          this.fail(tok, `bad name '${s}' in the list of ${kind}: it is a reserved word`);
        }
        if (seen.has(s)) this.fail(tok, `duplicate name '${s}' in the list of ${kind}`);
        seen.add(s);
        names.push(s);
      }
    }
    this[kind] = names;
    const space: Space = kind === "states"
      ? "state"
      : kind === "actions"
      ? "action"
      : "observation";
    names.forEach((name, i) => this.index[space].set(name, i));
  }

  /**
   * Report the unknown statement that interrupted a name list: it is the words on the line of the
   * token before the stray ':' (names cannot contain ':'), not a bad name.
   */
  private unknownStatement(list: Token[], stmt: Token): never {
    const colonNext = this.peek()!.text === ":";
    const line = colonNext ? (list.at(-1)?.line ?? this.peek()!.line) : this.peek()!.line;
    const words = line === stmt.line
      ? []
      : list.filter((tok) => tok.line === line).map((tok) => tok.text);
    if (!colonNext) words.push(this.peek()!.text);
    this.fail(
      { text: "", line },
      `unknown statement '${[...words, ":"].join(" ")}'; expected one of ${
        STATEMENTS.join(", ")
      }, ` +
        `start include, start exclude`,
    );
  }

  /** The tables, allocated when the first start/T/O/R entry arrives (the preamble is complete). */
  private need(t: Token): Tables {
    if (this.model) return this.model;
    for (const kind of ["states", "actions", "observations"] as const) {
      if (this[kind] === undefined && this.counts[kind] === undefined) {
        this.fail(t, `missing preamble: '${kind}:' must be declared before '${t.text}'`);
      }
    }
    if (this.discount === undefined) {
      this.fail(t, `missing preamble: 'discount:' must be declared before '${t.text}'`);
    }
    const count = (kind: "states" | "actions" | "observations") =>
      this[kind]?.length ?? this.counts[kind]!;
    const S = count("states"), A = count("actions"), O = count("observations");
    this.limit = maxModelBytes();
    checkModelSize(this.source, t.line, S, A, O, this.limit);
    for (const kind of ["states", "actions", "observations"] as const) {
      this[kind] ??= Array.from({ length: this.counts[kind]! }, (_, i) => String(i));
    }
    this.lineT = new Int32Array(A * S);
    this.lineO = new Int32Array(A * S);
    this.model = {
      S,
      A,
      O,
      start: new Float64Array(S),
      tLog: new RowLog(A * S, S),
      oLog: new RowLog(A * S, O),
      rLog: new RewardLog(A * S, O),
      reset: new Uint8Array(A * S),
    };
    return this.model;
  }

  /**
   * Count the entries a statement is about to write, and fail naming the sizes before the log
   * outgrows {@link maxModelBytes} (e.g. `T: * uniform` on a huge model).
   */
  private entries(t: Token, n: number): void {
    this.written += n;
    const bytes = this.written * BYTES_PER_ENTRY, limit = this.limit;
    if (bytes > limit) {
      const m = this.model!;
      this.fail(
        t,
        `model too large: with ${m.S} states, ${m.A} actions and ${m.O} observations the ` +
          `entries given up to this '${t.text}:' statement (${this.written}) need ${gib(bytes)}; ` +
          `the limit is ${gib(limit)}, half of this machine's memory (4 GiB where unknown)`,
      );
    }
  }

  // ---------------------------------------------------------------- values and references

  private toNumber(tok: Token, what: string): number {
    if (!NUMBER_RE.test(tok.text)) {
      this.fail(tok, `expected a number for ${what}, found '${tok.text}'`);
    }
    return Number(tok.text);
  }

  private toProb(tok: Token, what: string): number {
    const p = this.toNumber(tok, what);
    if (!(p >= 0 && p <= 1)) {
      this.fail(tok, `bad probability ${tok.text} in ${what}; expected a number in [0, 1]`);
    }
    return p;
  }

  /** Read exactly `count` numbers (probabilities if `prob`), then check none follow. */
  private numbers(count: number, what: string, prob: boolean, stmt: Token): Float64Array {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const tok = this.peek();
      if (tok === undefined || !NUMBER_RE.test(tok.text)) {
        const where = tok === undefined ? "end of file" : `${quote(tok)} (line ${tok.line})`;
        this.fail(stmt, `${what}: expected ${count} numbers, found ${i} before ${where}`);
      }
      this.lex.advance();
      out[i] = prob ? this.toProb(tok, what) : this.toNumber(tok, what);
    }
    const extra = this.peek();
    if (extra !== undefined && NUMBER_RE.test(extra.text)) {
      let k = 0;
      while (this.peek(k) !== undefined && NUMBER_RE.test(this.peek(k)!.text)) k++;
      this.fail(extra, `${what}: expected ${count} numbers, found ${count + k}`);
    }
    return out;
  }

  private ref(space: Space): number[] {
    const names = space === "state"
      ? this.states!
      : space === "action"
      ? this.actions!
      : this.observations!;
    const tok = this.next(`a ${space}`);
    if (tok.text === "*") return names.map((_, i) => i);
    if (INTEGER_RE.test(tok.text)) {
      const i = Number(tok.text);
      if (i >= names.length) {
        this.fail(tok, `${space} index ${i} out of range; expected 0..${names.length - 1}`);
      }
      return [i];
    }
    const i = this.index[space].get(tok.text);
    if (i === undefined) {
      const shown = names.length <= 12
        ? names.join(", ")
        : `${names.slice(0, 12).join(", ")}, ... (${names.length} in all)`;
      this.fail(tok, `unknown ${space} '${tok.text}'; expected one of ${shown}, an index or '*'`);
    }
    return [i];
  }

  private atColon(): boolean {
    return this.peek()?.text === ":";
  }

  private keywordHere(...words: string[]): string | undefined {
    const t = this.peek()?.text;
    if (t !== undefined && words.includes(t)) {
      this.lex.advance();
      return t;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- start

  private parseStart(t: Token): void {
    const m = this.need(t);
    const S = m.S;
    const mode = this.keywordHere("include", "exclude");
    this.expectColon(mode ? `start ${mode}` : "start");
    const start = new Float64Array(S);
    if (mode) {
      const chosen = new Uint8Array(S);
      let any = false;
      while (!this.lex.done() && !this.statementAt()) {
        for (const s of this.ref("state")) chosen[s] = 1;
        any = true;
      }
      if (!any) this.fail(t, `start ${mode}: expected a list of states, found nothing`);
      let k = 0;
      for (let s = 0; s < S; s++) if ((chosen[s] === 1) === (mode === "include")) k++;
      if (k === 0) this.fail(t, `start ${mode}: no state left to start in`);
      for (let s = 0; s < S; s++) {
        if ((chosen[s] === 1) === (mode === "include")) start[s] = 1 / k;
      }
    } else if (this.keywordHere("uniform")) {
      start.fill(1 / S);
    } else {
      const first = this.peek();
      if (first === undefined || this.statementAt()) {
        this.fail(
          first,
          `start: expected a distribution, 'uniform' or a state, found ${quote(first)}`,
        );
      }
      if (first.text === "*") this.fail(first, "start: '*' is not a state; use 'uniform'");
      let k = 0;
      while (this.peek(k) !== undefined && NUMBER_RE.test(this.peek(k)!.text)) k++;
      const single = k === 0 ||
        (k === 1 && INTEGER_RE.test(first.text) && (S > 1 || first.text === "0"));
      if (single) {
        start[this.ref("state")[0]] = 1; // one state, by name or index
      } else {
        start.set(this.numbers(S, "start distribution", true, t));
      }
    }
    m.start = start;
    this.startSet = true;
    this.startLine = t.line;
  }

  // ---------------------------------------------------------------- T

  private parseT(t: Token): void {
    const m = this.need(t);
    this.expectColon("T");
    const S = m.S;
    const as = this.ref("action");
    const touch = (row: number) => {
      m.reset[row] = 0;
      this.lineT[row] = t.line;
    };
    if (!this.atColon()) {
      const kw = this.keywordHere("identity", "uniform");
      let mat: Float64Array | undefined;
      if (kw === undefined) {
        this.matrixStart("T: <action>", "identity", "uniform");
        mat = this.numbers(S * S, `T matrix (${S}x${S})`, true, t);
      }
      const perAction = kw === "identity" ? S : kw === "uniform" ? S * S : nonzeros(mat!);
      this.entries(t, as.length * perAction);
      for (const a of as) {
        for (let s = 0; s < S; s++) {
          const row = a * S + s;
          touch(row);
          if (kw === "identity") {
            m.tLog.clear(row);
            m.tLog.set(row, s, 1);
          } else if (kw === "uniform") this.uniformRow(m.tLog, row, S);
          else m.tLog.setRow(row, mat!.subarray(s * S, s * S + S));
        }
      }
      return;
    }
    this.lex.advance();
    const ss = this.ref("state");
    if (this.atColon()) {
      this.lex.advance();
      const s2s = this.ref("state");
      const p = this.toProb(this.next("a probability"), "T entry");
      const all = s2s.length === S && p === 0; // `T: a : s : * 0` clears the rows
      if (!all) this.entries(t, as.length * ss.length * s2s.length);
      for (const a of as) {
        for (const s of ss) {
          const row = a * S + s;
          if (all) m.tLog.clear(row);
          else for (const s2 of s2s) m.tLog.set(row, s2, p);
          touch(row);
        }
      }
      return;
    }
    const kw = this.keywordHere("uniform", "reset");
    let vec: Float64Array | undefined;
    if (kw === undefined) {
      this.matrixStart("T: <action> : <state>", "uniform", "reset");
      vec = this.numbers(S, `T row (${S} numbers)`, true, t);
    }
    this.entries(t, kw === "uniform" ? as.length * ss.length * S : 0);
    for (const a of as) {
      for (const s of ss) {
        const row = a * S + s;
        touch(row);
        if (kw === "reset") {
          m.tLog.clear(row);
          m.reset[row] = 1;
        } else if (kw === "uniform") this.uniformRow(m.tLog, row, S);
        else m.tLog.setRow(row, vec!);
      }
    }
    if (vec) this.entries(t, as.length * ss.length * nonzeros(vec));
  }

  /** Set row `row` of `log` to 1/n in each of its n columns. */
  private uniformRow(log: RowLog, row: number, n: number): void {
    log.clear(row);
    for (let j = 0; j < n; j++) log.set(row, j, 1 / n);
  }

  /** Before reading numbers of a row/matrix form: a clear error if a non-number follows. */
  private matrixStart(form: string, ...keywords: string[]): void {
    const tok = this.peek();
    if (tok === undefined || !NUMBER_RE.test(tok.text)) {
      this.fail(
        tok,
        `after '${form}' expected ':', numbers or one of ${keywords.join("/")}, found ${
          quote(tok)
        }`,
      );
    }
  }

  // ---------------------------------------------------------------- O

  private parseO(t: Token): void {
    const m = this.need(t);
    this.expectColon("O");
    const S = m.S, O = m.O;
    const as = this.ref("action");
    if (!this.atColon()) {
      const kw = this.keywordHere("identity", "uniform");
      let mat: Float64Array | undefined;
      if (kw === "identity" && S !== O) {
        this.fail(t, `O: 'identity' needs as many observations as states (${O} vs ${S})`);
      }
      if (kw === undefined) {
        this.matrixStart("O: <action>", "identity", "uniform");
        mat = this.numbers(S * O, `O matrix (${S}x${O})`, true, t);
      }
      const perAction = kw === "identity" ? S : kw === "uniform" ? S * O : nonzeros(mat!);
      this.entries(t, as.length * perAction);
      for (const a of as) {
        for (let s2 = 0; s2 < S; s2++) {
          const row = a * S + s2;
          this.lineO[row] = t.line;
          if (kw === "identity") {
            m.oLog.clear(row);
            m.oLog.set(row, s2, 1);
          } else if (kw === "uniform") this.uniformRow(m.oLog, row, O);
          else m.oLog.setRow(row, mat!.subarray(s2 * O, s2 * O + O));
        }
      }
      return;
    }
    this.lex.advance();
    const s2s = this.ref("state");
    if (this.atColon()) {
      this.lex.advance();
      const os = this.ref("observation");
      const p = this.toProb(this.next("a probability"), "O entry");
      const all = os.length === O && p === 0;
      if (!all) this.entries(t, as.length * s2s.length * os.length);
      for (const a of as) {
        for (const s2 of s2s) {
          const row = a * S + s2;
          if (all) m.oLog.clear(row);
          else for (const o of os) m.oLog.set(row, o, p);
          this.lineO[row] = t.line;
        }
      }
      return;
    }
    const uniform = this.keywordHere("uniform") !== undefined;
    let vec: Float64Array | undefined;
    if (!uniform) {
      this.matrixStart("O: <action> : <state>", "uniform");
      vec = this.numbers(O, `O row (${O} numbers)`, true, t);
    }
    this.entries(t, as.length * s2s.length * (uniform ? O : nonzeros(vec!)));
    for (const a of as) {
      for (const s2 of s2s) {
        const row = a * S + s2;
        this.lineO[row] = t.line;
        if (uniform) this.uniformRow(m.oLog, row, O);
        else m.oLog.setRow(row, vec!);
      }
    }
  }

  // ---------------------------------------------------------------- R

  private parseR(t: Token): void {
    const m = this.need(t);
    this.expectColon("R");
    const S = m.S, O = m.O;
    const as = this.ref("action");
    if (!this.atColon()) {
      this.fail(
        this.peek(),
        `after 'R: <action>' expected ':' and a start state, found ${quote(this.peek())}`,
      );
    }
    this.lex.advance();
    const ss = this.ref("state");
    const rows = as.length * ss.length;
    const each = (f: (row: number) => void) => {
      for (const a of as) for (const s of ss) f(a * S + s);
    };
    if (!this.atColon()) {
      this.matrixStart("R: <action> : <state>");
      const mat = this.numbers(S * O, `R matrix (${S}x${O})`, false, t);
      this.entries(t, rows * (1 + nonzeros(mat)));
      each((row) => {
        m.rLog.set(row, -1, -1, 0); // the whole row is given: what is not written below is 0
        for (let i = 0; i < S * O; i++) {
          if (!Object.is(mat[i], 0)) m.rLog.set(row, Math.floor(i / O), i % O, mat[i]);
        }
      });
      return;
    }
    this.lex.advance();
    const s2s = this.ref("state");
    const nextOf = (list: number[]) => (list.length === S ? [-1] : list);
    if (!this.atColon()) {
      this.matrixStart("R: <action> : <state> : <state>");
      const vec = this.numbers(O, `R row (${O} numbers)`, false, t);
      const next = nextOf(s2s);
      this.entries(t, rows * next.length * (1 + nonzeros(vec)));
      each((row) => {
        for (const s2 of next) {
          m.rLog.set(row, s2, -1, 0);
          for (let o = 0; o < O; o++) if (!Object.is(vec[o], 0)) m.rLog.set(row, s2, o, vec[o]);
        }
      });
      return;
    }
    this.lex.advance();
    const os = this.ref("observation");
    const v = this.toNumber(this.next("a reward"), "R entry");
    const next = nextOf(s2s), obs = os.length === O ? [-1] : os;
    this.entries(t, rows * next.length * obs.length);
    each((row) => {
      for (const s2 of next) for (const o of obs) m.rLog.set(row, s2, o, v);
    });
  }

  // ---------------------------------------------------------------- validation

  /**
   * Check that `values[from .. to)` sums to 1 within {@link TOLERANCE} and divide it by its sum (as
   * pomdp-solve accepts such rows, and beliefs then stay normalised); else fail at `line`.
   */
  private normalise(
    values: Float64Array,
    from: number,
    to: number,
    line: number,
    what: () => string,
  ): void {
    let sum = 0;
    for (let i = from; i < to; i++) sum += values[i];
    if (Math.abs(sum - 1) > TOLERANCE) {
      throw new PomdpParseError(
        this.source,
        line,
        `${what()} sums to ${sum}; expected 1 (within ${TOLERANCE})` +
          (line === 0 && what() !== "start distribution" ? " (this row was never given)" : ""),
      );
    }
    // Float rounding alone (|sum - 1| of a few ulps) is left as written, so exact models stay exact.
    if (Math.abs(sum - 1) > 1e-12) { for (let i = from; i < to; i++) values[i] /= sum; }
  }

  private finish(): TabularPOMDP {
    if (this.model === undefined) {
      for (const kind of ["states", "actions", "observations", "discount"] as const) {
        if (this[kind] === undefined && (kind === "discount" || this.counts[kind] === undefined)) {
          throw new PomdpParseError(this.source, 0, `missing preamble: no '${kind}:' declaration`);
        }
      }
    }
    const m = this.need({ text: "end of file", line: 0 });
    const { S, A } = m;
    const states = this.states!, actions = this.actions!;
    if (!this.startSet) m.start.fill(1 / S); // pomdp-solve's default: uniform
    this.normalise(m.start, 0, S, this.startLine, () => "start distribution");
    const T = m.tLog.resolve(), O = m.oLog.resolve();
    for (let i = 0; i < A * S; i++) {
      const a = Math.floor(i / S), s = i - a * S;
      if (m.reset[i]) continue;
      this.normalise(
        T.value,
        T.ptr[i],
        T.ptr[i + 1],
        this.lineT[i],
        () => `transition row T(· | action ${actions[a]}, state ${states[s]})`,
      );
    }
    for (let i = 0; i < A * S; i++) {
      const a = Math.floor(i / S), s2 = i - a * S;
      this.normalise(
        O.value,
        O.ptr[i],
        O.ptr[i + 1],
        this.lineO[i],
        () => `observation row O(· | action ${actions[a]}, next state ${states[s2]})`,
      );
    }
    return makeModel({
      states,
      actions,
      observations: this.observations!,
      discount: this.discount!,
      start: m.start,
      T,
      O,
      R: m.rLog.resolve(this.isCost),
      reset: m.reset,
    });
  }
}

/** Number of entries of `x` that are not +0 (written to a table). */
function nonzeros(x: Float64Array): number {
  let n = 0;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], 0)) n++;
  return n;
}

/**
 * Parse a Cassandra `.pomdp` text into a {@link TabularPOMDP}. Throws a {@link PomdpParseError}
 * naming `source:line` and what was expected versus found.
 *
 * @example A two-state model with the episodic `reset` keyword
 * ```ts
 * import { parsePOMDP } from "./parser.ts";
 * const m = parsePOMDP(`
 *   discount: 0.9
 *   values: reward
 *   states: a b
 *   actions: go
 *   observations: 1
 *   start: a
 *   T: go : a : b 1.0
 *   T: go : b reset
 *   O: * : * : * 1.0
 *   R: go : b : * : * 1.0
 * `);
 * if (m.reset[1] !== 1 || m.expectedR[1] !== 1) throw new Error("unexpected model");
 * ```
 */
export function parsePOMDP(text: string, options: ParsePOMDPOptions = {}): TabularPOMDP {
  const source = options.source ?? "<pomdp>";
  return new Parser(text, source).parse();
}
