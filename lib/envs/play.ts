/**
 * Play an environment by hand (`deno task play <env-id>`).
 *
 * On a terminal, single keys act at once: digits choose actions (for 10 or more actions, type the
 * number and press Enter, or just the digits when no longer number starts with them), arrow keys
 * (and shifted W/A/S/D) move where the environment has directions, `s` shows or hides the latent
 * state, `r` starts a new episode and `q` quits. When stdin is not a terminal, each input line is one
 * action (a number or an action name, case-insensitive) or a command word (`state`, `reset`, `quit`,
 * or `s`, `r`, `q` where no action has that name), so a session can be scripted.
 *
 * @example A scripted session
 * ```ts
 * import { play } from "./play.ts";
 * let text = "";
 * const summary = await play({
 *   env: "car-flag",
 *   seed: 1,
 *   lines: ["6", "full-right", "quit"],
 *   write: (s) => { text += s; },
 * });
 * if (summary.steps !== 2) throw new Error("two actions were played");
 * ```
 * @module
 */
import { makeRng, type Seed } from "../rng.ts";
import { makeEnv } from "./mod.ts";
import type { Env } from "./types.ts";

/** Options of {@link play}. */
export interface PlayOptions {
  /** Environment id (see `makeEnv`). */
  env: string;
  /** Seed of the environment's random stream. */
  seed: Seed;
  /** Show the latent state from the start (default false; toggled with `s`). */
  showState?: boolean;
  /**
   * Scripted input, one action or command per line. When absent, stdin is read: key by key in raw
   * mode on a terminal, line by line otherwise.
   */
  lines?: AsyncIterable<string> | Iterable<string>;
  /** Where the text goes (default: stdout). */
  write?: (text: string) => void;
}

/** What a play session did. */
export interface PlaySummary {
  /** Episodes that ended (terminated or truncated); a reset or quit mid-episode does not count. */
  episodes: number;
  /** Total actions taken. */
  steps: number;
  /** The returns of the ended episodes, in order. */
  returns: number[];
}

/** A command decoded from keyboard or line input. */
export type PlayCommand =
  | { kind: "action"; action: number }
  | { kind: "state" }
  | { kind: "reset" }
  | { kind: "quit" }
  | { kind: "help" }
  | { kind: "invalid"; message: string };

/**
 * Parse a `--seed` value: a safe integer written in decimal.
 *
 * @example
 * ```ts
 * import { parseSeedArg } from "./play.ts";
 * console.log(parseSeedArg("42")); // 42
 * ```
 */
export function parseSeedArg(text: string): number {
  const t = text.trim();
  const n = Number(t);
  if (!/^-?\d+$/.test(t) || !Number.isSafeInteger(n)) {
    throw new Error(`invalid --seed "${text}"; expected an integer`);
  }
  return n;
}

/** Decode one line of scripted input: an action number or name first, then a command word. */
export function parsePlayLine(
  env: Pick<Env, "numActions" | "actionNames">,
  line: string,
): PlayCommand {
  const text = line.trim();
  const lower = text.toLowerCase();
  if (/^\d+$/.test(text)) {
    const a = Number(text);
    if (a < env.numActions) return { kind: "action", action: a };
    return {
      kind: "invalid",
      message: `invalid action ${text}; expected 0..${env.numActions - 1}`,
    };
  }
  const byName = env.actionNames.findIndex((n) => n.toLowerCase() === lower);
  if (byName >= 0) return { kind: "action", action: byName };
  switch (lower) {
    case "s":
    case "state":
      return { kind: "state" };
    case "r":
    case "reset":
      return { kind: "reset" };
    case "q":
    case "quit":
    case "exit":
      return { kind: "quit" };
    case "h":
    case "help":
    case "?":
      return { kind: "help" };
  }
  return {
    kind: "invalid",
    message: `unknown input "${text}"; expected an action 0..${env.numActions - 1}, an action ` +
      `name (${env.actionNames.join(", ")}), or state / reset / quit`,
  };
}

/** Actions bound to the arrow keys (and shifted W/A/S/D) for `env`, where it has directions. */
export function arrowBindings(
  env: Pick<Env, "actionNames">,
): { up?: number; down?: number; left?: number; right?: number } {
  const find = (name: string) => {
    const i = env.actionNames.findIndex((n) => n.toLowerCase() === name.toLowerCase());
    return i >= 0 ? i : undefined;
  };
  if (find("MOVE_FORWARD") !== undefined) {
    return {
      up: find("MOVE_FORWARD"),
      down: find("MOVE_BACKWARD"),
      left: find("TURN_LEFT"),
      right: find("TURN_RIGHT"),
    };
  }
  if (find("full-left") !== undefined) {
    return { left: find("full-left"), right: find("full-right"), down: find("coast") };
  }
  return { up: find("N"), down: find("S"), left: find("W"), right: find("E") };
}

