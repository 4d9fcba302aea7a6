/**
 * `deno task play <env-id> [--seed N] [--show-state]`: play an environment by hand.
 *
 * On a terminal keys act at once (digits = actions, arrows where natural, s = show the latent
 * state, r = reset, q = quit); with piped stdin each line is one action (number or name).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parseSeedArg, play } from "../lib/envs/play.ts";
import { ENV_IDS, makeEnv } from "../lib/envs/mod.ts";

const USAGE = `usage: deno task play <env-id> [--seed N] [--show-state]
  env-id: ${ENV_IDS.join(", ")}, or pomdp:<path to a .pomdp file>`;

let options: Parameters<typeof play>[0];
try {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      seed: { type: "string" },
      "show-state": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (positionals.length !== 1) {
    throw new Error(`expected exactly one environment id, got ${positionals.length}`);
  }
  makeEnv(positionals[0]); // fail early on an unknown id, with the usage
  // Without --seed, a seed from the clock (printed in the header, so the game can be replayed).
  const seed = values.seed === undefined ? Date.now() % 1_000_000 : parseSeedArg(values.seed);
  options = { env: positionals[0], seed, showState: values["show-state"] };
} catch (e) {
  console.error(`error: ${e instanceof Error ? e.message : e}\n${USAGE}`);
  Deno.exit(2);
}
try {
  await play(options);
} catch (e) {
  console.error(`error: ${e instanceof Error ? e.message : e}`);
  Deno.exit(1);
}
