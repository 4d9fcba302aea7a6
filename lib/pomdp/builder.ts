/**
 * What the statements of a `.pomdp` file mean for the tables, once the parser has read them:
 * writes to the start vector, T, O and R (later writes override earlier ones, `reset` marks),
 * bounded by memory, then validation (sums within pomdp-solve's 1e-5, rows normalised) and the
 * sparse {@link TabularPOMDP}. The parser (parser.ts) turns tokens into calls of
 * {@link ModelBuilder}. Internal to lib/pomdp, except {@link PomdpParseError} and
 * {@link maxModelBytes} (re-exported by parser.ts).
 *
 * @module
 */
import { makeModel, type TabularPOMDP } from "./model.ts";
import { RewardLog, RowLog } from "./tables.ts";

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

/** pomdp-solve's tolerance on probability sums (its `EPSILON 0.00001`). */
export const TOLERANCE = 1e-5;

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

/** Number of entries of `x` that are not +0 (written to a table). */
function nonzeros(x: Float64Array): number {
  let n = 0;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], 0)) n++;
  return n;
}

/** A matrix or row form: `identity`, `uniform` or the numbers given. */
export type RowForm = "identity" | "uniform" | Float64Array;

/** The tables of one model being written statement by statement. */
export class ModelBuilder {
  /** Start distribution (uniform unless a `start:` statement sets it). */
  private start: Float64Array;
  private startLine = 0;
  private startSet = false;
  private readonly reset: Uint8Array;
  private readonly tLog: RowLog;
  private readonly oLog: RowLog;
  private readonly rLog: RewardLog;
  /** Last line that wrote each T row / O row (for validation messages); 0 = never. */
  private readonly lineT: Int32Array;
  private readonly lineO: Int32Array;
  /** Entries logged so far (T, O and R), for the memory guard. */
  private written = 0;
  /** {@link maxModelBytes}, read once (asking the system per statement is slow). */
  private readonly limit = maxModelBytes();

  /**
   * Tables for |S| = S, |A| = A, |O| = O; fails at `line` of `source`, naming the sizes, rather
   * than with a bare `RangeError` when their per-(action, state) rows alone cannot be allocated
   * (or indexed with 32-bit integers).
   */
  constructor(
    private readonly source: string,
    line: number,
    readonly S: number,
    readonly A: number,
    readonly O: number,
  ) {
    const bytes = A * S * BYTES_PER_PAIR + (S + A + O) * 56;
    if (bytes > this.limit || A * S >= 2 ** 31 - 1 || (S + 1) * (O + 1) >= 2 ** 31) {
      throw new PomdpParseError(
        source,
        line,
        `model too large: ${S} states, ${A} actions and ${O} observations need ` +
          `|A|·|S| = ${A * S} rows of sparse tables, ${gib(bytes)} before any entry; the limit ` +
          `is ${gib(this.limit)}, half of this machine's memory (4 GiB where unknown), and ` +
          `2^31 rows`,
      );
    }
    this.start = new Float64Array(S);
    this.reset = new Uint8Array(A * S);
    this.tLog = new RowLog(A * S, S);
    this.oLog = new RowLog(A * S, O);
    this.rLog = new RewardLog(A * S, O);
    this.lineT = new Int32Array(A * S);
    this.lineO = new Int32Array(A * S);
  }

  /**
   * Count the entries a statement is about to write, and fail naming the sizes before the log
   * outgrows {@link maxModelBytes} (e.g. `T: * uniform` on a huge model).
   */
  private entries(line: number, statement: string, n: number): void {
    this.written += n;
    const bytes = this.written * BYTES_PER_ENTRY;
    if (bytes > this.limit) {
      throw new PomdpParseError(
        this.source,
        line,
        `model too large: with ${this.S} states, ${this.A} actions and ${this.O} observations ` +
          `the entries given up to this '${statement}:' statement (${this.written}) need ` +
          `${gib(bytes)}; the limit is ${gib(this.limit)}, half of this machine's memory ` +
          `(4 GiB where unknown)`,
      );
    }
  }

  /** `start: ...` (any form, as a dense vector). */
  setStart(start: Float64Array, line: number): void {
    this.start = start;
    this.startSet = true;
    this.startLine = line;
  }

  /** Set row `row` of `log` to 1/n in each of its n columns. */
  private uniformRow(log: RowLog, row: number, n: number): void {
    log.clear(row);
    for (let j = 0; j < n; j++) log.set(row, j, 1 / n);
  }

  /** A T row is written: it is no longer a reset pair. */
  private touchT(row: number, line: number): void {
    this.reset[row] = 0;
    this.lineT[row] = line;
  }

  /** `T: a identity | uniform | <|S|×|S| numbers>`. */
  tMatrix(as: number[], form: RowForm, line: number): void {
    const S = this.S;
    const perAction = form === "identity" ? S : form === "uniform" ? S * S : nonzeros(form);
    this.entries(line, "T", as.length * perAction);
    for (const a of as) {
      for (let s = 0; s < S; s++) {
        const row = a * S + s;
        this.touchT(row, line);
        if (form === "identity") {
          this.tLog.clear(row);
          this.tLog.set(row, s, 1);
        } else if (form === "uniform") this.uniformRow(this.tLog, row, S);
        else this.tLog.setRow(row, form.subarray(s * S, s * S + S));
      }
    }
  }

