/**
 * Building sparse tables from a stream of writes where later writes override earlier ones (the
 * `.pomdp` semantics): writes are appended to a log and resolved once at the end, so memory is
 * proportional to what the file says, never to |S|²·|O|. Internal to lib/pomdp.
 *
 * @module
 */
import type { RewardTable, SparseRows } from "./model.ts";

type TypedCtor<T> = { new (n: number): T };
type Typed = Uint16Array | Int32Array | Float64Array;

/** A typed array that doubles its capacity as values are pushed. */
export class Grow<T extends Typed> {
  /** Storage (valid up to `length`). */
  data: T;
  /** Number of values pushed. */
  length = 0;
  /** An empty array of the given type. */
  constructor(private ctor: TypedCtor<T>) {
    this.data = new ctor(1024);
  }
  /** Append one value. */
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new this.ctor(this.data.length * 2);
      next.set(this.data as never);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  /** A trimmed copy. */
  toArray(): T {
    return this.data.slice(0, this.length) as T;
  }
}

/** Entry positions grouped by row, in append order within a row (a stable counting sort). */
function byRow(
  rowOf: Int32Array,
  n: number,
  rows: number,
): { start: Int32Array; order: Int32Array } {
  const start = new Int32Array(rows + 1);
  for (let k = 0; k < n; k++) start[rowOf[k] + 1]++;
  for (let i = 0; i < rows; i++) start[i + 1] += start[i];
  const fill = start.slice(0, rows), order = new Int32Array(n);
  for (let k = 0; k < n; k++) order[fill[rowOf[k]]++] = k;
  return { start, order };
}

/** Writes to the rows of a probability table (T or O): set entries, clear whole rows. */
export class RowLog {
  private row = new Grow(Int32Array);
  private col = new Grow(Int32Array);
  private val = new Grow(Float64Array);
  /** Log position of the last clear of each row: entries before it are overwritten. */
  private cleared: Int32Array;

  /** A log for `rows` rows of `width` columns. */
  constructor(private readonly rows: number, private readonly width: number) {
    this.cleared = new Int32Array(rows);
  }

  /** Set entry (row, col) to p. */
  set(row: number, col: number, p: number): void {
    this.row.push(row);
    this.col.push(col);
    this.val.push(p);
  }

  /** Set every entry of `row` to 0. */
  clear(row: number): void {
    this.cleared[row] = this.row.length;
  }

  /** Set row `row` to the dense vector `values` (zeros left out). */
  setRow(row: number, values: ArrayLike<number>): void {
    this.clear(row);
    for (let j = 0; j < values.length; j++) if (values[j] !== 0) this.set(row, j, values[j]);
  }

  /** The resolved table: the last write of each entry, zeros dropped, columns increasing. */
  resolve(): SparseRows {
    const n = this.row.length, rowOf = this.row.data, colOf = this.col.data, valOf = this.val.data;
    const { start, order } = byRow(rowOf, n, this.rows);
    const ptr = new Int32Array(this.rows + 1);
    const index = new Grow(Int32Array), value = new Grow(Float64Array);
    const last = new Int32Array(this.width).fill(-1); // log position of each column's last write
    const cols: number[] = [];
    for (let i = 0; i < this.rows; i++) {
      ptr[i] = index.length;
      cols.length = 0;
      for (let q = start[i]; q < start[i + 1]; q++) {
        const k = order[q];
        if (k < this.cleared[i]) continue;
        if (last[colOf[k]] < 0) cols.push(colOf[k]);
        last[colOf[k]] = k;
      }
      cols.sort((x, y) => x - y);
      for (const c of cols) {
        const v = valOf[last[c]];
        last[c] = -1;
        if (v === 0) continue;
        index.push(c);
        value.push(v);
      }
    }
    ptr[this.rows] = index.length;
    return { ptr, index: index.toArray(), value: value.toArray() };
  }
}

/** Writes to a reward table: entries (row, next, obs) with -1 for `*`, later ones overriding. */
export class RewardLog {
  private row = new Grow(Int32Array);
  private next = new Grow(Int32Array);
  private obs = new Grow(Int32Array);
  private val = new Grow(Float64Array);

  /** A log for `rows` = |A|·|S| rows over |O| = `O` observations. */
  constructor(private readonly rows: number, private readonly O: number) {}

  /** Set R(row, next, obs) = v, where next or obs may be -1 (any). */
  set(row: number, next: number, obs: number, v: number): void {
    this.row.push(row);
    this.next.push(next);
    this.obs.push(obs);
    this.val.push(v);
  }

  /**
   * The resolved table, whose most-specific-entry lookup gives what "the last write that matches
   * wins" gives: the newest write of each key is kept; writes older than a less specific one that
   * covers them are dropped; where an (s', *) write is older than a (*, o) one, an (s', o) entry
   * with the (*, o) value is added. `negate` turns costs into rewards (+0 stays +0).
   */
  resolve(negate = false): RewardTable {
    const n = this.row.length, O = this.O;
    const { start, order } = byRow(this.row.data, n, this.rows);
    const ptr = new Int32Array(this.rows + 1);
    const outNext = new Grow(Int32Array),
      outObs = new Grow(Int32Array),
      outVal = new Grow(Float64Array);
    const key = (k: number) => (this.next.data[k] + 1) * (O + 1) + this.obs.data[k] + 1;
    const newest = new Map<number, number>(); // key -> log position of its newest write
    for (let i = 0; i < this.rows; i++) {
      ptr[i] = outVal.length;
      newest.clear();
      for (let q = start[i]; q < start[i + 1]; q++) newest.set(key(order[q]), order[q]);
      const at = (s2: number, o: number) => newest.get((s2 + 1) * (O + 1) + o + 1) ?? -1;
      const dflt = at(-1, -1);
      const out: [number, number, number][] = []; // [next, obs, log position]
      const wildObs: number[] = [], wildNext: number[] = [];
      for (const k of newest.values()) {
        const s2 = this.next.data[k], o = this.obs.data[k];
        if (s2 < 0 && o < 0) {
          out.push([-1, -1, k]);
        } else if (s2 < 0 || o < 0) {
          if (k < dflt) continue;
          out.push([s2, o, k]);
          (s2 < 0 ? wildObs : wildNext).push(k);
        } else if (k > Math.max(dflt, at(s2, -1), at(-1, o))) {
          out.push([s2, o, k]);
        }
      }
      for (const kn of wildNext) {
        for (const ko of wildObs) {
          const s2 = this.next.data[kn], o = this.obs.data[ko];
          if (ko > kn && !(at(s2, o) > Math.max(dflt, kn, ko))) out.push([s2, o, ko]);
        }
      }
      out.sort((x, y) => (x[0] - y[0]) * (O + 1) + x[1] - y[1]);
      for (const [s2, o, k] of out) {
        const v = this.val.data[k];
        if (s2 < 0 && o < 0 && Object.is(v, 0)) continue; // the implicit default
        outNext.push(s2);
        outObs.push(o);
        outVal.push(negate && v !== 0 ? -v : v);
      }
    }
    ptr[this.rows] = outVal.length;
    return { ptr, next: outNext.toArray(), obs: outObs.toArray(), value: outVal.toArray() };
  }
}
