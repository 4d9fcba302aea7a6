// Small campaign databases built through the real results API (ensureRun, claim, upsertMetrics,
// finish / release / fail), with values chosen so that the tests can check results by hand.
import { type MachineInfo, type MetricRecord, ResultsDb } from "../../lib/results/db.ts";
import { FIGURES } from "../../lib/experiments/presets.ts";
import type { AlgoId } from "../../lib/train/agent.ts";

/** One run of a fixture database. */
export interface FixtureRun {
  /** Panel: its label is "paper:<figure>". */
  figure: "1a" | "1b";
  /** Algorithm. */
  algo: AlgoId;
  /** Learning rate. */
  lr: number;
  /** Episode time limit. */
  timeLimit: number;
  /** Seed (1000, 1001: stage 0; 0–4: stage 1). */
  seed: number;
  /** How it ends up: finished, released (queued after an attempt), running, failed, never started. */
  status: "finished" | "queued" | "running" | "failed" | "new";
  /** avgReturn of each logged point; point i is at envStep (i + 1) · logEvery. */
  returns: readonly number[];
  /** Environment steps of the run (default 2,000,000). */
  totalSteps?: number;
  /** Training seconds recorded when it finishes (default: the last point's). */
  wallSeconds?: number;
  /** Label (default "paper:<figure>"). */
  label?: string;
}

/** The logging period of the fixture runs. */
export const FIXTURE_LOG_EVERY = 100_000;

/** The machine every fixture run is claimed on. */
export const FIXTURE_MACHINE: MachineInfo = {
  hostname: "fixture-host",
  os: "linux test",
  cpu: "Fixture CPU @ 3.0GHz",
  cores: 2,
  deno: "2.0.0",
  backend: "wasm-blas",
};

/** The code version every fixture run is claimed with. */
export const FIXTURE_COMMIT = "0123456789abcdef0123456789abcdef01234567";

/** The claim time of the i-th run (ms): 2026-12-01T10:00Z plus i minutes. */
export function fixtureStart(i: number): number {
  return Date.UTC(2026, 11, 1, 10, i, 0);
}

/**
 * Point i of a run with return r: heaven share (1 + r) / 2, hell share (1 − r) / 2 each times 0.8,
 * time-limit share 0.2, length 50 + i, training time 60 s per point; a greedy evaluation (return r,
 * length 20) at every other point (odd i), NaN at the others.
 */
export function fixturePoint(i: number, r: number): MetricRecord {
  return {
    envStep: (i + 1) * FIXTURE_LOG_EVERY,
    episodes: 10 * (i + 1),
    avgReturn: r,
    epsilon: 0.1,
    lossQ: 0.5,
    lossU: 0.25,
    trainedSteps: (i + 1) * FIXTURE_LOG_EVERY,
    wallSeconds: 60 * (i + 1),
    sharePositive: 0.8 * (1 + r) / 2,
    shareNegative: 0.8 * (1 - r) / 2,
    shareZero: 0,
    shareTruncated: 0.2,
    avgLength: 50 + i,
    evalReturn: i % 2 === 1 ? r : NaN,
    evalLength: i % 2 === 1 ? 20 : NaN,
  };
}

/** Write a campaign database with these runs at `path` (created). */
export function buildCampaignDb(path: string, runs: readonly FixtureRun[]): void {
  const db = ResultsDb.open(path);
  try {
    runs.forEach((r, i) => {
      const config = {
        env: FIGURES[r.figure].env,
        algo: r.algo,
        seed: r.seed,
        totalSteps: r.totalSteps ?? 2_000_000,
        lr: r.lr,
        timeLimit: r.timeLimit,
        logEvery: FIXTURE_LOG_EVERY,
      };
      const run = db.ensureRun({
        hash: `${r.figure}-${r.algo}-${r.lr}-${r.timeLimit}-${r.totalSteps ?? 2_000_000}`,
        seed: r.seed,
        config,
        label: r.label ?? `paper:${r.figure}`,
      });
      if (r.status === "new") return;
      const owner = {
        id: `fixture:${i}`,
        host: "fixture-host",
        pid: 1_000_000 + i,
        start: "",
      };
      db.claim({
        owner,
        ids: [run.id],
        codeVersion: FIXTURE_COMMIT,
        machine: FIXTURE_MACHINE,
        now: fixtureStart(i),
      });
      db.upsertMetrics(run.id, r.returns.map((v, j) => fixturePoint(j, v)), owner.id);
      if (r.status === "finished") {
        db.finish(run.id, owner.id, {
          envSteps: config.totalSteps,
          wallSeconds: r.wallSeconds ?? 60 * r.returns.length,
        });
      } else if (r.status === "queued") db.release(run.id, owner.id);
      else if (r.status === "failed") db.fail(run.id, owner.id, "fixture failure");
    });
  } finally {
    db.close();
  }
}