  /** `T: a : s uniform | reset | <|S| numbers>`. */
  tRow(as: number[], ss: number[], form: "uniform" | "reset" | Float64Array, line: number): void {
    const S = this.S;
    const perRow = form === "uniform" ? S : form === "reset" ? 0 : nonzeros(form);
    this.entries(line, "T", as.length * ss.length * perRow);
    for (const a of as) {
      for (const s of ss) {
        const row = a * S + s;
        this.touchT(row, line);
        if (form === "reset") {
          this.tLog.clear(row);
          this.reset[row] = 1;
        } else if (form === "uniform") this.uniformRow(this.tLog, row, S);
        else this.tLog.setRow(row, form);
      }
    }
  }

  /** `T: a : s : s' p` (`T: a : s : * 0` clears the rows). */
  tEntry(as: number[], ss: number[], s2s: number[], p: number, line: number): void {
    const S = this.S, clear = s2s.length === S && p === 0;
    if (!clear) this.entries(line, "T", as.length * ss.length * s2s.length);
    for (const a of as) {
      for (const s of ss) {
        const row = a * S + s;
        if (clear) this.tLog.clear(row);
        else for (const s2 of s2s) this.tLog.set(row, s2, p);
        this.touchT(row, line);
      }
    }
  }

  /** `O: a identity | uniform | <|S|×|O| numbers>` (identity needs |S| = |O|). */
  oMatrix(as: number[], form: RowForm, line: number): void {
    const S = this.S, O = this.O;
    const perAction = form === "identity" ? S : form === "uniform" ? S * O : nonzeros(form);
    this.entries(line, "O", as.length * perAction);
    for (const a of as) {
      for (let s2 = 0; s2 < S; s2++) {
        const row = a * S + s2;
        this.lineO[row] = line;
        if (form === "identity") {
          this.oLog.clear(row);
          this.oLog.set(row, s2, 1);
        } else if (form === "uniform") this.uniformRow(this.oLog, row, O);
        else this.oLog.setRow(row, form.subarray(s2 * O, s2 * O + O));
      }
    }
  }

  /** `O: a : s' uniform | <|O| numbers>`. */
  oRow(as: number[], s2s: number[], form: "uniform" | Float64Array, line: number): void {
    const S = this.S, O = this.O;
    this.entries(line, "O", as.length * s2s.length * (form === "uniform" ? O : nonzeros(form)));
    for (const a of as) {
      for (const s2 of s2s) {
        const row = a * S + s2;
        this.lineO[row] = line;
        if (form === "uniform") this.uniformRow(this.oLog, row, O);
        else this.oLog.setRow(row, form);
      }
    }
  }

  /** `O: a : s' : o p` (`O: a : s' : * 0` clears the rows). */
  oEntry(as: number[], s2s: number[], os: number[], p: number, line: number): void {
    const S = this.S, clear = os.length === this.O && p === 0;
    if (!clear) this.entries(line, "O", as.length * s2s.length * os.length);
    for (const a of as) {
      for (const s2 of s2s) {
        const row = a * S + s2;
        if (clear) this.oLog.clear(row);
        else for (const o of os) this.oLog.set(row, o, p);
        this.lineO[row] = line;
      }
    }
  }

  /** A list covering every next state or observation is the wildcard -1. */
  private wild(list: number[], n: number): number[] {
    return list.length === n ? [-1] : list;
  }

  /** `R: a : s <|S|×|O| numbers>`: the whole row is given (what is not written is 0). */
  rMatrix(as: number[], ss: number[], mat: Float64Array, line: number): void {
    const S = this.S, O = this.O;
    this.entries(line, "R", as.length * ss.length * (1 + nonzeros(mat)));
    for (const a of as) {
      for (const s of ss) {
        const row = a * S + s;
        this.rLog.set(row, -1, -1, 0);
        for (let i = 0; i < S * O; i++) {
          if (!Object.is(mat[i], 0)) this.rLog.set(row, Math.floor(i / O), i % O, mat[i]);
        }
      }
    }
  }

  /** `R: a : s : s' <|O| numbers>`. */
  rRow(as: number[], ss: number[], s2s: number[], vec: Float64Array, line: number): void {
    const S = this.S, O = this.O, next = this.wild(s2s, S);
    this.entries(line, "R", as.length * ss.length * next.length * (1 + nonzeros(vec)));
    for (const a of as) {
      for (const s of ss) {
        for (const s2 of next) {
          this.rLog.set(a * S + s, s2, -1, 0);
          for (let o = 0; o < O; o++) {
            if (!Object.is(vec[o], 0)) this.rLog.set(a * S + s, s2, o, vec[o]);
          }
        }
      }
    }
  }

  /** `R: a : s : s' : o v`. */
  rEntry(as: number[], ss: number[], s2s: number[], os: number[], v: number, line: number): void {
    const S = this.S, next = this.wild(s2s, S), obs = this.wild(os, this.O);
    this.entries(line, "R", as.length * ss.length * next.length * obs.length);
    for (const a of as) {
      for (const s of ss) {
        for (const s2 of next) for (const o of obs) this.rLog.set(a * S + s, s2, o, v);
      }
    }
  }

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

  /**
   * The model: every non-reset T row, every O row and the start distribution checked and
   * normalised; `isCost` negates every reward.
   */
  finish(
    names: { states: string[]; actions: string[]; observations: string[] },
    discount: number,
    isCost: boolean,
  ): TabularPOMDP {
    const { S, A } = this;
    const { states, actions } = names;
    if (!this.startSet) this.start.fill(1 / S); // pomdp-solve's default: uniform
    this.normalise(this.start, 0, S, this.startLine, () => "start distribution");
    const T = this.tLog.resolve(), O = this.oLog.resolve();
    for (let i = 0; i < A * S; i++) {
      const a = Math.floor(i / S), s = i - a * S;
      if (this.reset[i]) continue;
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
      ...names,
      discount,
      start: this.start,
      T,
      O,
      R: this.rLog.resolve(isCost),
      reset: this.reset,
    });
  }
}