/**
 * Turns raw key bytes into commands: digits (buffered while a longer action number is possible;
 * Enter commits), arrows and shifted W/A/S/D, `s`, `r`, `q`, `h`/`?`, Ctrl-C / Ctrl-D (quit),
 * Escape or Backspace (clear the digits).
 */
export class KeyDecoder {
  #buffer = "";
  #env: Pick<Env, "numActions" | "actionNames">;
  #arrows: ReturnType<typeof arrowBindings>;

  /** A decoder for `env`'s actions. */
  constructor(env: Pick<Env, "numActions" | "actionNames">) {
    this.#env = env;
    this.#arrows = arrowBindings(env);
  }

  /** Digits typed so far that do not yet make a complete action number. */
  get pending(): string {
    return this.#buffer;
  }

  /** Decode a chunk of key bytes (as a string) into commands. */
  feed(chunk: string): PlayCommand[] {
    const out: PlayCommand[] = [];
    const arrow = (dir: "up" | "down" | "left" | "right") => {
      this.#buffer = "";
      const a = this.#arrows[dir];
      out.push(
        a === undefined
          ? { kind: "invalid", message: `the ${dir} key has no action here; use the digits` }
          : { kind: "action", action: a },
      );
    };
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i];
      if (ch === "\x1b" && (chunk[i + 1] === "[" || chunk[i + 1] === "O") && i + 2 < chunk.length) {
        const code = chunk[i + 2];
        i += 2;
        if (code === "A") arrow("up");
        else if (code === "B") arrow("down");
        else if (code === "C") arrow("right");
        else if (code === "D") arrow("left");
        continue;
      }
      if (ch >= "0" && ch <= "9") {
        const next = this.#buffer + ch;
        const n = Number(next);
        if (n >= this.#env.numActions) {
          this.#buffer = "";
          out.push({
            kind: "invalid",
            message: `invalid action ${next}; expected 0..${this.#env.numActions - 1}`,
          });
        } else if (n * 10 >= this.#env.numActions || n === 0) {
          this.#buffer = "";
          out.push({ kind: "action", action: n });
        } else this.#buffer = next;
        continue;
      }
      if (ch === "\r" || ch === "\n") {
        if (this.#buffer !== "") out.push({ kind: "action", action: Number(this.#buffer) });
        this.#buffer = "";
        continue;
      }
      if (ch === "\x1b" || ch === "\x7f" || ch === "\b") {
        this.#buffer = "";
        continue;
      }
      this.#buffer = "";
      if (ch === "W") arrow("up");
      else if (ch === "S") arrow("down");
      else if (ch === "A") arrow("left");
      else if (ch === "D") arrow("right");
      else if (ch === "s") out.push({ kind: "state" });
      else if (ch === "r") out.push({ kind: "reset" });
      else if (ch === "q" || ch === "\x03" || ch === "\x04") out.push({ kind: "quit" });
      else if (ch === "h" || ch === "?") out.push({ kind: "help" });
      else {out.push({
          kind: "invalid",
          message: `key ${JSON.stringify(ch)} does nothing; h for help`,
        });}
    }
    return out;
  }
}

/** The legend: the actions and the keys or commands. */
export function playLegend(env: Pick<Env, "numActions" | "actionNames">, tty: boolean): string {
  const actions = env.actionNames.map((n, i) => `${i} ${n}`).join(", ");
  const arrows = arrowBindings(env);
  const keys = (["up", "down", "left", "right"] as const)
    .filter((d) => arrows[d] !== undefined)
    .map((d) =>
      `${{ up: "↑/W", down: "↓/S", left: "←/A", right: "→/D" }[d]} ${env.actionNames[arrows[d]!]}`
    )
    .join(", ");
  const lines = [`actions: ${actions}`];
  if (tty) {
    lines.push(
      `keys: digits = actions${env.numActions > 10 ? " (Enter ends a number)" : ""}` +
        `${keys ? `; ${keys}` : ""}; s show/hide state, r reset, q quit, h help`,
    );
  } else {
    lines.push("input: one action per line (number or name); state, reset, quit");
  }
  return lines.join("\n");
}

