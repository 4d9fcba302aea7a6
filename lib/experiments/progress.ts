/**
 * Progress display for long work: on a terminal, a block of lines redrawn in place; otherwise a
 * plain line every few seconds (logs and CI stay readable).
 *
 * @example
 * ```ts
 * import { formatDuration, progressBar } from "./progress.ts";
 * console.log(progressBar(0.5, 10), formatDuration(3725)); // [#####-----] 1h02m
 * ```
 * @module
 */

/** "1h02m", "4m05s", "12s"; "?" for unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, "0")}m`;
}

/** 1234567 → "1.23M", 12345 → "12.3k", 999 → "999". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return "?";
  const a = Math.abs(n);
  if (a >= 1e6) return `${(n / 1e6).toFixed(a >= 1e7 ? 1 : 2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(a >= 1e5 ? 0 : 1)}k`;
  return String(Math.round(n));
}

/** A fixed-width bar "[####------]" for a fraction in [0, 1]. */
export function progressBar(fraction: number, width = 20): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(f * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}

/** A number with fixed decimals, or "n/a" when not finite. */
export function formatReturn(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

/**
 * Steps per second over a sliding window of recent samples (robust to the pauses between runs).
 */
export class RateMeter {
  #samples: { t: number; v: number }[] = [];
  #windowMs: number;

  /** A meter averaging over the last `windowSeconds` (default 30). */
  constructor(windowSeconds = 30) {
    this.#windowMs = windowSeconds * 1000;
  }

  /**
   * Record the cumulative count `value` at time `nowMs`. A count that falls (a run restarted from
   * scratch gives back its steps) starts the window afresh, so the rate is never negative.
   */
  add(value: number, nowMs: number = performance.now()): void {
    if (value < (this.#samples.at(-1)?.v ?? -Infinity)) this.#samples = [];
    this.#samples.push({ t: nowMs, v: value });
    while (this.#samples.length > 2 && nowMs - this.#samples[1].t > this.#windowMs) {
      this.#samples.shift();
    }
  }

  /** Rate per second (NaN until two samples span some time). */
  rate(): number {
    const s = this.#samples;
    if (s.length < 2) return NaN;
    const dt = (s[s.length - 1].t - s[0].t) / 1000;
    return dt > 0 ? (s[s.length - 1].v - s[0].v) / dt : NaN;
  }
}

/** Options of {@link ProgressView}. */
export interface ProgressViewOptions {
  /** Where to write (default stderr). */
  writer?: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  /** Redraw in place (default: whether the writer is a terminal). */
  tty?: boolean;
  /** Seconds between plain lines when not a terminal (default 5). */
  plainEverySeconds?: number;
  /** Minimum ms between terminal redraws (default 200). */
  redrawMs?: number;
}

/**
 * A progress block. Call {@link ProgressView.update} as often as you like with the current lines;
 * on a terminal they are redrawn in place (throttled), otherwise the first line is printed every
 * few seconds. {@link ProgressView.log} prints a permanent line above the block.
 */
export class ProgressView {
  /** Whether lines are redrawn in place. */
  readonly tty: boolean;
  #w: { writeSync(p: Uint8Array): number };
  #enc = new TextEncoder();
  #drawn = 0;
  #last: string[] = [];
  #lastDraw = 0;
  #lastPlain = 0;
  #plainMs: number;
  #redrawMs: number;

  /** Make a view writing to stderr by default. */
  constructor(options: ProgressViewOptions = {}) {
    const w = options.writer ?? Deno.stderr;
    this.#w = w;
    this.tty = options.tty ?? w.isTerminal();
    this.#plainMs = (options.plainEverySeconds ?? 5) * 1000;
    this.#redrawMs = options.redrawMs ?? 200;
    this.#lastPlain = performance.now();
  }

  #write(s: string) {
    try {
      this.#w.writeSync(this.#enc.encode(s));
    } catch { /* a closed stream must not stop the work */ }
  }

  #columns(): number {
    try {
      return Deno.consoleSize().columns || 120;
    } catch {
      return 120;
    }
  }

  #clear() {
    if (this.#drawn > 0) this.#write(`\x1b[${this.#drawn}F\x1b[J`);
    this.#drawn = 0;
  }

  #draw(lines: string[]) {
    const cols = Math.max(20, this.#columns() - 1);
    this.#clear();
    this.#write(lines.map((l) => (l.length > cols ? l.slice(0, cols) : l) + "\n").join(""));
    this.#drawn = lines.length;
    this.#lastDraw = performance.now();
  }

  /**
   * Show the current state. On a terminal, redraws are throttled unless `force`; otherwise the first
   * line is printed at most every `plainEverySeconds` (and once more by {@link ProgressView.done}).
   */
  update(lines: string[], force = false): void {
    this.#last = lines;
    const now = performance.now();
    if (this.tty) {
      if (force || now - this.#lastDraw >= this.#redrawMs) this.#draw(lines);
    } else if (now - this.#lastPlain >= this.#plainMs) {
      this.#lastPlain = now;
      if (lines.length > 0) this.#write(lines[0] + "\n");
    }
  }

  /** Print a permanent line (above the redrawn block on a terminal). */
  log(line: string): void {
    if (this.tty) {
      this.#clear();
      this.#write(line + "\n");
      if (this.#last.length > 0) this.#draw(this.#last);
    } else {
      this.#write(line + "\n");
    }
  }

  /** Leave the last block on screen (terminal) or print its first line once more (plain). */
  done(): void {
    if (this.tty) {
      if (this.#last.length > 0) this.#draw(this.#last);
      this.#drawn = 0;
    } else if (this.#last.length > 0) {
      this.#write(this.#last[0] + "\n");
    }
  }
}
