/**
 * The command lines of `deno task train`, `deno task reproduce` and `deno task figures`: parsing
 * and validation of every flag before any work (a bad flag gives an error naming the flag, the bad
 * value and what is valid, exit code 2, and nothing is written), then a call into the library.
 * One file per command (cli_train.ts, cli_reproduce.ts, cli_figures.ts) on the shared flag
 * parsing of cli_flags.ts; this module gathers their public API.
 *
 * @example
 * ```ts
 * import { parseReproduceArgs } from "./cli.ts";
 * const a = parseReproduceArgs(["--figure", "1a", "--preset", "quick", "--workers", "2"]);
 * console.log(a.figures, a.workers); // [ "1a" ] 2
 * ```
 * @module
 */
export {
  checkPomdpEnv,
  EXIT_CODES,
  figureList,
  HelpRequest,
  isCommittedFile,
  UsageError,
} from "./cli_flags.ts";
export { parseTrainArgs, TRAIN_USAGE, type TrainArgs, trainMain } from "./cli_train.ts";
export {
  parseReproduceArgs,
  REPRODUCE_USAGE,
  type ReproduceArgs,
  reproduceMain,
} from "./cli_reproduce.ts";
export { FIGURES_USAGE, type FiguresArgs, figuresMain, parseFiguresArgs } from "./cli_figures.ts";
