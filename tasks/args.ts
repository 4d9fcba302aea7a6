/**
 * The command-line parsing every task shares: `node:util`'s `parseArgs` (strict, no positional
 * arguments) plus `-h/--help`; a bad flag prints the error and the usage and exits with 2, `--help`
 * prints the usage and exits with 0.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

const HELP = { help: { type: "boolean", short: "h", default: false } } as const;

type Options = NonNullable<ParseArgsConfig["options"]>;
type Config<O extends Options> = {
  args: string[];
  options: O & typeof HELP;
  allowPositionals: false;
};
/** The parsed flag values for `options` (plus `help`). */
export type TaskArgs<O extends Options> = ReturnType<typeof parseArgs<Config<O>>>["values"];

/**
 * The flag values of `Deno.args` (or `args`) for `options`, or exit as the module doc says.
 *
 * @example
 * ```ts ignore
 * import { parseTaskArgs } from "./args.ts";
 * const values = parseTaskArgs({ db: { type: "string" } }, "usage: deno task x [--db path]");
 * console.log(values.db);
 * ```
 */
export function parseTaskArgs<const O extends Options>(
  options: O,
  usage: string,
  args: string[] = Deno.args,
): TaskArgs<O> {
  let values: TaskArgs<O>;
  // "--grace -5": a value starting with one dash is a (bad) value here, not an option.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const spec = args[i].startsWith("--") ? options[args[i].slice(2)] : undefined;
    if (spec?.type === "string" && /^-(?!-)/.test(args[i + 1] ?? "")) {
      joined.push(`${args[i]}=${args[++i]}`);
    } else joined.push(args[i]);
  }
  try {
    const config: Config<O> = {
      args: joined,
      options: { ...options, ...HELP },
      allowPositionals: false,
    };
    values = parseArgs(config).values;
  } catch (e) {
    const msg = (e as Error).message;
    const noValue = /Option '(?:-\w, )?(--[\w-]+)' argument is ambiguous/.exec(msg);
    const text = noValue
      ? `option ${noValue[1]} needs a value, found the option ` +
        `${JSON.stringify(joined[joined.indexOf(noValue[1]) + 1])}`
      : msg;
    console.error(`error: ${text}\n${usage}`);
    Deno.exit(2);
  }
  if ((values as { help?: boolean }).help) {
    console.log(usage);
    Deno.exit(0);
  }
  return values;
}