/**
 * Play `options.env` interactively (or from scripted lines) until `quit` or the end of the input.
 * Episodes that end are followed by a fresh one from the same random stream.
 */
export async function play(options: PlayOptions): Promise<PlaySummary> {
  const env = makeEnv(options.env);
  const rng = makeRng(options.seed);
  const encoder = new TextEncoder();
  const write = options.write ?? ((s: string) => {
    Deno.stdout.writeSync(encoder.encode(s));
  });
  const tty = options.lines === undefined && Deno.stdin.isTerminal();
  let showState = options.showState ?? false;
  const summary: PlaySummary = { episodes: 0, steps: 0, returns: [] };

  let episode = 1;
  let { state, obs } = env.reset(rng);
  let t = 0, ret = 0;
  let message = `episode ${episode} started`;

  const header = () =>
    `${env.id} (seed ${options.seed}): ${env.numActions} actions, time limit ${env.timeLimit}\n` +
    playLegend(env, tty);
  const view = () => {
    const parts = [
      `${message}`,
      `step ${t}  return ${fmt(ret)}`,
      "observation:",
      env.renderObs(obs),
    ];
    if (showState) parts.push("state:", env.renderState(state));
    return parts.join("\n");
  };
  const show = () => {
    if (tty) write(`\x1b[2J\x1b[H${header()}\n\n${view()}\n`.replaceAll("\n", "\r\n"));
    else write(`${view()}\n\n`);
  };
  const newEpisode = () => {
    episode++;
    ({ state, obs } = env.reset(rng));
    t = 0;
    ret = 0;
  };

  /** Apply one command; false to stop. */
  const apply = (cmd: PlayCommand): boolean => {
    switch (cmd.kind) {
      case "quit":
        return false;
      case "help":
        message = header();
        break;
      case "invalid":
        message = cmd.message;
        break;
      case "state":
        showState = !showState;
        message = showState ? "showing the latent state" : "hiding the latent state";
        break;
      case "reset":
        newEpisode();
        message = `reset: episode ${episode} started`;
        break;
      case "action": {
        const r = env.step(state, cmd.action, rng);
        t++;
        ret += r.reward;
        summary.steps++;
        ({ state, obs } = r);
        message = `action ${cmd.action} (${env.actionNames[cmd.action]})  reward ${fmt(r.reward)}`;
        if (r.terminated || r.truncated) {
          summary.episodes++;
          summary.returns.push(ret);
          const how = r.terminated ? "terminated" : "truncated by the time limit";
          if (!tty) {
            write(`${message}\nepisode ${episode} ${how} after ${t} steps, return ${fmt(ret)}\n`);
          }
          message += `\nepisode ${episode} ${how} after ${t} steps, return ${fmt(ret)}`;
          newEpisode();
          message += `\nepisode ${episode} started`;
        }
        break;
      }
    }
    show();
    return true;
  };

  if (!tty) write(`${header()}\n\n`);
  show();
  if (tty) {
    const decoder = new KeyDecoder(env);
    const buf = new Uint8Array(64);
    const text = new TextDecoder();
    Deno.stdin.setRaw(true);
    try {
      outer: while (true) {
        const n = await Deno.stdin.read(buf);
        if (n === null) break;
        for (const cmd of decoder.feed(text.decode(buf.subarray(0, n)))) {
          if (!apply(cmd)) break outer;
        }
      }
    } finally {
      Deno.stdin.setRaw(false);
    }
  } else {
    const lines = options.lines ?? readLines(Deno.stdin.readable);
    for await (const line of lines) {
      if (line.trim() === "") continue;
      if (!apply(parsePlayLine(env, line))) break;
    }
  }
  const mean = summary.returns.length
    ? fmt(summary.returns.reduce((a, b) => a + b, 0) / summary.returns.length)
    : "n/a";
  write(
    `${tty ? "\r\n" : ""}bye: ${summary.steps} steps, ${summary.episodes} finished episodes, ` +
      `mean return ${mean}\n`,
  );
  return summary;
}

/** A number for display: integers as is, others to 4 decimals. */
function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(4).replace(/\.?0+$/, "");
}

/** The lines of a byte stream. */
async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, nl).replace(/\r$/, "");
      rest = rest.slice(nl + 1);
    }
  }
  if (rest !== "") yield rest;
}
