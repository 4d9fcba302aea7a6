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
import type { TabularPOMDP } from "./model.ts";
import { ModelBuilder, PomdpParseError, type RowForm } from "./builder.ts";
import { Lexer, type Token } from "./lexer.ts";

export { maxModelBytes, PomdpParseError } from "./builder.ts";

/** Options of {@link parsePOMDP}. */
export interface ParsePOMDPOptions {
  /** Name of the text's origin (a file path), used in error messages. Default `"<pomdp>"`. */
  source?: string;
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
function quote(t: Token | undefined): string {
  return t === undefined ? "end of file" : `'${t.text}'`;
}

type Space = "state" | "action" | "observation";

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
  private model: ModelBuilder | undefined;
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
  private need(t: Token): ModelBuilder {
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
    this.model = new ModelBuilder(
      this.source,
      t.line,
      count("states"),
      count("actions"),
      count("observations"),
    );
    for (const kind of ["states", "actions", "observations"] as const) {
      this[kind] ??= Array.from({ length: this.counts[kind]! }, (_, i) => String(i));
    }
    return this.model;
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
    m.setStart(start, t.line);
  }

  // ---------------------------------------------------------------- T

  private parseT(t: Token): void {
    const m = this.need(t);
    this.expectColon("T");
    const S = m.S;
    const as = this.ref("action");
    if (!this.atColon()) {
      const kw = this.keywordHere("identity", "uniform") as RowForm | undefined;
      if (kw !== undefined) return m.tMatrix(as, kw, t.line);
      this.matrixStart("T: <action>", "identity", "uniform");
      return m.tMatrix(as, this.numbers(S * S, `T matrix (${S}x${S})`, true, t), t.line);
    }
    this.lex.advance();
    const ss = this.ref("state");
    if (this.atColon()) {
      this.lex.advance();
      const s2s = this.ref("state");
      const p = this.toProb(this.next("a probability"), "T entry");
      return m.tEntry(as, ss, s2s, p, t.line);
    }
    const kw = this.keywordHere("uniform", "reset") as "uniform" | "reset" | undefined;
    if (kw !== undefined) return m.tRow(as, ss, kw, t.line);
    this.matrixStart("T: <action> : <state>", "uniform", "reset");
    m.tRow(as, ss, this.numbers(S, `T row (${S} numbers)`, true, t), t.line);
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
      const kw = this.keywordHere("identity", "uniform") as RowForm | undefined;
      if (kw === "identity" && S !== O) {
        this.fail(t, `O: 'identity' needs as many observations as states (${O} vs ${S})`);
      }
      if (kw !== undefined) return m.oMatrix(as, kw, t.line);
      this.matrixStart("O: <action>", "identity", "uniform");
      return m.oMatrix(as, this.numbers(S * O, `O matrix (${S}x${O})`, true, t), t.line);
    }
    this.lex.advance();
    const s2s = this.ref("state");
    if (this.atColon()) {
      this.lex.advance();
      const os = this.ref("observation");
      const p = this.toProb(this.next("a probability"), "O entry");
      return m.oEntry(as, s2s, os, p, t.line);
    }
    if (this.keywordHere("uniform")) return m.oRow(as, s2s, "uniform", t.line);
    this.matrixStart("O: <action> : <state>", "uniform");
    m.oRow(as, s2s, this.numbers(O, `O row (${O} numbers)`, true, t), t.line);
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
    if (!this.atColon()) {
      this.matrixStart("R: <action> : <state>");
      return m.rMatrix(as, ss, this.numbers(S * O, `R matrix (${S}x${O})`, false, t), t.line);
    }
    this.lex.advance();
    const s2s = this.ref("state");
    if (!this.atColon()) {
      this.matrixStart("R: <action> : <state> : <state>");
      return m.rRow(as, ss, s2s, this.numbers(O, `R row (${O} numbers)`, false, t), t.line);
    }
    this.lex.advance();
    const os = this.ref("observation");
    const v = this.toNumber(this.next("a reward"), "R entry");
    m.rEntry(as, ss, s2s, os, v, t.line);
  }

  // ---------------------------------------------------------------- the model

  private finish(): TabularPOMDP {
    if (this.model === undefined) {
      for (const kind of ["states", "actions", "observations", "discount"] as const) {
        if (this[kind] === undefined && (kind === "discount" || this.counts[kind] === undefined)) {
          throw new PomdpParseError(this.source, 0, `missing preamble: no '${kind}:' declaration`);
        }
      }
    }
    const m = this.need({ text: "end of file", line: 0 });
    return m.finish(
      { states: this.states!, actions: this.actions!, observations: this.observations! },
      this.discount!,
      this.isCost,
    );
  }
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