const ROOT = new URL("../../", import.meta.url).pathname;

/** Run `deno task campaign <args>` in a subprocess: exit code, stdout and stderr. */
export async function runCampaignTask(
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${ROOT}deno.json`, `${ROOT}tasks/campaign.ts`, ...args],
  }).output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

/** `n` copies of `v`. */
export function repeat(v: number, n: number): number[] {
  return Array(n).fill(v);
}

/**
 * Stage 0 partly done (hand-checked values in the tests): ADQN's cell (1e-4, 1000) finished on
 * both seeds (finals 0.5 and 1: score 0.75), its cell (3e-4, 100) on seed 1000 (final 0.9);
 * ADQN-VR (1e-4, 100) seed 1000 running at 300k steps; DQN (1e-4, 1000) seed 1001 released at
 * 200k steps; ADQN-State (3e-4, 1000) seed 1000 registered, never started.
 */
export function partialCampaign(): FixtureRun[] {
  return [
    {
      figure: "1a",
      algo: "adqn",
      lr: 1e-4,
      timeLimit: 1000,
      seed: 1000,
      status: "finished",
      returns: [0, 0, ...repeat(0.5, 10)],
    },
    {
      figure: "1a",
      algo: "adqn",
      lr: 1e-4,
      timeLimit: 1000,
      seed: 1001,
      status: "finished",
      returns: repeat(1, 12),
    },
    {
      figure: "1a",
      algo: "adqn",
      lr: 3e-4,
      timeLimit: 100,
      seed: 1000,
      status: "finished",
      returns: [...repeat(0.2, 5), ...repeat(0.9, 10)],
    },
    {
      figure: "1a",
      algo: "adqn-vr",
      lr: 1e-4,
      timeLimit: 100,
      seed: 1000,
      status: "running",
      returns: [0.1, 0.2, 0.3],
    },
    {
      figure: "1a",
      algo: "dqn",
      lr: 1e-4,
      timeLimit: 1000,
      seed: 1001,
      status: "queued",
      returns: [0.4, 0.4],
    },
    {
      figure: "1a",
      algo: "adqn-state",
      lr: 3e-4,
      timeLimit: 1000,
      seed: 1000,
      status: "new",
      returns: [],
    },
  ];
}

/** The final performances of the stage-1 runs of {@link completeCampaign}, per algorithm (seeds 0–4). */
export const COMPLETE_FINALS: Readonly<Record<AlgoId, readonly number[]>> = {
  "adqn": [0.9, 0.95, 1, 1, 1],
  "adqn-vr": [0.5, 0.5, 0.5, 0.5, 0.5],
  "dqn": [0, 0, 0.05, 0.1, 0],
  "adqn-state": [0, 0.2, 0.4, 0.6, 0.8],
  "adqn-state-vr": [0, 0, 0.05, 0.1, 0],
};

/**
 * Both stages finished (90 runs, 10 points each, every point of a run at its final value).
 * Stage 0: ADQN and ADQN-VR score 0.95 at (3e-4, 100) and 0.1 elsewhere; the baselines 0.05
 * everywhere (ties: the first cell, (1e-4, 1000), is selected). Stage 1: the selected cells, on
 * 1a and 1b alike, with the finals of {@link COMPLETE_FINALS}.
 */
export function completeCampaign(): FixtureRun[] {
  const algos: AlgoId[] = ["dqn", "adqn", "adqn-vr", "adqn-state", "adqn-state-vr"];
  const strong = (a: AlgoId) => a === "adqn" || a === "adqn-vr";
  const cells = [[1e-4, 1000], [1e-4, 100], [3e-4, 1000], [3e-4, 100]];
  const stage0 = algos.flatMap((algo) =>
    cells.flatMap(([lr, timeLimit]) =>
      [1000, 1001].map((seed): FixtureRun => ({
        figure: "1a",
        algo,
        lr,
        timeLimit,
        seed,
        status: "finished",
        returns: repeat(strong(algo) ? (lr === 3e-4 && timeLimit === 100 ? 0.95 : 0.1) : 0.05, 10),
      }))
    )
  );
  const stage1 = (["1a", "1b"] as const).flatMap((figure) =>
    algos.flatMap((algo) =>
      COMPLETE_FINALS[algo].map((final, seed): FixtureRun => ({
        figure,
        algo,
        lr: strong(algo) ? 3e-4 : 1e-4,
        timeLimit: strong(algo) ? 100 : 1000,
        seed,
        status: "finished",
        returns: repeat(final, 10),
      }))
    )
  );
  return [...stage0, ...stage1];
}
