/**
 * Parse time and memory of large generated `.pomdp` models (sparse rows: each state moves to 3
 * successors, each successor emits 2 observations, rewards by wildcard with five goal states
 * paying on arrival), at the sizes of public benchmarks: 1,296 states (shopping_6) and 2,653
 * states × 103 observations (auvnavigation2d).
 * Run `deno bench -A bench/pomdp_parse_bench.ts` for timings, or
 * `deno run -A bench/pomdp_parse_bench.ts <states> <actions> <observations>` for one parse's wall
 * time, resident memory and stored entries; `... <states> <actions> <observations> <out.pomdp>`
 * writes the generated text, and `... <file.pomdp>` parses a file (run it under
 * `/usr/bin/time -v` for the peak memory, "Maximum resident set size").
 * @module
 */
import { parsePOMDP } from "../lib/pomdp/parser.ts";
import { entryCount } from "../lib/pomdp/model.ts";

/** A generated model text with |S| = S, |A| = A, |O| = O, row by row (deterministic). */
export function syntheticPomdp(S: number, A: number, O: number): string {
  const lines = [
    "discount: 0.95",
    "values: reward",
    `states: ${S}`,
    `actions: ${A}`,
    `observations: ${O}`,
    "start: uniform",
  ];
  for (let a = 0; a < A; a++) {
    for (let s = 0; s < S; s++) {
      const t = [(s + a + 1) % S, (s * 7 + a + 3) % S, (s * 13 + 5) % S];
      const p = new Map<number, number>();
      [0.5, 0.3, 0.2].forEach((q, i) => p.set(t[i], (p.get(t[i]) ?? 0) + q));
      for (const [s2, q] of p) lines.push(`T: ${a} : ${s} : ${s2} ${q}`);
    }
  }
  for (let s2 = 0; s2 < S; s2++) {
    const o1 = s2 % O, o2 = (s2 * 3 + 1) % O;
    if (o1 === o2) lines.push(`O: * : ${s2} : ${o1} 1.0`);
    else lines.push(`O: * : ${s2} : ${o1} 0.75`, `O: * : ${s2} : ${o2} 0.25`);
  }
  for (let a = 0; a < A; a++) lines.push(`R: ${a} : * : * : * ${-1 - a}`);
  lines.push(`R: 0 : ${S - 1} : * : * 10`);
  for (let k = 0; k < Math.min(5, S - 2); k++) lines.push(`R: * : * : ${S - 2 - k} : * 100`);
  return lines.join("\n") + "\n";
}

const SIZES: [number, number, number][] = [[200, 4, 8], [1296, 4, 2], [2653, 5, 103]];

/** Parse `text` once and print its wall time, resident-memory growth and stored entries. */
function parseOnce(text: string, source: string): void {
  const rss0 = Deno.memoryUsage().rss;
  const t0 = performance.now();
  try {
    const m = parsePOMDP(text, { source });
    const ms = performance.now() - t0;
    const mb = (Deno.memoryUsage().rss - rss0) / 2 ** 20;
    console.log(
      `${source}: ${m.states.length} states, ${m.actions.length} actions, ` +
        `${m.observations.length} observations (${
          (text.length / 2 ** 20).toFixed(1)
        } MB of text): ` +
        `parsed in ${ms.toFixed(0)} ms, +${mb.toFixed(0)} MB resident; ` +
        `stored entries ${JSON.stringify(entryCount(m))}`,
    );
  } catch (e) {
    console.log(
      `${source}: ${(e as Error).message} (after ${(performance.now() - t0).toFixed(0)} ms)`,
    );
  }
}

if (import.meta.main) {
  // `<file.pomdp>`: parse a file; `<S> <A> <O> [out.pomdp]`: generate (and write, or parse) one.
  if (Deno.args.length === 1) {
    parseOnce(Deno.readTextFileSync(Deno.args[0]), Deno.args[0]);
  } else {
    const [S, A, O] = Deno.args.length >= 3 ? Deno.args.slice(0, 3).map(Number) : [1296, 4, 2];
    const text = syntheticPomdp(S, A, O);
    if (Deno.args[3]) Deno.writeTextFileSync(Deno.args[3], text);
    else parseOnce(text, `synthetic-${S}x${A}x${O}.pomdp`);
  }
} else {
  for (const [S, A, O] of SIZES) {
    const text = syntheticPomdp(S, A, O);
    Deno.bench(`parse a generated .pomdp: ${S} states, ${A} actions, ${O} observations`, () => {
      parsePOMDP(text);
    });
  }
}
