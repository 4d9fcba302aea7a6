/**
 * The command line of `deno task train`: one run, parsed and validated before any work, then
 * trained (resuming from its checkpoint) and recorded in the results database.
 *
 * @example
 * ```ts
 * import { parseTrainArgs } from "./cli_train.ts";
 * const a = parseTrainArgs(["--env", "car-flag", "--algo", "adqn", "--seed", "3"]);
 * console.log(a.config.seed); // 3
 * ```
 * @module
 */
import { DEFAULT_DB_PATH, ResultsDb } from "../results/db.ts";
import { ALGO_IDS, checkAlgoId } from "../train/agent.ts";
import {
  applySettings,
  checkEnvId,
  resolveTrainConfig,
  type TrainConfig,
} from "../train/config.ts";
import { ENV_IDS } from "../envs/mod.ts";
import {
  formatCount,
  formatDuration,
  formatReturn,
  progressBar,
  ProgressView,
  RateMeter,
} from "./progress.ts";
import { ensureBackend, realTrainer, runOne, type Trainer, type TrainerBackend } from "./runner.ts";
import {
  backendFlag,
  bad,
  checkPomdpEnv,
  commandStopSignal,
  dbFlag,
  dirFlag,
  EXIT_CODES,
  handleParseError,
  HelpRequest,
  intFlag,
  leaseFlag,
  parse,
  show,
  str,
  UsageError,
} from "./cli_flags.ts";

/** Parsed `deno task train` arguments. */
export interface TrainArgs {
  /** The resolved configuration. */
  config: TrainConfig;
  /** Database path. */
  db: string;
  /** Checkpoint directory. */
  checkpointDir: string;
  /** Backend of the real trainer. */
  backend: TrainerBackend;
  /** Keep the checkpoint of a finished run. */
  keepCheckpoint: boolean;
  /** Start over from scratch when the run's checkpoint is corrupt (keeping it aside). */
  restartCorrupt: boolean;
  /** Lease timeout (ms). */
  leaseTimeoutMs: number;
}

/** Usage of `deno task train`. */
export const TRAIN_USAGE = `Usage: deno task train --env <id> --algo <id> [--seed N] [--steps N]
       [--set key=value ...] [--db path] [--checkpoint-dir dir] [--backend auto|wasm-blas|wasm|cpu]
       [--keep-checkpoint] [--restart-corrupt] [--write-committed] [--lease-timeout seconds]

Trains one run and records it in the results database (default ${DEFAULT_DB_PATH}). A finished
run is not redone; an interrupted one resumes from its checkpoint (default directory runs/).
  --env     ${ENV_IDS.join(", ")}, or pomdp:<file>
  --algo    ${ALGO_IDS.join(", ")}
  --seed    integer seed (default 0)
  --steps   environment steps (sets totalSteps; default 2,000,000)
  --set     any training setting, e.g. --set replayRatio=2 --set model.gruHidden=64
  --restart-corrupt  if the run's checkpoint is corrupt, keep it as <file>.corrupt-<time> and
            start the run over from scratch
  --write-committed  allow adding runs to a database committed to git (read-only otherwise)
Exit codes: 0 finished (or already finished), 1 failed, 2 bad usage (nothing written), 3 busy
(another live process is training this run), 130 interrupted (resume by running it again).
`;

