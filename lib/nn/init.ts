/**
 * Seeded weight initialisers. They draw from an explicit {@link Rng} in plain JavaScript (never
 * from tfjs's random ops, whose streams differ between backends), so the same seed gives the same
 * weights on every backend.
 *
 * @module
 */
import { normal, type Rng } from "../rng.ts";

/**
 * Xavier (Glorot) normal weights for a `fanIn × fanOut` matrix, row-major: N(0, σ²) with
 * σ = gain · √(2 / (fanIn + fanOut)), as PyTorch's `xavier_normal_`.
 *
 * @example
 * ```ts
 * import { makeRng } from "../rng.ts";
 * import { xavierNormal } from "./init.ts";
 * const w = xavierNormal(makeRng(1), 64, 32, Math.SQRT2); // gain √2 before a ReLU
 * console.log(w.length); // 2048
 * ```
 */
export function xavierNormal(rng: Rng, fanIn: number, fanOut: number, gain = 1): Float32Array {
  checkSize("xavierNormal", fanIn, fanOut);
  const std = gain * Math.sqrt(2 / (fanIn + fanOut));
  return normalArray(rng, fanIn * fanOut, std);
}

/** `n` independent N(0, std²) draws (PyTorch's default embedding initialiser is std 1). */
export function normalArray(rng: Rng, n: number, std = 1): Float32Array {
  checkSize("normalArray", n, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * normal(rng);
  return out;
}

/** `n` independent uniform draws in [low, high) (PyTorch's default GRU initialiser). */
export function uniformArray(rng: Rng, n: number, low: number, high: number): Float32Array {
  checkSize("uniformArray", n, 1);
  if (!(high > low)) throw new Error(`uniformArray: expected low < high, got [${low}, ${high})`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * rng();
  return out;
}

function checkSize(fn: string, a: number, b: number): void {
  if (!Number.isInteger(a) || a < 0 || !Number.isInteger(b) || b < 0) {
    throw new Error(`${fn}: sizes must be non-negative integers, got ${a} and ${b}`);
  }
}