/** Parse and validate `deno task train` arguments (throws {@link UsageError}). */
export function parseTrainArgs(args: string[]): TrainArgs {
  const v = parse(args, {
    "env": { type: "string" },
    "algo": { type: "string" },
    "seed": { type: "string" },
    "steps": { type: "string" },
    "set": { type: "string", multiple: true },
    "db": { type: "string" },
    "checkpoint-dir": { type: "string" },
    "backend": { type: "string" },
    "keep-checkpoint": { type: "boolean" },
    "restart-corrupt": { type: "boolean" },
    "write-committed": { type: "boolean" },
    "lease-timeout": { type: "string" },
    "help": { type: "boolean", short: "h" },
  });
  if (v.help) throw new HelpRequest(TRAIN_USAGE);
  if (v.env === undefined) {
    throw new UsageError(`missing --env; expected one of ${ENV_IDS.join(", ")} or pomdp:<file>`);
  }
  let env: string;
  try {
    env = checkEnvId(str(v.env));
  } catch (e) {
    throw new UsageError(`invalid --env ${show(v.env)}: ${(e as Error).message}`);
  }
  if (env.startsWith("pomdp:")) env = checkPomdpEnv(env);
  if (v.algo === undefined) {
    throw new UsageError(`missing --algo; expected one of ${ALGO_IDS.join(", ")}`);
  }
  let algo: string;
  try {
    algo = checkAlgoId(String(v.algo));
  } catch {
    bad("algo", v.algo, `one of ${ALGO_IDS.join(", ")}`);
  }
  const seed = intFlag("seed", v.seed, 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const steps = intFlag("steps", v.steps, 1, 1e12);
  const sets = (v.set as string[] | undefined) ?? [];
  let partial: Partial<TrainConfig> & { env: string; algo: string };
  for (const s of sets) {
    const key = s.slice(0, Math.max(0, s.indexOf("="))).trim();
    if (key === "env" || key === "algo" || key === "seed") {
      throw new UsageError(`invalid --set ${show(s)}: use --${key} instead`);
    }
    if (key === "totalSteps" && steps !== undefined) {
      throw new UsageError(
        `contradictory options: --steps ${steps} and --set ${s}; give the step count once`,
      );
    }
  }
  try {
    partial = applySettings(
      { env, algo } as Partial<TrainConfig> & { env: string; algo: string },
      sets,
    );
  } catch (e) {
    throw new UsageError(`invalid --set: ${(e as Error).message}`);
  }
  partial.seed = seed;
  if (steps !== undefined) partial.totalSteps = steps;
  let config: TrainConfig;
  try {
    config = resolveTrainConfig(partial);
  } catch (e) {
    const m = (e as Error).message;
    const flag = /totalSteps/.test(m) && steps !== undefined ? "--steps/--set" : "--set";
    throw new UsageError(`invalid settings (${flag}): ${m}`);
  }
  return {
    config,
    db: dbFlag(v.db, false, v["write-committed"] === true),
    checkpointDir: dirFlag("checkpoint-dir", v["checkpoint-dir"], "runs"),
    backend: backendFlag(v.backend, "auto"),
    keepCheckpoint: v["keep-checkpoint"] === true,
    restartCorrupt: v["restart-corrupt"] === true,
    leaseTimeoutMs: leaseFlag(v["lease-timeout"]),
  };
}

/** `deno task train`: returns the exit code ({@link EXIT_CODES}). */
export async function trainMain(
  args: string[],
  options: { trainer?: Trainer } = {},
): Promise<number> {
  let a: TrainArgs;
  try {
    a = parseTrainArgs(args);
  } catch (e) {
    return handleParseError(e, TRAIN_USAGE);
  }
  let db: ResultsDb;
  try {
    db = ResultsDb.open(a.db);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  const stop = commandStopSignal();
  const view = new ProgressView();
  const rate = new RateMeter(20);
  try {
    const outcome = await runOne(db, a.config, {
      trainer: options.trainer ?? realTrainer(a.backend),
      backend: options.trainer ? undefined : await ensureBackend(a.backend),
      checkpointDir: a.checkpointDir,
      keepCheckpoint: a.keepCheckpoint,
      restartCorrupt: a.restartCorrupt,
      leaseTimeoutMs: a.leaseTimeoutMs,
      signal: stop.signal,
      log: (m) => view.log(m),
      onProgress: (p) => {
        rate.add(p.envStep);
        const r = rate.rate();
        const eta = r > 0 ? (p.totalSteps - p.envStep) / r : NaN;
        view.update([
          `${p.label} ${progressBar(p.envStep / p.totalSteps, 24)} ` +
          `${formatCount(p.envStep)}/${formatCount(p.totalSteps)} steps | ` +
          `${Number.isFinite(r) ? formatCount(r) : "?"} steps/s | ETA ${formatDuration(eta)} | ` +
          `avg100 ${formatReturn(p.avgReturn)} | ${p.episodes} episodes`,
        ]);
      },
    });
    view.done();
    console.log(outcome.message);
    switch (outcome.status) {
      case "finished":
      case "skipped":
        return 0;
      case "interrupted":
        return EXIT_CODES.interrupted;
      case "busy":
        return EXIT_CODES.busy;
      default:
        return EXIT_CODES.failed;
    }
  } finally {
    stop.release();
    db.close();
  }
}
